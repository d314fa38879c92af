package pgstore

import (
	"context"
	"strconv"
	"strings"

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

// attemptArm is one source of the attempts list: the SQL of each column
// ListAttempts selects or filters on.
type attemptArm struct {
	from string // FROM and the conditions every row of the arm meets
	seq, id, appID, deliveryID, eventID, endpointID, eventSeq, number, trigger,
	startedAt, durationMS, responseStatus, responseBody, errorKind, errorMsg string
}

var (
	// attemptRowsArm is the attempts rows, with their deliveries.
	attemptRowsArm = attemptArm{
		from: "attempts a JOIN deliveries d ON d.id = a.delivery_id",
		seq:  "a.seq", id: "a.id", appID: "a.app_id", deliveryID: "a.delivery_id", eventID: "d.event_id",
		endpointID: "d.endpoint_id", eventSeq: "d.event_seq", number: "a.number", trigger: "a.trigger_kind",
		startedAt: "a.started_at", durationMS: "a.duration_ms", responseStatus: "a.response_status",
		responseBody: "a.response_body", errorKind: "a.error_kind", errorMsg: "a.error",
	}
	// attemptInlineArm is the inline attempts, on their deliveries.
	attemptInlineArm = attemptArm{
		from: "deliveries d WHERE d.first_attempt_seq IS NOT NULL",
		seq:  "d.first_attempt_seq", id: "d.first_attempt_id", appID: "d.app_id", deliveryID: "d.id",
		eventID: "d.event_id", endpointID: "d.endpoint_id", eventSeq: "d.event_seq", number: "1",
		trigger: "d.first_trigger", startedAt: "d.first_started_at", durationMS: "d.first_duration_ms",
		responseStatus: "d.first_response_status", responseBody: "d.first_response_body", errorKind: "''::text",
		errorMsg: "''::text",
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
	var class string
	if p.StatusClass != "" {
		if class, err = store.StatusClassCondition(p.StatusClass); err != nil {
			return "", nil, err
		}
	}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	app := arg(p.AppID)
	var endpoint, delivery, eventID, kind, since, until string
	if p.EndpointID != "" {
		endpoint = arg(p.EndpointID)
	}
	if p.DeliveryID != "" {
		delivery = arg(p.DeliveryID)
	}
	if p.EventID != "" {
		eventID = arg(p.EventID)
	}
	if p.ErrorKind != "" {
		kind = arg(p.ErrorKind)
	}
	if !p.Since.IsZero() {
		since = arg(ms(p.Since))
	}
	if !p.Until.IsZero() {
		until = arg(ms(p.Until))
	}
	seqBelow := arg(below)
	limit := arg(p.NormalizedLimit() + 1)

	arms := []attemptArm{attemptRowsArm}
	if p.ErrorKind == "" {
		// An inline attempt has no error kind: a filter on one
		// leaves out that arm.
		arms = append(arms, attemptInlineArm)
	}
	selects := make([]string, 0, len(arms))
	for _, r := range arms {
		conds := []string{r.appID + " = " + app, r.seq + " < " + seqBelow}
		if endpoint != "" {
			conds = append(conds, r.endpointID+" = "+endpoint)
		}
		if delivery != "" {
			conds = append(conds, r.deliveryID+" = "+delivery)
		}
		if eventID != "" {
			conds = append(conds, r.eventSeq+" = (SELECT seq FROM events WHERE app_id = "+app+" AND id = "+eventID+")")
		}
		if class != "" {
			conds = append(conds, strings.Replace(class, "response_status", r.responseStatus, 1))
		}
		if kind != "" {
			conds = append(conds, r.errorKind+" = "+kind)
		}
		if since != "" {
			conds = append(conds, r.startedAt+" >= "+since)
		}
		if until != "" {
			conds = append(conds, r.startedAt+" < "+until)
		}
		where := " WHERE "
		if strings.Contains(r.from, " WHERE ") {
			where = " AND "
		}
		selects = append(selects, "(SELECT "+strings.Join([]string{r.id, r.deliveryID, r.eventID, r.endpointID,
			r.number, r.trigger, r.startedAt, r.durationMS, r.responseStatus, r.responseBody, r.errorKind,
			r.errorMsg, r.seq + " AS seq"}, ", ")+" FROM "+r.from+where+strings.Join(conds, " AND ")+
			" ORDER BY "+r.seq+" DESC LIMIT "+limit+")")
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
