package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// TestWriteEventIsEncodeJSON checks the event fast path writes exactly what
// encoding/json writes, for events with and without their optional members
// and with strings that look like the placeholders.
func TestWriteEventIsEncodeJSON(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 12, 1, 12, 0, 0, 123e6, time.UTC)
	for _, tc := range []struct {
		name string
		ev   hook.Event
		fast bool // the fast path applies
	}{
		{"minimal", hook.Event{ID: "e1", AppID: "app_1", Type: "order.created", Data: json.RawMessage(`{"n":1}`), CreatedAt: at}, true},
		{"every member", hook.Event{ID: "e2", AppID: "app_1", Type: "order.updated", Data: json.RawMessage(`{"a":{"b":[1,2]}}`),
			PreviousAttributes: json.RawMessage(`{"a":null}`), Livemode: true, RequestID: "req_1", APIVersion: "2026-01-01",
			ExpungedAt: &at, CreatedAt: at}, true},
		{"placeholder-like strings", hook.Event{ID: `,"data":0`, AppID: `,"previous_attributes":1`, Type: "x.y",
			Data: json.RawMessage(`{"data":0,"s":"\",\"data\":0"}`), PreviousAttributes: json.RawMessage(`{"previous_attributes":1}`),
			RequestID: `"data":0`, CreatedAt: at}, true},
		{"html characters", hook.Event{ID: "<&>", AppID: "app_1", Type: "a.b", Data: json.RawMessage(`{"h":"<b>&</b>"}`), CreatedAt: at}, true},
		{"expunged", hook.Event{ID: "e3", AppID: "app_1", Type: "a.b", Data: json.RawMessage(`{}`), ExpungedAt: &at, CreatedAt: at}, true},
		{"data not an object", hook.Event{ID: "e4", AppID: "app_1", Type: "a.b", Data: json.RawMessage(`[1, 2]`), CreatedAt: at}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want, got bytes.Buffer
			if err := encodeJSON(&want, &tc.ev); err != nil {
				t.Fatal(err)
			}
			if err := marshalJSON(&got, &tc.ev); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("fast path wrote\n%s\nencoding/json writes\n%s", got.String(), want.String())
			}
			if isObject(tc.ev.Data) != tc.fast {
				t.Fatalf("fast path applies: %v, want %v", !tc.fast, tc.fast)
			}
		})
	}
}

func TestCompactJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{}`, `{"a":1}`, `{ "a" : 1 }`, "{\n\t\"a\": [1,\r\n 2]\n}", `{"s":"with spaces and \" quotes"}`,
		`{"s":"\\"} `, `{"s":"\\\\","t":" "}`, `{"a":"\u0020"}`, `[ ]`, `"x y"`, ` 1`,
		`{"s":"` + strings.Repeat(`\"\n\\`, 1000) + `", "t":"` + strings.Repeat(`\\`, 999) + `\""}`,
	} {
		var want, got bytes.Buffer
		if err := json.Compact(&want, []byte(in)); err != nil {
			t.Fatalf("%q: %v", in, err)
		}
		if err := compactJSON(&got, []byte(in)); err != nil {
			t.Fatalf("compactJSON(%q): %v", in, err)
		}
		if got.String() != want.String() {
			t.Errorf("compactJSON(%q) = %q, want %q", in, got.String(), want.String())
		}
	}
}

// FuzzCompactJSON checks compactJSON against json.Compact on any valid
// JSON, and that compacting changes nothing checkJSONText sees: what it
// accepted is accepted compacted (as stored), and a fault is still there.
func FuzzCompactJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": "b c", "d": [1, 2, {"e": "\"f\\"}]}`, `{"x":"y"}`, "[\n1\t]",
		"{ \"s\" : \"\xff x\" }", `{ "a" : 1 , "a" : 2 }`, `[ "\ud800 " , "\ud83d\ude00" ]`,
		`{ "n" : 12345678901234567890 , "e" : 1e400 , "f" : 0.1000000000000000000001 }`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		var want, got bytes.Buffer
		if err := json.Compact(&want, b); err != nil {
			t.Fatal(err)
		}
		if err := compactJSON(&got, b); err != nil {
			t.Fatalf("compactJSON: %v", err)
		}
		if !bytes.Equal(got.Bytes(), want.Bytes()) {
			t.Fatalf("compactJSON(%q) = %q, want %q", b, got.Bytes(), want.Bytes())
		}
		before, after := checkJSONText(b, "body"), checkJSONText(got.Bytes(), "body")
		if (before == nil) != (after == nil) || (before != nil && before.loc != after.loc) {
			t.Fatalf("checkJSONText(%q) = %v, but of it compacted, %q: %v", b, before, got.Bytes(), after)
		}
	})
}

func BenchmarkAnswerEvent(b *testing.B) {
	for _, size := range []int{1 << 10, 64 << 10} {
		data := []byte(`{"pad":"` + string(bytes.Repeat([]byte("x"), size-10)) + `"}`)
		ev := &hook.Event{ID: "evt_1", AppID: "app_1", Type: "order.created", Data: data, CreatedAt: time.Now()}
		b.Run("encoding/json/"+sizeName(size), func(b *testing.B) {
			for b.Loop() {
				_ = encodeJSON(&bytes.Buffer{}, ev)
			}
		})
		b.Run("fast/"+sizeName(size), func(b *testing.B) {
			for b.Loop() {
				_ = marshalJSON(&bytes.Buffer{}, ev)
			}
		})
		b.Run("compact/"+sizeName(size), func(b *testing.B) {
			for b.Loop() {
				_ = compactJSON(&bytes.Buffer{}, data)
			}
		})
		b.Run("json.Compact/"+sizeName(size), func(b *testing.B) {
			for b.Loop() {
				_ = json.Compact(&bytes.Buffer{}, data)
			}
		})
	}
}

// BenchmarkCompactJSONEscapes compacts data that is one string of escapes:
// the time grows with the size, not its square (it took 3 ms for 16 KiB,
// 72 ms for 64 KiB and 1.3 s for 256 KiB, when the next quote was searched
// for again after each escape).
func BenchmarkCompactJSONEscapes(b *testing.B) {
	for _, size := range []int{16 << 10, 64 << 10, 256 << 10} {
		data := []byte(`{"s":"` + strings.Repeat(`\n`, size/2) + `"}`)
		b.Run(sizeName(size), func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				_ = compactJSON(&bytes.Buffer{}, data)
			}
		})
	}
}

func sizeName(n int) string { return fmt.Sprintf("%dKiB", n>>10) }
