package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// The body budget's tests: bodies of 1024 bytes at most, so batches of
// 16384 at most, and a budget of 40000 bytes, which holds two batches of
// nearly 16384 but not three.
const (
	budgetMaxBody = 1024
	budgetBytes   = 40000
)

// heldEnv is an env whose publishes wait in their handlers, holding their
// bodies' budget, until release is closed; entered receives one value as
// each begins.
type heldEnv struct {
	*env
	reg     *prometheus.Registry
	entered chan struct{}
	release chan struct{}
}

func newHeldEnv(t *testing.T) *heldEnv {
	t.Helper()
	h := &heldEnv{reg: prometheus.NewRegistry(), entered: make(chan struct{}, 16), release: make(chan struct{})}
	h.env = newEnv(t, envOpts{maxBody: budgetMaxBody, maxInflightBody: budgetBytes, registerer: h.reg,
		onPublish: func() { h.entered <- struct{}{}; <-h.release }})
	// Whatever happens, the held requests end with the test.
	t.Cleanup(func() {
		select {
		case <-h.release:
		default:
			close(h.release)
		}
	})
	return h
}

// call is a request made from a goroutine of its own: r is its answer
// (status -1 for an error) once done is closed.
type call struct {
	done chan struct{}
	r    *result
}

// send makes a request from another goroutine than the test's. chunked
// sends the body with its length undeclared.
func (h *heldEnv) send(path string, body []byte, chunked bool) *call {
	c := &call{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		c.r = h.do(path, body, chunked)
	}()
	return c
}

func (h *heldEnv) do(path string, body []byte, chunked bool) *result {
	var rd io.Reader = bytes.NewReader(body)
	if chunked {
		rd = io.MultiReader(rd) // not a type whose length net/http knows
	}
	req, err := http.NewRequest("POST", h.srv.URL+path, rd)
	if err != nil {
		return &result{Status: -1, Body: []byte(err.Error())}
	}
	if chunked {
		req.ContentLength = -1
	}
	req.Header.Set("Content-Type", "application/json")
	setKey(req, adminKey)
	resp, err := h.srv.Client().Do(req)
	if err != nil {
		return &result{Status: -1, Body: []byte(err.Error())}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return &result{Status: -1, Body: []byte(err.Error())}
	}
	return &result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// admitted waits until each of cs has entered its handler; one answered
// first (refused) fails the test.
func (h *heldEnv) admitted(t *testing.T, cs ...*call) {
	t.Helper()
	answered := make(chan *call, len(cs))
	for _, c := range cs {
		go func() {
			<-c.done
			answered <- c
		}()
	}
	for range cs {
		select {
		case <-h.entered:
		case c := <-answered:
			t.Fatalf("a request was answered instead of being taken: status %d, body: %s", c.r.Status, c.r.Body)
		}
	}
}

// refused waits for c's answer, which must come before the request
// enters its handler.
func (h *heldEnv) refused(t *testing.T, c *call) *result {
	t.Helper()
	select {
	case <-c.done:
		return c.r
	case <-h.entered:
		t.Fatal("a request beyond the budget was taken")
		return nil
	}
}

// wait returns c's answer, which must have status.
func wait(t *testing.T, c *call, status int) *result {
	t.Helper()
	<-c.done
	if c.r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", c.r.Status, status, c.r.Body)
	}
	return c.r
}

// bigBatch is a batch body of nearly 16384 bytes (16 events of about 950).
func bigBatch(t *testing.T) []byte {
	t.Helper()
	evs := make([]map[string]any, 16)
	for i := range evs {
		evs[i] = map[string]any{"type": "a.b", "data": map[string]any{"pad": strings.Repeat("x", 950)}}
	}
	b, err := json.Marshal(batchOf(evs...))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 15000 || len(b) > 16384 {
		t.Fatalf("batch of %d bytes, want 15000 to 16384", len(b))
	}
	return b
}

