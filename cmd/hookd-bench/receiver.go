package main

// The loopback receiver, the latency bookkeeping, and the raw POST rate.

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Receiver behaviours (receiver.mode).
const (
	modeUp   = iota // 204 to everything
	modeDown        // 503 to everything
)

// receiver is the endpoints' server: /hook/<i> is endpoint i. It answers
// 204 (or 503 while down), counts what it got, and tells the tracker (if
// any) of each delivery of a bench event.
type receiver struct {
	url     string // base URL; endpoint i is url + "/" + i
	srv     *http.Server
	mode    atomic.Int32
	hangEP  atomic.Int32  // endpoint that hangs until the request ends; -1: none
	release chan struct{} // closed: hanging requests end (503)
	tracker *tracker      // latency bookkeeping, or nil
	seen    *bitset       // distinct events delivered, or nil

	count    atomic.Int64 // 2xx answers
	rejected atomic.Int64 // 503 answers
	hung     atomic.Int64 // requests to the hanging endpoint
	distinct atomic.Int64 // events seen for the first time (with seen)
	// readBytes counts the bytes read from the connections hookd opened
	// to the receiver: its deliveries, headers and all.
	readBytes atomic.Int64
	first     atomic.Int64 // unix nanos of the first 2xx answer since reset
	last      atomic.Int64 // and of the last
}

func startReceiver() (*receiver, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &receiver{url: "http://" + ln.Addr().String() + "/hook", release: make(chan struct{})}
	r.hangEP.Store(-1)
	r.srv = &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = r.srv.Serve(countingListener{Listener: ln, n: &r.readBytes}) }()
	return r, nil
}

// stopHanging stops the hanging endpoint: its requests in flight end, and
// the next ones get 503 at once.
func (r *receiver) stopHanging() {
	r.hangEP.Store(-1)
	r.mode.Store(modeDown)
	close(r.release)
}

