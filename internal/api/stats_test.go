package api_test

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

type statsJSON struct {
	Since         time.Time `json:"since"`
	Until         time.Time `json:"until"`
	BucketSeconds int64     `json:"bucket_seconds"`
	Buckets       []struct {
		Start          time.Time `json:"start"`
		Succeeded      int64     `json:"succeeded"`
		FailedAttempts int64     `json:"failed_attempts"`
		Exhausted      int64     `json:"exhausted"`
		P50MS          *float64  `json:"p50_ms"`
		P99MS          *float64  `json:"p99_ms"`
	} `json:"buckets"`
	Summary struct {
		Backlog struct {
			Pending int64 `json:"pending"`
			DueNow  int64 `json:"due_now"`
		} `json:"backlog"`
		Endpoints []struct {
			EndpointID         string     `json:"endpoint_id"`
			UID                string     `json:"uid"`
			AppID              string     `json:"app_id"`
			State              string     `json:"state"`
			CircuitOpenUntil   *time.Time `json:"circuit_open_until"`
			LastAttemptAt      *time.Time `json:"last_attempt_at"`
			LastResponseStatus int        `json:"last_response_status"`
			LastErrorKind      string     `json:"last_error_kind"`
			LastError          string     `json:"last_error"`
			NextAttemptAt      *time.Time `json:"next_attempt_at"`
		} `json:"endpoints"`
	} `json:"summary"`
}

func TestStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	app := e.mkApp("A", "a")
	appB := e.mkApp("B", "b")
	x := e.mkEndpoint("a", map[string]any{"uid": "billing"})["id"].(string)
	y := e.mkEndpoint("a", map[string]any{})["id"].(string)
	e.mkEndpoint("b", map[string]any{})
	ev1, ev2 := e.publish("a", "order.created"), e.publish("a", "order.paid")
	e.publish("b", "order.created")
	now := time.Now().UTC()
	claimed, err := e.store.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: now,
		LeaseUntil: now.Add(time.Hour), Limit: 100})
	if err != nil || len(claimed.Jobs) != 5 {
		t.Fatalf("claim: %v, %d jobs", err, len(claimed.Jobs))
	}
	// The window: five minutes from the next minute on.
	t0 := now.Truncate(time.Minute).Add(time.Minute)
	retry := t0.Add(time.Hour)
	record := func(j *store.Job, at time.Time, status int, d hook.Decision) {
		t.Helper()
		kind := ""
		if status >= 300 {
			kind = hook.ErrorKindStatus
		}
		if err := e.store.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
			ID: hook.NewID("att"), DeliveryID: j.DeliveryID, Number: 1, Trigger: hook.TriggerScheduled,
			StartedAt: at, Duration: 40 * time.Millisecond, ResponseStatus: status, ErrorKind: kind, Error: kind},
			ScheduledAttempts: 1, Decision: d, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	for _, j := range claimed.Jobs {
		switch {
		case j.Event.AppID == appB.ID:
			record(j, t0, 200, hook.Decision{Status: hook.DeliverySucceeded})
		case j.Event.ID == ev1:
			record(j, t0.Add(time.Second), 200, hook.Decision{Status: hook.DeliverySucceeded})
		case j.Event.ID == ev2 && j.EndpointID == x:
			record(j, t0.Add(time.Minute), 500, hook.Decision{Status: hook.DeliveryFailed})
		case j.Event.ID == ev2 && j.EndpointID == y:
			record(j, t0.Add(2*time.Minute), 503, hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: retry})
		}
	}
	window := "since=" + url.QueryEscape(t0.Format(time.RFC3339)) + "&until=" + url.QueryEscape(t0.Add(5*time.Minute).Format(time.RFC3339))
	type counts struct{ succ, failed, exh int64 }
	check := func(path string, want []counts) statsJSON {
		t.Helper()
		st := want_(t, e.call("GET", path, nil))
		if st.BucketSeconds != 60 || len(st.Buckets) != len(want) {
			t.Fatalf("%s: bucket_seconds %d, %d buckets, want 60 and %d", path, st.BucketSeconds, len(st.Buckets), len(want))
		}
		for i, b := range st.Buckets {
			if !b.Start.Equal(t0.Add(time.Duration(i) * time.Minute)) {
				t.Fatalf("%s: bucket %d starts %v", path, i, b.Start)
			}
			if got := (counts{b.Succeeded, b.FailedAttempts, b.Exhausted}); got != want[i] {
				t.Fatalf("%s: bucket %d: got %+v, want %+v", path, i, got, want[i])
			}
			if (b.P50MS == nil) != (b.Succeeded == 0) || (b.P99MS == nil) != (b.Succeeded == 0) {
				t.Fatalf("%s: bucket %d: p50 %v, p99 %v with %d succeeded", path, i, b.P50MS, b.P99MS, b.Succeeded)
			}
		}
		return st
	}

	st := check("/v1/apps/a/stats?bucket=1m&"+window, []counts{{2, 0, 0}, {0, 1, 1}, {0, 1, 0}, {}, {}})
	if st.Summary.Backlog.Pending != 1 || st.Summary.Backlog.DueNow != 0 {
		t.Fatalf("backlog %+v, want 1 pending, 0 due", st.Summary.Backlog)
	}
	eps := st.Summary.Endpoints
	if len(eps) != 2 || eps[0].EndpointID != y || eps[1].EndpointID != x {
		t.Fatalf("endpoints %+v, want y then x", eps)
	}
	if eps[0].State != "failing" || eps[0].LastResponseStatus != 503 || eps[0].NextAttemptAt == nil || !eps[0].NextAttemptAt.Equal(retry) ||
		eps[0].AppID != app.ID || eps[0].LastAttemptAt == nil || !eps[0].LastAttemptAt.Equal(t0.Add(2*time.Minute)) {
		t.Fatalf("endpoint y: %+v", eps[0])
	}
	if eps[1].UID != "billing" || eps[1].LastErrorKind != hook.ErrorKindStatus || eps[1].LastError != "status" ||
		eps[1].LastResponseStatus != 500 || eps[1].NextAttemptAt != nil {
		t.Fatalf("endpoint x: %+v", eps[1])
	}
	// By the app's id, one endpoint by uid or id.
	check("/v1/apps/"+app.ID+"/stats?bucket=1m&endpoint=billing&"+window, []counts{{1, 0, 0}, {0, 1, 1}, {}, {}, {}})
	check("/v1/apps/a/stats?bucket=1m&endpoint="+y+"&"+window, []counts{{1, 0, 0}, {}, {0, 1, 0}, {}, {}})
	// Every app: app b's success too; one endpoint by id.
	check("/v1/stats?bucket=1m&"+window, []counts{{3, 0, 0}, {0, 1, 1}, {0, 1, 0}, {}, {}})
	check("/v1/stats?bucket=1m&endpoint="+x+"&"+window, []counts{{1, 0, 0}, {0, 1, 1}, {}, {}, {}})
	// App b sees its own only.
	check("/v1/apps/b/stats?bucket=1m&"+window, []counts{{1, 0, 0}, {}, {}, {}, {}})

	// Unknown endpoints, and another app's, are 404s naming the query.
	wantProblem(t, e.call("GET", "/v1/apps/a/stats?endpoint=nope&"+window, nil), http.StatusNotFound, "query.endpoint")
	wantProblem(t, e.call("GET", "/v1/stats?endpoint=billing&"+window, nil), http.StatusNotFound, "query.endpoint")
	bEp := e.mkEndpoint("b", map[string]any{})["id"].(string)
	wantProblem(t, e.call("GET", "/v1/apps/a/stats?endpoint="+bEp+"&"+window, nil), http.StatusNotFound, "query.endpoint")

	// Scopes: an app's key reads its app's stats, not another's nor
	// every app's.
	e.addKey("sk_test_app_a_0123456789", app.ID)
	k := withKey("sk_test_app_a_0123456789")
	want[statsJSON](t, e.call("GET", "/v1/apps/a/stats", nil, k), http.StatusOK)
	wantProblem(t, e.call("GET", "/v1/apps/b/stats", nil, k), http.StatusForbidden, "")
	wantProblem(t, e.call("GET", "/v1/stats", nil, k), http.StatusForbidden, "")

	// Defaults: the last hour, in 1m buckets.
	d := want[statsJSON](t, e.call("GET", "/v1/stats", nil), http.StatusOK)
	if d.BucketSeconds != 60 || d.Until.Sub(d.Since) != time.Hour || time.Since(d.Until) > time.Minute || len(d.Buckets) < 60 || len(d.Buckets) > 61 {
		t.Fatalf("defaults: since %v until %v bucket %ds, %d buckets", d.Since, d.Until, d.BucketSeconds, len(d.Buckets))
	}
	// A long window picks a larger bucket.
	if d := want[statsJSON](t, e.call("GET", "/v1/stats?since="+url.QueryEscape(now.Add(-48*time.Hour).Format(time.RFC3339)), nil), http.StatusOK); d.BucketSeconds != 300 {
		t.Fatalf("two days: bucket %ds, want 300", d.BucketSeconds)
	}
}

