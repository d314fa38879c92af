package dashboard_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/pgstore"
	"github.com/hookd/hookd/internal/store/storetest"
)

// pgRender is the PostgreSQL fixture: a schema filled once per process,
// dropped by TestMain.
var pgRender struct {
	once   sync.Once
	dsn    string // the server's
	schema string
	f      *renderFixture // f.path is the schema's DSN
	err    error
}

// dropPGRenderSchema drops the schema the PostgreSQL render benchmark
// filled, if it did, unless HOOKD_BENCH_KEEP_SCHEMA is set (to look at
// its queries with EXPLAIN; drop it by hand after).
func dropPGRenderSchema() {
	if pgRender.schema == "" || os.Getenv("HOOKD_BENCH_KEEP_SCHEMA") != "" {
		return
	}
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgRender.dsn)
	if err != nil {
		return
	}
	defer conn.Close(ctx)
	_, _ = conn.Exec(ctx, "DROP SCHEMA "+pgRender.schema+" CASCADE")
}

// seedRenderPG fills a new schema of the server at dsn like
// seedRenderSQLite: apps, endpoints and the admin key through the store,
// then events, deliveries, attempts and rollups by COPY, and VACUUM
// ANALYZE (as autovacuum would have by now), as pgstore's BenchmarkStats
// does.
func seedRenderPG(dsn string) (*renderFixture, error) {
	ctx := context.Background()
	start := time.Now()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	pgRender.schema = "hookd_render_bench_" + hex.EncodeToString(b)
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return nil, err
	}
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgRender.schema)
	_ = conn.Close(ctx)
	if err != nil {
		pgRender.schema = ""
		return nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return nil, fmt.Errorf("%s must be a postgres:// URL for the render benchmark", pgtest.EnvDSN)
	}
	q := u.Query()
	q.Set("search_path", pgRender.schema)
	u.RawQuery = q.Encode()
	f := &renderFixture{path: u.String()}

	st, err := pgstore.Open(ctx, f.path, nil)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	f.h, err = storetest.NewStatsHistory(ctx, st, 4, 5, renderBenchDeliveries(), 7*24*time.Hour, renderEnd)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(adminKey))
	if _, err := st.CreateAPIKey(ctx, &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "admin", Hash: sum[:], Now: f.h.End.Add(-f.h.Span)}); err != nil {
		return nil, err
	}
	f.app = f.h.Apps[1]

	db, err := pgx.Connect(ctx, f.path)
	if err != nil {
		return nil, err
	}
	defer db.Close(ctx)
	var evs, dlvs, atts [][]any
	flush := func() error {
		for _, c := range []struct {
			table string
			cols  []string
			rows  [][]any
		}{
			{"events", []string{"app_id", "id", "type", "data", "created_at"}, evs},
			{"deliveries", []string{"id", "app_id", "event_seq", "event_id", "event_type", "endpoint_id", "status",
				"attempt_count", "scheduled_attempts", "next_attempt_at", "available_at", "last_attempt_at",
				"last_response_status", "created_at", "updated_at"}, dlvs},
			{"attempts", []string{"id", "delivery_id", "app_id", "number", "trigger_kind", "started_at", "duration_ms",
				"response_status", "response_body", "error_kind", "error"}, atts},
		} {
			if _, err := db.CopyFrom(ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows)); err != nil {
				return fmt.Errorf("copy %s: %w", c.table, err)
			}
		}
		evs, dlvs, atts = evs[:0], dlvs[:0], atts[:0]
		return nil
	}
	tsOrNil := func(t time.Time) any {
		if t.IsZero() {
			return nil
		}
		return t
	}
	// The schema is new: events get seq 1, 2, ... in the order copied.
	err = f.h.Each(func(d *storetest.HistoryDelivery) error {
		updated := d.Created
		if !d.LastAttempt.IsZero() {
			updated = d.LastAttempt
		}
		evs = append(evs, []any{d.AppID, d.EventID, "order.created", renderEventData(d.N), d.Created})
		dlvs = append(dlvs, []any{d.ID, d.AppID, int64(d.N + 1), d.EventID, "order.created", d.EndpointID, d.Status,
			d.Attempts, d.Attempts, tsOrNil(d.Next), tsOrNil(d.Next), tsOrNil(d.LastAttempt), d.ResponseStatus, d.Created, updated})
		err := eachRenderAttempt(d, func(a *renderAttempt) error {
			atts = append(atts, []any{a.ID, d.ID, d.AppID, a.Number, hook.TriggerScheduled, a.StartedAt, int64(a.DurationMS),
				a.ResponseStatus, a.ResponseBody, a.ErrorKind, a.Error})
			return nil
		})
		f.attempts += d.Attempts
		if d.AppID == f.app.ID && d.Status == hook.DeliveryFailed && d.Attempts == 5 {
			f.failed = d.ID
		}
		if err == nil && len(evs) == 20_000 {
			err = flush()
		}
		return err
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, err
	}
	if f.failed == "" {
		return nil, fmt.Errorf("no failed delivery in app %s: too few deliveries", f.app.ID)
	}
	rs := f.h.Rollups()
	// Rows go in in time order, as hookd writes them minute after minute:
	// a window's rows are then together in the table, as in production.
	byMinute := func(rs []store.AttemptRollup) []store.AttemptRollup {
		slices.SortStableFunc(rs, func(a, b store.AttemptRollup) int { return cmp.Compare(a.Minute, b.Minute) })
		return rs
	}
	var rows [][]any
	for _, r := range byMinute(store.MergeRollups(rs)) {
		rows = append(rows, []any{r.AppID, r.EndpointID, time.UnixMilli(r.Minute).UTC(), r.Succeeded, r.FailedAttempts,
			r.Exhausted, latencyArray(r.Latency), time.UnixMilli(r.LastAt).UTC(), r.LastOK, int32(r.LastStatus), r.LastKind, r.LastMessage})
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"delivery_rollups"}, []string{"app_id", "endpoint_id", "minute", "succeeded",
		"failed_attempts", "exhausted", "latency", "last_at", "last_ok", "last_status", "last_error_kind", "last_error"},
		pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy delivery_rollups: %w", err)
	}
	rows = rows[:0]
	for _, r := range byMinute(store.MergeAppRollups(rs)) {
		rows = append(rows, []any{time.UnixMilli(r.Minute).UTC(), r.AppID, r.Succeeded, r.FailedAttempts, r.Exhausted, latencyArray(r.Latency)})
	}
	if _, err := db.CopyFrom(ctx, pgx.Identifier{"app_rollups"}, []string{"minute", "app_id", "succeeded", "failed_attempts",
		"exhausted", "latency"}, pgx.CopyFromRows(rows)); err != nil {
		return nil, fmt.Errorf("copy app_rollups: %w", err)
	}
	if _, err := db.Exec(ctx, `VACUUM ANALYZE`); err != nil {
		return nil, err
	}
	f.seeding = time.Since(start)
	return f, nil
}

