package api

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"sync"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"
)

// The body budget bounds the request body bytes this node holds at once,
// all requests together (Config.MaxInflightBodyBytes): one body is bounded
// by its route's limit, but without a budget many at once are not, and
// each byte of a body costs a few more in memory while it is parsed and
// stored. A request reserves its body's bytes before the body is read,
// once it is authenticated (so that a client without a key reserves
// nothing), and holds them until its handler has answered. Its
// Content-Length is reserved, or, for a body of unknown length (chunked),
// the route's limit, of which what the body did not use is released once
// it has been read. A request that does not fit is answered 503 with
// Retry-After, its body unread.

// DefaultInflightBodyFactor sets Config.MaxInflightBodyBytes when it is 0:
// this many times the largest body a route accepts (the batch route's),
// 32 MiB with the default 1 MiB body limit. Measured on the batch route,
// a body costs about 8 times its size in memory at its peak (15 MB
// batches: about 120 MiB of RSS each), so 32 MiB of bodies in flight is
// about 250 MiB: two maximal batches at once, or 32 maximal events, or
// thousands of ordinary ones.
const DefaultInflightBodyFactor = 2

// bodyBudgetRetryAfter is the Retry-After of a request refused by the body
// budget, in seconds: the bodies in flight are being handled now.
const bodyBudgetRetryAfter = 1

// bodyBudget counts the body bytes reserved, up to max.
type bodyBudget struct {
	max int64

	mu   sync.Mutex
	used int64

	inFlight prometheus.Gauge   // bytes reserved
	refused  prometheus.Counter // requests refused
}

func newBodyBudget(max int64) *bodyBudget {
	return &bodyBudget{
		max: max,
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "hookd_api_body_bytes_in_flight",
			Help: "Request body bytes reserved by requests in flight (HOOKD_MAX_INFLIGHT_BODY_BYTES bounds it).",
		}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "hookd_api_body_budget_refused_total",
			Help: "Requests answered 503 because the request bodies in flight held the whole HOOKD_MAX_INFLIGHT_BODY_BYTES.",
		}),
	}
}

// register adds the budget's metrics to reg (nil: none).
func (b *bodyBudget) register(reg prometheus.Registerer) error {
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{b.inFlight, b.refused} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}

// reserve takes n bytes of the budget, or nothing and false if they do not
// fit.
func (b *bodyBudget) reserve(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.max-b.used {
		b.refused.Inc()
		return false
	}
	b.used += n
	b.inFlight.Set(float64(b.used))
	return true
}

// release gives n reserved bytes back.
func (b *bodyBudget) release(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.used -= n
	b.inFlight.Set(float64(b.used))
}

// budgetMiddleware reserves a request's body bytes in the body budget
// before its body is read, and releases them when the handler is done; a
// request that does not fit is answered 503 with Retry-After.
func (s *server) budgetMiddleware(ctx huma.Context, next func(huma.Context)) {
	r, _ := humago.Unwrap(ctx)
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		next(ctx)
		return
	}
	// huma reads at most one byte more than the limit (see operation).
	limit := s.bodyLimit(ctx) + 1
	n := min(r.ContentLength, limit)
	if r.ContentLength < 0 {
		n = limit // unknown length: the most it can be, until it is read
	}
	if !s.budget.reserve(n) {
		ctx.SetHeader("Retry-After", strconv.Itoa(bodyBudgetRetryAfter))
		s.writeErr(ctx, http.StatusServiceUnavailable,
			"this node is busy: the request bodies it is handling hold its budget of "+
				strconv.FormatInt(s.budget.max, 10)+" bytes (HOOKD_MAX_INFLIGHT_BODY_BYTES); retry in "+
				strconv.Itoa(bodyBudgetRetryAfter)+" s")
		return
	}
	body := &budgetedBody{ReadCloser: r.Body, budget: s.budget, held: n, sized: r.ContentLength >= 0}
	r.Body = body
	defer body.releaseAll()
	next(ctx)
}

// budgetedBody is a request body holding bytes of the body budget. A body
// of unknown length gives back what it did not use once it reaches its
// end.
type budgetedBody struct {
	io.ReadCloser
	budget *bodyBudget
	held   int64 // bytes reserved
	sized  bool  // the length was known: held is exact
	read   int64
}

func (b *budgetedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.read += int64(n)
	if errors.Is(err, io.EOF) && !b.sized && b.read < b.held {
		b.budget.release(b.held - b.read)
		b.held = b.read
	}
	return n, err
}

// releaseAll gives back every byte still held (the handler is done).
func (b *budgetedBody) releaseAll() {
	b.budget.release(b.held)
	b.held = 0
}
