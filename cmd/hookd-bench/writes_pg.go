package main

// Write amplification on PostgreSQL: WAL, tuples and transactions of the
// hookd under test (see writes.go).

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// meterAppName is the application_name of the bench's own connection for
// the figures, so that it is not taken for hookd's.
const meterAppName = "hookd-bench-meter"

// namePGNodes returns the target of the nodes (base is the database as
// -db gave it, fresh the DSN of the fresh schema) and fresh with an
// application_name of the run's own, by which the meter finds the nodes'
// backends.
func namePGNodes(base, fresh string) (*pgTarget, string, error) {
	u, err := url.Parse(fresh)
	if err != nil {
		return nil, "", err
	}
	q := u.Query()
	t := &pgTarget{dsn: base, schema: q.Get("search_path"), appName: "hookd-bench-" + strconv.FormatInt(time.Now().UnixNano(), 36)}
	if t.schema == "" {
		return nil, "", fmt.Errorf("fresh schema DSN has no search_path")
	}
	q.Set("application_name", t.appName)
	u.RawQuery = q.Encode()
	return t, u.String(), nil
}

// parseLSN parses a pg_lsn's text ("16/B374D848") as a byte position.
func parseLSN(s string) (uint64, error) {
	hi, lo, ok := strings.Cut(s, "/")
	if !ok {
		return 0, fmt.Errorf("LSN %q", s)
	}
	h, err1 := strconv.ParseUint(hi, 16, 32)
	l, err2 := strconv.ParseUint(lo, 16, 32)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("LSN %q", s)
	}
	return h<<32 | l, nil
}

// pgTableCount is one table's tuple counters (pg_stat_user_tables).
type pgTableCount struct {
	Table    string `json:"table"`
	Inserted int64  `json:"ins"`
	Updated  int64  `json:"upd"`
	HOT      int64  `json:"hot"`
	Deleted  int64  `json:"del"`
}

// pgMark is where PostgreSQL's counters stand at one moment.
type pgMark struct {
	lsn                string
	commits, rollbacks int64
	tables             []pgTableCount
	// others counts the database's other client backends (neither
	// hookd's nor the meter's), whose transactions xact_commit counts too.
	others int
}

// pgWrites is what hookd wrote to PostgreSQL over the span.
type pgWrites struct {
	Database string `json:"database"`
	Schema   string `json:"schema"`
	// WALBytes is the flush LSN's advance over the span: the whole
	// cluster's WAL, other sessions' too if there were any.
	WALBytes       int64   `json:"wal_bytes"`
	WALPerDelivery float64 `json:"wal_bytes_per_delivery"`
	// Tuples of hookd's schema's tables, and per table.
	Inserted             int64           `json:"tuples_inserted"`
	Updated              int64           `json:"tuples_updated"`
	HOTUpdated           int64           `json:"tuples_hot_updated"`
	Deleted              int64           `json:"tuples_deleted"`
	RowWritesPerDelivery float64         `json:"row_writes_per_delivery"`
	InsertedPerDelivery  float64         `json:"inserted_per_delivery"`
	UpdatedPerDelivery   float64         `json:"updated_per_delivery"`
	HOTPerDelivery       float64         `json:"hot_updated_per_delivery"`
	DeletedPerDelivery   float64         `json:"deleted_per_delivery"`
	Tables               []pgTableWrites `json:"tables"`
	// Commits and Rollbacks are pg_stat_database's for the database:
	// every transaction, reads too, of every session in it (see
	// OtherSessions), the meter's own few included.
	Commits            int64   `json:"commits"`
	Rollbacks          int64   `json:"rollbacks"`
	CommitsPerDelivery float64 `json:"commits_per_delivery"`
	// OtherSessions is the most other client backends seen in the
	// database at either end of the span: if not 0, Commits (and, for the
	// cluster, WALBytes) include other work.
	OtherSessions int `json:"other_sessions"`
	// HookdWAL is hookd's own WAL, with pg_walinspect.
	HookdWAL *pgHookdWAL `json:"hookd_wal,omitempty"`
}

// pgTableWrites is one table's tuple writes over the span.
type pgTableWrites struct {
	Table       string  `json:"table"`
	Inserted    int64   `json:"inserted"`
	Updated     int64   `json:"updated"`
	HOT         int64   `json:"hot_updated"`
	Deleted     int64   `json:"deleted"`
	PerDelivery float64 `json:"row_writes_per_delivery"`
}

