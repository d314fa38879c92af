package sqlitestore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// fileHolding returns the first of the database's files (the database, its
// -wal and its -shm) whose raw bytes contain marker, or "".
func fileHolding(t *testing.T, path, marker string) string {
	t.Helper()
	for _, name := range []string{path, path + "-wal", path + "-shm"} {
		b, err := os.ReadFile(name)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(marker)) {
			return filepath.Base(name)
		}
	}
	return ""
}

func newMarker(t *testing.T, what string) string {
	t.Helper()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return what + "-" + hex.EncodeToString(b)
}

// TestExpungeOverwritesPayload: after ExpungeEvent returns, the bytes of
// the expunged data and previous_attributes are in none of the database's
// files, not in free space of the database file nor in old frames of the
// WAL (issue 12, item 10b); the neighbouring event's data is untouched.
func TestExpungeOverwritesPayload(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		size int // bytes of padding in the payload
	}{
		{"in the row's page", 100},
		{"in overflow pages", 200 << 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			path := filepath.Join(t.TempDir(), "hookd.db")
			s, err := Open(ctx, path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			now := time.Now().UTC()
			app, err := s.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "A", Now: now})
			if err != nil {
				t.Fatal(err)
			}
			secret, previous, kept := newMarker(t, "expunged-data"), newMarker(t, "expunged-previous"), newMarker(t, "kept-data")
			pad := strings.Repeat("x", tc.size)
			insert := func(id, data, prev string) {
				t.Helper()
				ev := &hook.Event{ID: id, AppID: app.ID, Type: "user.updated", Data: []byte(data), CreatedAt: now}
				if prev != "" {
					ev.PreviousAttributes = []byte(prev)
				}
				if _, err := s.InsertEvent(ctx, &store.InsertEventParams{Event: ev}); err != nil {
					t.Fatal(err)
				}
			}
			insert("before", `{"v":"`+kept+`"}`, "")
			insert("gone", `{"email":"`+secret+`","pad":"`+pad+`"}`, `{"email":"`+previous+`","pad":"`+pad+`"}`)
			insert("after", `{"v":"`+kept+`"}`, "")
			for _, m := range []string{secret, previous, kept} {
				if fileHolding(t, path, m) == "" {
					t.Fatalf("%s is in no file before the expunge: the test cannot see it", m)
				}
			}

			if _, err := s.ExpungeEvent(ctx, &store.ExpungeEventParams{AppID: app.ID, EventID: "gone", Now: now}); err != nil {
				t.Fatal(err)
			}
			for _, m := range []string{secret, previous} {
				if f := fileHolding(t, path, m); f != "" {
					t.Errorf("after the expunge, %s still holds %s", f, m)
				}
			}
			if fileHolding(t, path, kept) == "" {
				t.Error("the other events' data is gone too")
			}
			ev, err := s.GetEvent(ctx, app.ID, "before")
			if err != nil || !strings.Contains(string(ev.Data), kept) {
				t.Fatalf("the event before: %v, %v", ev, err)
			}
			// The store writes on as usual afterwards.
			insert("later", `{}`, "")
		})
	}
}
