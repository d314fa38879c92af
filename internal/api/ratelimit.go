package api

import (
	"container/list"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
)

// maxBuckets bounds each limiter's memory. Buckets idle long enough to be
// full again are dropped as they fall due (forgetting them changes
// nothing), so only a flood of distinct keys or addresses reaches this;
// then the longest idle bucket goes.
const maxBuckets = 1 << 16

// limiter is a set of token buckets, one per key (an API key's id, a
// client address), kept in memory on this node. A bucket holds up to burst
// tokens and gains rate tokens per second; a request takes one.
type limiter struct {
	rate  float64 // tokens per second, > 0
	burst float64 // >= 1
	// full is how long an empty bucket takes to fill: a bucket untouched
	// for that long is full, the same as a new one.
	full time.Duration
	now  func() time.Time

	mu  sync.Mutex
	lru list.List // of *bucket, most recently touched first
	m   map[string]*list.Element
	max int
}

type bucket struct {
	key    string
	tokens float64
	last   time.Time
}

func newLimiter(rate, burst float64, now func() time.Time) *limiter {
	full := time.Duration(math.MaxInt64)
	if secs := burst / rate; secs < float64(math.MaxInt64/int64(time.Second)) {
		full = time.Duration(secs * float64(time.Second))
	}
	return &limiter{rate: rate, burst: burst, full: full, now: now, m: make(map[string]*list.Element), max: maxBuckets}
}

// take takes a token from key's bucket. When there is none it takes
// nothing and returns false with the wait until there is one.
func (l *limiter) take(key string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evict(now)
	b := l.touch(key, now)
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return l.until(b.tokens), false
}

// wait returns how long until key's bucket has a token (0: it has one now),
// taking nothing.
func (l *limiter) wait(key string) time.Duration {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evict(now)
	e, ok := l.m[key]
	if !ok {
		return 0 // a new bucket is full
	}
	b := e.Value.(*bucket)
	if t := l.refilled(b, now); t < 1 {
		return l.until(t)
	}
	return 0
}

// len counts the buckets kept.
func (l *limiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// refilled is b's level at now.
func (l *limiter) refilled(b *bucket, now time.Time) float64 {
	if d := now.Sub(b.last); d > 0 {
		return min(l.burst, b.tokens+d.Seconds()*l.rate)
	}
	return b.tokens
}

// until is the wait before a bucket at level tokens (< 1) has one.
func (l *limiter) until(tokens float64) time.Duration {
	secs := (1 - tokens) / l.rate
	if secs >= float64(math.MaxInt64/int64(time.Second)) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(math.Ceil(secs * float64(time.Second)))
}

// touch returns key's bucket, refilled to now and moved to the front,
// making a full one if there is none.
func (l *limiter) touch(key string, now time.Time) *bucket {
	if e, ok := l.m[key]; ok {
		b := e.Value.(*bucket)
		b.tokens = l.refilled(b, now)
		if now.After(b.last) {
			b.last = now
		}
		l.lru.MoveToFront(e)
		return b
	}
	if len(l.m) >= l.max {
		l.remove(l.lru.Back())
	}
	b := &bucket{key: key, tokens: l.burst, last: now}
	l.m[key] = l.lru.PushFront(b)
	return b
}

// evict drops the buckets untouched for long enough to be full. The list
// is in order of last touch, so they are all at its back.
func (l *limiter) evict(now time.Time) {
	for e := l.lru.Back(); e != nil; e = l.lru.Back() {
		if now.Sub(e.Value.(*bucket).last) < l.full {
			return
		}
		l.remove(e)
	}
}

func (l *limiter) remove(e *list.Element) {
	delete(l.m, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// clientAddr is the key of a request's client for the failed-auth limit:
// its IP address, or for IPv6 its /64 (what one host usually holds). It is
// the peer's address: behind a proxy, the proxy's.
func clientAddr(remote string) string {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// tooManyRequests answers 429 with Retry-After: wait in whole seconds,
// rounded up, at least 1.
func (s *server) tooManyRequests(ctx huma.Context, wait time.Duration, detail string) {
	secs := int64(math.Ceil(wait.Seconds()))
	if secs < 1 || wait < 0 {
		secs = 1
	}
	ctx.SetHeader("Retry-After", strconv.FormatInt(secs, 10))
	s.writeErr(ctx, http.StatusTooManyRequests, detail+"; retry in "+strconv.FormatInt(secs, 10)+" s")
}
