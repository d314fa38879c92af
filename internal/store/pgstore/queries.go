package pgstore

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// typeCond returns the condition that col (an event type) matches one of
// patterns, appending its arguments, or "" when it matches every type. A
// pattern is an anchored regular expression, which PostgreSQL turns into a
// range on an index of col where the collation allows (C); a range of our
// own would be wrong under a linguistic collation, which orders
// punctuation apart.
func typeCond(col string, patterns []string, args *[]any) string {
	if store.MatchesEveryType(patterns) {
		return "" // before any argument is appended
	}
	var ors []string
	for _, tp := range store.CompileTypePatterns(patterns) {
		switch {
		case tp.Exact:
			ors = append(ors, cond(col+" = $", args, tp.Pattern))
		default:
			ors = append(ors, cond(col+" ~ $", args, tp.Regexp))
		}
	}
	if len(ors) == 0 {
		return ""
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// listAttemptsFrom is the attempts with their deliveries' event and
// endpoint, for ListAttempts. A derived table, so that listSeq's "seq" is
// the attempt's; PostgreSQL flattens it into the join.
const listAttemptsFrom = `SELECT id, delivery_id, event_id, endpoint_id, number, trigger_kind, started_at, duration_ms,
	response_status, response_body, error_kind, error, seq
	FROM (SELECT a.seq, a.id, a.app_id, a.delivery_id, d.event_id, d.endpoint_id, d.event_seq, a.number, a.trigger_kind,
		a.started_at, a.duration_ms, a.response_status, a.response_body, a.error_kind, a.error
		FROM attempts a JOIN deliveries d ON d.id = a.delivery_id) la`

func scanListedAttempt(row pgx.Row) (*hook.Attempt, int64, error) {
	var (
		a   hook.Attempt
		seq int64
	)
	if err := row.Scan(&a.ID, &a.DeliveryID, &a.EventID, &a.EndpointID, &a.Number, &a.Trigger, &a.StartedAt,
		&a.DurationMillis, &a.ResponseStatus, &a.ResponseBody, &a.ErrorKind, &a.Error, &seq); err != nil {
		return nil, 0, err
	}
	a.StartedAt = a.StartedAt.UTC()
	a.Duration = time.Duration(a.DurationMillis) * time.Millisecond
	return &a, seq, nil
}

// ListAttempts lists the app's attempts across its deliveries, newest
// first.
func (s *Store) ListAttempts(ctx context.Context, p *store.ListAttemptsParams) (*store.Page[*hook.Attempt], error) {
	var args []any
	conds := []string{cond("app_id = $", &args, p.AppID)}
	if p.EndpointID != "" {
		conds = append(conds, cond("endpoint_id = $", &args, p.EndpointID))
	}
	if p.DeliveryID != "" {
		conds = append(conds, cond("delivery_id = $", &args, p.DeliveryID))
	}
	if p.EventID != "" {
		// The app's id is $1.
		conds = append(conds, cond("event_seq = (SELECT seq FROM events WHERE app_id = $1 AND id = $", &args, p.EventID)+")")
	}
	if p.StatusClass != "" {
		c, err := store.StatusClassCondition(p.StatusClass)
		if err != nil {
			return nil, err
		}
		conds = append(conds, c)
	}
	if p.ErrorKind != "" {
		conds = append(conds, cond("error_kind = $", &args, p.ErrorKind))
	}
	if !p.Since.IsZero() {
		conds = append(conds, cond("started_at >= $", &args, ms(p.Since)))
	}
	if !p.Until.IsZero() {
		conds = append(conds, cond("started_at < $", &args, ms(p.Until)))
	}
	return listSeq(ctx, s.pool, "list attempts", p.ListParams, listAttemptsFrom, conds, args, scanListedAttempt)
}
