package store

import (
	"encoding/binary"
	"math"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// Delivery statistics (Stats) are read from rollups, not from the
// attempts: each backend keeps one row per (endpoint, minute), and one per
// (app, minute) without the last attempt, written in the transactions that
// record attempts (one upsert per endpoint and minute, and one per app and
// minute, per group-commit batch), with
//
//   - succeeded: deliveries that reached succeeded in that minute;
//   - failed attempts: attempts that failed (any trigger);
//   - exhausted: deliveries that reached failed in that minute (their
//     schedule ran out, or a manual retry failed);
//   - a LatencyHistogram of the delivery latency of the succeeded ones:
//     from the delivery's creation (for a fan-out delivery, the event's
//     creation) to the end of its successful attempt;
//   - the minute's last attempt (its outcome, status, error), from which
//     the failing endpoints are found.
//
// An attempt is counted in the minute its request started, and only when
// its delivery was updated (the recording owner still held the lease).

// StatsMaxBuckets bounds how many buckets one Stats call answers.
const StatsMaxBuckets = 1500

// StatsMaxTroubled bounds Stats.Troubled.
const StatsMaxTroubled = 20

// StatsParams asks for the delivery statistics of [Since, Until) in
// buckets of Bucket (a whole number of minutes), of one app (AppID, or
// every app when ""), optionally of one endpoint (EndpointID, an id of
// AppID's). The buckets start at Since truncated to a multiple of Bucket
// (counted from the Unix epoch) and at most StatsMaxBuckets are answered:
// more is EInvalid ("bucket"), as are a Bucket that is not a whole positive
// number of minutes, and Until not after Since ("until"). Now is the time
// the backlog's due_now is counted at.
type StatsParams struct {
	AppID      string
	EndpointID string
	Since      time.Time
	Until      time.Time
	Bucket     time.Duration
	Now        time.Time
}

// Stats is what Stats found.
type Stats struct {
	// Buckets holds every bucket of the window, oldest first, empty ones
	// too.
	Buckets []StatsBucket
	Backlog Backlog
	// Troubled lists, at most StatsMaxTroubled, the endpoints of the
	// scope that are disabled, circuit-open (CircuitOpenUntil after
	// StatsParams.Now) or failing (their last attempt failed), disabled
	// ones first, then circuit-open ones, then by their last attempt,
	// newest first.
	Troubled []TroubledEndpoint
}

// StatsBucket is one bucket's counts. P50 and P99 estimate the delivery
// latency quantiles of the bucket's succeeded deliveries from their
// LatencyHistogram (within LatencyRelativeError); nil when none succeeded.
type StatsBucket struct {
	Start          time.Time
	Succeeded      int64
	FailedAttempts int64
	Exhausted      int64
	P50            *time.Duration
	P99            *time.Duration
}

// Backlog counts the scope's pending deliveries (paused ones of disabled
// endpoints included), and those of them due at StatsParams.Now (not
// paused, next attempt at or before Now, leased ones included).
type Backlog struct {
	Pending int64
	DueNow  int64
}

// Troubled endpoint states.
const (
	EndpointStateDisabled    = "disabled"
	EndpointStateCircuitOpen = "circuit_open"
	EndpointStateFailing     = "failing"
)

// TroubledEndpoint is an endpoint that is disabled, circuit-open, or whose
// last attempt failed, with that attempt (when the rollups still hold one) and its next
// scheduled attempt.
type TroubledEndpoint struct {
	EndpointID  string
	EndpointUID string
	AppID       string
	URL         string
	// State is EndpointStateDisabled, EndpointStateCircuitOpen (not
	// disabled, its circuit open at StatsParams.Now) or
	// EndpointStateFailing.
	State string
	// CircuitOpenUntil is the endpoint's circuit's end when it is open at
	// StatsParams.Now (whatever State), else nil.
	CircuitOpenUntil *time.Time
	// LastAttemptAt is nil when no attempt is known (kept no longer than
	// the rollups are).
	LastAttemptAt      *time.Time
	LastResponseStatus int
	LastErrorKind      string
	LastError          string
	// NextAttemptAt is the earliest next attempt of the endpoint's
	// pending deliveries; nil when none is pending or it is disabled.
	NextAttemptAt *time.Time
}

// TroubledState is the State of a troubled endpoint: disabled, else
// circuit-open when circuitOpenUntil is set (the backend sets it only while
// open), else failing.
func TroubledState(disabled bool, circuitOpenUntil *time.Time) string {
	switch {
	case disabled:
		return EndpointStateDisabled
	case circuitOpenUntil != nil:
		return EndpointStateCircuitOpen
	default:
		return EndpointStateFailing
	}
}

// BucketCount returns how many buckets p asks for, and the first one's
// start.
func (p *StatsParams) BucketCount() (int, time.Time) {
	if p.Bucket <= 0 || !p.Until.After(p.Since) {
		return 0, time.Time{}
	}
	b := p.Bucket.Milliseconds()
	since := p.Since.UnixMilli()
	start := since - mod(since, b)
	n := (p.Until.UnixMilli() - start + b - 1) / b
	if n > StatsMaxBuckets {
		return StatsMaxBuckets + 1, time.UnixMilli(start).UTC()
	}
	return int(n), time.UnixMilli(start).UTC()
}

func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// Validate checks p as Stats does.
func (p *StatsParams) Validate() error {
	if p.Bucket <= 0 || p.Bucket%time.Minute != 0 {
		return hook.Errorf(hook.EInvalid, "bucket", "must be a whole number of minutes, at least 1m")
	}
	if !p.Until.After(p.Since) {
		return hook.Errorf(hook.EInvalid, "until", "must be after since")
	}
	if n, _ := p.BucketCount(); n > StatsMaxBuckets {
		return hook.Errorf(hook.EInvalid, "bucket", "gives more than %d buckets from since to until; take a larger bucket", StatsMaxBuckets)
	}
	return nil
}

// StatsFolder adds rollup rows into a window's buckets: backends read
// their rows of the window and hand each to Add.
type StatsFolder struct {
	start  int64 // ms
	bucket int64 // ms
	counts []StatsBucket
	hists  []LatencyHistogram
}

// NewStatsFolder prepares the buckets of p (which Validate accepted).
func NewStatsFolder(p *StatsParams) *StatsFolder {
	n, start := p.BucketCount()
	f := &StatsFolder{start: start.UnixMilli(), bucket: p.Bucket.Milliseconds(),
		counts: make([]StatsBucket, n), hists: make([]LatencyHistogram, n)}
	for i := range f.counts {
		f.counts[i].Start = time.UnixMilli(f.start + int64(i)*f.bucket).UTC()
	}
	return f
}

// Add adds one rollup row: the minute starting at minute (Unix ms).
func (f *StatsFolder) Add(minute, succeeded, failedAttempts, exhausted int64, hist LatencyHistogram) {
	i := (minute - f.start) / f.bucket
	if minute < f.start || i >= int64(len(f.counts)) {
		return
	}
	c := &f.counts[i]
	c.Succeeded += succeeded
	c.FailedAttempts += failedAttempts
	c.Exhausted += exhausted
	f.hists[i] = f.hists[i].Add(hist)
}

// Buckets returns the buckets with their quantiles.
func (f *StatsFolder) Buckets() []StatsBucket {
	for i := range f.counts {
		f.counts[i].P50 = f.hists[i].Quantile(0.50)
		f.counts[i].P99 = f.hists[i].Quantile(0.99)
	}
	return f.counts
}

// LatencyHistogram counts latencies in fixed logarithmic buckets: bucket 0
// holds those under 1 ms, bucket i ≥ 1 those in [2^((i-1)/4), 2^(i/4)) ms,
// the last one everything above. Element i is bucket i's count; trailing
// empty buckets are left out, so a nil histogram is an empty one.
type LatencyHistogram []int64

// LatencyBuckets is how many buckets a LatencyHistogram has at most (the
// last one starts at about 41 days).
const LatencyBuckets = 128

// LatencyRelativeError bounds the relative error of a quantile that
// falls in a bucket above 1 ms: the estimate is the bucket's geometric
// middle, within a factor 2^(1/8) of any value in it.
const LatencyRelativeError = 0.0906

// LatencyBucket returns the bucket of a latency.
func LatencyBucket(d time.Duration) int {
	msf := float64(d) / float64(time.Millisecond)
	if msf < 1 {
		return 0
	}
	i := 1 + int(math.Floor(4*math.Log2(msf)))
	return min(i, LatencyBuckets-1)
}

// Observe returns h with one more latency counted.
func (h LatencyHistogram) Observe(d time.Duration) LatencyHistogram {
	i := LatencyBucket(d)
	for len(h) <= i {
		h = append(h, 0)
	}
	h[i]++
	return h
}

// Add returns h with o's counts added.
func (h LatencyHistogram) Add(o LatencyHistogram) LatencyHistogram {
	for len(h) < len(o) {
		h = append(h, 0)
	}
	for i, n := range o {
		h[i] += n
	}
	return h
}

// Total is how many latencies h counts.
func (h LatencyHistogram) Total() int64 {
	var t int64
	for _, n := range h {
		t += n
	}
	return t
}

// Quantile estimates the q quantile (0 < q ≤ 1): the geometric middle of
// the bucket holding the value of rank ceil(q·total) (0.5 ms for bucket
// 0). It is nil for an empty histogram.
func (h LatencyHistogram) Quantile(q float64) *time.Duration {
	total := h.Total()
	if total == 0 {
		return nil
	}
	rank := max(int64(math.Ceil(q*float64(total))), 1)
	var seen int64
	for i, n := range h {
		seen += n
		if seen >= rank {
			var d time.Duration
			if i == 0 {
				d = time.Millisecond / 2
			} else {
				d = time.Duration(math.Pow(2, (float64(i)-0.5)/4) * float64(time.Millisecond))
			}
			return &d
		}
	}
	return nil // not reached
}

// MarshalBinary encodes h compactly: its counts as unsigned varints.
func (h LatencyHistogram) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, len(h))
	for _, n := range h {
		b = binary.AppendUvarint(b, uint64(n))
	}
	return b, nil
}

