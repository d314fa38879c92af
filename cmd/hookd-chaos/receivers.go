package main

import (
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/webhook"
)

// schedule says when misbehaving receivers misbehave: during every other
// window of the pour, until recoverAfter, and never after.
type schedule struct {
	recoverAfter time.Duration
	window       time.Duration
	t0           time.Time
	started      atomic.Bool
}

func (s *schedule) begin() {
	s.t0 = time.Now()
	s.started.Store(true)
}

// bad reports whether a scheduled fault is on now.
func (s *schedule) bad() bool {
	if !s.started.Load() {
		return false
	}
	e := time.Since(s.t0)
	return e < s.recoverAfter && int(e/s.window)%2 == 0
}

// receiver is one endpoint with one kind of fault.
type receiver struct {
	kind string
	srv  *httptest.Server

	mu       sync.Mutex
	verifier *webhook.Verifier
	epID     string
	requests int            // every request (and, for tls, every failed handshake)
	handled  int            // requests that reached the handler
	faults   int            // requests answered badly
	badSig   int            // requests whose signature did not verify
	badSigs  []string       // the first few of those, with why
	inWindow int            // requests during fault windows
	seen     map[string]int // webhook-id -> requests verified
	ok       map[string]int // webhook-id -> 2xx answers sent
}

// receiverKinds are the receivers newReceivers makes, one endpoint each;
// receiverClasses says how each one's deliveries must end.
var receiverKinds = []string{"healthy", "500", "429", "hang", "slow", "reset", "redirect", "tls"}

// retryAfter is the Retry-After the 429 receiver sends: hookd must wait
// exactly that long after a 429.
const retryAfter = time.Second

func newReceivers(s *schedule) []*receiver {
	var out []*receiver
	for _, k := range receiverKinds {
		r := &receiver{kind: k, seen: map[string]int{}, ok: map[string]int{}}
		h := http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) { r.serve(s, w, req) })
		if k == "tls" {
			// A self-signed certificate hookd does not trust: handshakes fail,
			// and the server logs each one, which counts it as a fault.
			r.srv = httptest.NewUnstartedServer(h)
			r.srv.Config.ErrorLog = log.New(faultCounter{r}, "", 0)
			r.srv.StartTLS()
		} else {
			r.srv = httptest.NewServer(h)
		}
		out = append(out, r)
	}
	return out
}

func (r *receiver) serve(s *schedule, w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(req.Body)
	id := req.Header.Get("webhook-id")
	r.mu.Lock()
	r.requests++
	r.handled++
	v := r.verifier
	r.mu.Unlock()
	if err == nil && v == nil {
		err = errors.New("no verifier yet")
	}
	if err == nil {
		err = v.Verify(req.Header, body)
	}
	if err != nil {
		r.mu.Lock()
		r.badSig++
		if len(r.badSigs) < 3 {
			r.badSigs = append(r.badSigs, fmt.Sprintf("webhook-id %s at %s: %v", id, time.Now().Format("15:04:05.000"), err))
		}
		r.mu.Unlock()
		w.WriteHeader(401)
		return
	}
	r.mu.Lock()
	r.seen[id]++
	r.mu.Unlock()
	fault := func() {
		r.mu.Lock()
		r.faults++
		r.mu.Unlock()
	}
	success := func() {
		r.mu.Lock()
		r.ok[id]++
		r.mu.Unlock()
	}
	// In a fault window every other request fails, so that the endpoint
	// seldom fails 5 times in a row and hookd's circuit breaker (10 s
	// cooldown) stays mostly closed: the retries then follow the schedule.
	bad := false
	if s.bad() {
		r.mu.Lock()
		r.inWindow++
		bad = r.inWindow%2 == 1
		r.mu.Unlock()
	}
	switch r.kind {
	case "500":
		if bad {
			fault()
			http.Error(w, "scheduled failure", 500)
			return
		}
	case "429":
		if bad {
			fault()
			w.Header().Set("Retry-After", strconv.Itoa(int(retryAfter/time.Second)))
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return
		}
	case "hang":
		if bad {
			fault()
			select {
			case <-req.Context().Done():
			case <-time.After(attemptTimeout + 1500*time.Millisecond):
			}
			return
		}
	case "slow":
		// Always slow, within the attempt timeout: 5 chunks 100 ms apart.
		fault()
		w.WriteHeader(200)
		fl, _ := w.(http.Flusher)
		for range 5 {
			_, _ = w.Write([]byte("ok..."))
			if fl != nil {
				fl.Flush()
			}
			time.Sleep(100 * time.Millisecond)
		}
		success()
		return
	case "reset":
		if bad {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					fault()
					_ = c.Close()
					return
				}
			}
		}
	case "redirect":
		if bad {
			fault()
			http.Redirect(w, req, "/elsewhere", http.StatusFound)
			return
		}
	}
	success()
	w.WriteHeader(204)
}

// faultCounter counts the TLS server's error log lines (failed handshakes)
// as requests answered badly.
type faultCounter struct{ r *receiver }

func (f faultCounter) Write(b []byte) (int, error) {
	f.r.mu.Lock()
	f.r.requests++
	f.r.faults++
	f.r.mu.Unlock()
	return len(b), nil
}
