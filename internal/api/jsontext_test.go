package api_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestEventRefusesInvalidJSONText checks create-event answers 400, located
// at the fault, for JSON text that readers may read differently: invalid
// UTF-8, unpaired surrogate escapes, duplicate keys at any depth; and that
// nothing is stored.
func TestEventRefusesInvalidJSONText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, body, loc, msg string
	}{
		{"duplicate type", `{"type":"a.b","data":{},"type":"c.d"}`, "body.type", "duplicate key"},
		{"duplicate data", `{"type":"a.b","data":{"amount":1},"data":{"amount":1000}}`, "body.data", "duplicate key"},
		{"duplicate in data", `{"type":"a.b","data":{"customer":{"id":"c_1","id":"c_2"}}}`, "body.data.customer.id", "duplicate key"},
		{"duplicate in an item of data", `{"type":"a.b","data":{"items":[{"sku":"a"},{"sku":"b"},{"sku":"c","qty":1,"sku":"d"}]}}`,
			"body.data.items[2].sku", "duplicate key"},
		{"duplicate spelled with an escape", `{"type":"a.b","data":{"amount":1,"\u0061mount":2}}`, "body.data.amount", "duplicate key"},
		{"duplicate in previous_attributes", `{"type":"a.b","data":{},"previous_attributes":{"x":1,"x":2}}`,
			"body.previous_attributes.x", "duplicate key"},
		{"invalid UTF-8 in data", "{\"type\":\"a.b\",\"data\":{\"customer\":{\"name\":\"Jos\xe9\"}}}",
			"body.data.customer.name", "string is not valid UTF-8"},
		{"invalid UTF-8 in a key of data", "{\"type\":\"a.b\",\"data\":{\"n\xffme\":1}}", "body.data.n\uFFFDme", "key is not valid UTF-8"},
		{"invalid UTF-8 in type", "{\"type\":\"a.b\xc0\",\"data\":{}}", "body.type", "string is not valid UTF-8"},
		{"invalid UTF-8 in id", "{\"type\":\"a.b\",\"data\":{},\"id\":\"\xed\xa0\x80\"}", "body.id", "string is not valid UTF-8"},
		{"lone surrogate in data", `{"type":"a.b","data":{"k":"\ud800"}}`, "body.data.k", `unpaired UTF-16 surrogate escape, \ud800`},
		{"lone low surrogate in data", `{"type":"a.b","data":{"k":["ok","\udfff\ud83d"]}}`, "body.data.k[1]", `\udfff`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			app := e.mkApp("Acme", "acme")
			p := wantProblem(t, e.call("POST", "/v1/apps/"+app.ID+"/events", tc.body), http.StatusBadRequest, tc.loc)
			if !strings.Contains(strings.Join(p.messages(), "|"), tc.msg) || !strings.Contains(p.Detail, tc.loc) {
				t.Errorf("problem %+v: want %q at %s, in the detail too", p, tc.msg, tc.loc)
			}
			if n := e.count("/v1/apps/" + app.ID + "/events"); n != 0 {
				t.Errorf("%d events stored, want none", n)
			}
		})
	}
}

// TestEventKeepsValidJSONText checks what create-event accepts is stored and
// served back by GET as it was sent (compacted): numbers beyond float64
// exactly as written, characters as sent, escapes as sent; and the answer
// is valid JSON of valid UTF-8.
func TestEventKeepsValidJSONText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("Acme", "acme")
	for _, data := range []string{
		`{"big":12345678901234567890,"huge":1e400,"precise":0.1000000000000000000001,"neg":-12345678901234567890123}`,
		`{"s":"é€😀","esc":"\u00e9\ud83d\ude00\uD83D\uDE00\n\"\\","nonchar":"\uffff"}`,
		`{"a":{"id":1},"b":{"id":2},"items":[{"sku":"a"},{"sku":"a"}]}`,
		`{"type":"inner keys may repeat outer ones","data":{"data":{}}}`,
	} {
		body := `{"type":"a.b","data":` + data + `}`
		ev := want[eventJSON](t, e.call("POST", "/v1/apps/"+app.ID+"/events", body), http.StatusAccepted)
		got := e.call("GET", "/v1/apps/"+app.ID+"/events/"+ev.ID, nil)
		if got.Status != http.StatusOK || !json.Valid(got.Body) || !utf8.Valid(got.Body) {
			t.Fatalf("GET the event of %s: %d, not valid JSON text: %s", data, got.Status, got.Body)
		}
		stored := want[eventJSON](t, got, http.StatusOK)
		if string(stored.Data) != data || string(ev.Data) != data {
			t.Errorf("data sent %s\nanswered %s\nserved back %s", data, ev.Data, stored.Data)
		}
	}
}

