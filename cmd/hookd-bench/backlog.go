package main

// The backlog scenario: -backlog deliveries queued for an endpoint that
// is down, then it recovers and hookd drains them.

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/hook"
)

// backlogRetries is the retry schedule of the backlog's hookd: the few
// deliveries that fail while the endpoint is down (the attempts before
// its circuit opens, and the probes) come back within a second of the
// recovery instead of after hookd's default 5s, 5m, 30m, ...; 20 of them
// so that none runs out of attempts while the circuit is open.
var backlogRetries = func() hook.RetrySchedule {
	s := make(hook.RetrySchedule, 20)
	for i := range s {
		s[i] = time.Second
	}
	return s
}()

// rssSampler samples the hookd's RSS every 200ms, keeping the peak of
// each phase and one sample a second.
type rssSampler struct {
	h     *hookdUnderTest
	phase atomic.Int32 // 0 fill, 1 drain
	mu    sync.Mutex
	peak  [2]int64
	last  int64
	every [][2]float64
	stop  chan struct{}
	done  chan struct{}
}

func startSampler(h *hookdUnderTest) *rssSampler {
	s := &rssSampler{h: h, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		start := time.Now()
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for i := 0; ; i++ {
			rss := h.rss()
			s.mu.Lock()
			p := s.phase.Load()
			s.peak[p] = max(s.peak[p], rss)
			s.last = rss
			if i%5 == 0 {
				s.every = append(s.every, [2]float64{float64(time.Since(start).Round(100*time.Millisecond)) / 1e9, mib(rss)})
			}
			s.mu.Unlock()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) finish() { close(s.stop); <-s.done }

func runBacklog(o options) (*result, error) {
	res, data, client, err := begin(o)
	if err != nil {
		return nil, err
	}
	rc, err := startReceiver()
	if err != nil {
		return nil, err
	}
	rc.seen = newBitset(o.backlog)
	rc.mode.Store(modeDown)
	fill := o.fill
	h, err := startHookd(o, func(c *config.Config) {
		c.RetrySchedule = backlogRetries
		c.MaxBodyBytes = bodyLimit(o.batch, data)
	})
	defer rc.close() // after hookd has stopped
	if err != nil {
		return nil, err
	}
	defer h.stop()
	res.describe(h)
	if h.mode == "target" {
		res.note("-target: the target's retry schedule and breaker decide when the backlog drains")
	} else {
		res.note("the backlog's hookd retries every 1s (20 times) instead of on its default schedule, so the few deliveries that failed while the endpoint was down do not wait minutes after the recovery")
	}
	app, err := setup(client, h.bases[0], o.key, rc.url, 1)
	if err != nil {
		return nil, err
	}
	sampler := startSampler(h)

	// Fill.
	b := &backlogResult{Deliveries: o.backlog}
	var pub *publisher
	var fillStart time.Time
	var mark0 cpuMark
	for {
		batch := 1
		if fill == "batch" {
			batch = o.batch
		}
		pub = newPublisher(client, h.bases, app, o.key, data, batch)
		pub.limit = int64(o.backlog)
		progress("backlog: queueing %d deliveries (%s fill) for an endpoint answering 503", o.backlog, fill)
		fillStart, mark0 = time.Now(), h.mark()
		wait := pub.drive(context.Background(), o.conns, 0)
		ticker := time.NewTicker(10 * time.Second)
		filled := make(chan struct{})
		go func() { wait(); close(filled) }()
	loop:
		for {
			select {
			case <-filled:
				break loop
			case <-ticker.C:
				progress("backlog: %d accepted, %.0f MiB RSS", pub.accepted.Load(), mib(h.rss()))
			}
		}
		ticker.Stop()
		if err := pub.err(); err != nil {
			if fill == "batch" && errors.Is(err, errNoBatchRoute) && pub.accepted.Load() == 0 {
				res.note("%v: filled with single POSTs instead", err)
				fill = "single"
				continue
			}
			return nil, err
		}
		break
	}
	fillEnd := time.Now()
	mark1 := h.mark()
	b.Fill, b.Accepted, b.PublishErrors = fill, pub.accepted.Load(), pub.failed.Load()
	if fill == "batch" {
		b.Batch = o.batch
	}
	b.FillSec = fillEnd.Sub(fillStart).Seconds()
	b.FillEventsPerSec = float64(b.Accepted) / b.FillSec
	b.FillUsage = h.usage(fillEnd.Sub(fillStart), mark0, mark1)
	b.RejectedWhileDown = rc.rejected.Load()

	// Recovery and drain.
	rc.first.Store(0)
	rc.last.Store(0)
	count0 := rc.count.Load()
	sampler.phase.Store(1)
	recovered := time.Now()
	mark2 := h.mark()
	rc.mode.Store(modeUp)
	progress("backlog: %d accepted in %.1fs; endpoint up, draining", b.Accepted, b.FillSec)
	deadline := recovered.Add(o.drainTimeout)
	nextReport := recovered.Add(10 * time.Second)
	for rc.distinct.Load() < b.Accepted && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
		if time.Now().After(nextReport) {
			nextReport = nextReport.Add(10 * time.Second)
			progress("backlog: %d of %d delivered, %.0f MiB RSS", rc.distinct.Load(), b.Accepted, mib(h.rss()))
		}
	}
	sampler.finish()
	drainEnd := time.Now()
	mark3 := h.mark()
	b.Delivered = rc.distinct.Load()
	b.Duplicates = rc.count.Load() - count0 - b.Delivered
	b.Complete = b.Delivered >= b.Accepted
	if first, last := rc.first.Load(), rc.last.Load(); first != 0 {
		b.RecoveryToFirstSec = time.Unix(0, first).Sub(recovered).Seconds()
		b.DrainSec = time.Duration(last - first).Seconds()
		if b.DrainSec > 0 {
			b.DrainPerSec = float64(b.Delivered) / b.DrainSec
		}
	}
	b.RatioToRaw = res.ratio(b.DrainPerSec)
	b.DrainUsage = h.usage(drainEnd.Sub(recovered), mark2, mark3)
	sampler.mu.Lock()
	b.PeakRSSFillMiB, b.PeakRSSDrainMiB, b.RSSEndMiB = mib(sampler.peak[0]), mib(sampler.peak[1]), mib(sampler.last)
	b.RSSMiB = sampler.every
	sampler.mu.Unlock()
	res.Backlog = b
	return res, nil
}
