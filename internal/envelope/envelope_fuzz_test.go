package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// fuzzTimeout is the jq time limit of the Renderer FuzzJQProgram uses.
const fuzzTimeout = 20 * time.Millisecond

// fuzzSlack is how far past its time limit a jq run may end (a scheduling
// or garbage-collection pause, not the program running on) before it counts
// as not bounded. An overrun is measured twice before it is reported.
const fuzzSlack = 400 * time.Millisecond

func fuzzContext() *Context {
	return &Context{
		Event: &hook.Event{
			ID: "evt_fuzz", AppID: "app_fuzz", Type: "order.updated",
			Data:               json.RawMessage(`{"order_id":"ord_1","total":4200,"big":12345678901234567890,"f":1.50,"s":"é\u2028<>","items":[{"sku":"A","qty":1}],"customer":{"email":"a@b.c"}}`),
			PreviousAttributes: json.RawMessage(`{"total":4100}`),
			Livemode:           true, RequestID: "req_1", CreatedAt: time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.UTC),
		},
		App:         &hook.App{ID: "app_fuzz", UID: "acme", Name: "Acme", APIVersion: "2026-01-01"},
		EndpointID:  "ep_fuzz",
		EndpointUID: "erp",
		DeliveryID:  "dlv_fuzz",
		Attempt:     2,
	}
}

// FuzzJQProgram feeds arbitrary jq source to the save-time checks
// (ValidateEnvelope, ValidateFilter) and to a Renderer with a 20 ms
// timeout (Render as an envelope, Match as a filter). None may panic; a
// refusal is an EInvalid *hook.Error on the field; a run ends within its
// time limit (plus fuzzSlack); and a rendered body is valid, compact JSON
// no larger than MaxBytes whose objects have their keys sorted.
func FuzzJQProgram(f *testing.F) {
	for _, src := range []string{
		".", "{id, type, data}", `{event: .type, payload: .data, at: .created_at}`, ".data | .big",
		`.data.total > 4000`, `.type | startswith("order.")`, "empty", "1, 2", "null", "error", `error("x")`,
		"halt", `halt_error`, `"x" | halt_error(1)`, "input", "inputs", "$ENV", "env", `import "a" as a; .`,
		"def f: f; f", "def f: 1 + f; f", "[range(1e9)] | length", "repeat(.)", `last(range(1e8))`,
		`[limit(10; repeat(1))]`, `"x" * 100000`, `[.[]?] | sort`, "(1e1000, -1e1000, nan) | [.]", "infinite",
		`{(.data.s): 1, "a": 2}`, `"\u0000\u001f\"\\"`, `@base64d`, `.data | tojson | fromjson`, `.data | tostream`,
		"getpath([\"a\",0,\"b\"])", `[paths]`, "ltrimstr(1)", `now | todate`, `"2015-03-05T23:51:47Z" | fromdate`,
		`{} | .a.b.c = 1`, `reduce range(64) as $i (1; . * 2)`, "[.[] | tostring]", `test("a*b"; "x")`,
		"", " ", "#", "(", "{", `"`, "]", ".[", "..", "...", "$__loc__", "label $f | break $f", "?//",
		strings.Repeat("[", 200) + strings.Repeat("]", 200), strings.Repeat("{a:", 100) + "1" + strings.Repeat("}", 100),
	} {
		f.Add(src)
	}
	r := NewRenderer(Options{Timeout: fuzzTimeout, MaxBytes: 64 << 10})
	f.Fuzz(func(t *testing.T, src string) {
		for _, v := range []struct {
			name     string
			validate func(field, src string) error
			max      int
		}{
			{"ValidateEnvelope", func(field, src string) error { return r.ValidateEnvelope(context.Background(), "app_01", field, src) }, MaxEnvelopeBytes},
			{"ValidateFilter", func(field, src string) error { return r.ValidateFilter(context.Background(), "app_01", field, src) }, MaxFilterBytes},
		} {
			// The save-time checks compile, then run with DefaultTimeout:
			// the time limit counts from the end of compilation.
			elapsed, compiled, err := timed(func() error { return v.validate("envelope", src) }, src)
			if src == "" && err != nil {
				t.Fatalf("%s(\"\") = %v", v.name, err)
			}
			if len(src) > v.max && err == nil {
				t.Fatalf("%s accepted %d bytes, more than %d", v.name, len(src), v.max)
			}
			var he *hook.Error
			if err != nil && (!errors.As(err, &he) || he.Code != hook.EInvalid || he.Field != "envelope") {
				t.Fatalf("%s(%q) = %#v, want an EInvalid *hook.Error on the field", v.name, src, err)
			}
			if compiled && elapsed > DefaultTimeout+fuzzSlack {
				t.Fatalf("%s(%q) ran %v after compiling, beyond its %v time limit", v.name, src, elapsed, DefaultTimeout)
			}
		}

		c := fuzzContext()
		if src == "" || len(src) > MaxEnvelopeBytes {
			return // no program ("" inherits), or never saved
		}
		if _, err := r.local.get(src); err != nil {
			// Not compilable: Render and Match say so.
			if _, err := r.Render(context.Background(), Spec{Envelope: src}, c); err == nil {
				t.Fatalf("Render(%q) without error; it does not compile", src)
			}
			if _, err := r.Match(context.Background(), src, c); err == nil {
				t.Fatalf("Match(%q) without error; it does not compile", src)
			}
			return
		}
		// Compiled and cached: what follows times the runs alone.
		var body []byte
		var renderErr error
		elapsed := overrun(func() { body, renderErr = r.Render(context.Background(), Spec{Envelope: src}, c) })
		if elapsed > fuzzTimeout+fuzzSlack {
			t.Fatalf("Render(%q) took %v (twice), beyond its %v timeout", src, elapsed, fuzzTimeout)
		}
		if renderErr == nil {
			checkRenderedBody(t, src, body, 64<<10)
		}
		elapsed = overrun(func() { _, _ = r.Match(context.Background(), src, c) })
		if elapsed > fuzzTimeout+fuzzSlack {
			t.Fatalf("Match(%q) took %v (twice), beyond its %v timeout", src, elapsed, fuzzTimeout)
		}
	})
}

