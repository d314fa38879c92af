package main

// What a run reports: one result, printed as text or as one JSON object.

import (
	"flag"
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"
)

type result struct {
	Scenario string            `json:"scenario"`
	Flags    map[string]string `json:"flags"`
	Hookd    hookdInfo         `json:"hookd"`
	// GOMAXPROCS and NumCPU of the bench process.
	GOMAXPROCS int `json:"gomaxprocs"`
	NumCPU     int `json:"num_cpu"`

	Raw       *rawResult       `json:"raw,omitempty"`
	Load      *loadResult      `json:"load,omitempty"`
	Isolation *isolationResult `json:"isolation,omitempty"`
	Backlog   *backlogResult   `json:"backlog,omitempty"`
	Notes     []string         `json:"notes,omitempty"`
}

type hookdInfo struct {
	Mode  string `json:"mode"` // child process, in-process, target
	Store string `json:"store,omitempty"`
	Nodes int    `json:"nodes"`
}

type rawResult struct {
	PostsPerSec float64 `json:"posts_per_sec"`
	BodyBytes   int     `json:"body_bytes"`
	Conns       int     `json:"conns"`
	Seconds     float64 `json:"seconds"`
	// MachineCores is what the whole machine used during the raw run,
	// and CPUPerPostUs that CPU per request: what one loopback exchange
	// (client and receiver together) costs the machine.
	MachineCores float64 `json:"machine_cores,omitempty"`
	CPUPerPostUs float64 `json:"cpu_per_post_us,omitempty"`
}

// budget is where the machine's CPU went per delivery, next to what the
// throughput target allows: the target's rate on this machine's cores
// leaves BudgetUs of machine CPU for each delivery, everything included.
type budget struct {
	MachineUs float64  `json:"machine_us"`
	HookdUs   *float64 `json:"hookd_us,omitempty"`
	BenchUs   float64  `json:"bench_us"`
	OtherUs   float64  `json:"other_us"`
	// TargetRatio is the throughput target (deliveries/s over
	// the raw rate), BudgetUs the machine CPU per delivery it allows on
	// Cores cores, and PostsUs what two raw exchanges (the event in, the
	// delivery out) cost at the raw run's efficiency.
	TargetRatio float64 `json:"target_ratio"`
	Cores       int     `json:"cores"`
	BudgetUs    float64 `json:"budget_us"`
	PostsUs     float64 `json:"two_posts_us,omitempty"`
}

type loadResult struct {
	Endpoints            int         `json:"endpoints"`
	Batch                int         `json:"batch"`
	Rate                 int         `json:"rate"` // events/s asked for; 0: max
	MeasuredSec          float64     `json:"measured_sec"`
	EventsAcceptedPerSec float64     `json:"events_accepted_per_sec"`
	DeliveriesPerSec     float64     `json:"deliveries_per_sec"`
	RatioToRaw           float64     `json:"ratio_to_raw,omitempty"`
	Latency              latencyStat `json:"latency"`
	SliceSec             float64     `json:"slice_sec"`
	SliceP99Ms           []float64   `json:"slice_p99_ms"`
	// Missing counts deliveries of measured events that had not arrived
	// 60s after publishing stopped.
	Missing          int64  `json:"missing"`
	PublishErrors    int64  `json:"publish_errors"`
	LastPublishError string `json:"last_publish_error,omitempty"`
	// HungRequests counts the requests the hanging endpoint got
	// (isolation).
	HungRequests int64 `json:"hung_requests,omitempty"`
	Usage        usage `json:"usage"`
	// PerDelivery is the CPU per delivery and the target's budget (max
	// and batch scenarios).
	PerDelivery *budget `json:"per_delivery,omitempty"`
	// Writes is what hookd wrote per delivery (max and batch scenarios,
	// hookd as child processes; see writes.go).
	Writes *writeAmp `json:"writes,omitempty"`
}

type latencyStat struct {
	Count int     `json:"count"`
	P50Ms float64 `json:"p50_ms"`
	P90Ms float64 `json:"p90_ms"`
	P99Ms float64 `json:"p99_ms"`
	MaxMs float64 `json:"max_ms"`
}