// pgHookdWAL is the WAL records of hookd's schema (pg_walinspect): those
// that touch its relations (tables, indexes, TOAST; by their first block
// reference), and the commit records of the transactions that wrote them.
// Record lengths leave out WAL page headers and alignment, which the LSN
// difference includes.
type pgHookdWAL struct {
	Bytes                   int64      `json:"bytes"`
	PerDelivery             float64    `json:"bytes_per_delivery"`
	FPIBytes                int64      `json:"fpi_bytes"`
	FPIPerDelivery          float64    `json:"fpi_bytes_per_delivery"`
	Records                 int64      `json:"records"`
	RecordsPerDelivery      float64    `json:"records_per_delivery"`
	WriteCommits            int64      `json:"write_commits"`
	WriteCommitsPerDelivery float64    `json:"write_commits_per_delivery"`
	Relations               []pgRelWAL `json:"relations"`
}

// pgRelWAL is the WAL of one relation (or of the commit records).
type pgRelWAL struct {
	Relation    string  `json:"relation"`
	Kind        string  `json:"kind"` // table, index, toast, commit
	Records     int64   `json:"records"`
	Bytes       int64   `json:"bytes"`
	FPIBytes    int64   `json:"fpi_bytes"`
	PerDelivery float64 `json:"bytes_per_delivery"`
	// Types splits them by record type ("Heap INSERT", "Btree
	// INSERT_LEAF", "Heap LOCK"...).
	Types []pgRecordWAL `json:"types"`
}

// pgRecordWAL is one record type's share of a relation's WAL.
type pgRecordWAL struct {
	Type        string  `json:"type"` // resource manager and record type
	Records     int64   `json:"records"`
	Bytes       int64   `json:"bytes"`
	PerDelivery float64 `json:"bytes_per_delivery"`
}

// pgMeter reads PostgreSQL's counters on a connection of its own.
type pgMeter struct {
	t       *pgTarget
	conn    *pgx.Conn
	db      string
	inspect string // the schema of pg_walinspect, "" if not installed
	m0      pgMark
}

func newPGMeter(ctx context.Context, t *pgTarget) (*pgMeter, error) {
	cfg, err := pgx.ParseConfig(t.dsn)
	if err != nil {
		return nil, err
	}
	cfg.RuntimeParams["application_name"] = meterAppName
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	m := &pgMeter{t: t, conn: conn}
	err = conn.QueryRow(ctx, `SELECT current_database(),
		coalesce((SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_walinspect'), '')`).
		Scan(&m.db, &m.inspect)
	if err != nil {
		conn.Close(ctx)
		return nil, err
	}
	return m, nil
}

func (m *pgMeter) close() { _ = m.conn.Close(context.Background()) }

// mark reads the counters, in one statement (one transaction of the
// meter's own).
func (m *pgMeter) mark(ctx context.Context) (pgMark, error) {
	var k pgMark
	var tables string
	err := m.conn.QueryRow(ctx, `SELECT pg_current_wal_flush_lsn()::text, d.xact_commit, d.xact_rollback,
		(SELECT count(*) FROM pg_stat_activity a WHERE a.datname = current_database() AND a.backend_type = 'client backend'
			AND a.pid <> pg_backend_pid() AND a.application_name <> $2),
		coalesce((SELECT json_agg(json_build_object('table', relname, 'ins', n_tup_ins, 'upd', n_tup_upd,
			'hot', n_tup_hot_upd, 'del', n_tup_del)) FROM pg_stat_user_tables WHERE schemaname = $1), '[]')::text
		FROM pg_stat_database d WHERE d.datname = current_database()`, m.t.schema, m.t.appName).
		Scan(&k.lsn, &k.commits, &k.rollbacks, &k.others, &tables)
	if err != nil {
		return k, err
	}
	if err := json.Unmarshal([]byte(tables), &k.tables); err != nil {
		return k, fmt.Errorf("pg_stat_user_tables: %w", err)
	}
	return k, nil
}

func (m *pgMeter) begin(ctx context.Context) error {
	var err error
	m.m0, err = m.mark(ctx)
	return err
}

// end waits for the nodes' backends to be gone (each flushes its
// statistics as it exits), takes the counters and, with pg_walinspect,
// reads hookd's WAL records of the span.
func (m *pgMeter) end(ctx context.Context, w *writeAmp) (*pgWrites, error) {
	deadline := time.Now().Add(15 * time.Second)
	for {
		var n int
		if err := m.conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, m.t.appName).Scan(&n); err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%d backends of hookd's still there 15s after it stopped", n)
		}
		time.Sleep(20 * time.Millisecond)
	}
	m1, err := m.mark(ctx)
	if err != nil {
		return nil, err
	}
	p, err := pgDiff(m.m0, m1, w)
	if err != nil {
		return nil, err
	}
	p.Database, p.Schema = m.db, m.t.schema
	if m.inspect != "" {
		if p.HookdWAL, err = m.hookdWAL(ctx, m.m0.lsn, m1.lsn, w); err != nil {
			return p, fmt.Errorf("pg_walinspect: %w", err)
		}
	}
	return p, nil
}

