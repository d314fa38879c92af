package dashboard_test

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
	"github.com/hookd/hookd/internal/store/storetest"
)

// renderEnd is the end of the render benchmark's history, and its clock,
// which stands still there.
var renderEnd = time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)

// renderBenchDeliveries is how many deliveries the render benchmark fills
// the store with: HOOKD_BENCH_DELIVERIES, default 100,000.
func renderBenchDeliveries() int {
	if n, err := strconv.Atoi(os.Getenv("HOOKD_BENCH_DELIVERIES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}

// renderFixture is a store filled for the render benchmark: a week of
// history (storetest.StatsHistory) over 4 apps of 5 endpoints, with
// every delivery's event and attempts, and the stats rollups.
type renderFixture struct {
	// path is the SQLite file.
	path string
	h    *storetest.StatsHistory
	// app is the app whose pages are measured: none of its endpoints is
	// failing or disabled, so its failed deliveries are the 0.5% that
	// used up their retries, spread over the week.
	app *hook.App
	// failed is the newest failed delivery of app (5 attempts).
	failed string
	// attempts is how many attempts were written.
	attempts int
	// seeding is how long filling the store took.
	seeding time.Duration
}

// sqliteRender is the SQLite fixture, filled once per process (every
// -count round reuses it); its directory is removed by TestMain.
var sqliteRender struct {
	once sync.Once
	dir  string
	f    *renderFixture
	err  error
}

// removeRenderFixtures removes the files the render benchmark filled.
func removeRenderFixtures() {
	if sqliteRender.dir != "" {
		_ = os.RemoveAll(sqliteRender.dir)
	}
	dropPGRenderSchema()
}

// renderFailureBody is what a failing receiver answered: an HTML error
// page, stored (up to hook.MaxResponseBodyBytes) with each failed attempt.
var renderFailureBody = "<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head>\n<body><h1>Internal Server Error</h1>\n" +
	"<p>The server encountered an internal error and was unable to complete your request. " +
	"Either the server is overloaded or there is an error in the application.</p>\n" +
	strings.Repeat("<!-- padding to a typical error page size -->\n", 6) + "</body></html>\n"

// renderEventData is the payload of the n-th event: an order of a few
// hundred bytes.
func renderEventData(n int) string {
	return fmt.Sprintf(`{"order_id":"ord_%09d","customer":"cus_%06d","amount":%d,"currency":"eur","items":[{"sku":"SKU-%04d","quantity":%d}]}`,
		n, n%100_000, 100+n%9_900, n%10_000, 1+n%5)
}

// renderAttempt is an attempt the render benchmark writes.
type renderAttempt struct {
	ID             string
	Number         int
	StartedAt      time.Time
	DurationMS     int
	ResponseStatus int
	ResponseBody   string
	ErrorKind      string
	Error          string
}

// eachRenderAttempt calls fn with d's attempts, evenly spaced up to its
// last one; all but a successful last one answered 500.
func eachRenderAttempt(d *storetest.HistoryDelivery, fn func(a *renderAttempt) error) error {
	for k := 1; k <= d.Attempts; k++ {
		a := &renderAttempt{ID: fmt.Sprintf("att_bench%09d_%d", d.N, k), Number: k,
			StartedAt:  d.Created.Add(d.LastAttempt.Sub(d.Created) * time.Duration(k) / time.Duration(d.Attempts)),
			DurationMS: 80 + d.N%200, ResponseStatus: 500, ResponseBody: renderFailureBody,
			ErrorKind: hook.ErrorKindStatus, Error: "status 500"}
		if k == d.Attempts && d.Status == hook.DeliverySucceeded {
			a.ResponseStatus, a.ResponseBody, a.ErrorKind, a.Error = 200, `{"ok":true}`, "", ""
		}
		if err := fn(a); err != nil {
			return err
		}
	}
	return nil
}

// seedRenderSQLite fills a new SQLite file in dir: apps, endpoints and an
// admin key through the store, then (the store closed) events,
// deliveries, attempts and rollups by direct SQL in one transaction, as
// sqlitestore's BenchmarkStats does.
func seedRenderSQLite(dir string) (*renderFixture, error) {
	ctx := context.Background()
	start := time.Now()
	f := &renderFixture{path: filepath.Join(dir, "hookd.db")}
	st, err := sqlitestore.Open(ctx, f.path, nil)
	if err != nil {
		return nil, err
	}
	f.h, err = storetest.NewStatsHistory(ctx, st, 4, 5, renderBenchDeliveries(), 7*24*time.Hour, renderEnd)
	if err == nil {
		sum := sha256.Sum256([]byte(adminKey))
		_, err = st.CreateAPIKey(ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "admin", Hash: sum[:], Now: f.h.End.Add(-f.h.Span)})
	}
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, err
	}
	f.app = f.h.Apps[1]

	db, err := sql.Open("sqlite", f.path) // registered by sqlitestore
	if err != nil {
		return nil, err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// A page cache that holds the indexes being filled: without it the
	// inserts spill pages to the WAL and read them back.
	if _, err := db.ExecContext(ctx, `PRAGMA cache_size = -262144`); err != nil {
		return nil, err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	defer func() { _ = tx.Rollback() }()
	insEv, err := tx.PrepareContext(ctx, `INSERT INTO events (seq, app_id, id, type, data, created_at, app_seq)
		VALUES (?1, ?2, ?3, 'order.created', ?4, ?5, (SELECT seq FROM apps WHERE id = ?2))`)
	if err != nil {
		return nil, err
	}
	insDlv, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, attempt_count, scheduled_attempts, next_attempt_at, available_at, last_attempt_at, last_response_status,
			created_at, updated_at, app_seq, endpoint_seq)
		VALUES (?1, ?2, ?3, ?4, 'order.created', ?5, ?6, ?7, ?7, ?8, ?8, ?9, ?10, ?11, ?12,
			(SELECT seq FROM apps WHERE id = ?2), (SELECT seq FROM endpoints WHERE id = ?5))`)
	if err != nil {
		return nil, err
	}
	insAtt, err := tx.PrepareContext(ctx, `INSERT INTO attempts (id, delivery_id, app_id, number, trigger_kind, started_at,
			duration_ms, response_status, response_body, error_kind, error)
		VALUES (?1, ?2, ?3, ?4, 'scheduled', ?5, ?6, ?7, ?8, ?9, ?10)`)
	if err != nil {
		return nil, err
	}
	msOf := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t.UnixMilli()
	}
	err = f.h.Each(func(d *storetest.HistoryDelivery) error {
		seq := int64(d.N + 1)
		if _, err := insEv.ExecContext(ctx, seq, d.AppID, d.EventID, renderEventData(d.N), d.Created.UnixMilli()); err != nil {
			return err
		}
		updated := d.Created
		if !d.LastAttempt.IsZero() {
			updated = d.LastAttempt
		}
		if _, err := insDlv.ExecContext(ctx, d.ID, d.AppID, seq, d.EventID, d.EndpointID, d.Status, d.Attempts,
			msOf(d.Next), msOf(d.LastAttempt), d.ResponseStatus, d.Created.UnixMilli(), updated.UnixMilli()); err != nil {
			return err
		}
		err := eachRenderAttempt(d, func(a *renderAttempt) error {
			_, err := insAtt.ExecContext(ctx, a.ID, d.ID, d.AppID, a.Number, a.StartedAt.UnixMilli(), a.DurationMS,
				a.ResponseStatus, a.ResponseBody, a.ErrorKind, a.Error)
			return err
		})
		if err != nil {
			return err
		}
		f.attempts += d.Attempts
		if d.AppID == f.app.ID && d.Status == hook.DeliveryFailed && d.Attempts == 5 {
			f.failed = d.ID
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if f.failed == "" {
		return nil, fmt.Errorf("no failed delivery in app %s: too few deliveries", f.app.ID)
	}
	if err := insertRenderRollups(ctx, tx, f.h.Rollups()); err != nil {
		return nil, err
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	f.seeding = time.Since(start)
	return f, nil
}

// insertRenderRollups writes the rollups the store would have written
// with the attempts: one row per (endpoint, minute) and per (minute, app),
// merged by the store's own functions.
func insertRenderRollups(ctx context.Context, tx *sql.Tx, rs []store.AttemptRollup) error {
	insEp, err := tx.PrepareContext(ctx, `INSERT INTO delivery_rollups (app_id, endpoint_id, minute, succeeded, failed_attempts,
			exhausted, latency, last_at, last_ok, last_status, last_error_kind, last_error)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)`)
	if err != nil {
		return err
	}
	insApp, err := tx.PrepareContext(ctx, `INSERT INTO app_rollups (minute, app_id, succeeded, failed_attempts, exhausted, latency)
		VALUES (?1, ?2, ?3, ?4, ?5, ?6)`)
	if err != nil {
		return err
	}
	for _, r := range store.MergeRollups(rs) {
		lat, err := r.Latency.MarshalBinary()
		if err != nil {
			return err
		}
		lastOK := 0
		if r.LastOK {
			lastOK = 1
		}
		if _, err := insEp.ExecContext(ctx, r.AppID, r.EndpointID, r.Minute, r.Succeeded, r.FailedAttempts, r.Exhausted, lat, r.LastAt, lastOK,
			r.LastStatus, r.LastKind, r.LastMessage); err != nil {
			return err
		}
	}
	for _, r := range store.MergeAppRollups(rs) {
		lat, err := r.Latency.MarshalBinary()
		if err != nil {
			return err
		}
		if _, err := insApp.ExecContext(ctx, r.Minute, r.AppID, r.Succeeded, r.FailedAttempts, r.Exhausted, lat); err != nil {
			return err
		}
	}
	return nil
}

// sqliteRenderFixture returns the SQLite fixture, filling it on first use.
func sqliteRenderFixture(b *testing.B) *renderFixture {
	b.Helper()
	sqliteRender.once.Do(func() {
		sqliteRender.dir, sqliteRender.err = os.MkdirTemp("", "hookd-render-bench-")
		if sqliteRender.err == nil {
			sqliteRender.f, sqliteRender.err = seedRenderSQLite(sqliteRender.dir)
		}
		if f := sqliteRender.f; f != nil {
			fmt.Fprintf(os.Stderr, "render benchmark: seeded %d deliveries, %d attempts, %d endpoint rollup rows in %v\n", f.h.Deliveries, f.attempts, len(f.h.Rollups()),
				f.seeding.Round(100*time.Millisecond))
		}
	})
	if sqliteRender.err != nil {
		b.Fatal(sqliteRender.err)
	}
	return sqliteRender.f
}

// renderHandler serves the API and the dashboard over st as hookd serve
// mounts them (the API's default per-key rate limit, a clock standing at
// the history's end), and signs in with the admin key: it returns the
// handler and the session's cookie.
func renderHandler(b *testing.B, st store.Store) (http.Handler, *http.Cookie) {
	b.Helper()
	clock := func() time.Time { return renderEnd }
	log := slog.New(slog.DiscardHandler)
	apiH, err := api.New(api.Config{Store: st, Dispatcher: noDispatch{}, Now: clock, Logger: log, KeyRate: 10_000, KeyBurst: 20_000})
	if err != nil {
		b.Fatal(err)
	}
	dash, err := dashboard.New(dashboard.Config{API: apiH, Store: st, Now: clock, Logger: log})
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", apiH)
	mux.Handle("/", dash)

	req := httptest.NewRequest(http.MethodPost, "/signin", strings.NewReader(url.Values{"key": {adminKey}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == dashboard.CookieName {
			return mux, c
		}
	}
	b.Fatalf("sign in: %d, no session cookie", rec.Code)
	return nil, nil
}

// deliveriesCursor follows the API's deliveries list of app (filtered by
// status, unless "") for pages pages of 50, and returns the cursor of the
// page after them.
func deliveriesCursor(b *testing.B, h http.Handler, app string, status string, pages int) string {
	b.Helper()
	cursor := ""
	for range pages {
		q := url.Values{"limit": {"50"}}
		if status != "" {
			q.Set("status", status)
		}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		req := httptest.NewRequest(http.MethodGet, "/v1/apps/"+app+"/deliveries?"+q.Encode(), nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var page struct {
			NextCursor *string `json:"next_cursor"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); rec.Code != http.StatusOK || err != nil || page.NextCursor == nil {
			b.Fatalf("deliveries of %s, status %q: %d, %v, no next cursor after %d pages", app, status, rec.Code, err, pages)
		}
		cursor = *page.NextCursor
	}
	return cursor
}

