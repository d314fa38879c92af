package api_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/store"
)

// An endpoint's circuit state, as the dispatcher stores it, shows on the
// endpoint (circuit_open_until, only while in the future) and in the
// stats' endpoints in trouble (state circuit_open), of the app and of
// every app.
func TestCircuitOpenEndpointInAnswers(t *testing.T) {
	t.Parallel()
	now := time.Now().UTC().Truncate(time.Millisecond)
	var clock atomic.Int64 // the API's clock, Unix ms
	clock.Store(now.UnixMilli())
	e := newEnv(t, envOpts{now: func() time.Time { return time.UnixMilli(clock.Load()).UTC() }})
	e.mkApp("A", "a")
	id := e.mkEndpoint("a", map[string]any{})["id"].(string)
	until := now.Add(time.Minute)
	if err := e.store.SetEndpointCircuit(context.Background(), &store.SetEndpointCircuitParams{EndpointID: id, OpenUntil: until}); err != nil {
		t.Fatal(err)
	}

	ep := want[map[string]any](t, e.call("GET", "/v1/apps/a/endpoints/"+id, nil), http.StatusOK)
	if got, _ := ep["circuit_open_until"].(string); got != until.Format(time.RFC3339Nano) {
		t.Errorf("circuit_open_until %q, want %q", got, until.Format(time.RFC3339Nano))
	}
	list := want[struct {
		Data []map[string]any `json:"data"`
	}](t, e.call("GET", "/v1/apps/a/endpoints", nil), http.StatusOK)
	if len(list.Data) != 1 || list.Data[0]["circuit_open_until"] == nil {
		t.Errorf("listed endpoints %v: want circuit_open_until on the one", list.Data)
	}
	for _, path := range []string{"/v1/apps/a/stats", "/v1/stats"} {
		st := want[statsJSON](t, e.call("GET", path, nil), http.StatusOK)
		if len(st.Summary.Endpoints) != 1 {
			t.Fatalf("%s: %d endpoints in trouble, want the circuit-open one", path, len(st.Summary.Endpoints))
		}
		got := st.Summary.Endpoints[0]
		if got.EndpointID != id || got.State != "circuit_open" || got.CircuitOpenUntil == nil || !got.CircuitOpenUntil.Equal(until) {
			t.Errorf("%s: %+v, want %s circuit_open until %v", path, got, id, until)
		}
	}

	// Its time over, the circuit no longer reads as open.
	clock.Store(until.UnixMilli())
	ep = want[map[string]any](t, e.call("GET", "/v1/apps/a/endpoints/"+id, nil), http.StatusOK)
	if v, ok := ep["circuit_open_until"]; ok {
		t.Errorf("circuit_open_until %v once its time is over, want it omitted", v)
	}
	if st := want[statsJSON](t, e.call("GET", "/v1/apps/a/stats", nil), http.StatusOK); len(st.Summary.Endpoints) != 0 {
		t.Errorf("endpoints in trouble %+v once the circuit's time is over, want none", st.Summary.Endpoints)
	}
}
