package main

// The scenarios: max (and fixed rate), batch, isolation.

import (
	"context"
	"net/http"
	"time"

	"github.com/hookd/hookd/internal/config"
)

// measureRawRate measures the raw loopback POST rate of an event of data
// on a receiver of its own, unless -raw-duration is 0.
func measureRawRate(o options, client *http.Client, data []byte) (*rawResult, error) {
	if o.rawDuration <= 0 {
		return nil, nil
	}
	rc, err := startReceiver()
	if err != nil {
		return nil, err
	}
	defer rc.close()
	body := []byte(`{"id":"evt_raw","type":"order.created","created_at":"2026-01-01T00:00:00.000Z","data":` + string(data) + `}`)
	m0, err0 := machineBusy()
	start := time.Now()
	rate := measureRaw(client, rc.url+"/0", body, o.conns, o.rawDuration)
	raw := &rawResult{PostsPerSec: rate, BodyBytes: len(body), Conns: o.conns, Seconds: o.rawDuration.Seconds()}
	if m1, err1 := machineBusy(); err0 == nil && err1 == nil && rate > 0 {
		raw.MachineCores = (m1 - m0).Seconds() / time.Since(start).Seconds()
		raw.CPUPerPostUs = raw.MachineCores / rate * 1e6
	}
	return raw, nil
}

// targetRatio is issue 6's throughput target: deliveries/s at least this
// times the raw loopback POST rate.
const targetRatio = 0.35

// perDelivery divides the window's CPU by its deliveries, and sets it
// next to what targetRatio allows on this machine.
func (r *result) perDelivery(l *loadResult) *budget {
	u := l.Usage
	n := l.DeliveriesPerSec * u.WindowSec
	if n <= 0 || u.MachineCores <= 0 || r.Raw == nil || r.Raw.PostsPerSec <= 0 {
		return nil
	}
	us := func(sec float64) float64 { return sec / n * 1e6 }
	b := &budget{
		MachineUs: us(u.MachineCores * u.WindowSec), BenchUs: us(u.BenchCPUSec), OtherUs: us(u.OtherCores * u.WindowSec),
		TargetRatio: targetRatio, Cores: r.NumCPU,
		BudgetUs: float64(r.NumCPU) / (targetRatio * r.Raw.PostsPerSec) * 1e6,
		PostsUs:  2 * r.Raw.CPUPerPostUs,
	}
	if u.HookdCPUSec != nil && !u.SameProcess {
		h := us(*u.HookdCPUSec)
		b.HookdUs = &h
	}
	return b
}

func (r *result) ratio(rate float64) float64 {
	if r.Raw == nil || r.Raw.PostsPerSec == 0 {
		return 0
	}
	return rate / r.Raw.PostsPerSec
}

func (r *result) describe(h *hookdUnderTest) {
	r.Hookd = hookdInfo{Mode: h.mode, Store: h.store, Nodes: len(h.bases)}
	switch h.mode {
	case "in-process":
		r.note("-inprocess: hookd CPU and RSS are the whole bench process's (client and receiver included)")
	case "target":
		r.note("-target: hookd's CPU and memory are not measured")
	}
}

// begin starts a scenario's run: its result, its payload, the client,
// and the raw loopback POST rate measured with them.
func begin(o options) (*result, []byte, *http.Client, error) {
	res := newResult(o)
	data := payload(o.payload)
	client := newClient(o.conns)
	raw, err := measureRawRate(o, client, data)
	if err != nil {
		return nil, nil, nil, err
	}
	res.Raw = raw
	return res, data, client, nil
}

// runLoad is the max (or fixed rate) and batch scenarios.
func runLoad(o options) (*result, error) {
	res, data, client, err := begin(o)
	if err != nil {
		return nil, err
	}
	batch := 1
	var tweak hookdSettings
	if o.scenario == "batch" {
		batch = o.batch
		tweak = func(c *config.Config) { c.MaxBodyBytes = bodyLimit(batch, data) }
	}
	l, h, err := measureLoad(o, client, data, loadSpec{endpoints: o.fanout, hang: -1, batch: batch, rate: o.rate, tweak: tweak, profile: true, writes: true})
	if err != nil {
		return nil, err
	}
	res.describe(h)
	if l.Writes == nil && h.mode != "child process" {
		res.note("writes per delivery are measured only for the hookd the bench starts as a child process")
	}
	l.RatioToRaw = res.ratio(l.DeliveriesPerSec)
	if o.rate == 0 {
		l.PerDelivery = res.perDelivery(l)
	}
	res.Load = l
	return res, nil
}

// runIsolation runs 99 healthy endpoints alone, then with a hanging one.
func runIsolation(o options) (*result, error) {
	const endpoints = 100
	res, data, client, err := begin(o)
	if err != nil {
		return nil, err
	}
	is := &isolationResult{Rate: o.rate, Endpoints: endpoints}
	tweak := func(c *config.Config) { c.AttemptTimeout = o.attemptTO }
	if o.target == "" {
		is.AttemptTimeoutSec = o.attemptTO.Seconds()
		res.note("hookd's attempt timeout is %s here (-attempt-timeout; hookd's default is 15s)", o.attemptTO)
	}
	progress("isolation: %d healthy endpoints, %s", endpoints-1, o.duration)
	is.Without, _, err = measureLoad(o, client, data, loadSpec{endpoints: endpoints - 1, hang: -1, batch: 1, rate: o.rate, tweak: tweak})
	if err != nil {
		return nil, err
	}
	progress("isolation: %d healthy endpoints and a hanging one, %s", endpoints-1, o.duration)
	var h *hookdUnderTest
	is.With, h, err = measureLoad(o, client, data, loadSpec{endpoints: endpoints, hang: endpoints - 1, batch: 1, rate: o.rate, tweak: tweak, profile: true})
	if err != nil {
		return nil, err
	}
	res.describe(h)
	if is.Without.Latency.P99Ms > 0 {
		is.P99Ratio = is.With.Latency.P99Ms / is.Without.Latency.P99Ms
	}
	res.Isolation = is
	return res, nil
}

