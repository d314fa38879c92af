package main

// Starting the hookd under test: child processes (the default), in the
// bench's own process (-inprocess), or none (-target); and measuring its
// CPU and memory.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/server"
	"github.com/hookd/hookd/internal/store/pgstore"
)

const (
	// childEnv set to 1 makes the bench's binary run hookd (runChild).
	childEnv = "HOOKD_BENCH_CHILD"
	// childConfigEnv carries the child's config.Config, as JSON.
	childConfigEnv = "HOOKD_BENCH_CONFIG"
	// readyLine starts the line on which a child prints its address.
	readyLine = "hookd-bench-child listening on "
)

// runChild is the hidden child mode: hookd alone in this process, with
// the settings the parent put in childConfigEnv, until SIGTERM. It prints
// its API address on stdout once it listens.
func runChild() int {
	var cfg config.Config
	if err := json.Unmarshal([]byte(os.Getenv(childConfigEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, "hookd-bench child: bad", childConfigEnv+":", err)
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ready := make(chan string, 1)
	go func() {
		if addr, ok := <-ready; ok {
			fmt.Printf("%s%s\n", readyLine, addr)
		}
	}()
	if err := server.Run(ctx, server.Options{Config: cfg, Logger: log, Version: "bench", Out: os.Stderr, Ready: ready}); err != nil {
		fmt.Fprintln(os.Stderr, "hookd-bench child:", err)
		return 1
	}
	return 0
}

// hookdUnderTest is the hookd the bench drives: its nodes' base URLs and,
// when the bench started it, how to measure and stop it.
type hookdUnderTest struct {
	mode    string // "child process", "in-process" or "target"
	store   string // "SQLite", "PostgreSQL" or "" (target)
	bases   []string
	nodes   []*child // child processes (mode "child process")
	pprofs  []string // their pprof addresses, with -cpuprofile
	cleanup []func()
	// pg is the PostgreSQL database and schema the nodes use (store
	// PostgreSQL), for measuring what they write.
	pg *pgTarget
	// sqlitePath is the SQLite database file (store SQLite).
	sqlitePath string
}

// pgTarget is where the hookd under test keeps its data on PostgreSQL.
type pgTarget struct {
	dsn     string // the database, as -db gave it
	schema  string // the fresh schema the nodes use
	appName string // the nodes' application_name, to find their backends
}

// child is one hookd child process.
type child struct {
	cmd  *exec.Cmd
	pid  int
	done chan struct{} // closed when it has exited
	// logBytes counts what it has written to its stdout and stderr (its
	// log), which /proc/<pid>/io's wchar counts too.
	logBytes *atomic.Int64
}

// hookdSettings is what a scenario changes in the settings of the hookd
// the bench starts.
type hookdSettings func(*config.Config)

// startHookd starts (or, with -target, adopts) the hookd under test.
func startHookd(o options, tweak hookdSettings) (*hookdUnderTest, error) {
	if o.target != "" {
		return &hookdUnderTest{mode: "target", bases: []string{strings.TrimRight(o.target, "/")}}, nil
	}
	h := &hookdUnderTest{mode: "child process", store: "SQLite"}
	if o.inProcess {
		h.mode = "in-process"
	}
	ok := false
	defer func() {
		if !ok {
			h.stop()
		}
	}()
	db := o.db
	isPG := strings.HasPrefix(db, "postgres://") || strings.HasPrefix(db, "postgresql://")
	switch {
	case db == "":
		dir, err := os.MkdirTemp("", "hookd-bench")
		if err != nil {
			return nil, err
		}
		h.cleanup = append(h.cleanup, func() { os.RemoveAll(dir) })
		db = filepath.Join(dir, "hookd.db")
		h.sqlitePath = db
	case isPG:
		h.store = "PostgreSQL"
		var drop func()
		var err error
		base := db
		db, drop, err = pgstore.FreshSchema(context.Background(), db, "hookd_bench")
		if err != nil {
			return nil, err
		}
		h.cleanup = append(h.cleanup, drop)
		if h.pg, db, err = namePGNodes(base, db); err != nil {
			return nil, err
		}
	}
	if !isPG && h.sqlitePath == "" {
		h.sqlitePath = db
	}
	if o.nodes > 1 && !isPG {
		return nil, fmt.Errorf("-nodes %d needs -db postgres://...: SQLite serves one node", o.nodes)
	}
	secretKey := secrets.EncodeKey(secrets.GenerateKey()) // the same on every node
	for i := range o.nodes {
		cfg := config.Default()
		cfg.Addr = "127.0.0.1:0"
		cfg.DB = db
		cfg.APIKey = o.key
		cfg.SecretKey = secretKey
		cfg.AllowPrivateNetworks = true
		cfg.LogLevel = "warn"
		cfg.APIRate = 0 // the bench is the one client: measure hookd, not its guard
		cfg.ShutdownTimeout = 5 * time.Second
		if o.gather >= 0 {
			cfg.CommitGather = o.gather
		}
		if o.gatherMax >= 0 {
			cfg.CommitGatherMax = o.gatherMax
		}
		if tweak != nil {
			tweak(&cfg)
		}
		if o.cpuProfile != "" && !o.inProcess {
			addr, err := freeAddr()
			if err != nil {
				return nil, err
			}
			cfg.PprofAddr = addr
			h.pprofs = append(h.pprofs, addr)
		}
		var base string
		var err error
		if o.inProcess {
			base, err = h.startInProcess(cfg)
		} else {
			base, err = h.startChild(cfg, i)
		}
		if err != nil {
			return nil, err
		}
		h.bases = append(h.bases, base)
	}
	ok = true
	return h, nil
}

// startInProcess runs one hookd node in this process.
func (h *hookdUnderTest) startInProcess(cfg config.Config) (string, error) {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{Config: cfg, Logger: log, Version: "bench", Out: io.Discard, Ready: ready})
	}()
	select {
	case addr := <-ready:
		h.cleanup = append(h.cleanup, func() { cancel(); <-done })
		return "http://" + addr, nil
	case err := <-done:
		cancel()
		return "", err
	}
}

