package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// intKeyQueries are the store's queries that read events and deliveries by
// app or endpoint through the integer keys of migration 00020, each with
// the index it must use.
func intKeyQueries() []struct{ name, q, index string } {
	lp := func(p store.ListDeliveriesParams) string {
		p.AppID = "app"
		return seqPageQuery(`SELECT `+deliveryCols+` FROM deliveries`, conds(listDeliveriesConds(&p)))
	}
	events := func(c ...string) string {
		return seqPageQuery(`SELECT `+eventCols+` FROM events`, append([]string{"app_seq = " + appSeqOf}, c...))
	}
	attempts := func(p store.ListAttemptsParams) string {
		p.AppID = "app"
		q, _, err := listAttemptsQuery(&p, 1<<40, 11)
		if err != nil {
			panic(err)
		}
		return q
	}
	retry := func(ep string) (upd, more, skipped string) {
		c, _ := retryFailedConds(&store.RetryFailedDeliveriesParams{AppID: "app", EndpointID: ep}, 0)
		where := strings.Join(c, " AND ")
		enabled := where + " AND endpoint_id NOT IN (SELECT id FROM endpoints WHERE app_id = ? AND disabled = 1)"
		disabled := where + " AND endpoint_id IN (SELECT id FROM endpoints WHERE app_id = ? AND disabled = 1)"
		return `UPDATE deliveries SET status = 'pending' WHERE seq IN (SELECT seq FROM deliveries WHERE ` + enabled + ` ORDER BY seq LIMIT ?)`,
			`SELECT EXISTS (SELECT 1 FROM deliveries WHERE ` + enabled + `)`,
			`SELECT count(*) FROM (SELECT 1 FROM deliveries WHERE ` + disabled + ` LIMIT ?)`
	}
	upd, more, skipped := retry("")
	updEp, moreEp, skippedEp := retry("ep")
	const (
		appSeq      = "deliveries_app_seq (app_seq=? AND seq<?)"
		appFailed   = "deliveries_app_failed (app_seq=? AND seq<?)"
		appFailedEq = "deliveries_app_failed (app_seq=?)"
		endpointSeq = "deliveries_endpoint_seq (endpoint_seq=? AND seq<?)"
		appFirst    = "deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"
	)
	return []struct{ name, q, index string }{
		{"deliveries", lp(store.ListDeliveriesParams{}), appSeq},
		{"deliveries, succeeded", lp(store.ListDeliveriesParams{Status: hook.DeliverySucceeded}), appSeq},
		{"deliveries, pending", lp(store.ListDeliveriesParams{Status: hook.DeliveryPending}), appSeq},
		{"deliveries, paused", lp(store.ListDeliveriesParams{Status: hook.DeliveryPaused}), appSeq},
		{"deliveries, failed", lp(store.ListDeliveriesParams{Status: hook.DeliveryFailed}), appFailed},
		{"deliveries, types and window", lp(store.ListDeliveriesParams{EventTypes: []string{"a.*"},
			Since: time.Unix(1, 0), Until: time.Unix(2, 0)}), appSeq},
		{"deliveries of an endpoint", lp(store.ListDeliveriesParams{EndpointID: "ep"}), endpointSeq},
		{"deliveries of an endpoint, pending", lp(store.ListDeliveriesParams{EndpointID: "ep", Status: hook.DeliveryPending}), endpointSeq},
		{"deliveries of an endpoint, failed", lp(store.ListDeliveriesParams{EndpointID: "ep", Status: hook.DeliveryFailed}), appFailed},
		{"deliveries of an event", lp(store.ListDeliveriesParams{EventID: "evt"}), "deliveries_event (event_seq=? AND rowid<?)"},
		{"events", events(), "events_app_seq (app_seq=? AND seq<?)"},
		{"events, window and livemode", events("created_at >= ?", "created_at < ?", "livemode = ?"), "events_app_seq (app_seq=? AND seq<?)"},
		{"events of types", seqPageQuery(query(eventsOfTypesQuery("app", []string{"a.b", "c.d"}, nil, nil, 1, 10)), nil),
			"events_app_type_seq (app_seq=? AND type=? AND seq<?)"},
		{"distinct types", sqlDistinctTypes, "events_app_type_seq (app_seq=? AND type>?)"},
		{"undelivered events", sqlUndeliveredEvents, "events_app_created (app_seq=? AND created_at>? AND created_at<?)"},
		{"attempts", attempts(store.ListAttemptsParams{}), appFirst},
		{"attempts of an endpoint", attempts(store.ListAttemptsParams{EndpointID: "ep"}), appFirst},
		{"attempts in a window", attempts(store.ListAttemptsParams{Since: time.Unix(1, 0), Until: time.Unix(2, 0)}), appFirst},
		{"max attempt seq", sqlMaxAttemptSeq, "deliveries_app_first (app_seq=? AND first_attempt_seq>?)"},
		{"retry failed", upd, appFailedEq},
		{"retry failed: more", more, appFailedEq},
		{"retry failed: skipped", skipped, appFailedEq},
		{"retry failed of an endpoint", updEp, appFailedEq},
		{"retry failed of an endpoint: more", moreEp, appFailedEq},
		{"retry failed of an endpoint: skipped", skippedEp, appFailedEq},
		{"recover endpoint", sqlRecoverEndpoint, "deliveries_endpoint_seq (endpoint_seq=?)"},
	}
}