func want_(t *testing.T, r *result) statsJSON {
	t.Helper()
	return want[statsJSON](t, r, http.StatusOK)
}

func TestStatsInvalid(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mkApp("A", "a")
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return url.QueryEscape(now.Add(d).Format(time.RFC3339)) }
	for _, c := range []struct{ query, loc string }{
		{"since=yesterday", "query.since"},
		{"until=2024-13-01T00:00:00Z", "query.until"},
		{"since=" + ts(0) + "&until=" + ts(-time.Hour), "query.until"},
		{"since=" + ts(0) + "&until=" + ts(0), "query.until"},
		{"since=" + ts(time.Hour), "query.since"},
		{"bucket=90s", "query.bucket"},
		{"bucket=0m", "query.bucket"},
		{"bucket=-5m", "query.bucket"},
		{"bucket=fast", "query.bucket"},
		{"bucket=1m&since=" + ts(-48*time.Hour), "query.bucket"},
		{"since=" + ts(-100*365*24*time.Hour), "query.since"},
	} {
		for _, path := range []string{"/v1/stats", "/v1/apps/a/stats"} {
			wantProblem(t, e.call("GET", path+"?"+c.query, nil), http.StatusUnprocessableEntity, c.loc)
		}
	}
	// The most buckets is fine.
	if d := want[statsJSON](t, e.call("GET", "/v1/stats?bucket=1m&since="+ts(-1500*time.Minute)+"&until="+ts(-time.Minute), nil), http.StatusOK); len(d.Buckets) > 1500 {
		t.Fatalf("%d buckets", len(d.Buckets))
	}
}