// TestEventBatchRefusesInvalidJSONText checks the batch route locates the
// fault in the item (body.events[3].data.x) and stores nothing.
func TestEventBatchRefusesInvalidJSONText(t *testing.T) {
	t.Parallel()
	item := `{"type":"a.b","data":{"x":1}}`
	batch := func(faulty string) string {
		return `{"events":[` + strings.Repeat(item+",", 3) + faulty + `,` + item + `]}`
	}
	for _, tc := range []struct {
		name, body, loc string
	}{
		{"duplicate in an item's data", batch(`{"type":"a.b","data":{"x":1,"x":2}}`), "body.events[3].data.x"},
		{"duplicate field of an item", batch(`{"type":"a.b","data":{},"type":"c.d"}`), "body.events[3].type"},
		{"duplicate events", `{"events":[` + item + `],"events":[` + item + `]}`, "body.events"},
		{"invalid UTF-8 in an item", batch("{\"type\":\"a.b\",\"data\":{\"x\":\"\xff\"}}"), "body.events[3].data.x"},
		{"lone surrogate in an item", batch(`{"type":"a.b","data":{"x":{"y":"\udc00"}}}`), "body.events[3].data.x.y"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			app := e.mkApp("Acme", "acme")
			p := wantProblem(t, e.call("POST", batchPath(app.ID), tc.body), http.StatusBadRequest, tc.loc)
			if len(p.Errors) != 1 || !strings.Contains(p.Detail, tc.loc) {
				t.Errorf("problem %+v: want one error, at %s, named in the detail", p, tc.loc)
			}
			if n := e.count("/v1/apps/" + app.ID + "/events"); n != 0 {
				t.Errorf("%d events stored, want none", n)
			}
		})
	}
}

// TestBodiesRefuseInvalidJSONText checks the routes whose bodies huma
// decodes answer 400, located at the fault, and write nothing.
func TestBodiesRefuseInvalidJSONText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, method, path, body, loc string
		count                         string // a list that must stay as it was
	}{
		{"endpoint with two urls", "POST", "/v1/apps/{app}/endpoints",
			`{"url":"https://a.example/hook","url":"https://b.example/hook"}`, "body.url", "/v1/apps/{app}/endpoints"},
		{"endpoint header twice", "POST", "/v1/apps/{app}/endpoints",
			`{"url":"https://a.example/hook","headers":{"X-Tenant":"a","X-Tenant":"b"}}`, "body.headers.X-Tenant", "/v1/apps/{app}/endpoints"},
		{"endpoint url not UTF-8", "POST", "/v1/apps/{app}/endpoints",
			"{\"url\":\"https://a.example/h\xffook\"}", "body.url", "/v1/apps/{app}/endpoints"},
		{"app name twice", "POST", "/v1/apps", `{"name":"A","uid":"a","name":"B"}`, "body.name", "/v1/apps"},
		{"app metadata not UTF-8", "POST", "/v1/apps", "{\"name\":\"A\",\"metadata\":{\"k\":\"\xc3\"}}", "body.metadata.k", "/v1/apps"},
		{"app patch metadata twice", "PATCH", "/v1/apps/{app}", `{"metadata":{"plan":"free","plan":"pro"}}`, "body.metadata.plan", ""},
		{"schema with a key twice", "POST", "/v1/event-types",
			`{"name":"order.created","schema":{"type":"object","properties":{"a":{"type":"string"},"a":{"type":"number"}}}}`,
			"body.schema.properties.a", "/v1/event-types"},
		{"example with a lone surrogate", "POST", "/v1/event-types", `{"name":"order.created","example":{"s":"\ud800"}}`,
			"body.example.s", "/v1/event-types"},
		{"import pack twice", "POST", "/v1/event-types/import", `{"pack":"reflow","pack":"flo"}`, "body.pack", "/v1/event-types"},
		{"api key name twice", "POST", "/v1/api-keys", `{"name":"a","name":"b"}`, "body.name", "/v1/api-keys"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			app := e.mkApp("Acme", "acme")
			path := strings.ReplaceAll(tc.path, "{app}", app.ID)
			count := strings.ReplaceAll(tc.count, "{app}", app.ID)
			before := 0
			if count != "" {
				before = e.count(count)
			}
			p := wantProblem(t, e.call(tc.method, path, tc.body), http.StatusBadRequest, tc.loc)
			if len(p.Errors) != 1 || !strings.Contains(p.Detail, tc.loc) {
				t.Errorf("problem %+v: want one error, at %s, named in the detail", p, tc.loc)
			}
			if count != "" && e.count(count) != before {
				t.Errorf("%s changed: %d, then %d", count, before, e.count(count))
			}
			if tc.method == "PATCH" {
				got := want[appJSON](t, e.call("GET", path, nil), http.StatusOK)
				if len(got.Metadata) != 0 {
					t.Errorf("app changed: metadata %v", got.Metadata)
				}
			}
		})
	}
}

