package main

import (
	"math"
	"net/url"
	"strings"
	"testing"
)

func TestParseProcIO(t *testing.T) {
	t.Parallel()
	// /proc/<pid>/io as Linux prints it.
	in := "rchar: 1034562\nwchar: 493685556\nsyscr: 4051\nsyscw: 236459\nread_bytes: 8192\nwrite_bytes: 480317440\ncancelled_write_bytes: 4096\n"
	got, err := parseProcIO([]byte(in))
	if err != nil {
		t.Fatal(err)
	}
	want := ioCounters{RChar: 1034562, WChar: 493685556, SyscR: 4051, SyscW: 236459, ReadBytes: 8192,
		WriteBytes: 480317440, CancelledWriteBytes: 4096, haveRChar: true, haveWChar: true, have: true}
	if got != want {
		t.Errorf("parseProcIO = %+v, want %+v", got, want)
	}
	for _, bad := range []string{"", "rchar: 1\n", "wchar: x\n", "wchar: 12 kB\n"} {
		if _, err := parseProcIO([]byte(bad)); err == nil {
			t.Errorf("parseProcIO(%q): no error", bad)
		}
	}
}

func TestSetProcess(t *testing.T) {
	t.Parallel()
	w := &writeAmp{Deliveries: 1000}
	io0 := ioCounters{WChar: 1_000_000, SyscW: 10, WriteBytes: 4096}
	io1 := ioCounters{WChar: 41_000_000, SyscW: 20_010, WriteBytes: 4096 + 38_000_000}
	// 40 MB written: 2.7 MB to the bench's sockets, 0.3 MB of log, the
	// rest (37 MB) to the files.
	w.setProcess(io0, io1, 2_700_000, 300_000)
	p := w.Process
	if p.WChar != 40_000_000 || p.RestBytes != 37_000_000 || p.WriteSyscalls != 20_000 || p.WriteBytes != 38_000_000 {
		t.Fatalf("process = %+v", p)
	}
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"wchar", p.WCharPerDelivery, 40_000},
		{"socket", p.SocketPerDelivery, 2_700},
		{"rest", p.RestPerDelivery, 37_000},
		{"write_bytes", p.WriteBytesPerDelivery, 38_000},
		{"syscalls", p.SyscallsPerDelivery, 20},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s per delivery = %v, want %v", c.what, c.got, c.want)
		}
	}
	if none := (&writeAmp{}).perDelivery(5); none != 0 {
		t.Errorf("per delivery of no deliveries = %v, want 0", none)
	}
}

func TestParsePageSize(t *testing.T) {
	t.Parallel()
	h := func(hi, lo byte) []byte { return append([]byte("SQLite format 3\x00"), hi, lo) }
	for _, c := range []struct {
		h    []byte
		want int
	}{{h(0x10, 0), 4096}, {h(0x02, 0), 512}, {h(0, 1), 65536}, {h(0x80, 0), 32768}} {
		got, err := parsePageSize(c.h)
		if err != nil || got != c.want {
			t.Errorf("parsePageSize(% x) = %d, %v; want %d", c.h[16:], got, err, c.want)
		}
	}
	for _, bad := range [][]byte{h(0x10, 1), h(0, 0), h(0, 0x80), []byte("SQLite format 3\x00\x10"), []byte("not a database!!\x10\x00")} {
		if got, err := parsePageSize(bad); err == nil {
			t.Errorf("parsePageSize(%q) = %d, no error", bad, got)
		}
	}
}

