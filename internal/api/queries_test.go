package api_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

type attemptJSON struct {
	ID             string    `json:"id"`
	DeliveryID     string    `json:"delivery_id"`
	EventID        string    `json:"event_id"`
	EndpointID     string    `json:"endpoint_id"`
	Number         int       `json:"number"`
	Trigger        string    `json:"trigger"`
	StartedAt      time.Time `json:"started_at"`
	DurationMillis int64     `json:"duration_ms"`
	ResponseStatus int       `json:"response_status"`
	ErrorKind      string    `json:"error_kind"`
}

// publish publishes an event of typ through the API and returns its id.
func (e *env) publish(app, typ string) string {
	e.t.Helper()
	return want[eventJSON](e.t, e.call("POST", "/v1/apps/"+app+"/events",
		map[string]any{"type": typ, "data": map[string]any{}}), http.StatusAccepted).ID
}

// ids lists a route's ids, following next_cursor.
func ids[T any](e *env, path string, id func(T) string) []string {
	e.t.Helper()
	out := []string{}
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	cursor := ""
	for range 100 {
		p := path
		if cursor != "" {
			p += sep + "cursor=" + url.QueryEscape(cursor)
		}
		l := want[list[T]](e.t, e.call("GET", p, nil), http.StatusOK)
		for _, v := range l.Data {
			out = append(out, id(v))
		}
		if l.NextCursor == nil {
			return out
		}
		cursor = *l.NextCursor
	}
	e.t.Fatal("too many pages")
	return nil
}

func TestEndpointUIDEverywhere(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mkApp("A", "a")
	ep := e.mkEndpoint("a", map[string]any{"uid": "billing", "headers": map[string]string{"X-K": "v"}})
	id := ep["id"].(string)
	other := e.mkEndpoint("a", map[string]any{})["id"].(string)
	base := "/v1/apps/a/endpoints/"

	got := want[map[string]any](t, e.call("GET", base+"billing", nil), http.StatusOK)
	if got["id"] != id {
		t.Fatalf("GET by uid: %v", got)
	}
	if s := want[map[string]string](t, e.call("GET", base+"billing/secret", nil), http.StatusOK); !strings.HasPrefix(s["secret"], "whsec_") {
		t.Errorf("secret by uid: %v", s)
	}
	if h := want[map[string]map[string]string](t, e.call("GET", base+"billing/headers", nil), http.StatusOK); h["headers"]["X-K"] != "v" {
		t.Errorf("headers by uid: %v", h)
	}
	p := want[map[string]any](t, e.call("PATCH", base+"billing", map[string]any{"description": "by uid"}), http.StatusOK)
	if p["id"] != id || p["description"] != "by uid" {
		t.Errorf("PATCH by uid: %v", p)
	}
	want[map[string]string](t, e.call("POST", base+"billing/secret/rotate", nil), http.StatusOK)
	want[map[string]int](t, e.call("POST", base+"billing/recover", map[string]any{"since": "2024-01-01T00:00:00Z"}), http.StatusAccepted)

	// The endpoint filter of deliveries takes the uid too; an unknown
	// endpoint, id or uid, gives an empty list.
	evt := e.publish("a", "order.created")
	byUID := ids(e, "/v1/apps/a/deliveries?endpoint=billing", func(d deliveryJSON) string { return d.EndpointID })
	byID := ids(e, "/v1/apps/a/deliveries?endpoint="+id, func(d deliveryJSON) string { return d.EndpointID })
	if !slices.Equal(byUID, []string{id}) || !slices.Equal(byID, []string{id}) {
		t.Errorf("deliveries of the endpoint by uid %v, by id %v; want [%s]", byUID, byID, id)
	}
	for _, ref := range []string{"nope", "ep_nope"} {
		if got := ids(e, "/v1/apps/a/deliveries?endpoint="+ref, func(d deliveryJSON) string { return d.ID }); len(got) != 0 {
			t.Errorf("deliveries of unknown endpoint %s: %v", ref, got)
		}
		wantProblem(t, e.call("GET", base+ref, nil), http.StatusNotFound, "")
	}

	// The replay routes take the uid too: a resend to the endpoint named
	// by its uid, and a replay-missing of it (nothing missing).
	rs := want[struct {
		Deliveries []deliveryJSON `json:"deliveries"`
	}](t, e.call("POST", "/v1/apps/a/events/"+evt+"/resend", map[string]any{"endpoints": []string{"billing"}}), http.StatusAccepted)
	if len(rs.Deliveries) != 1 || rs.Deliveries[0].EndpointID != id {
		t.Errorf("resend to uid billing: %+v, want one delivery to %s", rs.Deliveries, id)
	}
	rm := want[map[string]any](t, e.call("POST", base+"billing/replay-missing",
		map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}), http.StatusAccepted)
	if rm["sent"] != float64(0) {
		t.Errorf("replay-missing of uid billing: %v, want nothing sent", rm)
	}
	wantProblem(t, e.call("POST", base+"nope/replay-missing",
		map[string]any{"since": time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)}), http.StatusNotFound, "")

	// A uid may not look like an id.
	wantProblem(t, e.call("POST", "/v1/apps/a/endpoints", map[string]any{"url": "https://example.com", "uid": "ep_x"}),
		http.StatusUnprocessableEntity, "body.uid")
	wantProblem(t, e.call("PATCH", base+other, map[string]any{"uid": "ep_x"}), http.StatusUnprocessableEntity, "body.uid")

	// DELETE by uid: the dispatcher is told the endpoint's id.
	if r := e.call("DELETE", base+"billing", nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE by uid: %d %s", r.Status, r.Body)
	}
	if _, deleted, _ := e.pub.snapshot(); !slices.Equal(deleted, []string{id}) {
		t.Errorf("EndpointDeleted %v, want [%s]", deleted, id)
	}
	wantProblem(t, e.call("GET", base+"billing", nil), http.StatusNotFound, "")
}

