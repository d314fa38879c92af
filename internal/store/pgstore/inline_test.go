package pgstore

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// countRows runs a count query.
func countRows(t *testing.T, s *Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestInlineAttemptEveryPath: on each of the group writers' paths (all of
// a group's attempts in one statement, one statement per attempt, an
// attempt in a transaction of its own), a first-try success whose owner
// holds the lease writes no attempts row and is kept on its delivery's
// row; one whose lease was lost, and a failure, are rows, and so is a
// manual retry of a first-try success, which stays. All of them list and
// show as attempts.
func TestInlineAttemptEveryPath(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ctx := context.Background()
	now := ms(time.Now())
	type made struct {
		op         *recordAttemptOp
		wantInline bool
	}
	var all []made
	newOp := func(owner string, status int) *recordAttemptOp {
		res, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: json.RawMessage(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0], Claimed: true}},
			Owner:      "w", LeaseUntil: now.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		a := hook.Attempt{ID: hook.NewID("att"), DeliveryID: res.Deliveries[0].ID, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: now, DurationMillis: 7, ResponseStatus: status, ResponseBody: "b"}
		dec := hook.DeliverySucceeded
		if status >= 300 {
			a.ErrorKind, a.Error, dec = hook.ErrorKindStatus, "status", hook.DeliveryFailed
		}
		op := &recordAttemptOp{a: a, status: dec, sched: 1, now: now, owner: owner, inline: inlineAttempt(&a, dec)}
		op.ctx = ctx
		all = append(all, made{op, owner == "w" && status < 300})
		return op
	}
	run := func(mode string, ops []groupOp) {
		t.Helper()
		switch mode {
		case "bulk", "statement":
			s.noBulk = mode == "statement"
			if err := s.runGroup(ops); err != nil {
				t.Fatalf("%s: %v", mode, err)
			}
			s.noBulk = false
		case "alone":
			for _, op := range ops {
				if err := s.runAlone(op); err != nil {
					t.Fatalf("%s: %v", mode, err)
				}
			}
		}
	}
	modes := []string{"bulk", "statement", "alone"}
	for _, mode := range modes {
		run(mode, []groupOp{newOp("w", 200), newOp("lost", 200), newOp("w", 500), newOp("w", 204)})
	}
	var want []string
	for _, m := range all {
		a := m.op.a
		want = append(want, a.ID)
		rows := countRows(t, s, `SELECT count(*) FROM attempts WHERE delivery_id = $1`, a.DeliveryID)
		inline := countRows(t, s, `SELECT count(*) FROM deliveries WHERE id = $1 AND first_attempt_id = $2
			AND first_attempt_seq IS NOT NULL`, a.DeliveryID, a.ID)
		if m.wantInline && (rows != 0 || inline != 1) {
			t.Errorf("%s (owner %s, %d): %d attempts rows, inline %d; want no row, inline", a.ID, m.op.owner, a.ResponseStatus, rows, inline)
		}
		if !m.wantInline && (rows != 1 || inline != 0) {
			t.Errorf("%s (owner %s, %d): %d attempts rows, inline %d; want a row, not inline", a.ID, m.op.owner, a.ResponseStatus, rows, inline)
		}
		d, err := s.GetDelivery(ctx, appID, a.DeliveryID)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Attempts) != 1 || d.Attempts[0].ID != a.ID || d.Attempts[0].ResponseStatus != a.ResponseStatus ||
			d.Attempts[0].DurationMillis != 7 || d.Attempts[0].ResponseBody != "b" || d.Attempts[0].Number != 1 ||
			d.Attempts[0].Trigger != hook.TriggerScheduled || !d.Attempts[0].StartedAt.Equal(now) {
			t.Errorf("GetDelivery %s: attempts %+v, want %+v", a.DeliveryID, d.Attempts, a)
		}
	}
	// A manual retry of a first-try success, on each path: a row,
	// number 2; the first try stays on the delivery's row.
	for i, mode := range modes {
		var ops []groupOp
		var firsts []hook.Attempt
		for _, m := range all[4*i : 4*i+4] {
			if !m.wantInline {
				continue
			}
			id := m.op.a.DeliveryID
			if _, err := s.RetryDelivery(ctx, &store.RetryDeliveryParams{AppID: appID, DeliveryID: id, Now: now}); err != nil {
				t.Fatal(err)
			}
			firsts = append(firsts, m.op.a)
			a := hook.Attempt{ID: hook.NewID("att"), DeliveryID: id, Number: 2, Trigger: hook.TriggerManual,
				StartedAt: now.Add(time.Second), DurationMillis: 7, ResponseStatus: 500, ResponseBody: "b",
				ErrorKind: hook.ErrorKindStatus, Error: "status"}
			op := &recordAttemptOp{a: a, status: hook.DeliveryFailed, sched: 1, now: now, owner: "w"}
			op.ctx = ctx
			ops = append(ops, op)
			want = append(want, a.ID)
		}
		if _, err := s.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "w", Now: now.Add(time.Second),
			LeaseUntil: now.Add(time.Minute), Limit: 10}); err != nil {
			t.Fatal(err)
		}
		run(mode, ops)
		for j, op := range ops {
			a := op.(*recordAttemptOp).a
			d, err := s.GetDelivery(ctx, appID, a.DeliveryID)
			if err != nil {
				t.Fatal(err)
			}
			if d.Status != hook.DeliveryFailed || len(d.Attempts) != 2 || d.Attempts[0].ID != firsts[j].ID ||
				d.Attempts[0].ResponseStatus != firsts[j].ResponseStatus || d.Attempts[1].ID != a.ID || d.Attempts[1].Number != 2 {
				t.Errorf("%s: manual retry of %s: status %s, attempts %+v %+v", mode, a.DeliveryID, d.Status, d.Attempts[0], d.Attempts[len(d.Attempts)-1])
			}
		}
	}

	checkAttemptIDs(t, s, appID, want)
}

