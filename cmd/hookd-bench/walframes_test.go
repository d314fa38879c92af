package main

import (
	"context"
	"database/sql"
	"encoding/binary"
	"math"
	"path/filepath"
	"strconv"
	"testing"
)

func TestParseWAL(t *testing.T) {
	t.Parallel()
	hdr := make([]byte, 32)
	binary.BigEndian.PutUint32(hdr[0:], 0x377f0682)
	binary.BigEndian.PutUint32(hdr[4:], 3007000)
	binary.BigEndian.PutUint32(hdr[8:], 4096)
	binary.BigEndian.PutUint32(hdr[16:], 0xAABBCCDD)
	binary.BigEndian.PutUint32(hdr[20:], 0x11223344)
	h, err := parseWALHeader(hdr)
	if err != nil {
		t.Fatal(err)
	}
	if h.pageSize != 4096 || h.salt != [2]uint32{0xAABBCCDD, 0x11223344} {
		t.Errorf("header = %+v", h)
	}
	frame := func(page, dbSize, s1, s2 uint32) []byte {
		b := make([]byte, 24)
		binary.BigEndian.PutUint32(b[0:], page)
		binary.BigEndian.PutUint32(b[4:], dbSize)
		binary.BigEndian.PutUint32(b[8:], s1)
		binary.BigEndian.PutUint32(b[12:], s2)
		return b
	}
	if f, ok := parseWALFrame(h, frame(7, 0, 0xAABBCCDD, 0x11223344)); !ok || f != (walFrame{page: 7}) {
		t.Errorf("frame = %+v, %v; want page 7, not a commit", f, ok)
	}
	if f, ok := parseWALFrame(h, frame(9, 120, 0xAABBCCDD, 0x11223344)); !ok || f != (walFrame{page: 9, commit: true}) {
		t.Errorf("commit frame = %+v, %v", f, ok)
	}
	if _, ok := parseWALFrame(h, frame(9, 120, 0xAABBCCDC, 0x11223344)); ok {
		t.Error("a frame of an earlier generation (other salt) was taken")
	}
	if _, ok := parseWALFrame(h, make([]byte, 10)); ok {
		t.Error("a short frame header was taken")
	}
	binary.BigEndian.PutUint32(hdr[8:], 1)
	if h, err := parseWALHeader(hdr); err != nil || h.pageSize != 65536 {
		t.Errorf("page size 1: %+v, %v; want 65536", h, err)
	}
	binary.BigEndian.PutUint32(hdr[8:], 3000)
	if _, err := parseWALHeader(hdr); err == nil {
		t.Error("page size 3000: no error")
	}
	binary.BigEndian.PutUint32(hdr[0:], 0x377f0681)
	binary.BigEndian.PutUint32(hdr[8:], 4096)
	if _, err := parseWALHeader(hdr); err == nil {
		t.Error("bad magic: no error")
	}
}

func TestAttributeWAL(t *testing.T) {
	t.Parallel()
	owners := map[uint32]pageOwner{1: {"sqlite_schema", "leaf"}, 2: {"events", "leaf"}, 3: {"events", "internal"},
		4: {"events_app_seq", "leaf"}}
	gens := [][]walFrame{
		// Commit 1: events twice (leaf, interior), its index and page 1.
		{{page: 2}, {page: 3}, {page: 4}, {page: 1, commit: true},
			// Commit 2: the events leaf again, and a page freed since.
			{page: 2}, {page: 9, commit: true},
			// Not committed when the run ended: left out.
			{page: 4}},
		// A later generation: commit 3.
		{{page: 4, commit: true}},
	}
	w := attributeWAL(gens, 4096, owners, 3, 9*4120*2)
	if w.Frames != 7 || w.Commits != 3 {
		t.Fatalf("frames %d, commits %d; want 7, 3", w.Frames, w.Commits)
	}
	near := func(what string, got, want float64) {
		if math.Abs(got-want) > 1e-9 {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	near("frames per commit", w.FramesPerCommit, 7.0/3)
	near("commits per delivery", w.CommitsPerDelivery, 1)
	near("interior share", w.InteriorShare, 1.0/7)
	near("coverage", w.Coverage, 7.0/18)
	want := []walTree{
		{Name: "events", Frames: 3, Share: 3.0 / 7, PagesPerCommit: 1, CommitsTouching: 2.0 / 3, BytesPerDelivery: 4120},
		{Name: "events_app_seq", Frames: 2, Share: 2.0 / 7, PagesPerCommit: 2.0 / 3, CommitsTouching: 2.0 / 3, BytesPerDelivery: 2 * 4120.0 / 3},
		{Name: "(free)", Frames: 1, Share: 1.0 / 7, PagesPerCommit: 1.0 / 3, CommitsTouching: 1.0 / 3, BytesPerDelivery: 4120.0 / 3},
		{Name: "sqlite_schema", Frames: 1, Share: 1.0 / 7, PagesPerCommit: 1.0 / 3, CommitsTouching: 1.0 / 3, BytesPerDelivery: 4120.0 / 3},
	}
	if len(w.Trees) != len(want) {
		t.Fatalf("trees = %+v", w.Trees)
	}
	for i, g := range w.Trees {
		x := want[i]
		if g.Name != x.Name || g.Frames != x.Frames {
			t.Errorf("tree %d = %s %d frames, want %s %d", i, g.Name, g.Frames, x.Name, x.Frames)
			continue
		}
		near(g.Name+" share", g.Share, x.Share)
		near(g.Name+" pages per commit", g.PagesPerCommit, x.PagesPerCommit)
		near(g.Name+" commits touching", g.CommitsTouching, x.CommitsTouching)
		near(g.Name+" bytes per delivery", g.BytesPerDelivery, x.BytesPerDelivery)
	}
	if e := attributeWAL(nil, 4096, owners, 3, 0); e.Frames != 0 || e.Trees != nil {
		t.Errorf("no frames: %+v", e)
	}
}

// TestFollowWAL follows a real SQLite database's WAL through three
// commits and attributes their frames. Without checkpoints the WAL is
// never rewritten, so the follower sees every frame whenever it reads.
func TestFollowWAL(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "w.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=wal_autocheckpoint(0)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (a INTEGER PRIMARY KEY, b TEXT); CREATE INDEX t_b ON t (b)`); err != nil {
		t.Fatal(err)
	}
	f := followWAL(path)
	for i := range 3 {
		if _, err := db.Exec(`INSERT INTO t (b) VALUES (?)`, "row "+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	gens, ps, err := f.finish()
	if err != nil {
		t.Fatal(err)
	}
	owners, err := dbPages(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	w := attributeWAL(gens, ps, owners, 3, 0)
	// The CREATE's commit came before following began, and may be
	// seen too; the three inserts each write t's page and t_b's.
	if w.Commits < 3 || w.PageSize != 4096 {
		t.Fatalf("saw %d commits, page size %d: %+v", w.Commits, w.PageSize, w)
	}
	got := map[string]int64{}
	for _, tr := range w.Trees {
		got[tr.Name] = tr.Frames
	}
	if got["t"] < 3 || got["t_b"] < 3 {
		t.Errorf("frames per tree = %v, want at least 3 of t and of t_b", got)
	}
}
