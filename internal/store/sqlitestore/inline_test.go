package sqlitestore

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestInlineAttemptPlans: the attempts list reads each of its two sources
// (attempt rows, inline attempts on deliveries) from an index, newest
// first, and merges them without a sort, whatever the filters; and the
// seq counter's start reads indexes only.
func TestInlineAttemptPlans(t *testing.T) {
	s := openTemp(t)
	check := func(stage string) {
		t.Helper()
		since, until := time.Unix(1, 0), time.Unix(2, 0)
		for _, c := range []struct {
			name string
			p    store.ListAttemptsParams
			want []string
		}{
			{"all", store.ListAttemptsParams{}, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			{"endpoint", store.ListAttemptsParams{EndpointID: "ep"}, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			{"delivery", store.ListAttemptsParams{DeliveryID: "dlv"}, []string{"MERGE (UNION ALL)",
				"SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
			{"event", store.ListAttemptsParams{EventID: "evt"}, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH events USING COVERING INDEX sqlite_autoindex_events_1 (app_id=? AND id=?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			{"status class", store.ListAttemptsParams{StatusClass: store.StatusClass2xx}, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			{"no response", store.ListAttemptsParams{StatusClass: store.StatusClassError}, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			// No inline attempt has an error: only the rows.
			{"error kind", store.ListAttemptsParams{ErrorKind: hook.ErrorKindTimeout}, []string{
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)"}},
			{"window", store.ListAttemptsParams{Since: since, Until: until}, []string{"MERGE (UNION ALL)",
				"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
				"SEARCH d USING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>? AND first_attempt_seq<?)"}},
			{"every filter", store.ListAttemptsParams{EndpointID: "ep", DeliveryID: "dlv", EventID: "evt",
				StatusClass: store.StatusClass5xx, Since: since, Until: until}, []string{"MERGE (UNION ALL)",
				"SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}},
		} {
			c.p.AppID = "app"
			q, _, err := listAttemptsQuery(&c.p, 1<<40, 51)
			if err != nil {
				t.Fatal(err)
			}
			plan := queryPlan(t, s, q)
			for _, w := range c.want {
				if !strings.Contains(plan, w) {
					t.Errorf("%s: %s: plan lacks %q:\n%s", stage, c.name, w, plan)
				}
			}
			if strings.Contains(plan, "SCAN ") || strings.Contains(plan, "TEMP B-TREE") {
				t.Errorf("%s: %s: scan or sort:\n%s", stage, c.name, plan)
			}
		}
		plan := queryPlan(t, s, sqlMaxAttemptSeq)
		if !strings.Contains(plan, "SEARCH d USING COVERING INDEX deliveries_app_first (app_seq=? AND first_attempt_seq>?)") ||
			strings.Contains(plan, "SCAN d") || strings.Contains(plan, "SCAN attempts") || strings.Contains(plan, "TEMP B-TREE") {
			t.Errorf("%s: max attempt seq: want one probe of deliveries_app_first per app:\n%s", stage, plan)
		}
	}
	check("empty")
	fillBacklog(t, s, 5, backlogSize(5_000))
	check("backlog")
}

// countRows counts the rows of a table, or those meeting where.
func countRows(t *testing.T, s *Store, q string, args ...any) int {
	t.Helper()
	var n int
	if err := s.rdb.QueryRowContext(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// TestInlineAttemptNoRow: a first-try success writes no attempts row (the
// write saved), and the attempts after it are rows; a failure is a row
// from the start. The seq counter survives a restart: the next attempt
// lists above both.
func TestInlineAttemptNoRow(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "hookd.db")
	s, err := Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = s.Close() }()
	now := time.Now().UTC().Truncate(time.Millisecond)
	app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "a", Now: now})
	if err != nil {
		t.Fatal(err)
	}
	ep, err := s.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID,
		URL: "https://example.com", Secret: hook.NewSecret(), Now: now})
	if err != nil {
		t.Fatal(err)
	}
	deliver := func(s *Store, status int) (string, string) {
		t.Helper()
		res, err := s.InsertEvent(ctx, &store.InsertEventParams{
			Event:      &hook.Event{ID: hook.NewID("evt"), AppID: app.ID, Type: "a.b", Data: []byte(`{}`), CreatedAt: now},
			Deliveries: []store.NewDelivery{{ID: hook.NewID("dlv"), EndpointID: ep.ID, Claimed: true}},
			Owner:      "w", LeaseUntil: now.Add(time.Minute),
		})
		if err != nil {
			t.Fatal(err)
		}
		dec := hook.Decision{Status: hook.DeliverySucceeded}
		kind := ""
		if status >= 300 {
			dec, kind = hook.Decision{Status: hook.DeliveryFailed}, hook.ErrorKindStatus
		}
		att := &hook.Attempt{ID: hook.NewID("att"), DeliveryID: res.Deliveries[0].ID, Number: 1,
			Trigger: hook.TriggerScheduled, StartedAt: now, Duration: time.Millisecond, ResponseStatus: status,
			ResponseBody: "ok", ErrorKind: kind}
		if err := s.RecordAttempt(ctx, &store.RecordAttemptParams{Owner: "w", Attempt: att, ScheduledAttempts: 1,
			Decision: dec, EndpointID: ep.ID, Now: now}); err != nil {
			t.Fatal(err)
		}
		return res.Deliveries[0].ID, att.ID
	}

	failed, _ := deliver(s, 500)
	if n := countRows(t, s, `SELECT count(*) FROM attempts WHERE delivery_id = ?`, failed); n != 1 {
		t.Fatalf("a failure wrote %d attempts rows, want 1", n)
	}
	if n := countRows(t, s, `SELECT count(*) FROM deliveries WHERE id = ? AND first_attempt_seq IS NOT NULL`, failed); n != 0 {
		t.Fatalf("a failure is inline")
	}
	ok, okAtt := deliver(s, 200)
	if n := countRows(t, s, `SELECT count(*) FROM attempts`); n != 1 {
		t.Fatalf("a first-try success wrote %d attempts rows, want none", n-1)
	}
	if n := countRows(t, s, `SELECT count(*) FROM deliveries WHERE id = ? AND first_attempt_id = ?`, ok, okAtt); n != 1 {
		t.Fatalf("the first-try success is not on its delivery's row")
	}

	// Restart: the newest attempt is inline, so the counter must start
	// above it, not only above the rows.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = Open(ctx, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	failed2, _ := deliver(s, 500)
	// Page by one, so that two attempts sharing a seq would lose one.
	var got []string
	p := &store.ListAttemptsParams{AppID: app.ID, ListParams: store.ListParams{Limit: 1}}
	for range 10 {
		page, err := s.ListAttempts(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range page.Data {
			got = append(got, a.DeliveryID)
		}
		if p.Cursor = page.NextCursor; p.Cursor == "" {
			break
		}
	}
	if want := []string{failed2, ok, failed}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("attempts after a restart, newest first: got %v, want %v", got, want)
	}
}
