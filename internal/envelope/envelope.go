// Package envelope renders the body a delivery sends: hookd's default shape
// {"id","type","created_at","data"}, the built-in provider profiles (see
// Resolve and Renderer.Render), and jq programs ("envelopes") that build a
// body of any shape from the event. It also evaluates endpoints' jq filters
// (Renderer.Match) and validates profiles, envelopes and filters when they
// are saved.
package envelope

import (
	"encoding/json"
	"strconv"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// TimeFormat is how times appear in bodies: RFC 3339, UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z07:00"

// Default renders hookd's default body. The event's data is embedded as
// stored (it is compact JSON), so the bytes signed are the bytes sent.
func Default(ev *hook.Event) []byte {
	b := make([]byte, 0, len(ev.Data)+len(ev.ID)+len(ev.Type)+80)
	return AppendDefault(b, ev)
}

// AppendDefault appends the default body of ev to b.
func AppendDefault(b []byte, ev *hook.Event) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, ev.ID)
	b = append(b, `,"type":`...)
	b = appendString(b, ev.Type)
	b = append(b, `,"created_at":"`...)
	b = ev.CreatedAt.UTC().AppendFormat(b, TimeFormat)
	b = append(b, `","data":`...)
	if len(ev.Data) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, ev.Data...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string. Ids and type names are plain
// ASCII by their rules, so the fast path is a quoted copy.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		// 0x7f too: strconv quotes it as \x7f, which JSON does not have.
		if c < 0x20 || c == '"' || c == '\\' || c >= 0x7f {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	return strconv.AppendQuote(b, s)
}

// FormatTime formats t as bodies do.
func FormatTime(t time.Time) string { return t.UTC().Format(TimeFormat) }