// metric reads one of the budget's metrics.
func (h *heldEnv) metric(t *testing.T, name string) float64 {
	t.Helper()
	mfs, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		m := mf.GetMetric()[0]
		if m.Gauge != nil {
			return m.Gauge.GetValue()
		}
		return m.Counter.GetValue()
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// TestBodyBudget holds two large batches in their handlers: a third is
// answered 503 with Retry-After before its body is read, while a small
// event still fits; once the held ones are answered, their bytes are free
// again.
func TestBodyBudget(t *testing.T) {
	t.Parallel()
	h := newHeldEnv(t)
	app := h.mkApp("Budget", "")
	batch := bigBatch(t)
	path := batchPath(app.ID)

	first, second := h.send(path, batch, false), h.send(path, batch, false)
	h.admitted(t, first, second)
	if got := h.metric(t, "hookd_api_body_bytes_in_flight"); got != float64(2*len(batch)) {
		t.Errorf("bytes in flight %v, want %d", got, 2*len(batch))
	}

	r := h.refused(t, h.send(path, batch, false))
	p := wantProblem(t, r, http.StatusServiceUnavailable, "")
	if !strings.Contains(p.Detail, "HOOKD_MAX_INFLIGHT_BODY_BYTES") || r.Header.Get("Retry-After") != "1" {
		t.Errorf("detail %q, Retry-After %q: want the setting named and 1", p.Detail, r.Header.Get("Retry-After"))
	}
	if got := h.metric(t, "hookd_api_body_budget_refused_total"); got != 1 {
		t.Errorf("refused %v, want 1", got)
	}

	// What is left of the budget still takes a small body.
	small := h.send("/v1/apps/"+app.ID+"/events", []byte(`{"type":"a.b","data":{}}`), false)
	h.admitted(t, small)

	close(h.release)
	wait(t, first, http.StatusAccepted)
	wait(t, second, http.StatusAccepted)
	wait(t, small, http.StatusAccepted)
	if got := h.metric(t, "hookd_api_body_bytes_in_flight"); got != 0 {
		t.Errorf("bytes in flight %v after the answers, want 0", got)
	}
	// And the whole budget is there again.
	h.entered = make(chan struct{}, 16)
	h.release = make(chan struct{})
	again := []*call{h.send(path, batch, false), h.send(path, batch, false)}
	h.admitted(t, again...)
	close(h.release)
	for _, c := range again {
		wait(t, c, http.StatusAccepted)
	}
}

// TestBodyBudgetUnknownLength sends a small batch chunked: it holds the
// route's whole limit while its body is read, and only what it used once
// read, so two large batches still fit beside it.
func TestBodyBudgetUnknownLength(t *testing.T) {
	t.Parallel()
	h := newHeldEnv(t)
	app := h.mkApp("Chunked", "")
	path := batchPath(app.ID)
	small, err := json.Marshal(batchOf(map[string]any{"type": "a.b", "data": map[string]any{}}))
	if err != nil {
		t.Fatal(err)
	}
	chunked := h.send(path, small, true)
	h.admitted(t, chunked)
	if got := h.metric(t, "hookd_api_body_bytes_in_flight"); got != float64(len(small)) {
		t.Errorf("bytes in flight %v, want the chunked body's %d", got, len(small))
	}
	batch := bigBatch(t)
	big := []*call{h.send(path, batch, false), h.send(path, batch, false)}
	h.admitted(t, big...)
	close(h.release)
	wait(t, chunked, http.StatusAccepted)
	for _, c := range big {
		wait(t, c, http.StatusAccepted)
	}
}

// TestBodyBudgetConfig refuses a budget that the largest body would not
// fit in.
func TestBodyBudgetConfig(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		budget int64
		ok     bool
	}{
		{0, true},     // the default: 2 x 16384
		{16384, true}, // the batch route's limit
		{16383, false},
		{-1, false},
	} {
		t.Run(fmt.Sprint(c.budget), func(t *testing.T) {
			t.Parallel()
			_, err := newAPI(t, budgetMaxBody, c.budget)
			if (err == nil) != c.ok {
				t.Fatalf("api.New with MaxInflightBodyBytes %d: %v, want ok %v", c.budget, err, c.ok)
			}
		})
	}
}

// newAPI makes an API on a new SQLite file with the body limits.
func newAPI(t *testing.T, maxBody, budget int64) (http.Handler, error) {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return api.New(api.Config{Store: st, Dispatcher: &testPublisher{st: st}, Logger: slog.New(slog.DiscardHandler),
		MaxBodyBytes: maxBody, MaxInflightBodyBytes: budget})
}
