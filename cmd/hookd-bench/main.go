// Command hookd-bench is hookd's load tool. It measures hookd end to end on
// this machine, on loopback only: it starts a receiver, drives a hookd and
// reports, for a fixed duration (or, for the backlog, a fixed amount of
// work):
//
//   - raw: the rate at which a Go client can POST the same payload straight
//     to the receiver (the machine's ceiling for one HTTP request), measured
//     at the start of the same run, and hookd's deliveries/s as a ratio of it;
//   - events accepted/s and deliveries received/s, and the latency of each
//     delivery from the client reading the event's 202 to the receiver
//     getting it (p50, p90, p99, max, and p99 per slice of the run, so that a
//     p99 that drifts shows);
//   - hookd's own CPU time (utime+stime from /proc/<pid>/stat), the cores
//     that makes over the measured window, and its peak RSS (VmHWM), next to
//     the bench process's own CPU (client, receiver and bookkeeping);
//   - what hookd wrote per delivery (max and batch scenarios, hookd as a
//     child process; see writes.go), over the whole load: its write(2)
//     bytes (wchar of /proc/<pid>/io), split into the bench's sockets, its
//     log and the rest, which on SQLite is the database files (WAL frames
//     and checkpoints); on PostgreSQL, WAL bytes, tuples inserted, updated
//     (HOT) and deleted in hookd's schema, and transactions; with the
//     pg_walinspect extension in the database, hookd's own WAL per
//     relation and record type.
//
// hookd runs as a child process by default: the bench re-executes its own
// binary in a hidden mode (HOOKD_BENCH_CHILD=1) that runs server.Run with
// the settings the parent passes, so hookd's CPU and memory are its own.
// -inprocess runs it in the bench's process instead (the figures then cover
// the client and the receiver too); -target points the bench at a running
// hookd (which must allow private networks; -key must be its admin key), of
// which it can measure neither CPU nor memory. -db postgres://... runs on a
// fresh schema of that PostgreSQL database (dropped afterwards), and
// -nodes N starts N hookd processes on it; the client spreads its events
// over them and the CPU figures add up.
//
// Scenarios (-scenario):
//
//   - max (default): as many events as -conns connections can publish; with
//     -rate N, N events/s, open loop, for latency.
//   - batch: the same through POST /v1/apps/{app}/events/batch, -batch events
//     per request, 8 requests at a time unless -conns says otherwise.
//   - isolation: 99 healthy endpoints and one that hangs until hookd's attempt
//     timeout (-attempt-timeout, 5s here instead of the default 15s), at a
//     fixed -rate (default 20 events/s, each to all 100 endpoints); first the
//     same run without the bad endpoint, then with it, and the ratio of the
//     healthy endpoints' p99s.
//   - backlog: -backlog deliveries queued for an endpoint that answers 503,
//     then it recovers: fill time, time to the first delivery (hookd's circuit
//     breaker waits its cooldown before probing), drain rate, and hookd's RSS
//     sampled every 200ms (peak during the fill and during the drain).
//
// Examples:
//
//	go run ./cmd/hookd-bench -duration 10s                          # max, SQLite, fan-out 1, 1 KiB
//	go run ./cmd/hookd-bench -fanout 10 -payload 65536              # max, fan-out 10, 64 KiB
//	go run ./cmd/hookd-bench -rate 1000 -duration 20s               # fixed rate: p99 per slice
//	go run ./cmd/hookd-bench -db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' -nodes 3
//	go run ./cmd/hookd-bench -scenario batch -batch 100
//	go run ./cmd/hookd-bench -scenario isolation -rate 20 -duration 30s
//	go run ./cmd/hookd-bench -scenario backlog -backlog 1000000
//	go run ./cmd/hookd-bench -json -duration 10s > run.json       # one JSON object with every figure
//	go run ./cmd/hookd-bench -cpuprofile hookd.pprof                # hookd's CPU profile of the measured window
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"
)

type options struct {
	scenario    string
	duration    time.Duration
	warmup      time.Duration
	rawDuration time.Duration
	conns       int
	payload     int
	// gather and gatherMax, when set (-1: not set), are hookd's
	// CommitGather and CommitGatherMax.
	gather, gatherMax time.Duration
	fanout            int
	rate              int
	batch             int
	slices            int
	target            string
	key               string
	db                string
	nodes             int
	inProcess         bool
	cpuProfile        string
	jsonOut           bool
	attemptTO         time.Duration
	backlog           int
	fill              string
	drainTimeout      time.Duration
	walFrames         bool
}

