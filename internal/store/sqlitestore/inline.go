package sqlitestore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Inline attempts (issue 18, migration 00019). A first-try success, the
// common case, is recorded on its delivery's row (the first_* columns)
// rather than as a row of attempts: one more B-tree entry
// (deliveries_app_first) instead of four (the attempts row, its unique id,
// attempts_delivery_seq and attempts_app_seq). Every other attempt is a row
// as before. Readers merge the two, in the order of the attempts' seq,
// which both share: the writer counts it (attemptSeq), and gives it to
// every attempt, row or inline, so that an app's attempts list in one
// order, with one cursor.

// inlineAttempt reports whether RecordAttempt may keep a on its delivery's
// row (if the delivery update happens): the first attempt, a success
// without an error message, so that the row holds all of it.
func inlineAttempt(a *hook.Attempt, status string) bool {
	return a.Number == 1 && status == hook.DeliverySucceeded && a.ErrorKind == "" && a.Error == ""
}

// sqlMaxAttemptSeq is the highest attempt seq in use, rows and inline ones:
// one probe of deliveries_app_first per app.
const sqlMaxAttemptSeq = `SELECT max(COALESCE((SELECT max(seq) FROM attempts), 0),
	COALESCE((SELECT max((SELECT max(d.first_attempt_seq) FROM deliveries d
		WHERE d.app_seq = a.seq AND d.first_attempt_seq IS NOT NULL)) FROM apps a), 0))`

// loadAttemptSeq sets attemptSeq from the database, before the writer
// starts.
func (s *Store) loadAttemptSeq(ctx context.Context) error {
	if err := s.wdb.QueryRowContext(ctx, sqlMaxAttemptSeq).Scan(&s.attemptSeq); err != nil {
		return dbErr("load attempt seq", err)
	}
	return nil
}

// nextAttemptSeq returns a new attempt seq, above every one in use. Only
// the writer goroutine calls it. A seq taken by a transaction that rolls
// back is not used again: the gap is harmless.
func (s *Store) nextAttemptSeq() int64 {
	s.attemptSeq++
	return s.attemptSeq
}

// sqlUpdateDeliveryInline is sqlUpdateDelivery for a first-try success,
// which it keeps on the row: ?10 its id, ?11 its seq, ?12 its trigger, ?13
// its duration, ?14 its response body (its start and status are ?4, ?5).
const sqlUpdateDeliveryInline = `UPDATE deliveries SET status = ?1, attempt_count = ?2, scheduled_attempts = ?3,
		manual = 0, last_attempt_at = ?4, last_response_status = ?5, next_attempt_at = ?6,
		available_at = ?6, lease_owner = NULL, updated_at = ?7,
		first_attempt_id = ?10, first_attempt_seq = ?11, first_trigger = ?12, first_started_at = ?4,
		first_duration_ms = ?13, first_response_status = ?5, first_response_body = ?14
	WHERE id = ?8 AND lease_owner = ?9
	RETURNING app_id, endpoint_id, created_at`

// sqlDeliveryAttempts is a delivery's attempts, rows and inline one,
// oldest first (?1 the delivery's id). Each arm reads an index in seq
// order and SQLite merges them.
const sqlDeliveryAttempts = `SELECT ` + attemptCols + `, seq FROM attempts WHERE delivery_id = ?1
	UNION ALL
	SELECT first_attempt_id, id, 1, first_trigger, first_started_at, first_duration_ms, first_response_status,
		first_response_body, '', '', first_attempt_seq
	FROM deliveries WHERE id = ?1 AND first_attempt_seq IS NOT NULL
	ORDER BY seq`

// deliveryAttempts returns a delivery's attempts, oldest first.
func deliveryAttempts(ctx context.Context, q querier, deliveryID string) ([]*hook.Attempt, error) {
	rows, err := q.QueryContext(ctx, sqlDeliveryAttempts, deliveryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*hook.Attempt{}
	for rows.Next() {
		var seq int64
		a, err := scanAttempt(seqScanner{rows, &seq})
		if err != nil {
			return nil, err
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// seqScanner scans one more column, last, into seq.
type seqScanner struct {
	sc  scanner
	seq *int64
}

func (s seqScanner) Scan(dest ...any) error { return s.sc.Scan(append(dest, s.seq)...) }

var (
	// attemptInlineArm is the inline attempts, on their deliveries; its
	// app column is the app's seq (deliveries.app_seq, the key of
	// deliveries_app_first), not its id.
	attemptInlineArm = store.AttemptArm{
		From:   "deliveries d WHERE d.first_attempt_seq IS NOT NULL",
		AppKey: seqOfApp,
		Seq:    "d.first_attempt_seq", ID: "d.first_attempt_id", AppID: "d.app_seq", DeliveryID: "d.id",
		EventID: "d.event_id", EndpointID: "d.endpoint_id", EventSeq: "d.event_seq", Number: "1",
		Trigger: "d.first_trigger", StartedAt: "d.first_started_at", DurationMS: "d.first_duration_ms",
		ResponseStatus: "d.first_response_status", ResponseBody: "d.first_response_body", ErrorKind: "''",
		ErrorMsg: "''",
	}
)

// listAttemptsQuery returns the query of one page of ListAttempts: the
// attempts of both arms that pass p's filters, with seq below below, newest
// first, at most limit of them; the columns are scanListedAttempt's. Each
// arm reads its index newest first and SQLite merges them (MERGE (UNION
// ALL)), so a page costs its rows, not the app's attempts.
func listAttemptsQuery(p *store.ListAttemptsParams, below int64, limit int) (string, []any, error) {
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "?" + strconv.Itoa(len(args))
	}
	f, err := store.BindAttemptFilters(p, below, arg, func(t time.Time) any { return ms(t) })
	if err != nil {
		return "", nil, err
	}
	var selects []string
	for _, r := range f.Arms(store.AttemptRowsArm, attemptInlineArm) {
		selects = append(selects, r.Select(f))
	}
	q := strings.Join(selects, " UNION ALL ") + " ORDER BY seq DESC LIMIT " + arg(limit)
	return q, args, nil
}

// ListAttempts lists the app's attempts across its deliveries, rows and
// inline ones, newest first.
func (s *Store) ListAttempts(ctx context.Context, p *store.ListAttemptsParams) (*store.Page[*hook.Attempt], error) {
	below, err := store.DecodeSeqCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	limit := p.NormalizedLimit()
	q, args, err := listAttemptsQuery(p, below, limit+1)
	if err != nil {
		return nil, err
	}
	return scanPage(ctx, s.rdb, "list attempts", limit, q, args, scanListedAttempt)
}

// scanListedAttempt reads a row of listAttemptsQuery.
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
