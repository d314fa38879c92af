package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/dispatch"
	"github.com/hookd/hookd/internal/store/sqlitestore"
	"github.com/hookd/hookd/webhook"
)

// batchJSON is the answer of POST .../events/batch.
type batchJSON struct {
	Data []struct {
		Event    json.RawMessage `json:"event"`
		Replayed bool            `json:"replayed"`
	} `json:"data"`
}

// events decodes the answer's events.
func (b batchJSON) events(t *testing.T) []eventJSON {
	t.Helper()
	out := make([]eventJSON, len(b.Data))
	for i, d := range b.Data {
		if err := json.Unmarshal(d.Event, &out[i]); err != nil {
			t.Fatalf("item %d: %v: %s", i, err, d.Event)
		}
	}
	return out
}

func batchPath(app string) string { return "/v1/apps/" + app + "/events/batch" }

// batchOf is a batch body of the given events.
func batchOf(evs ...map[string]any) map[string]any {
	if evs == nil {
		evs = []map[string]any{}
	}
	return map[string]any{"events": evs}
}

// newDispatchEnv is an API on its own SQLite file with a real, started
// dispatcher that may deliver to loopback.
func newDispatchEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	log := slog.New(slog.DiscardHandler)
	d, err := dispatch.New(dispatch.Config{Store: st, Logger: log, AllowPrivateNetworks: true, UserAgent: "hookd/test"})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Stop(context.Background())
		_ = st.Close()
	})
	h, err := api.New(api.Config{Store: st, Dispatcher: d, Logger: log, Version: "1.2.3-test"})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	e := &env{t: t, store: st, now: time.Now, srv: httptest.NewServer(h)}
	t.Cleanup(e.srv.Close)
	e.addKey(adminKey, "")
	return e
}

type received struct {
	header http.Header
	body   []byte
}

func TestEventBatchDeliversEveryEventSigned(t *testing.T) {
	t.Parallel()
	e := newDispatchEnv(t)
	got := make(chan received, 16)
	rc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- received{r.Header.Clone(), b}
	}))
	t.Cleanup(rc.Close)
	app := e.mkApp("Shop", "shop")
	secret := "whsec_" + strings.Repeat("QUJD", 8)
	e.mkEndpoint(app.ID, map[string]any{"url": rc.URL + "/hook", "event_types": []string{"order.*"}, "secret": secret})

	r := e.call("POST", batchPath("shop"), batchOf(
		map[string]any{"id": "ord_1_created", "type": "order.created", "data": map[string]any{"n": 1}},
		map[string]any{"type": "order.paid", "data": map[string]any{"n": 2}, "request_id": "req_9"},
		map[string]any{"type": "review.created", "data": map[string]any{"n": 3}}, // no endpoint takes it
	))
	res := want[batchJSON](t, r, http.StatusAccepted)
	if len(res.Data) != 3 {
		t.Fatalf("%d items, want 3: %s", len(res.Data), r.Body)
	}
	evs := res.events(t)
	for i, typ := range []string{"order.created", "order.paid", "review.created"} {
		if evs[i].Type != typ || evs[i].AppID != app.ID || res.Data[i].Replayed {
			t.Errorf("item %d: %s; want type %s of app %s, not replayed", i, r.Body, typ, app.ID)
		}
		// Each event is exactly what GET (and create-event) return.
		var fromBatch, stored map[string]any
		_ = json.Unmarshal(res.Data[i].Event, &fromBatch)
		_ = json.Unmarshal(e.call("GET", "/v1/apps/shop/events/"+evs[i].ID, nil).Body, &stored)
		if !reflect.DeepEqual(fromBatch, stored) {
			t.Errorf("item %d: batch answered %v, GET answers %v", i, fromBatch, stored)
		}
	}
	if evs[0].ID != "ord_1_created" || !strings.HasPrefix(evs[1].ID, "evt_") || evs[1].ID == evs[2].ID {
		t.Errorf("ids %q, %q, %q: want the given one, then generated ones", evs[0].ID, evs[1].ID, evs[2].ID)
	}

	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for range 2 {
		var rq received
		select {
		case rq = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the receiver got %d of 2 deliveries", len(seen))
		}
		if err := v.Verify(rq.header, rq.body); err != nil {
			t.Errorf("signature does not verify: %v", err)
		}
		var body struct {
			ID   string          `json:"id"`
			Data json.RawMessage `json:"data"`
		}
		_ = json.Unmarshal(rq.body, &body)
		if body.ID != rq.header.Get("webhook-id") {
			t.Errorf("body id %q, webhook-id %q", body.ID, rq.header.Get("webhook-id"))
		}
		seen[body.ID] = string(body.Data)
	}
	if !reflect.DeepEqual(seen, map[string]string{evs[0].ID: `{"n":1}`, evs[1].ID: `{"n":2}`}) {
		t.Errorf("delivered %v", seen)
	}
	if n := e.count("/v1/apps/shop/deliveries"); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

