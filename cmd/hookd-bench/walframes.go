package main

// -wal-frames: where SQLite's WAL bytes go. While hookd runs, the bench
// follows the database's WAL file and notes the header of every frame it
// sees (the page it holds, and whether it ends a commit); after hookd has
// stopped, it maps those pages to the tables and indexes that own them
// (the dbstat virtual table) and counts frames per B-tree and per commit.
//
// A WAL is written from its start again after each checkpoint, so a frame
// overwritten before the bench read it is missed: the figures are a sample
// (usually nearly all of it; Coverage says how much). Only frames of
// commits seen whole count.

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	_ "modernc.org/sqlite" // dbstat, on the database after the run
)

// walFrame is one WAL frame's header: the page it holds, and whether it
// is the last frame of a commit.
type walFrame struct {
	page   uint32
	commit bool
}

// walHeader is what the bench needs of a WAL file's 32-byte header.
type walHeader struct {
	pageSize int
	salt     [2]uint32 // frames of this generation of the WAL carry these
}

// parseWALHeader parses a WAL file header.
func parseWALHeader(b []byte) (walHeader, error) {
	if len(b) < 32 {
		return walHeader{}, errors.New("WAL header: short")
	}
	magic := binary.BigEndian.Uint32(b[0:4])
	if magic != 0x377f0682 && magic != 0x377f0683 {
		return walHeader{}, fmt.Errorf("WAL header: magic %#x", magic)
	}
	ps := int(binary.BigEndian.Uint32(b[8:12]))
	if ps == 1 {
		ps = 65536
	}
	if ps < 512 || ps > 65536 || ps&(ps-1) != 0 {
		return walHeader{}, fmt.Errorf("WAL header: page size %d", ps)
	}
	return walHeader{pageSize: ps, salt: [2]uint32{binary.BigEndian.Uint32(b[16:20]), binary.BigEndian.Uint32(b[20:24])}}, nil
}

// parseWALFrame parses a 24-byte frame header; ok is false if the frame
// is not of the generation whose salts h has (left over from an earlier
// one, or not written yet).
func parseWALFrame(h walHeader, b []byte) (f walFrame, ok bool) {
	if len(b) < 24 {
		return walFrame{}, false
	}
	if binary.BigEndian.Uint32(b[8:12]) != h.salt[0] || binary.BigEndian.Uint32(b[12:16]) != h.salt[1] {
		return walFrame{}, false
	}
	return walFrame{page: binary.BigEndian.Uint32(b[0:4]), commit: binary.BigEndian.Uint32(b[4:8]) != 0}, true
}

// walFollower reads a WAL's frame headers as they are written, until
// stopped.
type walFollower struct {
	path string
	stop chan struct{}
	done chan struct{}

	pageSize int
	gens     [][]walFrame // per generation of the WAL, in order
	err      error
}

func followWAL(dbPath string) *walFollower {
	f := &walFollower{path: dbPath + "-wal", stop: make(chan struct{}), done: make(chan struct{})}
	go f.run()
	return f
}

func (f *walFollower) run() {
	defer close(f.done)
	var file *os.File
	defer func() {
		if file != nil {
			file.Close()
		}
	}()
	var cur walHeader
	var frames []walFrame
	hb := make([]byte, 32)
	fb := make([]byte, 24)
	// pass reads the frames written since the last one.
	pass := func() {
		if file == nil {
			var err error
			if file, err = os.Open(f.path); err != nil {
				return // not made yet
			}
		}
		if _, err := file.ReadAt(hb, 0); err != nil {
			return // not written yet, or truncated
		}
		h, err := parseWALHeader(hb)
		if err != nil {
			return
		}
		if h != cur {
			if frames != nil {
				f.gens = append(f.gens, frames)
			}
			cur, frames = h, []walFrame{}
			f.pageSize = h.pageSize
		}
		for {
			off := 32 + int64(len(frames))*int64(h.pageSize+24)
			if _, err := file.ReadAt(fb, off); err != nil {
				if err != io.EOF {
					f.err = err
				}
				return
			}
			fr, ok := parseWALFrame(h, fb)
			if !ok {
				return
			}
			frames = append(frames, fr)
		}
	}
	for {
		select {
		case <-f.stop:
			pass() // what was written before the stop
			if frames != nil {
				f.gens = append(f.gens, frames)
			}
			return
		default:
		}
		pass()
		time.Sleep(time.Millisecond)
	}
}

// finish stops following and returns what was seen.
func (f *walFollower) finish() ([][]walFrame, int, error) {
	close(f.stop)
	<-f.done
	return f.gens, f.pageSize, f.err
}

