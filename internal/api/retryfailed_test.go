package api_test

import (
	"context"
	"maps"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

type retryFailedJSON struct {
	Retried         int  `json:"retried"`
	Truncated       bool `json:"truncated"`
	SkippedDisabled int  `json:"skipped_disabled"`
}

// failAll claims every due delivery and records a final failed attempt
// for each, as a dispatcher whose retries ran out would.
func (e *env) failAll() {
	e.t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	claim, err := e.store.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: now.Add(time.Second),
		LeaseUntil: now.Add(time.Minute), Limit: 1000, PerEndpoint: 1000})
	if err != nil {
		e.t.Fatalf("claim: %v", err)
	}
	for _, j := range claim.Jobs {
		if err := e.store.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
			ID: hook.NewID("att"), DeliveryID: j.DeliveryID, Number: 1, Trigger: hook.TriggerScheduled, StartedAt: now,
			ResponseStatus: 500, ErrorKind: hook.ErrorKindStatus}, ScheduledAttempts: 1,
			Decision: hook.Decision{Status: hook.DeliveryFailed}, Now: now}); err != nil {
			e.t.Fatal(err)
		}
	}
}

// statuses maps each of the app's deliveries to its status.
func (e *env) statuses(app string) map[string]string {
	e.t.Helper()
	out := map[string]string{}
	for _, d := range want[list[deliveryJSON]](e.t, e.call("GET", "/v1/apps/"+app+"/deliveries?limit=250", nil), http.StatusOK).Data {
		out[d.ID] = d.Status
	}
	return out
}

func TestRetryFailedDeliveries(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mkApp("A", "a")
	e.mkApp("B", "b")
	billing := e.mkEndpoint("a", map[string]any{"uid": "billing"})["id"].(string)
	shipping := e.mkEndpoint("a", map[string]any{"uid": "shipping"})["id"].(string)
	e.mkEndpoint("b", map[string]any{})
	e.publish("a", "order.created")
	e.publish("a", "invoice.paid")
	e.publish("b", "order.created")
	e.failAll()
	e.publish("a", "order.created") // pending, not failed
	before := e.statuses("a")
	if len(before) != 6 {
		t.Fatalf("%d deliveries, want 6: %v", len(before), before)
	}
	byEndpoint := func(ep string) []string {
		var out []string
		for _, d := range want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/a/deliveries?status=failed&endpoint="+ep, nil), http.StatusOK).Data {
			out = append(out, d.ID)
		}
		slices.Sort(out)
		return out
	}
	billingFailed := byEndpoint(billing)
	if len(billingFailed) != 2 || len(byEndpoint(shipping)) != 2 {
		t.Fatalf("failed: billing %v, shipping %v; want 2 each", billingFailed, byEndpoint(shipping))
	}

	// Refused filters: 422 next to the field, nothing retried, no wake.
	_, _, wakes := e.pub.snapshot()
	for _, c := range []struct {
		body map[string]any
		loc  string
	}{
		{map[string]any{"since": "yesterday"}, "body.since"},
		{map[string]any{"since": "2024-05-02T00:00:00Z", "until": "2024-05-01T00:00:00Z"}, "body.until"},
		{map[string]any{"event_type": "order..created"}, "body.event_type"},
		{map[string]any{"endpoint": "nope"}, "body.endpoint"},
		{map[string]any{"endpoint": "b"}, "body.endpoint"},
		{map[string]any{"unknown": 1}, ""},
	} {
		wantProblem(t, e.call("POST", "/v1/apps/a/deliveries/retry", c.body), http.StatusUnprocessableEntity, c.loc)
	}
	if got := e.statuses("a"); !maps.Equal(got, before) {
		t.Fatalf("refused calls changed deliveries: %v, want %v", got, before)
	}

	// One endpoint, by uid: only its failed deliveries.
	got := want[retryFailedJSON](t, e.call("POST", "/v1/apps/a/deliveries/retry", map[string]any{"endpoint": "billing"}), http.StatusAccepted)
	if got != (retryFailedJSON{Retried: 2}) {
		t.Errorf("retry billing: %+v, want 2 retried", got)
	}
	if _, _, w := e.pub.snapshot(); w != wakes+1 {
		t.Errorf("wakes %d, want %d", w, wakes+1)
	}
	after := e.statuses("a")
	for id, st := range before {
		wantStatus := st
		if slices.Contains(billingFailed, id) {
			wantStatus = hook.DeliveryPending
		}
		if after[id] != wantStatus {
			t.Errorf("delivery %s: %s, want %s", id, after[id], wantStatus)
		}
	}

	// Filters that match nothing retry nothing and do not wake.
	got = want[retryFailedJSON](t, e.call("POST", "/v1/apps/a/deliveries/retry", map[string]any{"event_type": "user.*", "since": "2024-01-01T00:00:00Z"}), http.StatusAccepted)
	if got != (retryFailedJSON{}) {
		t.Errorf("no match: %+v", got)
	}
	if _, _, w := e.pub.snapshot(); w != wakes+1 {
		t.Errorf("wakes %d after a retry of nothing, want %d", w, wakes+1)
	}

	// A disabled endpoint's are skipped and counted; no body means every
	// failed delivery of the app, and none of another app's.
	want[map[string]any](t, e.call("PATCH", "/v1/apps/a/endpoints/shipping", map[string]any{"disabled": true}), http.StatusOK)
	got = want[retryFailedJSON](t, e.call("POST", "/v1/apps/a/deliveries/retry", nil), http.StatusAccepted)
	if got != (retryFailedJSON{SkippedDisabled: 2}) {
		t.Errorf("with shipping disabled: %+v, want 2 skipped", got)
	}
	want[map[string]any](t, e.call("PATCH", "/v1/apps/a/endpoints/shipping", map[string]any{"disabled": false}), http.StatusOK)
	got = want[retryFailedJSON](t, e.call("POST", "/v1/apps/a/deliveries/retry", map[string]any{"event_type": "invoice.*"}), http.StatusAccepted)
	if got != (retryFailedJSON{Retried: 1}) {
		t.Errorf("invoice.* once enabled: %+v, want 1", got)
	}
	for _, d := range want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/b/deliveries", nil), http.StatusOK).Data {
		if d.Status != hook.DeliveryFailed {
			t.Errorf("app b's delivery %s: %s, want failed", d.ID, d.Status)
		}
	}

	// A key bound to another app may not.
	e.addKey("sk_test_b_key_0123456789", want[appJSON](t, e.call("GET", "/v1/apps/b", nil), http.StatusOK).ID)
	wantProblem(t, e.call("POST", "/v1/apps/a/deliveries/retry", nil, withKey("sk_test_b_key_0123456789")), http.StatusForbidden, "")
}