// textKeyed is q as it was before migration 00020, on the text ids.
func textKeyed(q string) string {
	return strings.NewReplacer(
		"app_seq = (SELECT seq FROM apps WHERE id = ?)", "app_id = ?",
		"endpoint_seq = (SELECT seq FROM endpoints WHERE id = ?)", "endpoint_id = ?",
		"app_seq = (SELECT seq FROM apps WHERE id = ?1)", "app_id = ?1",
		"endpoint_seq = (SELECT seq FROM endpoints WHERE id = ?2)", "endpoint_id = ?2",
		"d.app_seq = a.seq", "d.app_id = a.id",
	).Replace(q)
}

var (
	subqueryNumRe = regexp.MustCompile(`(SUBQUERY |subquery-)\d+`)
	// The probes of the constant subqueries that give the seqs.
	seqProbeRe = regexp.MustCompile(`^(SCALAR SUBQUERY|SEARCH (apps|endpoints) USING COVERING INDEX sqlite_autoindex_(apps|endpoints)_\d \(id=\?\))$`)
)

// planShape is a plan's steps, sorted, without the seq probes, subquery
// numbers, and with the integer keys named as the text ones were.
func planShape(plan string) []string {
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(plan), "\n") {
		l = subqueryNumRe.ReplaceAllString(l, "$1")
		if seqProbeRe.MatchString(l) || strings.HasPrefix(l, "SCALAR SUBQUERY") {
			continue
		}
		l = strings.NewReplacer("app_seq=", "app_id=", "endpoint_seq=", "endpoint_id=",
			"sqlite_autoindex_apps_2", "sqlite_autoindex_apps_1").Replace(l)
		out = append(out, l)
	}
	slices.Sort(out)
	return out
}

// TestIntKeyPlans: every query by app or endpoint on events and
// deliveries seeks its index on the integer key, and its plan is the one
// the text-keyed query had on the text-keyed indexes before migration
// 00020 (the same indexes, scans and sorts), on a database with a backlog.
func TestIntKeyPlans(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "hookd.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	fillBacklog(t, s, 5, backlogSize(5_000))
	// The same data at version 19, with the text-keyed indexes.
	oldPath := filepath.Join(dir, "old.db")
	if _, err := s.wdb.ExecContext(ctx, `VACUUM INTO ?`, oldPath); err != nil {
		t.Fatal(err)
	}
	old, p := migrationsAt(t, oldPath, 0)
	if _, err := p.DownTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	oldStore := &Store{rdb: old}
	for _, c := range intKeyQueries() {
		plan := queryPlan(t, s, c.q)
		if !strings.Contains(plan, "USING INDEX "+c.index) && !strings.Contains(plan, "USING COVERING INDEX "+c.index) {
			t.Errorf("%s: plan lacks %s:\n%s", c.name, c.index, plan)
		}
		for _, bad := range []string{"SCAN deliveries\n", "SCAN d\n", "SCAN events\n", "SCAN e\n"} {
			if strings.Contains(plan, bad) {
				t.Errorf("%s: full scan:\n%s", c.name, plan)
			}
		}
		was := queryPlan(t, oldStore, textKeyed(c.q))
		if got, want := planShape(plan), planShape(was); !slices.Equal(got, want) {
			t.Errorf("%s: plan\n%s\nis not the text-keyed one's:\n%s", c.name, plan, was)
		}
	}
}