// walFrames is the sampled WAL frames of a run, by B-tree.
type walFrames struct {
	PageSize int `json:"page_size"`
	// Frames and Commits count what was seen (frames of whole commits
	// only); Coverage is the frames' bytes (page size + 24 each) over the
	// bytes written to the database files, which include the checkpoints'
	// copies into the main file too, so it stays under 1 even when every
	// frame was seen.
	Frames   int64   `json:"frames"`
	Commits  int64   `json:"commits"`
	Coverage float64 `json:"coverage"`
	// FramesPerCommit is the pages a commit wrote; CommitsPerDelivery
	// divides the commits seen by the run's deliveries (a lower bound if
	// frames were missed); FramesPerDelivery likewise.
	FramesPerCommit    float64 `json:"frames_per_commit"`
	CommitsPerDelivery float64 `json:"commits_per_delivery"`
	FramesPerDelivery  float64 `json:"frames_per_delivery"`
	// InteriorShare is the share of frames that were interior B-tree
	// pages (the rest: leaves and overflow pages).
	InteriorShare float64 `json:"interior_share"`
	// Trees is each B-tree's (table's or index's) frames, most first.
	Trees []walTree `json:"trees"`
}

// walTree is one B-tree's WAL frames.
type walTree struct {
	Name             string  `json:"name"`
	Frames           int64   `json:"frames"`
	Share            float64 `json:"share"`              // of all frames
	PagesPerCommit   float64 `json:"pages_per_commit"`   // frames / commits
	CommitsTouching  float64 `json:"commits_touching"`   // share of the commits that wrote one of its pages
	BytesPerDelivery float64 `json:"bytes_per_delivery"` // its frames' bytes over the run's deliveries
}

// pageOwner is a database page's B-tree and page type (dbstat).
type pageOwner struct{ name, kind string }

// dbPages maps a database's pages to their B-trees (dbstat).
func dbPages(ctx context.Context, path string) (map[uint32]pageOwner, error) {
	u := url.URL{Path: path}
	db, err := sql.Open("sqlite", "file:"+u.EscapedPath()+"?mode=ro")
	if err != nil {
		return nil, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT name, pageno, pagetype FROM dbstat`)
	if err != nil {
		return nil, fmt.Errorf("dbstat: %w", err)
	}
	defer rows.Close()
	m := map[uint32]pageOwner{}
	for rows.Next() {
		var o pageOwner
		var p uint32
		if err := rows.Scan(&o.name, &p, &o.kind); err != nil {
			return nil, err
		}
		m[p] = o
	}
	return m, rows.Err()
}

// attributeWAL counts the frames of whole commits per B-tree. Pages that
// no B-tree owns at the end (freed since) count as "(free)".
func attributeWAL(gens [][]walFrame, pageSize int, owners map[uint32]pageOwner, deliveries int64, fileBytes int64) *walFrames {
	w := &walFrames{PageSize: pageSize}
	type acc struct{ frames, commits int64 }
	trees := map[string]*acc{}
	var interior int64
	for _, g := range gens {
		start := 0
		for i, f := range g {
			if !f.commit {
				continue
			}
			w.Commits++
			touched := map[string]bool{}
			for _, fr := range g[start : i+1] {
				o, ok := owners[fr.page]
				if !ok {
					o = pageOwner{name: "(free)"}
				}
				a := trees[o.name]
				if a == nil {
					a = &acc{}
					trees[o.name] = a
				}
				a.frames++
				w.Frames++
				if o.kind == "internal" {
					interior++
				}
				if !touched[o.name] {
					touched[o.name] = true
					a.commits++
				}
			}
			start = i + 1
		}
	}
	if w.Frames == 0 || w.Commits == 0 {
		return w
	}
	frameBytes := float64(pageSize + 24)
	w.FramesPerCommit = float64(w.Frames) / float64(w.Commits)
	w.InteriorShare = float64(interior) / float64(w.Frames)
	if fileBytes > 0 {
		w.Coverage = float64(w.Frames) * frameBytes / float64(fileBytes)
	}
	if deliveries > 0 {
		w.CommitsPerDelivery = float64(w.Commits) / float64(deliveries)
		w.FramesPerDelivery = float64(w.Frames) / float64(deliveries)
	}
	for name, a := range trees {
		t := walTree{Name: name, Frames: a.frames, Share: float64(a.frames) / float64(w.Frames),
			PagesPerCommit: float64(a.frames) / float64(w.Commits), CommitsTouching: float64(a.commits) / float64(w.Commits)}
		if deliveries > 0 {
			t.BytesPerDelivery = float64(a.frames) * frameBytes / float64(deliveries)
		}
		w.Trees = append(w.Trees, t)
	}
	slices.SortFunc(w.Trees, func(a, b walTree) int {
		if a.Frames != b.Frames {
			return int(b.Frames - a.Frames)
		}
		return strings.Compare(a.Name, b.Name)
	})
	return w
}

func (w *walFrames) print(out io.Writer, in string) {
	fmt.Fprintf(out, "%s  WAL frames (sampled, %.0f%% of the file bytes): %d in %d commits: %.1f pages per commit, %.2f commits and %.2f frames per delivery; %.0f%% interior pages\n",
		in, 100*w.Coverage, w.Frames, w.Commits, w.FramesPerCommit, w.CommitsPerDelivery, w.FramesPerDelivery, 100*w.InteriorShare)
	var b strings.Builder
	for i, t := range w.Trees {
		if t.Share < 0.005 {
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %.1f%% (%.2f/commit)", t.Name, 100*t.Share, t.PagesPerCommit)
	}
	fmt.Fprintf(out, "%s  frames per B-tree: %s\n", in, b.String())
}
