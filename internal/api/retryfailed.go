package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// retryFailedRequest is the body of retry-deliveries: the filters of
// list-deliveries, every one optional.
type retryFailedRequest struct {
	Endpoint  string `json:"endpoint,omitempty" doc:"Only deliveries to this endpoint (its id or uid). An endpoint the app does not have is refused (422)."`
	Event     string `json:"event,omitempty" doc:"Only deliveries of this event (its id)."`
	EventType string `json:"event_type,omitempty" doc:"Only deliveries of events of these types: comma-separated names or patterns, at most 20, as list-deliveries' event_type." example:"order.*"`
	Since     string `json:"since,omitempty" format:"date-time" doc:"Only deliveries created at or after this time (RFC 3339)."`
	Until     string `json:"until,omitempty" format:"date-time" doc:"Only deliveries created before this time (RFC 3339); after since."`
}

type retryFailedOutput struct {
	Body struct {
		Retried         int  `json:"retried" doc:"How many failed deliveries were made due now."`
		Truncated       bool `json:"truncated" doc:"true when more failed deliveries match than one call retries (10,000): call again with the same filters for the next ones."`
		SkippedDisabled int  `json:"skipped_disabled" doc:"How many matching failed deliveries were left failed because their endpoint is disabled (counted up to 10,000)."`
	}
}

func (s *server) registerRetryFailed() {
	op := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/deliveries/retry", "retry-deliveries", "Deliveries",
		"Retry an app's failed deliveries", http.StatusAccepted)
	op.Description = "Every **failed** delivery of the app that matches the filters (those of list-deliveries with status=failed; " +
		"none: all the app's failed deliveries) gets one more (manual) attempt, now, as retry-delivery gives one. " +
		"At most 10,000, oldest first, per call: `truncated` says that more are left, and calling again with the same filters retries them. " +
		"Deliveries of disabled endpoints are left failed and counted in `skipped_disabled`; enable the endpoint first. " +
		"A delivery being attempted right now is left as it is."
	op.Errors = append(op.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, op, s.retryFailed)
}

func (s *server) retryFailed(ctx context.Context, in *struct {
	AppParam
	Body *retryFailedRequest `required:"false"`
}) (*retryFailedOutput, error) {
	body := in.Body
	if body == nil {
		body = &retryFailedRequest{}
	}
	p := &store.RetryFailedDeliveriesParams{EventID: body.Event, Now: s.now().UTC()}
	var errs []*huma.ErrorDetail
	types, d := parseTypePatterns("event_type", body.EventType)
	if d != nil {
		errs = append(errs, d)
	}
	p.EventTypes = types
	p.Since, p.Until, errs = timeRange(errs, body.Since, body.Until)
	if len(errs) > 0 {
		for _, e := range errs {
			e.Location = "body." + strings.TrimPrefix(e.Location, "query.")
		}
		return nil, invalidAll(errs)
	}
	var err error
	if p.AppID, err = s.appID(ctx, in.App); err != nil {
		return nil, err
	}
	if body.Endpoint != "" {
		ep, err := s.store.GetEndpoint(ctx, p.AppID, body.Endpoint)
		switch {
		case hook.ErrorCode(err) == hook.ENotFound:
			return nil, invalidAll([]*huma.ErrorDetail{{Location: "body.endpoint",
				Message: "the app has no endpoint with this id or uid", Value: body.Endpoint}})
		case err != nil:
			return nil, s.fail(ctx, err, "body")
		}
		p.EndpointID = ep.ID
	}
	res, err := s.store.RetryFailedDeliveries(ctx, p)
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	if res.Retried > 0 {
		s.disp.Wake()
	}
	out := &retryFailedOutput{}
	out.Body.Retried, out.Body.Truncated, out.Body.SkippedDisabled = res.Retried, res.Truncated, res.SkippedDisabled
	return out, nil
}
