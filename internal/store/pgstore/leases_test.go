package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// lease is a delivery's lease as stored.
type lease struct {
	owner string // "" if none
	until time.Time
}

// leasesOf reads the leases of every delivery of the schema.
func leasesOf(t *testing.T, s *Store) map[string]lease {
	t.Helper()
	rows, err := s.pool.Query(context.Background(), `SELECT id, lease_owner, available_at FROM deliveries`)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]lease{}
	for rows.Next() {
		var id string
		var owner pgtype.Text
		var until pgtype.Timestamptz
		if err := rows.Scan(&id, &owner, &until); err != nil {
			t.Fatal(err)
		}
		out[id] = lease{owner: owner.String, until: until.Time.UTC()}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// publishLeased inserts an event whose one delivery is leased to owner
// until until (the publish fast path), or not leased if owner is "".
func publishLeased(t *testing.T, s *Store, appID, epID, owner string, at, until time.Time) string {
	t.Helper()
	id := hook.NewID("dlv")
	_, err := s.InsertEvent(context.Background(), &store.InsertEventParams{
		Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: at},
		Deliveries: []store.NewDelivery{{ID: id, EndpointID: epID, Claimed: owner != ""}},
		Owner:      owner, LeaseUntil: until,
	})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// claimOne claims one delivery for owner at at, until until.
func claimOne(t *testing.T, s *Store, owner string, at, until time.Time) string {
	t.Helper()
	c, err := s.ClaimDeliveries(context.Background(), &store.ClaimDeliveriesParams{Owner: owner, Now: at, LeaseUntil: until, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Jobs) != 1 {
		t.Fatalf("%s claimed %d, want 1", owner, len(c.Jobs))
	}
	return c.Jobs[0].DeliveryID
}

// checkLeases fails unless each id has the lease want says.
func checkLeases(t *testing.T, what string, got map[string]lease, want map[string]lease) {
	t.Helper()
	for id, w := range want {
		if g := got[id]; g.owner != w.owner || !g.until.Equal(w.until) {
			t.Errorf("%s: %s leased to %q until %v, want %q until %v", what, id, g.owner, g.until, w.owner, w.until)
		}
	}
}

// TestLeasesByID: without deliveries_lease, RenewLeases and
// ReleaseDeliveries without ids reach exactly the owner's leases that this
// store granted (by the publish fast path, InsertEvents, ClaimDeliveries),
// and none of another owner's, whether that owner is on the same store or
// on another store sharing the schema; leases lost to another owner are
// forgotten.
func TestLeasesByID(t *testing.T) {
	dsn := newSchema(t)
	a, b := openDSN(t, dsn), openDSN(t, dsn)
	appID, eps := fixture(t, a, 1)
	ep := eps[0]
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	minute := now.Add(time.Minute)

	fast := publishLeased(t, a, appID, ep, "A1", now, minute)
	var batch []string
	var items []store.InsertEventParams
	for range 2 {
		id := hook.NewID("dlv")
		batch = append(batch, id)
		items = append(items, store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: id, EndpointID: ep, Claimed: true}},
			Owner:      "A1", LeaseUntil: minute,
		})
	}
	if _, err := a.InsertEvents(ctx, &store.InsertEventsParams{Events: items}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		publishLeased(t, a, appID, ep, "", now, time.Time{})
	}
	claimedA1 := claimOne(t, a, "A1", now, minute)
	claimedA2 := claimOne(t, a, "A2", now, minute)
	claimedB := claimOne(t, b, "B", now, minute)
	fastB := publishLeased(t, b, appID, ep, "B", now, minute)
	a1 := []string{fast, batch[0], batch[1], claimedA1}
	if got, _ := a.leases.IDs("A1"); !slices.Equal(got, sortedCopy(a1)) {
		t.Fatalf("A1's leases remembered: %v, want %v", got, sortedCopy(a1))
	}

	// A1's are renewed, and only they.
	ten := now.Add(10 * time.Minute)
	if err := a.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "A1", Until: ten}); err != nil {
		t.Fatal(err)
	}
	want := map[string]lease{claimedA2: {"A2", minute}, claimedB: {"B", minute}, fastB: {"B", minute}}
	for _, id := range a1 {
		want[id] = lease{"A1", ten}
	}
	checkLeases(t, "A1 renewed", leasesOf(t, a), want)

	// Store b granted no lease to A1: its renewal of A1 changes nothing.
	if err := b.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "A1", Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := b.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "B", Until: ten}); err != nil {
		t.Fatal(err)
	}
	want[claimedB], want[fastB] = lease{"B", ten}, lease{"B", ten}
	checkLeases(t, "A1 renewed by the other store, B renewed", leasesOf(t, a), want)

	// Releasing all of A1's leaves A2's and B's.
	if err := a.ReleaseDeliveries(ctx, &store.ReleaseDeliveriesParams{Owner: "A1", Now: now}); err != nil {
		t.Fatal(err)
	}
	for _, id := range a1 {
		want[id] = lease{"", now}
	}
	checkLeases(t, "A1 released", leasesOf(t, a), want)
	if n := a.leases.Len("A1"); n != 0 {
		t.Fatalf("A1's leases remembered after releasing all: %d", n)
	}
	if err := a.ReleaseDeliveries(ctx, &store.ReleaseDeliveriesParams{Owner: "B", Now: now}); err != nil {
		t.Fatal(err)
	}
	checkLeases(t, "B released by the other store", leasesOf(t, a), want)

	// A2's lease runs out and B2 claims it: A2's renewal drops it and
	// does not extend B2's lease.
	later := minute.Add(time.Minute)
	c, err := b.ClaimDeliveries(ctx, &store.ClaimDeliveriesParams{Owner: "B2", Now: minute, LeaseUntil: later, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(c.Jobs, func(j *store.Job) bool { return j.DeliveryID == claimedA2 }) {
		t.Fatalf("B2 did not claim A2's expired lease on %s", claimedA2)
	}
	if err := a.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "A2", Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	checkLeases(t, "A2's lost lease", leasesOf(t, a), map[string]lease{claimedA2: {"B2", later}})
	if n := a.leases.Len("A2"); n != 0 {
		t.Fatalf("A2's lost lease still remembered after a renewal (%d)", n)
	}

	// An attempt recorded on a lost lease changes nothing, and the lease
	// is forgotten.
	lostA3 := publishLeased(t, a, appID, ep, "A3", now, minute)
	if got := claimOne(t, b, "B3", minute, later); got != lostA3 {
		t.Fatalf("B3 claimed %s, want %s", got, lostA3)
	}
	err = a.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "A3", Now: minute,
		Attempt: &hook.Attempt{ID: hook.NewID("att"), DeliveryID: lostA3, Number: 1, Trigger: "scheduled",
			StartedAt: now, ResponseStatus: 200},
		Decision: hook.Decision{Status: hook.DeliverySucceeded}})
	if err != nil {
		t.Fatal(err)
	}
	checkLeases(t, "an attempt on a lost lease", leasesOf(t, a), map[string]lease{lostA3: {"B3", later}})
	if n := a.leases.Len("A3"); n != 0 {
		t.Fatalf("A3's lost lease still remembered after its attempt (%d)", n)
	}

	// ReleaseAllLeases forgets them all.
	if n := b.leases.Owners(); n == 0 {
		t.Fatal("store b remembers no lease")
	}
	if _, err := b.ReleaseAllLeases(ctx); err != nil {
		t.Fatal(err)
	}
	if n := b.leases.Owners(); n != 0 {
		t.Fatalf("store b remembers leases of %d owners after ReleaseAllLeases", n)
	}
}