// close stops the receiver.
func (r *receiver) close() { _ = r.srv.Close() }

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	ep := -1
	if s, ok := strings.CutPrefix(req.URL.Path, "/hook/"); ok {
		if n, err := strconv.Atoi(s); err == nil {
			ep = n
		}
	}
	if h := int(r.hangEP.Load()); h >= 0 && ep == h {
		r.hung.Add(1)
		select {
		case <-req.Context().Done(): // hookd's attempt timeout cut it
		case <-r.release:
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		return
	}
	if r.mode.Load() == modeDown {
		r.rejected.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	now := time.Now()
	if seq, ok := parseSeq(req.Header.Get("webhook-id")); ok {
		if r.tracker != nil {
			r.tracker.received(seq, now)
		}
		if r.seen != nil && r.seen.set(seq) {
			r.distinct.Add(1)
		}
	}
	ns := now.UnixNano()
	r.first.CompareAndSwap(0, ns)
	for {
		l := r.last.Load()
		if ns <= l || r.last.CompareAndSwap(l, ns) {
			break
		}
	}
	r.count.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

// parseSeq reads the sequence number of a bench event id: <run>-<seq>.
func parseSeq(id string) (int64, bool) {
	i := strings.LastIndexByte(id, '-')
	if i < 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(id[i+1:], 10, 64)
	return n, err == nil && n >= 0
}

// bitset is a fixed set of small integers, safe for concurrent use.
type bitset struct{ w []atomic.Uint64 }

func newBitset(n int) *bitset { return &bitset{w: make([]atomic.Uint64, n/64+1)} }

// set adds i and reports whether it was new.
func (b *bitset) set(i int64) bool {
	if i < 0 || int(i/64) >= len(b.w) {
		return false
	}
	m := uint64(1) << (i % 64)
	return b.w[i/64].Or(m)&m == 0
}

// tracker pairs each event's 202 with its deliveries, without a map:
// events are numbered, and their slots live in lazily allocated chunks.
// A delivery that comes before the client has read its event's 202 counts
// as latency 0 (it is noted, and recorded when the 202 is).
//
// Only events accepted inside the measured window (begin to end) count;
// latencies are kept per slice of the window (by the time of the 202).
type tracker struct {
	chunks  [maxChunks]atomic.Pointer[[chunkSize]slot]
	stripes [256]sync.Mutex

	epoch    time.Time
	start    atomic.Int64 // window start, ns since epoch; 0: not yet
	end      atomic.Int64 // window end; 0: open
	sliceDur time.Duration
	nslices  int

	measured atomic.Int64 // events accepted in the window
	got      atomic.Int64 // deliveries of those events

	mu  sync.Mutex
	lat [][]time.Duration // per slice
}

const (
	chunkSize = 1 << 16
	maxChunks = 1 << 8 // 16M events tracked at most
)

type slot struct {
	t202     int64 // ns since epoch (at least 1); 0: no 202 yet
	early    int32 // deliveries that came before the 202
	measured bool
}

func newTracker(window time.Duration, nslices int) *tracker {
	return &tracker{epoch: time.Now(), sliceDur: window / time.Duration(nslices), nslices: nslices,
		lat: make([][]time.Duration, nslices)}
}

func (t *tracker) slot(seq int64) *slot {
	c := seq / chunkSize
	if seq < 0 || c >= maxChunks {
		return nil
	}
	p := t.chunks[c].Load()
	if p == nil {
		t.chunks[c].CompareAndSwap(nil, new([chunkSize]slot))
		p = t.chunks[c].Load()
	}
	return &p[seq%chunkSize]
}

func (t *tracker) since(now time.Time) int64 { return max(int64(now.Sub(t.epoch)), 1) }

// begin opens the measured window; finish closes it.
func (t *tracker) begin(now time.Time)  { t.start.Store(t.since(now)) }
func (t *tracker) finish(now time.Time) { t.end.Store(t.since(now)) }

// accepted notes the 202 of event seq.
func (t *tracker) accepted(seq int64, now time.Time) {
	s := t.slot(seq)
	if s == nil {
		return
	}
	at := t.since(now)
	start, end := t.start.Load(), t.end.Load()
	in := start != 0 && at >= start && (end == 0 || at < end)
	mu := &t.stripes[seq%int64(len(t.stripes))]
	mu.Lock()
	s.t202, s.measured = at, in
	early := s.early
	mu.Unlock()
	if !in {
		return
	}
	t.measured.Add(1)
	if early > 0 {
		t.got.Add(int64(early))
		t.record(at, make([]time.Duration, early)...)
	}
}

// received notes a delivery of event seq.
func (t *tracker) received(seq int64, now time.Time) {
	s := t.slot(seq)
	if s == nil {
		return
	}
	mu := &t.stripes[seq%int64(len(t.stripes))]
	mu.Lock()
	at, in := s.t202, s.measured
	if at == 0 {
		s.early++
	}
	mu.Unlock()
	if at != 0 && in {
		t.got.Add(1)
		t.record(at, max(time.Duration(t.since(now)-at), 0))
	}
}

func (t *tracker) record(at int64, d ...time.Duration) {
	i := int(time.Duration(at-t.start.Load()) / t.sliceDur)
	i = min(max(i, 0), t.nslices-1)
	t.mu.Lock()
	t.lat[i] = append(t.lat[i], d...)
	t.mu.Unlock()
}

// latencies returns the overall latencies, sorted, and each slice's.
func (t *tracker) latencies() (all []time.Duration, perSlice [][]time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, s := range t.lat {
		s = slices.Clone(s)
		slices.Sort(s)
		perSlice = append(perSlice, s)
		all = append(all, s...)
	}
	slices.Sort(all)
	return all, perSlice
}

// waitDelivered waits until every measured event has want deliveries (or
// timeout), and says how many are missing.
func (t *tracker) waitDelivered(want int, timeout time.Duration) int64 {
	deadline := time.Now().Add(timeout)
	for {
		missing := t.measured.Load()*int64(want) - t.got.Load()
		if missing <= 0 || time.Now().After(deadline) {
			return max(missing, 0)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 60 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
			DialContext:         countingDial,
		},
	}
}

// measureRaw is the rate at which conns connections POST body to url.
func measureRaw(client *http.Client, url string, body []byte, conns int, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				resp, err := client.Post(url, "application/json", bytes.NewReader(body))
				if err != nil {
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds()
}
