package dispatch

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
	"github.com/hookd/hookd/webhook"
)

// env is a dispatcher on a real SQLite file with an injected clock.
type env struct {
	t     *testing.T
	st    store.Store
	clock *clockwork.FakeClock
	d     *Dispatcher
	app   *hook.App
}

var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func newEnv(t *testing.T, mod func(*Config)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	clock := clockwork.NewFakeClockAt(t0)
	cfg := Config{
		Store:                st,
		Clock:                clock,
		Schedule:             hook.RetrySchedule{5 * time.Second, time.Minute},
		Jitter:               hook.NoJitter,
		AttemptTimeout:       5 * time.Second,
		AllowPrivateNetworks: true,
		UserAgent:            "hookd/test",
	}
	if mod != nil {
		mod(&cfg)
	}
	d, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	app, err := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "Shop", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = d.Stop(context.Background())
		_ = st.Close()
	})
	return &env{t: t, st: st, clock: clock, d: d, app: app}
}

func (e *env) endpoint(url string, mod func(*store.CreateEndpointParams)) *hook.Endpoint {
	e.t.Helper()
	p := &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: e.app.ID, URL: url, Secret: hook.NewSecret(), Now: e.clock.Now()}
	if mod != nil {
		mod(p)
	}
	ep, err := e.st.CreateEndpoint(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	return ep
}

func (e *env) publish(typ, data string) *store.InsertEventResult {
	e.t.Helper()
	res, err := e.d.Publish(context.Background(), e.app, &hook.Event{
		ID: hook.NewID("evt"), AppID: e.app.ID, Type: typ, Data: json.RawMessage(data), CreatedAt: e.clock.Now(),
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return res
}

func (e *env) delivery(id string) *hook.Delivery {
	e.t.Helper()
	dl, err := e.st.GetDelivery(context.Background(), e.app.ID, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return dl
}

// waitFor polls cond until it holds or 10 s pass. It waits for the system
// to reach a state, never for a schedule: schedules run on the fake clock.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitForCount waits until count() reaches want. It fails only when the
// count stops moving for 10 s: for much work, how long all of it takes
// depends on the machine's load (-race, other tests), and a stall is what
// the tests that use it look for.
func waitForCount(t *testing.T, what string, want int, count func() int) {
	t.Helper()
	last, moved := count(), time.Now()
	for {
		n := count()
		if n >= want {
			return
		}
		if n != last {
			last, moved = n, time.Now()
		}
		if time.Since(moved) > 10*time.Second {
			t.Fatalf("timed out waiting for %s: %d of %d, and no progress for 10 s", what, n, want)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// counterValue reads the counter name from reg (0 if it has no value).
func counterValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
			return sum
		}
	}
	return 0
}

// receiver records what reaches it and answers with respond.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	header http.Header
	body   []byte
}

func newReceiver(t *testing.T, respond func(n int, w http.ResponseWriter, r *http.Request)) *receiver {
	rc := &receiver{}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, recorded{r.Header.Clone(), body})
		n := len(rc.reqs)
		rc.mu.Unlock()
		if respond != nil {
			respond(n, w, r)
		}
	}))
	t.Cleanup(rc.Close)
	return rc
}

func (rc *receiver) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.reqs)
}

func (rc *receiver) get(i int) recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.reqs[i]
}