// pgDiff makes the span's figures from its two marks.
func pgDiff(a, b pgMark, w *writeAmp) (*pgWrites, error) {
	l0, err := parseLSN(a.lsn)
	if err != nil {
		return nil, err
	}
	l1, err := parseLSN(b.lsn)
	if err != nil {
		return nil, err
	}
	p := &pgWrites{
		WALBytes: int64(l1 - l0), Commits: b.commits - a.commits, Rollbacks: b.rollbacks - a.rollbacks,
		OtherSessions: max(a.others, b.others),
	}
	before := map[string]pgTableCount{}
	for _, t := range a.tables {
		before[t.Table] = t
	}
	for _, t := range b.tables {
		o := before[t.Table] // a table made during the span starts at 0
		d := pgTableWrites{Table: t.Table, Inserted: t.Inserted - o.Inserted, Updated: t.Updated - o.Updated,
			HOT: t.HOT - o.HOT, Deleted: t.Deleted - o.Deleted}
		if d.Inserted == 0 && d.Updated == 0 && d.Deleted == 0 {
			continue
		}
		d.PerDelivery = w.perDelivery(d.Inserted + d.Updated + d.Deleted)
		p.Tables = append(p.Tables, d)
		p.Inserted += d.Inserted
		p.Updated += d.Updated
		p.HOTUpdated += d.HOT
		p.Deleted += d.Deleted
	}
	slices.SortFunc(p.Tables, func(x, y pgTableWrites) int {
		return int((y.Inserted + y.Updated + y.Deleted) - (x.Inserted + x.Updated + x.Deleted))
	})
	p.WALPerDelivery = w.perDelivery(p.WALBytes)
	p.RowWritesPerDelivery = w.perDelivery(p.Inserted + p.Updated + p.Deleted)
	p.InsertedPerDelivery = w.perDelivery(p.Inserted)
	p.UpdatedPerDelivery = w.perDelivery(p.Updated)
	p.HOTPerDelivery = w.perDelivery(p.HOTUpdated)
	p.DeletedPerDelivery = w.perDelivery(p.Deleted)
	p.CommitsPerDelivery = w.perDelivery(p.Commits)
	return p, nil
}

// hookdWAL sums the WAL records between the two LSNs that belong to
// hookd's schema, per relation.
func (m *pgMeter) hookdWAL(ctx context.Context, from, to string, w *writeAmp) (*pgHookdWAL, error) {
	fn := pgx.Identifier{m.inspect, "pg_get_wal_records_info"}.Sanitize()
	rows, err := m.conn.Query(ctx, `WITH rels AS (
			SELECT c.relfilenode AS node, c.relname::text AS name, c.relkind::text AS kind
			FROM pg_class c WHERE c.relnamespace = $1::regnamespace AND c.relfilenode <> 0
			UNION ALL
			SELECT t.relfilenode, c.relname || ' (TOAST)', 't' FROM pg_class c JOIN pg_class t ON t.oid = c.reltoastrelid
			WHERE c.relnamespace = $1::regnamespace
			UNION ALL
			SELECT i.relfilenode, c.relname || ' (TOAST index)', 'i' FROM pg_class c JOIN pg_index x ON x.indrelid = c.reltoastrelid
			JOIN pg_class i ON i.oid = x.indexrelid WHERE c.relnamespace = $1::regnamespace
		), recs AS (
			SELECT r.xid::text::bigint AS xid, r.resource_manager, r.record_type, r.record_length, r.fpi_length,
				regexp_match(r.block_ref, '^blkref #\d+: rel \d+/(\d+)/(\d+)') AS ref
			FROM `+fn+`($2::pg_lsn, $3::pg_lsn) r
		), mine AS (
			SELECT recs.*, rels.name, rels.kind FROM recs JOIN rels ON rels.node = recs.ref[2]::oid
			WHERE recs.ref[1]::oid = (SELECT oid FROM pg_database WHERE datname = current_database())
		), xids AS (
			SELECT DISTINCT xid FROM mine WHERE xid <> 0
		)
		SELECT name, kind, resource_manager || ' ' || record_type, count(*), sum(record_length)::bigint, sum(fpi_length)::bigint
		FROM mine GROUP BY 1, 2, 3
		UNION ALL
		SELECT '(commit records)', 'commit', 'Transaction COMMIT', count(*), coalesce(sum(record_length), 0)::bigint, 0 FROM recs
		WHERE resource_manager = 'Transaction' AND record_type LIKE 'COMMIT%' AND xid IN (SELECT xid FROM xids)`,
		m.t.schema, from, to)
	if err != nil {
		return nil, err
	}
	rels, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (pgRelWAL, error) {
		var x pgRelWAL
		var t pgRecordWAL
		err := r.Scan(&x.Relation, &x.Kind, &t.Type, &x.Records, &x.Bytes, &x.FPIBytes)
		t.Records, t.Bytes = x.Records, x.Bytes
		x.Types = []pgRecordWAL{t}
		return x, err
	})
	if err != nil {
		return nil, err
	}
	return sumRelWAL(rels, w), nil
}

