package envelope

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

func TestDefaultIsValidJSONWithEveryField(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   hook.Event
	}{
		{"plain", hook.Event{ID: "evt_1", Type: "order.created", Data: json.RawMessage(`{"a":1}`)}},
		{"quotes in id", hook.Event{ID: `we"ird\id`, Type: "order.created", Data: json.RawMessage(`{}`)}},
		{"unicode data", hook.Event{ID: "x", Type: "user.updated", Data: json.RawMessage(`{"name":"Zoë ✓"}`)}},
		{"no data", hook.Event{ID: "x", Type: "a.b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.ev.CreatedAt = time.Date(2026, 11, 23, 10, 0, 0, 123e6, time.FixedZone("x", 3600))
			body := Default(&tt.ev)
			var got struct {
				ID        string          `json:"id"`
				Type      string          `json:"type"`
				CreatedAt string          `json:"created_at"`
				Data      json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s is not JSON: %v", body, err)
			}
			if got.ID != tt.ev.ID || got.Type != tt.ev.Type {
				t.Errorf("id/type = %q/%q, want %q/%q", got.ID, got.Type, tt.ev.ID, tt.ev.Type)
			}
			if got.CreatedAt != "2026-11-23T09:00:00.123Z" {
				t.Errorf("created_at = %q", got.CreatedAt)
			}
			want := string(tt.ev.Data)
			if want == "" {
				want = "{}"
			}
			if string(got.Data) != want {
				t.Errorf("data = %s, want %s", got.Data, want)
			}
		})
	}
}

func BenchmarkDefault1KiB(b *testing.B) {
	data := make([]byte, 0, 1024)
	data = append(data, `{"pad":"`...)
	for len(data) < 1020 {
		data = append(data, 'x')
	}
	data = append(data, `"}`...)
	ev := &hook.Event{ID: "evt_01jc0000000000000000000000", Type: "order.created", Data: data, CreatedAt: time.Now()}
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = AppendDefault(buf[:0], ev)
	}
}