// timed runs a save-time check and returns how long it ran past the
// compilation of src (measured on its own), whether src compiled, and the
// check's error. An overrun is measured again before it is believed.
func timed(check func() error, src string) (time.Duration, bool, error) {
	start := time.Now()
	_, cerr := compile(src)
	compileTime := time.Since(start)
	var run time.Duration
	var err error
	for range 2 {
		start = time.Now()
		err = check()
		run = time.Since(start) - compileTime
		if cerr != nil || run <= DefaultTimeout+fuzzSlack {
			break
		}
	}
	return run, cerr == nil, err
}

// overrun times fn, twice if the first run is beyond the fuzz timeout and
// slack, and returns the shorter.
func overrun(fn func()) time.Duration {
	start := time.Now()
	fn()
	d := time.Since(start)
	if d <= fuzzTimeout+fuzzSlack {
		return d
	}
	start = time.Now()
	fn()
	return min(d, time.Since(start))
}

// checkRenderedBody checks what Render promises of an envelope's body.
func checkRenderedBody(t *testing.T, src string, body []byte, maxBytes int) {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("Render(%q) = %q: not valid JSON", src, body)
	}
	if len(body) > maxBytes {
		t.Fatalf("Render(%q): %d bytes, over MaxBytes %d", src, len(body), maxBytes)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, body); err != nil || !bytes.Equal(compact.Bytes(), body) {
		t.Fatalf("Render(%q) = %q: not compact JSON", src, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // numbers beyond float64 are valid JSON, and jq keeps them
	if err := checkSortedKeys(dec); err != nil {
		t.Fatalf("Render(%q) = %q: %v", src, body, err)
	}
}

// checkSortedKeys reads one value from dec and fails on an object whose
// keys are not in strictly increasing order (so also on a duplicate key).
func checkSortedKeys(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('['):
		for dec.More() {
			if err := checkSortedKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	case json.Delim('{'):
		prev, first := "", true
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return err
			}
			key := k.(string)
			if !first && key <= prev {
				return errors.New("object keys " + jsonQuote(prev) + " and " + jsonQuote(key) + " are not in strictly increasing order")
			}
			prev, first = key, false
			if err := checkSortedKeys(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token()
		return err
	}
	return nil
}

func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// FuzzProfileData renders arbitrary event data (any bytes json.Valid
// accepts) and previous attributes through every built-in profile and
// checks that the body is valid JSON with no key twice, at the top level
// or in the object wrapping the data, and that the data, the previous
// attributes and the event's id and type appear unchanged where the
// profile puts them.
func FuzzProfileData(f *testing.F) {
	for _, c := range []struct{ id, typ, data, prev string }{
		{"evt_1", "order.created", `{"order_id":"ord_1","total":4200}`, ""},
		{"evt_2", "customer.updated", `{"email":"a@b.c"}`, `{"email":"old@b.c"}`},
		{"evt_3", "user.updated", `{}`, `null`},
		{"evt_4", "invoice.paid", `{"user":{"id":"u1"},"invoice":{"id":"in_1"},"invoiceDetails":[1],"subscription":{},"item":null,"extra":1}`, ""},
		{"evt_5", "invoice.paid", `{"user":1,"user":2,"invoice":3,"inv\u006fice":4}`, ""},
		{"evt_6", "user.created", `{"user":{"a":1}}`, ""},
		{"evt_7", "invoiceDetails.x", `{"invoiceDetails":"d"}`, ""},
		{"evt_8", "eventId.x", `{"eventId":"dup","createdAt":1}`, ""},
		{"evt_9", "noDots", `{"noDots":{"x":1}}`, ""},
		{"evt_10", ".x", `{"":1}`, ""},
		{"evt_11", "a.b", " \t\n{ \"user\" : [ 1 , 2 ] }\r\n", " { } "},
		{"evt_12", "a.b", `"just a string"`, ""},
		{"evt_13", "a.b", `[{"user":1}]`, ""},
		{"evt_14", "a.b", `null`, ""},
		{"evt_15", "a.b", `12345678901234567890`, ""},
		{"evt_16", "a.b", `{"s":"\u0000\ud83d\ude00\u2028","b":"\xff"}`, ""},
		{"evt_17", "a.b", "", ""},
		{"q\"uo\\te\n\x01\x7f Zoë \u2028 \xff", "x\xff.updated", `{"\xff":1,"x\xff":2}`, `{"k":"v"}`},
	} {
		f.Add(c.id, c.typ, []byte(c.data), []byte(c.prev), "dlv_1")
	}
	r := NewRenderer(Options{})
	at := time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.FixedZone("CET", 3600))
	f.Fuzz(func(t *testing.T, id, typ string, data, prev []byte, deliveryID string) {
		if len(data) > 0 && !json.Valid(data) {
			return // hookd stores only valid JSON
		}
		if len(prev) > 0 && !json.Valid(prev) {
			prev = nil
		}
		ev := &hook.Event{ID: id, AppID: "app_1", Type: typ, Data: data, PreviousAttributes: prev, CreatedAt: at, Livemode: true, RequestID: "req_1"}
		c := &Context{Event: ev, App: &hook.App{ID: "app_1", APIVersion: "2026-01-01"}, DeliveryID: deliveryID}
		wantData := trimmedOr(data, "{}")
		for _, p := range hook.Profiles {
			body, err := r.Render(context.Background(), Spec{Profile: p}, c)
			if err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			top := topLevel(t, p, body)
			str := func(key, want string) {
				t.Helper()
				var got string
				if err := json.Unmarshal(top[key], &got); err != nil || got != asJSONString(want) {
					t.Fatalf("%s: %s = %s, want %q; body %s", p, key, top[key], want, body)
				}
			}
			raw := func(obj map[string]json.RawMessage, key string, want []byte) {
				t.Helper()
				if got, ok := obj[key]; !ok || !bytes.Equal(got, want) {
					t.Fatalf("%s: %s = %s (present: %v), want %s unchanged; body %s", p, key, got, ok, want, body)
				}
			}
			switch p {
			case hook.ProfileHookd:
				wantKeys(t, p, top, body, "id", "type", "created_at", "data")
				str("id", id)
				str("type", typ)
				raw(top, "data", wantData)
			case hook.ProfileOpenTiendas:
				idKey := "event_id"
				if strings.HasPrefix(typ, "order.") {
					idKey = "id"
				}
				wantKeys(t, p, top, body, idKey, "type", "created_at", "data")
				str(idKey, id)
				str("type", typ)
				raw(top, "data", wantData)
			case hook.ProfileFlexprice:
				wantKeys(t, p, top, body, "webhook_type", "object_type", "data")
				str("webhook_type", typ)
				inner := topLevel(t, p+" data", top["data"])
				wantKeys(t, p+" data", inner, body, "object")
				raw(inner, "object", wantData)
			case hook.ProfileReflow:
				wantKeys(t, p, top, body, "id", "object", "api-version", "created", "data", "livemode", "request_id", "type")
				str("id", id)
				str("type", typ)
				inner := topLevel(t, p+" data", top["data"])
				if strings.HasSuffix(typ, ".updated") {
					wantKeys(t, p+" data", inner, body, "object", "previous_attributes")
					if len(prev) == 0 || string(prev) == "null" {
						raw(inner, "previous_attributes", []byte("{}"))
					} else {
						raw(inner, "previous_attributes", bytes.TrimSpace(prev))
					}
				} else {
					wantKeys(t, p+" data", inner, body, "object")
				}
				raw(inner, "object", wantData)
			case hook.ProfileFlo:
				checkFlo(t, top, body, ev, deliveryID)
			default:
				t.Fatalf("profile %q has no check here", p)
			}
		}
	})
}

