package main

// The client side: creating the app and endpoints, publishing events (one
// per request or in batches), as fast as possible or at a fixed rate.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// errNoBatchRoute says the hookd has no batch ingest route.
var errNoBatchRoute = errors.New("this hookd has no batch ingest route (POST /v1/apps/{app}/events/batch)")

// publisher POSTs numbered events ("<run>-<seq>") to hookd's nodes in turn.
type publisher struct {
	client  *http.Client
	bases   []string
	app     string
	key     string
	run     string // the ids' prefix, unique per run (ids are idempotency keys)
	data    []byte // each event's data
	batch   int    // events per request; 1: the single-event route
	limit   int64  // publish at most this many events; 0: no limit
	tracker *tracker

	seq      atomic.Int64 // events handed out
	accepted atomic.Int64
	failed   atomic.Int64 // events whose request failed
	fatal    atomic.Pointer[error]
	lastErr  atomic.Pointer[string]
}

func newPublisher(client *http.Client, bases []string, app, key string, data []byte, batch int) *publisher {
	return &publisher{client: client, bases: bases, app: app, key: key, data: data, batch: batch,
		run: "b" + strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// event appends the JSON of event seq to b.
func (p *publisher) event(b []byte, seq int64) []byte {
	b = append(b, `{"id":"`...)
	b = append(b, p.run...)
	b = append(b, '-')
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, `","type":"order.created","data":`...)
	b = append(b, p.data...)
	return append(b, '}')
}

// next takes the numbers of the next n events, fewer (or none) near limit.
func (p *publisher) next(n int) (first int64, count int) {
	end := p.seq.Add(int64(n))
	first = end - int64(n)
	if p.limit > 0 && end > p.limit {
		n = int(max(p.limit-first, 0))
	}
	return first, n
}

// publish sends one request: one event, or p.batch of them. It reports
// false once there is nothing more to publish (limit reached, or a fatal
// error). Requests are not cancelled when the run ends: they finish.
func (p *publisher) publish() bool {
	if p.fatal.Load() != nil {
		return false
	}
	first, n := p.next(p.batch)
	if n == 0 {
		return false
	}
	var body []byte
	path := "/v1/apps/" + p.app + "/events"
	if p.batch == 1 {
		body = p.event(make([]byte, 0, len(p.data)+96), first)
	} else {
		path += "/batch"
		body = make([]byte, 0, n*(len(p.data)+96)+16)
		body = append(body, `{"events":[`...)
		for i := range n {
			if i > 0 {
				body = append(body, ',')
			}
			body = p.event(body, first+int64(i))
		}
		body = append(body, "]}"...)
	}
	base := p.bases[int(first/int64(p.batch))%len(p.bases)]
	req, _ := http.NewRequest("POST", base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+p.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		p.failed.Add(int64(n))
		s := err.Error()
		p.lastErr.Store(&s)
		return true
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		if p.batch > 1 && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusMethodNotAllowed) {
			err := fmt.Errorf("%w: %d %s", errNoBatchRoute, resp.StatusCode, bytes.TrimSpace(rb))
			p.fatal.CompareAndSwap(nil, &err)
			return false
		}
		p.failed.Add(int64(n))
		s := fmt.Sprintf("%d %s", resp.StatusCode, bytes.TrimSpace(rb))
		p.lastErr.Store(&s)
		return true
	}
	now := time.Now()
	p.accepted.Add(int64(n))
	if p.tracker != nil {
		for i := range n {
			p.tracker.accepted(first+int64(i), now)
		}
	}
	return true
}

// err is the error that stopped publishing, if any.
func (p *publisher) err() error {
	if e := p.fatal.Load(); e != nil {
		return *e
	}
	return nil
}

// lastError is the last failed request's error or answer, "" if none.
func (p *publisher) lastError() string {
	if s := p.lastErr.Load(); s != nil {
		return *s
	}
	return ""
}

// drive publishes until ctx ends (or publish says there is no more), and
// wait waits for the requests in flight:
// with rate 0, conns requests at a time back to back (closed loop);
// otherwise rate events per second (open loop: requests go out on time
// whatever the answers do, up to conns*4 in flight).
func (p *publisher) drive(ctx context.Context, conns, rate int) (wait func()) {
	var wg sync.WaitGroup
	if rate <= 0 {
		for range conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil && p.publish() {
				}
			}()
		}
		return wg.Wait
	}
	reqRate := float64(rate) / float64(p.batch)
	sem := make(chan struct{}, conns*4)
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		var sent int64
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			due := int64(time.Since(start).Seconds() * reqRate)
			for ; sent < due; sent++ {
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					p.publish()
				}()
			}
		}
	}()
	return wg.Wait
}

// setup creates an app and n endpoints on the receiver (/hook/0 to
// /hook/n-1) and returns the app's id.
func setup(client *http.Client, base, key, recvURL string, n int) (string, error) {
	var app struct{ ID string }
	if err := call(client, base, key, "POST", "/v1/apps", map[string]any{"name": "bench"}, &app); err != nil {
		return "", err
	}
	for i := range n {
		var ep struct{ ID string }
		if err := call(client, base, key, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": fmt.Sprintf("%s/%d", recvURL, i)}, &ep); err != nil {
			return "", err
		}
	}
	return app.ID, nil
}

func call(client *http.Client, base, key, method, path string, body, out any) error {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest(method, base+path, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(rb)))
	}
	return json.Unmarshal(rb, out)
}

// payload is an event's data of about size bytes.
func payload(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"order":{"id":"ord_1001","currency":"EUR","total":4200},"pad":"`)
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

// bodyLimit is the request body limit hookd needs for batches of n
// events of this data.
func bodyLimit(n int, data []byte) int64 {
	return min(max(int64(n*(len(data)+128)+4096), 1<<20), 64<<20)
}
