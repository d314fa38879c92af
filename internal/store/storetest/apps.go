package storetest

import (
	"crypto/sha256"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testLifecycle(t *testing.T, open Opener) {
	t.Run("PingAndClose", func(t *testing.T) {
		h := setup(t, open)
		must(t, h.s.Ping(h.ctx), "Ping")
		must(t, h.s.Ready(h.ctx), "Ready")
		a := h.app("")
		must(t, h.s.Close(), "Close")
		if _, err := h.s.GetApp(h.ctx, a.ID); err == nil {
			t.Fatal("GetApp after Close: got no error")
		}
		if _, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "x", Now: h.now}); err == nil {
			t.Fatal("CreateApp after Close: got no error")
		}
		if err := h.s.Ping(h.ctx); err == nil {
			t.Fatal("Ping after Close: got no error")
		}
		if err := h.s.Ready(h.ctx); err == nil {
			t.Fatal("Ready after Close: got no error")
		}
	})
	t.Run("TimesRoundTrip", func(t *testing.T) {
		h := setup(t, open)
		// Nanoseconds and a zone other than UTC go in; UTC milliseconds
		// come out.
		zone := time.FixedZone("X", 5*3600+30*60)
		in := time.Date(2031, 7, 8, 9, 10, 11, 123_456_789, zone)
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "t", Now: in})
		must(t, err, "CreateApp")
		want := time.Date(2031, 7, 8, 3, 40, 11, 123_000_000, time.UTC)
		wantTime(t, a.CreatedAt, want, "returned CreatedAt")
		got, err := h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		wantTime(t, got.CreatedAt, want, "stored CreatedAt")
		wantTime(t, got.UpdatedAt, want, "stored UpdatedAt")

		ep := h.endpoint(a.ID)
		res := h.insert(a.ID, ev{at: in, endpoints: []string{ep.ID}})
		wantTime(t, res.Event.CreatedAt, want, "returned event CreatedAt")
		e, err := h.s.GetEvent(h.ctx, a.ID, res.Event.ID)
		must(t, err, "GetEvent")
		wantTime(t, e.CreatedAt, want, "stored event CreatedAt")
		d := h.delivery(a.ID, res.Deliveries[0].ID)
		wantTimePtr(t, d.NextAttemptAt, want, "delivery NextAttemptAt")
		wantTimePtr(t, res.Deliveries[0].NextAttemptAt, want, "returned delivery NextAttemptAt")
		wantTime(t, d.CreatedAt, want, "delivery CreatedAt")
	})
}

