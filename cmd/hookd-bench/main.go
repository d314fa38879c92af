// Command hookd-bench measures hookd end to end on this machine, on
// loopback only. In one run it measures:
//
//   - raw: the rate at which a Go client can POST the same payload straight
//     to a Go receiver (the machine's ceiling for one HTTP request);
//   - hookd: events accepted/s and deliveries received/s when the same
//     client POSTs events to hookd, which stores them (durably) and delivers
//     them, signed, to the receiver; and latency from the 202 to receipt.
//
// By default it starts hookd in-process on a fresh SQLite file; -target
// points it at a running hookd instead (which must allow private networks,
// and -key must be its admin key). With -db postgres://... it runs on a
// fresh schema of that PostgreSQL database (dropped afterwards), and
// -nodes N starts N hookd nodes in-process on it; the client spreads its
// events over them.
//
//	go run ./cmd/hookd-bench -duration 10s
//	go run ./cmd/hookd-bench -rate 1000 -duration 20s
//	go run ./cmd/hookd-bench -db postgres://postgres@127.0.0.1:5432/postgres -nodes 3
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/server"
)

type options struct {
	duration    time.Duration
	warmup      time.Duration
	conns       int
	payload     int
	fanout      int
	rate        int
	target      string
	key         string
	db          string
	nodes       int
	rawDuration time.Duration
}

func main() {
	var o options
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "how long to publish events")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "publishing before measuring starts")
	flag.DurationVar(&o.rawDuration, "raw-duration", 5*time.Second, "how long to measure the raw POST rate")
	flag.IntVar(&o.conns, "conns", 64, "concurrent client connections")
	flag.IntVar(&o.payload, "payload", 1024, "approximate size of each event's data, bytes")
	flag.IntVar(&o.fanout, "fanout", 1, "endpoints per event")
	flag.IntVar(&o.rate, "rate", 0, "events per second to publish (0: as fast as possible)")
	flag.StringVar(&o.target, "target", "", "base URL of a running hookd (default: start one in-process)")
	flag.StringVar(&o.key, "key", "bench-admin-key-0123456789", "admin API key")
	flag.StringVar(&o.db, "db", "", "SQLite file, or postgres:// URL (a fresh schema is made in it), for the in-process hookd (default: a temporary SQLite file)")
	flag.IntVar(&o.nodes, "nodes", 1, "in-process hookd nodes on the database (more than 1 needs PostgreSQL)")
	flag.Parse()
	if err := run(o); err != nil {
		fmt.Fprintln(os.Stderr, "hookd-bench:", err)
		os.Exit(1)
	}
}

// receiver counts deliveries and records when each event first arrived.
type receiver struct {
	mu       sync.Mutex
	received map[string]time.Time
	count    atomic.Int64
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	_, _ = io.Copy(io.Discard, req.Body)
	if id := req.Header.Get("webhook-id"); id != "" {
		now := time.Now()
		r.mu.Lock()
		if _, ok := r.received[id]; !ok {
			r.received[id] = now
		}
		r.mu.Unlock()
	}
	r.count.Add(1)
	w.WriteHeader(http.StatusNoContent)
}

func newClient(conns int) *http.Client {
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        conns * 2,
			MaxIdleConnsPerHost: conns * 2,
			MaxConnsPerHost:     conns,
			IdleConnTimeout:     time.Minute,
		},
	}
}

func payload(size int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"order":{"id":"ord_1001","currency":"EUR","total":4200},"pad":"`)
	for b.Len() < size-2 {
		b.WriteByte('x')
	}
	b.WriteString(`"}`)
	return b.Bytes()
}

