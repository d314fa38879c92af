package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/pgstore"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// anotherNode starts a second API on st, a store that shares e's
// database: another hookd node, with its own caches.
func (e *env) anotherNode(st store.Store) *env {
	e.t.Helper()
	pub := &testPublisher{st: st}
	h, err := api.New(api.Config{
		Store:      st,
		Dispatcher: pub,
		CheckURL:   func(*url.URL) error { return nil },
		Logger:     slog.New(slog.DiscardHandler),
	})
	if err != nil {
		e.t.Fatalf("api.New: %v", err)
	}
	n := &env{t: e.t, srv: httptest.NewServer(h), store: st, pub: pub, now: time.Now}
	e.t.Cleanup(n.srv.Close)
	return n
}

// TestPortalLinkRevoke: revoking an app's portal links ends all of them,
// and only them, at once on every node (another node that just used a
// token refuses it on its next request), with the dashboard sessions
// opened with them. Run on SQLite (two APIs on one store) and on
// PostgreSQL (two stores on one database).
func TestPortalLinkRevoke(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		testPortalLinkRevoke(t, st, st)
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.DSN(t, "the PostgreSQL portal revoke test")
		ctx := context.Background()
		schemaDSN, drop, err := pgstore.FreshSchema(ctx, dsn, "hookd_api_portal")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		var nodes [2]store.Store
		for i := range nodes {
			st, err := pgstore.Open(ctx, schemaDSN, &pgstore.Options{MaxConns: 4})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = st.Close() })
			nodes[i] = st
		}
		testPortalLinkRevoke(t, nodes[0], nodes[1])
	})
}

func testPortalLinkRevoke(t *testing.T, stA, stB store.Store) {
	a := newEnv(t, envOpts{store: stA})
	b := a.anotherNode(stB)
	acme := a.mkApp("Acme", "acme")
	other := a.mkApp("Other", "other")
	const appKey, otherKey = "sk_test_acme_key", "sk_test_other_key"
	a.addKey(appKey, acme.ID)
	a.addKey(otherKey, other.ID)
	full := a.mkPortalLink("acme", nil)
	ro := a.mkPortalLink("acme", map[string]any{"read_only": true})
	keep := a.mkPortalLink("other", nil)

	// A dashboard session opened with the link (as the portal's pages do).
	ctx := context.Background()
	fullKey, err := stA.GetAPIKeyByHash(ctx, sha256Sum(full.Token))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stA.CreateDashboardSession(ctx, &store.CreateDashboardSessionParams{
		Hash: sha256Sum("portal-session"), KeyID: fullKey.ID, ExpiresAt: time.Now().Add(time.Hour), Now: time.Now().UTC(),
	}); err != nil {
		t.Fatal(err)
	}

	// Both nodes accept the tokens (and would have them cached, were
	// portal tokens cached as keys are).
	for _, n := range []*env{a, b} {
		for _, tok := range []string{full.Token, ro.Token} {
			want[list[map[string]any]](t, n.call("GET", "/v1/apps/acme/endpoints", nil, withKey(tok)), http.StatusOK)
		}
	}

	// Who may not revoke.
	wantProblem(t, b.call("POST", "/v1/apps/acme/portal-links/revoke", nil, withKey(full.Token)), http.StatusForbidden, "")
	wantProblem(t, b.call("POST", "/v1/apps/acme/portal-links/revoke", nil, withKey(otherKey)), http.StatusForbidden, "")
	wantProblem(t, a.call("POST", "/v1/apps/nope/portal-links/revoke", nil), http.StatusNotFound, "")

	// The app's key revokes, on node a.
	type revoked struct {
		Revoked int `json:"revoked"`
	}
	if got := want[revoked](t, a.call("POST", "/v1/apps/acme/portal-links/revoke", nil, withKey(appKey)), http.StatusOK); got.Revoked != 2 {
		t.Errorf("revoked %d links, want 2", got.Revoked)
	}
	for _, n := range []*env{b, a} {
		for _, tok := range []string{full.Token, ro.Token} {
			wantProblem(t, n.call("GET", "/v1/apps/acme/endpoints", nil, withKey(tok)), http.StatusUnauthorized, "")
		}
		// Not the other app's link, nor the app's key.
		want[list[map[string]any]](t, n.call("GET", "/v1/apps/other/endpoints", nil, withKey(keep.Token)), http.StatusOK)
		want[list[map[string]any]](t, n.call("GET", "/v1/apps/acme/endpoints", nil, withKey(appKey)), http.StatusOK)
	}
	if _, err := stB.GetDashboardSession(ctx, &store.GetDashboardSessionParams{Hash: sha256Sum("portal-session"), Now: time.Now().UTC()}); hook.ErrorCode(err) != hook.ENotFound {
		t.Errorf("the revoked link's dashboard session: %v, want not found", err)
	}
	// A link made afterwards works; revoking again ends it.
	fresh := a.mkPortalLink("acme", nil)
	want[appJSON](t, b.call("GET", "/v1/apps/acme", nil, withKey(fresh.Token)), http.StatusOK)
	if got := want[revoked](t, b.call("POST", "/v1/apps/"+acme.ID+"/portal-links/revoke", nil), http.StatusOK); got.Revoked != 1 {
		t.Errorf("second revoke: %d links, want 1", got.Revoked)
	}
	wantProblem(t, a.call("GET", "/v1/apps/acme", nil, withKey(fresh.Token)), http.StatusUnauthorized, "")

	// The keys list leaves portal links out; an admin deletes one by id,
	// and it stops working on the other node at once too.
	for _, k := range want[list[apiKeyJSON]](t, a.call("GET", "/v1/api-keys?limit=250", nil), http.StatusOK).Data {
		if k.Name == "portal link" {
			t.Errorf("GET /v1/api-keys lists a portal link: %+v", k)
		}
	}
	if n := a.count("/v1/api-keys"); n != 3 { // admin, acme's, other's
		t.Errorf("%d keys listed, want 3", n)
	}
	keepKey, err := stA.GetAPIKeyByHash(ctx, sha256Sum(keep.Token))
	if err != nil {
		t.Fatal(err)
	}
	want[list[map[string]any]](t, b.call("GET", "/v1/apps/other/endpoints", nil, withKey(keep.Token)), http.StatusOK)
	if r := a.call("DELETE", "/v1/api-keys/"+keepKey.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete the portal link's key: %d %s", r.Status, r.Body)
	}
	wantProblem(t, b.call("GET", "/v1/apps/other/endpoints", nil, withKey(keep.Token)), http.StatusUnauthorized, "")
	if _, err := stB.GetAPIKeyByHash(ctx, sha256Sum(keep.Token)); hook.ErrorCode(err) != hook.ENotFound {
		t.Errorf("deleted portal key: %v, want not found", err)
	}
}