// sumRelWAL merges the rows of each relation (one per record type),
// totals the relations' WAL, names their kinds and sorts them, largest
// first (and their record types likewise).
func sumRelWAL(rows []pgRelWAL, w *writeAmp) *pgHookdWAL {
	h := &pgHookdWAL{}
	var rels []pgRelWAL
	at := map[string]int{}
	for _, x := range rows {
		k := x.Relation + "\x00" + x.Kind
		i, ok := at[k]
		if !ok {
			at[k] = len(rels)
			rels = append(rels, pgRelWAL{Relation: x.Relation, Kind: x.Kind})
			i = len(rels) - 1
		}
		r := &rels[i]
		r.Records += x.Records
		r.Bytes += x.Bytes
		r.FPIBytes += x.FPIBytes
		r.Types = append(r.Types, x.Types...)
	}
	for i := range rels {
		r := &rels[i]
		switch r.Kind {
		case "r", "p":
			r.Kind = "table"
		case "i", "I":
			r.Kind = "index"
		case "t":
			r.Kind = "toast"
		case "commit":
			h.WriteCommits = r.Records
		}
		r.PerDelivery = w.perDelivery(r.Bytes)
		for j := range r.Types {
			r.Types[j].PerDelivery = w.perDelivery(r.Types[j].Bytes)
		}
		slices.SortFunc(r.Types, func(a, b pgRecordWAL) int {
			if a.Bytes != b.Bytes {
				return int(b.Bytes - a.Bytes)
			}
			return strings.Compare(a.Type, b.Type)
		})
		h.Bytes += r.Bytes
		h.FPIBytes += r.FPIBytes
		h.Records += r.Records
	}
	slices.SortFunc(rels, func(a, b pgRelWAL) int {
		if a.Bytes != b.Bytes {
			return int(b.Bytes - a.Bytes)
		}
		return strings.Compare(a.Relation, b.Relation)
	})
	h.Relations = rels
	h.PerDelivery = w.perDelivery(h.Bytes)
	h.FPIPerDelivery = w.perDelivery(h.FPIBytes)
	h.RecordsPerDelivery = w.perDelivery(h.Records)
	h.WriteCommitsPerDelivery = w.perDelivery(h.WriteCommits)
	return h
}

func (p *pgWrites) print(out io.Writer, in string) {
	fmt.Fprintf(out, "%sPostgreSQL: WAL %s (the cluster's, flush LSN); tuples %.2f (inserted %.2f, updated %.2f of which HOT %.2f, deleted %.2f); transactions %.2f (xact_commit of database %s)\n",
		in, kb(p.WALPerDelivery), p.RowWritesPerDelivery, p.InsertedPerDelivery, p.UpdatedPerDelivery, p.HOTPerDelivery,
		p.DeletedPerDelivery, p.CommitsPerDelivery, p.Database)
	if p.OtherSessions > 0 {
		fmt.Fprintf(out, "%s  (%d other sessions were connected to %s: its transactions, and the cluster's WAL, include theirs)\n", in, p.OtherSessions, p.Database)
	}
	var b strings.Builder
	for i, t := range p.Tables {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.2f", t.Table, t.PerDelivery)
	}
	fmt.Fprintf(out, "%s  tuples per table: %s\n", in, b.String())
	if h := p.HookdWAL; h != nil {
		fmt.Fprintf(out, "%s  hookd's WAL (pg_walinspect): %s in %.1f records (full-page images %s), %.2f commit records\n",
			in, kb(h.PerDelivery), h.RecordsPerDelivery, kb(h.FPIPerDelivery), h.WriteCommitsPerDelivery)
		b.Reset()
		for i, r := range h.Relations {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%s %s", r.Relation, kb(r.PerDelivery))
		}
		fmt.Fprintf(out, "%s  WAL per relation: %s\n", in, b.String())
	}
}
