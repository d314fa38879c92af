package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testPortalKeys: the keys of consumer portal links (APIKey.Portal) are
// listed apart from the other keys, and DeletePortalKeys ends every link
// of one app, with its dashboard sessions, and nothing else.
func testPortalKeys(t *testing.T, open Opener) {
	t.Run("ListApartDeleteByApp", func(t *testing.T) {
		h := setup(t, open)
		one, two := h.app("one"), h.app("two")
		exp := h.now.Add(time.Hour)
		key := func(name, appID string, portal bool) *store.APIKey {
			t.Helper()
			p := &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: name, Hash: hashOf(name), AppID: appID, Portal: portal, Now: h.now}
			if portal {
				p.ExpiresAt = &exp
			}
			k, err := h.s.CreateAPIKey(h.ctx, p)
			must(t, err, "CreateAPIKey "+name)
			return k
		}
		admin := key("admin", "", false)
		appKey := key("one-key", one.ID, false)
		p1, p2 := key("one-portal-1", one.ID, true), key("one-portal-2", one.ID, true)
		other := key("two-portal", two.ID, true)
		_, err := h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s-p1"), KeyID: p1.ID, ExpiresAt: exp, Now: h.now})
		must(t, err, "CreateDashboardSession of a portal key")
		_, err = h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s-two"), KeyID: other.ID, ExpiresAt: exp, Now: h.now})
		must(t, err, "CreateDashboardSession of another app's portal key")

		ids := func(portal bool) []string {
			t.Helper()
			var out []string
			lp := store.ListAPIKeysParams{ListParams: store.ListParams{Limit: 1}, Portal: portal}
			for range maxPages {
				p, err := h.s.ListAPIKeys(h.ctx, &lp)
				must(t, err, "ListAPIKeys")
				for _, k := range p.Data {
					out = append(out, k.ID)
				}
				if p.NextCursor == "" {
					break
				}
				lp.Cursor = p.NextCursor
			}
			return out
		}
		deepEq(t, ids(false), []string{appKey.ID, admin.ID}, "keys listed (no portal links), newest first")
		deepEq(t, ids(true), []string{other.ID, p2.ID, p1.ID}, "portal link keys listed, newest first")

		n, err := h.s.DeletePortalKeys(h.ctx, one.ID)
		must(t, err, "DeletePortalKeys")
		eq(t, n, 2, "portal keys deleted")
		for _, name := range []string{"one-portal-1", "one-portal-2"} {
			_, err := h.s.GetAPIKeyByHash(h.ctx, hashOf(name))
			wantErr(t, err, hook.ENotFound, "-", "GetAPIKeyByHash of a revoked "+name)
		}
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s-p1"), Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "GetDashboardSession of a revoked portal key")
		for _, name := range []string{"admin", "one-key", "two-portal"} {
			_, err := h.s.GetAPIKeyByHash(h.ctx, hashOf(name))
			must(t, err, "GetAPIKeyByHash of "+name+", kept")
		}
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s-two"), Now: h.now})
		must(t, err, "GetDashboardSession of another app's portal key, kept")
		if got := ids(true); !slices.Equal(got, []string{other.ID}) {
			t.Fatalf("portal keys after the revoke: %v, want %v", got, []string{other.ID})
		}

		n, err = h.s.DeletePortalKeys(h.ctx, one.ID)
		must(t, err, "DeletePortalKeys again")
		eq(t, n, 0, "portal keys deleted again")
		n, err = h.s.DeletePortalKeys(h.ctx, "app_nope")
		must(t, err, "DeletePortalKeys of no app")
		eq(t, n, 0, "portal keys deleted of no app")
	})
}