// UnmarshalLatencyHistogram decodes MarshalBinary's encoding; what it
// cannot read ends the histogram.
func UnmarshalLatencyHistogram(b []byte) LatencyHistogram {
	var h LatencyHistogram
	for len(b) > 0 && len(h) < LatencyBuckets {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			break
		}
		h = append(h, int64(n))
		b = b[k:]
	}
	return h
}

// AttemptRollup is what one recorded attempt adds to its (app, endpoint,
// minute) rollup row. Backends build one per attempt whose delivery they
// updated and merge them by key before writing (MergeRollups).
type AttemptRollup struct {
	AppID      string
	EndpointID string
	// Minute is the attempt's start truncated to the minute, Unix ms.
	Minute         int64
	Succeeded      int64
	FailedAttempts int64
	Exhausted      int64
	Latency        LatencyHistogram
	// The last attempt (by start time, then by order recorded).
	LastAt      int64 // Unix ms
	LastOK      bool
	LastStatus  int
	LastKind    string
	LastMessage string
}

// NewAttemptRollup computes an attempt's contribution: a is the attempt,
// status the delivery status it decided, created the delivery's creation.
func NewAttemptRollup(appID, endpointID string, a *hook.Attempt, durationMS int64, status string, created time.Time) AttemptRollup {
	started := a.StartedAt.UnixMilli()
	r := AttemptRollup{AppID: appID, EndpointID: endpointID, Minute: started - mod(started, 60_000),
		LastAt: started, LastStatus: a.ResponseStatus, LastKind: a.ErrorKind, LastMessage: a.Error}
	switch status {
	case hook.DeliverySucceeded:
		r.Succeeded, r.LastOK = 1, true
		end := a.StartedAt.Add(time.Duration(durationMS) * time.Millisecond)
		r.Latency = r.Latency.Observe(max(end.Sub(created), 0))
	case hook.DeliveryFailed:
		r.FailedAttempts, r.Exhausted = 1, 1
	default:
		r.FailedAttempts = 1
	}
	return r
}