func TestDeliversSignedEventToSubscribedEndpoints(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	orders := newReceiver(t, nil)
	reviews := newReceiver(t, nil)
	epOrders := e.endpoint(orders.URL+"/hook", func(p *store.CreateEndpointParams) {
		p.EventTypes = []string{"order.*"}
		p.Headers = map[string]string{"X-Tenant": "acme"}
	})
	e.endpoint(reviews.URL, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"review.created"} })

	res := e.publish("order.created", `{"order":{"id":"o_1","total":1200}}`)
	if len(res.Deliveries) != 1 {
		t.Fatalf("fan-out made %d deliveries, want 1", len(res.Deliveries))
	}
	waitFor(t, "the delivery to succeed", func() bool { return e.delivery(res.Deliveries[0].ID).Status == hook.DeliverySucceeded })
	if orders.count() != 1 || reviews.count() != 0 {
		t.Fatalf("orders got %d, reviews got %d; want 1 and 0", orders.count(), reviews.count())
	}

	got := orders.get(0)
	if got.header.Get("webhook-id") != res.Event.ID {
		t.Errorf("webhook-id = %q, want the event id %q", got.header.Get("webhook-id"), res.Event.ID)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": "hookd/test", "X-Tenant": "acme"} {
		if got.header.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.header.Get(k), want)
		}
	}
	v, err := webhook.NewVerifier(epOrders.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = e.clock.Now
	if err := v.Verify(got.header, got.body); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	var body struct {
		ID        string          `json:"id"`
		Type      string          `json:"type"`
		CreatedAt string          `json:"created_at"`
		Data      json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(got.body, &body); err != nil {
		t.Fatal(err)
	}
	if body.ID != res.Event.ID || body.Type != "order.created" || body.CreatedAt != "2026-11-23T12:00:00.000Z" ||
		string(body.Data) != `{"order":{"id":"o_1","total":1200}}` {
		t.Errorf("body = %s", got.body)
	}

	dl := e.delivery(res.Deliveries[0].ID)
	if dl.AttemptCount != 1 || len(dl.Attempts) != 1 || dl.Attempts[0].ResponseStatus != 200 || dl.Attempts[0].ErrorKind != "" {
		t.Errorf("delivery after success: %+v, attempts %+v", dl, dl.Attempts)
	}
}

func TestRetriesFollowTheScheduleOnTheInjectedClock(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n < 3 {
			w.WriteHeader(500)
			_, _ = io.WriteString(w, "boom")
		}
	})
	e.endpoint(rc.URL, nil)
	res := e.publish("order.created", `{}`)
	id := res.Deliveries[0].ID

	waitFor(t, "attempt 1 to be recorded", func() bool { return e.delivery(id).AttemptCount == 1 })
	dl := e.delivery(id)
	if dl.Status != hook.DeliveryPending || dl.NextAttemptAt == nil || !dl.NextAttemptAt.Equal(t0.Add(5*time.Second)) {
		t.Fatalf("after attempt 1: status %s next %v, want pending at t0+5s", dl.Status, dl.NextAttemptAt)
	}
	if a := dl.Attempts[0]; a.ResponseStatus != 500 || a.ErrorKind != hook.ErrorKindStatus || a.ResponseBody != "boom" {
		t.Errorf("attempt 1 = %+v", a)
	}

	e.clock.Advance(4 * time.Second)
	time.Sleep(50 * time.Millisecond) // a negative check: nothing may arrive early
	if rc.count() != 1 {
		t.Fatalf("retry came %d s early", 1)
	}
	e.clock.Advance(time.Second)
	waitFor(t, "attempt 2 at t0+5s", func() bool { return e.delivery(id).AttemptCount == 2 })
	dl = e.delivery(id)
	if want := t0.Add(5*time.Second + time.Minute); dl.NextAttemptAt == nil || !dl.NextAttemptAt.Equal(want) {
		t.Fatalf("after attempt 2: next %v, want %v", dl.NextAttemptAt, want)
	}
	e.clock.Advance(time.Minute)
	waitFor(t, "attempt 3 to succeed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	if rc.count() != 3 {
		t.Errorf("receiver got %d requests, want 3", rc.count())
	}
	// Every attempt carries the same webhook-id, so receivers can dedupe.
	for i := range 3 {
		if got := rc.get(i).header.Get("webhook-id"); got != res.Event.ID {
			t.Errorf("attempt %d webhook-id %q", i+1, got)
		}
	}
}

