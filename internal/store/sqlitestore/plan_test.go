package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

var paramRe = regexp.MustCompile(`\?(\d*)`)

// queryPlan returns EXPLAIN QUERY PLAN's details for q, one per line, with
// every parameter bound to NULL.
func queryPlan(t *testing.T, s *Store, q string) string {
	t.Helper()
	n := 0
	for _, m := range paramRe.FindAllStringSubmatch(q, -1) {
		if m[1] == "" {
			n++
		} else if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	rows, err := s.rdb.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+q, make([]any, n)...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var id, parent, notused int
		var detail string
		if err := rows.Scan(&id, &parent, &notused, &detail); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(&b, detail)
	}
	return b.String()
}

// TestQueryPlans checks that the hot queries use their indexes, on an empty
// database and on one with a skewed backlog (no ANALYZE is ever run).
func TestQueryPlans(t *testing.T) {
	s := openTemp(t)
	appAttemptsQuery, _, err := listAttemptsQuery(&store.ListAttemptsParams{AppID: "app"}, 1, 10)
	if err != nil {
		t.Fatal(err)
	}
	check := func(stage string) {
		for _, c := range []struct {
			name, q string
			want    []string // each must appear in the plan
		}{
			{"claim endpoints", fmt.Sprintf(sqlClaimEndpoints, ">"), []string{
				"SEARCH e USING INTEGER PRIMARY KEY (rowid>?)",
				"SEARCH d EXISTS USING COVERING INDEX deliveries_claim (endpoint_id=? AND available_at<?)"}},
			{"claim endpoints wrapped", fmt.Sprintf(sqlClaimEndpoints, "<="), []string{
				"SEARCH e USING INTEGER PRIMARY KEY (rowid<?)",
				"USING COVERING INDEX deliveries_claim (endpoint_id=? AND available_at<?)"}},
			{"claim select", sqlClaimSelect, []string{"SEARCH deliveries USING INDEX deliveries_claim (endpoint_id=? AND available_at<?)"}},
			{"claim update", sqlClaimUpdate, []string{"USING INTEGER PRIMARY KEY (rowid=?)"}},
			{"load events", sqlLoadEvents, []string{"SEARCH events USING INTEGER PRIMARY KEY (rowid=?)"}},
			{"load endpoints", sqlLoadEndpoints, []string{"SEARCH endpoints USING INDEX sqlite_autoindex_endpoints_1 (id=?)"}},
			// Not covering: the attempt takes its delivery's app_id.
			{"insert attempt", sqlInsertAttempt, []string{"SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			{"update delivery", sqlUpdateDelivery, []string{"USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			// No index on lease_owner (migration 00018): leases go by id.
			{"renew", sqlRenew, []string{"SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			{"release", sqlReleaseIDs, []string{"SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			{"discard", `DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?2))
				AND lease_owner = ?1 AND status = 'pending' AND attempt_count = 0 RETURNING id`,
				[]string{"SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			// At start only: every pending delivery, not every delivery.
			{"release all", sqlReleaseAll, []string{"SCAN deliveries USING INDEX deliveries_pending_seq"}},
			{"next due", sqlNextDue, []string{"SEARCH d USING COVERING INDEX deliveries_claim (endpoint_id=? AND available_at>?)"}},
			{"count pending", sqlCountPending, []string{"USING COVERING INDEX deliveries_pending_seq"}},
			{"attempts of a delivery", sqlDeliveryAttempts, []string{"MERGE (UNION ALL)",
				"SEARCH attempts USING INDEX attempts_delivery_seq (delivery_id=?)",
				"SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			{"update delivery, inline attempt", sqlUpdateDeliveryInline, []string{"USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			// The lists by app and endpoint: the store's own queries
			// (see intkeys_test.go for the rest), on the integer keys
			// of migration 00020.
			{"list deliveries", seqPageQuery(`SELECT seq FROM deliveries`,
				conds(listDeliveriesConds(&store.ListDeliveriesParams{AppID: "app", Status: hook.DeliverySucceeded}))),
				[]string{"USING INDEX deliveries_app_seq (app_seq=? AND seq<?)"}},
			{"list deliveries of an endpoint", seqPageQuery(`SELECT seq FROM deliveries`,
				conds(listDeliveriesConds(&store.ListDeliveriesParams{AppID: "app", EndpointID: "ep"}))),
				[]string{"USING INDEX deliveries_endpoint_seq (endpoint_seq=? AND seq<?)"}},
			{"list deliveries of an event", seqPageQuery(`SELECT seq FROM deliveries`,
				conds(listDeliveriesConds(&store.ListDeliveriesParams{AppID: "app", EventID: "evt"}))),
				[]string{"USING INDEX deliveries_event (event_seq=? AND rowid<?)"}},
			// The indexes issue 18 keeps, each for a list no other
			// index serves.
			{"undelivered events (replay-missing)", sqlUndeliveredEvents,
				[]string{"SEARCH events USING INDEX events_app_created (app_seq=? AND created_at>? AND created_at<?)"}},
			{"attempts of an app", appAttemptsQuery, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			{"FIFO head", sqlClaimSelectFIFO, []string{"SEARCH deliveries USING INDEX deliveries_pending_seq (endpoint_id=?)"}},
			{"distinct types", sqlDistinctTypes, []string{"USING COVERING INDEX events_app_type_seq (app_seq=? AND type>?)"}},
			{"list events of a type", seqPageQuery(query(eventsOfTypesQuery("app", []string{"a.b"}, nil, nil, 1, 10)), nil),
				[]string{"USING INDEX events_app_type_seq (app_seq=? AND type=? AND seq<?)"}},
		} {
			plan := queryPlan(t, s, c.q)
			for _, w := range c.want {
				if !strings.Contains(plan, w) {
					t.Errorf("%s: %s: plan lacks %q:\n%s", stage, c.name, w, plan)
				}
			}
			if strings.Contains(plan, "SCAN deliveries\n") || strings.Contains(plan, "SCAN d\n") ||
				strings.Contains(plan, "SCAN events\n") || strings.Contains(plan, "SCAN attempts\n") ||
				strings.Contains(plan, "SCAN a\n") ||
				strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s: %s: full scan or sort:\n%s", stage, c.name, plan)
			}
		}
	}
	check("empty")
	fillBacklog(t, s, 20, backlogSize(20_000))
	check("backlog")
}

// conds is a (conditions, arguments) pair's conditions.
func conds(c []string, _ []any) []string { return c }

// query is a (query, arguments) pair's query.
func query(q string, _ []any) string { return q }

// fillBacklog adds an app with n endpoints: the first has backlog due
// deliveries, the others one each, plus as many finished ones.
func fillBacklog(t testing.TB, s *Store, n, backlog int) (appID string, endpoints []string) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "backlog", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	for range n {
		ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
			URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
		if err != nil {
			t.Fatal(err)
		}
		endpoints = append(endpoints, ep.ID)
	}
	base := ms(now.Add(-time.Hour))
	err = s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// backlog events on endpoints[0], each with a pending and a
		// succeeded delivery; then one event with a pending delivery
		// for each other endpoint.
		if _, err := tx.ExecContext(ctx, `INSERT INTO events (app_id, id, type, data, created_at, app_seq)
			WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < ?3)
			SELECT ?1, 'bk-' || i, 'a.b', '{}', ?2 + i, (SELECT seq FROM apps WHERE id = ?1) FROM c`, app.ID, base, backlog); err != nil {
			return err
		}
		for _, st := range []string{hook.DeliveryPending, hook.DeliverySucceeded} {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type,
					endpoint_id, status, next_attempt_at, available_at, created_at, updated_at, app_seq, endpoint_seq)
				SELECT 'dlv_' || ?3 || e.seq, e.app_id, e.seq, e.id, e.type, ?2, ?3,
					IIF(?3 = 'pending', e.created_at, NULL), IIF(?3 = 'pending', e.created_at, NULL),
					e.created_at, e.created_at, e.app_seq, (SELECT seq FROM endpoints WHERE id = ?2)
				FROM events e WHERE e.app_id = ?1`, app.ID, endpoints[0], st); err != nil {
				return err
			}
		}
		for i, ep := range endpoints[1:] {
			var seq int64
			id := "other-" + strconv.Itoa(i)
			if err := tx.QueryRowContext(ctx, `INSERT INTO events (app_id, id, type, data, created_at, app_seq)
				VALUES (?1, ?2, 'a.b', '{}', ?3, (SELECT seq FROM apps WHERE id = ?1)) RETURNING seq`, app.ID, id, ms(now)).Scan(&seq); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type,
					endpoint_id, status, next_attempt_at, available_at, created_at, updated_at, app_seq, endpoint_seq)
				VALUES (?1, ?2, ?3, ?4, 'a.b', ?5, 'pending', ?6, ?6, ?6, ?6,
					(SELECT seq FROM apps WHERE id = ?2), (SELECT seq FROM endpoints WHERE id = ?5))`,
				hook.NewID("dlv"), app.ID, seq, id, ep, ms(now)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return app.ID, endpoints
}

// TestBacklogFairness: one endpoint's large backlog, all of it older, does
// not keep the others waiting, and the claim stays fast.
func TestBacklogFairness(t *testing.T) {
	s := openTemp(t)
	_, eps := fillBacklog(t, s, 10, backlogSize(100_000))
	ctx := context.Background()
	start := time.Now()
	c, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: time.Now(),
		LeaseUntil: time.Now().Add(time.Minute), Limit: 100, PerEndpoint: 10})
	took := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int{}
	for _, j := range c.Jobs {
		got[j.EndpointID]++
	}
	if got[eps[0]] != 10 || len(got) != 10 || len(c.Jobs) != 19 {
		t.Fatalf("claimed %d jobs over %v; want 10 of the backlog and 1 of each other endpoint", len(c.Jobs), got)
	}
	t.Logf("claim over a backlog of %d took %v", backlogSize(100_000), took)
	start = time.Now()
	next, ok, err := s.NextDue(ctx)
	if err != nil || !ok || next.IsZero() {
		t.Fatalf("NextDue: %v %v %v", next, ok, err)
	}
	t.Logf("NextDue took %v", time.Since(start))
}

// backlogSize is n, or a tenth of it under the race detector.
func backlogSize(n int) int {
	if raceEnabled {
		return n / 10
	}
	return n
}
