package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

type endpointJSON struct {
	ID          string            `json:"id"`
	AppID       string            `json:"app_id"`
	URL         string            `json:"url"`
	Description string            `json:"description"`
	EventTypes  []string          `json:"event_types"`
	Disabled    bool              `json:"disabled"`
	Headers     map[string]string `json:"headers"`
	Metadata    map[string]string `json:"metadata"`
	CreatedAt   time.Time         `json:"created_at"`
	UpdatedAt   time.Time         `json:"updated_at"`
}

type eventJSON struct {
	ID        string          `json:"id"`
	AppID     string          `json:"app_id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	CreatedAt time.Time       `json:"created_at"`
}

type deliveryJSON struct {
	ID           string            `json:"id"`
	AppID        string            `json:"app_id"`
	EventID      string            `json:"event_id"`
	EventType    string            `json:"event_type"`
	EndpointID   string            `json:"endpoint_id"`
	Status       string            `json:"status"`
	AttemptCount int               `json:"attempt_count"`
	Attempts     []json.RawMessage `json:"attempts"`
}

func TestEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "a")
	secret := "whsec_" + strings.Repeat("QUJD", 8) // 24 bytes
	r := e.call("POST", "/v1/apps/a/endpoints", map[string]any{
		"url": "https://example.com/hook", "description": "orders", "event_types": []string{"order.*"},
		"headers": map[string]string{"X-Tenant": "t1"}, "metadata": map[string]string{"k": "v"}, "secret": secret,
	})
	ep := want[endpointJSON](t, r, http.StatusCreated)
	if !strings.HasPrefix(ep.ID, "ep_") || ep.AppID != a.ID || ep.URL != "https://example.com/hook" || ep.Description != "orders" ||
		!slices.Equal(ep.EventTypes, []string{"order.*"}) || ep.Headers["X-Tenant"] != hook.HeaderValueMask || ep.Metadata["k"] != "v" || ep.Disabled {
		t.Fatalf("created %+v", ep)
	}
	if strings.Contains(strings.ToLower(string(r.Body)), "secret") || strings.Contains(string(r.Body), "whsec_") {
		t.Errorf("endpoint JSON shows the secret: %s", r.Body)
	}

	// Defaults: [] and {} rather than null, a generated secret.
	r = e.call("POST", "/v1/apps/"+a.ID+"/endpoints", map[string]any{"url": "http://example.org/x"})
	bare := want[map[string]any](t, r, http.StatusCreated)
	if !strings.Contains(string(r.Body), `"event_types":[]`) || !strings.Contains(string(r.Body), `"headers":{}`) || !strings.Contains(string(r.Body), `"metadata":{}`) {
		t.Errorf("defaults: %s", r.Body)
	}
	gen := want[map[string]string](t, e.call("GET", "/v1/apps/a/endpoints/"+bare["id"].(string)+"/secret", nil), http.StatusOK)
	if err := hook.ValidateSecret("secret", gen["secret"]); err != nil {
		t.Errorf("generated secret %q: %v", gen["secret"], err)
	}

	got := want[endpointJSON](t, e.call("GET", "/v1/apps/a/endpoints/"+ep.ID, nil), http.StatusOK)
	if got.ID != ep.ID || got.URL != ep.URL {
		t.Errorf("GET %+v", got)
	}
	l := want[list[endpointJSON]](t, e.call("GET", "/v1/apps/"+a.ID+"/endpoints", nil), http.StatusOK)
	if len(l.Data) != 2 || l.NextCursor != nil {
		t.Errorf("list %+v", l)
	}

	// PATCH: absent fields unchanged.
	got = want[endpointJSON](t, e.call("PATCH", "/v1/apps/a/endpoints/"+ep.ID, map[string]any{"disabled": true, "event_types": []string{}}), http.StatusOK)
	if !got.Disabled || len(got.EventTypes) != 0 || got.URL != ep.URL || got.Description != "orders" || got.Headers["X-Tenant"] != hook.HeaderValueMask {
		t.Errorf("patched %+v", got)
	}
	got = want[endpointJSON](t, e.call("PATCH", "/v1/apps/a/endpoints/"+ep.ID, map[string]any{"url": "https://example.com/v2", "headers": map[string]string{}}), http.StatusOK)
	if got.URL != "https://example.com/v2" || len(got.Headers) != 0 || !got.Disabled {
		t.Errorf("patched %+v", got)
	}

	// Secret: GET shows it; rotate changes it and keeps the old for 24 h.
	s1 := want[map[string]string](t, e.call("GET", "/v1/apps/a/endpoints/"+ep.ID+"/secret", nil), http.StatusOK)
	if s1["secret"] != secret {
		t.Errorf("secret %q, want %q", s1["secret"], secret)
	}
	before := time.Now()
	s2 := want[map[string]string](t, e.call("POST", "/v1/apps/a/endpoints/"+ep.ID+"/secret/rotate", nil), http.StatusOK)
	after := time.Now()
	if s2["secret"] == secret || hook.ValidateSecret("secret", s2["secret"]) != nil {
		t.Errorf("rotated secret %q", s2["secret"])
	}
	stored, err := e.store.GetEndpoint(context.Background(), a.ID, ep.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Secret != s2["secret"] || stored.PreviousSecret != secret {
		t.Errorf("stored secret %q previous %q", stored.Secret, stored.PreviousSecret)
	}
	exp := stored.PreviousSecretExpiresAt
	if exp.Before(before.Add(24*time.Hour).Add(-time.Second)) || exp.After(after.Add(24*time.Hour).Add(time.Second)) {
		t.Errorf("previous secret expires at %v, want about 24 h after %v", exp, before)
	}
	if s := stored.SigningSecrets(time.Now()); len(s) != 2 {
		t.Errorf("signing secrets %v, want 2", s)
	}
	s3 := want[map[string]string](t, e.call("GET", "/v1/apps/a/endpoints/"+ep.ID+"/secret", nil), http.StatusOK)
	if s3["secret"] != s2["secret"] {
		t.Errorf("GET secret after rotate %q, want %q", s3["secret"], s2["secret"])
	}
	given := "whsec_" + strings.Repeat("WFla", 12) // 36 bytes
	s4 := want[map[string]string](t, e.call("POST", "/v1/apps/a/endpoints/"+ep.ID+"/secret/rotate", map[string]string{"secret": given}), http.StatusOK)
	if s4["secret"] != given {
		t.Errorf("rotate to a given secret: %q", s4["secret"])
	}
	wantProblem(t, e.call("POST", "/v1/apps/a/endpoints/"+ep.ID+"/secret/rotate", map[string]string{"secret": "nope"}), http.StatusUnprocessableEntity, "body.secret")
	if s := want[map[string]string](t, e.call("GET", "/v1/apps/a/endpoints/"+ep.ID+"/secret", nil), http.StatusOK); s["secret"] != given {
		t.Errorf("a refused rotation changed the secret to %q", s["secret"])
	}

	// DELETE.
	r = e.call("DELETE", "/v1/apps/a/endpoints/"+ep.ID, nil)
	if r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	wantProblem(t, e.call("GET", "/v1/apps/a/endpoints/"+ep.ID, nil), http.StatusNotFound, "")
	wantProblem(t, e.call("DELETE", "/v1/apps/a/endpoints/"+ep.ID, nil), http.StatusNotFound, "")

	changed, deleted, _ := e.pub.snapshot()
	// create, create, patch, patch, rotate, rotate.
	if n := countOf(changed, ep.ID); n != 5 {
		t.Errorf("EndpointChanged(%s) called %d times, want 5 (%v)", ep.ID, n, changed)
	}
	if !slices.Equal(deleted, []string{ep.ID}) {
		t.Errorf("EndpointDeleted calls %v", deleted)
	}
}

func countOf(s []string, v string) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}

func TestEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "a")
	orders := e.mkEndpoint(a.ID, map[string]any{"event_types": []string{"order.*"}})
	all := e.mkEndpoint(a.ID, map[string]any{})
	e.mkEndpoint(a.ID, map[string]any{"event_types": []string{"user.created"}})
	e.mkEndpoint(a.ID, map[string]any{"disabled": true})

	// data keeps its bytes (order, number precision), compacted.
	data := `{ "z": 1, "a": {"big": 12345678901234567890123, "f": 1.50, "s": "é<>&"},  "arr": [1, 2] }`
	body := `{"type": "order.created", "data": ` + data + `}`
	r := e.call("POST", "/v1/apps/a/events", body)
	ev := want[eventJSON](t, r, http.StatusAccepted)
	wantData := `{"z":1,"a":{"big":12345678901234567890123,"f":1.50,"s":"é<>&"},"arr":[1,2]}`
	if string(ev.Data) != wantData {
		t.Errorf("data %s, want %s", ev.Data, wantData)
	}
	if !strings.HasPrefix(ev.ID, "evt_") || ev.AppID != a.ID || ev.Type != "order.created" {
		t.Errorf("event %+v", ev)
	}
	if ev.CreatedAt.Nanosecond()%int(time.Millisecond) != 0 || ev.CreatedAt.Location() != time.UTC || time.Since(ev.CreatedAt) > time.Minute {
		t.Errorf("created_at %v: want now, in ms, UTC", ev.CreatedAt)
	}
	if r.Header.Get("Idempotent-Replayed") != "" {
		t.Errorf("first publish says replayed")
	}
	var rawEv map[string]json.RawMessage
	_ = json.Unmarshal(r.Body, &rawEv)
	if len(rawEv) != 6 || string(rawEv["livemode"]) != "true" {
		t.Errorf("event JSON fields: %s", r.Body)
	}
	stored, err := e.store.GetEvent(context.Background(), a.ID, ev.ID)
	if err != nil || string(stored.Data) != wantData {
		t.Errorf("stored %+v, %v", stored, err)
	}

	// Fan-out: the order.* and the catch-all endpoints, not user.created
	// nor the disabled one.
	ds := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?event="+ev.ID, nil), http.StatusOK)
	var eps []string
	for _, d := range ds.Data {
		eps = append(eps, d.EndpointID)
		if d.EventID != ev.ID || d.Status != "pending" || d.EventType != "order.created" {
			t.Errorf("delivery %+v", d)
		}
	}
	slices.Sort(eps)
	wantEps := []string{orders["id"].(string), all["id"].(string)}
	slices.Sort(wantEps)
	if !slices.Equal(eps, wantEps) {
		t.Errorf("deliveries to %v, want %v", eps, wantEps)
	}

	// GET and list.
	got := want[eventJSON](t, e.call("GET", "/v1/apps/a/events/"+ev.ID, nil), http.StatusOK)
	if got.ID != ev.ID || string(got.Data) != wantData {
		t.Errorf("GET %+v", got)
	}
	wantProblem(t, e.call("GET", "/v1/apps/a/events/evt_nope", nil), http.StatusNotFound, "")
	e2 := want[eventJSON](t, e.call("POST", "/v1/apps/"+a.ID+"/events", map[string]any{"type": "user.created", "data": map[string]any{"n": 2}}), http.StatusAccepted)
	l := want[list[eventJSON]](t, e.call("GET", "/v1/apps/a/events", nil), http.StatusOK)
	if len(l.Data) != 2 {
		t.Errorf("%d events", len(l.Data))
	}
	l = want[list[eventJSON]](t, e.call("GET", "/v1/apps/a/events?type=user.created", nil), http.StatusOK)
	if len(l.Data) != 1 || l.Data[0].ID != e2.ID {
		t.Errorf("type filter: %+v", l.Data)
	}
	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	if n := len(want[list[eventJSON]](t, e.call("GET", "/v1/apps/a/events?since="+future, nil), http.StatusOK).Data); n != 0 {
		t.Errorf("since the future: %d events", n)
	}
	if n := len(want[list[eventJSON]](t, e.call("GET", "/v1/apps/a/events?since="+past+"&until="+future, nil), http.StatusOK).Data); n != 2 {
		t.Errorf("since..until: %d events", n)
	}
	if n := len(want[list[eventJSON]](t, e.call("GET", "/v1/apps/a/events?until="+past, nil), http.StatusOK).Data); n != 0 {
		t.Errorf("until the past: %d events", n)
	}
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "")
	e.mkEndpoint(a.ID, map[string]any{})
	e.mkEndpoint(a.ID, map[string]any{"url": "https://example.net/x"})
	base := "/v1/apps/" + a.ID

	body := map[string]any{"type": "order.created", "id": "ord_1", "data": map[string]any{"v": 1}}
	r1 := e.call("POST", base+"/events", body)
	ev1 := want[eventJSON](t, r1, http.StatusAccepted)
	if ev1.ID != "ord_1" || r1.Header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %+v %v", ev1, r1.Header)
	}
	// Same id, other data: the stored event comes back, nothing new.
	body["data"] = map[string]any{"v": 2}
	r2 := e.call("POST", base+"/events", body)
	ev2 := want[eventJSON](t, r2, http.StatusAccepted)
	if r2.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay header %q", r2.Header.Get("Idempotent-Replayed"))
	}
	if ev2.ID != "ord_1" || string(ev2.Data) != `{"v":1}` || !ev2.CreatedAt.Equal(ev1.CreatedAt) {
		t.Errorf("replay answered %+v, want the stored %+v", ev2, ev1)
	}
	if n := e.count(base + "/events"); n != 1 {
		t.Errorf("%d events after a replay", n)
	}
	if n := e.count(base + "/deliveries"); n != 2 {
		t.Errorf("%d deliveries after a replay, want 2", n)
	}

	// The Idempotency-Key header is the id when the body has none.
	k := map[string]any{"type": "order.paid", "data": map[string]any{}}
	h := withHeader("Idempotency-Key", "pay_9")
	ev3 := want[eventJSON](t, e.call("POST", base+"/events", k, h), http.StatusAccepted)
	if ev3.ID != "pay_9" {
		t.Errorf("id from header: %q", ev3.ID)
	}
	r4 := e.call("POST", base+"/events", k, h)
	if want[eventJSON](t, r4, http.StatusAccepted).ID != "pay_9" || r4.Header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("header replay: %s %v", r4.Body, r4.Header)
	}
	// Both, equal: fine.
	k["id"] = "pay_9"
	want[eventJSON](t, e.call("POST", base+"/events", k, h), http.StatusAccepted)
	// Both, different: 422 on body.id, nothing stored.
	k["id"] = "pay_10"
	wantProblem(t, e.call("POST", base+"/events", k, h), http.StatusUnprocessableEntity, "body.id")
	wantProblem(t, e.call("GET", base+"/events/pay_10", nil), http.StatusNotFound, "")
	wantProblem(t, e.call("POST", base+"/events", map[string]any{"type": "a.b", "data": map[string]any{}}, withHeader("Idempotency-Key", "bad key!")), http.StatusUnprocessableEntity, "header.Idempotency-Key")
	if n := e.count(base + "/events"); n != 2 {
		t.Errorf("%d events, want 2", n)
	}
	if n := e.count(base + "/deliveries"); n != 4 {
		t.Errorf("%d deliveries, want 4", n)
	}
}

func TestSchemaValidationOnIngest(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "")
	e.mkEndpoint(a.ID, map[string]any{})
	events := "/v1/apps/" + a.ID + "/events"
	schema := map[string]any{
		"type":     "object",
		"required": []string{"customer", "total"},
		"properties": map[string]any{
			"customer": map[string]any{
				"type":       "object",
				"required":   []string{"email"},
				"properties": map[string]any{"email": map[string]any{"type": "string", "format": "email"}},
			},
			"total": map[string]any{"type": "number", "minimum": 0},
			"items": map[string]any{"type": "array", "items": map[string]any{"type": "string"}},
		},
	}
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{
		"name": "order.created", "schema": schema, "example": map[string]any{"customer": map[string]any{"email": "a@b.c"}, "total": 1},
	}), http.StatusCreated)

	bad := []struct {
		name string
		data any
		locs []string
	}{
		{"bad email", map[string]any{"customer": map[string]any{"email": "not-an-email"}, "total": 3}, []string{"body.data.customer.email"}},
		{"email wrong type", map[string]any{"customer": map[string]any{"email": 5}, "total": 3}, []string{"body.data.customer.email"}},
		{"missing email and total", map[string]any{"customer": map[string]any{}}, []string{"body.data.customer.email", "body.data.total"}},
		{"negative total", map[string]any{"customer": map[string]any{"email": "a@b.c"}, "total": -1}, []string{"body.data.total"}},
		{"bad item", map[string]any{"customer": map[string]any{"email": "a@b.c"}, "total": 1, "items": []any{"ok", 7}}, []string{"body.data.items[1]"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, e.call("POST", events, map[string]any{"type": "order.created", "data": tc.data}), http.StatusUnprocessableEntity, "")
			if got := p.locations(); !slices.Equal(sorted(got), sorted(tc.locs)) {
				t.Errorf("locations %q, want %q", got, tc.locs)
			}
		})
	}
	if n := e.count(events); n != 0 {
		t.Fatalf("%d events stored after refusals", n)
	}
	if n := e.count("/v1/apps/" + a.ID + "/deliveries"); n != 0 {
		t.Fatalf("%d deliveries stored after refusals", n)
	}

	good := map[string]any{"customer": map[string]any{"email": "x@example.com"}, "total": 9.5}
	want[eventJSON](t, e.call("POST", events, map[string]any{"type": "order.created", "data": good}), http.StatusAccepted)
	// Unknown types are accepted as they are.
	want[eventJSON](t, e.call("POST", events, map[string]any{"type": "order.shipped", "data": map[string]any{"anything": true}}), http.StatusAccepted)

	// Archived: no longer checked. Unarchived: checked again (this node's
	// writes invalidate its cache at once).
	invalid := map[string]any{"type": "order.created", "data": map[string]any{"nope": 1}}
	if r := e.call("DELETE", "/v1/event-types/order.created", nil); r.Status != http.StatusNoContent {
		t.Fatalf("archive: %d %s", r.Status, r.Body)
	}
	want[eventJSON](t, e.call("POST", events, invalid), http.StatusAccepted)
	want[map[string]any](t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"archived": false}), http.StatusOK)
	wantProblem(t, e.call("POST", events, invalid), http.StatusUnprocessableEntity, "body.data.customer")
	// A new schema applies at once; a null schema removes it.
	want[map[string]any](t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{
		"schema": map[string]any{"type": "object", "required": []string{"nope"}}, "example": map[string]any{"nope": 0},
	}), http.StatusOK)
	want[eventJSON](t, e.call("POST", events, invalid), http.StatusAccepted)
	wantProblem(t, e.call("POST", events, map[string]any{"type": "order.created", "data": good}), http.StatusUnprocessableEntity, "body.data.nope")
	want[map[string]any](t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"schema": nil}), http.StatusOK)
	want[eventJSON](t, e.call("POST", events, map[string]any{"type": "order.created", "data": good}), http.StatusAccepted)
	if n := e.count(events); n != 5 {
		t.Errorf("%d events, want 5", n)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

func TestEventTypes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("POST", "/v1/event-types", `{"name": "order.created", "description": "An order was placed",
		"schema": {"type": "object", "properties": {"id": {"type": "string"}}},
		"example": {"id": "o_1"}}`)
	et := want[map[string]json.RawMessage](t, r, http.StatusCreated)
	if string(et["name"]) != `"order.created"` || string(et["schema"]) != `{"type":"object","properties":{"id":{"type":"string"}}}` ||
		string(et["example"]) != `{"id":"o_1"}` || string(et["archived"]) != "false" {
		t.Errorf("created %s", r.Body)
	}
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "user.created"}), http.StatusCreated)
	wantProblem(t, e.call("POST", "/v1/event-types", map[string]any{"name": "user.created"}), http.StatusConflict, "")

	got := want[map[string]json.RawMessage](t, e.call("GET", "/v1/event-types/order.created", nil), http.StatusOK)
	if string(got["description"]) != `"An order was placed"` {
		t.Errorf("GET %v", got)
	}
	wantProblem(t, e.call("GET", "/v1/event-types/no.such", nil), http.StatusNotFound, "")
	wantProblem(t, e.call("PATCH", "/v1/event-types/no.such", map[string]any{"description": "x"}), http.StatusNotFound, "")
	wantProblem(t, e.call("DELETE", "/v1/event-types/no.such", nil), http.StatusNotFound, "")

	// PATCH: description only; example null clears it; the schema stays.
	got = want[map[string]json.RawMessage](t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"description": "Placed", "example": nil}), http.StatusOK)
	if string(got["description"]) != `"Placed"` || got["example"] != nil || got["schema"] == nil {
		t.Errorf("patched %v", got)
	}
	// An example that does not match the schema.
	wantProblem(t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"example": map[string]any{"id": 5}}), http.StatusUnprocessableEntity, "body.example.id")
	// A schema that does not compile.
	p := wantProblem(t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"schema": map[string]any{"type": "nope"}}), http.StatusUnprocessableEntity, "body.schema")
	if !strings.Contains(p.Errors[0].Message, "type") {
		t.Errorf("compiler message %q", p.Errors[0].Message)
	}
	// A new schema the stored example would break.
	want[map[string]any](t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"example": map[string]any{"id": "o_2"}}), http.StatusOK)
	wantProblem(t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"schema": map[string]any{"properties": map[string]any{"id": map[string]any{"type": "integer"}}}}), http.StatusUnprocessableEntity, "body.schema")

	// DELETE archives; lists hide archived types unless asked.
	if r := e.call("DELETE", "/v1/event-types/order.created", nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE %d %s", r.Status, r.Body)
	}
	got = want[map[string]json.RawMessage](t, e.call("GET", "/v1/event-types/order.created", nil), http.StatusOK)
	if string(got["archived"]) != "true" {
		t.Errorf("archived: %s", got["archived"])
	}
	names := func(q string) []string {
		var out []string
		for _, et := range want[list[map[string]any]](t, e.call("GET", "/v1/event-types"+q, nil), http.StatusOK).Data {
			out = append(out, et["name"].(string))
		}
		return out
	}
	if n := names(""); !slices.Equal(n, []string{"user.created"}) {
		t.Errorf("list %v", n)
	}
	if n := names("?include_archived=true"); !slices.Equal(n, []string{"order.created", "user.created"}) {
		t.Errorf("list with archived %v", n)
	}
	got = want[map[string]json.RawMessage](t, e.call("PATCH", "/v1/event-types/order.created", map[string]any{"archived": false}), http.StatusOK)
	if string(got["archived"]) != "false" {
		t.Errorf("unarchived: %s", got["archived"])
	}
	if n := names(""); !slices.Equal(n, []string{"order.created", "user.created"}) {
		t.Errorf("list after unarchive %v", n)
	}
}

func TestDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	a := e.mkApp("A", "a")
	ep1 := e.mkEndpoint(a.ID, map[string]any{})["id"].(string)
	ep2 := e.mkEndpoint(a.ID, map[string]any{"url": "https://example.org/2"})["id"].(string)
	ev := want[eventJSON](t, e.call("POST", "/v1/apps/a/events", map[string]any{"type": "a.b", "data": map[string]any{}}), http.StatusAccepted)

	all := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries", nil), http.StatusOK)
	if len(all.Data) != 2 {
		t.Fatalf("%d deliveries", len(all.Data))
	}
	byEp := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?endpoint="+ep1, nil), http.StatusOK)
	if len(byEp.Data) != 1 || byEp.Data[0].EndpointID != ep1 {
		t.Fatalf("by endpoint: %+v", byEp.Data)
	}
	d1 := byEp.Data[0]
	if n := len(want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?status=pending&event="+ev.ID, nil), http.StatusOK).Data); n != 2 {
		t.Errorf("pending: %d", n)
	}
	if n := len(want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?status=failed", nil), http.StatusOK).Data); n != 0 {
		t.Errorf("failed: %d", n)
	}
	if n := len(want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?since="+time.Now().Add(time.Hour).UTC().Format(time.RFC3339), nil), http.StatusOK).Data); n != 0 {
		t.Errorf("since the future: %d", n)
	}

	// One delivery with its attempts: [] before the first.
	r := e.call("GET", "/v1/apps/a/deliveries/"+d1.ID, nil)
	got := want[deliveryJSON](t, r, http.StatusOK)
	if got.ID != d1.ID || !strings.Contains(string(r.Body), `"attempts":[]`) {
		t.Errorf("GET delivery: %s", r.Body)
	}

	// Make both fail for good through the store, as a dispatcher would.
	now := time.Now().UTC()
	claim, err := e.store.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "test", Now: now.Add(time.Second), LeaseUntil: now.Add(time.Minute), Limit: 10, PerEndpoint: 10})
	if err != nil || len(claim.Jobs) != 2 {
		t.Fatalf("claim: %v, %v", claim, err)
	}
	for _, j := range claim.Jobs {
		err := e.store.RecordAttempt(ctx, &store.RecordAttemptParams{
			Owner: "test",
			Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: j.DeliveryID, Number: 1, Trigger: hook.TriggerScheduled,
				StartedAt: now, Duration: time.Millisecond, ResponseStatus: 500, ResponseBody: "boom", ErrorKind: hook.ErrorKindStatus},
			ScheduledAttempts: 1, Decision: hook.Decision{Status: hook.DeliveryFailed}, EndpointID: j.EndpointID, Now: now,
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	r = e.call("GET", "/v1/apps/a/deliveries/"+d1.ID, nil)
	got = want[deliveryJSON](t, r, http.StatusOK)
	if got.Status != "failed" || len(got.Attempts) != 1 {
		t.Errorf("after a failed attempt: %s", r.Body)
	}

	// Retry one: 202 with the delivery, pending again, and a Wake.
	_, _, wakes0 := e.pub.snapshot()
	re := want[deliveryJSON](t, e.call("POST", "/v1/apps/a/deliveries/"+d1.ID+"/retry", nil), http.StatusAccepted)
	if re.ID != d1.ID || re.Status != "pending" {
		t.Errorf("retried %+v", re)
	}
	if _, _, w := e.pub.snapshot(); w != wakes0+1 {
		t.Errorf("wakes %d, want %d", w, wakes0+1)
	}
	wantProblem(t, e.call("POST", "/v1/apps/a/deliveries/dlv_nope/retry", nil), http.StatusNotFound, "")

	// Recover the other endpoint: its one failed delivery.
	past := time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	rec := want[map[string]int](t, e.call("POST", "/v1/apps/a/endpoints/"+ep2+"/recover", map[string]any{"since": past}), http.StatusAccepted)
	if rec["recovered"] != 1 {
		t.Errorf("recovered %v, want 1", rec)
	}
	if _, _, w := e.pub.snapshot(); w != wakes0+2 {
		t.Errorf("wakes %d, want %d", w, wakes0+2)
	}
	rec = want[map[string]int](t, e.call("POST", "/v1/apps/a/endpoints/"+ep2+"/recover", map[string]any{"since": past}), http.StatusAccepted)
	if rec["recovered"] != 0 {
		t.Errorf("recovered again %v, want 0", rec)
	}
	if n := len(want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?status=failed", nil), http.StatusOK).Data); n != 0 {
		t.Errorf("failed after retry and recover: %d", n)
	}
}

// TestBadInput: every client mistake is a problem (never a 500), located
// at the field at fault, and stores nothing.
func TestBadInput(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{maxBody: 4096})
	a := e.mkApp("A", "a")
	e.mkApp("B", "b")
	ep := e.mkEndpoint(a.ID, map[string]any{})["id"].(string)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.created", "schema": map[string]any{"type": "object"}}), http.StatusCreated)
	big := `{"type":"a.b","data":{"s":"` + strings.Repeat("x", 5000) + `"}}`

	counts := func() map[string]int {
		return map[string]int{
			"apps":        e.count("/v1/apps"),
			"endpoints":   e.count("/v1/apps/a/endpoints"),
			"events":      e.count("/v1/apps/a/events"),
			"deliveries":  e.count("/v1/apps/a/deliveries"),
			"event types": e.count("/v1/event-types?include_archived=true"),
		}
	}
	before := counts()
	epURL := "/v1/apps/a/endpoints"
	evURL := "/v1/apps/a/events"
	longName := strings.Repeat("x", 256)

	tests := []struct {
		name, method, path string
		body               any
		status             int
		loc                string
		opts               []reqOpt
	}{
		// Malformed JSON.
		{"app: malformed JSON", "POST", "/v1/apps", `{"name": `, 400, "body", nil},
		{"app: not JSON", "POST", "/v1/apps", `name=x`, 400, "body", nil},
		{"event: malformed JSON", "POST", evURL, `{"type": "a.b", "data": {}`, 400, "body", nil},
		{"event: trailing data", "POST", evURL, `{"type": "a.b", "data": {}} {}`, 400, "body", nil},
		{"event: empty body", "POST", evURL, ``, 400, "", nil},
		{"endpoint: malformed JSON", "POST", epURL, `{"url": "https://x.y",}`, 400, "body", nil},
		{"app patch: empty body", "PATCH", "/v1/apps/a", ``, 400, "", nil},
		// Apps.
		{"app: missing name", "POST", "/v1/apps", map[string]any{"uid": "zz"}, 422, "body.name", nil},
		{"app: blank name", "POST", "/v1/apps", map[string]any{"name": "  "}, 422, "body.name", nil},
		{"app: name too long", "POST", "/v1/apps", map[string]any{"name": longName}, 422, "body.name", nil},
		{"app: unknown field", "POST", "/v1/apps", map[string]any{"name": "x", "nmae": "y"}, 422, "body.nmae", nil},
		{"app: name not a string", "POST", "/v1/apps", map[string]any{"name": 5}, 422, "body.name", nil},
		{"app: reserved uid", "POST", "/v1/apps", map[string]any{"name": "x", "uid": "app_123"}, 422, "body.uid", nil},
		{"app: bad uid", "POST", "/v1/apps", map[string]any{"name": "x", "uid": "a b"}, 422, "body.uid", nil},
		{"app: uid conflict", "POST", "/v1/apps", map[string]any{"name": "x", "uid": "b"}, 409, "", nil},
		{"app: patch uid conflict", "PATCH", "/v1/apps/a", map[string]any{"uid": "b"}, 409, "", nil},
		{"app: patch blank name", "PATCH", "/v1/apps/a", map[string]any{"name": ""}, 422, "body.name", nil},
		{"app: unknown", "GET", "/v1/apps/nope", nil, 404, "", nil},
		{"app: patch unknown", "PATCH", "/v1/apps/app_nope", map[string]any{"name": "x"}, 404, "", nil},
		{"app: delete unknown", "DELETE", "/v1/apps/nope", nil, 404, "", nil},
		// Endpoints.
		{"endpoint: missing url", "POST", epURL, map[string]any{"description": "x"}, 422, "body.url", nil},
		{"endpoint: bad url", "POST", epURL, map[string]any{"url": "not a url"}, 422, "body.url", nil},
		{"endpoint: ftp", "POST", epURL, map[string]any{"url": "ftp://example.com/x"}, 422, "body.url", nil},
		{"endpoint: credentials", "POST", epURL, map[string]any{"url": "https://u:p@example.com/"}, 422, "body.url", nil},
		{"endpoint: refused by CheckURL", "POST", epURL, map[string]any{"url": "https://" + blockedHost + "/x"}, 422, "body.url", nil},
		{"endpoint: bad pattern", "POST", epURL, map[string]any{"url": "https://x.y", "event_types": []string{"ok.one", "bad pattern"}}, 422, "body.event_types[1]", nil},
		{"endpoint: reserved header", "POST", epURL, map[string]any{"url": "https://x.y", "headers": map[string]string{"Content-Type": "x"}}, 422, "body.headers.Content-Type", nil},
		{"endpoint: bad secret", "POST", epURL, map[string]any{"url": "https://x.y", "secret": "whsec_short"}, 422, "body.secret", nil},
		{"endpoint: event_types not a list", "POST", epURL, map[string]any{"url": "https://x.y", "event_types": "a.b"}, 422, "body.event_types", nil},
		{"endpoint: unknown app", "POST", "/v1/apps/nope/endpoints", map[string]any{"url": "https://x.y"}, 404, "", nil},
		{"endpoint: list unknown app", "GET", "/v1/apps/nope/endpoints", nil, 404, "", nil},
		{"endpoint: unknown", "GET", epURL + "/ep_nope", nil, 404, "", nil},
		{"endpoint: of another app", "GET", "/v1/apps/b/endpoints/" + ep, nil, 404, "", nil},
		{"endpoint: patch unknown", "PATCH", epURL + "/ep_nope", map[string]any{"disabled": true}, 404, "", nil},
		{"endpoint: patch ftp", "PATCH", epURL + "/" + ep, map[string]any{"url": "ftp://x.y"}, 422, "body.url", nil},
		{"endpoint: patch refused by CheckURL", "PATCH", epURL + "/" + ep, map[string]any{"url": "http://" + blockedHost}, 422, "body.url", nil},
		{"endpoint: secret of unknown", "GET", epURL + "/ep_nope/secret", nil, 404, "", nil},
		{"endpoint: rotate unknown", "POST", epURL + "/ep_nope/secret/rotate", nil, 404, "", nil},
		{"endpoint: recover without since", "POST", epURL + "/" + ep + "/recover", map[string]any{}, 422, "body.since", nil},
		{"endpoint: recover bad since", "POST", epURL + "/" + ep + "/recover", map[string]any{"since": "yesterday"}, 422, "body.since", nil},
		{"endpoint: recover unknown", "POST", epURL + "/ep_nope/recover", map[string]any{"since": "2024-01-01T00:00:00Z"}, 404, "", nil},
		// Event types.
		{"event type: bad name", "POST", "/v1/event-types", map[string]any{"name": "nodot"}, 422, "body.name", nil},
		{"event type: missing name", "POST", "/v1/event-types", map[string]any{"description": "x"}, 422, "body.name", nil},
		{"event type: schema does not compile", "POST", "/v1/event-types", map[string]any{"name": "x.y", "schema": map[string]any{"type": 12}}, 422, "body.schema", nil},
		{"event type: schema not an object", "POST", "/v1/event-types", map[string]any{"name": "x.y", "schema": "string"}, 422, "body.schema", nil},
		{"event type: schema with external ref", "POST", "/v1/event-types", map[string]any{"name": "x.y", "schema": map[string]any{"$ref": "file:///etc/passwd"}}, 422, "body.schema", nil},
		{"event type: example does not match", "POST", "/v1/event-types", map[string]any{"name": "x.y", "schema": map[string]any{"type": "object"}, "example": []int{1}}, 422, "body.example", nil},
		{"event type: conflict", "POST", "/v1/event-types", map[string]any{"name": "order.created"}, 409, "", nil},
		// Events.
		{"event: missing type", "POST", evURL, map[string]any{"data": map[string]any{}}, 422, "body.type", nil},
		{"event: bad type", "POST", evURL, map[string]any{"type": "nodot", "data": map[string]any{}}, 422, "body.type", nil},
		{"event: type not a string", "POST", evURL, map[string]any{"type": 5, "data": map[string]any{}}, 422, "body.type", nil},
		{"event: missing data", "POST", evURL, map[string]any{"type": "a.b"}, 422, "body.data", nil},
		{"event: data null", "POST", evURL, map[string]any{"type": "a.b", "data": nil}, 422, "body.data", nil},
		{"event: data an array", "POST", evURL, map[string]any{"type": "a.b", "data": []int{1}}, 422, "body.data", nil},
		{"event: data a string", "POST", evURL, map[string]any{"type": "a.b", "data": "{}"}, 422, "body.data", nil},
		{"event: body an array", "POST", evURL, `[1]`, 422, "body", nil},
		{"event: bad id", "POST", evURL, map[string]any{"type": "a.b", "data": map[string]any{}, "id": "has space"}, 422, "body.id", nil},
		{"event: empty id", "POST", evURL, map[string]any{"type": "a.b", "data": map[string]any{}, "id": ""}, 422, "body.id", nil},
		{"event: unknown field", "POST", evURL, map[string]any{"type": "a.b", "data": map[string]any{}, "tpye": "x"}, 422, "body.tpye", nil},
		{"event: fails the schema", "POST", evURL, map[string]any{"type": "order.created", "data": map[string]any{}}, 202, "", nil}, // {"type":"object"} accepts {}
		{"event: unknown app", "POST", "/v1/apps/nope/events", map[string]any{"type": "a.b", "data": map[string]any{}}, 404, "", nil},
		{"event: unknown", "GET", evURL + "/evt_nope", nil, 404, "", nil},
		{"events: bad since", "GET", evURL + "?since=yesterday", nil, 422, "query.since", nil},
		{"events: bad until", "GET", evURL + "?until=2024-13-01", nil, 422, "query.until", nil},
		{"events: bad type filter", "GET", evURL + "?type=a%20b", nil, 422, "query.type", nil},
		// Deliveries.
		{"deliveries: bad status", "GET", "/v1/apps/a/deliveries?status=done", nil, 422, "query.status", nil},
		{"deliveries: bad since", "GET", "/v1/apps/a/deliveries?since=now", nil, 422, "query.since", nil},
		{"delivery: unknown", "GET", "/v1/apps/a/deliveries/dlv_nope", nil, 404, "", nil},
		{"delivery: retry unknown", "POST", "/v1/apps/a/deliveries/dlv_nope/retry", nil, 404, "", nil},
		// Content types.
		{"event: text/plain", "POST", evURL, `{"type":"a.b","data":{}}`, 415, "", []reqOpt{withHeader("Content-Type", "text/plain")}},
		{"app: text/plain", "POST", "/v1/apps", `{"name":"x"}`, 415, "", []reqOpt{withHeader("Content-Type", "text/plain")}},
		{"event: JSON with a charset", "POST", evURL, `{"type":"a.b","data":{}}`, 202, "", []reqOpt{withHeader("Content-Type", "application/json; charset=utf-8")}},
		// Too big.
		{"event: body over the limit", "POST", evURL, big, 413, "", nil},
		{"app: body over the limit", "POST", "/v1/apps", `{"name":"` + strings.Repeat("x", 5000) + `"}`, 413, "", nil},
		{"event: chunked body over the limit", "POST", evURL, big, 413, "", []reqOpt{chunked}},
		{"endpoint: chunked body over the limit", "POST", epURL, `{"url":"https://x.y/` + strings.Repeat("x", 5000) + `"}`, 413, "", []reqOpt{chunked}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.call(tc.method, tc.path, tc.body, tc.opts...)
			if tc.status < 400 {
				if r.Status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
				}
				return
			}
			wantProblem(t, r, tc.status, tc.loc)
		})
	}
	t.Cleanup(func() {
		after := counts()
		// The two accepted events (and their deliveries) are the only change.
		before["events"] += 2
		before["deliveries"] += 2
		for k, n := range before {
			if after[k] != n {
				t.Errorf("%s: %d after the bad requests, want %d", k, after[k], n)
			}
		}
	})
}

// chunked sends the body without a Content-Length, so the limit is
// enforced while reading.
func chunked(r *http.Request) { r.ContentLength = -1 }

func TestBodyLimitDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "")
	// Exactly 1 MiB is accepted; one byte more is not.
	mk := func(n int) string {
		head, tail := `{"type":"a.b","data":{"s":"`, `"}}`
		return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
	}
	want[eventJSON](t, e.call("POST", "/v1/apps/"+a.ID+"/events", mk(api.DefaultMaxBodyBytes)), http.StatusAccepted)
	for _, opts := range [][]reqOpt{nil, {chunked}} {
		p := wantProblem(t, e.call("POST", "/v1/apps/"+a.ID+"/events", mk(api.DefaultMaxBodyBytes+1), opts...), http.StatusRequestEntityTooLarge, "")
		if !strings.Contains(p.Detail, "1048576 bytes") {
			t.Errorf("413 detail %q does not state the limit", p.Detail)
		}
	}
	if n := e.count("/v1/apps/" + a.ID + "/events"); n != 1 {
		t.Errorf("%d events, want 1", n)
	}
}