// startChild runs one hookd node as a child process: this binary again,
// in child mode.
func (h *hookdUnderTest) startChild(cfg config.Config, i int) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	cj, err := json.Marshal(cfg)
	if err != nil {
		return "", err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), childEnv+"=1", childConfigEnv+"="+string(cj))
	logBytes := new(atomic.Int64)
	cmd.Stderr = countingWriter{w: &prefixWriter{w: os.Stderr, prefix: fmt.Sprintf("hookd[%d]: ", i+1)}, n: logBytes}
	setParentDeathSignal(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	c := &child{cmd: cmd, pid: cmd.Process.Pid, done: make(chan struct{}), logBytes: logBytes}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(io.TeeReader(out, countingWriter{n: logBytes}))
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), readyLine); ok {
				addrc <- a
				break
			}
		}
		_, _ = io.Copy(countingWriter{n: logBytes}, out)
	}()
	go func() { _ = cmd.Wait(); close(c.done) }()
	h.nodes = append(h.nodes, c)
	h.cleanup = append(h.cleanup, c.stop)
	select {
	case addr := <-addrc:
		return "http://" + addr, nil
	case <-c.done:
		return "", fmt.Errorf("hookd node %d exited at start (%v); its log is above", i+1, cmd.ProcessState)
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("hookd node %d did not start within 60s", i+1)
	}
}

// stop ends the child: SIGTERM, then SIGKILL if it has not exited within
// 30s.
func (c *child) stop() {
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-c.done:
	case <-time.After(30 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
}

// stop stops every node and removes what startHookd made.
func (h *hookdUnderTest) stop() {
	for i := len(h.cleanup) - 1; i >= 0; i-- {
		h.cleanup[i]()
	}
	h.cleanup = nil
}

// measures reports whether the bench can measure the hookd's CPU and
// memory (it cannot measure a -target).
func (h *hookdUnderTest) measures() bool { return h.mode != "target" }

// cpu is the hookd's CPU time so far, all nodes together. In-process, it
// is the whole bench process's.
func (h *hookdUnderTest) cpu() time.Duration {
	switch h.mode {
	case "in-process":
		return selfCPU()
	case "child process":
		var sum time.Duration
		for _, c := range h.nodes {
			d, err := procCPU(c.pid)
			if err == nil {
				sum += d
			}
		}
		return sum
	}
	return 0
}

// rss is the hookd's resident memory now, all nodes together, in bytes.
func (h *hookdUnderTest) rss() int64 {
	return h.sumStatus("VmRSS")
}

// peakRSS is each node's peak resident memory so far (VmHWM), in bytes.
func (h *hookdUnderTest) peakRSS() []int64 {
	switch h.mode {
	case "in-process":
		n, _ := procStatus(os.Getpid(), "VmHWM")
		return []int64{n}
	case "child process":
		var out []int64
		for _, c := range h.nodes {
			n, _ := procStatus(c.pid, "VmHWM")
			out = append(out, n)
		}
		return out
	}
	return nil
}

func (h *hookdUnderTest) sumStatus(field string) int64 {
	switch h.mode {
	case "in-process":
		n, _ := procStatus(os.Getpid(), field)
		return n
	case "child process":
		var sum int64
		for _, c := range h.nodes {
			n, _ := procStatus(c.pid, field)
			sum += n
		}
		return sum
	}
	return 0
}

// startProfile starts a CPU profile of d into path: pprof.StartCPUProfile
// in-process, /debug/pprof/profile of each child's pprof listener
// otherwise (node 1 into path, node i into path.i). finish waits for it
// and closes the files.
func (h *hookdUnderTest) startProfile(path string, d time.Duration) (finish func() error, err error) {
	switch h.mode {
	case "target":
		return nil, fmt.Errorf("-cpuprofile needs the hookd the bench starts, not -target")
	case "in-process":
		f, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			return nil, err
		}
		return func() error { pprof.StopCPUProfile(); return f.Close() }, nil
	}
	secs := int(math.Ceil(d.Seconds()))
	errs := make([]error, len(h.pprofs))
	var wg sync.WaitGroup
	for i, addr := range h.pprofs {
		p := path
		if i > 0 {
			p = fmt.Sprintf("%s.%d", path, i+1)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = fetchProfile(fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, secs), p, d+30*time.Second)
		}()
	}
	return func() error {
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	}, nil
}

func fetchProfile(u, path string, timeout time.Duration) error {
	c := &http.Client{Timeout: timeout}
	resp, err := c.Get(u)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("cpu profile: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("cpu profile: %s: %d %s", u, resp.StatusCode, bytes.TrimSpace(b))
	}
	return os.WriteFile(path, b, 0o644)
}

// freeAddr picks a loopback address nothing listens on now.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// selfCPU is the bench process's CPU time so far (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// prefixWriter writes each line it is given to w after prefix.
type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s", p.prefix, p.buf[:i+1]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
