package pgstore

import (
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

// scanListedAttempt reads a row of listAttemptsQuery.
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
