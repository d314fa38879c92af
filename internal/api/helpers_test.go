package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

const adminKey = "sk_test_admin_0123456789"

// testPublisher is a Dispatcher that fans out for real (one unclaimed
// delivery per subscribed, enabled endpoint) and records what it is told.
type testPublisher struct {
	st store.Store
	// onPublish, if set, is called as Publish and PublishBatch begin
	// (e.g. to hold requests in their handlers).
	onPublish func()

	readers sync.WaitGroup

	mu      sync.Mutex
	changed []string
	deleted []string
	emitted []string
	wakes   int
}

func (p *testPublisher) Publish(ctx context.Context, _ *hook.App, ev *hook.Event) (*store.InsertEventResult, error) {
	if p.onPublish != nil {
		p.onPublish()
	}
	eps, err := p.st.ListEnabledEndpoints(ctx, ev.AppID)
	if err != nil {
		return nil, err
	}
	var ds []store.NewDelivery
	for _, ep := range eps {
		if ep.Subscribes(ev.Type) {
			ds = append(ds, store.NewDelivery{ID: hook.NewID("dlv"), EndpointID: ep.ID})
		}
	}
	return p.st.InsertEvent(ctx, &store.InsertEventParams{Event: ev, Deliveries: ds})
}

// PublishBatch fans out as Publish does and stores the batch in one
// InsertEvents.
func (p *testPublisher) PublishBatch(ctx context.Context, app *hook.App, evs []*hook.Event) ([]*store.InsertEventResult, error) {
	if p.onPublish != nil {
		p.onPublish()
	}
	eps, err := p.st.ListEnabledEndpoints(ctx, app.ID)
	if err != nil {
		return nil, err
	}
	batch := &store.InsertEventsParams{Events: make([]store.InsertEventParams, len(evs))}
	for i, ev := range evs {
		var ds []store.NewDelivery
		for _, ep := range eps {
			if ep.Subscribes(ev.Type) {
				ds = append(ds, store.NewDelivery{ID: hook.NewID("dlv"), EndpointID: ep.ID})
			}
		}
		batch.Events[i] = store.InsertEventParams{Event: ev, Deliveries: ds}
	}
	return p.st.InsertEvents(ctx, batch)
}

func (p *testPublisher) EndpointChanged(ep *hook.Endpoint) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changed = append(p.changed, ep.ID)
	// A dispatcher keeps ep and reads it from its own goroutines: under
	// -race this catches an API that changes ep after handing it over.
	p.readers.Add(1)
	go func() {
		defer p.readers.Done()
		_ = ep.Subscribes("a.b")
		_, _, _ = len(ep.Headers), len(ep.Metadata), ep.URL+ep.Secret
	}()
}

func (p *testPublisher) AppChanged(*hook.App) {}

func (p *testPublisher) Emit(appID, typ string, _ any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emitted = append(p.emitted, typ)
}

func (p *testPublisher) EndpointDeleted(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, id)
}

func (p *testPublisher) Wake() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.wakes++
}

func (p *testPublisher) snapshot() (changed, deleted []string, wakes int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.changed), slices.Clone(p.deleted), p.wakes
}

// env is one API server on its own SQLite file (or the store of
// envOpts.store).
type env struct {
	t     *testing.T
	srv   *httptest.Server
	store store.Store
	// sqlite is store, when it is the env's own SQLite file.
	sqlite *sqlitestore.Store
	pub    *testPublisher
	// now is the API's clock: the real time, so that store queries
	// comparing with time.Now agree.
	now func() time.Time
}

// blockedHost is refused by the test CheckURL.
const blockedHost = "blocked.example"

type envOpts struct {
	maxBody int64
	// The abuse limits (api.Config); zero leaves them off (rates) or at
	// their defaults (counts).
	keyRate         float64
	keyBurst        int
	authFailureRate float64
	maxEndpoints    int
	maxEventTypes   int
	// now, if set, is the API's clock (rate limits included).
	now func() time.Time
	// operatorApp is api.Config.OperatorApp.
	operatorApp string
	// store, if set, is the store, instead of a new SQLite file.
	store store.Store
	// maxInflightBody is api.Config.MaxInflightBodyBytes.
	maxInflightBody int64
	// onPublish is testPublisher.onPublish.
	onPublish func()
	// registerer is api.Config.Registerer.
	registerer prometheus.Registerer
	// retention is api.Config.Retention.
	retention time.Duration
	// replayLimit is api.Config.ReplayLimit.
	replayLimit int
	// catalog is api.Config.Catalog, the deployment's catalog setting.
	catalog string
	// publicURL is api.Config.PublicURL.
	publicURL string
	// listen is api.Config.Listen.
	listen api.ListenServer
}

