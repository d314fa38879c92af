package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// replayEvent is an event as the replay routes answer it.
type replayEvent struct {
	ID   string          `json:"id"`
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	Test bool            `json:"test"`
}

type replayDelivery struct {
	ID         string `json:"id"`
	EventID    string `json:"event_id"`
	EndpointID string `json:"endpoint_id"`
	Status     string `json:"status"`
}

// deliveriesOf lists the deliveries (endpoint ids, sorted) of an event.
func (e *env) deliveriesOf(appID, eventID string) []string {
	e.t.Helper()
	l := want[list[replayDelivery]](e.t, e.call("GET", "/v1/apps/"+appID+"/deliveries?limit=250&event="+url.QueryEscape(eventID), nil), http.StatusOK)
	var eps []string
	for _, d := range l.Data {
		eps = append(eps, d.EndpointID)
	}
	slices.Sort(eps)
	return eps
}

// endpointEvents lists the events (ids, sorted) an endpoint has deliveries of.
func (e *env) endpointEvents(appID, epID string) []string {
	e.t.Helper()
	l := want[list[replayDelivery]](e.t, e.call("GET", "/v1/apps/"+appID+"/deliveries?limit=250&endpoint="+epID, nil), http.StatusOK)
	var evs []string
	for _, d := range l.Data {
		evs = append(evs, d.EventID)
	}
	slices.Sort(evs)
	return evs
}

func (e *env) publishEvent(appID, id, typ, data string) {
	e.t.Helper()
	want[replayEvent](e.t, e.call("POST", "/v1/apps/"+appID+"/events",
		`{"id":"`+id+`","type":"`+typ+`","data":`+data+`}`), http.StatusAccepted)
}

func sortedIDs(ids ...string) []string {
	ids = slices.Clone(ids)
	slices.Sort(ids)
	return ids
}

func TestSendTestEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{
		"name": "order.created", "example": map[string]any{"order": "ord_example", "total": 42},
		"schema": map[string]any{"type": "object", "required": []string{"order"}},
	}), http.StatusCreated)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.noexample"}), http.StatusCreated)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.old", "example": map[string]any{}}), http.StatusCreated)
	if r := e.call("DELETE", "/v1/event-types/order.old", nil); r.Status != http.StatusNoContent {
		t.Fatalf("archive: %d %s", r.Status, r.Body)
	}
	app := e.mkApp("shop", "")
	target := e.mkEndpoint(app.ID, map[string]any{})["id"].(string)
	// Another endpoint subscribed to the type, and the target's filter
	// would not let the example through: neither matters to a test event.
	other := e.mkEndpoint(app.ID, map[string]any{"event_types": []string{"order.*"}})["id"].(string)
	filtered := e.mkEndpoint(app.ID, map[string]any{"filter": ".data.total > 100"})["id"].(string)
	off := e.mkEndpoint(app.ID, map[string]any{"disabled": true})["id"].(string)
	_, _, wakes := e.pub.snapshot()

	type answer struct {
		Event    replayEvent    `json:"event"`
		Delivery replayDelivery `json:"delivery"`
	}
	base := "/v1/apps/" + app.ID + "/endpoints/"
	a := want[answer](t, e.call("POST", base+target+"/test", `{"type":"order.created"}`), http.StatusAccepted)
	if !a.Event.Test || a.Event.Type != "order.created" {
		t.Errorf("event %+v: want a test event of order.created", a.Event)
	}
	var data map[string]any
	if err := json.Unmarshal(a.Event.Data, &data); err != nil || data["order"] != "ord_example" || data["total"] != 42.0 {
		t.Errorf("data %s, want the type's example", a.Event.Data)
	}
	if a.Delivery.EndpointID != target || a.Delivery.EventID != a.Event.ID || a.Delivery.Status != hook.DeliveryPending {
		t.Errorf("delivery %+v: want a pending delivery of the event to %s", a.Delivery, target)
	}
	if got := e.deliveriesOf(app.ID, a.Event.ID); !slices.Equal(got, []string{target}) {
		t.Errorf("the test event went to %v, want only %s (not %s)", got, target, other)
	}
	stored := want[replayEvent](t, e.call("GET", "/v1/apps/"+app.ID+"/events/"+a.Event.ID, nil), http.StatusOK)
	if !stored.Test {
		t.Errorf("stored event %+v: want test true", stored)
	}
	if _, _, w := e.pub.snapshot(); w != wakes+1 {
		t.Errorf("dispatcher woken %d times, want once", w-wakes)
	}

	// Data given wins over the example; a filtered endpoint gets it too.
	a = want[answer](t, e.call("POST", base+filtered+"/test", `{"type":"order.created","data":{"order":"mine"}}`), http.StatusAccepted)
	if string(a.Event.Data) != `{"order":"mine"}` || a.Delivery.EndpointID != filtered {
		t.Errorf("with data: %s to %s", a.Event.Data, a.Delivery.EndpointID)
	}
	// A type without an example, with data.
	want[answer](t, e.call("POST", base+target+"/test", `{"type":"order.noexample","data":{}}`), http.StatusAccepted)

	events := e.count("/v1/apps/" + app.ID + "/events")
	for _, tc := range []struct {
		name, ep, body string
		status         int
		loc            string
	}{
		{"type not in the catalog", target, `{"type":"order.unknown"}`, 422, "body.type"},
		{"archived type", target, `{"type":"order.old"}`, 422, "body.type"},
		{"no example, no data", target, `{"type":"order.noexample"}`, 422, "body.data"},
		{"data null and no example", target, `{"type":"order.noexample","data":null}`, 422, "body.data"},
		{"data not an object", target, `{"type":"order.created","data":[1]}`, 422, "body.data"},
		{"data against the schema", target, `{"type":"order.created","data":{"total":1}}`, 422, "body.data.order"},
		{"bad type name", target, `{"type":"nodot"}`, 422, "body.type"},
		{"type missing", target, `{}`, 422, "body.type"},
		{"unknown field", target, `{"type":"order.created","id":"x"}`, 422, "body.id"},
		{"disabled endpoint", off, `{"type":"order.created"}`, 409, ""},
		{"unknown endpoint", "ep_nope", `{"type":"order.created"}`, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := wantProblem(t, e.call("POST", base+tc.ep+"/test", tc.body), tc.status, tc.loc)
			if tc.status == 409 && !strings.Contains(p.Detail, "disabled") {
				t.Errorf("409 detail %q: want it to say the endpoint is disabled", p.Detail)
			}
		})
	}
	if n := e.count("/v1/apps/" + app.ID + "/events"); n != events {
		t.Errorf("%d events after the refused requests, want %d: nothing written", n, events)
	}
}

func TestResendEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("shop", "")
	first := e.mkEndpoint(app.ID, map[string]any{"event_types": []string{"order.*"}})["id"].(string)
	e.publishEvent(app.ID, "evt_1", "order.created", `{"n":1}`)
	if got := e.deliveriesOf(app.ID, "evt_1"); !slices.Equal(got, []string{first}) {
		t.Fatalf("published to %v", got)
	}
	// Endpoints created after the event.
	later := e.mkEndpoint(app.ID, map[string]any{"uid": "later"})["id"].(string)
	unsubscribed := e.mkEndpoint(app.ID, map[string]any{"event_types": []string{"invoice.*"}})["id"].(string)
	off := e.mkEndpoint(app.ID, map[string]any{"disabled": true})["id"].(string)
	filtered := e.mkEndpoint(app.ID, map[string]any{"filter": ".data.n > 1"})["id"].(string)
	passes := e.mkEndpoint(app.ID, map[string]any{"filter": ".data.n == 1"})["id"].(string)

	type answer struct {
		Event      replayEvent      `json:"event"`
		Deliveries []replayDelivery `json:"deliveries"`
		Skipped    []struct {
			EndpointID string `json:"endpoint_id"`
			Reason     string `json:"reason"`
		} `json:"skipped"`
	}
	path := "/v1/apps/" + app.ID + "/events/evt_1/resend"
	a := want[answer](t, e.call("POST", path, nil), http.StatusAccepted)
	var to []string
	for _, d := range a.Deliveries {
		to = append(to, d.EndpointID)
		if d.EventID != "evt_1" || d.Status != hook.DeliveryPending {
			t.Errorf("delivery %+v", d)
		}
	}
	slices.Sort(to)
	if want := sortedIDs(first, later, passes); !slices.Equal(to, want) {
		t.Errorf("resent to %v, want %v (subscribed now, enabled, filter passed)", to, want)
	}
	skipped := map[string]string{}
	for _, s := range a.Skipped {
		skipped[s.EndpointID] = s.Reason
	}
	if len(skipped) != 2 || skipped[off] != "disabled" || skipped[filtered] != "filtered" {
		t.Errorf("skipped %v, want %s disabled and %s filtered", skipped, off, filtered)
	}
	if got, want := e.deliveriesOf(app.ID, "evt_1"), sortedIDs(first, first, later, passes); !slices.Equal(got, want) {
		t.Errorf("deliveries of the event to %v, want %v (a new delivery to %s beside the first)", got, want, first)
	}

	// Named, by uid: only that one.
	a = want[answer](t, e.call("POST", path, `{"endpoints":["later"]}`), http.StatusAccepted)
	if len(a.Deliveries) != 1 || a.Deliveries[0].EndpointID != later || len(a.Skipped) != 0 {
		t.Errorf("named: %+v", a)
	}
	// Named with a disabled one beside: it is skipped.
	a = want[answer](t, e.call("POST", path, `{"endpoints":["`+later+`","`+off+`"]}`), http.StatusAccepted)
	if len(a.Deliveries) != 1 || len(a.Skipped) != 1 || a.Skipped[0].EndpointID != off {
		t.Errorf("named with a disabled one: %+v", a)
	}

	// The expunged event, and a test event.
	e.publishEvent(app.ID, "evt_gone", "order.created", `{"n":1}`)
	want[replayEvent](t, e.call("POST", "/v1/apps/"+app.ID+"/events/evt_gone/expunge", nil), http.StatusOK)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.created", "example": map[string]any{}}), http.StatusCreated)
	testEv := want[struct {
		Event replayEvent `json:"event"`
	}](t, e.call("POST", "/v1/apps/"+app.ID+"/endpoints/"+first+"/test", `{"type":"order.created"}`), http.StatusAccepted).Event

	before := len(e.deliveriesOf(app.ID, "evt_1"))
	for _, tc := range []struct {
		name, event, body string
		status            int
		loc               string
	}{
		{"unknown endpoint", "evt_1", `{"endpoints":["` + later + `","ep_nope"]}`, 422, "body.endpoints[1]"},
		{"not subscribed", "evt_1", `{"endpoints":["` + unsubscribed + `"]}`, 422, "body.endpoints[0]"},
		{"all named disabled", "evt_1", `{"endpoints":["` + off + `"]}`, 409, ""},
		{"endpoints not a list", "evt_1", `{"endpoints":"x"}`, 422, "body.endpoints"},
		{"unknown field", "evt_1", `{"endpoint":["x"]}`, 422, "body.endpoint"},
		{"expunged", "evt_gone", `{}`, 409, ""},
		{"test event", testEv.ID, `{}`, 409, ""},
		{"unknown event", "evt_nope", `{}`, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, e.call("POST", "/v1/apps/"+app.ID+"/events/"+tc.event+"/resend", tc.body), tc.status, tc.loc)
		})
	}
	if n := len(e.deliveriesOf(app.ID, "evt_1")); n != before {
		t.Errorf("%d deliveries after the refused requests, want %d", n, before)
	}
}

