package listen_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/dispatch"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/listen"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// fakeDispatcher records what the hub tells the dispatcher.
type fakeDispatcher struct {
	mu      sync.Mutex
	wakes   int
	deleted []string
}

func (f *fakeDispatcher) Wake() { f.mu.Lock(); f.wakes++; f.mu.Unlock() }

func (f *fakeDispatcher) EndpointDeleted(id string) {
	f.mu.Lock()
	f.deleted = append(f.deleted, id)
	f.mu.Unlock()
}

func (f *fakeDispatcher) wasDeleted(id string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Contains(f.deleted, id)
}

// hubEnv is a hub on a real SQLite store with a fake clock, serving one
// listen endpoint's stream over a real WebSocket.
type hubEnv struct {
	t     *testing.T
	st    store.Store
	clock *clockwork.FakeClock
	hub   *listen.Hub
	disp  *fakeDispatcher
	srv   *httptest.Server
	ep    *hook.Endpoint
}

func newHubEnv(t *testing.T) *hubEnv {
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	clock := clockwork.NewFakeClockAt(time.Now().UTC().Truncate(time.Millisecond))
	hub, err := listen.NewHub(listen.Config{Store: st, Clock: clock, Logger: slog.New(slog.DiscardHandler), Heartbeat: 10 * time.Second, Grace: 30 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(hub.Close)
	e := &hubEnv{t: t, st: st, clock: clock, hub: hub, disp: &fakeDispatcher{}}
	hub.Bind(e.disp)
	app, err := st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	e.ep, err = st.CreateEndpoint(ctx, &store.CreateEndpointParams{
		ID: hook.NewID("ep"), AppID: app.ID, URL: "hookd-listen:", Kind: hook.EndpointKindListen,
		EventTypes: []string{}, Secret: hook.NewSecret(), Now: clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hub.Serve(w, r, e.ep, false)
	}))
	t.Cleanup(e.srv.Close)
	return e
}

// attach opens the stream and reads its hello.
func (e *hubEnv) attach() *websocket.Conn {
	e.t.Helper()
	c, _, err := websocket.Dial(e.t.Context(), e.srv.URL, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	_, b, err := c.Read(e.t.Context())
	if err != nil {
		e.t.Fatal(err)
	}
	var hello listen.Message
	if err := json.Unmarshal(b, &hello); err != nil || hello.Type != listen.TypeHello || hello.EndpointID != e.ep.ID || hello.Secret != e.ep.Secret {
		e.t.Fatalf("hello: %s", b)
	}
	e.until("the stream to attach", func() bool { return e.hub.Holds(e.ep.ID) })
	return c
}

// until polls cond, which the hub makes true on its own (no schedule).
func (e *hubEnv) until(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (e *hubEnv) exists() bool {
	_, err := e.st.GetEndpoint(context.Background(), e.ep.AppID, e.ep.ID)
	if err != nil && hook.ErrorCode(err) != hook.ENotFound {
		e.t.Fatal(err)
	}
	return err == nil
}

// tick advances the fake clock by d and runs one heartbeat.
func (e *hubEnv) tick(d time.Duration) {
	e.clock.Advance(d)
	e.hub.Tick(context.Background())
}

func TestCleanCloseDeletesTheEndpointAtOnce(t *testing.T) {
	e := newHubEnv(t)
	c := e.attach()
	if err := c.Close(websocket.StatusNormalClosure, "bye"); err != nil {
		t.Fatal(err)
	}
	// No heartbeat, no clock: the close itself deletes it.
	e.until("the endpoint's deletion", func() bool { return !e.exists() })
	e.until("the dispatcher to be told", func() bool { return e.disp.wasDeleted(e.ep.ID) })
	if e.hub.Holds(e.ep.ID) {
		t.Fatal("the hub still holds a closed stream")
	}
}

func TestLostConnectionKeepsTheEndpointForTheGrace(t *testing.T) {
	e := newHubEnv(t)
	c := e.attach()
	// Attached: the heartbeat keeps it alive however long it lasts.
	for range 6 {
		e.tick(10 * time.Second)
	}
	if !e.exists() {
		t.Fatal("an attached listen endpoint was reaped")
	}
	// The connection is lost (no close frame).
	_ = c.CloseNow()
	e.until("the stream to detach", func() bool { return !e.hub.Holds(e.ep.ID) })
	if !e.exists() {
		t.Fatal("a lost stream's endpoint was deleted at once; it is kept for the grace period")
	}
	e.tick(20 * time.Second) // last seen 0 s before the loss: 20 s ago
	if !e.exists() {
		t.Fatal("reaped before the grace period")
	}
	e.tick(11 * time.Second) // 31 s ago
	if e.exists() {
		t.Fatal("not reaped after the grace period")
	}
	if !e.disp.wasDeleted(e.ep.ID) {
		t.Fatal("the dispatcher was not told of the reaped endpoint")
	}
}

func TestRelayRoundTrip(t *testing.T) {
	e := newHubEnv(t)
	c := e.attach()
	go func() {
		for {
			_, b, err := c.Read(context.Background())
			if err != nil {
				return
			}
			var m listen.Message
			_ = json.Unmarshal(b, &m)
			a, _ := json.Marshal(&listen.Message{Type: listen.TypeAnswer, RequestID: m.RequestID, Status: 503,
				Body: "busy: " + m.Headers["Webhook-Id"] + " " + m.Body, DurationMS: 7})
			_ = c.Write(context.Background(), websocket.MessageText, a)
		}
	}()
	ans, err := e.hub.Relay(t.Context(), &dispatch.RelayRequest{
		EndpointID: e.ep.ID, DeliveryID: "dlv_1", EventID: "evt_1", EventType: "order.created", Attempt: 1,
		Header: http.Header{"Webhook-Id": {"evt_1"}}, Body: []byte(`{"n":1}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	if ans.Status != 503 || string(ans.Body) != `busy: evt_1 {"n":1}` {
		t.Fatalf("answer %+v", ans)
	}
	_, err = e.hub.Relay(t.Context(), &dispatch.RelayRequest{EndpointID: hook.NewID("ep")})
	if err != dispatch.ErrNotAttached {
		t.Fatalf("relay to an endpoint not attached: %v, want ErrNotAttached", err)
	}
}