// MergeRollups merges rollups of the same (endpoint, minute), in the order
// given (a later attempt's last-attempt fields win unless it started
// earlier), and returns one per key in first-seen order.
func MergeRollups(rs []AttemptRollup) []AttemptRollup {
	return mergeRollups(rs, func(r AttemptRollup) (string, AttemptRollup) { return r.EndpointID, r }, true)
}

// MergeAppRollups merges rollups by (app, minute), for the per-app
// rollups: the counts and latencies; EndpointID and the last-attempt
// fields are left empty.
func MergeAppRollups(rs []AttemptRollup) []AttemptRollup {
	return mergeRollups(rs, func(r AttemptRollup) (string, AttemptRollup) {
		return r.AppID, AttemptRollup{AppID: r.AppID, Minute: r.Minute, Succeeded: r.Succeeded,
			FailedAttempts: r.FailedAttempts, Exhausted: r.Exhausted, Latency: r.Latency}
	}, false)
}

// mergeRollups merges rs by (owner, minute), where keep gives a rollup's
// owner and the part of it that is kept; with last, the last-attempt
// fields of the latest attempt win. One rollup per key, in first-seen
// order; the latencies of rs are not modified.
func mergeRollups(rs []AttemptRollup, keep func(AttemptRollup) (string, AttemptRollup), last bool) []AttemptRollup {
	type key struct {
		owner  string
		minute int64
	}
	idx := make(map[key]int, len(rs))
	out := make([]AttemptRollup, 0, len(rs))
	for _, r := range rs {
		owner, kept := keep(r)
		k := key{owner, r.Minute}
		i, ok := idx[k]
		if !ok {
			idx[k] = len(out)
			kept.Latency = append(LatencyHistogram(nil), kept.Latency...)
			out = append(out, kept)
			continue
		}
		m := &out[i]
		m.Succeeded += r.Succeeded
		m.FailedAttempts += r.FailedAttempts
		m.Exhausted += r.Exhausted
		m.Latency = m.Latency.Add(r.Latency)
		if last && r.LastAt >= m.LastAt {
			m.LastAt, m.LastOK, m.LastStatus, m.LastKind, m.LastMessage = r.LastAt, r.LastOK, r.LastStatus, r.LastKind, r.LastMessage
		}
	}
	return out
}
