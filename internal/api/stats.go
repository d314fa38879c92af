package api

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// defaultStatsWindow is the window of a stats call that gives no since.
const defaultStatsWindow = time.Hour

// statsBuckets are the bucket sizes a stats call without bucket picks
// from: the smallest that answers at most store.StatsMaxBuckets buckets.
var statsBuckets = []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour,
	6 * time.Hour, 24 * time.Hour, 7 * 24 * time.Hour}

// StatsQuery is the query of the stats routes.
type StatsQuery struct {
	Since    string `query:"since" format:"date-time" doc:"The window's start (RFC 3339); default: an hour before until. The first bucket starts at since rounded down to a multiple of bucket (from the Unix epoch)."`
	Until    string `query:"until" format:"date-time" doc:"The window's end (RFC 3339), after since; default: now. The last bucket is whole: it may end after until."`
	Bucket   string `query:"bucket" doc:"The bucket size, a whole number of minutes as a Go duration: 1m, 5m, 1h, 24h, ...; at most 1,500 buckets from since to until. Default: the smallest of 1m, 5m, 15m, 1h, 6h, 24h, 168h that gives at most 1,500." example:"5m"`
	Endpoint string `query:"endpoint" doc:"Only this endpoint: its id, or (in an app's stats) its uid. An unknown endpoint is a 404."`
}

// StatsBucket is one bucket of a stats answer.
type StatsBucket struct {
	Start          time.Time `json:"start" doc:"The bucket's start; it lasts bucket_seconds."`
	Succeeded      int64     `json:"succeeded" doc:"Deliveries that succeeded in the bucket."`
	FailedAttempts int64     `json:"failed_attempts" doc:"Attempts that failed in the bucket (each retry counts)."`
	Exhausted      int64     `json:"exhausted" doc:"Deliveries that failed for good in the bucket: their last scheduled attempt (or a manual retry) failed."`
	P50MS          *float64  `json:"p50_ms" doc:"The median delivery latency of the bucket's succeeded deliveries, in milliseconds: from the delivery's creation (for a published event, the event's creation) to the end of its successful attempt, retries included. Estimated from a histogram of logarithmic buckets, within 9.1%. null when none succeeded."`
	P99MS          *float64  `json:"p99_ms" doc:"The 99th percentile of the same delivery latency, in milliseconds; null when none succeeded."`
}

// StatsBacklog counts the pending deliveries of the scope.
type StatsBacklog struct {
	Pending int64 `json:"pending" doc:"Deliveries not yet succeeded or failed, paused ones (of disabled endpoints) included."`
	DueNow  int64 `json:"due_now" doc:"Of those, the ones due now and waiting to be sent: not paused, not in flight, next attempt time passed."`
}

// StatsEndpoint is an endpoint in trouble.
type StatsEndpoint struct {
	EndpointID         string     `json:"endpoint_id"`
	UID                string     `json:"uid,omitempty"`
	AppID              string     `json:"app_id"`
	URL                string     `json:"url"`
	State              string     `json:"state" enum:"disabled,circuit_open,failing" doc:"disabled: the endpoint is disabled (by hand, or by hookd after failing too long); circuit_open: after failures in a row, hookd sends it nothing until circuit_open_until, then one probe attempt; failing: its last attempt failed."`
	CircuitOpenUntil   *time.Time `json:"circuit_open_until,omitempty" doc:"While the endpoint's circuit is open (whatever its state): when hookd sends it a probe attempt. Omitted while the circuit is closed."`
	LastAttemptAt      *time.Time `json:"last_attempt_at" doc:"When its last attempt started; null when none is known (within retention)."`
	LastResponseStatus int        `json:"last_response_status" doc:"The HTTP status of its last attempt; 0 when it got no answer."`
	LastErrorKind      string     `json:"last_error_kind,omitempty" enum:"timeout,refused,dns,tls,status,network,blocked,internal" doc:"How the last attempt failed."`
	LastError          string     `json:"last_error,omitempty" doc:"The last attempt's error message."`
	NextAttemptAt      *time.Time `json:"next_attempt_at" doc:"The earliest next attempt of its pending deliveries; null when none is pending or it is disabled."`
}

// StatsSummary is the scope's state now.
type StatsSummary struct {
	Backlog   StatsBacklog    `json:"backlog"`
	Endpoints []StatsEndpoint `json:"endpoints" doc:"At most 20 endpoints that are disabled, circuit-open or failing, disabled first, then circuit-open ones, then by their last attempt, newest first."`
}

type statsOutput struct {
	Body struct {
		Since         time.Time     `json:"since" doc:"The window's start used."`
		Until         time.Time     `json:"until" doc:"The window's end used."`
		BucketSeconds int64         `json:"bucket_seconds" doc:"The bucket size used, in seconds."`
		Buckets       []StatsBucket `json:"buckets" doc:"Every bucket of the window, oldest first, empty ones too."`
		Summary       StatsSummary  `json:"summary"`
	}
}