// checkIntKeys fails t unless every row of events and deliveries has the
// app_seq and endpoint_seq of its app and endpoint, and returns how many
// rows it checked.
func checkIntKeys(t *testing.T, db *sql.DB) (events, deliveries int) {
	t.Helper()
	for _, c := range []struct {
		name, q string
	}{
		{"events with a wrong app_seq", `SELECT count(*) FROM events e
			WHERE e.app_seq IS NOT (SELECT a.seq FROM apps a WHERE a.id = e.app_id)`},
		{"deliveries with a wrong app_seq", `SELECT count(*) FROM deliveries d
			WHERE d.app_seq IS NOT (SELECT a.seq FROM apps a WHERE a.id = d.app_id)`},
		{"deliveries with a wrong endpoint_seq", `SELECT count(*) FROM deliveries d
			WHERE d.endpoint_seq IS NOT (SELECT e.seq FROM endpoints e WHERE e.id = d.endpoint_id)`},
	} {
		var n int
		if err := db.QueryRow(c.q).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("%d %s", n, c.name)
		}
	}
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM deliveries)`).
		Scan(&events, &deliveries); err != nil {
		t.Fatal(err)
	}
	return events, deliveries
}

// intKeyFixture is two apps, each with two endpoints, whose seqs differ
// from each other's (a padding app and endpoints come first), with events
// and deliveries written by every path that inserts them: pending,
// failed, succeeded at once (inline attempt) and after a retry (attempt
// rows), a test event, a resend and a replay of the missing.
type intKeyFixture struct {
	apps [2]string
	eps  [2][2]string
	now  time.Time
}

func newIntKeyFixture(t *testing.T, s *Store) *intKeyFixture {
	t.Helper()
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	f := &intKeyFixture{now: time.Now().UTC().Truncate(time.Minute).Add(-30 * time.Minute)}
	at := func(i int) time.Time { return f.now.Add(time.Duration(i) * time.Second) }
	pad, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "pad", Now: f.now})
	must(err)
	for range 3 {
		_, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: pad.ID,
			URL: "https://example.com/pad", Secret: hook.NewSecret(), Now: f.now})
		must(err)
	}
	for a := range f.apps {
		app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: fmt.Sprint("app ", a), Now: f.now})
		must(err)
		f.apps[a] = app.ID
		for e := range f.eps[a] {
			ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
				URL: fmt.Sprintf("https://example.com/%d/%d", a, e), Secret: hook.NewSecret(), Now: f.now})
			must(err)
			f.eps[a][e] = ep.ID
		}
	}
	n := 0
	for i := range 12 {
		for a, appID := range f.apps {
			n++
			ev := &hook.Event{ID: fmt.Sprintf("evt_%d", i), AppID: appID, Type: []string{"order.created", "order.paid", "user.new"}[i%3],
				Data: []byte(`{"i":1}`), CreatedAt: at(n)}
			// Every third event goes to the first endpoint only:
			// the second's replay-missing finds it.
			var nds []store.NewDelivery
			for e, ep := range f.eps[a] {
				if e == 1 && i%3 == 2 {
					continue
				}
				nds = append(nds, store.NewDelivery{ID: hook.NewID("dlv"), EndpointID: ep, Claimed: true})
			}
			if i%2 == 0 {
				_, err = s.InsertEvent(ctx, &store.InsertEventParams{Event: ev, Deliveries: nds, Owner: "w", LeaseUntil: at(n + 60)})
			} else {
				_, err = s.InsertEvents(ctx, &store.InsertEventsParams{Events: []store.InsertEventParams{
					{Event: ev, Deliveries: nds, Owner: "w", LeaseUntil: at(n + 60)}}})
			}
			must(err)
			for k, nd := range nds {
				attempt := func(number, status int, d hook.Decision) {
					kind := ""
					if status >= 300 {
						kind = hook.ErrorKindStatus
					}
					must(s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: &hook.Attempt{
						ID: hook.NewID("att"), DeliveryID: nd.ID, Number: number, Trigger: hook.TriggerScheduled,
						StartedAt: at(n + number), Duration: 5 * time.Millisecond, ResponseStatus: status,
						ResponseBody: "b", ErrorKind: kind, Error: kind,
					}, ScheduledAttempts: number, Decision: d, EndpointID: nd.EndpointID, Now: at(n + number)}))
				}
				switch (i + k) % 5 {
				case 0, 1: // first-try success: inline
					attempt(1, 200, hook.Decision{Status: hook.DeliverySucceeded})
				case 2: // failed
					attempt(1, 500, hook.Decision{Status: hook.DeliveryFailed})
				case 3: // a retry pending, an hour on
					attempt(1, 503, hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: f.now.Add(time.Hour)})
				case 4: // left leased, pending
				}
			}
		}
	}
	// A test event, a resend and a replay of what the second endpoint
	// missed, in each app.
	for a, appID := range f.apps {
		_, err := s.InsertTestEvent(ctx, &store.InsertTestEventParams{Event: &hook.Event{ID: "evt_test", AppID: appID,
			Type: "order.created", Data: []byte(`{}`), CreatedAt: at(200)}, DeliveryID: hook.NewID("dlv"), EndpointID: f.eps[a][1]})
		must(err)
		_, err = s.CreateDeliveries(ctx, &store.CreateDeliveriesParams{AppID: appID, Now: at(201), Deliveries: []store.EventDelivery{
			{ID: hook.NewID("dlv"), EventID: "evt_0", EndpointID: f.eps[a][0]}}})
		must(err)
		_, err = s.CreateDeliveries(ctx, &store.CreateDeliveriesParams{AppID: appID, Now: at(202), OnlyMissing: true,
			Deliveries: []store.EventDelivery{{ID: hook.NewID("dlv"), EventID: "evt_2", EndpointID: f.eps[a][1]}}})
		must(err)
	}
	return f
}

// TestIntKeysWritten: every path that inserts events and deliveries gives
// them their app's and endpoint's seqs.
func TestIntKeysWritten(t *testing.T) {
	s := openTemp(t)
	newIntKeyFixture(t, s)
	events, deliveries := checkIntKeys(t, s.rdb)
	if events != 26 || deliveries != 2*(12*2-4)+6 {
		t.Errorf("%d events and %d deliveries; want 26 and %d", events, deliveries, 2*(12*2-4)+6)
	}
}

// answers are the store's answers about f's apps and endpoints, each as
// JSON: lists by app, endpoint, type and status (page by page), the
// attempts, replay-missing and the stats.
func (f *intKeyFixture) answers(t *testing.T, s *Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = string(b)
	}
	for a, appID := range f.apps {
		pages := func(name string, list func(lp store.ListParams) (any, string, int, error)) {
			var all []any
			lp := store.ListParams{Limit: 4}
			for {
				data, next, n, err := list(lp)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if n == 0 && lp.Cursor == "" {
					t.Errorf("%s: empty", name)
				}
				all = append(all, data)
				if next == "" {
					break
				}
				lp.Cursor = next
			}
			put(fmt.Sprintf("app %d: %s", a, name), all, nil)
		}
		events := func(p store.ListEventsParams) func(store.ListParams) (any, string, int, error) {
			return func(lp store.ListParams) (any, string, int, error) {
				p.AppID, p.ListParams = appID, lp
				pg, err := s.ListEvents(ctx, &p)
				if err != nil {
					return nil, "", 0, err
				}
				return pg.Data, pg.NextCursor, len(pg.Data), nil
			}
		}
		deliveries := func(p store.ListDeliveriesParams) func(store.ListParams) (any, string, int, error) {
			return func(lp store.ListParams) (any, string, int, error) {
				p.AppID, p.ListParams = appID, lp
				pg, err := s.ListDeliveries(ctx, &p)
				if err != nil {
					return nil, "", 0, err
				}
				return pg.Data, pg.NextCursor, len(pg.Data), nil
			}
		}
		attempts := func(p store.ListAttemptsParams) func(store.ListParams) (any, string, int, error) {
			return func(lp store.ListParams) (any, string, int, error) {
				p.AppID, p.ListParams = appID, lp
				pg, err := s.ListAttempts(ctx, &p)
				if err != nil {
					return nil, "", 0, err
				}
				return pg.Data, pg.NextCursor, len(pg.Data), nil
			}
		}
		pages("events", events(store.ListEventsParams{}))
		pages("events of a type", events(store.ListEventsParams{Types: []string{"order.paid"}}))
		pages("events of types", events(store.ListEventsParams{Types: []string{"order.*"}}))
		pages("deliveries", deliveries(store.ListDeliveriesParams{}))
		for _, st := range []string{hook.DeliveryPending, hook.DeliveryFailed, hook.DeliverySucceeded} {
			pages("deliveries "+st, deliveries(store.ListDeliveriesParams{Status: st}))
		}
		pages("deliveries of an event", deliveries(store.ListDeliveriesParams{EventID: "evt_2"}))
		pages("attempts", attempts(store.ListAttemptsParams{}))
		for e, ep := range f.eps[a] {
			pages(fmt.Sprint("deliveries of endpoint ", e), deliveries(store.ListDeliveriesParams{EndpointID: ep}))
			pages(fmt.Sprint("failed deliveries of endpoint ", e), deliveries(store.ListDeliveriesParams{EndpointID: ep, Status: hook.DeliveryFailed}))
			pages(fmt.Sprint("attempts of endpoint ", e), attempts(store.ListAttemptsParams{EndpointID: ep}))
			u, err := s.ListUndeliveredEvents(ctx, &store.ListUndeliveredEventsParams{AppID: appID, EndpointID: ep,
				Since: f.now.Add(-time.Hour), Limit: 100})
			put(fmt.Sprintf("app %d: undelivered to endpoint %d", a, e), u, err)
			st, err := s.Stats(ctx, &store.StatsParams{EndpointID: ep, Since: f.now.Add(-time.Hour),
				Until: f.now.Add(time.Hour), Bucket: time.Hour, Now: f.now.Add(time.Minute)})
			put(fmt.Sprintf("app %d: stats of endpoint %d", a, e), st, err)
		}
		st, err := s.Stats(ctx, &store.StatsParams{AppID: appID, Since: f.now.Add(-time.Hour),
			Until: f.now.Add(time.Hour), Bucket: time.Hour, Now: f.now.Add(time.Minute)})
		put(fmt.Sprintf("app %d: stats", a), st, err)
	}
	return out
}

// TestMigrationIntKeys: a database in use at version 19 (the fixture's
// data, with 00020 taken down: no integer keys, the text-keyed indexes)
// upgrades in place: the backfill gives every row its seqs, and every
// answer is as it was; the bulk retry and the endpoint recovery find the
// failed deliveries on the new indexes.
func TestMigrationIntKeys(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	f := newIntKeyFixture(t, s)
	// Answers from a reopened store: its leases are taken back at start.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(ctx, path, nil); err != nil {
		t.Fatal(err)
	}
	before := f.answers(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	db, p := migrationsAt(t, path, 0)
	if _, err := p.DownTo(ctx, 19); err != nil {
		t.Fatal(err)
	}
	var cols int
	if err := db.QueryRow(`SELECT count(*) FROM pragma_table_xinfo('deliveries') WHERE name IN ('app_seq', 'endpoint_seq')`).Scan(&cols); err != nil || cols != 0 {
		t.Fatalf("deliveries' integer keys after 00020's Down: %d, %v; want none", cols, err)
	}
	var idx string
	if err := db.QueryRow(`SELECT sql FROM sqlite_master WHERE name = 'deliveries_endpoint_seq'`).Scan(&idx); err != nil ||
		!strings.Contains(idx, "(endpoint_id, seq)") {
		t.Fatalf("deliveries_endpoint_seq after 00020's Down: %q, %v", idx, err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(ctx, path, nil) // migrates
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	if ev, dl := checkIntKeys(t, s.rdb); ev == 0 || dl == 0 {
		t.Fatalf("%d events, %d deliveries after the upgrade", ev, dl)
	}
	after := f.answers(t, s)
	for name, want := range before {
		if after[name] != want {
			t.Errorf("%s after the upgrade:\n%s\nwant\n%s", name, after[name], want)
		}
	}
	if len(after) != len(before) {
		t.Errorf("%d answers after the upgrade, %d before", len(after), len(before))
	}

	// Writes through the new indexes.
	failed := func(appID, ep string) int {
		return countRows(t, s, `SELECT count(*) FROM deliveries WHERE app_id = ? AND (? = '' OR endpoint_id = ?) AND status = 'failed'`, appID, ep, ep)
	}
	wantRecovered, wantRetried := failed(f.apps[1], f.eps[1][0]), failed(f.apps[0], "")
	if wantRecovered == 0 || wantRetried == 0 {
		t.Fatal("no failed deliveries in the fixture")
	}
	n, err := s.RecoverEndpoint(ctx, &store.RecoverEndpointParams{AppID: f.apps[1], EndpointID: f.eps[1][0], Now: f.now})
	if err != nil || n != wantRecovered {
		t.Errorf("RecoverEndpoint: %d, %v; want %d", n, err, wantRecovered)
	}
	r, err := s.RetryFailedDeliveries(ctx, &store.RetryFailedDeliveriesParams{AppID: f.apps[0], Now: f.now})
	if err != nil || r.Retried != wantRetried {
		t.Errorf("RetryFailedDeliveries: %+v, %v; want %d", r, err, wantRetried)
	}
}