// checkFlo checks the Flo body: the fixed keys, and each key lifted from
// data carrying the data's value (the last one when a key is repeated, as
// encoding/json reads it) unchanged.
func checkFlo(t *testing.T, top map[string]json.RawMessage, body []byte, ev *hook.Event, deliveryID string) {
	t.Helper()
	var fields map[string]json.RawMessage
	if d := bytes.TrimSpace(ev.Data); len(d) > 0 && d[0] == '{' {
		if err := json.Unmarshal(d, &fields); err != nil {
			t.Fatalf("flo: data %q: %v", ev.Data, err)
		}
	}
	objectType, _, _ := strings.Cut(ev.Type, ".")
	want := map[string][]byte{"user": orNull(fields["user"])}
	switch objectType {
	case "eventId", "eventType", "objectType", "version", "createdAt", "user":
	default:
		want[objectType] = orNull(fields[objectType])
	}
	extra := []string{"invoiceDetails"}
	if objectType == "invoice" {
		extra = append(extra, "subscription", "item")
	}
	for _, k := range extra {
		if v, ok := fields[k]; ok && k != objectType {
			want[k] = v
		}
	}
	keys := []string{"eventId", "eventType", "objectType", "version", "createdAt"}
	for k := range want {
		keys = append(keys, asJSONString(k))
	}
	wantKeys(t, "flo", top, body, keys...)
	for k, v := range want {
		if got := top[asJSONString(k)]; !bytes.Equal(got, v) {
			t.Fatalf("flo: %q = %s, want %s from data %q; body %s", k, got, v, ev.Data, body)
		}
	}
	id := deliveryID
	if id == "" {
		id = ev.ID
	}
	for k, w := range map[string]string{"eventId": id, "eventType": ev.Type, "objectType": objectType, "version": "v1"} {
		var got string
		if err := json.Unmarshal(top[k], &got); err != nil || got != asJSONString(w) {
			t.Fatalf("flo: %s = %s, want %q; body %s", k, top[k], w, body)
		}
	}
}

