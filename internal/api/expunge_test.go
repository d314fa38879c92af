package api_test

import (
	"net/http"
	"testing"
)

func TestExpungeEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want[map[string]any](t, e.call("POST", "/v1/apps", map[string]any{"name": "A", "uid": "a"}), http.StatusCreated)
	want[map[string]any](t, e.call("POST", "/v1/apps/a/events", map[string]any{
		"id": "e1", "type": "user.updated", "data": map[string]any{"email": "x@y.z"}, "previous_attributes": map[string]any{"email": "old@y.z"},
	}), http.StatusAccepted)

	ev := want[map[string]any](t, e.call("POST", "/v1/apps/a/events/e1/expunge", nil), http.StatusOK)
	if d, _ := ev["data"].(map[string]any); d == nil || len(d) != 0 {
		t.Errorf("expunged data %v, want {}", ev["data"])
	}
	if _, ok := ev["previous_attributes"]; ok {
		t.Errorf("expunged event keeps previous_attributes: %v", ev)
	}
	if ev["expunged_at"] == nil {
		t.Errorf("no expunged_at: %v", ev)
	}
	got := want[map[string]any](t, e.call("GET", "/v1/apps/a/events/e1", nil), http.StatusOK)
	if got["expunged_at"] != ev["expunged_at"] {
		t.Errorf("stored expunged_at %v, want %v", got["expunged_at"], ev["expunged_at"])
	}
	wantProblem(t, e.call("POST", "/v1/apps/a/events/nope/expunge", nil), http.StatusNotFound, "")
	wantProblem(t, e.call("POST", "/v1/apps/zz/events/e1/expunge", nil), http.StatusNotFound, "")
}

func TestOperationalEventsFromTheAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	want[map[string]any](t, e.call("POST", "/v1/apps", map[string]any{"name": "A", "uid": "a"}), http.StatusCreated)
	ep := want[map[string]any](t, e.call("POST", "/v1/apps/a/endpoints", map[string]any{"url": "https://example.com/h"}), http.StatusCreated)
	path := "/v1/apps/a/endpoints/" + ep["id"].(string)
	want[map[string]any](t, e.call("PATCH", path, map[string]any{"disabled": true}), http.StatusOK)
	want[map[string]any](t, e.call("PATCH", path, map[string]any{"disabled": true}), http.StatusOK) // no change: nothing
	want[map[string]any](t, e.call("PATCH", path, map[string]any{"disabled": false}), http.StatusOK)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{
		"name": "order.created", "schema": map[string]any{"type": "object", "required": []string{"id"}},
	}), http.StatusCreated)
	wantProblem(t, e.call("POST", "/v1/apps/a/events", map[string]any{"type": "order.created", "data": map[string]any{}}), http.StatusUnprocessableEntity, "")

	e.pub.mu.Lock()
	got := append([]string(nil), e.pub.emitted...)
	e.pub.mu.Unlock()
	wantTypes := []string{"endpoint.disabled", "endpoint.enabled", "event.rejected"}
	if len(got) != len(wantTypes) {
		t.Fatalf("emitted %v, want %v", got, wantTypes)
	}
	for i := range wantTypes {
		if got[i] != wantTypes[i] {
			t.Fatalf("emitted %v, want %v", got, wantTypes)
		}
	}
}