func run(o options) error {
	rc := &receiver{received: make(map[string]time.Time, 1<<20)}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	recvSrv := &http.Server{Handler: rc, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = recvSrv.Serve(ln) }()
	defer recvSrv.Close()
	recvURL := "http://" + ln.Addr().String() + "/hook"
	data := payload(o.payload)
	client := newClient(o.conns)

	// 1. Raw loopback POST rate with the same payload and connections.
	rawBody := []byte(`{"id":"evt_raw","type":"order.created","created_at":"2026-01-01T00:00:00.000Z","data":` + string(data) + `}`)
	raw := measureRaw(client, recvURL, rawBody, o.conns, o.rawDuration)
	fmt.Printf("raw loopback POST: %.0f req/s (%d conns, %d-byte body, %s)\n", raw, o.conns, len(rawBody), o.rawDuration)
	rc.count.Store(0)

	// 2. hookd.
	bases := []string{o.target}
	var stop func()
	var cpuBefore time.Duration
	if o.target == "" {
		var err error
		bases, stop, err = startInProcess(o)
		if err != nil {
			return err
		}
		defer stop()
		cpuBefore = cpuTime()
	}
	appID, err := setup(client, bases[0], o.key, recvURL, o.fanout)
	if err != nil {
		return err
	}

	var (
		acceptedMu sync.Mutex
		accepted   = make(map[string]time.Time, 1<<20)
		measuring  atomic.Bool
		nAccepted  atomic.Int64
		nFailed    atomic.Int64
		seq        atomic.Int64
	)
	publish := func() {
		i := seq.Add(1)
		id := fmt.Sprintf("bench-%d", i)
		body := []byte(`{"id":"` + id + `","type":"order.created","data":` + string(data) + `}`)
		base := bases[int(i)%len(bases)]
		req, _ := http.NewRequest("POST", base+"/v1/apps/"+appID+"/events", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+o.key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			nFailed.Add(1)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			nFailed.Add(1)
			return
		}
		if measuring.Load() {
			now := time.Now()
			acceptedMu.Lock()
			accepted[id] = now
			acceptedMu.Unlock()
			nAccepted.Add(1)
		}
	}

	ctx, cancel := context.WithTimeout(context.Background(), o.warmup+o.duration)
	defer cancel()
	var wg sync.WaitGroup
	if o.rate > 0 {
		// Open loop: one event every 1/rate, whatever the answers do.
		interval := time.Second / time.Duration(o.rate)
		sem := make(chan struct{}, o.conns*4)
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := time.Now()
			for ctx.Err() == nil {
				next = next.Add(interval)
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func() { defer wg.Done(); publish(); <-sem }()
			}
		}()
	} else {
		for range o.conns {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for ctx.Err() == nil {
					publish()
				}
			}()
		}
	}
	time.Sleep(o.warmup)
	deliveredAtStart := rc.count.Load()
	measuring.Store(true)
	start := time.Now()
	time.Sleep(o.duration)
	measuring.Store(false)
	elapsed := time.Since(start)
	deliveredInWindow := rc.count.Load() - deliveredAtStart
	wg.Wait()

	// Let the deliveries of measured events arrive, then compute latency.
	drainDeadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(drainDeadline) {
		rc.mu.Lock()
		acceptedMu.Lock()
		missing := 0
		for id := range accepted {
			if _, ok := rc.received[id]; !ok {
				missing++
			}
		}
		acceptedMu.Unlock()
		rc.mu.Unlock()
		if missing == 0 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	var lat []time.Duration
	missing := 0
	rc.mu.Lock()
	for id, t202 := range accepted {
		t, ok := rc.received[id]
		if !ok {
			missing++
			continue
		}
		// The delivery can arrive before the client has read its 202.
		lat = append(lat, max(t.Sub(t202), 0))
	}
	rc.mu.Unlock()
	slices.Sort(lat)

	acceptedRate := float64(nAccepted.Load()) / elapsed.Seconds()
	deliveredRate := float64(deliveredInWindow) / elapsed.Seconds()
	fmt.Printf("hookd: %.0f events accepted/s, %.0f deliveries/s (fan-out %d, %d conns, rate %s, %d node(s), %s measured)\n",
		acceptedRate, deliveredRate, o.fanout, o.conns, rateString(o.rate), len(bases), elapsed.Round(time.Millisecond))
	fmt.Printf("ratio deliveries/s to raw POST rate: %.3f\n", deliveredRate/raw)
	if len(lat) > 0 {
		fmt.Printf("latency 202 -> receipt: p50 %s  p90 %s  p99 %s  max %s  (%d events)\n",
			pct(lat, 50), pct(lat, 90), pct(lat, 99), lat[len(lat)-1].Round(10*time.Microsecond), len(lat))
	}
	if missing > 0 || nFailed.Load() > 0 {
		fmt.Printf("not delivered within 60s: %d; publish errors: %d\n", missing, nFailed.Load())
	}
	if stop != nil {
		fmt.Printf("process CPU: %s over the run; peak RSS %d MiB; GOMAXPROCS %d\n",
			(cpuTime() - cpuBefore).Round(time.Millisecond), peakRSS()>>20, runtime.GOMAXPROCS(0))
	}
	return nil
}