func TestListTypePatterns(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mkApp("A", "a")
	e.mkEndpoint("a", map[string]any{})
	evs := map[string]string{}
	types := []string{"order.created", "order.payment.failed", "invoice.created", "orderx.created"}
	for _, typ := range types {
		evs[typ] = e.publish("a", typ)
	}
	// of returns the ids of the given types, newest first.
	of := func(m map[string]string, want ...string) []string {
		out := []string{}
		for i := len(types) - 1; i >= 0; i-- {
			if slices.Contains(want, types[i]) {
				out = append(out, m[types[i]])
			}
		}
		return out
	}
	evID := func(v eventJSON) string { return v.ID }
	dlvEvent := func(v deliveryJSON) string { return v.EventID }
	for q, w := range map[string][]string{
		"order.*":                       {"order.created", "order.payment.failed"},
		"*.created":                     {"order.created", "invoice.created", "orderx.created"},
		"order.*.failed":                {"order.payment.failed"},
		"invoice.created,order.created": {"order.created", "invoice.created"},
		"invoice.*, orderx.created":     {"invoice.created", "orderx.created"},
		"*":                             types,
		"nothing.here":                  {},
	} {
		if got := ids(e, "/v1/apps/a/events?limit=1&type="+url.QueryEscape(q), evID); !slices.Equal(got, of(evs, w...)) {
			t.Errorf("events ?type=%s: %v, want %v", q, got, of(evs, w...))
		}
		if got := ids(e, "/v1/apps/a/deliveries?event_type="+url.QueryEscape(q), dlvEvent); !slices.Equal(got, of(evs, w...)) {
			t.Errorf("deliveries ?event_type=%s: %v, want %v", q, got, of(evs, w...))
		}
	}

	future := url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	past := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	if got := ids(e, "/v1/apps/a/deliveries?until="+past, dlvEvent); len(got) != 0 {
		t.Errorf("deliveries until an hour ago: %v", got)
	}
	if got := ids(e, "/v1/apps/a/deliveries?since="+past+"&until="+future+"&event_type=order.*", dlvEvent); !slices.Equal(got, of(evs, "order.created", "order.payment.failed")) {
		t.Errorf("deliveries in a range: %v", got)
	}

	many := strings.Repeat("a.b,", 20) + "a.b"
	for _, c := range []struct{ path, loc string }{
		{"/v1/apps/a/events?type=order", "query.type"},
		{"/v1/apps/a/events?type=order.**", "query.type"},
		{"/v1/apps/a/events?type=order.created,", "query.type"},
		{"/v1/apps/a/events?type=" + many, "query.type"},
		{"/v1/apps/a/events?since=" + future + "&until=" + past, "query.until"},
		{"/v1/apps/a/events?since=yesterday", "query.since"},
		{"/v1/apps/a/deliveries?event_type=.x", "query.event_type"},
		{"/v1/apps/a/deliveries?until=tomorrow", "query.until"},
		{"/v1/apps/a/deliveries?since=" + future + "&until=" + future, "query.until"},
	} {
		wantProblem(t, e.call("GET", c.path, nil), http.StatusUnprocessableEntity, c.loc)
	}
}

