package store

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

func TestLatencyHistogram(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		d    time.Duration
		want int
	}{
		{0, 0}, {999 * time.Microsecond, 0}, {time.Millisecond, 1}, {1189 * time.Microsecond, 1},
		{1190 * time.Microsecond, 2}, {2 * time.Millisecond, 5}, {1000 * 24 * time.Hour, LatencyBuckets - 1},
	} {
		if got := LatencyBucket(c.d); got != c.want {
			t.Errorf("LatencyBucket(%v) = %d, want %d", c.d, got, c.want)
		}
	}
	var h LatencyHistogram
	for _, ms := range []int{3, 300, 300, 70000} {
		h = h.Observe(time.Duration(ms) * time.Millisecond)
	}
	b, _ := h.MarshalBinary()
	if got := UnmarshalLatencyHistogram(b); !reflect.DeepEqual(got, h) {
		t.Fatalf("round trip: got %v, want %v", got, h)
	}
	if got := h.Add(h).Total(); got != 8 {
		t.Fatalf("Add: total %d, want 8", got)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.25, 3 * time.Millisecond}, {0.5, 300 * time.Millisecond}, {0.75, 300 * time.Millisecond}, {0.99, 70 * time.Second}} {
		got := h.Quantile(c.q)
		if got == nil || math.Abs(float64(*got-c.want))/float64(c.want) > LatencyRelativeError {
			t.Errorf("Quantile(%v) = %v, want %v within %v", c.q, got, c.want, LatencyRelativeError)
		}
	}
	if LatencyHistogram(nil).Quantile(0.5) != nil {
		t.Fatal("Quantile of an empty histogram is not nil")
	}
}

func TestMergeRollups(t *testing.T) {
	t.Parallel()
	t0 := time.UnixMilli(1_700_000_040_000).UTC() // a minute's start
	at := func(d time.Duration, status int, kind string) *hook.Attempt {
		return &hook.Attempt{StartedAt: t0.Add(d), ResponseStatus: status, ErrorKind: kind, Error: kind}
	}
	rs := []AttemptRollup{
		NewAttemptRollup("app", "ep", at(10*time.Second, 500, "status"), 5, hook.DeliveryPending, t0),
		NewAttemptRollup("app", "ep", at(30*time.Second, 200, ""), 5, hook.DeliverySucceeded, t0),
		// Recorded last but started first: it does not become the last.
		NewAttemptRollup("app", "ep", at(20*time.Second, 0, "timeout"), 5, hook.DeliveryFailed, t0),
		NewAttemptRollup("app", "ep2", at(time.Minute, 503, "status"), 5, hook.DeliveryPending, t0),
	}
	m := MergeRollups(rs)
	if len(m) != 2 {
		t.Fatalf("%d rows, want 2: %+v", len(m), m)
	}
	r := m[0]
	if r.Minute != t0.UnixMilli() || r.Succeeded != 1 || r.FailedAttempts != 2 || r.Exhausted != 1 || r.Latency.Total() != 1 {
		t.Fatalf("ep: %+v", r)
	}
	if !r.LastOK || r.LastStatus != 200 || r.LastAt != t0.Add(30*time.Second).UnixMilli() {
		t.Fatalf("ep last attempt: %+v", r)
	}
	if m[1].Minute != t0.Add(time.Minute).UnixMilli() || m[1].LastOK || m[1].LastStatus != 503 {
		t.Fatalf("ep2: %+v", m[1])
	}
	a := MergeAppRollups(rs)
	if len(a) != 2 || a[0].Succeeded != 1 || a[0].FailedAttempts != 2 || a[1].FailedAttempts != 1 || a[0].EndpointID != "" {
		t.Fatalf("app rollups: %+v", a)
	}
	// Latency: from the delivery's creation to the end of the attempt.
	if q := m[0].Latency.Quantile(1); q == nil || math.Abs(float64(*q-30005*time.Millisecond))/float64(30005*time.Millisecond) > LatencyRelativeError {
		t.Fatalf("latency %v, want about 30.005s", q)
	}
}

func TestStatsBucketCount(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	p := &StatsParams{Since: t0.Add(7 * time.Minute), Until: t0.Add(31 * time.Minute), Bucket: 15 * time.Minute}
	n, start := p.BucketCount()
	if n != 3 || !start.Equal(t0) {
		t.Fatalf("BucketCount = %d, %v; want 3 from %v", n, start, t0)
	}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestCollectSeqPage(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		rows, limit, want int
		cursor            bool
	}{{0, 3, 0, false}, {3, 3, 3, false}, {4, 3, 3, true}, {2, 3, 2, false}} {
		seqs := []int64{40, 30, 20, 10}[:tc.rows]
		i := -1
		page, err := CollectSeqPage(tc.limit, func() bool { i++; return i < len(seqs) },
			func() (int64, int64, error) { return seqs[i], seqs[i], nil })
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != tc.want || (page.NextCursor != "") != tc.cursor {
			t.Fatalf("%d rows, limit %d: %d items, cursor %q", tc.rows, tc.limit, len(page.Data), page.NextCursor)
		}
		if tc.cursor && page.NextCursor != EncodeSeqCursor(seqs[tc.limit-1]) {
			t.Fatalf("cursor %q, want the seq of the last item", page.NextCursor)
		}
	}
}
