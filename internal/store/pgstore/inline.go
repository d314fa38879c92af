package pgstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Inline attempts (issue 18, migration 00017). A first-try success, the
// common case, is recorded on its delivery's row (the first_* columns) by
// the success update itself, rather than as a row of attempts (a heap
// tuple, four index entries, and a foreign-key lock on the delivery): see
// sqlRecordAttemptInline. Every other attempt is a row as before. Its seq
// is taken from the attempts' own sequence, so that readers merge the two
// sources in one order, with one cursor.

var (
	// attemptInlineArm is the inline attempts, on their deliveries.
	attemptInlineArm = store.AttemptArm{
		From: "deliveries d WHERE d.first_attempt_seq IS NOT NULL",
		Seq:  "d.first_attempt_seq", ID: "d.first_attempt_id", AppID: "d.app_id", DeliveryID: "d.id",
		EventID: "d.event_id", EndpointID: "d.endpoint_id", EventSeq: "d.event_seq", Number: "1",
		Trigger: "d.first_trigger", StartedAt: "d.first_started_at", DurationMS: "d.first_duration_ms",
		ResponseStatus: "d.first_response_status", ResponseBody: "d.first_response_body", ErrorKind: "''::text",
		ErrorMsg: "''::text",
	}
)

// listAttemptsQuery returns ListAttempts' statement and arguments: the
// attempts of both sources that pass p's filters, below the cursor's seq,
// newest first, one more than the page holds. Each source is read newest
// first from its index (attempts_app_seq, deliveries_app_first), limited,
// in a subquery of its own; the outer query sorts the two pages.
func listAttemptsQuery(p *store.ListAttemptsParams) (string, []any, error) {
	below, err := store.DecodeSeqCursor(p.Cursor)
	if err != nil {
		return "", nil, err
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	f, err := store.BindAttemptFilters(p, below, arg, func(t time.Time) any { return ms(t) })
	if err != nil {
		return "", nil, err
	}
	limit := arg(p.NormalizedLimit() + 1)
	var selects []string
	for _, r := range f.Arms(store.AttemptRowsArm, attemptInlineArm) {
		selects = append(selects, "("+r.Select(f)+" ORDER BY "+r.Seq+" DESC LIMIT "+limit+")")
	}
	q := "SELECT * FROM (" + strings.Join(selects, " UNION ALL ") + ") la ORDER BY seq DESC LIMIT " + limit
	return q, args, nil
}

// ListAttempts lists the app's attempts across its deliveries, rows and
// inline ones, newest first.
func (s *Store) ListAttempts(ctx context.Context, p *store.ListAttemptsParams) (*store.Page[*hook.Attempt], error) {
	q, args, err := listAttemptsQuery(p)
	if err != nil {
		return nil, err
	}
	return scanSeqPage(ctx, s.pool, "list attempts", p.NormalizedLimit(), q, args, scanListedAttempt)
}