// usage is where the CPU went over a window, and hookd's memory.
type usage struct {
	WindowSec float64 `json:"window_sec"`
	// Hookd figures are absent for a -target; in-process they are the
	// whole bench process's.
	HookdCPUSec *float64 `json:"hookd_cpu_sec,omitempty"`
	HookdCores  *float64 `json:"hookd_cores,omitempty"`
	// HookdPeakRSSMiB is each node's VmHWM at the end of the run.
	HookdPeakRSSMiB []float64 `json:"hookd_peak_rss_mib,omitempty"`
	BenchCPUSec     float64   `json:"bench_cpu_sec"`
	BenchCores      float64   `json:"bench_cores"`
	// MachineCores is what the whole machine used (/proc/stat), and
	// OtherCores its part that was neither hookd nor the bench: other
	// processes, PostgreSQL among them.
	MachineCores float64 `json:"machine_cores"`
	OtherCores   float64 `json:"other_cores"`
	// SameProcess is set with -inprocess: hookd's figures and the
	// bench's are one process's.
	SameProcess bool `json:"same_process,omitempty"`
}

type isolationResult struct {
	Rate              int     `json:"rate"`
	Endpoints         int     `json:"endpoints"`
	AttemptTimeoutSec float64 `json:"attempt_timeout_sec,omitempty"`
	// Without: 99 healthy endpoints; With: the same 99 and a hanging one.
	Without *loadResult `json:"without_bad"`
	With    *loadResult `json:"with_bad"`
	// P99Ratio is the healthy endpoints' p99 with the bad one over
	// without it.
	P99Ratio float64 `json:"healthy_p99_ratio"`
}

type backlogResult struct {
	Deliveries int    `json:"deliveries"`
	Fill       string `json:"fill"` // batch or single
	Batch      int    `json:"batch,omitempty"`
	Accepted   int64  `json:"accepted"`
	// PublishErrors counts events the fill could not publish.
	PublishErrors      int64   `json:"publish_errors"`
	FillSec            float64 `json:"fill_sec"`
	FillEventsPerSec   float64 `json:"fill_events_per_sec"`
	RejectedWhileDown  int64   `json:"rejected_while_down"`
	RecoveryToFirstSec float64 `json:"recovery_to_first_sec"`
	DrainSec           float64 `json:"drain_sec"`
	DrainPerSec        float64 `json:"drain_per_sec"`
	RatioToRaw         float64 `json:"ratio_to_raw,omitempty"`
	Delivered          int64   `json:"delivered"`
	Duplicates         int64   `json:"duplicates"`
	Complete           bool    `json:"complete"`
	PeakRSSFillMiB     float64 `json:"peak_rss_fill_mib"`
	PeakRSSDrainMiB    float64 `json:"peak_rss_drain_mib"`
	RSSEndMiB          float64 `json:"rss_end_mib"`
	// RSSMiB is hookd's RSS (all nodes) once a second: [seconds since the
	// fill began, MiB].
	RSSMiB    [][2]float64 `json:"rss_mib"`
	FillUsage usage        `json:"fill_usage"`
	// DrainUsage runs from the recovery to the last delivery.
	DrainUsage usage `json:"drain_usage"`
}

func newResult(o options) *result {
	r := &result{Scenario: o.scenario, Flags: map[string]string{}, GOMAXPROCS: runtime.GOMAXPROCS(0), NumCPU: runtime.NumCPU()}
	if o.scenario == "max" && o.rate > 0 {
		r.Scenario = "rate"
	}
	flag.VisitAll(func(f *flag.Flag) { r.Flags[f.Name] = f.Value.String() })
	// The values in force where a scenario has its own default.
	r.Flags["rate"] = fmt.Sprint(o.rate)
	r.Flags["conns"] = fmt.Sprint(o.conns)
	return r
}

func (r *result) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func pct(s []time.Duration, p int) time.Duration {
	if len(s) == 0 {
		return 0
	}
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i]
}

func latencyOf(s []time.Duration) latencyStat {
	if len(s) == 0 {
		return latencyStat{}
	}
	return latencyStat{Count: len(s), P50Ms: ms(pct(s, 50)), P90Ms: ms(pct(s, 90)), P99Ms: ms(pct(s, 99)), MaxMs: ms(s[len(s)-1])}
}