// TestInlineAttemptPlans: on an app with many attempts (rows and inline),
// the attempts list reads both sources from their indexes, newest first,
// and merges them: no scan or sort of the app's attempts, whatever the
// filter. GetDelivery reads its indexes too.
func TestInlineAttemptPlans(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 2)
	ctx := context.Background()
	// 100 apps; 100,000 deliveries, half of them the app's, half with an
	// inline attempt, half with two attempt rows (a 500, then a 200);
	// seqs interleaved.
	for range 99 {
		if _, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "other", Now: time.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO events (app_id, id, type, data, created_at)
			SELECT CASE WHEN i % 4 < 2 THEN $2 ELSE (SELECT array_agg(id ORDER BY id) FROM apps)[1 + i % 100] END, 'e' || i, 'a.b', '{}', now() - interval '1 day'
			FROM generate_series(1, 100000) i`,
		`INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status, attempt_count,
				created_at, updated_at, first_attempt_id, first_attempt_seq, first_trigger, first_started_at,
				first_duration_ms, first_response_status, first_response_body)
			SELECT 'dlv_' || e.seq, e.app_id, e.seq, e.id, e.type, $1, 'succeeded', 1, e.created_at, e.created_at,
				CASE WHEN e.seq % 2 = 0 THEN 'att_' || e.seq END,
				CASE WHEN e.seq % 2 = 0 THEN nextval('attempts_seq_seq') END,
				CASE WHEN e.seq % 2 = 0 THEN 'scheduled' END, e.created_at, 5, 200, ''
			FROM events e ORDER BY e.seq`,
		`INSERT INTO attempts (id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
				response_status, response_body, error_kind, error)
			SELECT 'att_' || d.seq || '_' || n, d.id, d.app_id, n, 'scheduled', d.created_at, 5, 300 * n - 100, '', CASE WHEN n = 1 THEN 'status' ELSE '' END, ''
			FROM deliveries d, generate_series(1, 2) n WHERE d.first_attempt_seq IS NULL ORDER BY d.seq, n`,
		`ANALYZE`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, eps[0])
		}
		if strings.Contains(q, "$2") {
			args = []any{appID}
			q = strings.ReplaceAll(q, "$2", "$1")
		}
		if _, err := s.pool.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	since := time.Now().Add(-48 * time.Hour)
	// Each source read newest first from an index (the app's most
	// attempts rows are read from the primary key), merged.
	merged := []string{"Merge Append", "Index Scan Backward using attempts_", "Index Scan Backward using deliveries_app_first"}
	for _, c := range []struct {
		name string
		p    store.ListAttemptsParams
		want []string
		// few: the filter keeps a delivery's or an event's
		// attempts, which may be sorted.
		few bool
	}{
		{"all", store.ListAttemptsParams{}, merged, false},
		{"endpoint", store.ListAttemptsParams{EndpointID: eps[0]}, merged, false},
		{"status class", store.ListAttemptsParams{StatusClass: store.StatusClass2xx}, merged, false},
		{"since", store.ListAttemptsParams{Since: since}, merged, false},
		{"delivery", store.ListAttemptsParams{DeliveryID: "dlv_200"}, []string{"deliveries_id_key", "attempts_delivery_seq"}, true},
		{"event", store.ListAttemptsParams{EventID: "e2"}, []string{"events_app_id_id_key", "deliveries_event"}, true},
		{"error kind", store.ListAttemptsParams{ErrorKind: hook.ErrorKindStatus}, []string{"Index Scan Backward using attempts_"}, false},
		{"until", store.ListAttemptsParams{Until: time.Now()}, merged, false},
	} {
		c.p.AppID = appID
		c.p.Limit = 50
		plan := explainListAttempts(t, s, &c.p)
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, plan)
			}
		}
		if strings.Contains(plan, "Seq Scan") || (!c.few && strings.Contains(plan, "->  Sort")) {
			t.Errorf("%s: full scan or sort:\n%s", c.name, plan)
		}
	}
	// GetDelivery: the delivery by id, its attempt rows by
	// attempts_delivery_seq.
	plan := explain(t, s, sqlGetDelivery, "dlv_200", appID)
	if !strings.Contains(plan, "deliveries_id_key") || !strings.Contains(plan, "attempts_delivery_seq") ||
		strings.Contains(plan, "Seq Scan on attempts") || strings.Contains(plan, "Seq Scan on deliveries") {
		t.Errorf("GetDelivery: want deliveries_id_key and attempts_delivery_seq:\n%s", plan)
	}
}

// explainListAttempts returns the plan of ListAttempts' query for p.
func explainListAttempts(t *testing.T, s *Store, p *store.ListAttemptsParams) string {
	t.Helper()
	q, args, err := listAttemptsQuery(p)
	if err != nil {
		t.Fatal(err)
	}
	return explain(t, s, q, args...)
}

// explain returns the plan of q.
func explain(t *testing.T, s *Store, q string, args ...any) string {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), "EXPLAIN "+q, args...)
	if err != nil {
		t.Fatalf("explain %s: %v", q, err)
	}
	defer rows.Close()
	var b strings.Builder
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			t.Fatal(err)
		}
		b.WriteString(line + "\n")
	}
	return b.String()
}
