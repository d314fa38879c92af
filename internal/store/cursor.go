package store

import (
	"encoding/base64"
	"math"
	"strconv"

	"github.com/hookd/hookd/internal/hook"
)

// Cursors are the base64url of the last row's seq (or, for event types, of
// the last name). They are opaque to clients; both backends use these.

// EncodeSeqCursor is the cursor after the row with this seq.
func EncodeSeqCursor(seq int64) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(seq, 10)))
}

// DecodePurgeCursor returns the seq PurgeEvents resumes after: 0 for no
// cursor.
func DecodePurgeCursor(c string) (int64, error) {
	if c == "" {
		return 0, nil
	}
	seq, err := DecodeSeqCursor(c)
	if err != nil {
		return 0, hook.Errorf(hook.EInvalid, "cursor", "is not a purge cursor")
	}
	return seq, nil
}

// BadCursor is the error of a cursor no page returned.
func BadCursor() error {
	return hook.Errorf(hook.EInvalid, "cursor", "is not a cursor returned by a previous page")
}

// DecodeSeqCursor returns the seq to list below: MaxInt64 for no cursor.
func DecodeSeqCursor(c string) (int64, error) {
	if c == "" {
		return math.MaxInt64, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return 0, BadCursor()
	}
	seq, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || seq <= 0 || strconv.FormatInt(seq, 10) != string(b) {
		return 0, BadCursor()
	}
	return seq, nil
}

// EncodeNameCursor is the cursor after the event type with this name.
func EncodeNameCursor(name string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(name))
}

// DecodeNameCursor returns the name to list after: "" for no cursor.
func DecodeNameCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || len(b) == 0 {
		return "", BadCursor()
	}
	return string(b), nil
}

// CollectSeqPage reads a page of a newest-first list from rows that a
// query returned with their seqs, at most limit+1 of them: next advances
// to the next row and scan reads it. The (limit+1)th row is not read: it
// only says that the list goes on, and the page's NextCursor is then the
// seq of its last item. The first error of scan is returned as is.
func CollectSeqPage[T any](limit int, next func() bool, scan func() (T, int64, error)) (*Page[T], error) {
	page := &Page[T]{Data: make([]T, 0, min(limit, 64))}
	var lastSeq int64
	for n := 1; next(); n++ {
		if n > limit {
			page.NextCursor = EncodeSeqCursor(lastSeq)
			break
		}
		v, seq, err := scan()
		if err != nil {
			return nil, err
		}
		page.Data = append(page.Data, v)
		lastSeq = seq
	}
	return page, nil
}