func TestListAttempts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	app := e.mkApp("A", "a")
	appB := e.mkApp("B", "b")
	a := e.mkEndpoint("a", map[string]any{"uid": "billing"})["id"].(string)
	b := e.mkEndpoint("a", map[string]any{})["id"].(string)
	e.mkEndpoint("b", map[string]any{})
	ev1, ev2 := e.publish("a", "order.created"), e.publish("a", "order.paid")
	e.publish("b", "order.created")
	dl := func(ev, ep string) string {
		l := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?event="+ev+"&endpoint="+ep, nil), http.StatusOK)
		if len(l.Data) != 1 {
			t.Fatalf("deliveries of %s to %s: %v", ev, ep, l.Data)
		}
		return l.Data[0].ID
	}
	d1a, d1b, d2a := dl(ev1, a), dl(ev1, b), dl(ev2, a)
	bDlv := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/b/deliveries", nil), http.StatusOK).Data[0].ID

	start := time.Now().UTC().Truncate(time.Millisecond).Add(-time.Hour)
	type rec struct {
		dlv, ev, ep string
		status      int
		kind        string
	}
	recs := []rec{
		{d1a, ev1, a, 0, hook.ErrorKindTimeout},
		{d1b, ev1, b, 200, ""},
		{d1a, ev1, a, 503, hook.ErrorKindStatus},
		{d2a, ev2, a, 404, hook.ErrorKindStatus},
		{d2a, ev2, a, 204, ""},
		{bDlv, "", "", 500, hook.ErrorKindStatus},
	}
	var all []string // app a's attempts, newest first
	for i, r := range recs {
		at := &hook.Attempt{ID: hook.NewID("att"), DeliveryID: r.dlv, Number: i + 1, Trigger: hook.TriggerScheduled,
			StartedAt: start.Add(time.Duration(i) * time.Minute), Duration: 42 * time.Millisecond,
			ResponseStatus: r.status, ErrorKind: r.kind, Error: r.kind}
		if err := e.store.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "nobody", Attempt: at,
			Decision: hook.Decision{Status: hook.DeliveryPending}, Now: at.StartedAt}); err != nil {
			t.Fatal(err)
		}
		if r.dlv != bDlv {
			all = append([]string{at.ID}, all...)
		}
	}
	pick := func(keep func(r rec) bool) []string {
		out := []string{}
		for i := len(recs) - 1; i >= 0; i-- {
			if recs[i].dlv != bDlv && keep(recs[i]) {
				out = append(out, all[len(all)-1-i])
			}
		}
		return out
	}
	attID := func(v attemptJSON) string { return v.ID }

	l := want[list[attemptJSON]](t, e.call("GET", "/v1/apps/"+app.ID+"/attempts", nil), http.StatusOK)
	if len(l.Data) != 5 || l.NextCursor != nil {
		t.Fatalf("attempts: %+v", l)
	}
	for i, got := range l.Data {
		r := recs[4-i]
		if got.ID != all[i] || got.DeliveryID != r.dlv || got.EventID != r.ev || got.EndpointID != r.ep ||
			got.ResponseStatus != r.status || got.ErrorKind != r.kind || got.DurationMillis != 42 ||
			got.Trigger != hook.TriggerScheduled || got.Number != 5-i || !got.StartedAt.Equal(start.Add(time.Duration(4-i)*time.Minute)) {
			t.Errorf("attempt %d: %+v, want %+v", i, got, r)
		}
	}
	q := func(s string) string { return url.QueryEscape(s) }
	for path, w := range map[string][]string{
		"?limit=2":                          all,
		"?endpoint=billing":                 pick(func(r rec) bool { return r.ep == a }),
		"?endpoint=" + b:                    pick(func(r rec) bool { return r.ep == b }),
		"?endpoint=nope":                    {},
		"?delivery=" + d1a:                  pick(func(r rec) bool { return r.dlv == d1a }),
		"?event=" + ev2:                     pick(func(r rec) bool { return r.ev == ev2 }),
		"?status=2xx":                       pick(func(r rec) bool { return r.status/100 == 2 }),
		"?status=4xx":                       pick(func(r rec) bool { return r.status/100 == 4 }),
		"?status=5xx":                       pick(func(r rec) bool { return r.status/100 == 5 }),
		"?status=3xx":                       {},
		"?status=error":                     pick(func(r rec) bool { return r.status == 0 }),
		"?error_kind=status":                pick(func(r rec) bool { return r.kind == hook.ErrorKindStatus }),
		"?error_kind=timeout&endpoint=" + a: pick(func(r rec) bool { return r.kind == hook.ErrorKindTimeout }),
		"?since=" + q(start.Add(time.Minute).Format(time.RFC3339Nano)) + "&until=" + q(start.Add(3*time.Minute).Format(time.RFC3339Nano)): pick(func(r rec) bool {
			return r.dlv == d1b || (r.dlv == d1a && r.status == 503)
		}),
		"?endpoint=billing&status=4xx&limit=1": pick(func(r rec) bool { return r.dlv == d2a && r.status == 404 }),
	} {
		if got := ids(e, "/v1/apps/a/attempts"+path, attID); !slices.Equal(got, w) {
			t.Errorf("attempts%s: %v, want %v", path, got, w)
		}
	}
	for _, c := range []struct{ path, loc string }{
		{"?status=6xx", "query.status"},
		{"?error_kind=boom", "query.error_kind"},
		{"?since=yesterday", "query.since"},
		{"?until=" + q(start.Format(time.RFC3339)) + "&since=" + q(start.Add(time.Minute).Format(time.RFC3339)), "query.until"},
		{"?cursor=%25%25", "query.cursor"},
	} {
		wantProblem(t, e.call("GET", "/v1/apps/a/attempts"+c.path, nil), http.StatusUnprocessableEntity, c.loc)
	}
	wantProblem(t, e.call("GET", "/v1/apps/nope/attempts", nil), http.StatusNotFound, "")
	// An app's key sees its own attempts only.
	e.addKey("sk_test_app_b_0123456789", appB.ID)
	if r := e.call("GET", "/v1/apps/a/attempts", nil, withKey("sk_test_app_b_0123456789")); r.Status != http.StatusForbidden && r.Status != http.StatusNotFound {
		t.Errorf("another app's key: %d %s", r.Status, r.Body)
	}
}