// inOneBatch runs ops, each a call that hands one operation to the group
// writers, in one batch: it holds both writers until all are queued.
func inOneBatch(t *testing.T, s *Store, ops ...func()) {
	t.Helper()
	var holds []*holdOp
	for range defaultWriters {
		h := &holdOp{running: make(chan struct{}), release: make(chan struct{})}
		go func() { _ = s.group(context.Background(), h) }()
		<-h.running
		holds = append(holds, h)
	}
	var wg sync.WaitGroup
	for _, op := range ops {
		wg.Go(op)
	}
	for len(s.ops) < len(ops) {
		time.Sleep(time.Millisecond)
	}
	close(holds[0].release) // its writer takes the whole queue
	for len(s.ops) > 0 {
		time.Sleep(time.Millisecond)
	}
	close(holds[1].release)
	wg.Wait()
}

// TestLeasesOfGroupCommits: the leases of events inserted in group
// commits are remembered whichever way the batch ran (in one statement,
// or each op alone after a failure in the batch), and each lease is
// forgotten once its attempt is recorded (in one statement, or alone), or
// it is released or discarded: the set does not grow.
func TestLeasesOfGroupCommits(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ep := eps[0]
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	hour := now.Add(time.Hour)

	// Two batches of n inserts: one in one statement, one that a
	// delivery id already taken makes run op by op.
	const n = 10
	taken := publishLeased(t, s, appID, ep, "", now, time.Time{})
	var leased []string
	var mu sync.Mutex
	insert := func(id string) func() {
		return func() {
			_, err := s.InsertEvent(ctx, &store.InsertEventParams{
				Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
				Deliveries: []store.NewDelivery{{ID: id, EndpointID: ep, Claimed: true}},
				Owner:      "A", LeaseUntil: hour,
			})
			if id == taken {
				if hook.ErrorCode(err) != hook.EConflict {
					t.Errorf("insert with a taken delivery id: %v", err)
				}
				return
			}
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			leased = append(leased, id)
			mu.Unlock()
		}
	}
	for _, fail := range []bool{false, true} {
		retries0, bulk0 := s.nRetries.Load(), s.nBatches.Load()
		ops := []func(){}
		for range n {
			ops = append(ops, insert(hook.NewID("dlv")))
		}
		if fail {
			ops = append(ops, insert(taken))
		}
		inOneBatch(t, s, ops...)
		if got := s.nRetries.Load() - retries0; got != map[bool]int64{false: 0, true: 1}[fail] {
			t.Fatalf("batch with a taken id %v: run again op by op %d times", fail, got)
		}
		t.Logf("batch with a taken id %v: %d batches", fail, s.nBatches.Load()-bulk0)
	}
	if len(leased) != 2*n {
		t.Fatalf("%d inserts succeeded, want %d", len(leased), 2*n)
	}
	if got, _ := s.leases.IDs("A"); !slices.Equal(got, sortedCopy(leased)) {
		t.Fatalf("leases remembered: %d, want the %d inserted", len(got), len(leased))
	}

	// Renewed, each one.
	ten := hour.Add(10 * time.Minute)
	if err := s.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "A", Until: ten}); err != nil {
		t.Fatal(err)
	}
	got := leasesOf(t, s)
	for _, id := range leased {
		if !got[id].until.Equal(ten) {
			t.Fatalf("%s leased until %v after the renewal, want %v", id, got[id].until, ten)
		}
	}

	// Attempts recorded in one statement (some to retry, some done),
	// then in a batch that a taken attempt id makes run op by op; a
	// release and a discard: nothing is left.
	record := func(i int, id, attID string) func() {
		return func() {
			dec := hook.Decision{Status: hook.DeliverySucceeded}
			if i%3 == 0 {
				dec = hook.Decision{Status: hook.DeliveryPending, NextAttemptAt: ten}
			}
			err := s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "A", Now: now,
				Attempt: &hook.Attempt{ID: attID, DeliveryID: id, Number: 1, Trigger: "scheduled",
					StartedAt: now, ResponseStatus: 200},
				Decision: dec})
			if err != nil && attID != "att_taken" {
				t.Error(err)
			}
		}
	}
	release, discard, rest := leased[0], leased[1], leased[2:]
	var ops []func()
	for i, id := range rest[:n] {
		ops = append(ops, record(i, id, hook.NewID("att")))
	}
	inOneBatch(t, s, ops...)
	if k := s.leases.Len("A"); k != len(leased)-n {
		t.Fatalf("%d leases remembered after %d of %d were recorded", k, n, len(leased))
	}
	retries0 := s.nRetries.Load()
	ops = append(ops[:0], record(0, rest[0], "att_taken"), record(0, rest[1], "att_taken"))
	for i, id := range rest[n:] {
		ops = append(ops, record(i, id, hook.NewID("att")))
	}
	inOneBatch(t, s, ops...)
	if s.nRetries.Load() == retries0 {
		t.Fatal("the batch with a taken attempt id did not run again op by op")
	}
	if err := s.ReleaseDeliveries(ctx, &store.ReleaseDeliveriesParams{Owner: "A", IDs: []string{release}, Now: now}); err != nil {
		t.Fatal(err)
	}
	if k, err := s.DiscardDeliveries(ctx, &store.DiscardDeliveriesParams{Owner: "A", IDs: []string{discard}}); err != nil || k != 1 {
		t.Fatalf("discard: %d, %v", k, err)
	}
	if got, _ := s.leases.IDs("A"); len(got) != 0 {
		t.Fatalf("%d leases remembered once all ended: %v", len(got), got)
	}
	if k := s.leases.Owners(); k != 0 {
		t.Fatalf("leases of %d owners remembered", k)
	}
	for id, l := range leasesOf(t, s) {
		if l.owner != "" {
			t.Errorf("%s still leased to %q", id, l.owner)
		}
	}
}

