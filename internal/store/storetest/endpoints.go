package storetest

import (
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

func testEndpoints(t *testing.T, open Opener) {
	t.Run("CreateGet", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		secret := hook.NewSecret()
		p := &store.CreateEndpointParams{
			ID: hook.NewID("ep"), AppID: app.ID, URL: "https://example.com/a?x=1", Description: "main",
			EventTypes: []string{"order.*", "user.created"}, Disabled: true,
			Headers: map[string]string{"X-Env": "prod"}, Metadata: map[string]string{"team": "a"},
			Secret: secret, Now: h.now,
		}
		e, err := h.s.CreateEndpoint(h.ctx, p)
		must(t, err, "CreateEndpoint")
		check := func(e *hook.Endpoint, what string) {
			t.Helper()
			eq(t, e.ID, p.ID, what+" ID")
			eq(t, e.AppID, app.ID, what+" AppID")
			eq(t, e.URL, p.URL, what+" URL")
			eq(t, e.Description, "main", what+" Description")
			wantList(t, e.EventTypes, []string{"order.*", "user.created"}, what+" EventTypes")
			eq(t, e.Disabled, true, what+" Disabled")
			wantMap(t, e.Headers, map[string]string{"X-Env": "prod"}, what+" Headers")
			wantMap(t, e.Metadata, map[string]string{"team": "a"}, what+" Metadata")
			eq(t, e.Secret, secret, what+" Secret")
			eq(t, e.PreviousSecret, "", what+" PreviousSecret")
			if !e.PreviousSecretExpiresAt.IsZero() {
				t.Fatalf("%s PreviousSecretExpiresAt: got %v, want zero", what, e.PreviousSecretExpiresAt)
			}
			wantTime(t, e.CreatedAt, h.now, what+" CreatedAt")
			wantTime(t, e.UpdatedAt, h.now, what+" UpdatedAt")
		}
		check(e, "created")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, p.ID)
		must(t, err, "GetEndpoint")
		check(got, "stored")

		_, err = h.s.GetEndpoint(h.ctx, other.ID, p.ID)
		wantErr(t, err, hook.ENotFound, "-", "GetEndpoint through another app")
		_, err = h.s.GetEndpoint(h.ctx, app.ID, hook.NewID("ep"))
		wantErr(t, err, hook.ENotFound, "-", "GetEndpoint unknown")

		_, err = h.s.CreateEndpoint(h.ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: hook.NewID("app"),
			URL: "https://example.com", Secret: secret, Now: h.now})
		wantErr(t, err, hook.ENotFound, "-", "CreateEndpoint for an unknown app")
		dup := *p
		dup.AppID = other.ID
		_, err = h.s.CreateEndpoint(h.ctx, &dup)
		wantErr(t, err, hook.EConflict, "-", "CreateEndpoint with a taken id")
	})

	t.Run("MaxPerApp", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		limit := func(n int) func(*store.CreateEndpointParams) {
			return func(p *store.CreateEndpointParams) { p.MaxPerApp = n }
		}
		create := func(appID string, maxPerApp int) error {
			_, err := h.s.CreateEndpoint(h.ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: appID,
				URL: "https://example.com/hook", Secret: hook.NewSecret(), MaxPerApp: maxPerApp, Now: h.now})
			return err
		}
		h.endpoint(app.ID, limit(2))
		h.endpoint(app.ID, limit(2))
		err := create(app.ID, 2)
		wantErr(t, err, hook.EConflict, "", "CreateEndpoint over MaxPerApp")
		if !errors.Is(err, store.ErrEndpointLimit) {
			t.Fatalf("CreateEndpoint over MaxPerApp: %v does not wrap store.ErrEndpointLimit", err)
		}
		// The limit is per app, and a higher or no limit lets it grow.
		h.endpoint(other.ID, limit(2))
		h.endpoint(app.ID, limit(3))
		h.endpoint(app.ID)
		wantErr(t, create(hook.NewID("app"), 2), hook.ENotFound, "-", "CreateEndpoint with MaxPerApp for an unknown app")
		p, err := h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{AppID: app.ID, ListParams: store.ListParams{Limit: store.MaxLimit}})
		must(t, err, "ListEndpoints")
		eq(t, len(p.Data), 4, "endpoints of the app")
	})

	t.Run("MaxPerAppConcurrently", func(t *testing.T) {
		// 200 creates at once against a limit of 10: exactly 10 are
		// stored, the others are refused, none passes the limit.
		h := setup(t, open)
		app := h.app("")
		const tries, maxPerApp = 200, 10
		errs := make([]error, tries)
		var wg sync.WaitGroup
		for i := range tries {
			wg.Go(func() {
				_, errs[i] = h.s.CreateEndpoint(h.ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
					URL: "https://example.com/hook", Secret: hook.NewSecret(), MaxPerApp: maxPerApp, Now: h.now})
			})
		}
		wg.Wait()
		created := 0
		for _, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrEndpointLimit) || hook.ErrorCode(err) != hook.EConflict:
				t.Fatalf("a concurrent create failed with %v, want the limit's conflict", err)
			}
		}
		p, err := h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{AppID: app.ID, ListParams: store.ListParams{Limit: store.MaxLimit}})
		must(t, err, "ListEndpoints")
		eq(t, created, maxPerApp, "creates that succeeded")
		eq(t, len(p.Data), maxPerApp, "endpoints stored")
	})

	t.Run("NilCollections", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		e := h.endpoint(app.ID)
		wantList(t, e.EventTypes, nil, "returned EventTypes")
		wantMap(t, e.Headers, nil, "returned Headers")
		wantMap(t, e.Metadata, nil, "returned Metadata")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		wantList(t, got.EventTypes, nil, "stored EventTypes")
		wantMap(t, got.Headers, nil, "stored Headers")
		wantMap(t, got.Metadata, nil, "stored Metadata")
		b, _ := json.Marshal(got)
		var m map[string]any
		must(t, json.Unmarshal(b, &m), "unmarshal")
		if _, ok := m["event_types"].([]any); !ok {
			t.Fatalf("event_types serialises as %v, want []", m["event_types"])
		}
		if _, ok := m["headers"].(map[string]any); !ok {
			t.Fatalf("headers serialises as %v, want {}", m["headers"])
		}
	})

	t.Run("List", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		var ids []string
		for i := range 7 {
			ids = append(ids, h.endpoint(app.ID).ID)
			if i%3 == 0 {
				h.endpoint(other.ID)
			}
		}
		checkPaging(t, ids, func(lp store.ListParams) (*store.Page[*hook.Endpoint], error) {
			return h.s.ListEndpoints(h.ctx, &store.ListEndpointsParams{ListParams: lp, AppID: app.ID})
		}, func(e *hook.Endpoint) string { return e.ID })
	})

	t.Run("ListEnabled", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		a := h.endpoint(app.ID)
		h.endpoint(app.ID, disabled)
		b := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.EventTypes = []string{"x.y"} })
		h.endpoint(other.ID)
		got, err := h.s.ListEnabledEndpoints(h.ctx, app.ID)
		must(t, err, "ListEnabledEndpoints")
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
			eq(t, e.Disabled, false, "Disabled")
			if e.Secret == "" {
				t.Fatal("ListEnabledEndpoints: endpoint without its secret")
			}
		}
		deepEq(t, sorted(ids), sorted([]string{a.ID, b.ID}), "enabled endpoints")
		none, err := h.s.ListEnabledEndpoints(h.ctx, hook.NewID("app"))
		must(t, err, "ListEnabledEndpoints of an unknown app")
		eq(t, len(none), 0, "endpoints of an unknown app")
	})

	t.Run("Update", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		e := h.endpoint(app.ID, func(p *store.CreateEndpointParams) {
			p.EventTypes = []string{"a.b"}
			p.Headers = map[string]string{"X-A": "1"}
			p.Metadata = map[string]string{"m": "1"}
		})
		later := h.at(time.Minute)
		url := "https://example.org/new"
		up, err := h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: e.ID, URL: &url, Now: later})
		must(t, err, "UpdateEndpoint url")
		eq(t, up.URL, url, "URL")
		eq(t, up.Description, "d", "Description untouched")
		wantList(t, up.EventTypes, []string{"a.b"}, "EventTypes untouched")
		wantMap(t, up.Headers, map[string]string{"X-A": "1"}, "Headers untouched")
		wantMap(t, up.Metadata, map[string]string{"m": "1"}, "Metadata untouched")
		eq(t, up.Secret, e.Secret, "Secret untouched")
		wantTime(t, up.CreatedAt, h.now, "CreatedAt")
		wantTime(t, up.UpdatedAt, later, "UpdatedAt")

		desc, types, dis := "changed", []string{}, true
		hdr, meta := map[string]string{"X-B": "2"}, map[string]string{}
		up, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: e.ID,
			Description: &desc, EventTypes: &types, Disabled: &dis, Headers: &hdr, Metadata: &meta, Now: later})
		must(t, err, "UpdateEndpoint all")
		eq(t, up.URL, url, "URL kept")
		eq(t, up.Description, desc, "Description")
		wantList(t, up.EventTypes, nil, "EventTypes emptied")
		eq(t, up.Disabled, true, "Disabled")
		wantMap(t, up.Headers, hdr, "Headers")
		wantMap(t, up.Metadata, nil, "Metadata emptied")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		deepEq(t, got, up, "stored endpoint")

		_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: other.ID, EndpointID: e.ID, URL: &url, Now: later})
		wantErr(t, err, hook.ENotFound, "-", "UpdateEndpoint through another app")
		_, err = h.s.UpdateEndpoint(h.ctx, &store.UpdateEndpointParams{AppID: app.ID, EndpointID: hook.NewID("ep"), URL: &url, Now: later})
		wantErr(t, err, hook.ENotFound, "-", "UpdateEndpoint unknown")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		eq(t, got.URL, url, "URL after failed updates")
	})

	t.Run("Delete", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		gone, kept := h.endpoint(app.ID), h.endpoint(app.ID)
		res := h.insert(app.ID, ev{endpoints: []string{gone.ID, kept.ID}, claimed: true, owner: "w", lease: h.at(time.Minute)})
		var goneDlv, keptDlv string
		for _, d := range res.Deliveries {
			if d.EndpointID == gone.ID {
				goneDlv = d.ID
			} else {
				keptDlv = d.ID
			}
		}
		h.record(attempt{owner: "w", delivery: goneDlv, status: 500, sched: 1,
			decision: hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: h.at(time.Second)}})

		wantErr(t, h.s.DeleteEndpoint(h.ctx, other.ID, gone.ID), hook.ENotFound, "-", "DeleteEndpoint through another app")
		must(t, h.s.DeleteEndpoint(h.ctx, app.ID, gone.ID), "DeleteEndpoint")
		_, err := h.s.GetEndpoint(h.ctx, app.ID, gone.ID)
		wantErr(t, err, hook.ENotFound, "-", "GetEndpoint after delete")
		_, err = h.s.GetDelivery(h.ctx, app.ID, goneDlv)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery of the deleted endpoint")
		h.delivery(app.ID, keptDlv)
		_, err = h.s.GetEvent(h.ctx, app.ID, res.Event.ID)
		must(t, err, "GetEvent: the event stays")
		eq(t, h.pending(), 1, "pending after delete")
		wantErr(t, h.s.DeleteEndpoint(h.ctx, app.ID, gone.ID), hook.ENotFound, "-", "DeleteEndpoint twice")
	})

	t.Run("RotateSecret", func(t *testing.T) {
		h := setup(t, open)
		app, other := h.app(""), h.app("")
		e := h.endpoint(app.ID)
		newSecret := hook.NewSecret()
		expires := h.at(24*time.Hour + 123*time.Microsecond)
		later := h.at(time.Minute)
		r, err := h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{AppID: app.ID, EndpointID: e.ID,
			Secret: newSecret, PreviousExpiresAt: expires, Now: later})
		must(t, err, "RotateEndpointSecret")
		check := func(r *hook.Endpoint, what string) {
			t.Helper()
			eq(t, r.Secret, newSecret, what+" Secret")
			eq(t, r.PreviousSecret, e.Secret, what+" PreviousSecret")
			wantTime(t, r.PreviousSecretExpiresAt, expires, what+" PreviousSecretExpiresAt")
			wantTime(t, r.UpdatedAt, later, what+" UpdatedAt")
			eq(t, r.URL, e.URL, what+" URL")
			deepEq(t, r.SigningSecrets(h.now), []string{newSecret, e.Secret}, what+" signing secrets")
		}
		check(r, "returned")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		check(got, "stored")

		_, err = h.s.RotateEndpointSecret(h.ctx, &store.RotateEndpointSecretParams{AppID: other.ID, EndpointID: e.ID,
			Secret: hook.NewSecret(), PreviousExpiresAt: expires, Now: later})
		wantErr(t, err, hook.ENotFound, "-", "RotateEndpointSecret through another app")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, e.ID)
		must(t, err, "GetEndpoint")
		eq(t, got.Secret, newSecret, "Secret after failed rotate")
	})
}