func TestReplayMissing(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{retention: 24 * time.Hour})
	app := e.mkApp("shop", "")
	ep := e.mkEndpoint(app.ID, map[string]any{"event_types": []string{"order.*"}, "filter": ".data.n != 0"})["id"].(string)
	since := time.Now().UTC().Add(-time.Minute)
	e.publishEvent(app.ID, "A", "order.created", `{"n":1}`)
	// The endpoint is disabled while B, C, X and Y are published: the
	// test publisher gives disabled endpoints nothing.
	disable := func(off bool) {
		want[map[string]any](t, e.call("PATCH", "/v1/apps/"+app.ID+"/endpoints/"+ep, map[string]any{"disabled": off}), http.StatusOK)
	}
	disable(true)
	e.publishEvent(app.ID, "B", "order.created", `{"n":2}`)
	e.publishEvent(app.ID, "C", "order.paid", `{"n":3}`)
	e.publishEvent(app.ID, "X", "invoice.created", `{"n":4}`) // not subscribed
	e.publishEvent(app.ID, "Y", "order.created", `{"n":0}`)   // filtered out
	path := "/v1/apps/" + app.ID + "/endpoints/" + ep + "/replay-missing"
	wantProblem(t, e.call("POST", path, map[string]any{"since": since}), http.StatusConflict, "")
	disable(false)
	if got := e.endpointEvents(app.ID, ep); !slices.Equal(got, []string{"A"}) {
		t.Fatalf("before the replay the endpoint has %v", got)
	}

	type answer struct {
		Sent      int        `json:"sent"`
		Filtered  int        `json:"filtered"`
		Truncated bool       `json:"truncated"`
		NextSince *time.Time `json:"next_since"`
		Until     time.Time  `json:"until"`
	}
	_, _, wakes := e.pub.snapshot()
	a := want[answer](t, e.call("POST", path, map[string]any{"since": since}), http.StatusAccepted)
	if a.Sent != 2 || a.Filtered != 1 || a.Truncated || a.NextSince != nil {
		t.Errorf("answer %+v: want 2 sent (B, C), 1 filtered (Y), not truncated", a)
	}
	if got, want := e.endpointEvents(app.ID, ep), []string{"A", "B", "C"}; !slices.Equal(got, want) {
		t.Errorf("the endpoint has deliveries of %v, want %v", got, want)
	}
	if _, _, w := e.pub.snapshot(); w != wakes+1 {
		t.Errorf("dispatcher woken %d times, want once", w-wakes)
	}
	// Again: nothing is missing now.
	a = want[answer](t, e.call("POST", path, map[string]any{"since": since}), http.StatusAccepted)
	if a.Sent != 0 || a.Filtered != 1 {
		t.Errorf("second answer %+v: want nothing sent", a)
	}
	// A window that ends before B: nothing.
	e.publishEvent(app.ID, "late", "order.created", `{"n":5}`) // the endpoint got it
	a = want[answer](t, e.call("POST", path, map[string]any{"since": since, "until": since.Add(time.Second)}), http.StatusAccepted)
	if a.Sent != 0 || !a.Until.Equal(since.Add(time.Second)) {
		t.Errorf("narrow window: %+v", a)
	}

	// An endpoint created after all of them gets every order event its
	// filter lets through: A, B, C and late (not X, not Y).
	fresh := e.mkEndpoint(app.ID, map[string]any{"event_types": []string{"order.*"}, "filter": ".data.n != 0"})["id"].(string)
	a = want[answer](t, e.call("POST", "/v1/apps/"+app.ID+"/endpoints/"+fresh+"/replay-missing", map[string]any{"since": since}), http.StatusAccepted)
	if a.Sent != 4 || a.Filtered != 1 {
		t.Errorf("a new endpoint: %+v, want 4 sent, 1 filtered", a)
	}
	if got, want := e.endpointEvents(app.ID, fresh), []string{"A", "B", "C", "late"}; !slices.Equal(got, want) {
		t.Errorf("the new endpoint has deliveries of %v, want %v", got, want)
	}

	now := time.Now().UTC()
	for _, tc := range []struct {
		name string
		ep   string
		body any
		code int
		loc  string
	}{
		{"since missing", ep, map[string]any{}, 422, "body.since"},
		{"since not a time", ep, map[string]any{"since": "yesterday"}, 422, "body.since"},
		{"since in the future", ep, map[string]any{"since": now.Add(time.Hour)}, 422, "body.since"},
		{"since after until", ep, map[string]any{"since": since, "until": since.Add(-time.Second)}, 422, "body.until"},
		{"since beyond retention", ep, map[string]any{"since": now.Add(-25 * time.Hour)}, 422, "body.since"},
		{"unknown endpoint", "ep_nope", map[string]any{"since": since}, 404, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantProblem(t, e.call("POST", "/v1/apps/"+app.ID+"/endpoints/"+tc.ep+"/replay-missing", tc.body), tc.code, tc.loc)
		})
	}
}

