package envelope

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
)

// A Sandbox runs jq programs in worker processes, so that a program cannot
// hurt hookd or the other tenants whatever it does:
//
//   - Memory: each worker may map at most SandboxOptions.MemoryBytes of
//     writable memory (RLIMIT_DATA, set by the worker on itself before it
//     reads a request). A program that needs more makes the allocation fail;
//     the worker dies, the run is an ErrMemory, and a new worker is started
//     for the next run. One jq builtin that builds a gigabyte (tojson, join,
//     add, @base64 of a value that shares a big string many times) can no
//     longer grow hookd.
//   - Time: gojq checks a run's deadline between its steps; a step that
//     runs long (the same builtins) is ended by killing the worker once the
//     run has had its time limit and most of it again, so no run outlives
//     twice its limit.
//   - CPU: a worker uses one thread for Go code (GOMAXPROCS 1), and runs at
//     a lower scheduling priority (nice 10) than hookd, which keeps serving
//     while workers spin.
//   - Fairness: at most SandboxOptions.PerTenant workers run one tenant's
//     (app's) programs at once, and waiting tenants are served in turn, so
//     one app's programs cannot take every worker.
//
// Workers are the hookd binary itself (os.Executable), started on first use
// with HOOKD_JQ_WORKER=1: its main must call WorkerMain first thing. A test
// binary that uses a Sandbox calls WorkerMain from TestMain.
type Sandbox struct {
	opt SandboxOptions

	mu      sync.Mutex
	idle    []*worker
	workers int            // alive or starting, at most opt.Workers
	busy    map[string]int // workers held, per tenant
	waiting map[string][]*waiter
	turns   []string // tenants with waiters, in the order they are served
	closed  bool
}

// SandboxOptions configure a Sandbox. Zero fields take their defaults.
type SandboxOptions struct {
	// Command starts a worker: a program whose main calls WorkerMain.
	// Default: this executable.
	Command []string
	// Workers bounds the worker processes; default max(2, GOMAXPROCS).
	Workers int
	// PerTenant bounds the workers one tenant holds at once; default
	// max(1, Workers/2).
	PerTenant int
	// MemoryBytes bounds the writable memory a worker maps beyond what
	// it maps idle (DefaultSandboxMemory): the memory a program, its
	// input and its output may take.
	MemoryBytes int64
	// MaxWait bounds the wait for a worker when the caller's context has
	// no deadline (default 5 s): a run that waits longer fails with a
	// SandboxError. A delivery attempt holds one of the dispatcher's slots
	// while it waits.
	MaxWait time.Duration
	// MaxWaiting bounds the runs of one tenant waiting for a worker
	// (default 64): one more fails at once, a SandboxError.
	MaxWaiting int
	Logger     *slog.Logger
}

// DefaultSandboxMemory is a worker's memory when SandboxOptions leave it 0.
const DefaultSandboxMemory = 64 << 20

// Environment of a worker process.
const (
	workerEnv       = "HOOKD_JQ_WORKER"
	workerMemoryEnv = "HOOKD_JQ_WORKER_MEMORY"
)

// ErrMemory is a run that needed more memory than its sandbox allows.
var ErrMemory = errors.New("jq: the program needed more memory than the sandbox allows")

// ErrWorkerDied is a run whose worker died of something else than its
// memory limit or its deadline: a program that crashed the jq engine.
var ErrWorkerDied = errors.New("jq: the program ended its worker")

// SandboxError is a sandbox that could not run a program: a worker that
// does not start or answers nonsense, or a wait for a worker that ran out.
type SandboxError struct{ Err error }

func (e *SandboxError) Error() string { return "jq sandbox: " + e.Err.Error() }
func (e *SandboxError) Unwrap() error { return e.Err }

// NewSandbox returns a sandbox; it starts no worker before the first run.
func NewSandbox(o SandboxOptions) (*Sandbox, error) {
	if os.Getenv(workerEnv) != "" {
		// A worker that started a sandbox would start workers of its
		// own, and so on.
		return nil, errors.New("envelope: a jq worker cannot start a sandbox")
	}
	if len(o.Command) == 0 {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("envelope: the jq sandbox runs this executable: %w", err)
		}
		o.Command = []string{exe}
	}
	if o.Workers <= 0 {
		o.Workers = max(2, runtime.GOMAXPROCS(0))
	}
	if o.PerTenant <= 0 {
		o.PerTenant = max(1, o.Workers/2)
	}
	if o.MemoryBytes <= 0 {
		o.MemoryBytes = DefaultSandboxMemory
	}
	if o.MaxWait <= 0 {
		o.MaxWait = 5 * time.Second
	}
	if o.MaxWaiting <= 0 {
		o.MaxWaiting = 64
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sandbox{opt: o, busy: make(map[string]int), waiting: make(map[string][]*waiter)}, nil
}

