package main

// Write amplification (issue 18): what the hookd under test writes for
// each delivery. These are counts, not timings, so they hold on a busy
// machine; they do depend on how many operations share a commit (pages
// and commit records are shared out among them), which the load sets.
//
// The counts cover the whole load, from the first event published to the
// last delivery (warm-up, measured window and the drain after it), and
// are divided by every delivery in it: an event accepted at the end of a
// window is delivered (and its attempt written) after it, and PostgreSQL
// publishes its statistics late (each backend flushes them at most once a
// second, and at exit), so the end is taken once hookd is idle, and on
// PostgreSQL once its nodes have stopped and their backends have gone.
//
// What is counted:
//   - every store: the hookd process's write(2)-family bytes (wchar of
//     /proc/<pid>/io, all nodes), the bytes of them that went to the bench
//     over sockets (the API's answers and the deliveries, counted as the
//     bench reads them) and to its log, and the rest. On SQLite the rest
//     is what hookd wrote to its database files: WAL frames (page size +
//     24 bytes each, on every commit) and the checkpoints' page writes
//     into the main file. On PostgreSQL it is hookd's side of its
//     connections to the server. Also write_bytes: the bytes of page
//     cache the process dirtied (a page dirtied again before it reaches
//     the disk counts once).
//   - SQLite: the main database file's growth (what stays on disk).
//   - PostgreSQL: WAL bytes (flush LSN before and after, the whole
//     cluster's), the tuples inserted, updated (HOT among them) and
//     deleted in hookd's schema (pg_stat_user_tables), the database's
//     transactions (pg_stat_database's xact_commit: every transaction,
//     reads too); and, if the database has the pg_walinspect extension,
//     hookd's own WAL records: per relation, their full-page images, and
//     the commit records of the transactions that wrote to the schema.

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// ioCounters is a process's /proc/<pid>/io.
type ioCounters struct {
	RChar, WChar               int64 // bytes through read(2)/write(2) and their kin
	SyscR, SyscW               int64 // those system calls
	ReadBytes, WriteBytes      int64 // storage: pages read in, page cache dirtied
	CancelledWriteBytes        int64 // dirtied, then truncated away before writeback
	haveRChar, haveWChar, have bool
}

// add adds b's counts to c's.
func (c ioCounters) add(b ioCounters) ioCounters {
	return ioCounters{
		RChar: c.RChar + b.RChar, WChar: c.WChar + b.WChar, SyscR: c.SyscR + b.SyscR, SyscW: c.SyscW + b.SyscW,
		ReadBytes: c.ReadBytes + b.ReadBytes, WriteBytes: c.WriteBytes + b.WriteBytes,
		CancelledWriteBytes: c.CancelledWriteBytes + b.CancelledWriteBytes,
		haveRChar:           c.haveRChar || b.haveRChar, haveWChar: c.haveWChar || b.haveWChar, have: c.have || b.have,
	}
}

// parseProcIO parses the text of /proc/<pid>/io ("wchar: 123" lines).
// It needs wchar; the other fields are kept if present.
func parseProcIO(b []byte) (ioCounters, error) {
	var c ioCounters
	for line := range strings.Lines(string(b)) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return ioCounters{}, fmt.Errorf("/proc/<pid>/io: %q", strings.TrimSpace(line))
		}
		switch k {
		case "rchar":
			c.RChar, c.haveRChar = n, true
		case "wchar":
			c.WChar, c.haveWChar = n, true
		case "syscr":
			c.SyscR = n
		case "syscw":
			c.SyscW = n
		case "read_bytes":
			c.ReadBytes = n
		case "write_bytes":
			c.WriteBytes = n
		case "cancelled_write_bytes":
			c.CancelledWriteBytes = n
		}
	}
	if !c.haveWChar {
		return ioCounters{}, fmt.Errorf("/proc/<pid>/io: no wchar")
	}
	c.have = true
	return c, nil
}

