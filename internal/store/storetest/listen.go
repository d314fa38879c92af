package storetest

import (
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// listenClaim claims as h.claim, for a node holding the streams of the
// listen endpoints listen.
func (h *h) listenClaim(owner string, now time.Time, listen ...string) *store.ClaimResult {
	h.t.Helper()
	res, err := h.s.ClaimDeliveries(h.ctx, &store.ClaimDeliveriesParams{
		Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Limit: 10, PerEndpoint: 10,
		ListenEndpoints: listen,
	})
	must(h.t, err, "ClaimDeliveries")
	return res
}

// testListenEndpoints checks the endpoints of `hookd listen`: their kind,
// that only the node holding a listen endpoint's stream claims its
// deliveries, and their heartbeat and reaping.
func testListenEndpoints(t *testing.T, open Opener) {
	t.Run("Kind", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		web := h.endpoint(app.ID)
		eq(t, web.Kind, hook.EndpointKindHTTP, "Kind of a new endpoint (Kind unset)")
		lis := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.Kind = hook.EndpointKindListen })
		eq(t, lis.Kind, hook.EndpointKindListen, "Kind returned by CreateEndpoint")
		got, err := h.s.GetEndpoint(h.ctx, app.ID, lis.ID)
		must(t, err, "GetEndpoint")
		eq(t, got.Kind, hook.EndpointKindListen, "Kind read back")
		got, err = h.s.GetEndpoint(h.ctx, app.ID, web.ID)
		must(t, err, "GetEndpoint")
		eq(t, got.Kind, hook.EndpointKindHTTP, "Kind read back")
	})

	t.Run("ClaimOnlyWhereAttached", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		web := h.endpoint(app.ID)
		lis := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.Kind = hook.EndpointKindListen })
		fifo := h.endpoint(app.ID, func(p *store.CreateEndpointParams) {
			p.Kind = hook.EndpointKindListen
			p.Ordering = hook.OrderingFIFO
		})
		res := h.insert(app.ID, ev{endpoints: []string{web.ID, lis.ID, fifo.ID}})
		byEP := map[string]string{}
		for _, d := range res.Deliveries {
			byEP[d.EndpointID] = d.ID
		}

		// A node without the streams takes the http endpoint's only.
		c := h.listenClaim("other", h.now)
		deepEq(t, jobIDs(c), []string{byEP[web.ID]}, "jobs claimed by a node holding no stream")
		c = h.listenClaim("other", h.now, hook.NewID("ep"))
		eq(t, len(c.Jobs), 0, "jobs claimed by a node holding another stream")
		eq(t, len(h.claim("other", h.now, 10, 10).Jobs), 0, "jobs claimed by a plain claim")

		// The node holding them takes theirs, FIFO included.
		c = h.listenClaim("holder", h.now, lis.ID, fifo.ID)
		deepEq(t, sorted(jobIDs(c)), sorted([]string{byEP[lis.ID], byEP[fifo.ID]}), "jobs claimed by the holder")
		eq(t, c.Endpoints[lis.ID].Kind, hook.EndpointKindListen, "claimed endpoint's Kind")
	})

	t.Run("TouchAndReap", func(t *testing.T) {
		h := setup(t, open)
		app := h.app("")
		web := h.endpoint(app.ID)
		old := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.Kind = hook.EndpointKindListen })
		kept := h.endpoint(app.ID, func(p *store.CreateEndpointParams) { p.Kind = hook.EndpointKindListen })
		fresh := h.endpoint(app.ID, func(p *store.CreateEndpointParams) {
			p.Kind = hook.EndpointKindListen
			p.Now = h.at(20 * time.Second)
		})
		res := h.insert(app.ID, ev{endpoints: []string{old.ID}})

		n, err := h.s.TouchListenEndpoints(h.ctx, &store.TouchListenEndpointsParams{
			IDs: []string{kept.ID, web.ID, hook.NewID("ep")}, Now: h.at(10 * time.Second)})
		must(t, err, "TouchListenEndpoints")
		eq(t, n, 1, "listen endpoints touched (an http one and an unknown one are not)")

		gone, err := h.s.DeleteStaleListenEndpoints(h.ctx, &store.DeleteStaleListenEndpointsParams{Before: h.at(10 * time.Second)})
		must(t, err, "DeleteStaleListenEndpoints")
		if len(gone) != 1 || gone[0].ID != old.ID || gone[0].AppID != app.ID {
			t.Fatalf("reaped %v, want only %s", gone, old.ID)
		}
		_, err = h.s.GetEndpoint(h.ctx, app.ID, old.ID)
		wantErr(t, err, hook.ENotFound, "-", "GetEndpoint of a reaped endpoint")
		_, err = h.s.GetDelivery(h.ctx, app.ID, res.Deliveries[0].ID)
		wantErr(t, err, hook.ENotFound, "-", "GetDelivery of a reaped endpoint's delivery")
		for _, e := range []*hook.Endpoint{web, kept, fresh} {
			_, err := h.s.GetEndpoint(h.ctx, app.ID, e.ID)
			must(t, err, "GetEndpoint of an endpoint not stale")
		}
		n, err = h.s.TouchListenEndpoints(h.ctx, &store.TouchListenEndpointsParams{IDs: []string{old.ID}, Now: h.at(11 * time.Second)})
		must(t, err, "TouchListenEndpoints")
		eq(t, n, 0, "touching a reaped endpoint")

		// Later, every listen endpoint is stale; an http one never is.
		gone, err = h.s.DeleteStaleListenEndpoints(h.ctx, &store.DeleteStaleListenEndpointsParams{Before: h.at(time.Hour)})
		must(t, err, "DeleteStaleListenEndpoints")
		eq(t, len(gone), 2, "reaped later")
		_, err = h.s.GetEndpoint(h.ctx, app.ID, web.ID)
		must(t, err, "GetEndpoint of the http endpoint")
	})
}