func TestEventBatchInvalidItemStoresNothing(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("Shop", "shop")
	e.mkEndpoint(app.ID, map[string]any{})
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.created",
		"schema": map[string]any{"type": "object", "required": []string{"total"}}}), http.StatusCreated)
	good := func(n int) map[string]any {
		return map[string]any{"type": "order.created", "data": map[string]any{"total": n}}
	}
	tests := []struct {
		name string
		bad  any
		loc  string
	}{
		{"bad type", map[string]any{"type": "Not A Type", "data": map[string]any{}}, "body.events[2].type"},
		{"schema", map[string]any{"type": "order.created", "data": map[string]any{"n": 1}}, "body.events[2].data.total"},
		{"data not an object", map[string]any{"type": "order.paid", "data": []int{1}}, "body.events[2].data"},
		{"data missing", map[string]any{"type": "order.paid"}, "body.events[2].data"},
		{"unknown field", map[string]any{"type": "order.paid", "data": map[string]any{}, "colour": "red"}, "body.events[2].colour"},
		{"field of the wrong type", map[string]any{"type": "order.paid", "data": map[string]any{}, "livemode": "yes"}, "body.events[2].livemode"},
		{"not an object", 42, "body.events[2]"},
		{"bad id", map[string]any{"id": "has space", "type": "order.paid", "data": map[string]any{}}, "body.events[2].id"},
		{"request_id too long", map[string]any{"type": "order.paid", "data": map[string]any{}, "request_id": strings.Repeat("r", 256)}, "body.events[2].request_id"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			body := map[string]any{"events": []any{good(1), good(2), tc.bad, good(3)}}
			wantProblem(t, e.call("POST", batchPath("shop"), body), http.StatusUnprocessableEntity, tc.loc)
			if n := e.count("/v1/apps/shop/events"); n != 0 {
				t.Fatalf("%d events stored by a refused batch", n)
			}
		})
	}

	// Every invalid item is told: those invalid on their own (type
	// missing in events[1], events[3])...
	p := wantProblem(t, e.call("POST", batchPath("shop"), map[string]any{"events": []any{
		good(1), map[string]any{"data": map[string]any{}}, good(2), map[string]any{"data": map[string]any{}},
	}}), http.StatusUnprocessableEntity, "")
	if locs := p.locations(); !reflect.DeepEqual(locs, []string{"body.events[1].type", "body.events[3].type"}) {
		t.Errorf("locations %q, want both items' type", locs)
	}
	// ... and those that do not match their schema.
	noTotal := map[string]any{"type": "order.created", "data": map[string]any{}}
	p = wantProblem(t, e.call("POST", batchPath("shop"), map[string]any{"events": []any{noTotal, good(1), noTotal}}),
		http.StatusUnprocessableEntity, "")
	if locs := p.locations(); !reflect.DeepEqual(locs, []string{"body.events[0].data.total", "body.events[2].data.total"}) {
		t.Errorf("locations %q, want both items' data.total", locs)
	}
	if n := e.count("/v1/apps/shop/events"); n != 0 {
		t.Fatalf("%d events stored by a refused batch", n)
	}
	// The same batch, valid, goes through.
	want[batchJSON](t, e.call("POST", batchPath("shop"), batchOf(good(1), good(2))), http.StatusAccepted)
	if n := e.count("/v1/apps/shop/events"); n != 2 {
		t.Fatalf("%d events stored, want 2", n)
	}
}