// TestReplayMissingTestEventsLeftOut: replay-missing never sends test
// events, which belong to the endpoint they were sent to.
func TestReplayMissingTestEventsLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("shop", "")
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.created", "example": map[string]any{}}), http.StatusCreated)
	a := e.mkEndpoint(app.ID, map[string]any{})["id"].(string)
	b := e.mkEndpoint(app.ID, map[string]any{})["id"].(string)
	want[map[string]any](t, e.call("POST", "/v1/apps/"+app.ID+"/endpoints/"+a+"/test", `{"type":"order.created"}`), http.StatusAccepted)
	res := want[struct {
		Sent int `json:"sent"`
	}](t, e.call("POST", "/v1/apps/"+app.ID+"/endpoints/"+b+"/replay-missing", map[string]any{"since": time.Now().Add(-time.Minute)}), http.StatusAccepted)
	if res.Sent != 0 {
		t.Errorf("sent %d, want 0: the test event was a's", res.Sent)
	}
	evs, err := e.store.ListEvents(context.Background(), &store.ListEventsParams{AppID: app.ID})
	if err != nil || len(evs.Data) != 1 || !evs.Data[0].Test {
		t.Fatalf("events %v %v", evs, err)
	}
}

// TestReplayMissingTruncated: a call sends at most ReplayLimit events and
// says where the next one starts; the next one sends the rest.
func TestReplayMissingTruncated(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{replayLimit: 2})
	app := e.mkApp("shop", "")
	since := time.Now().UTC().Add(-time.Minute)
	for _, id := range []string{"A", "B", "C"} {
		e.publishEvent(app.ID, id, "order.created", `{}`)
	}
	ep := e.mkEndpoint(app.ID, map[string]any{})["id"].(string)
	stored, err := e.store.GetEvent(context.Background(), app.ID, "C")
	if err != nil {
		t.Fatal(err)
	}
	type answer struct {
		Sent      int        `json:"sent"`
		Truncated bool       `json:"truncated"`
		NextSince *time.Time `json:"next_since"`
	}
	path := "/v1/apps/" + app.ID + "/endpoints/" + ep + "/replay-missing"
	a := want[answer](t, e.call("POST", path, map[string]any{"since": since}), http.StatusAccepted)
	if a.Sent != 2 || !a.Truncated || a.NextSince == nil || !a.NextSince.Equal(stored.CreatedAt) {
		t.Fatalf("first call %+v: want 2 sent, truncated, next_since %v (C's)", a, stored.CreatedAt)
	}
	a = want[answer](t, e.call("POST", path, map[string]any{"since": a.NextSince}), http.StatusAccepted)
	if a.Sent != 1 || a.Truncated || a.NextSince != nil {
		t.Errorf("second call %+v: want 1 sent, done", a)
	}
	if got := e.endpointEvents(app.ID, ep); !slices.Equal(got, []string{"A", "B", "C"}) {
		t.Errorf("the endpoint has %v", got)
	}
}