// writeAmp is what hookd wrote for its deliveries over a load (see the
// top of this file for what is counted).
type writeAmp struct {
	// Span says what the counts cover; Seconds is how long it lasted.
	Span    string  `json:"span"`
	Seconds float64 `json:"seconds"`
	// Events counts the events accepted, Deliveries the deliveries the
	// receiver answered with 2xx, in the span. "Per delivery" figures
	// divide by Deliveries (at fan-out 1, one per event).
	Events     int64 `json:"events"`
	Deliveries int64 `json:"deliveries"`

	Process *processWrites `json:"process,omitempty"`
	SQLite  *sqliteWrites  `json:"sqlite,omitempty"`
	PG      *pgWrites      `json:"postgres,omitempty"`
	// Errors lists what could not be measured.
	Errors []string `json:"errors,omitempty"`
}

// processWrites is the hookd processes' write system calls, all nodes.
type processWrites struct {
	// WChar is /proc/<pid>/io's wchar: every byte passed to write(2),
	// pwrite(2) and their kin, sockets and pipes included.
	WChar int64 `json:"wchar"`
	// SocketBytes is what the bench read from hookd's connections (the
	// API's answers, the deliveries), LogBytes what hookd wrote to its
	// stdout and stderr.
	SocketBytes int64 `json:"socket_bytes"`
	LogBytes    int64 `json:"log_bytes"`
	// RestBytes is WChar less SocketBytes and LogBytes: on SQLite, the
	// database files; on PostgreSQL, hookd's side of its connections to
	// the server.
	RestBytes int64 `json:"rest_bytes"`
	// WriteSyscalls is syscw: write system calls, sockets included.
	WriteSyscalls int64 `json:"write_syscalls"`
	// WriteBytes is write_bytes: page cache the process dirtied (a page
	// counts once until it is written back, however often it is written).
	WriteBytes int64 `json:"write_bytes"`

	WCharPerDelivery      float64 `json:"wchar_per_delivery"`
	SocketPerDelivery     float64 `json:"socket_bytes_per_delivery"`
	RestPerDelivery       float64 `json:"rest_bytes_per_delivery"`
	WriteBytesPerDelivery float64 `json:"write_bytes_per_delivery"`
	SyscallsPerDelivery   float64 `json:"write_syscalls_per_delivery"`
}

// sqliteWrites is what went to the SQLite database files.
type sqliteWrites struct {
	PageSize int `json:"page_size"`
	// FileBytesPerDelivery is the process's RestBytes per delivery: the
	// bytes written to the database, WAL and shared-memory files.
	FileBytesPerDelivery float64 `json:"file_bytes_per_delivery"`
	// FileGrowth is how much the main database file grew, from the start
	// of the load to hookd's exit (which checkpoints the WAL into it).
	FileGrowth            int64   `json:"file_growth"`
	FileGrowthPerDelivery float64 `json:"file_growth_per_delivery"`
	// WAL is the WAL's frames per table and index, with -wal-frames.
	WAL *walFrames `json:"wal_frames,omitempty"`
}

// perDelivery divides n by the span's deliveries (0 if there were none).
func (w *writeAmp) perDelivery(n int64) float64 {
	if w.Deliveries <= 0 {
		return 0
	}
	return float64(n) / float64(w.Deliveries)
}

// setProcess fills in the process figures from the counts at the two
// ends of the span.
func (w *writeAmp) setProcess(io0, io1 ioCounters, sock, log int64) {
	p := &processWrites{
		WChar: io1.WChar - io0.WChar, SocketBytes: sock, LogBytes: log,
		WriteSyscalls: io1.SyscW - io0.SyscW, WriteBytes: io1.WriteBytes - io0.WriteBytes,
	}
	p.RestBytes = p.WChar - p.SocketBytes - p.LogBytes
	p.WCharPerDelivery = w.perDelivery(p.WChar)
	p.SocketPerDelivery = w.perDelivery(p.SocketBytes)
	p.RestPerDelivery = w.perDelivery(p.RestBytes)
	p.WriteBytesPerDelivery = w.perDelivery(p.WriteBytes)
	p.SyscallsPerDelivery = w.perDelivery(p.WriteSyscalls)
	w.Process = p
}