// TestRenewLeasesPlan: the renewal (and the release) find the leases by id
// (deliveries_id_key), not by scanning the table or the pending
// deliveries.
func TestRenewLeasesPlan(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	// 20,000 deliveries, a quarter of them pending (a backlog), 50 leased.
	if _, err := s.pool.Exec(ctx, `INSERT INTO events (app_id, id, type, data, created_at) VALUES ($1, 'evt_plan', 'a.b', '{}', $2)`,
		appID, now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, next_attempt_at, available_at, lease_owner, created_at, updated_at)
		SELECT 'dlv_plan_' || i, $1, (SELECT seq FROM events WHERE id = 'evt_plan'), 'evt_plan', 'a.b', $2,
			CASE WHEN i % 4 = 0 THEN 'pending' ELSE 'succeeded' END, $3,
			CASE WHEN i % 4 = 0 THEN $3::timestamptz END,
			CASE WHEN i % 400 = 0 THEN 'A' END, $3, $3
		FROM generate_series(1, 20000) AS i`, appID, eps[0], now); err != nil {
		t.Fatal(err)
	}
	if _, err := s.pool.Exec(ctx, `ANALYZE deliveries`); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for i := 400; i <= 20000; i += 400 {
		ids = append(ids, fmt.Sprint("dlv_plan_", i))
	}
	// The plan for these ids, and the generic plan (of a statement
	// prepared and run many times, as pgx's statement cache does).
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for name, q := range map[string]string{"renew": sqlRenewLeases, "release": sqlReleaseLeases} {
		for _, mode := range []string{"force_custom_plan", "force_generic_plan"} {
			if _, err := conn.Exec(ctx, `SET plan_cache_mode = `+mode); err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, `PREPARE leases_plan AS `+q); err != nil {
				t.Fatal(err)
			}
			var plan []byte
			err := conn.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE leases_plan (now(), 'A', '{`+strings.Join(ids, ",")+`}')`).Scan(&plan)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := conn.Exec(ctx, `DEALLOCATE leases_plan; RESET plan_cache_mode`); err != nil {
				t.Fatal(err)
			}
			if scans := planScans(t, plan); !slices.Equal(scans, []string{"deliveries_id_key"}) {
				t.Errorf("%s (%s): reads deliveries by %v, want deliveries_id_key only; plan %s", name, mode, scans, plan)
			}
		}
	}
	// And it renews them.
	s.leases.Add("A", ids)
	if err := s.RenewLeases(ctx, &store.RenewLeasesParams{Owner: "A", Until: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var renewed int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE available_at = $1`, now.Add(time.Hour)).Scan(&renewed); err != nil {
		t.Fatal(err)
	}
	if renewed != len(ids) || s.leases.Len("A") != len(ids) {
		t.Fatalf("renewed %d, remembered %d, want %d", renewed, s.leases.Len("A"), len(ids))
	}
}

// planScans returns how a JSON plan reads the deliveries table: the
// indexes it scans, and "Seq Scan" if it scans the table.
func planScans(t *testing.T, plan []byte) []string {
	t.Helper()
	var out []string
	walkPlan(t, plan, func(n map[string]any) {
		typ, _ := n["Node Type"].(string)
		rel, _ := n["Relation Name"].(string)
		switch idx, _ := n["Index Name"].(string); {
		case idx != "":
			out = append(out, idx)
		case typ == "Seq Scan" && rel == "deliveries":
			out = append(out, typ)
		}
	})
	return out
}

// TestMigrationNoLeaseIndex: migration 00018 drops deliveries_lease from a
// database in use. The leases granted before (by an earlier process) are
// not known to the new store: its renewal leaves them, they run out and
// are claimed again; the leases it grants itself are renewed and
// released. Its Down puts the index back.
func TestMigrationNoLeaseIndex(t *testing.T) {
	ctx := context.Background()
	dsn := newSchema(t)
	m := migratorAt(t, dsn, 17)
	hasLeaseIndex := func() bool {
		t.Helper()
		var ok bool
		if err := m.db.QueryRowContext(ctx, `SELECT to_regclass('deliveries_lease') IS NOT NULL`).Scan(&ok); err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if !hasLeaseIndex() {
		t.Fatal("deliveries_lease missing before 00018")
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	minute := now.Add(time.Minute)
	for _, q := range []string{
		`INSERT INTO apps (id, name, created_at, updated_at) VALUES ('app_1', 'a', now(), now())`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at) VALUES ('ep_1', 'app_1', 'https://example.com', 's', now(), now())`,
		`INSERT INTO events (app_id, id, type, data, created_at) VALUES ('app_1', 'evt_1', 'a.b', '{}', now())`,
	} {
		if _, err := m.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if _, err := m.db.ExecContext(ctx, `INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id,
			status, next_attempt_at, available_at, lease_owner, created_at, updated_at)
		SELECT v.id, 'app_1', (SELECT seq FROM events WHERE id = 'evt_1'), 'evt_1', 'a.b', 'ep_1',
			v.status, $1::timestamptz, v.avail, v.owner, $1, $1
		FROM (VALUES ('dlv_old', 'pending', $2::timestamptz, 'old-process'),
		             ('dlv_done', 'succeeded', NULL, NULL)) AS v (id, status, avail, owner)`, now, minute); err != nil {
		t.Fatal(err)
	}

	s := openDSN(t, dsn) // migrates
	if hasLeaseIndex() {
		t.Fatal("deliveries_lease still there after 00018")
	}
	mine := publishLeased(t, s, "app_1", "ep_1", "new-process", now, minute)
	hour := now.Add(time.Hour)
	for _, owner := range []string{"old-process", "new-process"} {
		if err := s.RenewLeases(ctx, &store.RenewLeasesParams{Owner: owner, Until: hour}); err != nil {
			t.Fatal(err)
		}
	}
	checkLeases(t, "renewed after the upgrade", leasesOf(t, s), map[string]lease{
		"dlv_old": {"old-process", minute}, // not this store's: runs out
		mine:      {"new-process", hour},
	})
	if got := claimOne(t, s, "new-process", minute, hour); got != "dlv_old" {
		t.Fatalf("claimed %s when the old lease ran out, want dlv_old", got)
	}
	if err := s.ReleaseDeliveries(ctx, &store.ReleaseDeliveriesParams{Owner: "new-process", Now: now}); err != nil {
		t.Fatal(err)
	}
	checkLeases(t, "released", leasesOf(t, s), map[string]lease{"dlv_old": {"", now}, mine: {"", now}})

	if _, err := m.p.DownTo(ctx, 17); err != nil {
		t.Fatal(err)
	}
	if !hasLeaseIndex() {
		t.Fatal("deliveries_lease not back after 00018's Down")
	}
	if _, err := m.p.Up(ctx); err != nil {
		t.Fatal(err)
	}
}

func sortedCopy(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