func TestEventBatchSize(t *testing.T) {
	t.Parallel()
	const maxBody = 8192
	e := newEnv(t, envOpts{maxBody: maxBody})
	e.mkApp("Shop", "shop")
	ev := func(i int) map[string]any {
		return map[string]any{"type": "order.created", "data": map[string]any{"i": i, "pad": strings.Repeat("x", 40)}}
	}
	many := func(n int) map[string]any {
		evs := make([]map[string]any, n)
		for i := range evs {
			evs[i] = ev(i)
		}
		return batchOf(evs...)
	}
	for name, body := range map[string]any{
		"empty":    batchOf(),
		"missing":  map[string]any{},
		"null":     map[string]any{"events": nil},
		"too many": many(api.MaxBatchEvents + 1),
	} {
		p := wantProblem(t, e.call("POST", batchPath("shop"), body, chunked), http.StatusUnprocessableEntity, "body.events")
		if name == "too many" && !strings.Contains(p.Detail, "at most 1000") {
			t.Errorf("too many: detail %q", p.Detail)
		}
	}
	wantProblem(t, e.call("POST", batchPath("shop"), `{"events": {}}`), http.StatusUnprocessableEntity, "body.events")
	wantProblem(t, e.call("POST", batchPath("shop"), `{"events": [], "extra": 1}`), http.StatusUnprocessableEntity, "body.extra")
	wantProblem(t, e.call("POST", batchPath("shop"), `{"events": [`), http.StatusBadRequest, "")

	// One item may be as large as a single event's body, no larger.
	huge := map[string]any{"type": "order.created", "data": map[string]any{"pad": strings.Repeat("x", maxBody)}}
	wantProblem(t, e.call("POST", batchPath("shop"), batchOf(ev(0), huge), chunked), http.StatusUnprocessableEntity, "body.events[1]")
	if n := e.count("/v1/apps/shop/events"); n != 0 {
		t.Fatalf("%d events stored by refused batches", n)
	}

	// 1000 events (about 90 KB, 11 times the single-event limit here) in
	// one request, all stored.
	for _, opts := range [][]reqOpt{nil, {chunked}} {
		p := wantProblem(t, e.call("POST", batchPath("shop"), batchOf(ev(0), map[string]any{"pad": strings.Repeat("x", 16*maxBody)}), opts...),
			http.StatusRequestEntityTooLarge, "")
		if !strings.Contains(p.Detail, fmt.Sprint(16*maxBody)+" bytes") {
			t.Errorf("413 detail %q, want the batch limit", p.Detail)
		}
	}
	r := e.call("POST", batchPath("shop"), many(api.MaxBatchEvents))
	res := want[batchJSON](t, r, http.StatusAccepted)
	if len(res.Data) != api.MaxBatchEvents {
		t.Fatalf("%d items, want %d", len(res.Data), api.MaxBatchEvents)
	}
	last := res.events(t)[api.MaxBatchEvents-1]
	stored := want[eventJSON](t, e.call("GET", "/v1/apps/shop/events/"+last.ID, nil), http.StatusOK)
	if string(stored.Data) != fmt.Sprintf(`{"i":%d,"pad":"%s"}`, api.MaxBatchEvents-1, strings.Repeat("x", 40)) {
		t.Errorf("last event stored with data %s", stored.Data)
	}
	// Above the batch limit: 413.
	wantProblem(t, e.call("POST", batchPath("shop"), batchOf(ev(0), map[string]any{"pad": strings.Repeat("x", 16*maxBody)}), chunked),
		http.StatusRequestEntityTooLarge, "")
}

func TestEventBatchDuplicateIDs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mkApp("Shop", "shop")
	ev := func(id string) map[string]any {
		return map[string]any{"id": id, "type": "order.created", "data": map[string]any{}}
	}
	p := wantProblem(t, e.call("POST", batchPath("shop"), batchOf(ev("a"), ev("b"), ev("a"))), http.StatusUnprocessableEntity, "body.events[2].id")
	if !reflect.DeepEqual(p.locations(), []string{"body.events[2].id"}) || !strings.Contains(p.Detail, "body.events[0]") {
		t.Errorf("problem %+v: want only events[2].id, naming events[0]", p)
	}
	if n := e.count("/v1/apps/shop/events"); n != 0 {
		t.Fatalf("%d events stored by a refused batch", n)
	}
}

func TestEventBatchReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("Shop", "shop")
	e.mkEndpoint(app.ID, map[string]any{})
	first := want[eventJSON](t, e.call("POST", "/v1/apps/shop/events",
		map[string]any{"id": "ord_1", "type": "order.created", "data": map[string]any{"v": "first"}}), http.StatusAccepted)

	r := e.call("POST", batchPath("shop"), batchOf(
		map[string]any{"id": "ord_2", "type": "order.created", "data": map[string]any{"v": "new"}},
		map[string]any{"id": "ord_1", "type": "order.updated", "data": map[string]any{"v": "again"}},
	))
	res := want[batchJSON](t, r, http.StatusAccepted)
	evs := res.events(t)
	if res.Data[0].Replayed || evs[0].ID != "ord_2" || string(evs[0].Data) != `{"v":"new"}` {
		t.Errorf("new item: %s", r.Body)
	}
	if !res.Data[1].Replayed || evs[1].ID != "ord_1" || evs[1].Type != "order.created" || string(evs[1].Data) != `{"v":"first"}` ||
		!evs[1].CreatedAt.Equal(first.CreatedAt) {
		t.Errorf("replayed item: %s; want the stored event %+v", r.Body, first)
	}
	if n := e.count("/v1/apps/shop/events"); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	if n := e.count("/v1/apps/shop/deliveries?event=ord_1"); n != 1 {
		t.Errorf("the replayed event has %d deliveries, want 1", n)
	}
	if n := e.count("/v1/apps/shop/deliveries"); n != 2 {
		t.Errorf("%d deliveries, want 2", n)
	}
}

func TestEventBatchAppScopedKey(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	own, other := e.mkApp("Own", "own"), e.mkApp("Other", "other")
	e.addKey("sk_batch_own", own.ID)
	body := batchOf(map[string]any{"type": "order.created", "data": map[string]any{}})
	for _, path := range []string{batchPath(other.ID), batchPath("other"), batchPath("nope")} {
		wantProblem(t, e.call("POST", path, body, withKey("sk_batch_own")), http.StatusForbidden, "")
	}
	if n := e.count("/v1/apps/other/events"); n != 0 {
		t.Errorf("%d events stored through another app's key", n)
	}
	wantProblem(t, e.call("POST", batchPath("own"), body, withKey("")), http.StatusUnauthorized, "")
	want[batchJSON](t, e.call("POST", batchPath("own"), body, withKey("sk_batch_own")), http.StatusAccepted)
	want[batchJSON](t, e.call("POST", batchPath(own.ID), body), http.StatusAccepted) // admin
	if n := e.count("/v1/apps/own/events"); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	wantProblem(t, e.call("POST", batchPath("nope"), body), http.StatusNotFound, "")
	wantProblem(t, e.call("POST", batchPath("own"), body, withHeader("Content-Type", "text/plain")), http.StatusUnsupportedMediaType, "")
}

// openAPIBatch is what TestEventBatchIsDocumented reads of the document.
type openAPIBatch struct {
	Paths map[string]map[string]struct {
		OperationID string `json:"operationId"`
		RequestBody struct {
			Content map[string]struct {
				Schema struct {
					Ref string `json:"$ref"`
				} `json:"schema"`
			} `json:"content"`
		} `json:"requestBody"`
		Responses map[string]json.RawMessage `json:"responses"`
	} `json:"paths"`
	Components struct {
		Schemas map[string]struct {
			Properties map[string]struct {
				MinItems int `json:"minItems"`
				MaxItems int `json:"maxItems"`
				Items    struct {
					Ref string `json:"$ref"`
				} `json:"items"`
			} `json:"properties"`
		} `json:"schemas"`
	} `json:"components"`
}

func TestEventBatchIsDocumented(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := want[openAPIBatch](t, e.call("GET", "/v1/openapi.json", nil, withKey("")), http.StatusOK)
	op, ok := doc.Paths["/v1/apps/{app}/events/batch"]["post"]
	if !ok || op.OperationID != "create-event-batch" {
		t.Fatalf("POST /v1/apps/{app}/events/batch not documented")
	}
	for _, status := range []string{"202", "401", "403", "404", "413", "422"} {
		if _, ok := op.Responses[status]; !ok {
			t.Errorf("response %s not documented", status)
		}
	}
	ref := op.RequestBody.Content["application/json"].Schema.Ref
	if ref != "#/components/schemas/EventBatchRequest" {
		t.Fatalf("request body schema %q", ref)
	}
	events := doc.Components.Schemas["EventBatchRequest"].Properties["events"]
	if events.MinItems != 1 || events.MaxItems != 1000 || events.Items.Ref != "#/components/schemas/EventCreateRequest" {
		t.Errorf("events property %+v: want 1..1000 EventCreateRequest items", events)
	}
}