// TestBodiesKeepValidJSONText checks what the JSON text check lets through
// on a huma route: an endpoint whose headers differ only in case (distinct
// keys) and values with non-ASCII characters and escapes.
func TestBodiesKeepValidJSONText(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("Acme", "acme")
	r := e.call("POST", "/v1/apps/"+app.ID+"/endpoints",
		`{"url":"https://a.example/hook","description":"caf\u00e9 ☕ \ud83d\ude00","metadata":{"k":"v","K":"w"}}`)
	ep := want[map[string]any](t, r, http.StatusCreated)
	if ep["description"] != "café ☕ 😀" || !bytes.Contains(r.Body, []byte(`"K":"w"`)) {
		t.Fatalf("endpoint %s", r.Body)
	}
}

// TestFieldNamesAreCaseSensitive checks a field named in other case ("DATA"
// for "data"), which encoding/json takes for the field, is an unexpected
// property (422) on every route, so that {"data":..,"DATA":..} is no
// duplicate in disguise; keys inside data, metadata and the like are
// anything, case and all.
func TestFieldNamesAreCaseSensitive(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("Acme", "acme")
	events := "/v1/apps/" + app.ID + "/events"
	for _, tc := range []struct {
		name, path, body, loc string
	}{
		{"event data twice", events, `{"type":"a.b","data":{"amount":1},"DATA":{"amount":1000}}`, "body.DATA"},
		{"event type in capitals", events, `{"Type":"a.b","data":{}}`, "body.Type"},
		{"event previous_attributes in other case", events, `{"type":"a.b","data":{},"Previous_Attributes":{}}`, "body.Previous_Attributes"},
		{"batch events in capitals", batchPath(app.ID), `{"EVENTS":[{"type":"a.b","data":{}}]}`, "body.EVENTS"},
		{"batch item data twice", batchPath(app.ID), `{"events":[{"type":"a.b","data":{}},{"type":"a.b","data":{},"dAtA":{"x":1}}]}`, "body.events[1].dAtA"},
		{"app name twice", "/v1/apps", `{"name":"A","Name":"B"}`, "body.Name"},
		{"event type description in other case", "/v1/event-types", `{"name":"a.b","Description":"` + strings.Repeat("x", 5000) + `"}`, "body.Description"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, e.call("POST", tc.path, tc.body), http.StatusUnprocessableEntity, tc.loc)
			if !strings.Contains(strings.Join(p.messages(), "|"), "unexpected property") {
				t.Errorf("problem %+v: want an unexpected property", p)
			}
		})
	}
	if n := e.count(events); n != 0 {
		t.Errorf("%d events stored, want none", n)
	}
	if n := e.count("/v1/apps"); n != 1 {
		t.Errorf("%d apps, want 1", n)
	}
	ev := want[eventJSON](t, e.call("POST", events, `{"type":"a.b","data":{"k":1,"K":2,"Type":"x","DATA":{}}}`), http.StatusAccepted)
	if string(ev.Data) != `{"k":1,"K":2,"Type":"x","DATA":{}}` {
		t.Errorf("data %s", ev.Data)
	}
}