// fmtMs prints milliseconds compactly: 0, 0.42ms, 12.3ms, 1.53s.
func fmtMs(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 1:
		return fmt.Sprintf("%.2fms", v)
	case v < 1000:
		return fmt.Sprintf("%.1fms", v)
	default:
		return fmt.Sprintf("%.2fs", v/1000)
	}
}

func rateString(r int) string {
	if r == 0 {
		return "max"
	}
	return fmt.Sprintf("%d events/s", r)
}

func (r *result) print(w io.Writer) {
	h := r.Hookd
	where := h.Mode
	if h.Store != "" {
		where = fmt.Sprintf("%s, %d node(s), %s", h.Store, h.Nodes, h.Mode)
	}
	fmt.Fprintf(w, "scenario %s: hookd %s; GOMAXPROCS %d of %d CPUs\n", r.Scenario, where, r.GOMAXPROCS, r.NumCPU)
	if r.Raw != nil {
		fmt.Fprintf(w, "raw loopback POST: %.0f req/s (%d conns, %d-byte body, %.0fs)",
			r.Raw.PostsPerSec, r.Raw.Conns, r.Raw.BodyBytes, r.Raw.Seconds)
		if r.Raw.CPUPerPostUs > 0 {
			fmt.Fprintf(w, "; machine %.2f cores busy, %.1f µs of CPU per request", r.Raw.MachineCores, r.Raw.CPUPerPostUs)
		}
		fmt.Fprintln(w)
	}
	if l := r.Load; l != nil {
		l.print(w, "")
	}
	if is := r.Isolation; is != nil {
		fmt.Fprintf(w, "isolation: %s to %d endpoints (%d deliveries/s); the bad endpoint hangs from the start of the measured window until hookd's attempt timeout (%s)\n",
			rateString(is.Rate), is.Endpoints, is.Rate*(is.Endpoints-1), attemptTimeoutString(is.AttemptTimeoutSec))
		fmt.Fprintf(w, "without the bad endpoint (%d healthy):\n", is.Endpoints-1)
		is.Without.print(w, "  ")
		fmt.Fprintf(w, "with the bad endpoint (%d healthy + 1 hanging; it got %d requests):\n", is.Endpoints-1, is.With.HungRequests)
		is.With.print(w, "  ")
		fmt.Fprintf(w, "healthy endpoints' p99 with / without the bad one: %s / %s = %.2f\n",
			fmtMs(is.With.Latency.P99Ms), fmtMs(is.Without.Latency.P99Ms), is.P99Ratio)
	}
	if b := r.Backlog; b != nil {
		b.print(w)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

func attemptTimeoutString(s float64) string {
	if s == 0 {
		return "the target's"
	}
	return fmt.Sprint(time.Duration(s * float64(time.Second)))
}

func (l *loadResult) print(w io.Writer, indent string) {
	how := fmt.Sprintf("fan-out %d", l.Endpoints)
	if l.Batch > 1 {
		how += fmt.Sprintf(", batches of %d", l.Batch)
	}
	fmt.Fprintf(w, "%shookd: %.0f events accepted/s, %.0f deliveries/s (%s, rate %s, %.1fs measured)\n",
		indent, l.EventsAcceptedPerSec, l.DeliveriesPerSec, how, rateString(l.Rate), l.MeasuredSec)
	if l.RatioToRaw > 0 {
		fmt.Fprintf(w, "%sratio deliveries/s to raw POST rate: %.3f\n", indent, l.RatioToRaw)
	}
	if lt := l.Latency; lt.Count > 0 {
		fmt.Fprintf(w, "%slatency 202 -> receipt: p50 %s  p90 %s  p99 %s  max %s  (%d deliveries)\n",
			indent, fmtMs(lt.P50Ms), fmtMs(lt.P90Ms), fmtMs(lt.P99Ms), fmtMs(lt.MaxMs), lt.Count)
		var b strings.Builder
		for i, v := range l.SliceP99Ms {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(fmtMs(v))
		}
		fmt.Fprintf(w, "%sp99 per %.1fs slice: %s\n", indent, l.SliceSec, b.String())
	}
	if l.Missing > 0 || l.PublishErrors > 0 {
		fmt.Fprintf(w, "%snot delivered within 60s: %d; publish errors: %d", indent, l.Missing, l.PublishErrors)
		if l.LastPublishError != "" {
			fmt.Fprintf(w, " (last: %.200s)", l.LastPublishError)
		}
		fmt.Fprintln(w)
	}
	l.Usage.print(w, indent, "over the measured window")
	if b := l.PerDelivery; b != nil {
		fmt.Fprintf(w, "%smachine CPU per delivery: %.0f µs (", indent, b.MachineUs)
		if b.HookdUs != nil {
			fmt.Fprintf(w, "hookd %.0f, ", *b.HookdUs)
		}
		fmt.Fprintf(w, "bench %.0f, others %.0f)\n", b.BenchUs, b.OtherUs)
		fmt.Fprintf(w, "%sbudget: %.2f x raw on %d cores leaves %.0f µs of machine CPU per delivery", indent,
			b.TargetRatio, b.Cores, b.BudgetUs)
		if b.PostsUs > 0 {
			fmt.Fprintf(w, "; two raw exchanges (event in, delivery out) cost %.0f µs of it", b.PostsUs)
		}
		fmt.Fprintln(w)
	}
	if l.Writes != nil {
		l.Writes.print(w, indent)
	}
}

func (u *usage) print(w io.Writer, indent, what string) {
	if u.HookdCPUSec != nil {
		who := "hookd"
		if u.SameProcess {
			who = "process (hookd, client and receiver)"
		}
		fmt.Fprintf(w, "%s%s CPU: %.2fs %s (%.1fs) = %.2f cores", indent, who, *u.HookdCPUSec, what, u.WindowSec, *u.HookdCores)
		if len(u.HookdPeakRSSMiB) > 0 {
			var b strings.Builder
			for i, v := range u.HookdPeakRSSMiB {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "%.0f", v)
			}
			fmt.Fprintf(w, "; peak RSS %s MiB", b.String())
			if len(u.HookdPeakRSSMiB) > 1 {
				w.Write([]byte(" (per node)"))
			}
		}
		fmt.Fprintln(w)
	}
	if !u.SameProcess {
		fmt.Fprintf(w, "%sbench CPU: %.2fs = %.2f cores (client, receiver, bookkeeping); ", indent, u.BenchCPUSec, u.BenchCores)
	} else {
		w.Write([]byte(indent))
	}
	if u.MachineCores > 0 {
		fmt.Fprintf(w, "machine: %.2f cores busy, %.2f of them other processes", u.MachineCores, u.OtherCores)
	}
	fmt.Fprintln(w)
}

func (b *backlogResult) print(w io.Writer) {
	how := "one event per request"
	if b.Fill == "batch" {
		how = fmt.Sprintf("batches of %d", b.Batch)
	}
	fmt.Fprintf(w, "backlog: %d events accepted in %.1fs (%.0f events/s, %s) for an endpoint answering 503; %d attempts rejected meanwhile\n",
		b.Accepted, b.FillSec, b.FillEventsPerSec, how, b.RejectedWhileDown)
	if b.PublishErrors > 0 {
		fmt.Fprintf(w, "  %d events could not be published\n", b.PublishErrors)
	}
	b.FillUsage.print(w, "  ", "during the fill")
	fmt.Fprintf(w, "recovery -> first delivery: %.1fs (hookd's circuit breaker waits its cooldown before probing)\n", b.RecoveryToFirstSec)
	state := "all delivered"
	if !b.Complete {
		state = fmt.Sprintf("NOT complete: %d of %d delivered before -drain-timeout", b.Delivered, b.Accepted)
	}
	fmt.Fprintf(w, "drain: %.0f deliveries/s, first to last delivery %.1fs; %s (%d duplicates)\n", b.DrainPerSec, b.DrainSec, state, b.Duplicates)
	if b.RatioToRaw > 0 {
		fmt.Fprintf(w, "ratio drain rate to raw POST rate: %.3f\n", b.RatioToRaw)
	}
	b.DrainUsage.print(w, "  ", "from recovery to the last delivery")
	fmt.Fprintf(w, "hookd RSS (sampled every 200ms): peak %.0f MiB during the fill, peak %.0f MiB during the drain, %.0f MiB at the end\n",
		b.PeakRSSFillMiB, b.PeakRSSDrainMiB, b.RSSEndMiB)
}