func main() {
	if os.Getenv(childEnv) == "1" {
		os.Exit(runChild())
	}
	var o options
	flag.StringVar(&o.scenario, "scenario", "max", "max (-rate > 0: fixed rate), batch, isolation or backlog")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to measure (max, batch, isolation: each of its two runs)")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "publishing before measuring starts")
	flag.DurationVar(&o.rawDuration, "raw-duration", 5*time.Second, "how long to measure the raw POST rate (0: skip it)")
	flag.IntVar(&o.conns, "conns", 64, "concurrent client connections (requests in flight, at most; batch: 8 unless given)")
	flag.IntVar(&o.payload, "payload", 1024, "approximate size of each event's data, bytes")
	flag.DurationVar(&o.gather, "commit-gather", -1, "hookd's HOOKD_COMMIT_GATHER (default: hookd's)")
	flag.DurationVar(&o.gatherMax, "commit-gather-max", -1, "hookd's HOOKD_COMMIT_GATHER_MAX (default: hookd's)")
	flag.IntVar(&o.fanout, "fanout", 1, "endpoints per event (max, batch)")
	flag.IntVar(&o.rate, "rate", 0, "events per second to publish (0: as fast as possible; isolation: 20)")
	flag.IntVar(&o.batch, "batch", 100, "events per batch request (batch; backlog's fill)")
	flag.IntVar(&o.slices, "slices", 10, "slices of the measured window to report p99 for")
	flag.StringVar(&o.target, "target", "", "base URL of a running hookd (default: start one)")
	flag.StringVar(&o.key, "key", "bench-admin-key-0123456789", "admin API key")
	flag.StringVar(&o.db, "db", "", "SQLite file, or postgres:// URL (a fresh schema is made in it), for the hookd the bench starts (default: a temporary SQLite file)")
	flag.IntVar(&o.nodes, "nodes", 1, "hookd nodes on the database (more than 1 needs PostgreSQL)")
	flag.BoolVar(&o.inProcess, "inprocess", false, "run hookd in the bench's own process (CPU and RSS then include the client and receiver)")
	flag.StringVar(&o.cpuProfile, "cpuprofile", "", "write hookd's CPU profile of the measured window to this file (node i>1: FILE.i)")
	flag.BoolVar(&o.jsonOut, "json", false, "print one JSON object with every figure instead of text")
	flag.DurationVar(&o.attemptTO, "attempt-timeout", 5*time.Second, "hookd's attempt timeout in the isolation scenario (hookd's default: 15s)")
	flag.IntVar(&o.backlog, "backlog", 1000000, "deliveries to queue (backlog)")
	flag.StringVar(&o.fill, "fill", "batch", "how the backlog is filled: batch (POST .../events/batch, -batch per request) or single (one POST per event, -conns at once)")
	flag.BoolVar(&o.walFrames, "wal-frames", false, "SQLite: follow the WAL during the load and count its frames per table and index (where the write bytes go)")
	flag.DurationVar(&o.drainTimeout, "drain-timeout", 20*time.Minute, "give up waiting for the backlog to drain after this long")
	flag.Parse()
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if o.scenario == "batch" && !set["conns"] {
		o.conns = 8 // 800 events in flight: more only queues them in hookd
	}
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "hookd-bench:", err)
		os.Exit(1)
	}
}

func run(o options) error {
	if err := o.check(); err != nil {
		return err
	}
	var (
		res *result
		err error
	)
	switch o.scenario {
	case "max", "batch":
		res, err = runLoad(o)
	case "isolation":
		res, err = runIsolation(o)
	case "backlog":
		res, err = runBacklog(o)
	}
	if err != nil {
		return err
	}
	if o.jsonOut {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	res.print(os.Stdout)
	return nil
}

func (o *options) check() error {
	switch o.scenario {
	case "max", "batch", "isolation", "backlog":
	default:
		return fmt.Errorf("-scenario %q: want max, batch, isolation or backlog", o.scenario)
	}
	switch {
	case o.duration <= 0:
		return fmt.Errorf("-duration must be positive")
	case o.conns < 1:
		return fmt.Errorf("-conns must be at least 1")
	case o.fanout < 1 || o.fanout > 100:
		return fmt.Errorf("-fanout must be between 1 and 100 (hookd's default endpoints per app)")
	case o.batch < 1 || o.batch > 1000:
		return fmt.Errorf("-batch must be between 1 and 1000")
	case o.rate < 0:
		return fmt.Errorf("-rate must not be negative")
	case o.slices < 1 || o.slices > 1000:
		return fmt.Errorf("-slices must be between 1 and 1000")
	case o.backlog < 1:
		return fmt.Errorf("-backlog must be at least 1")
	case o.fill != "batch" && o.fill != "single":
		return fmt.Errorf("-fill %q: want batch or single", o.fill)
	case o.nodes < 1:
		return fmt.Errorf("-nodes must be at least 1")
	case o.target != "" && (o.inProcess || o.db != "" || o.nodes > 1):
		return fmt.Errorf("-target drives a running hookd: -inprocess, -db and -nodes are for the one the bench starts")
	}
	if o.scenario == "isolation" && o.rate == 0 {
		o.rate = 20
	}
	return nil
}

// progress writes a line on stderr for the operator (never on stdout,
// which carries the report).
func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "hookd-bench: "+format+"\n", args...)
}
