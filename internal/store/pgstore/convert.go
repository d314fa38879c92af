package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// --- times ---

// ms returns t as it is stored and read back: UTC, millisecond precision
// (as sqlitestore keeps times).
func ms(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()).UTC() }

// nullTime stores a zero time as NULL.
func nullTime(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: ms(t), Valid: true}
}

// utc converts a scanned time to UTC.
func utc(t time.Time) time.Time { return t.UTC() }

func timePtr(v pgtype.Timestamptz) *time.Time {
	if !v.Valid {
		return nil
	}
	t := v.Time.UTC()
	return &t
}

func nullString(s string) pgtype.Text {
	return pgtype.Text{String: s, Valid: s != ""}
}

// --- cursors ---

// listSeq runs a newest-first page query on one table. query is "SELECT
// <seq first, then the scanned columns> FROM t"; conds filter it, with
// their placeholders numbered from $1 in args' order. scan reads one row
// (seq included).
func listSeq[T any](ctx context.Context, q querier, what string, lp store.ListParams,
	query string, conds []string, args []any, scan func(pgx.Row) (T, int64, error),
) (*store.Page[T], error) {
	below, err := store.DecodeSeqCursor(lp.Cursor)
	if err != nil {
		return nil, err
	}
	limit := lp.NormalizedLimit()
	args = append(args, below, limit+1)
	conds = append(conds, "seq < $"+strconv.Itoa(len(args)-1))
	sql := query + " WHERE " + strings.Join(conds, " AND ") +
		" ORDER BY seq DESC LIMIT $" + strconv.Itoa(len(args))
	return scanSeqPage(ctx, q, what, limit, sql, args, scan)
}

// scanSeqPage reads a page of a newest-first list from sql, which returns
// up to limit+1 rows, each with its seq (see listSeq).
func scanSeqPage[T any](ctx context.Context, q querier, what string, limit int, sql string, args []any,
	scan func(pgx.Row) (T, int64, error),
) (*store.Page[T], error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, dbErr(what, err)
	}
	defer rows.Close()
	page, err := store.CollectSeqPage(limit, rows.Next, func() (T, int64, error) { return scan(rows) })
	if err != nil {
		return nil, dbErr(what, err)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr(what, err)
	}
	return page, nil
}

// cond numbers a condition's placeholder: cond("app_id = $", &args, v).
func cond(c string, args *[]any, v any) string {
	*args = append(*args, v)
	return c + strconv.Itoa(len(*args))
}

// --- JSON columns ---

// marshalMap renders a map for a jsonb column.
func marshalMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

func unmarshalMap(b []byte) (map[string]string, error) {
	m := map[string]string{}
	if len(b) == 0 {
		return m, nil
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	if m == nil { // the text was "null"
		m = map[string]string{}
	}
	return m, nil
}

func marshalList(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l)
	return string(b)
}

func unmarshalList(b []byte) ([]string, error) {
	l := []string{}
	if len(b) == 0 {
		return l, nil
	}
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, err
	}
	if l == nil {
		l = []string{}
	}
	return l, nil
}

// isJSONNull reports whether raw is empty or the JSON literal null.
func isJSONNull(raw json.RawMessage) bool {
	t := strings.TrimSpace(string(raw))
	return t == "" || t == "null"
}

// nullJSON stores an empty or null JSON value as SQL NULL, anything else
// as its exact text.
func nullJSON(raw json.RawMessage) any {
	if isJSONNull(raw) {
		return nil
	}
	return string(raw)
}

// rawJSON returns a scanned json column: nil for NULL.
func rawJSON(b []byte) json.RawMessage {
	if b == nil {
		return nil
	}
	return json.RawMessage(b)
}

func cloneRaw(raw []byte) []byte {
	if isJSONNull(raw) {
		return nil
	}
	return slices.Clone(raw)
}

// notFound maps pgx.ErrNoRows to a NotFound error and wraps anything else.
func notFound(err error, kind, id, what string) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return hook.NotFound(kind, id)
	}
	return dbErr(what, err)
}