func newEnv(t *testing.T, opts ...envOpts) *env {
	t.Helper()
	var o envOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	ctx := context.Background()
	e := &env{t: t, store: o.store, now: time.Now}
	if e.store == nil {
		st, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "hookd.db"), nil)
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { _ = st.Close() })
		e.store, e.sqlite = st, st
	}
	e.pub = &testPublisher{st: e.store, onPublish: o.onPublish}
	if o.now != nil {
		e.now = o.now
	}
	h, err := api.New(api.Config{
		Store:      e.store,
		Dispatcher: e.pub,
		CheckURL: func(u *url.URL) error {
			if u.Hostname() == blockedHost {
				return errors.New("the address is private")
			}
			return nil
		},
		Now:                  func() time.Time { return e.now() },
		Logger:               slog.New(slog.DiscardHandler),
		MaxBodyBytes:         o.maxBody,
		KeyRate:              o.keyRate,
		KeyBurst:             o.keyBurst,
		AuthFailureRate:      o.authFailureRate,
		MaxEndpointsPerApp:   o.maxEndpoints,
		MaxEventTypes:        o.maxEventTypes,
		MaxInflightBodyBytes: o.maxInflightBody,
		Registerer:           o.registerer,
		Version:              "1.2.3-test",
		OperatorApp:          o.operatorApp,
		Retention:            o.retention,
		ReplayLimit:          o.replayLimit,
		Catalog:              o.catalog,
		PublicURL:            o.publicURL,
		Listen:               o.listen,
	})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.pub.readers.Wait)
	e.addKey(adminKey, "")
	return e
}

// addKey stores an API key (bound to appID unless "").
func (e *env) addKey(key, appID string) {
	e.t.Helper()
	sum := sha256.Sum256([]byte(key))
	if _, err := e.store.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{
		ID: hook.NewID("key"), Name: "test " + key, Hash: sum[:], AppID: appID, Now: time.Now().UTC(),
	}); err != nil {
		e.t.Fatalf("create api key: %v", err)
	}
}

type result struct {
	Status int
	Header http.Header
	Body   []byte
}

type reqOpt func(*http.Request)

func withKey(k string) reqOpt { return func(r *http.Request) { setKey(r, k) } }

func setKey(r *http.Request, k string) {
	if k == "" {
		r.Header.Del("Authorization")
	} else {
		r.Header.Set("Authorization", "Bearer "+k)
	}
}

func withHeader(k, v string) reqOpt { return func(r *http.Request) { r.Header.Set(k, v) } }

// call makes one request with the admin key unless told otherwise. body is
// sent as is when a string or []byte, else as JSON; nil sends none.
func (e *env) call(method, path string, body any, opts ...reqOpt) *result {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	setKey(req, adminKey)
	for _, o := range opts {
		o(req)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return &result{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// want checks the status and decodes the body into T.
func want[T any](t *testing.T, r *result, status int) T {
	t.Helper()
	var v T
	if r.Status != status {
		t.Fatalf("status %d, want %d; body: %s", r.Status, status, r.Body)
	}
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("decode %T: %v; body: %s", v, err, r.Body)
		}
	}
	return v
}

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
		Value    any    `json:"value"`
	} `json:"errors"`
}

func (p problem) locations() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Location)
	}
	return out
}

func (p problem) messages() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Message)
	}
	return out
}

// wantProblem checks that r is an RFC 9457 problem with the status and,
// when loc is not "", an error detail located at loc.
func wantProblem(t *testing.T, r *result, status int, loc string) problem {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type %q, want application/problem+json; status %d, body: %s", ct, r.Status, r.Body)
	}
	p := want[problem](t, r, status)
	if p.Status != status || p.Title != http.StatusText(status) || p.Detail == "" {
		t.Errorf("problem %+v: want status %d, title %q and a detail", p, status, http.StatusText(status))
	}
	if loc != "" && !slices.Contains(p.locations(), loc) {
		t.Errorf("problem locations %q, want %q; body: %s", p.locations(), loc, r.Body)
	}
	for _, e := range p.Errors {
		if e.Message == "" {
			t.Errorf("error detail without a message: %s", r.Body)
		}
	}
	return p
}

// list is a list answer.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

type appJSON struct {
	ID        string            `json:"id"`
	UID       string            `json:"uid"`
	Name      string            `json:"name"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// mkApp creates an app through the API.
func (e *env) mkApp(name, uid string) appJSON {
	e.t.Helper()
	body := map[string]any{"name": name}
	if uid != "" {
		body["uid"] = uid
	}
	return want[appJSON](e.t, e.call("POST", "/v1/apps", body), http.StatusCreated)
}

// mkEndpoint creates an endpoint through the API.
func (e *env) mkEndpoint(appID string, body map[string]any) map[string]any {
	e.t.Helper()
	if body["url"] == nil {
		body["url"] = "https://example.com/hook"
	}
	return want[map[string]any](e.t, e.call("POST", "/v1/apps/"+appID+"/endpoints", body), http.StatusCreated)
}

// mkEndpointInStore creates an endpoint through the store, skipping the API
// (and its limits).
func (e *env) mkEndpointInStore(appID, url string) {
	e.t.Helper()
	if _, err := e.store.CreateEndpoint(context.Background(), &store.CreateEndpointParams{
		ID: hook.NewID("ep"), AppID: appID, URL: url, EventTypes: []string{},
		Headers: map[string]string{}, Metadata: map[string]string{}, Secret: hook.NewSecret(), Now: nowUTC(),
	}); err != nil {
		e.t.Fatalf("create endpoint: %v", err)
	}
}

// count returns how many objects a list route answers (first page, 250).
func (e *env) count(path string) int {
	e.t.Helper()
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	l := want[list[json.RawMessage]](e.t, e.call("GET", path+sep+"limit=250", nil), http.StatusOK)
	return len(l.Data)
}

func sha256Sum(s string) []byte {
	sum := sha256.Sum256([]byte(s))
	return sum[:]
}

func nowUTC() time.Time { return time.Now().UTC() }