// topLevel decodes the object body into its members, failing when body is
// not valid JSON, not an object, or has a key twice.
func topLevel(t *testing.T, what string, body []byte) map[string]json.RawMessage {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("%s: not valid JSON: %q", what, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not an object: %q", what, body)
	}
	out := map[string]json.RawMessage{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		k := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if _, dup := out[k]; dup {
			t.Fatalf("%s: key %q twice in %s", what, k, body)
		}
		out[k] = v
	}
	if _, err := dec.Token(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: more after the object: %q", what, body)
	}
	return out
}

func wantKeys(t *testing.T, what string, obj map[string]json.RawMessage, body []byte, keys ...string) {
	t.Helper()
	if len(obj) != len(keys) {
		t.Fatalf("%s: %d keys, want %q; body %s", what, len(obj), keys, body)
	}
	for _, k := range keys {
		if _, ok := obj[k]; !ok {
			t.Fatalf("%s: no key %q; body %s", what, k, body)
		}
	}
}

// asJSONString is s as it reads back from a JSON string that encoded it
// (each invalid UTF-8 byte becomes U+FFFD).
func asJSONString(s string) string {
	var out string
	b, _ := json.Marshal(s)
	_ = json.Unmarshal(b, &out)
	return out
}

func trimmedOr(b []byte, empty string) []byte {
	if len(b) == 0 {
		return []byte(empty)
	}
	return bytes.TrimSpace(b)
}

func orNull(v json.RawMessage) []byte {
	if v == nil {
		return []byte("null")
	}
	return v
}