// sqlitePageSize reads the page size from a database file's header
// (bytes 16-17, big-endian; 1 means 65536).
func sqlitePageSize(path string) (int, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var h [18]byte
	if _, err := io.ReadFull(f, h[:]); err != nil {
		return 0, fmt.Errorf("%s: header: %w", path, err)
	}
	return parsePageSize(h[:])
}

// parsePageSize is the page size of a database file header's first 18
// bytes.
func parsePageSize(h []byte) (int, error) {
	if len(h) < 18 || string(h[:16]) != "SQLite format 3\x00" {
		return 0, fmt.Errorf("not an SQLite database header")
	}
	n := int(binary.BigEndian.Uint16(h[16:18]))
	if n == 1 {
		return 65536, nil
	}
	if n < 512 || n&(n-1) != 0 {
		return 0, fmt.Errorf("page size %d in the header", n)
	}
	return n, nil
}

func fileSize(path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return fi.Size()
}

// writeMeter measures a load's writes: begin before the first event is
// published, end once the last is delivered.
type writeMeter struct {
	h      *hookdUnderTest
	rc     *receiver
	pub    *publisher
	fanout int // deliveries per event

	start                 time.Time
	io0                   ioCounters
	sock0, log0           int64
	delivered0, accepted0 int64
	dbSize0               int64
	pg                    *pgMeter
	wal                   *walFollower // with -wal-frames, on SQLite
	followWAL             bool
	errs                  []string
}

// newWriteMeter returns a meter for the hookd the bench started as child
// processes (it cannot tell a -inprocess or -target hookd's writes from
// the bench's, or see them), or nil.
// With followWAL, on SQLite, it also counts the WAL's frames per table
// and index (walframes.go).
func newWriteMeter(h *hookdUnderTest, rc *receiver, pub *publisher, fanout int, followWAL bool) *writeMeter {
	if h.mode != "child process" {
		return nil
	}
	return &writeMeter{h: h, rc: rc, pub: pub, fanout: fanout, followWAL: followWAL}
}

func (m *writeMeter) fail(format string, args ...any) {
	m.errs = append(m.errs, fmt.Sprintf(format, args...))
}

// nodesIO sums the nodes' /proc/<pid>/io.
func (m *writeMeter) nodesIO() (ioCounters, error) {
	var sum ioCounters
	for _, c := range m.h.nodes {
		io, err := procIO(c.pid)
		if err != nil {
			return ioCounters{}, err
		}
		sum = sum.add(io)
	}
	return sum, nil
}

func (m *writeMeter) sockets() int64 { return clientReadBytes.Load() + m.rc.readBytes.Load() }

func (m *writeMeter) logs() int64 {
	var n int64
	for _, c := range m.h.nodes {
		n += c.logBytes.Load()
	}
	return n
}

// begin takes the counts at the start of the load.
func (m *writeMeter) begin(ctx context.Context) {
	if m.h.pg != nil {
		pm, err := newPGMeter(ctx, m.h.pg)
		if err != nil {
			m.fail("postgres: %v", err)
		} else if err := pm.begin(ctx); err != nil {
			m.fail("postgres: %v", err)
			pm.close()
		} else {
			m.pg = pm
		}
	}
	if m.h.sqlitePath != "" {
		m.dbSize0 = fileSize(m.h.sqlitePath)
		if m.followWAL {
			m.wal = followWAL(m.h.sqlitePath)
		}
	}
	var err error
	if m.io0, err = m.nodesIO(); err != nil {
		m.fail("/proc/<pid>/io: %v", err)
	}
	m.sock0, m.log0 = m.sockets(), m.logs()
	m.delivered0, m.accepted0 = m.rc.count.Load(), m.pub.accepted.Load()
	m.start = time.Now()
}

