package pgstore

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestAttemptAppEveryPath: each of the group writers' statements (all of a
// group's attempts in one statement, one statement per attempt, and an
// attempt in a transaction of its own) keeps the attempt's app, so that
// ListAttempts finds it.
func TestAttemptAppEveryPath(t *testing.T) {
	s := openTemp(t)
	appID, eps := fixture(t, s, 1)
	ctx := context.Background()
	now := ms(time.Now())
	var want []string
	newOp := func() *recordAttemptOp {
		res, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: appID, Type: "a.b", Data: json.RawMessage(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: eps[0]}},
		})
		if err != nil {
			t.Fatal(err)
		}
		op := &recordAttemptOp{a: hook.Attempt{ID: hook.NewID("att"), DeliveryID: res.Deliveries[0].ID, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: now, ResponseStatus: 200}, status: hook.DeliverySucceeded, now: now}
		op.ctx = ctx
		want = append(want, op.a.ID)
		return op
	}
	for _, mode := range []string{"bulk", "statement", "alone"} {
		ops := []groupOp{newOp(), newOp(), newOp()}
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
	checkAttemptIDs(t, s, appID, want)
}

// TestMigrateAttemptsApp: migration 9 gives the attempts made before it
// their deliveries' app, so that the attempts list shows them.
func TestMigrateAttemptsApp(t *testing.T) {
	ctx := context.Background()
	dsn := newSchema(t)
	m := migratorAt(t, dsn, 8)
	for _, q := range []string{
		`INSERT INTO apps (id, name, created_at, updated_at) VALUES ('app_1', 'a', now(), now()), ('app_2', 'b', now(), now())`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at)
			VALUES ('ep_1', 'app_1', 'https://x', 's', now(), now()), ('ep_2', 'app_2', 'https://x', 's', now(), now())`,
		`INSERT INTO events (app_id, id, type, data, created_at) VALUES ('app_1', 'e', 'a.b', '{}', now()),
			('app_2', 'e', 'a.b', '{}', now())`,
		`INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status, created_at, updated_at)
			SELECT 'dlv_' || right(app_id, 1), app_id, seq, id, type, 'ep_' || right(app_id, 1), 'failed', now(), now()
			FROM events`,
		`INSERT INTO attempts (id, delivery_id, number, trigger_kind, started_at, duration_ms, response_status,
			response_body, error_kind, error) VALUES ('att_1', 'dlv_1', 1, 'scheduled', now(), 1, 500, '', 'status', ''),
			('att_2', 'dlv_2', 1, 'scheduled', now(), 1, 500, '', 'status', '')`,
	} {
		if _, err := m.db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s := openDSN(t, dsn)
	for app, want := range map[string]string{"app_1": "att_1", "app_2": "att_2"} {
		page, err := s.ListAttempts(ctx, &store.ListAttemptsParams{AppID: app})
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != want || page.Data[0].EndpointID == "" {
			t.Errorf("attempts of %s after the migration: %+v, want %s", app, page.Data, want)
		}
	}
}

// checkAttemptIDs checks that the app's attempts list (its first page)
// holds the attempts want, in any order.
func checkAttemptIDs(t *testing.T, s *Store, appID string, want []string) {
	t.Helper()
	page, err := s.ListAttempts(context.Background(), &store.ListAttemptsParams{AppID: appID})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range page.Data {
		got = append(got, a.ID)
	}
	slices.Sort(got)
	want = slices.Sorted(slices.Values(want))
	if !slices.Equal(got, want) {
		t.Fatalf("ListAttempts: %v, want %v", got, want)
	}
}