func rateString(r int) string {
	if r == 0 {
		return "max"
	}
	return fmt.Sprintf("%d/s", r)
}

func pct(s []time.Duration, p int) time.Duration {
	i := (len(s)*p + 99) / 100
	i = min(max(i-1, 0), len(s)-1)
	return s[i].Round(10 * time.Microsecond)
}

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

// startInProcess starts o.nodes hookd nodes in this process on o.db (a
// temporary SQLite file by default; a fresh schema for a postgres:// URL)
// and returns their base URLs and a function that stops them.
func startInProcess(o options) ([]string, func(), error) {
	db := o.db
	var cleanups []func()
	cleanup := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	isPG := strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
	switch {
	case db == "":
		dir, err := os.MkdirTemp("", "hookd-bench")
		if err != nil {
			return nil, nil, err
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		db = filepath.Join(dir, "hookd.db")
	case isPG:
		var drop func()
		var err error
		db, drop, err = freshSchema(db)
		if err != nil {
			return nil, nil, err
		}
		cleanups = append(cleanups, drop)
	}
	if o.nodes > 1 && !isPG {
		cleanup()
		return nil, nil, fmt.Errorf("-nodes %d needs -db postgres://...: SQLite serves one node", o.nodes)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var bases []string
	secretKey := secrets.EncodeKey(secrets.GenerateKey()) // the same on every node
	for range max(o.nodes, 1) {
		cfg := config.Default()
		cfg.Addr = "127.0.0.1:0"
		cfg.DB = db
		cfg.APIKey = o.key
		cfg.SecretKey = secretKey
		cfg.AllowPrivateNetworks = true
		cfg.LogLevel = "warn"
		cfg.APIRate = 0 // the bench is the one client: measure hookd, not its guard
		ctx, cancel := context.WithCancel(context.Background())
		ready := make(chan string, 1)
		done := make(chan error, 1)
		go func() {
			done <- server.Run(ctx, server.Options{Config: cfg, Logger: log, Version: "bench", Out: io.Discard, Ready: ready})
		}()
		select {
		case addr := <-ready:
			bases = append(bases, "http://"+addr)
			cleanups = append(cleanups, func() { cancel(); <-done })
		case err := <-done:
			cancel()
			cleanup()
			return nil, nil, err
		}
	}
	return bases, cleanup, nil
}

// freshSchema makes a new schema in the PostgreSQL database dsn names and
// returns a DSN that uses it and a function that drops it.
func freshSchema(dsn string) (string, func(), error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return "", nil, err
	}
	defer conn.Close(ctx)
	schema := fmt.Sprintf("hookd_bench_%d", time.Now().UnixNano())
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return "", nil, err
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "", nil, err
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String(), func() {
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return
		}
		defer c.Close(ctx)
		_, _ = c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
	}, nil
}

func setup(client *http.Client, base, key, url string, fanout int) (string, error) {
	call := func(method, path string, body any, out any) error {
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
	var app struct{ ID string }
	if err := call("POST", "/v1/apps", map[string]any{"name": "bench"}, &app); err != nil {
		return "", err
	}
	for i := range fanout {
		var ep struct{ ID string }
		if err := call("POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": fmt.Sprintf("%s?ep=%d", url, i)}, &ep); err != nil {
			return "", err
		}
	}
	return app.ID, nil
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func peakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10
}
