package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testAppBranding: an app's branding (its consumer portal's header) is
// kept as given on create and update, read back by get and list, kept by
// updates of other fields, and removed by an update to nil.
func testAppBranding(t *testing.T, open Opener) {
	t.Run("SetKeepClear", func(t *testing.T) {
		h := setup(t, open)
		b := &hook.Branding{DisplayName: "Acme Webhooks ✓", LogoURL: "https://cdn.example.com/acme.png", AccentColor: "#0a7cff"}
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "Acme", Branding: b, Now: h.now})
		must(t, err, "CreateApp with branding")
		b.DisplayName = "changed after the call"
		deepEq(t, a.Branding, &hook.Branding{DisplayName: "Acme Webhooks ✓", LogoURL: "https://cdn.example.com/acme.png", AccentColor: "#0a7cff"}, "returned Branding (a copy)")
		got, err := h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		deepEq(t, got, a, "stored app")
		plain := h.app("plain")
		if plain.Branding != nil {
			t.Fatalf("an app created without branding has %+v", plain.Branding)
		}
		p, err := h.s.ListApps(h.ctx, &store.ListAppsParams{})
		must(t, err, "ListApps")
		eq(t, len(p.Data), 2, "apps listed")
		deepEq(t, p.Data[1], a, "listed app with branding")
		if p.Data[0].Branding != nil {
			t.Fatalf("listed app without branding has %+v", p.Data[0].Branding)
		}

		later := h.at(time.Hour)
		name := "Acme 2"
		up, err := h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Name: &name, Now: later})
		must(t, err, "UpdateApp name")
		deepEq(t, up.Branding, a.Branding, "Branding kept by an update of the name")

		nb := &hook.Branding{AccentColor: "#000000"}
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Branding: &nb, Now: later})
		must(t, err, "UpdateApp branding")
		deepEq(t, up.Branding, &hook.Branding{AccentColor: "#000000"}, "Branding replaced")
		got, err = h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp after the update")
		deepEq(t, got.Branding, up.Branding, "stored Branding")

		var none *hook.Branding
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Branding: &none, Now: later})
		must(t, err, "UpdateApp branding nil")
		got, err = h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp after clearing")
		if up.Branding != nil || got.Branding != nil {
			t.Fatalf("Branding after clearing: returned %+v, stored %+v", up.Branding, got.Branding)
		}
	})
}
