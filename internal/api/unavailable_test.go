package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/faultproxy"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/pgstore"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

const unavailablePrefix = "the store is unavailable: "

// wantUnavailable checks that r is the answer for a store that is
// unavailable: a 503 problem with Retry-After and the store's reason.
func wantUnavailable(t *testing.T, r *result, reason string) {
	t.Helper()
	p := wantProblem(t, r, http.StatusServiceUnavailable, "")
	if !strings.HasPrefix(p.Detail, unavailablePrefix+reason) {
		t.Errorf("detail %q, want %q...", p.Detail, unavailablePrefix+reason)
	}
	if got := r.Header.Get("Retry-After"); got != "5" {
		t.Errorf("Retry-After %q, want 5", got)
	}
}

// readyJSON is /readyz's answer when ready.
type readyJSON struct {
	Status string `json:"status"`
	Checks []struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"checks"`
}

// wantReady checks that /readyz answers 200 with the store check ok.
func wantReady(t *testing.T, e *env) {
	t.Helper()
	got := want[readyJSON](t, e.call("GET", "/readyz", nil, withKey("")), http.StatusOK)
	if got.Status != "ok" || len(got.Checks) == 0 || got.Checks[0].Name != "store" || got.Checks[0].Status != "ok" {
		t.Errorf("/readyz: %+v, want ok with the store check ok", got)
	}
}

// wantNotReady checks that /readyz answers 503, its store check failing
// for reason.
func wantNotReady(t *testing.T, e *env, reason string) {
	t.Helper()
	r := e.call("GET", "/readyz", nil, withKey(""))
	p := wantProblem(t, r, http.StatusServiceUnavailable, "checks.store")
	if !strings.Contains(p.Detail, "store: "+unavailablePrefix+reason) {
		t.Errorf("/readyz detail %q, want it to say store: %s%s", p.Detail, unavailablePrefix, reason)
	}
	if r.Header.Get("Retry-After") == "" {
		t.Error("/readyz: no Retry-After")
	}
}

// TestStoreFullAnswers503 fills the SQLite file: publishing answers 503 with
// Retry-After and says the store is full, reads are still served, /readyz
// fails while writes do, and everything recovers once there is room.
func TestStoreFullAnswers503(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	app := e.mkApp("Full", "")
	base := "/v1/apps/" + app.ID
	wantReady(t, e)

	if _, err := e.sqlite.SetMaxPageCount(ctx, 1); err != nil {
		t.Fatal(err)
	}
	event := map[string]any{"type": "a.b", "data": map[string]any{"pad": strings.Repeat("x", 4<<10)}}
	var r *result
	for range 200 {
		if r = e.call("POST", base+"/events", event); r.Status != http.StatusAccepted {
			break
		}
	}
	wantUnavailable(t, r, "the database is full")
	wantUnavailable(t, e.call("POST", batchPath(app.ID), batchOf(event, event)), "the database is full")
	// Reads do not need room.
	want[list[eventJSON]](t, e.call("GET", base+"/events", nil), http.StatusOK)
	wantNotReady(t, e, "the database is full")

	if _, err := e.sqlite.SetMaxPageCount(ctx, 1<<32-2); err != nil {
		t.Fatal(err)
	}
	wantReady(t, e)
	want[eventJSON](t, e.call("POST", base+"/events", event), http.StatusAccepted)
}

// TestStoreUnreachableAnswers503 cuts PostgreSQL off: authentication,
// reads and publishing answer 503 with Retry-After, /readyz fails, and all
// recover when PostgreSQL is back.
func TestStoreUnreachableAnswers503(t *testing.T) {
	t.Parallel()
	dsn := pgtest.DSN(t, "the PostgreSQL test")
	ctx := context.Background()
	schemaDSN, drop, err := pgstore.FreshSchema(ctx, dsn, "hookd_api_test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(drop)
	u, err := url.Parse(schemaDSN)
	if err != nil || u.Host == "" {
		t.Skipf("HOOKD_TEST_POSTGRES_DSN is not a URL with a host: %v", err)
	}
	proxy, err := faultproxy.Start(u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proxy.Close() })
	u.Host = proxy.Addr()
	st, err := pgstore.Open(ctx, u.String(), &pgstore.Options{MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })

	e := newEnv(t, envOpts{store: st})
	app := e.mkApp("Cut", "")
	base := "/v1/apps/" + app.ID
	event := map[string]any{"type": "a.b", "data": map[string]any{}}
	const freshKey = "sk_test_fresh_0123456789" // never used: not in the key cache
	e.addKey(freshKey, "")
	wantReady(t, e)

	proxy.Cut()
	for _, c := range []struct {
		name         string
		method, path string
		body         any
		key          string
	}{
		{"authentication", "GET", "/v1/apps", nil, freshKey},
		{"read", "GET", base + "/events", nil, adminKey},
		{"publish", "POST", base + "/events", event, adminKey},
		{"publish a batch", "POST", batchPath(app.ID), batchOf(event), adminKey},
		{"create an app", "POST", "/v1/apps", map[string]any{"name": "x"}, adminKey},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := e.call(c.method, c.path, c.body, withKey(c.key))
			p := wantProblem(t, r, http.StatusServiceUnavailable, "")
			if !strings.HasPrefix(p.Detail, unavailablePrefix) || r.Header.Get("Retry-After") != "5" {
				t.Errorf("detail %q, Retry-After %q: want %q... and 5", p.Detail, r.Header.Get("Retry-After"), unavailablePrefix)
			}
		})
	}
	wantProblem(t, e.call("GET", "/readyz", nil, withKey("")), http.StatusServiceUnavailable, "checks.store")

	proxy.Restore()
	wantReady(t, e)
	want[eventJSON](t, e.call("POST", base+"/events", event), http.StatusAccepted)
	want[list[appJSON]](t, e.call("GET", "/v1/apps", nil, withKey(freshKey)), http.StatusOK)
}

// busyKeys is a store whose API key lookups find it unavailable.
type busyKeys struct{ store.Store }

func (busyKeys) GetAPIKeyByHash(context.Context, []byte) (*store.APIKey, error) {
	return nil, store.Unavailable("the database is busy", errors.New("sqlitestore: get API key: database is locked"))
}

// TestAuthStoreUnavailable checks the authentication path on its own: a
// key lookup that finds the store unavailable is a 503, not a 500 nor a
// 401, and the driver's words stay in the log.
func TestAuthStoreUnavailable(t *testing.T) {
	t.Parallel()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := newEnv(t, envOpts{store: busyKeys{st}})
	r := e.call("GET", "/v1/apps", nil, withKey("sk_test_not_cached_0123"))
	wantUnavailable(t, r, "the database is busy")
	if strings.Contains(string(r.Body), "locked") {
		t.Errorf("the answer shows the driver's error: %s", r.Body)
	}
}