func TestExhaustedDeliveryFailsAndManualRetrySendsOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.Schedule = hook.RetrySchedule{time.Second} })
	var ok atomic.Bool
	rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !ok.Load() {
			w.WriteHeader(502)
		}
	})
	e.endpoint(rc.URL, nil)
	id := e.publish("order.created", `{}`).Deliveries[0].ID
	waitFor(t, "attempt 1", func() bool { return e.delivery(id).AttemptCount == 1 })
	e.clock.Advance(time.Second)
	waitFor(t, "the delivery to fail", func() bool { return e.delivery(id).Status == hook.DeliveryFailed })
	if dl := e.delivery(id); dl.NextAttemptAt != nil || dl.AttemptCount != 2 {
		t.Fatalf("failed delivery: %+v", dl)
	}

	ok.Store(true)
	if _, err := e.st.RetryDelivery(context.Background(), &store.RetryDeliveryParams{AppID: e.app.ID, DeliveryID: id, Now: e.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	e.d.Wake()
	waitFor(t, "the manual retry to succeed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	dl := e.delivery(id)
	if len(dl.Attempts) != 3 || dl.Attempts[2].Trigger != hook.TriggerManual || dl.Attempts[2].Number != 3 {
		t.Errorf("attempts after manual retry: %+v", dl.Attempts)
	}
}

func TestResponseHandling(t *testing.T) {
	t.Parallel()
	other := newReceiver(t, nil)
	tests := []struct {
		name       string
		respond    func(w http.ResponseWriter)
		wantStatus string
		wantKind   string
		wantCode   int
		wantNext   time.Duration // from t0; 0 means none
		disabled   bool
	}{
		{"204 succeeds", func(w http.ResponseWriter) { w.WriteHeader(204) }, hook.DeliverySucceeded, "", 204, 0, false},
		{"redirect is not followed", func(w http.ResponseWriter) {
			w.Header().Set("Location", other.URL)
			w.WriteHeader(302)
		}, hook.DeliveryPending, hook.ErrorKindStatus, 302, 5 * time.Second, false},
		{"410 disables the endpoint", func(w http.ResponseWriter) { w.WriteHeader(410) }, hook.DeliveryFailed, hook.ErrorKindStatus, 410, 0, true},
		{"429 honours Retry-After", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", "120")
			w.WriteHeader(429)
		}, hook.DeliveryPending, hook.ErrorKindStatus, 429, 120 * time.Second, false},
		{"503 honours Retry-After as a date", func(w http.ResponseWriter) {
			w.Header().Set("Retry-After", t0.Add(30*time.Second).Format(http.TimeFormat))
			w.WriteHeader(503)
		}, hook.DeliveryPending, hook.ErrorKindStatus, 503, 30 * time.Second, false},
		{"500 follows the schedule", func(w http.ResponseWriter) { w.WriteHeader(500) }, hook.DeliveryPending, hook.ErrorKindStatus, 500, 5 * time.Second, false},
		{"400 is retried too", func(w http.ResponseWriter) { w.WriteHeader(400) }, hook.DeliveryPending, hook.ErrorKindStatus, 400, 5 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			rc := newReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) { tt.respond(w) })
			ep := e.endpoint(rc.URL, nil)
			id := e.publish("order.created", `{}`).Deliveries[0].ID
			waitFor(t, "attempt 1", func() bool { return e.delivery(id).AttemptCount == 1 })
			dl := e.delivery(id)
			if dl.Status != tt.wantStatus {
				t.Errorf("status %s, want %s", dl.Status, tt.wantStatus)
			}
			a := dl.Attempts[0]
			if a.ErrorKind != tt.wantKind || a.ResponseStatus != tt.wantCode {
				t.Errorf("attempt kind %q code %d, want %q %d", a.ErrorKind, a.ResponseStatus, tt.wantKind, tt.wantCode)
			}
			switch {
			case tt.wantNext == 0 && dl.NextAttemptAt != nil:
				t.Errorf("next attempt %v, want none", dl.NextAttemptAt)
			case tt.wantNext != 0 && (dl.NextAttemptAt == nil || !dl.NextAttemptAt.Equal(t0.Add(tt.wantNext))):
				t.Errorf("next attempt %v, want t0+%s", dl.NextAttemptAt, tt.wantNext)
			}
			got, err := e.st.GetEndpoint(context.Background(), e.app.ID, ep.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Disabled != tt.disabled {
				t.Errorf("endpoint disabled = %v, want %v", got.Disabled, tt.disabled)
			}
		})
	}
	if other.count() != 0 {
		t.Errorf("a redirect was followed: its target got %d requests", other.count())
	}
}