func TestRetryDisabledEndpoint(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	e.mkApp("A", "a")
	ep := e.mkEndpoint("a", map[string]any{"uid": "billing"})["id"].(string)
	e.publish("a", "order.created")
	d := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries", nil), http.StatusOK).Data[0].ID
	now := time.Now().UTC()
	claim, err := e.store.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: now.Add(time.Second),
		LeaseUntil: now.Add(time.Minute), Limit: 10, PerEndpoint: 10})
	if err != nil || len(claim.Jobs) != 1 {
		t.Fatalf("claim: %v %v", claim, err)
	}
	if err := e.store.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
		ID: hook.NewID("att"), DeliveryID: d, Number: 1, Trigger: hook.TriggerScheduled, StartedAt: now,
		ResponseStatus: 500, ErrorKind: hook.ErrorKindStatus}, ScheduledAttempts: 1,
		Decision: hook.Decision{Status: hook.DeliveryFailed}, Now: now}); err != nil {
		t.Fatal(err)
	}
	want[map[string]any](t, e.call("PATCH", "/v1/apps/a/endpoints/billing", map[string]any{"disabled": true}), http.StatusOK)
	_, _, wakes := e.pub.snapshot()

	for _, path := range []string{"/v1/apps/a/deliveries/" + d + "/retry", "/v1/apps/a/endpoints/billing/recover", "/v1/apps/a/endpoints/" + ep + "/recover"} {
		p := wantProblem(t, e.call("POST", path, map[string]any{"since": "2024-01-01T00:00:00Z"}), http.StatusConflict, "")
		if !strings.Contains(p.Detail, ep) || !strings.Contains(p.Detail, "disabled") {
			t.Errorf("POST %s: detail %q does not name the disabled endpoint %s", path, p.Detail, ep)
		}
	}
	if got := want[deliveryJSON](t, e.call("GET", "/v1/apps/a/deliveries/"+d, nil), http.StatusOK); got.Status != hook.DeliveryFailed {
		t.Errorf("after the refused retries: status %q, want failed", got.Status)
	}
	if _, _, w := e.pub.snapshot(); w != wakes {
		t.Errorf("wakes %d, want %d", w, wakes)
	}

	// Enabled again: the retry is accepted.
	want[map[string]any](t, e.call("PATCH", "/v1/apps/a/endpoints/"+ep, map[string]any{"disabled": false}), http.StatusOK)
	if got := want[deliveryJSON](t, e.call("POST", "/v1/apps/a/deliveries/"+d+"/retry", nil), http.StatusAccepted); got.Status != hook.DeliveryPending {
		t.Errorf("retry once enabled: status %q", got.Status)
	}
}
