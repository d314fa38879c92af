package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestBulkPlansOnNewTables: on a new database, whose tables hold nothing
// yet, the plan PostgreSQL keeps for a bulk statement (its generic plan)
// reaches deliveries, events, apps and endpoints by their keys, never by
// scanning them: the plan is kept while the tables grow.
func TestBulkPlansOnNewTables(t *testing.T) {
	t.Parallel()
	s := openTemp(t)
	fixture(t, s, 1)
	ctx := context.Background()
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for name, q := range map[string]string{"insert events": sqlInsertEventsBulk, "record attempts": sqlRecordAttemptsBulk} {
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, set := range []string{sqlIndexedPlans, `SET LOCAL plan_cache_mode = force_generic_plan`, `PREPARE bulk_plan AS ` + q} {
			if _, err := tx.Exec(ctx, set); err != nil {
				t.Fatal(err)
			}
		}
		nulls := strings.Repeat("NULL, ", maxParam(q))
		var plan []byte
		if err := tx.QueryRow(ctx, `EXPLAIN (FORMAT JSON) EXECUTE bulk_plan (`+strings.TrimSuffix(nulls, ", ")+`)`).Scan(&plan); err != nil {
			t.Fatal(err)
		}
		if err := tx.Rollback(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, `DEALLOCATE bulk_plan`); err != nil { // PREPARE outlives the rollback
			t.Fatal(err)
		}
		if scans := seqScans(t, plan); len(scans) > 0 {
			t.Errorf("%s: the kept plan scans %v; plan %s", name, scans, plan)
		}
	}
}

// maxParam is the highest $n in q.
func maxParam(q string) int {
	n := 0
	for _, m := range regexp.MustCompile(`\$(\d+)`).FindAllStringSubmatch(q, -1) {
		if v, _ := strconv.Atoi(m[1]); v > n {
			n = v
		}
	}
	return n
}

// seqScans lists the tables that an EXPLAIN (FORMAT JSON) plan reads
// with a sequential scan.
func seqScans(t *testing.T, plan []byte) []string {
	t.Helper()
	var out []string
	walkPlan(t, plan, func(n map[string]any) {
		if n["Node Type"] == "Seq Scan" {
			out = append(out, fmt.Sprint(n["Relation Name"]))
		}
	})
	return out
}

// walkPlan calls visit on every node of an EXPLAIN (FORMAT JSON) plan.
func walkPlan(t *testing.T, plan []byte, visit func(node map[string]any)) {
	t.Helper()
	var root []struct{ Plan map[string]any }
	if err := json.Unmarshal(plan, &root); err != nil {
		t.Fatal(err)
	}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		visit(n)
		if sub, ok := n["Plans"].([]any); ok {
			for _, c := range sub {
				if m, ok := c.(map[string]any); ok {
					walk(m)
				}
			}
		}
	}
	for _, r := range root {
		walk(r.Plan)
	}
}
