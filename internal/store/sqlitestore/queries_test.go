package sqlitestore

import (
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/store"
)

// TestListQueryPlans checks that the type filter of the events list and the
// attempts list read their indexes, on a database with a backlog: no scan
// of the app's events or attempts, and no sort but of the merged pages.
func TestListQueryPlans(t *testing.T) {
	s := openTemp(t)
	fillBacklog(t, s, 5, backlogSize(5_000))
	ofType := `SELECT * FROM (SELECT ` + eventCols + ` FROM events WHERE app_id = ? AND type = ? AND seq < ?
		AND created_at >= ? ORDER BY seq DESC LIMIT ?)`
	for _, c := range []struct {
		name, q string
		want    []string
		noSort  bool
	}{
		{"distinct event types", store.DistinctTypesSQL, []string{
			"SEARCH events USING COVERING INDEX events_app_type_seq (app_id=?)",
			"SEARCH e USING COVERING INDEX events_app_type_seq (app_id=? AND type>?)"}, true},
		{"events of types, merged", `SELECT ` + eventCols + ` FROM (` + ofType + ` UNION ALL ` + ofType + `)
			WHERE seq < ? ORDER BY seq DESC LIMIT ?`, []string{
			"SEARCH events USING INDEX events_app_type_seq (app_id=? AND type=? AND seq<?)"}, false},
		{"attempts", listAttemptsFrom + ` WHERE app_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?`, []string{
			"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
			"SEARCH d USING INDEX sqlite_autoindex_deliveries_1 (id=?)"}, true},
		{"attempts of an endpoint", listAttemptsFrom + ` WHERE app_id = ? AND endpoint_id = ? AND seq < ?
			ORDER BY seq DESC LIMIT ?`, []string{"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)"}, true},
		{"attempts of an event", listAttemptsFrom + ` WHERE app_id = ? AND event_seq = (SELECT seq FROM events
			WHERE app_id = ? AND id = ?) AND seq < ? ORDER BY seq DESC LIMIT ?`, []string{
			"SEARCH a USING INDEX attempts_app_seq (app_id=? AND seq<?)",
			"SEARCH events USING COVERING INDEX sqlite_autoindex_events_1 (app_id=? AND id=?)"}, true},
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