// Close stops every worker; runs in progress fail, later ones too.
func (s *Sandbox) Close() error {
	s.mu.Lock()
	s.closed = true
	idle := s.idle
	s.idle = nil
	for _, q := range s.waiting {
		for _, w := range q {
			close(w.ready)
		}
	}
	clear(s.waiting)
	s.turns = nil
	s.mu.Unlock()
	for _, w := range idle {
		w.stop()
	}
	return nil
}

// waiter is a run waiting for a worker: ready gets one (nil: start a new
// worker), or is closed when the sandbox closes.
type waiter struct {
	tenant string
	ready  chan *worker
}

var (
	errClosed = errors.New("the sandbox is closed")
	errBusy   = errors.New("too many of this tenant's programs are waiting for a worker")
)

// run runs req on a worker held for tenant. Results stand for the runs'
// own failures; the error is the sandbox's (see SandboxError), except a
// worker that died of its memory limit or was killed at its deadline,
// whose error is every run's.
func (s *Sandbox) run(ctx context.Context, tenant string, req *runRequest) ([]runResult, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opt.MaxWait)
		defer cancel()
	}
	w, err := s.acquire(ctx, tenant)
	if err != nil {
		return nil, err
	}
	if w == nil {
		if w, err = startWorker(s.opt); err != nil {
			s.release(tenant, nil)
			s.opt.Logger.Error("jq sandbox: starting a worker", "err", err)
			return nil, &SandboxError{Err: err}
		}
	}
	if req.budget > 0 {
		// The budget counts from the caller's start: what the wait for
		// a worker took is gone.
		d, _ := ctx.Deadline()
		left := time.Until(d)
		if left <= 0 {
			s.release(tenant, w)
			return undecided(len(req.runs)), nil
		}
		r := *req
		r.budget = min(r.budget, left)
		req = &r
	}
	res, alive, err := w.call(req, hardLimit(req))
	if !alive {
		w.stop()
		s.release(tenant, nil)
		// The replacement starts now, not on the next run's time.
		go s.replace()
	} else {
		s.release(tenant, w)
	}
	var se *SandboxError
	if err == nil || req.budget == 0 || errors.As(err, &se) {
		return res, err
	}
	// A budgeted request keeps what its worker decided before the run
	// that was killed or killed it: that run failed (its memory, a
	// crash) or is undecided (its time, which the budget cut short), and
	// the runs after it are undecided.
	if errors.Is(err, context.DeadlineExceeded) {
		res = append(res, runResult{code: resultUndecided})
	} else {
		res = append(res, runResult{code: resultFailed, payload: []byte(err.Error())})
	}
	for len(res) < len(req.runs) {
		res = append(res, runResult{code: resultUndecided})
	}
	return res, nil
}

// undecided is the results of n runs that were not made.
func undecided(n int) []runResult {
	res := make([]runResult, n)
	for i := range res {
		res[i].code = resultUndecided
	}
	return res
}

// hardLimit is how long a worker may take to answer req before it is
// killed: 1.5 times what its runs may take, so that with the time it
// takes to kill it and notice, no run outlives twice its limit.
func hardLimit(req *runRequest) time.Duration {
	d := req.timeout * time.Duration(len(req.runs))
	if req.budget > 0 {
		d = min(d, req.budget)
	}
	return d * 3 / 2
}

