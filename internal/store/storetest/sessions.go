package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testDashboardSessions(t *testing.T, open Opener) {
	t.Run("CreateGetDelete", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		admin, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "admin", Hash: hashOf("a"), Now: h.now})
		must(t, err, "CreateAPIKey admin")
		scoped, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "scoped", Hash: hashOf("b"), AppID: app.ID, Now: h.now})
		must(t, err, "CreateAPIKey scoped")

		exp := h.now.Add(12 * time.Hour)
		s1, err := h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s1"), KeyID: admin.ID, ExpiresAt: exp, Now: h.now})
		must(t, err, "CreateDashboardSession")
		eq(t, s1.Key.ID, admin.ID, "returned Key.ID")
		wantTime(t, s1.ExpiresAt, exp, "returned ExpiresAt")
		_, err = h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s2"), KeyID: scoped.ID, ExpiresAt: exp, Now: h.now})
		must(t, err, "CreateDashboardSession scoped")

		got, err := h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s1"), Now: h.now.Add(time.Hour)})
		must(t, err, "GetDashboardSession")
		eq(t, got.Key.ID, admin.ID, "Key.ID")
		eq(t, got.Key.Name, "admin", "Key.Name")
		eq(t, got.Key.AppID, "", "Key.AppID of an admin session")
		wantTime(t, got.CreatedAt, h.now, "CreatedAt")
		wantTime(t, got.ExpiresAt, exp, "ExpiresAt")
		if !bytesEq(got.Hash, hashOf("s1")) {
			t.Fatalf("Hash: got %x", got.Hash)
		}
		got, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s2"), Now: h.now})
		must(t, err, "GetDashboardSession scoped")
		eq(t, got.Key.AppID, app.ID, "Key.AppID of an app-bound session")

		_, err = h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s1"), KeyID: admin.ID, ExpiresAt: exp, Now: h.now})
		wantErr(t, err, hook.EConflict, "-", "CreateDashboardSession with a taken hash")
		_, err = h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s3"), KeyID: hook.NewID("key"), ExpiresAt: exp, Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "CreateDashboardSession for an unknown key")

		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("nope"), Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "GetDashboardSession unknown")
		// Expired: at its expiry, it is gone.
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s1"), Now: exp})
		wantErr(t, err, hook.ENotFound, "-", "GetDashboardSession at its expiry")

		// Sign out.
		must(t, h.s.DeleteDashboardSession(h.ctx, hashOf("s1")), "DeleteDashboardSession")
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s1"), Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "GetDashboardSession after sign out")
		wantErr(t, h.s.DeleteDashboardSession(h.ctx, hashOf("s1")), hook.ENotFound, "-", "DeleteDashboardSession twice")

		// The other session is untouched.
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s2"), Now: h.now})
		must(t, err, "GetDashboardSession of the other session")
	})

	t.Run("KeyEndsSessions", func(t *testing.T) {
		h := setup(t, open)
		keep, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "keep", Hash: hashOf("keep"), Now: h.now})
		must(t, err, "CreateAPIKey keep")
		gone, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "gone", Hash: hashOf("gone"), Now: h.now})
		must(t, err, "CreateAPIKey gone")
		keyExp := h.now.Add(time.Hour)
		expiring, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "expiring", Hash: hashOf("expiring"), ExpiresAt: &keyExp, Now: h.now})
		must(t, err, "CreateAPIKey expiring")
		exp := h.now.Add(12 * time.Hour)
		for name, id := range map[string]string{"keep": keep.ID, "gone": gone.ID, "expiring": expiring.ID} {
			_, err := h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("s-" + name), KeyID: id, ExpiresAt: exp, Now: h.now})
			must(t, err, "CreateDashboardSession "+name)
		}
		must(t, h.s.DeleteAPIKey(h.ctx, gone.ID), "DeleteAPIKey")
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s-gone"), Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "GetDashboardSession of a deleted key")
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s-expiring"), Now: h.now.Add(time.Minute)})
		must(t, err, "GetDashboardSession before its key expires")
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s-expiring"), Now: keyExp})
		wantErr(t, err, hook.ENotFound, "-", "GetDashboardSession once its key expired")
		_, err = h.s.GetDashboardSession(h.ctx, &store.GetDashboardSessionParams{Hash: hashOf("s-keep"), Now: keyExp})
		must(t, err, "GetDashboardSession of the kept key")
	})

	t.Run("ExpiredAreDeleted", func(t *testing.T) {
		h := setup(t, open)
		k, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "k", Hash: hashOf("k"), Now: h.now})
		must(t, err, "CreateAPIKey")
		_, err = h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("old"), KeyID: k.ID, ExpiresAt: h.now.Add(time.Hour), Now: h.now})
		must(t, err, "CreateDashboardSession old")
		// A later sign-in sweeps the expired session away: deleting it
		// then finds nothing.
		later := h.now.Add(2 * time.Hour)
		_, err = h.s.CreateDashboardSession(h.ctx, &store.CreateDashboardSessionParams{Hash: hashOf("new"), KeyID: k.ID, ExpiresAt: later.Add(time.Hour), Now: later})
		must(t, err, "CreateDashboardSession new")
		wantErr(t, h.s.DeleteDashboardSession(h.ctx, hashOf("old")), hook.ENotFound, "-", "DeleteDashboardSession of a swept session")
	})
}