// loadSpec is one measured run of publishing.
type loadSpec struct {
	endpoints int // created, /hook/0 to /hook/endpoints-1
	hang      int // the endpoint that hangs from the window's start; -1: none
	batch     int // events per request
	rate      int // events/s; 0: max
	tweak     hookdSettings
	profile   bool // this run takes -cpuprofile
	writes    bool // measure what hookd writes (writes.go)
}

// measureLoad starts a receiver and a hookd, publishes for -warmup and
// -duration, waits for the measured events' deliveries, and stops both.
func measureLoad(o options, client *http.Client, data []byte, spec loadSpec) (*loadResult, *hookdUnderTest, error) {
	rc, err := startReceiver()
	if err != nil {
		return nil, nil, err
	}
	tr := newTracker(o.duration, o.slices)
	rc.tracker = tr
	defer rc.close() // after hookd has stopped: no refused deliveries
	h, err := startHookd(o, spec.tweak)
	if err != nil {
		return nil, nil, err
	}
	defer h.stop()
	defer rc.stopHanging() // first: hookd's shutdown need not wait for hanging attempts
	app, err := setup(client, h.bases[0], o.key, rc.url, spec.endpoints)
	if err != nil {
		return nil, nil, err
	}
	pub := newPublisher(client, h.bases, app, o.key, data, spec.batch)
	pub.tracker = tr
	var meter *writeMeter
	if spec.writes {
		if meter = newWriteMeter(h, rc, pub, spec.endpoints, o.walFrames); meter != nil {
			meter.begin(context.Background())
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wait := pub.drive(ctx, o.conns, spec.rate)
	sleep := func(d time.Duration) error {
		for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
			if err := pub.err(); err != nil {
				return err
			}
		}
		return pub.err()
	}
	if err := sleep(o.warmup); err != nil {
		cancel()
		wait()
		return nil, nil, err
	}

	if spec.hang >= 0 {
		rc.hangEP.Store(int32(spec.hang))
	}
	var finishProfile func() error
	if spec.profile && o.cpuProfile != "" {
		if finishProfile, err = h.startProfile(o.cpuProfile, o.duration); err != nil {
			cancel()
			wait()
			return nil, nil, err
		}
	}
	delivered0, mark0, failed0 := rc.count.Load(), h.mark(), pub.failed.Load()
	start := time.Now()
	tr.begin(start)
	err = sleep(o.duration)
	end := time.Now()
	tr.finish(end)
	delivered1, mark1, failed1 := rc.count.Load(), h.mark(), pub.failed.Load()
	cancel()
	wait()
	if finishProfile != nil {
		if perr := finishProfile(); perr != nil && err == nil {
			err = perr
		}
	}
	if err != nil {
		return nil, nil, err
	}
	elapsed := end.Sub(start)

	want := spec.endpoints
	if spec.hang >= 0 {
		want--
	}
	missing := tr.waitDelivered(want, 60*time.Second)
	all, perSlice := tr.latencies()
	l := &loadResult{
		Endpoints:            spec.endpoints,
		Batch:                spec.batch,
		Rate:                 spec.rate,
		MeasuredSec:          elapsed.Seconds(),
		EventsAcceptedPerSec: float64(tr.measured.Load()) / elapsed.Seconds(),
		DeliveriesPerSec:     float64(delivered1-delivered0) / elapsed.Seconds(),
		Latency:              latencyOf(all),
		SliceSec:             tr.sliceDur.Seconds(),
		Missing:              missing,
		PublishErrors:        failed1 - failed0,
		LastPublishError:     pub.lastError(),
		HungRequests:         rc.hung.Load(),
		Usage:                h.usage(elapsed, mark0, mark1),
	}
	for _, s := range perSlice {
		l.SliceP99Ms = append(l.SliceP99Ms, ms(pct(s, 99)))
	}
	if meter != nil {
		// Last: it stops hookd's nodes.
		l.Writes = meter.end(context.Background(), 60*time.Second)
	}
	return l, h, nil
}

// cpuMark is where the CPU counters stand at one moment.
type cpuMark struct{ hookd, bench, machine time.Duration }

func (h *hookdUnderTest) mark() cpuMark {
	m, _ := machineBusy()
	return cpuMark{hookd: h.cpu(), bench: selfCPU(), machine: m}
}

// usage makes the usage figures of the window from a to b.
func (h *hookdUnderTest) usage(window time.Duration, a, b cpuMark) usage {
	w := window.Seconds()
	bench := (b.bench - a.bench).Seconds()
	u := usage{WindowSec: w, BenchCPUSec: bench, BenchCores: bench / w, SameProcess: h.mode == "in-process"}
	other := (b.machine - a.machine).Seconds() - bench
	if h.measures() {
		c := (b.hookd - a.hookd).Seconds()
		cores := c / w
		u.HookdCPUSec, u.HookdCores = &c, &cores
		for _, b := range h.peakRSS() {
			u.HookdPeakRSSMiB = append(u.HookdPeakRSSMiB, mib(b))
		}
		if h.mode == "child process" {
			other -= c
		}
	}
	if b.machine > 0 {
		u.MachineCores = (b.machine - a.machine).Seconds() / w
		u.OtherCores = max(other/w, 0)
	}
	return u
}