// end waits (up to timeout) for every event accepted since begin to be
// delivered, takes the counts, stops hookd's nodes (for PostgreSQL's
// statistics and SQLite's last checkpoint) and returns the figures.
func (m *writeMeter) end(ctx context.Context, timeout time.Duration) *writeAmp {
	deadline := time.Now().Add(timeout)
	for {
		want := (m.pub.accepted.Load() - m.accepted0) * int64(m.fanout)
		if m.rc.count.Load()-m.delivered0 >= want || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	w := &writeAmp{
		Span:       "from the first event published to the last delivery: warm-up, measured window and drain",
		Seconds:    time.Since(m.start).Seconds(),
		Events:     m.pub.accepted.Load() - m.accepted0,
		Deliveries: m.rc.count.Load() - m.delivered0,
	}
	if want := w.Events * int64(m.fanout); w.Deliveries < want {
		m.fail("%d of %d deliveries arrived within %s: the figures are per delivery that arrived", w.Deliveries, want, timeout)
	}
	io1, err := m.nodesIO()
	if err == nil && m.io0.have {
		w.setProcess(m.io0, io1, m.sockets()-m.sock0, m.logs()-m.log0)
	} else if err != nil {
		m.fail("/proc/<pid>/io: %v", err)
	}
	var walGens [][]walFrame
	var walPageSize int
	if m.wal != nil {
		var err error
		if walGens, walPageSize, err = m.wal.finish(); err != nil {
			m.fail("WAL: %v", err)
		}
	}
	for _, c := range m.h.nodes {
		c.stop()
	}
	if m.h.sqlitePath != "" && w.Process != nil {
		s := &sqliteWrites{FileBytesPerDelivery: w.Process.RestPerDelivery}
		if ps, err := sqlitePageSize(m.h.sqlitePath); err == nil {
			s.PageSize = ps
		} else {
			m.fail("sqlite: %v", err)
		}
		s.FileGrowth = fileSize(m.h.sqlitePath) - m.dbSize0
		s.FileGrowthPerDelivery = w.perDelivery(s.FileGrowth)
		if m.wal != nil {
			if owners, err := dbPages(ctx, m.h.sqlitePath); err != nil {
				m.fail("WAL frames: %v", err)
			} else {
				s.WAL = attributeWAL(walGens, walPageSize, owners, w.Deliveries, w.Process.RestBytes)
			}
		}
		w.SQLite = s
	}
	if m.pg != nil {
		defer m.pg.close()
		pw, err := m.pg.end(ctx, w)
		if err != nil {
			m.fail("postgres: %v", err)
		}
		w.PG = pw
	}
	w.Errors = m.errs
	return w
}

// kb prints a byte count per delivery: 812 B, 33.1 KB (1 KB = 1,000 B).
func kb(v float64) string {
	if v < 1000 && v > -1000 {
		return fmt.Sprintf("%.0f B", v)
	}
	return fmt.Sprintf("%.1f KB", v/1000)
}

func (w *writeAmp) print(out io.Writer, indent string) {
	fmt.Fprintf(out, "%swrites per delivery, %s (%.1fs, %d events, %d deliveries):\n", indent, w.Span, w.Seconds, w.Events, w.Deliveries)
	in := indent + "  "
	if p := w.Process; p != nil {
		rest := "the rest"
		switch {
		case w.SQLite != nil:
			rest = "the database files"
		case w.PG != nil:
			rest = "to PostgreSQL"
		}
		fmt.Fprintf(out, "%shookd process: wchar %s = sockets to the bench %s + log %s + %s %s; %.1f write calls; write_bytes (page cache dirtied) %s\n",
			in, kb(p.WCharPerDelivery), kb(p.SocketPerDelivery), kb(w.perDelivery(p.LogBytes)), rest, kb(p.RestPerDelivery),
			p.SyscallsPerDelivery, kb(p.WriteBytesPerDelivery))
	}
	if s := w.SQLite; s != nil {
		fmt.Fprintf(out, "%sSQLite (%d-byte pages): %s written to the database files (WAL frames and checkpoints); main file grew %s\n",
			in, s.PageSize, kb(s.FileBytesPerDelivery), kb(s.FileGrowthPerDelivery))
		if s.WAL != nil {
			s.WAL.print(out, in)
		}
	}
	if p := w.PG; p != nil {
		p.print(out, in)
	}
	for _, e := range w.Errors {
		fmt.Fprintf(out, "%snot measured: %s\n", in, e)
	}
}
