package sqlitestore

import (
	"context"
	"database/sql/driver"
	"strings"
	"time"

	"modernc.org/sqlite"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// typeMatchFunc is the SQL function hookd_type_match(pattern, type): 1 when
// the event type matches the pattern (hook.MatchEventTypes), else 0.
const typeMatchFunc = "hookd_type_match"

func init() {
	sqlite.MustRegisterDeterministicScalarFunction(typeMatchFunc, 2,
		func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
			p, _ := args[0].(string)
			t, _ := args[1].(string)
			if hook.MatchEventTypes([]string{p}, t) {
				return int64(1), nil
			}
			return int64(0), nil
		})
}

// typeCond returns the condition that col (an event type) matches one of
// patterns, appending its arguments, or "" when it matches every type.
// Each pattern's literal leading segments bound col to a range, so that an
// index on col serves it; hookd_type_match decides only within the range.
func typeCond(col string, patterns []string, args *[]any) string {
	if store.MatchesEveryType(patterns) {
		return "" // before any argument is appended
	}
	var ors []string
	for _, tp := range store.CompileTypePatterns(patterns) {
		var and []string
		switch {
		case tp.Exact:
			and = append(and, col+" = ?")
			*args = append(*args, tp.Pattern)
		default:
			if tp.Lo != "" {
				and = append(and, col+" >= ?", col+" < ?")
				*args = append(*args, tp.Lo, tp.Hi)
			}
			if !tp.PrefixOnly {
				and = append(and, typeMatchFunc+"(?, "+col+")")
				*args = append(*args, tp.Pattern)
			}
		}
		ors = append(ors, "("+strings.Join(and, " AND ")+")")
	}
	if len(ors) == 0 {
		return ""
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// listAttemptsFrom is the attempts with their deliveries' event and
// endpoint, for ListAttempts. A derived table, so that listSeq's "seq" is
// the attempt's; SQLite flattens it into the join.
const listAttemptsFrom = `SELECT id, delivery_id, event_id, endpoint_id, number, trigger_kind, started_at, duration_ms,
	response_status, response_body, error_kind, error, seq
	FROM (SELECT a.seq, a.id, a.app_id, a.delivery_id, d.event_id, d.endpoint_id, d.event_seq, a.number, a.trigger_kind,
		a.started_at, a.duration_ms, a.response_status, a.response_body, a.error_kind, a.error
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id) la`

func scanListedAttempt(sc scanner) (*hook.Attempt, int64, error) {
	var (
		a       hook.Attempt
		started int64
		seq     int64
	)
	if err := sc.Scan(&a.ID, &a.DeliveryID, &a.EventID, &a.EndpointID, &a.Number, &a.Trigger, &started,
		&a.DurationMillis, &a.ResponseStatus, &a.ResponseBody, &a.ErrorKind, &a.Error, &seq); err != nil {
		return nil, 0, err
	}
	a.StartedAt = fromMS(started)
	a.Duration = time.Duration(a.DurationMillis) * time.Millisecond
	return &a, seq, nil
}

// ListAttempts lists the app's attempts across its deliveries, newest
// first.
func (s *Store) ListAttempts(ctx context.Context, p *store.ListAttemptsParams) (*store.Page[*hook.Attempt], error) {
	conds, args := []string{"app_id = ?"}, []any{p.AppID}
	if p.EndpointID != "" {
		conds, args = append(conds, "endpoint_id = ?"), append(args, p.EndpointID)
	}
	if p.DeliveryID != "" {
		conds, args = append(conds, "delivery_id = ?"), append(args, p.DeliveryID)
	}
	if p.EventID != "" {
		conds = append(conds, "event_seq = (SELECT seq FROM events WHERE app_id = ? AND id = ?)")
		args = append(args, p.AppID, p.EventID)
	}
	if p.StatusClass != "" {
		c, err := store.StatusClassCondition(p.StatusClass)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	if p.ErrorKind != "" {
		conds, args = append(conds, "error_kind = ?"), append(args, p.ErrorKind)
	}
	if !p.Since.IsZero() {
		conds, args = append(conds, "started_at >= ?"), append(args, ms(p.Since))
	}
	if !p.Until.IsZero() {
		conds, args = append(conds, "started_at < ?"), append(args, ms(p.Until))
	}
	return listSeq(ctx, s.rdb, "list attempts", p.ListParams, listAttemptsFrom, conds, args, scanListedAttempt)
}