// acquire waits for a worker for tenant: an idle one, nil to start one, or
// an error when ctx ends or the sandbox closes first.
func (s *Sandbox) acquire(ctx context.Context, tenant string) (*worker, error) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, &SandboxError{Err: errClosed}
	}
	if s.busy[tenant] < s.opt.PerTenant && len(s.waiting[tenant]) == 0 {
		if n := len(s.idle); n > 0 {
			w := s.idle[n-1]
			s.idle = s.idle[:n-1]
			s.busy[tenant]++
			s.mu.Unlock()
			return w, nil
		}
		if s.workers < s.opt.Workers {
			s.workers++
			s.busy[tenant]++
			s.mu.Unlock()
			return nil, nil
		}
	}
	if len(s.waiting[tenant]) >= s.opt.MaxWaiting {
		s.mu.Unlock()
		return nil, &SandboxError{Err: errBusy}
	}
	wt := &waiter{tenant: tenant, ready: make(chan *worker, 1)}
	if len(s.waiting[tenant]) == 0 {
		s.turns = append(s.turns, tenant)
	}
	s.waiting[tenant] = append(s.waiting[tenant], wt)
	s.mu.Unlock()

	select {
	case w, ok := <-wt.ready:
		if !ok {
			return nil, &SandboxError{Err: errClosed}
		}
		return w, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	q := s.waiting[tenant]
	for i, x := range q {
		if x == wt {
			s.waiting[tenant] = append(q[:i:i], q[i+1:]...)
			s.dropTurnLocked(tenant)
			s.mu.Unlock()
			return nil, &SandboxError{Err: fmt.Errorf("no worker was free in time: %w", ctx.Err())}
		}
	}
	s.mu.Unlock()
	// Handed a worker (or closed) as ctx ended: give it back.
	if w, ok := <-wt.ready; ok {
		s.release(tenant, w)
	}
	return nil, &SandboxError{Err: fmt.Errorf("no worker was free in time: %w", ctx.Err())}
}

// dropTurnLocked removes tenant from the turns when it has no waiter left.
func (s *Sandbox) dropTurnLocked(tenant string) {
	if len(s.waiting[tenant]) > 0 {
		return
	}
	delete(s.waiting, tenant)
	for i, t := range s.turns {
		if t == tenant {
			s.turns = append(s.turns[:i:i], s.turns[i+1:]...)
			return
		}
	}
}

// release gives back tenant's worker w (nil when it died) and hands the
// room to the next waiter whose tenant is under its share, in turn.
func (s *Sandbox) release(tenant string, w *worker) {
	s.mu.Lock()
	s.busy[tenant]--
	if s.busy[tenant] == 0 {
		delete(s.busy, tenant)
	}
	if w == nil {
		s.workers--
	}
	s.handOffLocked(w)
}

// handOffLocked gives worker w (nil: room for one) to the next waiter
// whose tenant is under its share, in turn, or keeps it idle; it unlocks
// s.mu.
func (s *Sandbox) handOffLocked(w *worker) {
	if s.closed {
		s.mu.Unlock()
		if w != nil {
			w.stop()
		}
		return
	}
	for i, t := range s.turns {
		if s.busy[t] >= s.opt.PerTenant {
			continue
		}
		if w == nil {
			if s.workers >= s.opt.Workers {
				break
			}
			s.workers++
		}
		q := s.waiting[t]
		wt := q[0]
		s.waiting[t] = q[1:]
		// The tenant served goes to the back of the turns.
		s.turns = append(s.turns[:i:i], s.turns[i+1:]...)
		if len(s.waiting[t]) > 0 {
			s.turns = append(s.turns, t)
		} else {
			delete(s.waiting, t)
		}
		s.busy[t]++
		wt.ready <- w
		s.mu.Unlock()
		return
	}
	if w != nil {
		s.idle = append(s.idle, w)
	}
	s.mu.Unlock()
}

// replace starts a worker in place of one that died, when there is room
// for it, and hands it to the next waiter or keeps it idle.
func (s *Sandbox) replace() {
	s.mu.Lock()
	if s.closed || s.workers >= s.opt.Workers {
		s.mu.Unlock()
		return
	}
	s.workers++
	s.mu.Unlock()
	w, err := startWorker(s.opt)
	if err != nil {
		s.opt.Logger.Error("jq sandbox: starting a worker", "err", err)
		w = nil
	}
	s.mu.Lock()
	if w == nil {
		s.workers--
	}
	s.handOffLocked(w)
}

// worker is one worker process and its pipes.
type worker struct {
	cmd    *exec.Cmd
	in     *os.File // requests
	out    *bufio.Reader
	outF   *os.File
	stderr *headBuffer
	memory int64
	buf    []byte
	done   chan struct{} // closed once the process is reaped
}

