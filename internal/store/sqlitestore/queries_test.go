package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

// TestListQueryPlans checks that the type filter of the events list reads
// its indexes (the attempts list's plans are in TestInlineAttemptPlans), on a database with a backlog: no scan
// of the app's events or attempts, and no sort but of the merged pages.
func TestListQueryPlans(t *testing.T) {
	s := openTemp(t)
	fillBacklog(t, s, 5, backlogSize(5_000))
	ofTypes, _ := eventsOfTypesQuery("app", []string{"a.b", "c.d"}, []string{"created_at >= ?"}, []any{1}, 1, 10)
	for _, c := range []struct {
		name, q string
		want    []string
		noSort  bool
	}{
		{"distinct event types", sqlDistinctTypes, []string{
			"SEARCH events USING COVERING INDEX events_app_type_seq (app_seq=?)",
			"SEARCH e USING COVERING INDEX events_app_type_seq (app_seq=? AND type>?)"}, true},
		{"events of types, merged", seqPageQuery(ofTypes, nil), []string{
			"SEARCH events USING INDEX events_app_type_seq (app_seq=? AND type=? AND seq<?)"}, false},
	} {
		plan := queryPlan(t, s, c.q)
		for _, w := range c.want {
			if !strings.Contains(plan, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.name, w, plan)
			}
		}
		if strings.Contains(plan, "SCAN events") || strings.Contains(plan, "SCAN a\n") ||
			(c.noSort && strings.Contains(plan, "TEMP B-TREE")) {
			t.Errorf("%s: full scan or sort:\n%s", c.name, plan)
		}
	}
}

// TestMigrateAttemptsApp: migration 10 gives the attempts made before it
// their deliveries' app, so that the attempts list shows them.
func TestMigrateAttemptsApp(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	db, _ := migrationsAt(t, path, 9)
	for _, q := range []string{
		`INSERT INTO apps (id, name, created_at, updated_at) VALUES ('app_1', 'a', 0, 0), ('app_2', 'b', 0, 0)`,
		`INSERT INTO endpoints (id, app_id, url, secret, created_at, updated_at)
			VALUES ('ep_1', 'app_1', 'https://x', 's', 0, 0), ('ep_2', 'app_2', 'https://x', 's', 0, 0)`,
		`INSERT INTO events (seq, app_id, id, type, data, created_at) VALUES (1, 'app_1', 'e', 'a.b', '{}', 0),
			(2, 'app_2', 'e', 'a.b', '{}', 0)`,
		`INSERT INTO deliveries (id, app_id, event_seq, event_id, event_type, endpoint_id, status, created_at, updated_at)
			VALUES ('dlv_1', 'app_1', 1, 'e', 'a.b', 'ep_1', 'failed', 0, 0),
			('dlv_2', 'app_2', 2, 'e', 'a.b', 'ep_2', 'failed', 0, 0)`,
		`INSERT INTO attempts (id, delivery_id, number, trigger_kind, started_at, duration_ms, response_status,
			response_body, error_kind, error) VALUES ('att_1', 'dlv_1', 1, 'scheduled', 0, 1, 500, '', 'status', ''),
			('att_2', 'dlv_2', 1, 'scheduled', 0, 1, 500, '', 'status', '')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_ = db.Close()
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
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
