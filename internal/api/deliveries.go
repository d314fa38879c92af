package api

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// DeliveryParam is the {app} and {dlv} path parameters.
type DeliveryParam struct {
	AppParam
	Delivery string `path:"dlv" doc:"The delivery's id (dlv_...)."`
}

// DeliveryWithAttempts is a delivery as one reads it alone: with every
// attempt, oldest first (an empty list before the first).
type DeliveryWithAttempts struct {
	Attempts []*hook.Attempt `json:"attempts" doc:"Every attempt made, oldest first."`
	*hook.Delivery
}

type deliveryOutput struct {
	Body *DeliveryWithAttempts
}

type retryOutput struct {
	Body *hook.Delivery
}

type recoverRequest struct {
	Since time.Time `json:"since" doc:"Recover the failed deliveries created at or after this time (RFC 3339)."`
}

type recoverOutput struct {
	Body struct {
		Recovered int `json:"recovered" doc:"How many failed deliveries were made due again."`
	}
}

func (s *server) registerDeliveries() {
	huma.Register(s.api, s.listOperation("/v1/apps/{app}/deliveries", "list-deliveries", "Deliveries", "List an app's deliveries, newest first"),
		func(ctx context.Context, in *struct {
			AppParam
			ListQuery
			Status    string `query:"status" enum:"pending,paused,succeeded,failed" doc:"Only deliveries with this status (paused: pending, of a disabled endpoint)."`
			Endpoint  string `query:"endpoint" doc:"Only deliveries to this endpoint (its id or uid). An unknown endpoint gives an empty list."`
			Event     string `query:"event" doc:"Only deliveries of this event (its id)."`
			EventType string `query:"event_type" doc:"Only deliveries of events of these types. Comma-separated event type names or patterns, at most 20: a '*' segment matches one segment, a final '*' one or more, as in an endpoint's event_types (order.* matches order.created and order.payment.failed; *.created matches order.created; * matches all). Keeps what matches any of them." example:"order.*"`
			Since     string `query:"since" format:"date-time" doc:"Only deliveries created at or after this time (RFC 3339)."`
			Until     string `query:"until" format:"date-time" doc:"Only deliveries created before this time (RFC 3339); after since."`
			Livemode  string `query:"livemode" enum:"true,false" doc:"true: deliveries of live events only; false: of test events only; absent: both."`
		}) (*listOutput[*hook.Delivery], error) {
			p := &store.ListDeliveriesParams{
				ListParams: in.ListQuery.params(), Status: in.Status, EventID: in.Event,
				Livemode: livemodeFilter(in.Livemode),
			}
			var errs []*huma.ErrorDetail
			types, d := parseTypePatterns("event_type", in.EventType)
			if d != nil {
				errs = append(errs, d)
			}
			p.EventTypes = types
			p.Since, p.Until, errs = timeRange(errs, in.Since, in.Until)
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			var err error
			if p.AppID, err = s.appID(ctx, in.App); err != nil {
				return nil, err
			}
			if p.EndpointID, err = s.endpointFilter(ctx, p.AppID, in.Endpoint); err != nil {
				return nil, err
			}
			page, err := s.store.ListDeliveries(ctx, p)
			if err != nil {
				return nil, s.fail(ctx, err, "query")
			}
			return &listOutput[*hook.Delivery]{Body: newList(page)}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/deliveries/{dlv}", "get-delivery", "Deliveries", "Get a delivery with its attempts", http.StatusOK),
		func(ctx context.Context, in *DeliveryParam) (*deliveryOutput, error) {
			appID, err := s.appID(ctx, in.App)
			if err != nil {
				return nil, err
			}
			d, err := s.store.GetDelivery(ctx, appID, in.Delivery)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			out := &DeliveryWithAttempts{Attempts: d.Attempts, Delivery: d}
			if out.Attempts == nil {
				out.Attempts = []*hook.Attempt{}
			}
			return &deliveryOutput{Body: out}, nil
		})

	retry := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/deliveries/{dlv}/retry", "retry-delivery", "Deliveries", "Retry a delivery now", http.StatusAccepted)
	retry.Description = "A succeeded or failed delivery gets one more (manual) attempt; a pending one is made due now. " +
		"A delivery being attempted right now is a conflict (409), and so is one whose endpoint is disabled (409, naming the endpoint): " +
		"enable the endpoint first."
	huma.Register(s.api, retry,
		func(ctx context.Context, in *DeliveryParam) (*retryOutput, error) {
			appID, err := s.appID(ctx, in.App)
			if err != nil {
				return nil, err
			}
			d, err := s.store.RetryDelivery(ctx, &store.RetryDeliveryParams{AppID: appID, DeliveryID: in.Delivery, Now: s.now().UTC()})
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			s.disp.Wake()
			return &retryOutput{Body: d}, nil
		})

	recov := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/endpoints/{ep}/recover", "recover-endpoint", "Endpoints", "Retry an endpoint's failed deliveries", http.StatusAccepted)
	recov.Description = "Every failed delivery to the endpoint created at or after `since` gets one more (manual) attempt. " +
		"A disabled endpoint is a conflict (409): enable it first."
	huma.Register(s.api, recov,
		func(ctx context.Context, in *struct {
			EndpointParam
			Body recoverRequest
		}) (*recoverOutput, error) {
			ep, err := s.endpoint(ctx, &in.EndpointParam)
			if err != nil {
				return nil, err
			}
			n, err := s.store.RecoverEndpoint(ctx, &store.RecoverEndpointParams{
				AppID: ep.AppID, EndpointID: ep.ID, Since: in.Body.Since, Now: s.now().UTC(),
			})
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			s.disp.Wake()
			out := &recoverOutput{}
			out.Body.Recovered = n
			return out, nil
		})
}
