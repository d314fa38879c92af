// Command hookd-chaos is a fault harness for hookd: it builds the hookd
// binary, starts one or more nodes on one database, runs receivers that
// misbehave in different ways (5xx, 429, hangs, slow bodies, resets,
// redirects, untrusted TLS), pours events in while SIGKILLing and
// restarting nodes, and then checks what RELIABILITY.md promises: that
// every accepted event reached every endpoint, or ended as its receiver's
// misbehaviour allows (see receiverClasses: only the untrusted TLS
// receiver's deliveries may stay pending or fail); that every request's
// signature verified; and that no retry came sooner than its wait. It
// exits 1 on any breach, naming it.
//
//	go run ./cmd/hookd-chaos -events 2000 -kills 3
//	go run ./cmd/hookd-chaos -db 'postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable' -nodes 3
package main

import (
	"context"
	crand "crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd/internal/store/pgstore"
	"github.com/hookd/hookd/webhook"
)

const apiKey = "chaos-admin-key-0123456789"

// retrySchedule is the HOOKD_RETRY_SCHEDULE the nodes run with: 7 attempts.
var retrySchedule = []time.Duration{200 * time.Millisecond, 500 * time.Millisecond, time.Second, 2 * time.Second, 3 * time.Second, 5 * time.Second}

const (
	attemptTimeout = 2 * time.Second
	leaseDuration  = 3 * time.Second
)

func main() {
	var (
		dbFlag  = flag.String("db", "", "database: empty for a temporary SQLite file, or a postgres:// DSN (a fresh schema is made and dropped)")
		nodesN  = flag.Int("nodes", 1, "hookd processes (more than 1 needs PostgreSQL)")
		events  = flag.Int("events", 2000, "events to publish")
		kills   = flag.Int("kills", 3, "SIGKILLs (each followed by a restart) during the pour")
		rate    = flag.Float64("rate", 300, "events per second")
		seed    = flag.Uint64("seed", uint64(time.Now().UnixNano()), "random seed for kill times and victims")
		timeout = flag.Duration("timeout", 4*time.Minute, "overall time limit")
	)
	flag.IntVar(&showGaps, "show-gaps", 0, "print this many retry gaps as they are measured")
	flag.Parse()
	start := time.Now()
	code := run(config{db: *dbFlag, nodes: *nodesN, events: *events, kills: *kills, rate: *rate, seed: *seed, timeout: *timeout})
	fmt.Printf("run time: %s\n", time.Since(start).Round(100*time.Millisecond))
	os.Exit(code)
}

type config struct {
	db      string
	nodes   int
	events  int
	kills   int
	rate    float64
	seed    uint64
	timeout time.Duration
}

func fatalf(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "hookd-chaos: "+format+"\n", args...)
	return 2
}

