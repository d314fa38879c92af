package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strconv"
	"strings"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// scanner is a *sql.Row or *sql.Rows.
type scanner interface {
	Scan(dest ...any) error
}

// listSeq runs a newest-first page query on one table. query is
// "SELECT <seq first, then the scanned columns> FROM t"; conds and args
// filter it. scan reads one row (seq included).
func listSeq[T any](ctx context.Context, db *sql.DB, what string, lp store.ListParams,
	query string, conds []string, args []any, scan func(scanner) (T, int64, error),
) (*store.Page[T], error) {
	below, err := store.DecodeSeqCursor(lp.Cursor)
	if err != nil {
		return nil, err
	}
	limit := lp.NormalizedLimit()
	args = append(args, below, limit+1)
	return scanPage(ctx, db, what, limit, seqPageQuery(query, conds), args, scan)
}

// scanPage reads a page of a newest-first list from q, which returns up
// to limit+1 rows, each with its seq (see listSeq).
func scanPage[T any](ctx context.Context, db *sql.DB, what string, limit int, q string, args []any,
	scan func(scanner) (T, int64, error),
) (*store.Page[T], error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, dbErr(what, err)
	}
	defer rows.Close()
	page, err := store.CollectSeqPage(limit, rows.Next, func() (T, int64, error) { return scan(rows) })
	if err != nil {
		return nil, dbErr(what, err)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr(what, err)
	}
	return page, nil
}

// seqPageQuery is listSeq's query: query filtered by conds, then by seq
// below a ? and limited to a ?, newest first.
func seqPageQuery(query string, conds []string) string {
	conds = append(conds[:len(conds):len(conds)], "seq < ?")
	return query + " WHERE " + strings.Join(conds, " AND ") + " ORDER BY seq DESC LIMIT ?"
}

// --- JSON columns ---

func marshalMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // a map[string]string always marshals
	return string(b)
}

func unmarshalMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if s == "" {
		return m, nil
	}
	if err := json.Unmarshal([]byte(s), &m); err != nil {
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

func unmarshalList(s string) ([]string, error) {
	l := []string{}
	if s == "" {
		return l, nil
	}
	if err := json.Unmarshal([]byte(s), &l); err != nil {
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

// nullJSON stores an empty or null JSON value as SQL NULL.
func nullJSON(raw json.RawMessage) sql.NullString {
	if isJSONNull(raw) {
		return sql.NullString{}
	}
	return sql.NullString{String: string(raw), Valid: true}
}

func rawJSON(v sql.NullString) json.RawMessage {
	if !v.Valid {
		return nil
	}
	return json.RawMessage(v.String)
}

// jsonIDs is a JSON array of strings, for "IN (SELECT value FROM
// json_each(?))" with a statement prepared once.
func jsonIDs(ids []string) string { return marshalList(ids) }

func jsonInts(v []int64) string {
	var b strings.Builder
	b.WriteByte('[')
	for i, n := range v {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.FormatInt(n, 10))
	}
	b.WriteByte(']')
	return b.String()
}

// notFound maps sql.ErrNoRows to a NotFound error and wraps anything else.
func notFound(err error, kind, id, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return hook.NotFound(kind, id)
	}
	return dbErr(what, err)
}
