package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testAppContracts covers what an app keeps of its contract settings: its
// catalog setting ("" follows the deployment's) and its default secret
// overlap on rotation (hook.DefaultSecretOverlapSeconds unless set, 0
// kept as 0), through create, get, list, update and a claim's apps.
func testAppContracts(t *testing.T, open Opener) {
	t.Run("Defaults", func(t *testing.T) {
		h := setup(t, open)
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "plain", Now: h.now})
		must(t, err, "CreateApp")
		eq(t, a.Catalog, "", "created Catalog")
		eq(t, a.SecretOverlapSeconds, hook.DefaultSecretOverlapSeconds, "created SecretOverlapSeconds")
		got, err := h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		eq(t, got.Catalog, "", "stored Catalog")
		eq(t, got.SecretOverlapSeconds, hook.DefaultSecretOverlapSeconds, "stored SecretOverlapSeconds")
	})

	t.Run("SetAndUpdate", func(t *testing.T) {
		h := setup(t, open)
		zero := 0
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{
			ID: hook.NewID("app"), UID: "strict", Name: "Strict", Catalog: hook.CatalogStrict,
			SecretOverlapSeconds: &zero, Now: h.now,
		})
		must(t, err, "CreateApp")
		check := func(a *hook.App, catalog string, overlap int, what string) {
			t.Helper()
			eq(t, a.Catalog, catalog, what+" Catalog")
			eq(t, a.SecretOverlapSeconds, overlap, what+" SecretOverlapSeconds")
		}
		check(a, hook.CatalogStrict, 0, "created")
		got, err := h.s.GetApp(h.ctx, "strict")
		must(t, err, "GetApp")
		check(got, hook.CatalogStrict, 0, "stored")
		page, err := h.s.ListApps(h.ctx, &store.ListAppsParams{})
		must(t, err, "ListApps")
		eq(t, len(page.Data), 1, "apps listed")
		check(page.Data[0], hook.CatalogStrict, 0, "listed")

		// One field at a time; the other stays, and so do the rest.
		opened, hour := hook.CatalogOpen, 3600
		up, err := h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Catalog: &opened, Now: h.at(time.Second)})
		must(t, err, "UpdateApp catalog")
		check(up, hook.CatalogOpen, 0, "after catalog")
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, SecretOverlapSeconds: &hour, Now: h.at(2 * time.Second)})
		must(t, err, "UpdateApp overlap")
		check(up, hook.CatalogOpen, 3600, "after overlap")
		eq(t, up.Name, "Strict", "Name after updates")
		inherit := ""
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Catalog: &inherit, Now: h.at(3 * time.Second)})
		must(t, err, "UpdateApp catalog back to the deployment's")
		check(up, "", 3600, "after inherit")
		got, err = h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		check(got, "", 3600, "stored after updates")

		// The dispatcher reads apps with its claims: they carry the settings.
		ep := h.endpoint(a.ID)
		h.insert(a.ID, ev{endpoints: []string{ep.ID}})
		res := h.claim("n1", h.at(time.Hour), 10, 10)
		ca := res.Apps[a.ID]
		if ca == nil {
			t.Fatalf("claim: app %s missing", a.ID)
		}
		check(ca, "", 3600, "claimed")
	})
}
