package dispatch

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// opsReceived decodes the operational events the operator's endpoint got.
func opsReceived(rc *receiver) []struct {
	Type string         `json:"type"`
	Data map[string]any `json:"data"`
} {
	var out []struct {
		Type string         `json:"type"`
		Data map[string]any `json:"data"`
	}
	for i := range rc.count() {
		var ev struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		_ = json.Unmarshal(rc.get(i).body, &ev)
		out = append(out, ev)
	}
	return out
}

func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.OperatorApp = "ops"
		c.Schedule = hook.RetrySchedule{5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
		c.BreakerThreshold = 100
	})
	ops, err := e.st.CreateApp(context.Background(), &store.CreateAppParams{ID: hook.NewID("app"), UID: "ops", Name: "Operator", Livemode: true, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	opsRC := newReceiver(t, nil)
	if _, err := e.st.CreateEndpoint(context.Background(), &store.CreateEndpointParams{
		ID: hook.NewID("ep"), AppID: ops.ID, URL: opsRC.URL, Secret: hook.NewSecret(), Now: e.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}

	failing := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) })
	e.endpoint(failing.URL, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"order.created"} })
	flaky := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n == 1 {
			w.WriteHeader(http.StatusBadGateway)
		}
	})
	e.endpoint(flaky.URL, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"order.updated"} })
	gone := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusGone) })
	goneEP := e.endpoint(gone.URL, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"order.deleted"} })

	res := e.publish("order.created", `{}`)
	e.publish("order.updated", `{}`)
	e.publish("order.deleted", `{}`)
	id := res.Deliveries[0].ID
	for n := 1; n <= 5; n++ {
		// Recorded: its retry falls due 5 s later. The attempt tells the
		// poller so after recording it, before or after the clock moves,
		// maybe while a poll runs (TestRetryNotedDuringAPollIsNotLost):
		// the poller must wake at that time whichever comes first.
		waitFor(t, "attempt to the failing endpoint", func() bool { return e.delivery(id).AttemptCount == n })
		if n < 5 {
			e.clock.Advance(5 * time.Second)
		}
	}
	waitFor(t, "the flaky endpoint to recover", func() bool { return flaky.count() == 2 })
	waitFor(t, "four operational events", func() bool { return opsRC.count() == 4 })

	seen := map[string]map[string]any{}
	for _, ev := range opsReceived(opsRC) {
		seen[ev.Type] = ev.Data
	}
	if d := seen[OpDeliveryFailing]; d == nil || d["delivery_id"] != res.Deliveries[0].ID || d["attempts"] != float64(FailingAfterAttempts) {
		t.Errorf("delivery.failing = %v", d)
	}
	if d := seen[OpDeliveryExhausted]; d == nil || d["delivery_id"] != res.Deliveries[0].ID || d["attempts"] != float64(5) || d["last_response_status"] != float64(500) {
		t.Errorf("delivery.exhausted = %v", d)
	}
	if d := seen[OpDeliveryRecovered]; d == nil || d["attempts"] != float64(2) {
		t.Errorf("delivery.recovered = %v", d)
	}
	if d := seen[OpEndpointDisabled]; d == nil || d["endpoint_id"] != goneEP.ID || d["reason"] != "gone" {
		t.Errorf("endpoint.disabled = %v", d)
	}
}

// lockedBuffer is a log destination safe for the dispatcher's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestOperationalEventsMissingApp: while HOOKD_OPERATOR_APP names no app,
// operational events are dropped with one warning (not one per event), and
// they flow once the app exists.
func TestOperationalEventsMissingApp(t *testing.T) {
	t.Parallel()
	logs := &lockedBuffer{}
	reg := prometheus.NewRegistry()
	e := newEnv(t, func(c *Config) {
		c.OperatorApp = "ops"
		c.Logger = slog.New(slog.NewTextHandler(logs, nil))
		c.Registerer = reg
	})
	const warning = "operational events: dropped, HOOKD_OPERATOR_APP names no app"
	for range 3 {
		e.d.Emit(e.app.ID, OpEndpointDisabled, EndpointOp{EndpointID: "ep_1", AppID: e.app.ID, Reason: "api"})
	}
	// All three dropped, not only the first (which logs the warning):
	// one still queued when the app appears would be published.
	waitFor(t, "the three events to be dropped", func() bool {
		return counterValue(t, reg, "hookd_operational_events_dropped_total") == 3
	})

	ops, err := e.st.CreateApp(context.Background(), &store.CreateAppParams{ID: hook.NewID("app"), UID: "ops", Name: "Operator", Livemode: true, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	opsRC := newReceiver(t, nil)
	if _, err := e.st.CreateEndpoint(context.Background(), &store.CreateEndpointParams{
		ID: hook.NewID("ep"), AppID: ops.ID, URL: opsRC.URL, Secret: hook.NewSecret(), Now: e.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	e.d.Emit(e.app.ID, OpEndpointEnabled, EndpointOp{EndpointID: "ep_1", AppID: e.app.ID})
	// One loop publishes them in order: once this one is delivered, the
	// three before it were handled.
	waitFor(t, "the event once the app exists", func() bool { return opsRC.count() == 1 })
	if got := opsReceived(opsRC); got[0].Type != OpEndpointEnabled {
		t.Fatalf("the operator app received %v", got)
	}
	if n := strings.Count(logs.String(), warning); n != 1 {
		t.Fatalf("%d warnings for 3 dropped events, want 1; log:\n%s", n, logs)
	}
}