// startWorker starts a worker process.
func startWorker(o SandboxOptions) (*worker, error) {
	reqR, reqW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	resR, resW, err := os.Pipe()
	if err != nil {
		reqR.Close()
		reqW.Close()
		return nil, err
	}
	cmd := exec.Command(o.Command[0], o.Command[1:]...)
	// Nothing of hookd's environment (its keys, its database's URL) goes
	// to a process that runs tenants' programs.
	cmd.Env = []string{workerEnv + "=1", workerMemoryEnv + "=" + strconv.FormatInt(o.MemoryBytes, 10), "GOTRACEBACK=none"}
	cmd.ExtraFiles = []*os.File{reqR, resW} // fds 3 and 4
	w := &worker{cmd: cmd, in: reqW, outF: resR, out: bufio.NewReaderSize(resR, 64<<10),
		stderr: &headBuffer{max: 4 << 10}, memory: o.MemoryBytes, done: make(chan struct{})}
	cmd.Stderr = w.stderr
	setWorkerAttrs(cmd)
	err = cmd.Start()
	reqR.Close()
	resW.Close()
	if err != nil {
		reqW.Close()
		resR.Close()
		return nil, err
	}
	go func() { _ = cmd.Wait(); close(w.done) }()
	// The worker says it is ready once started and bounded, so that no
	// run's time goes to starting it.
	ready := make(chan error, 1)
	go func() {
		b, err := w.out.ReadByte()
		if err == nil && b != workerReady {
			err = errWire
		}
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(workerStartTimeout):
		err = errors.New("no answer")
	}
	if err != nil {
		w.stop()
		if head := w.stderr.String(); head != "" {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(head))
		}
		return nil, fmt.Errorf("starting a worker: %w", err)
	}
	return w, nil
}

// workerReady is the byte a worker writes once it is ready for requests.
const workerReady = '!'

// workerStartTimeout bounds a worker's start.
const workerStartTimeout = 10 * time.Second

// call sends req and reads its results, killing the worker when they take
// longer than limit. When err is set, res holds the results read before
// the failure, which is that of the run after them. alive is false when
// the worker cannot be used again.
func (w *worker) call(req *runRequest, limit time.Duration) (res []runResult, alive bool, err error) {
	w.buf = encodeRequest(append(w.buf[:0], make([]byte, frameHeader)...), req)
	killed := make(chan struct{})
	timer := time.AfterFunc(limit, func() {
		close(killed)
		_ = w.cmd.Process.Kill()
		// Do not wait for the process to be gone (tearing down its
		// memory takes a while on a busy machine): the answer is over.
		_ = w.outF.SetReadDeadline(time.Now())
		_ = w.in.SetWriteDeadline(time.Now())
	})
	err = writeFrame(w.in, w.buf)
	res = make([]runResult, 0, len(req.runs))
	for err == nil && len(res) < len(req.runs) {
		var frame []byte
		if frame, err = readFrame(w.out, w.buf); err == nil {
			var r runResult
			if r, err = decodeResult(frame); err != nil {
				timer.Stop()
				return res, false, &SandboxError{Err: err}
			}
			res = append(res, r)
		}
	}
	stopped := timer.Stop()
	if cap(w.buf) > 1<<20 {
		w.buf = nil // do not keep a large request's buffer
	}
	if err == nil {
		return res, stopped, nil
	}
	if !stopped {
		<-killed
		return res, false, &timeoutError{msg: fmt.Sprintf("jq: the program ran longer than %v and was stopped: %v", req.timeout, context.DeadlineExceeded)}
	}
	// The worker died: of its memory limit, or of something else.
	select {
	case <-w.done:
	case <-time.After(time.Second):
	}
	head := w.stderr.String()
	if isMemoryDeath(head) {
		return res, false, fmt.Errorf("%w (%d MiB)", ErrMemory, w.memory>>20)
	}
	// Another death in a run is the program's doing too (a stack
	// overflow that took the runtime down, say): hookd itself is fine.
	line, _, _ := strings.Cut(head, "\n")
	if line == "" {
		line = err.Error()
	}
	return res, false, fmt.Errorf("%w: %s", ErrWorkerDied, line)
}

// isMemoryDeath tells, from the start of what a worker wrote on stderr,
// that it died of its memory limit (an allocation refused, or a stack
// grown past its bound).
func isMemoryDeath(stderr string) bool {
	for _, s := range []string{"out of memory", "stack exceeds", "cannot allocate memory", "stack overflow"} {
		if strings.Contains(stderr, s) {
			return true
		}
	}
	return false
}

// stop kills the worker and closes its pipes; the process is reaped in
// the background.
func (w *worker) stop() {
	_ = w.cmd.Process.Kill()
	w.in.Close()
	w.outF.Close()
}

// headBuffer keeps the first max bytes written to it.
type headBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (h *headBuffer) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if n := h.max - len(h.b); n > 0 {
		h.b = append(h.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (h *headBuffer) String() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return string(h.b)
}

var _ io.Writer = (*headBuffer)(nil)