func testApps(t *testing.T, open Opener) {
	t.Run("CreateGet", func(t *testing.T) {
		h := setup(t, open)
		now := h.now.Add(987_654 * time.Nanosecond)
		id := hook.NewID("app")
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{
			ID: id, UID: "acme", Name: "Acme", Metadata: map[string]string{"plan": "pro", "region": "eu"}, Now: now,
		})
		must(t, err, "CreateApp")
		check := func(a *hook.App, what string) {
			t.Helper()
			eq(t, a.ID, id, what+" ID")
			eq(t, a.UID, "acme", what+" UID")
			eq(t, a.Name, "Acme", what+" Name")
			wantMap(t, a.Metadata, map[string]string{"plan": "pro", "region": "eu"}, what+" Metadata")
			wantTime(t, a.CreatedAt, now, what+" CreatedAt")
			wantTime(t, a.UpdatedAt, now, what+" UpdatedAt")
		}
		check(a, "created")
		byID, err := h.s.GetApp(h.ctx, id)
		must(t, err, "GetApp by id")
		check(byID, "by id")
		byUID, err := h.s.GetApp(h.ctx, "acme")
		must(t, err, "GetApp by uid")
		check(byUID, "by uid")

		for _, x := range []string{"nope", hook.NewID("app"), "", "Acme"} {
			_, err := h.s.GetApp(h.ctx, x)
			wantErr(t, err, hook.ENotFound, "-", "GetApp("+x+")")
		}
		_, err = h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: id, Name: "dup", Now: now})
		wantErr(t, err, hook.EConflict, "-", "CreateApp with an existing id")
	})

	t.Run("NilMetadata", func(t *testing.T) {
		h := setup(t, open)
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "n", Now: h.now})
		must(t, err, "CreateApp")
		wantMap(t, a.Metadata, nil, "returned Metadata")
		eq(t, a.UID, "", "UID")
		got, err := h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		wantMap(t, got.Metadata, nil, "stored Metadata")
		b, _ := json.Marshal(got)
		var m map[string]any
		must(t, json.Unmarshal(b, &m), "unmarshal")
		if _, ok := m["metadata"].(map[string]any); !ok {
			t.Fatalf("metadata serialises as %v, want {}", m["metadata"])
		}
	})

	t.Run("UIDConflict", func(t *testing.T) {
		h := setup(t, open)
		a := h.app("shared")
		_, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), UID: "shared", Name: "b", Now: h.now})
		wantErr(t, err, hook.EConflict, "uid", "CreateApp with a taken uid")
		// Any number of apps may have no uid.
		b := h.app("")
		c := h.app("")
		uid := "shared"
		_, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: b.ID, UID: &uid, Now: h.now})
		wantErr(t, err, hook.EConflict, "uid", "UpdateApp to a taken uid")
		got, err := h.s.GetApp(h.ctx, b.ID)
		must(t, err, "GetApp")
		eq(t, got.UID, "", "uid after failed update")
		// Keeping one's own uid is no conflict.
		_, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, UID: &uid, Now: h.now})
		must(t, err, "UpdateApp to its own uid")
		other := "other"
		_, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: c.ID, UID: &other, Now: h.now})
		must(t, err, "UpdateApp to a free uid")
		got, err = h.s.GetApp(h.ctx, "other")
		must(t, err, "GetApp by new uid")
		eq(t, got.ID, c.ID, "app found by new uid")
	})

	t.Run("Update", func(t *testing.T) {
		h := setup(t, open)
		a := h.app("u1")
		later := h.at(time.Hour)
		name := "Renamed"
		up, err := h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Name: &name, Now: later})
		must(t, err, "UpdateApp name")
		eq(t, up.Name, "Renamed", "Name")
		eq(t, up.UID, "u1", "UID untouched")
		wantMap(t, up.Metadata, map[string]string{"k": "v"}, "Metadata untouched")
		wantTime(t, up.CreatedAt, h.now, "CreatedAt")
		wantTime(t, up.UpdatedAt, later, "UpdatedAt")

		empty, meta := "", map[string]string{"a": "b"}
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, UID: &empty, Metadata: &meta, Now: later})
		must(t, err, "UpdateApp uid and metadata")
		eq(t, up.UID, "", "UID cleared")
		eq(t, up.Name, "Renamed", "Name untouched")
		wantMap(t, up.Metadata, meta, "Metadata")
		_, err = h.s.GetApp(h.ctx, "u1")
		wantErr(t, err, hook.ENotFound, "-", "GetApp by the cleared uid")
		got, err := h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		deepEq(t, got, up, "stored app")

		_, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: hook.NewID("app"), Name: &name, Now: later})
		wantErr(t, err, hook.ENotFound, "-", "UpdateApp of an unknown app")
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, open)
		var ids []string
		for range 7 {
			ids = append(ids, h.app("").ID)
		}
		checkPaging(t, ids, func(lp store.ListParams) (*store.Page[*hook.App], error) {
			return h.s.ListApps(h.ctx, &store.ListAppsParams{ListParams: lp})
		}, func(a *hook.App) string { return a.ID })
	})

	t.Run("ListEmpty", func(t *testing.T) {
		h := setup(t, open)
		page, err := h.s.ListApps(h.ctx, &store.ListAppsParams{})
		must(t, err, "ListApps")
		if page.Data == nil || len(page.Data) != 0 || page.NextCursor != "" {
			t.Fatalf("empty list: got %#v, want non-nil empty Data and no cursor", page)
		}
	})

	t.Run("DeleteCascades", func(t *testing.T) {
		h := setup(t, open)
		a, keep := h.app("gone"), h.app("kept")
		ep, kep := h.endpoint(a.ID), h.endpoint(keep.ID)
		res := h.insert(a.ID, ev{endpoints: []string{ep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
		kres := h.insert(keep.ID, ev{endpoints: []string{kep.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
		dlv := res.Deliveries[0].ID
		h.record(attempt{owner: "w", delivery: dlv, status: 500, sched: 1,
			decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Second)}})
		_, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "k",
			Hash: hashOf("gone-key"), AppID: a.ID, Now: h.now})
		must(t, err, "CreateAPIKey")
		eq(t, h.pending(), 2, "pending before delete")

		must(t, h.s.DeleteApp(h.ctx, a.ID), "DeleteApp")
		_, err = h.s.GetApp(h.ctx, a.ID)
		wantErr(t, err, hook.ENotFound, "-", "GetApp after delete")
		_, err = h.s.GetApp(h.ctx, "gone")
		wantErr(t, err, hook.ENotFound, "-", "GetApp by uid after delete")
		_, err = h.s.GetEndpoint(h.ctx, a.ID, ep.ID)
		wantErr(t, err, hook.ENotFound, "-", "GetEndpoint after delete")
		_, err = h.s.GetEvent(h.ctx, a.ID, res.Event.ID)
		wantErr(t, err, hook.ENotFound, "-", "GetEvent after delete")
		_, err = h.s.GetDelivery(h.ctx, a.ID, dlv)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery after delete")
		eq(t, h.pending(), 1, "pending after delete")
		claimed := h.claim("x", h.at(time.Hour), 10, 10)
		deepEq(t, jobIDs(claimed), []string{kres.Deliveries[0].ID}, "claimable after delete")
		page, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: a.ID})
		must(t, err, "ListDeliveries")
		eq(t, len(page.Data), 0, "deliveries listed after delete")
		evs, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: a.ID})
		must(t, err, "ListEvents")
		eq(t, len(evs.Data), 0, "events listed after delete")

		// The other app is untouched.
		_, err = h.s.GetEndpoint(h.ctx, keep.ID, kep.ID)
		must(t, err, "GetEndpoint of the other app")
		d := h.delivery(keep.ID, kres.Deliveries[0].ID)
		eq(t, d.Status, hook.DeliveryPending, "other app's delivery")

		wantErr(t, h.s.DeleteApp(h.ctx, a.ID), hook.ENotFound, "-", "DeleteApp twice")
		wantErr(t, h.s.DeleteApp(h.ctx, hook.NewID("app")), hook.ENotFound, "-", "DeleteApp unknown")
	})
}