func TestTransportErrorsAreClassified(t *testing.T) {
	t.Parallel()
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	hanging := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + ln.Addr().String()
	ln.Close()

	tests := []struct {
		name, url, kind string
		allowPrivate    bool
	}{
		{"timeout", hanging.URL, hook.ErrorKindTimeout, true},
		{"refused", closedURL, hook.ErrorKindRefused, true},
		{"dns", "http://no-such-host.invalid/", hook.ErrorKindDNS, true},
		{"private address blocked at dial", hanging.URL, hook.ErrorKindBlocked, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, func(c *Config) {
				c.AttemptTimeout = 300 * time.Millisecond
				c.AllowPrivateNetworks = tt.allowPrivate
			})
			e.endpoint(tt.url, nil)
			id := e.publish("order.created", `{}`).Deliveries[0].ID
			waitFor(t, "attempt 1", func() bool { return e.delivery(id).AttemptCount == 1 })
			a := e.delivery(id).Attempts[0]
			if a.ErrorKind != tt.kind || a.ResponseStatus != 0 || a.Error == "" {
				t.Errorf("attempt = kind %q status %d error %q, want kind %q", a.ErrorKind, a.ResponseStatus, a.Error, tt.kind)
			}
		})
	}
}

func TestRotatedSecretSignsWithBoth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, nil)
	ep := e.endpoint(rc.URL, nil)
	oldSecret, newSecret := ep.Secret, hook.NewSecret()
	if _, err := e.st.RotateEndpointSecret(context.Background(), &store.RotateEndpointSecretParams{
		AppID: e.app.ID, EndpointID: ep.ID, Secret: newSecret, PreviousExpiresAt: t0.Add(24 * time.Hour), Now: t0,
	}); err != nil {
		t.Fatal(err)
	}
	id := e.publish("order.created", `{"n":1}`).Deliveries[0].ID
	waitFor(t, "delivery", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	got := rc.get(0)
	if n := len(strings.Fields(got.header.Get("webhook-signature"))); n != 2 {
		t.Errorf("webhook-signature has %d signatures, want 2: %q", n, got.header.Get("webhook-signature"))
	}
	for name, secret := range map[string]string{"old": oldSecret, "new": newSecret} {
		v, err := webhook.NewVerifier(secret)
		if err != nil {
			t.Fatal(err)
		}
		v.Now = e.clock.Now
		if err := v.Verify(got.header, got.body); err != nil {
			t.Errorf("the %s secret does not verify: %v", name, err)
		}
	}
}

func TestHangingEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) {
		c.AttemptTimeout = time.Minute
		c.EndpointConcurrency = 4
		c.MaxInFlight = 64
	})
	hang := make(chan struct{})
	var hanging atomic.Int32
	bad := newReceiver(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		hanging.Add(1)
		select {
		case <-hang:
		case <-r.Context().Done():
		}
	})
	t.Cleanup(func() { close(hang) })
	e.endpoint(bad.URL, nil)
	var good []*receiver
	for range 5 {
		rc := newReceiver(t, nil)
		good = append(good, rc)
		e.endpoint(rc.URL, nil)
	}
	const events = 100
	for i := range events {
		e.publish("order.created", `{"i":`+strings.Repeat("1", i%5+1)+`}`)
	}
	for i, rc := range good {
		waitForCount(t, "healthy endpoint "+string(rune('A'+i))+" to get every event", events, rc.count)
		if n := rc.count(); n != events {
			t.Errorf("healthy endpoint %c got %d requests for %d events", 'A'+i, n, events)
		}
	}
	if n := hanging.Load(); n != 4 {
		t.Errorf("the hanging endpoint holds %d attempts, want its concurrency limit 4", n)
	}
}