// latencyArray is h as a bigint[]: empty, not NULL, when h is.
func latencyArray(h store.LatencyHistogram) []int64 {
	if h == nil {
		return []int64{}
	}
	return h
}

// BenchmarkRenderPostgres is BenchmarkRender on PostgreSQL
// (HOOKD_TEST_POSTGRES_DSN; skipped without it):
//
//	HOOKD_TEST_POSTGRES_DSN=postgres://... go test ./internal/dashboard -run '^$' -bench RenderPostgres -benchtime 200x
func BenchmarkRenderPostgres(b *testing.B) {
	dsn := pgtest.DSN(b, "the PostgreSQL render benchmark")
	pgRender.once.Do(func() {
		pgRender.dsn = dsn
		pgRender.f, pgRender.err = seedRenderPG(dsn)
		if f := pgRender.f; f != nil {
			fmt.Fprintf(os.Stderr, "render benchmark (PostgreSQL): seeded %d deliveries, %d attempts, %d endpoint rollup rows in %v\n",
				f.h.Deliveries, f.attempts, len(f.h.Rollups()), f.seeding.Round(100*time.Millisecond))
		}
	})
	if pgRender.err != nil {
		b.Fatal(pgRender.err)
	}
	st, err := pgstore.Open(context.Background(), pgRender.f.path, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = st.Close() })
	benchRender(b, pgRender.f, st)
}
