package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/hook"
)

// TestOverviewCircuitOpen: an endpoint whose failures in a row opened its
// circuit shows under "Needs attention" with a "circuit open (until …)"
// badge, read from the stats API (the dispatcher wrote the circuit's end
// to the store); a failing endpoint keeps its "failing" badge.
func TestOverviewCircuitOpen(t *testing.T) {
	h := startHookdWith(t, func(c *config.Config) {
		c.BreakerThreshold = 2
		c.BreakerCooldown = time.Hour // open for the whole test
		c.BreakerMaxCooldown = time.Hour
	})
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(bad.Close)

	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	var tripped, failing hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": bad.URL + "/tripped", "event_types": []string{"order.created"}}, http.StatusCreated, &tripped)
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": bad.URL + "/failing", "event_types": []string{"order.paid"}}, http.StatusCreated, &failing)
	// Two failures in a row open the first one's circuit; one failure
	// leaves the other failing, its circuit closed.
	for _, typ := range []string{"order.created", "order.created", "order.paid"} {
		var ev struct {
			Deliveries []hook.Delivery `json:"deliveries"`
		}
		h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/events", map[string]any{"type": typ, "data": map[string]any{}}, http.StatusAccepted, &ev)
		for _, d := range ev.Deliveries {
			h.waitDelivery(app.ID, d.ID, hook.DeliveryFailed)
		}
	}
	// The circuit's state reaches the store just after the attempt that
	// opened it.
	deadline := time.Now().Add(30 * time.Second)
	var ep hook.Endpoint
	for {
		h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/endpoints/"+tripped.ID, nil, http.StatusOK, &ep)
		if ep.CircuitOpenUntil != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the endpoint's circuit_open_until never showed")
		}
		time.Sleep(20 * time.Millisecond)
	}
	until := ep.CircuitOpenUntil.UTC()
	if d := time.Until(until); d < 50*time.Minute || d > time.Hour {
		t.Fatalf("circuit open until %v, want about an hour from now", until)
	}

	page := overviewPage(t, h, adminKey, "/")
	table := between(page, `<table class="cards-sm" id="troubled">`, "</table>")
	if rows := strings.Count(table, "<tr>") - 1; rows != 2 {
		t.Fatalf("%d endpoints need attention, want 2:\n%s", rows, table)
	}
	row := rowOf(table, bad.URL+"/tripped")
	badge := `circuit open (until <time datetime="` + until.Truncate(time.Second).Format(time.RFC3339) + `"`
	if !strings.Contains(row, badge) || !strings.Contains(row, until.Format("15:04:05 UTC")+"</time>)") || !strings.Contains(row, "HTTP 500") {
		t.Errorf("the tripped endpoint's row is %q, want a badge %q… with its time, and HTTP 500", row, badge)
	}
	if row := rowOf(table, bad.URL+"/failing"); !strings.Contains(row, ">failing</span>") || strings.Contains(row, "circuit open") {
		t.Errorf("the failing endpoint's row is %q, want it failing, circuit closed", row)
	}
	// Circuit-open endpoints come before failing ones.
	if i, j := strings.Index(table, "/tripped"), strings.Index(table, "/failing"); i > j {
		t.Errorf("the circuit-open endpoint is listed after the failing one:\n%s", table)
	}
}
