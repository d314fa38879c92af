package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// testProfiles covers what provider profiles keep: an app's delivery
// settings, an endpoint's uid, profile, envelope and filter, and the event
// fields profiles render (previous attributes, livemode, request id, api
// version), with the livemode filters of the lists.
func testProfiles(t *testing.T, open Opener) {
	sig := &hook.SignatureScheme{
		Scheme: hook.SchemeHMAC, Header: "X-Shop-Signature", TimestampHeader: "X-Shop-Timestamp", Encoding: hook.SignatureHex,
		Payload: hook.SignTimestampBody, Prefix: "sha256=", Key: hook.KeySecretBytes,
	}

	t.Run("AppSettings", func(t *testing.T) {
		h := setup(t, open)
		a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{
			ID: hook.NewID("app"), UID: "shop", Name: "Shop", Profile: hook.ProfileReflow,
			Envelope: `{id, type}`, APIVersion: "2023-01-30", Livemode: true, Signature: sig, Now: h.now,
		})
		must(t, err, "CreateApp")
		check := func(a *hook.App, profile, envelope, version string, live bool, sig *hook.SignatureScheme, what string) {
			t.Helper()
			eq(t, a.Profile, profile, what+" Profile")
			eq(t, a.Envelope, envelope, what+" Envelope")
			eq(t, a.APIVersion, version, what+" APIVersion")
			eq(t, a.Livemode, live, what+" Livemode")
			deepEq(t, a.Signature, sig, what+" Signature")
		}
		check(a, hook.ProfileReflow, `{id, type}`, "2023-01-30", true, sig, "created")
		got, err := h.s.GetApp(h.ctx, "shop")
		must(t, err, "GetApp")
		check(got, hook.ProfileReflow, `{id, type}`, "2023-01-30", true, sig, "stored")
		page, err := h.s.ListApps(h.ctx, &store.ListAppsParams{})
		must(t, err, "ListApps")
		eq(t, len(page.Data), 1, "apps listed")
		check(page.Data[0], hook.ProfileReflow, `{id, type}`, "2023-01-30", true, sig, "listed")

		// One field at a time; the others stay.
		flo, empty, no := hook.ProfileFlo, "", false
		up, err := h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Profile: &flo, Now: h.at(time.Second)})
		must(t, err, "UpdateApp profile")
		check(up, hook.ProfileFlo, `{id, type}`, "2023-01-30", true, sig, "after profile")
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Envelope: &empty, Livemode: &no, Now: h.at(2 * time.Second)})
		must(t, err, "UpdateApp envelope, livemode")
		check(up, hook.ProfileFlo, "", "2023-01-30", false, sig, "after envelope")
		var none *hook.SignatureScheme
		up, err = h.s.UpdateApp(h.ctx, &store.UpdateAppParams{AppID: a.ID, Signature: &none, APIVersion: &empty, Now: h.at(3 * time.Second)})
		must(t, err, "UpdateApp signature")
		check(up, hook.ProfileFlo, "", "", false, nil, "after signature")
		got, err = h.s.GetApp(h.ctx, a.ID)
		must(t, err, "GetApp")
		check(got, hook.ProfileFlo, "", "", false, nil, "stored after updates")
		wantTime(t, got.UpdatedAt, h.at(3*time.Second), "UpdatedAt")

		// The caller's scheme is copied, not kept.
		sig2 := *sig
		b, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "B", Signature: &sig2, Now: h.now})
		must(t, err, "CreateApp B")
		sig2.Header = "X-Changed"
		eq(t, b.Signature.Header, "X-Shop-Signature", "returned scheme after the caller changed its copy")
	})

	t.Run("EndpointSettings", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app("a"), h.app("b")
		e := h.endpoint(app.ID, func(p *store.CreateEndpointParams) {
			p.UID, p.Profile, p.Envelope, p.Filter = "warehouse", hook.ProfileFlexprice, `.data`, `.data.paid`
		})
		check := func(e *hook.Endpoint, uid, profile, envelope, filter, what string) {
			t.Helper()
			eq(t, e.UID, uid, what+" UID")
			eq(t, e.Profile, profile, what+" Profile")
			eq(t, e.Envelope, envelope, what+" Envelope")
			eq(t, e.Filter, filter, what+" Filter")
		}
		check(e, "warehouse", hook.ProfileFlexprice, `.data`, `.data.paid`, "created")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		check(got, "warehouse", hook.ProfileFlexprice, `.data`, `.data.paid`, "stored")
		enabled, err := h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints")
		check(enabled[0], "warehouse", hook.ProfileFlexprice, `.data`, `.data.paid`, "enabled list")
		page, err := h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{AppID: app.ID})
		must(t, err, "ListEndpoints")
		check(page.Data[0], "warehouse", hook.ProfileFlexprice, `.data`, `.data.paid`, "list")

		// uid is unique in its app only, and optional.
		_, err = h.s.CreateEndpoint(h.ctx, &store.CreateEndpointParams{
			ID: hook.NewID("ep"), AppID: app.ID, URL: "https://example.com/x", UID: "warehouse", Secret: hook.NewSecret(), Now: h.now,
		})
		wantErr(t, err, hook.EConflict, "uid", "a second endpoint with the uid in the app")
		h.endpoint(other.ID, func(p *store.CreateEndpointParams) { p.UID = "warehouse" })
		n1, n2 := h.endpoint(app.ID), h.endpoint(app.ID)
		eq(t, n1.UID+n2.UID, "", "endpoints without uid")
		taken := "warehouse"
		_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: n1.ID, UID: &taken, Now: h.now})
		wantErr(t, err, hook.EConflict, "uid", "UpdateEndpoint to a taken uid")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, n1.ID)
		must(t, err, "GetEndpoint after a refused update")
		eq(t, got.UID, "", "uid after a refused update")

		// Update one at a time; clearing works.
		empty, flo := "", hook.ProfileFlo
		up, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: e.ID, Profile: &flo, Filter: &empty, Now: h.now})
		must(t, err, "UpdateEndpoint")
		check(up, "warehouse", hook.ProfileFlo, `.data`, "", "after update")
		up, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: e.ID, UID: &empty, Envelope: &empty, Now: h.now})
		must(t, err, "UpdateEndpoint clear")
		check(up, "", hook.ProfileFlo, "", "", "after clearing")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		check(got, "", hook.ProfileFlo, "", "", "stored after clearing")
	})

	t.Run("EventFields", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("a")
		ep := h.endpoint(app.ID)
		insert := func(id string, live bool, prev string) *store.InsertEventResult {
			t.Helper()
			e := &hook.Event{
				ID: id, AppID: app.ID, Type: "user.updated", Data: json.RawMessage(`{"name":"New"}`),
				Livemode: live, RequestID: "req_" + id, APIVersion: "2023-01-30", CreatedAt: h.now,
			}
			if prev != "" {
				e.PreviousAttributes = json.RawMessage(prev)
			}
			res, err := h.s.InsertEvent(h.ctx, &store.InsertEventParams{
				Event: e, Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID}},
			})
			must(t, err, "InsertEvent "+id)
			return res
		}
		check := func(e *hook.Event, id string, live bool, prev, what string) {
			t.Helper()
			eq(t, e.ID, id, what+" ID")
			eq(t, e.Livemode, live, what+" Livemode")
			eq(t, e.RequestID, "req_"+id, what+" RequestID")
			eq(t, e.APIVersion, "2023-01-30", what+" APIVersion")
			wantJSON(t, e.PreviousAttributes, prev, what+" PreviousAttributes")
		}
		live := insert("live1", true, `{"name":"Old"}`)
		check(live.Event, "live1", true, `{"name":"Old"}`, "inserted")
		eq(t, live.Deliveries[0].Livemode, true, "inserted delivery Livemode")
		test := insert("test1", false, "")
		check(test.Event, "test1", false, "", "inserted test event")
		eq(t, test.Deliveries[0].Livemode, false, "inserted test delivery Livemode")

		got, err := h.s.GetEvent(h.ctx, app.ID, "live1")
		must(t, err, "GetEvent")
		check(got, "live1", true, `{"name":"Old"}`, "stored")
		got, err = h.s.GetEvent(h.ctx, app.ID, "test1")
		must(t, err, "GetEvent test")
		check(got, "test1", false, "", "stored test event")
		replay, err := h.s.InsertEvent(h.ctx, &store.InsertEventParams{
			Event: &hook.Event{ID: "live1", AppID: app.ID, Type: "user.updated", Data: json.RawMessage(`{}`), Livemode: false, CreatedAt: h.now},
		})
		must(t, err, "InsertEvent replay")
		eq(t, replay.Created, false, "replay Created")
		check(replay.Event, "live1", true, `{"name":"Old"}`, "replayed")

		d, err := h.s.GetDelivery(h.ctx, app.ID, test.Deliveries[0].ID)
		must(t, err, "GetDelivery")
		eq(t, d.Livemode, false, "stored test delivery Livemode")

		yes, no := true, false
		for _, tt := range []struct {
			live *bool
			want []string
		}{{nil, []string{"test1", "live1"}}, {&yes, []string{"live1"}}, {&no, []string{"test1"}}} {
			evs, err := h.s.ListEvents(h.ctx, &store.ListEventsParams{AppID: app.ID, Livemode: tt.live})
			must(t, err, "ListEvents")
			var ids []string
			for _, e := range evs.Data {
				ids = append(ids, e.ID)
			}
			deepEq(t, ids, tt.want, "ListEvents livemode filter")
			dls, err := h.s.ListDeliveries(h.ctx, &store.ListDeliveriesParams{AppID: app.ID, Livemode: tt.live})
			must(t, err, "ListDeliveries")
			ids = ids[:0]
			for _, d := range dls.Data {
				ids = append(ids, d.EventID)
			}
			deepEq(t, ids, tt.want, "ListDeliveries livemode filter")
		}

		// A claim carries the fields, and the endpoints' apps.
		res := h.claim("node-a", h.at(time.Second), 10, 10)
		eq(t, len(res.Jobs), 2, "claimed jobs")
		for _, j := range res.Jobs {
			if j.Event.ID == "live1" {
				check(j.Event, "live1", true, `{"name":"Old"}`, "claimed")
			} else {
				check(j.Event, "test1", false, "", "claimed test event")
			}
		}
		a, ok := res.Apps[app.ID]
		if !ok {
			t.Fatalf("claim: app %s missing from Apps %v", app.ID, res.Apps)
		}
		eq(t, a.Name, app.Name, "claimed app Name")
	})
}