func hashOf(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func testAPIKeys(t *testing.T, open Opener) {
	t.Run("CreateGetCount", func(t *testing.T) {
		h := setup(t, open)
		n, err := h.s.CountAPIKeys(h.ctx)
		must(t, err, "CountAPIKeys")
		eq(t, n, 0, "count of a new store")

		admin, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
			ID: hook.NewID("key"), Name: "admin", Hash: hashOf("a"), Now: h.now.Add(999 * time.Microsecond)})
		must(t, err, "CreateAPIKey admin")
		app := h.app("")
		scoped, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
			ID: hook.NewID("key"), Name: "scoped", Hash: hashOf("b"), AppID: app.ID, Now: h.now})
		must(t, err, "CreateAPIKey scoped")

		got, err := h.s.GetAPIKeyByHash(h.ctx, hashOf("a"))
		must(t, err, "GetAPIKeyByHash admin")
		eq(t, got.ID, admin.ID, "ID")
		eq(t, got.Name, "admin", "Name")
		eq(t, got.AppID, "", "AppID of an admin key")
		if !bytesEq(got.Hash, hashOf("a")) {
			t.Fatalf("Hash: got %x", got.Hash)
		}
		wantTime(t, got.CreatedAt, h.now, "CreatedAt")
		wantTime(t, admin.CreatedAt, h.now, "returned CreatedAt")

		got, err = h.s.GetAPIKeyByHash(h.ctx, hashOf("b"))
		must(t, err, "GetAPIKeyByHash scoped")
		eq(t, got.ID, scoped.ID, "ID")
		eq(t, got.AppID, app.ID, "AppID")
		eq(t, got.Portal || got.ReadOnly, false, "Portal or ReadOnly of an app key")

		// A portal link's token: kept with its kind and its read-only mark.
		exp := h.now.Add(time.Hour)
		portal, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
			ID: hook.NewID("key"), Name: "portal", Hash: hashOf("p"), AppID: app.ID, ExpiresAt: &exp,
			Portal: true, ReadOnly: true, Now: h.now})
		must(t, err, "CreateAPIKey portal")
		eq(t, portal.Portal && portal.ReadOnly, true, "returned Portal and ReadOnly")
		got, err = h.s.GetAPIKeyByHash(h.ctx, hashOf("p"))
		must(t, err, "GetAPIKeyByHash portal")
		eq(t, got.Portal, true, "Portal")
		eq(t, got.ReadOnly, true, "ReadOnly")
		must(t, h.s.DeleteAPIKey(h.ctx, portal.ID), "DeleteAPIKey portal")

		_, err = h.s.GetAPIKeyByHash(h.ctx, hashOf("c"))
		wantErr(t, err, hook.ENotFound, "-", "GetAPIKeyByHash unknown")

		_, err = h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
			ID: hook.NewID("key"), Name: "again", Hash: hashOf("a"), Now: h.now})
		wantErr(t, err, hook.EConflict, "-", "CreateAPIKey with a taken hash")

		n, err = h.s.CountAPIKeys(h.ctx)
		must(t, err, "CountAPIKeys")
		eq(t, n, 2, "count")
	})

	t.Run("ListDelete", func(t *testing.T) {
		h := setup(t, open)
		key := func(name, appID string) *store.APIKey {
			t.Helper()
			k, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
				ID: hook.NewID("key"), Name: name, Hash: hashOf(name), AppID: appID, Now: h.now})
			must(t, err, "CreateAPIKey "+name)
			return k
		}
		app, gone := h.app("keep"), h.app("gone")
		admin1, scoped, admin2 := key("admin1", ""), key("scoped", app.ID), key("admin2", "")
		key("of-gone", gone.ID)

		// Newest first, in pages, with every field.
		var ids []string
		lp := store.ListAPIKeysParams{ListParams: store.ListParams{Limit: 3}}
		for range maxPages {
			p, err := h.s.ListAPIKeys(h.ctx, &lp)
			must(t, err, "ListAPIKeys")
			for _, k := range p.Data {
				ids = append(ids, k.ID)
				if k.ID == scoped.ID {
					eq(t, k.Name, "scoped", "Name")
					eq(t, k.AppID, app.ID, "AppID")
					wantTime(t, k.CreatedAt, h.now, "CreatedAt")
					if !bytesEq(k.Hash, hashOf("scoped")) {
						t.Fatalf("Hash: got %x", k.Hash)
					}
				}
			}
			if p.NextCursor == "" {
				break
			}
			lp.Cursor = p.NextCursor
		}
		eq(t, len(ids), 4, "keys listed")
		deepEq(t, ids[1:], []string{admin2.ID, scoped.ID, admin1.ID}, "keys newest first (after of-gone)")
		_, err := h.s.ListAPIKeys(h.ctx, &store.ListAPIKeysParams{ListParams: store.ListParams{Cursor: "x!"}})
		wantErr(t, err, hook.EInvalid, "cursor", "ListAPIKeys with a bad cursor")

		// An app's keys go with it.
		must(t, h.s.DeleteApp(h.ctx, gone.ID), "DeleteApp")
		_, err = h.s.GetAPIKeyByHash(h.ctx, hashOf("of-gone"))
		wantErr(t, err, hook.ENotFound, "-", "key of a deleted app")

		must(t, h.s.DeleteAPIKey(h.ctx, scoped.ID), "DeleteAPIKey scoped")
		_, err = h.s.GetAPIKeyByHash(h.ctx, hashOf("scoped"))
		wantErr(t, err, hook.ENotFound, "-", "deleted key")
		wantErr(t, h.s.DeleteAPIKey(h.ctx, scoped.ID), hook.ENotFound, "-", "DeleteAPIKey twice")
		wantErr(t, h.s.DeleteAPIKey(h.ctx, "key_nope"), hook.ENotFound, "-", "DeleteAPIKey unknown")

		must(t, h.s.DeleteAPIKey(h.ctx, admin1.ID), "DeleteAPIKey admin1")
		wantErr(t, h.s.DeleteAPIKey(h.ctx, admin2.ID), hook.EConflict, "-", "DeleteAPIKey of the last admin key")
		got, err := h.s.GetAPIKeyByHash(h.ctx, hashOf("admin2"))
		must(t, err, "the last admin key is kept")
		eq(t, got.ID, admin2.ID, "ID")
		n, err := h.s.CountAPIKeys(h.ctx)
		must(t, err, "CountAPIKeys")
		eq(t, n, 1, "count")
		// A scoped key may go while one admin key is left.
		s2 := key("scoped2", app.ID)
		must(t, h.s.DeleteAPIKey(h.ctx, s2.ID), "DeleteAPIKey scoped with one admin key left")
	})

	t.Run("ExpiresAt", func(t *testing.T) {
		// The store keeps a key's expiry (ms, UTC) and returns the key
		// whether or not it has expired: the API compares with its clock.
		h := setup(t, open)
		app := h.app("")
		exp := h.now.Add(time.Hour + 999*time.Microsecond)
		past := h.now.Add(-time.Hour)
		key := func(name, appID string, at *time.Time) *store.APIKey {
			t.Helper()
			k, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
				ID: hook.NewID("key"), Name: name, Hash: hashOf(name), AppID: appID, ExpiresAt: at, Now: h.now})
			must(t, err, "CreateAPIKey "+name)
			return k
		}
		never := key("never", "", nil)
		expiring := key("expiring", app.ID, &exp)
		expired := key("expired", "", &past)
		wantTimePtr(t, expiring.ExpiresAt, exp, "returned ExpiresAt")
		if never.ExpiresAt != nil {
			t.Fatalf("returned ExpiresAt of a key without one: %v", never.ExpiresAt)
		}
		for _, k := range []*store.APIKey{never, expiring, expired} {
			got, err := h.s.GetAPIKeyByHash(h.ctx, hashOf(k.Name))
			must(t, err, "GetAPIKeyByHash "+k.Name)
			if k.ExpiresAt == nil {
				if got.ExpiresAt != nil {
					t.Fatalf("%s: stored ExpiresAt %v, want none", k.Name, got.ExpiresAt)
				}
				continue
			}
			wantTimePtr(t, got.ExpiresAt, *k.ExpiresAt, k.Name+" stored ExpiresAt")
		}
		p, err := h.s.ListAPIKeys(h.ctx, &store.ListAPIKeysParams{})
		must(t, err, "ListAPIKeys")
		eq(t, len(p.Data), 3, "keys listed")
		for _, k := range p.Data {
			if k.ID == expiring.ID {
				wantTimePtr(t, k.ExpiresAt, exp, "listed ExpiresAt")
			}
		}
		eq(t, expiring.Expired(exp.Add(-time.Millisecond)), false, "Expired just before")
		eq(t, expiring.Expired(*expiring.ExpiresAt), true, "Expired at ExpiresAt")
		eq(t, never.Expired(h.now.AddDate(100, 0, 0)), false, "Expired without ExpiresAt")

		// The last admin key that never expires stays, even with other
		// (expiring or expired) admin keys; those may all go.
		wantErr(t, h.s.DeleteAPIKey(h.ctx, never.ID), hook.EConflict, "-", "DeleteAPIKey of the last admin key that never expires")
		must(t, h.s.DeleteAPIKey(h.ctx, expired.ID), "DeleteAPIKey of an expired admin key")
		again := key("again", "", nil)
		must(t, h.s.DeleteAPIKey(h.ctx, never.ID), "DeleteAPIKey with another admin key that never expires")
		wantErr(t, h.s.DeleteAPIKey(h.ctx, again.ID), hook.EConflict, "-", "DeleteAPIKey of the last one again")
	})

	t.Run("DeleteLastAdminConcurrently", func(t *testing.T) {
		h := setup(t, open)
		var ids []string
		for _, name := range []string{"a", "b"} {
			k, err := h.s.CreateAPIKey(h.ctx, &store.CreateAPIKeyParams{
				ID: hook.NewID("key"), Name: name, Hash: hashOf(name), Now: h.now})
			must(t, err, "CreateAPIKey")
			ids = append(ids, k.ID)
		}
		errs := make([]error, len(ids))
		var wg sync.WaitGroup
		for i, id := range ids {
			wg.Go(func() { errs[i] = h.s.DeleteAPIKey(h.ctx, id) })
		}
		wg.Wait()
		ok, conflicts := 0, 0
		for _, err := range errs {
			switch hook.ErrorCode(err) {
			case "":
				ok++
			case hook.EConflict:
				conflicts++
			default:
				t.Fatalf("DeleteAPIKey: %v", err)
			}
		}
		if ok != 1 || conflicts != 1 {
			t.Fatalf("two concurrent deletes of the two admin keys: %d succeeded, %d conflicts; want 1 and 1", ok, conflicts)
		}
		n, err := h.s.CountAPIKeys(h.ctx)
		must(t, err, "CountAPIKeys")
		eq(t, n, 1, "admin keys left")
	})
}
