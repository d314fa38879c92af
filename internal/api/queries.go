package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// maxTypePatterns bounds the names and patterns of one type filter.
const maxTypePatterns = 20

// parseTypePatterns reads a type filter of query
// parameter name: comma-separated event type names or patterns (as an
// endpoint's event_types), at most maxTypePatterns; nil for an absent one.
func parseTypePatterns(name, raw string) ([]string, *huma.ErrorDetail) {
	if raw == "" {
		return nil, nil
	}
	loc := "query." + name
	patterns := strings.Split(raw, ",")
	if len(patterns) > maxTypePatterns {
		return nil, &huma.ErrorDetail{Location: loc, Message: "has more than 20 names or patterns", Value: raw}
	}
	for i, p := range patterns {
		patterns[i] = strings.TrimSpace(p)
	}
	err := hook.ValidateEventTypePatterns(name, patterns)
	for _, p := range patterns {
		if err == nil && !strings.Contains(p, "*") {
			// A name: as an event's type must be.
			err = hook.ValidateEventTypeName(name, p)
		}
	}
	if err != nil {
		msg := err.Error()
		var he *hook.Error
		if errors.As(err, &he) {
			msg = he.Message
		}
		return nil, &huma.ErrorDetail{Location: loc, Message: msg, Value: raw}
	}
	return patterns, nil
}

// timeRange reads the since and until query parameters of a list: RFC 3339
// times, since before until when both are given. Their problems are
// appended to errs.
func timeRange(errs []*huma.ErrorDetail, sinceRaw, untilRaw string) (since, until time.Time, _ []*huma.ErrorDetail) {
	since, err := parseTime(sinceRaw)
	if err != nil {
		errs = append(errs, &huma.ErrorDetail{Location: "query.since", Message: err.Error(), Value: sinceRaw})
	}
	until, uerr := parseTime(untilRaw)
	if uerr != nil {
		errs = append(errs, &huma.ErrorDetail{Location: "query.until", Message: uerr.Error(), Value: untilRaw})
	}
	if err == nil && uerr == nil && !since.IsZero() && !until.IsZero() && !since.Before(until) {
		errs = append(errs, &huma.ErrorDetail{Location: "query.until", Message: "must be after since", Value: untilRaw})
	}
	return since, until, errs
}

// listOperation is s.operation for a list with query filters, which may
// refuse them (422).
func (s *server) listOperation(path, id, tag, summary string) huma.Operation {
	op := s.operation(scopeApp, http.MethodGet, path, id, tag, summary, http.StatusOK)
	if !slices.Contains(op.Errors, http.StatusUnprocessableEntity) {
		op.Errors = append(op.Errors, http.StatusUnprocessableEntity)
	}
	return op
}

// attemptsQuery is the query of list-attempts. The enum of error_kind is
// the hook.ErrorKind* values.
type attemptsQuery struct {
	AppParam
	ListQuery
	Endpoint  string `query:"endpoint" doc:"Only attempts to this endpoint (its id or uid). An unknown endpoint gives an empty list."`
	Delivery  string `query:"delivery" doc:"Only attempts of this delivery (its id)."`
	Event     string `query:"event" doc:"Only attempts of this event's deliveries (its id)."`
	Status    string `query:"status" enum:"2xx,3xx,4xx,5xx,error" doc:"Only attempts whose answer had a status of this class; error: attempts that got no HTTP answer (timeout, refused connection, DNS, TLS, ...)."`
	ErrorKind string `query:"error_kind" enum:"timeout,refused,dns,tls,status,network,blocked,internal" doc:"Only attempts that failed in this way (status: an answer other than 2xx)."`
	Since     string `query:"since" format:"date-time" doc:"Only attempts started at or after this time (RFC 3339)."`
	Until     string `query:"until" format:"date-time" doc:"Only attempts started before this time (RFC 3339); after since."`
}

// registerAttempts adds GET /v1/apps/{app}/attempts.
func (s *server) registerAttempts() {
	op := s.listOperation("/v1/apps/{app}/attempts", "list-attempts", "Deliveries", "List an app's attempts, newest first")
	op.Description = "Every attempt made for the app's deliveries, newest first, each with its delivery, event and endpoint, " +
		"e.g. to see what an endpoint answered lately: `?endpoint=ep_...&status=5xx`."
	huma.Register(s.api, op, func(ctx context.Context, in *attemptsQuery) (*listOutput[*hook.Attempt], error) {
		p := &store.ListAttemptsParams{
			ListParams: in.ListQuery.params(), DeliveryID: in.Delivery, EventID: in.Event,
			StatusClass: in.Status, ErrorKind: in.ErrorKind,
		}
		var errs []*huma.ErrorDetail
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
		page, err := s.store.ListAttempts(ctx, p)
		if err != nil {
			return nil, s.fail(ctx, err, "query")
		}
		return &listOutput[*hook.Attempt]{Body: newList(page)}, nil
	})
}