func TestParseLSN(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]uint64{"0/0": 0, "0/43C7510": 0x43C7510, "16/B374D848": 0x16<<32 | 0xB374D848} {
		got, err := parseLSN(in)
		if err != nil || got != want {
			t.Errorf("parseLSN(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "12", "x/1", "1/100000000", "1/-1"} {
		if _, err := parseLSN(bad); err == nil {
			t.Errorf("parseLSN(%q): no error", bad)
		}
	}
}

func TestPGDiff(t *testing.T) {
	t.Parallel()
	w := &writeAmp{Deliveries: 100}
	a := pgMark{lsn: "0/FFFFFF00", commits: 50, rollbacks: 1, others: 0, tables: []pgTableCount{
		{Table: "events", Inserted: 3},
		{Table: "deliveries", Inserted: 3, Updated: 1},
		{Table: "apps", Inserted: 1},
	}}
	b := pgMark{lsn: "1/00000F00", commits: 350, rollbacks: 1, others: 2, tables: []pgTableCount{
		{Table: "events", Inserted: 103},
		{Table: "deliveries", Inserted: 103, Updated: 201, HOT: 20},
		{Table: "attempts", Inserted: 100}, // made during the span: starts at 0
		{Table: "delivery_rollups", Inserted: 1, Updated: 49, HOT: 49, Deleted: 0},
		{Table: "apps", Inserted: 1}, // untouched: left out
	}}
	p, err := pgDiff(a, b, w)
	if err != nil {
		t.Fatal(err)
	}
	if p.WALBytes != 0x1000 {
		t.Errorf("WAL bytes = %d, want %d (across the 4 GiB boundary)", p.WALBytes, 0x1000)
	}
	if p.Inserted != 301 || p.Updated != 249 || p.HOTUpdated != 69 || p.Deleted != 0 || p.Commits != 300 || p.Rollbacks != 0 || p.OtherSessions != 2 {
		t.Errorf("totals = %+v", p)
	}
	var names []string
	for _, t := range p.Tables {
		names = append(names, t.Table)
	}
	if got := strings.Join(names, ","); got != "deliveries,events,attempts,delivery_rollups" {
		t.Errorf("tables = %s, want the touched ones, most row writes first", got)
	}
	if p.Tables[0].PerDelivery != 3 || p.RowWritesPerDelivery != 5.5 || p.CommitsPerDelivery != 3 || p.WALPerDelivery != 40.96 || p.HOTPerDelivery != 0.69 {
		t.Errorf("per delivery: tables[0] %v, rows %v, commits %v, WAL %v, HOT %v", p.Tables[0].PerDelivery,
			p.RowWritesPerDelivery, p.CommitsPerDelivery, p.WALPerDelivery, p.HOTPerDelivery)
	}
	if _, err := pgDiff(pgMark{lsn: "bad"}, b, w); err == nil {
		t.Error("pgDiff with a bad LSN: no error")
	}
}

func TestSumRelWAL(t *testing.T) {
	t.Parallel()
	w := &writeAmp{Deliveries: 10}
	row := func(rel, kind, typ string, records, bytes, fpi int64) pgRelWAL {
		return pgRelWAL{Relation: rel, Kind: kind, Records: records, Bytes: bytes, FPIBytes: fpi,
			Types: []pgRecordWAL{{Type: typ, Records: records, Bytes: bytes}}}
	}
	h := sumRelWAL([]pgRelWAL{
		row("deliveries_claim", "i", "Btree INSERT_LEAF", 20, 1500, 500),
		row("(commit records)", "commit", "Transaction COMMIT", 4, 160, 0),
		row("events", "r", "Heap LOCK", 4, 200, 0),
		row("events", "r", "Heap INSERT", 6, 11800, 8000),
		row("events (TOAST)", "t", "Heap INSERT", 1, 100, 0),
	}, w)
	if h.Bytes != 13760 || h.FPIBytes != 8500 || h.Records != 35 || h.WriteCommits != 4 {
		t.Errorf("totals = %+v", h)
	}
	if h.PerDelivery != 1376 || h.FPIPerDelivery != 850 || h.RecordsPerDelivery != 3.5 || h.WriteCommitsPerDelivery != 0.4 {
		t.Errorf("per delivery = %+v", h)
	}
	var got []string
	for _, r := range h.Relations {
		got = append(got, r.Relation+":"+r.Kind)
	}
	if s := strings.Join(got, ","); s != "events:table,deliveries_claim:index,(commit records):commit,events (TOAST):toast" {
		t.Errorf("relations = %s", s)
	}
	ev := h.Relations[0]
	if ev.PerDelivery != 1200 || ev.Records != 10 || ev.FPIBytes != 8000 {
		t.Errorf("events = %+v, want 1200 bytes per delivery in 10 records, 8000 of them images", ev)
	}
	if len(ev.Types) != 2 || ev.Types[0].Type != "Heap INSERT" || ev.Types[0].PerDelivery != 1180 || ev.Types[1].Type != "Heap LOCK" || ev.Types[1].Records != 4 {
		t.Errorf("events by record type = %+v, want Heap INSERT (1180 per delivery) then Heap LOCK (4 records)", ev.Types)
	}
}

func TestNamePGNodes(t *testing.T) {
	t.Parallel()
	base := "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	tg, dsn, err := namePGNodes(base, base+"&search_path=hookd_bench_123")
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(dsn)
	q := u.Query()
	if tg.schema != "hookd_bench_123" || tg.dsn != base || !strings.HasPrefix(tg.appName, "hookd-bench-") ||
		q.Get("application_name") != tg.appName || q.Get("search_path") != "hookd_bench_123" || q.Get("sslmode") != "disable" {
		t.Errorf("target %+v, DSN %s", tg, dsn)
	}
	if tg.appName == meterAppName {
		t.Error("the nodes are named as the meter")
	}
	if _, _, err := namePGNodes(base, base); err == nil {
		t.Error("a DSN without search_path: no error")
	}
}