func TestBacklogBeyondMemoryLimitIsDelivered(t *testing.T) {
	t.Parallel()
	var maxHeld atomic.Int64
	var e *env
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {
		e.d.mu.Lock()
		h := int64(e.d.held)
		e.d.mu.Unlock()
		for {
			m := maxHeld.Load()
			if h <= m || maxHeld.CompareAndSwap(m, h) {
				break
			}
		}
	})
	e = newEnv(t, func(c *Config) { c.MaxHeld = 5; c.EndpointConcurrency = 2 })
	e.endpoint(rc.URL, nil)
	ids := make(map[string]bool)
	for range 60 {
		ids[e.publish("order.created", `{}`).Event.ID] = true
	}
	waitFor(t, "all 60 events", func() bool { return rc.count() >= 60 })
	seen := map[string]bool{}
	for i := range rc.count() {
		seen[rc.get(i).header.Get("webhook-id")] = true
	}
	if len(seen) != 60 {
		t.Errorf("%d distinct events arrived, want 60", len(seen))
	}
	if m := maxHeld.Load(); m > 5 {
		t.Errorf("held %d deliveries in memory, limit 5", m)
	}
}

func TestDisabledEndpointKeepsItsDeliveriesUntilEnabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, nil)
	ep := e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Disabled = true })
	res := e.publish("order.created", `{}`)
	if len(res.Deliveries) != 1 {
		t.Fatalf("a disabled endpoint got %d deliveries, want 1 kept for later", len(res.Deliveries))
	}
	paused := res.Deliveries[0].ID
	if s := e.delivery(paused).Status; s != hook.DeliveryPaused {
		t.Fatalf("delivery of a disabled endpoint is %s, want paused", s)
	}
	e.d.Wake() // a poll finds nothing to send
	enabled := false
	up, err := e.st.UpdateEndpoint(context.Background(), &store.UpdateEndpointParams{AppID: e.app.ID, EndpointID: ep.ID, Disabled: &enabled, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if rc.count() != 0 {
		t.Fatalf("a disabled endpoint was sent %d requests", rc.count())
	}
	e.d.EndpointChanged(up)
	waitFor(t, "the kept delivery after enabling", func() bool { return e.delivery(paused).Status == hook.DeliverySucceeded })
	id := e.publish("order.created", `{}`).Deliveries[0].ID
	waitFor(t, "a new delivery after enabling", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
}

func TestStopReleasesQueuedDeliveriesForTheNextProcess(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	st, err := sqlitestore.Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var got atomic.Int32
	rc := newReceiver(t, func(int, http.ResponseWriter, *http.Request) {
		<-release
		got.Add(1)
	})
	d, err := New(Config{Store: st, AllowPrivateNetworks: true, EndpointConcurrency: 1, DrainTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	app, _ := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: time.Now()})
	if _, err := st.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID, URL: rc.URL, Secret: hook.NewSecret(), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := d.Publish(ctx, app, &hook.Event{ID: hook.NewID("evt"), AppID: app.ID, Type: "a.b", Data: json.RawMessage(`{}`), CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the first attempt to be in flight", func() bool { return rc.count() == 1 })
	stopped := make(chan struct{})
	go func() { _ = d.Stop(ctx); close(stopped) }()
	time.Sleep(20 * time.Millisecond)
	close(release) // the attempt in flight drains and is recorded
	<-stopped
	if got.Load() != 1 {
		t.Fatalf("%d attempts finished, want the 1 in flight", got.Load())
	}

	// A second dispatcher on the same store takes the 4 queued ones at once.
	d2, err := New(Config{Store: st, AllowPrivateNetworks: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := d2.Start(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the 4 released deliveries", func() bool { return got.Load() == 5 })
	n, err := st.CountPendingDeliveries(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "no pending deliveries", func() bool { n, _ = st.CountPendingDeliveries(ctx); return n == 0 })
	_ = d2.Stop(ctx)
	_ = st.Close()
}

// staleLeaseStore never renews leases, as when renewal keeps failing, and
// counts the jobs claims return.
type staleLeaseStore struct {
	store.Store
	claimed atomic.Int64
}

func (s *staleLeaseStore) RenewLeases(context.Context, *store.RenewLeasesParams) error { return nil }

func (s *staleLeaseStore) ClaimDeliveries(ctx context.Context, p *store.ClaimDeliveriesParams) (*store.ClaimResult, error) {
	res, err := s.Store.ClaimDeliveries(ctx, p)
	if err == nil {
		s.claimed.Add(int64(len(res.Jobs)))
	}
	return res, err
}

// A delivery whose lease ran out while it sat in this process's memory is
// claimed again by the same process; it must still be sent only once.
func TestReclaimOfHeldDeliveryDoesNotSendTwice(t *testing.T) {
	t.Parallel()
	var wrapped *staleLeaseStore
	e := newEnv(t, func(c *Config) {
		wrapped = &staleLeaseStore{Store: c.Store}
		c.Store = wrapped
		c.EndpointConcurrency = 1
		c.AttemptTimeout = time.Minute
		c.LeaseDuration = 10 * time.Second
	})
	release := make(chan struct{})
	rc := newReceiver(t, func(n int, _ http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	e.endpoint(rc.URL, nil)
	first := e.publish("order.created", `{"n":1}`)
	second := e.publish("order.created", `{"n":2}`)
	waitFor(t, "the first attempt to hang", func() bool { return rc.count() == 1 })

	// Both leases run out: one delivery in flight, one queued. The
	// poller claims both again for this same process.
	e.clock.Advance(11 * time.Second)
	e.d.Wake()
	waitFor(t, "the expired deliveries to be claimed again", func() bool { return wrapped.claimed.Load() >= 2 })
	close(release)

	for _, r := range []*store.InsertEventResult{first, second} {
		id := r.Deliveries[0].ID
		waitFor(t, "delivery "+id+" to succeed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
	}
	waitFor(t, "memory to empty", func() bool {
		e.d.mu.Lock()
		defer e.d.mu.Unlock()
		return e.d.held == 0
	})
	if n := rc.count(); n != 2 {
		t.Errorf("receiver got %d requests for 2 deliveries; a re-claimed delivery was sent again", n)
	}
}

// TestBacklogOfOneEndpointDrainsWithoutTicks checks that a store backlog
// for one endpoint, larger than a claim gives one endpoint, drains with no
// clock tick: the poller is woken as the endpoint's queue empties, not by
// its next timer (the clock here never moves).
func TestBacklogOfOneEndpointDrainsWithoutTicks(t *testing.T) {
	t.Parallel()
	e := newEnv(t, func(c *Config) { c.EndpointConcurrency = 2 })
	rc := newReceiver(t, nil)
	ep := e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Disabled = true })
	const n = 700 // a claim gives one endpoint at most 100 here
	for range n {
		e.publish("order.created", `{}`)
	}
	enabled := false
	up, err := e.st.UpdateEndpoint(context.Background(), &store.UpdateEndpointParams{AppID: e.app.ID, EndpointID: ep.ID, Disabled: &enabled, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	e.d.EndpointChanged(up)
	waitForCount(t, "the whole backlog", n, rc.count)
}