// renderCase is a page the render benchmark measures, and what its HTML
// must hold (a check that the page shows what was seeded).
type renderCase struct {
	name, path string
	want       string
	wantCount  int
}

// BenchmarkRender measures the server-side time of the dashboard's pages
// with 100,000 deliveries in a SQLite store (HOOKD_BENCH_DELIVERIES sets
// the size): each request through the whole handler (session, in-process
// API calls, store, template) into an httptest.ResponseRecorder, no
// network. It reports each page's p50 and p95 over its iterations, of
// wall time (p50-ms, p95-ms) and of the thread's CPU time (p50-cpu-ms,
// p95-cpu-ms: what the request costs in hookd's process, whatever else
// the machine is running):
//
//	go test ./internal/dashboard -run '^$' -bench 'Render$' -benchtime 100x -count 3
//
// The store is filled once per process (half a minute to a minute) and
// reused by every -count round.
func BenchmarkRender(b *testing.B) {
	f := sqliteRenderFixture(b)
	st, err := sqlitestore.Open(context.Background(), f.path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	benchRender(b, f, st)
}

func benchRender(b *testing.B, f *renderFixture, st store.Store) {
	h, cookie := renderHandler(b, st)
	app := f.app.ID
	later := deliveriesCursor(b, h, app, "", 10)
	failedLater := deliveriesCursor(b, h, app, "failed", 1)
	rows := `<tr>`
	cases := []renderCase{
		{name: "overview/1h", path: "/?range=1h", want: "HTTP 500", wantCount: f.h.Failing},
		{name: "overview/24h", path: "/?range=24h", want: "HTTP 500", wantCount: f.h.Failing},
		{name: "app", path: "/apps/" + app, want: rows, wantCount: 1 + 5 + 1 + 10},
		{name: "deliveries/first", path: "/apps/" + app + "/deliveries", want: rows, wantCount: 1 + 50},
		{name: "deliveries/page11", path: "/apps/" + app + "/deliveries?cursor=" + url.QueryEscape(later), want: rows, wantCount: 1 + 50},
		{name: "deliveries/failed", path: "/apps/" + app + "/deliveries?status=failed", want: `status-failed"`, wantCount: 50},
		{name: "deliveries/failed-page2", path: "/apps/" + app + "/deliveries?status=failed&cursor=" + url.QueryEscape(failedLater),
			want: `status-failed"`, wantCount: 1},
		{name: "delivery", path: "/apps/" + app + "/deliveries/" + f.failed, want: `<li class="attempt`, wantCount: 5},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			get := func() *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				return rec
			}
			rec := get()
			if n := strings.Count(rec.Body.String(), c.want); rec.Code != http.StatusOK || n < max(c.wantCount, 1) {
				b.Fatalf("GET %s: %d, %d of %q, want 200 and at least %d:\n%s", c.path, rec.Code, n, c.want, max(c.wantCount, 1), rec.Body.String()[:min(rec.Body.Len(), 2000)])
			}
			// The request runs on this goroutine, held on its thread, so
			// that the thread's CPU time is the request's (less the
			// collector's background work): what its time would be on a
			// machine with a core to spare.
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			var took, cpu []time.Duration
			for b.Loop() {
				req := httptest.NewRequest(http.MethodGet, c.path, nil)
				req.AddCookie(cookie)
				rec := httptest.NewRecorder()
				c0, cpuOK := threadCPU()
				t0 := time.Now()
				h.ServeHTTP(rec, req)
				took = append(took, time.Since(t0))
				if c1, ok := threadCPU(); ok && cpuOK {
					cpu = append(cpu, c1-c0)
				}
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", c.path, rec.Code)
				}
			}
			slices.Sort(took)
			b.ReportMetric(percentileMS(took, 50), "p50-ms")
			b.ReportMetric(percentileMS(took, 95), "p95-ms")
			if len(cpu) > 0 {
				slices.Sort(cpu)
				b.ReportMetric(percentileMS(cpu, 50), "p50-cpu-ms")
				b.ReportMetric(percentileMS(cpu, 95), "p95-cpu-ms")
			}
		})
	}
}

// percentileMS is the p-th percentile of sorted (nearest rank), in ms.
func percentileMS(sorted []time.Duration, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return float64(sorted[max(i, 0)]) / float64(time.Millisecond)
}