func run(cfg config) int {
	deadline := time.Now().Add(cfg.timeout)
	isPG := strings.HasPrefix(cfg.db, "postgres://") || strings.HasPrefix(cfg.db, "postgresql://")
	if cfg.nodes < 1 || (cfg.nodes > 1 && !isPG) {
		return fatalf("-nodes %d: more than one node needs a postgres:// -db", cfg.nodes)
	}
	tmp, err := os.MkdirTemp("", "hookd-chaos-")
	if err != nil {
		return fatalf("%v", err)
	}
	defer os.RemoveAll(tmp)

	db := cfg.db
	if isPG {
		dsn, drop, err := pgstore.FreshSchema(context.Background(), cfg.db, "hookd_chaos")
		if err != nil {
			return fatalf("postgres: %v", err)
		}
		defer drop()
		db = dsn
	} else if db == "" {
		db = filepath.Join(tmp, "hookd.db")
	}

	bin := filepath.Join(tmp, "hookd")
	fmt.Println("building hookd ...")
	build := exec.Command("go", "build", "-o", bin, "./cmd/hookd")
	if out, err := exec.Command("go", "env", "GOMOD").Output(); err == nil && strings.TrimSpace(string(out)) != "" {
		build.Dir = filepath.Dir(strings.TrimSpace(string(out)))
	}
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fatalf("go build: %v", err)
	}
	keyBytes := make([]byte, 32)
	_, _ = crand.Read(keyBytes)
	env := []string{
		"HOOKD_DB=" + db,
		"HOOKD_API_KEY=" + apiKey,
		"HOOKD_ALLOW_PRIVATE_NETWORKS=true",
		"HOOKD_LOG_LEVEL=warn",
		"HOOKD_RETRY_SCHEDULE=" + scheduleString(),
		"HOOKD_ATTEMPT_TIMEOUT=" + attemptTimeout.String(),
		"HOOKD_LEASE_DURATION=" + leaseDuration.String(),
		"HOOKD_API_RATE=0",
		"HOOKD_SECRET_KEY=" + base64.StdEncoding.EncodeToString(keyBytes),
	}

	nodes := make([]*node, cfg.nodes)
	var wg sync.WaitGroup
	var startErr atomic.Value
	for i := range nodes {
		addr, err := freeAddr()
		if err != nil {
			return fatalf("%v", err)
		}
		nodes[i] = &node{idx: i, bin: bin, addr: addr, base: "http://" + addr, env: env, logDir: tmp}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := nodes[i].start(); err != nil {
				startErr.Store(err)
			}
		}()
	}
	wg.Wait()
	defer func() {
		for _, n := range nodes {
			n.kill()
		}
	}()
	if e := startErr.Load(); e != nil {
		return fatalf("start: %v", e)
	}
	fmt.Printf("%d node(s) ready on %s\n", len(nodes), dbLabel(isPG))

	// Receivers, one per fault kind, recovering after 60% of the pour.
	pourDur := time.Duration(float64(cfg.events) / cfg.rate * float64(time.Second))
	sched := &schedule{recoverAfter: time.Duration(float64(pourDur) * 0.6), window: time.Second}
	recvs := newReceivers(sched)
	fmt.Print(expectations(sched.recoverAfter))
	defer func() {
		for _, r := range recvs {
			r.srv.Close()
		}
	}()

	var app struct{ ID string }
	if code, err := nodes[0].call("POST", "/v1/apps", map[string]any{"name": "chaos", "uid": "chaos"}, &app); err != nil || code != 201 {
		return fatalf("create app: %d %v", code, err)
	}
	for _, r := range recvs {
		var ep struct{ ID string }
		if code, err := nodes[0].call("POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": r.srv.URL + "/hook"}, &ep); err != nil || code != 201 {
			return fatalf("create endpoint %s: %d %v", r.kind, code, err)
		}
		var sec struct{ Secret string }
		if code, err := nodes[len(nodes)-1].call("GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID+"/secret", nil, &sec); err != nil || code != 200 {
			return fatalf("read secret %s: %d %v", r.kind, code, err)
		}
		v, err := webhook.NewVerifier(sec.Secret)
		if err != nil {
			return fatalf("verifier: %v", err)
		}
		r.mu.Lock()
		r.verifier, r.epID = v, ep.ID
		r.mu.Unlock()
	}

	// Pour, with kills at seeded random moments.
	rng := rand.New(rand.NewPCG(cfg.seed, cfg.seed^0x9e3779b97f4a7c15))
	killAt := make([]time.Duration, cfg.kills)
	for i := range killAt {
		killAt[i] = time.Duration(float64(pourDur) * (0.1 + 0.8*rng.Float64()))
	}
	sort.Slice(killAt, func(i, j int) bool { return killAt[i] < killAt[j] })
	victims := make([]int, cfg.kills)
	for i := range victims {
		victims[i] = rng.IntN(len(nodes))
	}

	sched.begin()
	var kmu sync.Mutex
	var killLog []killRecord
	killDone := make(chan struct{})
	go func() {
		defer close(killDone)
		for i, at := range killAt {
			time.Sleep(time.Until(sched.t0.Add(at)))
			n := nodes[victims[i]]
			killed := time.Now()
			n.kill()
			if err := n.start(); err != nil {
				fmt.Fprintf(os.Stderr, "restart node %d: %v\n", n.idx, err)
			}
			kmu.Lock()
			killLog = append(killLog, killRecord{node: n.idx, at: killed, ready: time.Now()})
			kmu.Unlock()
			fmt.Printf("  killed node %d at +%s, ready again after %s\n", n.idx, killed.Sub(sched.t0).Round(time.Millisecond), time.Since(killed).Round(time.Millisecond))
		}
	}()
	accepted, replayed, rejected := pour(nodes, app.ID, cfg, sched.t0, deadline)
	<-killDone
	pourTook := time.Since(sched.t0)
	fmt.Printf("poured %d events in %s (%d accepted, %d of them Idempotent-Replayed, %d not accepted)\n",
		cfg.events, pourTook.Round(time.Millisecond), len(accepted), replayed, rejected)

	// Wait until nothing is pending except what the TLS endpoint's circuit breaker holds.
	tlsEP := ""
	for _, r := range recvs {
		if r.kind == "tls" {
			tlsEP = r.epID
		}
	}
	timedOut := false
	fmt.Println("waiting for pending deliveries ...")
	for {
		busy := ""
		for _, r := range recvs {
			if r.kind == "tls" {
				continue
			}
			n, err := pendingFor(nodes, app.ID, r.epID)
			if err != nil || n > 0 {
				busy = r.kind
				break
			}
		}
		if busy == "" {
			break
		}
		if time.Now().After(deadline) {
			timedOut = true
			fmt.Printf("TIMEOUT: deliveries still pending (e.g. endpoint %s)\n", busy)
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	drainedNonTLS := time.Since(sched.t0)
	// Give the TLS endpoint the rest of the time, at most 20 s, to end its deliveries.
	tlsWait := time.Now().Add(min(20*time.Second, time.Until(deadline)))
	for time.Now().Before(tlsWait) {
		if n, err := pendingFor(nodes, app.ID, tlsEP); err == nil && n == 0 {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	drained := time.Since(sched.t0)

	// Check.
	recoverAt := sched.t0.Add(sched.recoverAfter)
	res := check(nodes, app.ID, recvs, accepted, recoverAt)
	byKind := map[string]map[string]*delivery{}
	for kind, r := range res {
		byKind[kind] = r.deliveries
	}
	timing := retryTiming(nodes, app.ID, recvs, byKind, killLog)

	fmt.Println()
	fmt.Println("==== hookd-chaos summary ====")
	fmt.Printf("database           %s, %d node(s), seed %d\n", dbLabel(isPG), len(nodes), cfg.seed)
	fmt.Printf("events accepted    %d of %d (%d replayed)\n", len(accepted), cfg.events, replayed)
	fmt.Printf("kills              %d", len(killLog))
	for _, k := range killLog {
		fmt.Printf("  [node %d at +%s, down %s]", k.node, k.at.Sub(sched.t0).Round(time.Millisecond), k.ready.Sub(k.at).Round(time.Millisecond))
	}
	fmt.Println()
	fmt.Printf("pour / drained     %s / %s (all but tls) / %s (end of tls wait) after the first event\n",
		pourTook.Round(time.Millisecond), drainedNonTLS.Round(time.Millisecond), drained.Round(time.Millisecond))
	fmt.Printf("%-14s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n", "endpoint", "requests", "faults", "badsig", "received", "dups", "failed", "pending", "lost", "breaches")
	totLost, totDup, totFailed, totPending, deliveries := 0, 0, 0, 0, 0
	var failures []string
	for _, r := range recvs {
		s := res[r.kind]
		r.mu.Lock()
		reqs, faults, bad, badSigs, handled := r.requests, r.faults, r.badSig, r.badSigs, r.handled
		r.mu.Unlock()
		fmt.Printf("%-14s %8d %8d %8d %8d %8d %8d %8d %8d %8d\n", r.kind, reqs, faults, bad, s.received, s.dups, s.failed, s.pending, s.lost, s.breaches)
		totLost += s.lost
		totDup += s.dups
		totFailed += s.failed
		totPending += s.pending
		deliveries += len(accepted)
		if bad > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d requests whose signature did not verify, e.g. %s", r.kind, bad, strings.Join(badSigs, "; ")))
		}
		if receiverClasses[r.kind] == unreachable && handled > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d requests got through a certificate hookd must not trust", r.kind, handled))
		}
		if s.breaches > 0 {
			failures = append(failures, fmt.Sprintf("%s: %d deliveries ended as this receiver does not allow, e.g. %s",
				r.kind, s.breaches, s.breachExamples[0]))
		}
	}
	fmt.Printf("deliveries         %d (%d events x %d endpoints)\n", deliveries, len(accepted), len(recvs))
	fmt.Printf("lost               %d\n", totLost)
	fmt.Printf("duplicates         %d (2xx answers beyond the first per webhook-id)\n", totDup)
	fmt.Printf("failed             %d (tls %d)\n", totFailed, res["tls"].failed)
	if totPending > 0 {
		fmt.Printf("still pending      %d (tls %d: held by hookd's circuit breaker, one probe per cooldown)\n", totPending, res["tls"].pending)
	}
	for _, r := range recvs {
		for _, ex := range res[r.kind].breachExamples {
			fmt.Printf("  %s: BREACH %s\n", r.kind, ex)
		}
		for _, ex := range res[r.kind].examples {
			fmt.Printf("  %s: %s\n", r.kind, ex)
		}
	}
	timing.print()
	if timing.earlyCount > 0 {
		failures = append(failures, fmt.Sprintf("%d retries started sooner than their wait allows (allowance %s), e.g. %s",
			timing.earlyCount, earlyAllowance, strings.Join(timing.early, "; ")))
	}
	if timing.gaps == 0 {
		failures = append(failures, "no retry was measured, so the early-retry check proved nothing (the misbehaving receivers caused no retries?)")
	}
	if timing.readErrors > 0 {
		failures = append(failures, fmt.Sprintf("%d deliveries with retries could not be read: their retry timing is unchecked", timing.readErrors))
	}
	opened := 0
	for _, n := range nodes {
		opened += strings.Count(n.logTail(1<<30), "circuit open")
	}
	fmt.Printf("circuit openings   %d (\"circuit open\" warnings in the nodes' logs)\n", opened)
	if timedOut {
		failures = append(failures, "timed out waiting for deliveries to endpoints other than tls to end")
	}
	fmt.Println()
	fmt.Print(expectations(sched.recoverAfter))
	fmt.Println()
	if len(failures) > 0 {
		for _, n := range nodes {
			n.printLogTail(1500)
		}
		fmt.Println("RESULT: FAIL")
		for _, f := range failures {
			fmt.Println("FAIL: " + f)
		}
		return 1
	}
	fmt.Println("RESULT: OK")
	return 0
}

func scheduleString() string {
	parts := make([]string, len(retrySchedule))
	for i, d := range retrySchedule {
		parts[i] = d.String()
	}
	return strings.Join(parts, ",")
}

func dbLabel(pg bool) string {
	if pg {
		return "postgresql"
	}
	return "sqlite"
}

type killRecord struct {
	node      int
	at, ready time.Time
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}