// registerStats adds GET /v1/stats and GET /v1/apps/{app}/stats.
func (s *server) registerStats() {
	const desc = "Deliveries by outcome (succeeded, failed attempts, exhausted) and delivery latency p50/p99, per " +
		"bucket of [since, until), with the backlog (pending, due now) and the endpoints that are disabled, " +
		"circuit-open or failing (their last attempt failed), each with its last error and next attempt. Read from per-minute " +
		"rollups written with the attempts, so its cost does not grow with the number of deliveries. An attempt " +
		"counts in the minute it started. A bad since, until or bucket is a 422 naming it."
	all := s.operation(scopeAdmin, http.MethodGet, "/v1/stats", "get-stats", "Stats",
		"Delivery statistics of every app", http.StatusOK)
	all.Description = desc + " Admin keys only; `endpoint` takes an endpoint's id."
	all.Errors = append(all.Errors, http.StatusNotFound, http.StatusUnprocessableEntity)
	huma.Register(s.api, all, func(ctx context.Context, in *StatsQuery) (*statsOutput, error) {
		return s.stats(ctx, "", in)
	})

	app := s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/stats", "get-app-stats", "Stats",
		"Delivery statistics of an app", http.StatusOK)
	app.Description = desc + " The app's deliveries only; `endpoint` takes the id or uid of one of its endpoints."
	app.Errors = append(app.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, app, func(ctx context.Context, in *struct {
		AppParam
		StatsQuery
	}) (*statsOutput, error) {
		appID, err := s.appID(ctx, in.App)
		if err != nil {
			return nil, err
		}
		return s.stats(ctx, appID, &in.StatsQuery)
	})
}

// stats answers a stats call of appID ("" for every app).
func (s *server) stats(ctx context.Context, appID string, in *StatsQuery) (*statsOutput, error) {
	now := s.now().UTC()
	p := &store.StatsParams{AppID: appID, Now: now}
	var errs []*huma.ErrorDetail
	p.Since, p.Until, errs = timeRange(errs, in.Since, in.Until)
	if len(errs) == 0 {
		switch {
		case p.Until.IsZero() && p.Since.IsZero():
			p.Until = now
			p.Since = now.Add(-defaultStatsWindow)
		case p.Until.IsZero():
			p.Until = now
			if !p.Since.Before(p.Until) {
				errs = append(errs, &huma.ErrorDetail{Location: "query.since", Message: "must be before until (default: now)", Value: in.Since})
			}
		case p.Since.IsZero():
			p.Since = p.Until.Add(-defaultStatsWindow)
		}
	}
	if in.Bucket != "" {
		d, err := time.ParseDuration(in.Bucket)
		switch {
		case err != nil || d < time.Minute || d%time.Minute != 0:
			errs = append(errs, &huma.ErrorDetail{Location: "query.bucket", Value: in.Bucket,
				Message: "must be a whole number of minutes, at least 1m, as a Go duration (1m, 5m, 1h, ...)"})
		case len(errs) == 0:
			p.Bucket = d
			if n, _ := p.BucketCount(); n > store.StatsMaxBuckets {
				errs = append(errs, &huma.ErrorDetail{Location: "query.bucket", Value: in.Bucket,
					Message: fmt.Sprintf("gives more than %d buckets from since to until; take a larger bucket", store.StatsMaxBuckets)})
			}
		}
	} else if len(errs) == 0 {
		for _, b := range statsBuckets {
			p.Bucket = b
			if n, _ := p.BucketCount(); n <= store.StatsMaxBuckets {
				break
			}
		}
		if n, _ := p.BucketCount(); n > store.StatsMaxBuckets {
			errs = append(errs, &huma.ErrorDetail{Location: "query.since", Value: in.Since,
				Message: "is too long before until for any bucket size"})
		}
	}
	if len(errs) > 0 {
		return nil, invalidAll(errs)
	}
	if in.Endpoint != "" {
		if appID == "" {
			p.EndpointID = in.Endpoint
		} else {
			ep, err := s.store.GetEndpoint(ctx, appID, in.Endpoint)
			if err != nil {
				return nil, s.statsEndpointFail(ctx, err, in.Endpoint)
			}
			p.EndpointID = ep.ID
		}
	}
	st, err := s.store.Stats(ctx, p)
	if err != nil {
		return nil, s.statsEndpointFail(ctx, err, in.Endpoint)
	}
	out := &statsOutput{}
	b := &out.Body
	b.Since, b.Until, b.BucketSeconds = p.Since, p.Until, int64(p.Bucket/time.Second)
	b.Buckets = make([]StatsBucket, len(st.Buckets))
	for i, x := range st.Buckets {
		b.Buckets[i] = StatsBucket{Start: x.Start, Succeeded: x.Succeeded, FailedAttempts: x.FailedAttempts,
			Exhausted: x.Exhausted, P50MS: durationMS(x.P50), P99MS: durationMS(x.P99)}
	}
	b.Summary.Backlog = StatsBacklog{Pending: st.Backlog.Pending, DueNow: st.Backlog.DueNow}
	b.Summary.Endpoints = make([]StatsEndpoint, len(st.Troubled))
	for i, t := range st.Troubled {
		b.Summary.Endpoints[i] = StatsEndpoint{EndpointID: t.EndpointID, UID: t.EndpointUID, AppID: t.AppID, URL: t.URL,
			State: t.State, CircuitOpenUntil: t.CircuitOpenUntil, LastAttemptAt: t.LastAttemptAt, LastResponseStatus: t.LastResponseStatus,
			LastErrorKind: t.LastErrorKind, LastError: t.LastError, NextAttemptAt: t.NextAttemptAt}
	}
	return out, nil
}

// statsEndpointFail answers a store error of a stats call: an unknown
// endpoint is a 404 naming query.endpoint.
func (s *server) statsEndpointFail(ctx context.Context, err error, ref string) error {
	if hook.ErrorCode(err) == hook.ENotFound {
		msg := fmt.Sprintf("no endpoint %q", ref)
		return huma.Error404NotFound(msg, &huma.ErrorDetail{Location: "query.endpoint", Message: msg, Value: ref})
	}
	return s.fail(ctx, err, "query")
}

// durationMS is d in milliseconds, to a tenth; nil for nil.
func durationMS(d *time.Duration) *float64 {
	if d == nil {
		return nil
	}
	v := math.Round(float64(*d)/float64(time.Millisecond)*10) / 10
	return &v
}
