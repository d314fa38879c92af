package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/itchyny/gojq"

	"github.com/hookd/hookd/internal/hook"
)

// Context is what a delivery's body is rendered from.
type Context struct {
	Event       *hook.Event
	App         *hook.App // nil allowed: app fields then empty
	EndpointID  string
	EndpointUID string
	DeliveryID  string
	Attempt     int // number of this attempt, 1-based
}

// Input builds the value jq envelopes and filters run on:
//
//	{"id", "type", "created_at" (as FormatTime), "created" (Unix seconds),
//	 "data", "previous_attributes" (null when absent), "livemode",
//	 "request_id" (null when empty), "api_version" (the event's, else the
//	 app's, else null), "app": {"id","uid","name"},
//	 "endpoint": {"id","uid"}, "delivery": {"id","attempt"}}
//
// Numbers in data and previous_attributes are json.Number, which gojq
// computes with and prints back as written, so 12345678901234567890 and
// 4200 come out unchanged. With a nil App the app's fields are "".
func Input(c *Context) (map[string]any, error) {
	if c == nil || c.Event == nil {
		return nil, errors.New("envelope: no event to render")
	}
	p, err := decodePayload(c.Event)
	if err != nil {
		return nil, err
	}
	return input(c, p), nil
}

// payload is an event's data and previous_attributes, decoded for jq.
type payload struct{ data, prev any }

// decodePayload decodes ev's data ({} when there is none) and
// previous_attributes (nil when absent).
func decodePayload(ev *hook.Event) (payload, error) {
	p := payload{data: map[string]any{}}
	if len(ev.Data) > 0 {
		var err error
		if p.data, err = decodeJSON(ev.Data); err != nil {
			return payload{}, fmt.Errorf("envelope: event data: %w", err)
		}
	}
	if len(ev.PreviousAttributes) > 0 {
		var err error
		if p.prev, err = decodeJSON(ev.PreviousAttributes); err != nil {
			return payload{}, fmt.Errorf("envelope: event previous_attributes: %w", err)
		}
	}
	return p, nil
}

// input is Input with c's event payload decoded already. jq never changes
// its input, so several inputs may share one payload.
func input(c *Context, p payload) map[string]any {
	ev := c.Event
	app := map[string]any{"id": "", "uid": "", "name": ""}
	if c.App != nil {
		app["id"], app["uid"], app["name"] = c.App.ID, c.App.UID, c.App.Name
	}
	return map[string]any{
		"id":                  ev.ID,
		"type":                ev.Type,
		"created_at":          FormatTime(ev.CreatedAt),
		"created":             int(ev.CreatedAt.Unix()),
		"data":                p.data,
		"previous_attributes": p.prev,
		"livemode":            ev.Livemode,
		"request_id":          stringOrNil(ev.RequestID),
		"api_version":         stringOrNil(apiVersion(c)),
		"app":                 app,
		"endpoint":            map[string]any{"id": c.EndpointID, "uid": c.EndpointUID},
		"delivery":            map[string]any{"id": c.DeliveryID, "attempt": c.Attempt},
	}
}

func stringOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// decodeJSON decodes one JSON value, keeping numbers as json.Number.
func decodeJSON(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("invalid JSON: more than one value")
	}
	return v, nil
}

// Options tune a Renderer. Zero fields take their defaults.
type Options struct {
	Timeout     time.Duration // per jq run; default 100ms
	MaxBytes    int           // largest rendered body; default 4 MiB
	MaxPrograms int           // compiled-program cache entries; default 1024
	// Sandbox runs the jq programs in worker processes that bound their
	// memory and are killed when they overrun their time (see Sandbox).
	// nil runs them in this process, where a program can take as much
	// memory and, within one jq step, as much time as it likes: only for
	// trusted programs (tests, benchmarks). hookd serve always sets it.
	Sandbox *Sandbox
}

// Defaults of Options.
const (
	DefaultTimeout     = 100 * time.Millisecond
	DefaultMaxBytes    = 4 << 20
	DefaultMaxPrograms = 1024
)

func (o Options) withDefaults() Options {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MaxPrograms <= 0 {
		o.MaxPrograms = DefaultMaxPrograms
	}
	return o
}

// Renderer renders bodies and evaluates filters. It is safe for concurrent
// use. Its jq programs run in its Options.Sandbox, or in this process.
type Renderer struct {
	opt   Options
	local *programs // the programs run in this process (no sandbox)
}

// runner runs the jq programs of a request: this process's programs, or
// a Sandbox. key names the tenant the request is for (an app id), whose
// requests a sandbox keeps from taking every worker.
type runner interface {
	run(ctx context.Context, key string, req *runRequest) ([]runResult, error)
}

// NewRenderer returns a Renderer with options o.
func NewRenderer(o Options) *Renderer {
	o = o.withDefaults()
	return &Renderer{opt: o, local: newPrograms(o.MaxPrograms)}
}

func (r *Renderer) runner() runner {
	if r.opt.Sandbox != nil {
		return r.opt.Sandbox
	}
	return r.local
}

// Render returns the body bytes of spec s for c: the bytes that are signed
// and sent. A built-in profile is rendered by Go code. A jq Envelope must
// yield exactly one value; no value, several, a runtime error, a run over
// the timeout, a body over MaxBytes, a panic in the jq engine, or (in a
// sandbox) a run over the sandbox's memory is an error. The body is
// compact JSON with object keys sorted.
func (r *Renderer) Render(ctx context.Context, s Spec, c *Context) ([]byte, error) {
	if c == nil || c.Event == nil {
		return nil, errors.New("envelope: no event to render")
	}
	if s.Envelope == "" {
		ev := c.Event
		b, err := appendProfile(make([]byte, 0, len(ev.Data)+len(ev.PreviousAttributes)+256), s.Profile, c)
		if err != nil {
			return nil, err
		}
		if len(b) > r.opt.MaxBytes {
			return nil, tooLarge(r.opt.MaxBytes)
		}
		return b, nil
	}
	res, err := r.runOne(ctx, kindEnvelope, s.Envelope, c, tenant(c))
	if err != nil {
		return nil, err
	}
	return res.payload, nil
}

// Match evaluates the jq filter on Input(c) and reports whether its first
// output is truthy (anything but false and null); a filter with no output
// does not match, and the empty filter matches everything. A compile or
// runtime error, a timeout, a panic in the jq engine or (in a sandbox) a
// run over the sandbox's memory is returned.
func (r *Renderer) Match(ctx context.Context, filter string, c *Context) (bool, error) {
	if filter == "" {
		return true, nil
	}
	if c == nil || c.Event == nil {
		return false, errors.New("envelope: no event to render")
	}
	res, err := r.runOne(ctx, kindFilter, filter, c, tenant(c))
	if err != nil {
		return false, err
	}
	return len(res.payload) == 1 && res.payload[0] == 1, nil
}

// runOne runs one program on c for the tenant key and turns a failed run
// into its error.
func (r *Renderer) runOne(ctx context.Context, kind byte, src string, c *Context, key string) (runResult, error) {
	req := &runRequest{kind: kind, timeout: r.opt.Timeout, maxBytes: r.opt.MaxBytes,
		inputs: []*Context{c}, runs: []runSpec{{src: src}}}
	res, err := r.runner().run(ctx, key, req)
	if err != nil {
		return runResult{}, err
	}
	if err := resultError(ctx, res[0], r.opt.Timeout); err != nil {
		return runResult{}, err
	}
	return res[0], nil
}

// tenant is the app c is for, by id.
func tenant(c *Context) string {
	if c.App != nil && c.App.ID != "" {
		return c.App.ID
	}
	return c.Event.AppID
}

// FilterRun is one filter to evaluate for one delivery.
type FilterRun struct {
	Filter  string
	Context *Context
}

// FilterResult is what evaluating a FilterRun found. Undecided is set when
// the budget ran out before the filter gave its answer: the caller has to
// evaluate it again later (Match). Otherwise Err is the run's failure, if
// any, and Match its answer.
type FilterResult struct {
	Match     bool
	Err       error
	Undecided bool
}

// MatchAll evaluates filters for the tenant key (an app id) within budget,
// the time all of them may take together, waiting for a sandbox worker
// included. Each filter still has its own time limit. The filters the
// budget did not reach, or cut short, come back Undecided; so do all of
// them when ctx ends or the sandbox fails. The results are in the order of
// runs.
func (r *Renderer) MatchAll(ctx context.Context, key string, budget time.Duration, runs []FilterRun) []FilterResult {
	out := make([]FilterResult, len(runs))
	if len(runs) == 0 {
		return out
	}
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	req := &runRequest{kind: kindFilter, timeout: r.opt.Timeout, budget: budget, maxBytes: r.opt.MaxBytes,
		runs: make([]runSpec, len(runs))}
	index := make(map[*Context]int, 1)
	for i, fr := range runs {
		n, ok := index[fr.Context]
		if !ok {
			n = len(req.inputs)
			index[fr.Context] = n
			req.inputs = append(req.inputs, fr.Context)
		}
		req.runs[i] = runSpec{src: fr.Filter, input: n}
	}
	res, err := r.runner().run(ctx, key, req)
	for i := range out {
		if err != nil || res[i].code == resultUndecided {
			out[i].Undecided = true
			continue
		}
		if out[i].Err = resultError(context.Background(), res[i], r.opt.Timeout); out[i].Err == nil {
			out[i].Match = len(res[i].payload) == 1 && res[i].payload[0] == 1
		}
	}
	return out
}

// resultError is the error a run's result stands for (nil for resultOK);
// ctx is the caller's, whose own end is reported as such.
func resultError(ctx context.Context, res runResult, timeout time.Duration) error {
	var err error
	switch res.code {
	case resultOK:
		return nil
	case resultNoValue:
		err = errNoValue
	case resultSeveral:
		err = errSeveralValues
	case resultTimeout:
		err = &timeoutError{msg: string(res.payload)}
	case resultUndecided:
		err = fmt.Errorf("jq: the program ran longer than %v: %w", timeout, context.DeadlineExceeded)
	default:
		err = errors.New(string(res.payload))
	}
	if ctx.Err() != nil {
		return fmt.Errorf("jq: %w", ctx.Err())
	}
	return err
}

// timeoutError is a run stopped at its time limit; it is a
// context.DeadlineExceeded.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string { return e.msg }

// Is makes errors.Is(err, context.DeadlineExceeded) hold.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// programs is a bounded cache of compiled jq programs, by source (emptied
// when full), that runs requests in this process.
type programs struct {
	max      int
	mu       sync.RWMutex
	code     map[string]program
	compiles atomic.Int64 // compilations made, for tests
}

// program is a cached compilation: a compile error is cached too, so a
// broken stored program is not recompiled on every delivery.
type program struct {
	code *gojq.Code
	err  error
}

func newPrograms(max int) *programs {
	return &programs{max: max, code: make(map[string]program)}
}

// get returns the compiled src, from the cache when it is there.
func (p *programs) get(src string) (*gojq.Code, error) {
	p.mu.RLock()
	c, ok := p.code[src]
	p.mu.RUnlock()
	if ok {
		return c.code, c.err
	}
	p.compiles.Add(1)
	c.code, c.err = compile(src)
	p.mu.Lock()
	if len(p.code) >= p.max {
		clear(p.code)
	}
	p.code[src] = c
	p.mu.Unlock()
	return c.code, c.err
}

// run runs req in this process.
func (p *programs) run(ctx context.Context, _ string, req *runRequest) ([]runResult, error) {
	res := make([]runResult, 0, len(req.runs))
	_ = execute(ctx, req, p, func(r runResult) error { res = append(res, r); return nil })
	return res, nil
}

// execute runs req's programs one after another, each within req.timeout
// and all within req.budget when it is set: a run the budget cuts short,
// and the runs after it, are resultUndecided. It gives emit each run's
// result as soon as it has it, in order, and stops at emit's first error.
// It is what a sandbox worker does with a request, and what a Renderer
// without a sandbox does.
func execute(ctx context.Context, req *runRequest, progs *programs, emit func(runResult) error) error {
	var deadline time.Time
	if req.budget > 0 {
		deadline = time.Now().Add(req.budget)
	}
	payloads := make(map[*hook.Event]payload, 1)
	inputs := make([]map[string]any, len(req.inputs))
	for _, run := range req.runs {
		if err := emit(runOne(ctx, req, progs, run, deadline, payloads, inputs)); err != nil {
			return err
		}
	}
	return nil
}

// runOne is one run of execute; payloads and inputs keep what the runs
// before it decoded and built.
func runOne(ctx context.Context, req *runRequest, progs *programs, run runSpec, deadline time.Time,
	payloads map[*hook.Event]payload, inputs []map[string]any) runResult {
	timeout, cut := req.timeout, false
	if !deadline.IsZero() {
		left := time.Until(deadline)
		if left <= 0 {
			return runResult{code: resultUndecided}
		}
		if left < timeout {
			timeout, cut = left, true
		}
	}
	code, err := progs.get(run.src)
	if err != nil {
		return errorResult(err)
	}
	in := inputs[run.input]
	if in == nil {
		c := req.inputs[run.input]
		p, ok := payloads[c.Event]
		if !ok {
			if p, err = decodePayload(c.Event); err != nil {
				return errorResult(err)
			}
			payloads[c.Event] = p
		}
		in = input(c, p)
		inputs[run.input] = in
	}
	var res runResult
	if req.kind == kindEnvelope {
		body, err := runEnvelope(ctx, code, in, timeout, req.maxBytes)
		if err == nil {
			return runResult{code: resultOK, payload: body}
		}
		res = errorResult(err)
	} else {
		match, err := runFilter(ctx, code, in, timeout)
		if err == nil {
			if match {
				return runResult{code: resultOK, payload: []byte{1}}
			}
			return runResult{code: resultOK, payload: []byte{0}}
		}
		res = errorResult(err)
	}
	if cut && res.code == resultTimeout {
		return runResult{code: resultUndecided}
	}
	return res
}

// errorResult is the result of a run that failed with err.
func errorResult(err error) runResult {
	switch {
	case errors.Is(err, errNoValue):
		return runResult{code: resultNoValue}
	case errors.Is(err, errSeveralValues):
		return runResult{code: resultSeveral}
	case errors.Is(err, context.DeadlineExceeded):
		return runResult{code: resultTimeout, payload: []byte(err.Error())}
	}
	return runResult{code: resultFailed, payload: []byte(err.Error())}
}

// compile parses and compiles a jq program. The program sees no
// environment variables, and input, inputs and modules are refused.
func compile(src string) (code *gojq.Code, err error) {
	defer func() {
		if p := recover(); p != nil {
			code, err = nil, fmt.Errorf("jq: compiler panic: %v", p)
		}
	}()
	q, err := gojq.Parse(src)
	if err != nil {
		var pe *gojq.ParseError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("jq: %v (at offset %d)", err, pe.Offset)
		}
		return nil, fmt.Errorf("jq: %w", err)
	}
	if err := rewriteMul(q); err != nil {
		return nil, err
	}
	code, err = gojq.Compile(q, gojq.WithEnvironLoader(func() []string { return nil }),
		gojq.WithFunction(mulFunc, 2, 2, checkedMul))
	if err != nil {
		return nil, fmt.Errorf("jq: %w", err)
	}
	return code, nil
}

// runEnvelope runs an envelope program on in and encodes its one output.
func runEnvelope(ctx context.Context, code *gojq.Code, in any, timeout time.Duration, maxBytes int) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, fmt.Errorf("jq: panic: %v", p)
		}
	}()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	iter := code.RunWithContext(rctx, in)
	v, ok := iter.Next()
	if e, isErr := v.(error); ok && isErr {
		if !halted(e) {
			return nil, runError(ctx, e, timeout)
		}
		ok = false
	}
	if !ok {
		return nil, errNoValue
	}
	if v2, ok := iter.Next(); ok {
		if e, isErr := v2.(error); isErr {
			if halted(e) {
				return appendJSON(make([]byte, 0, 1024), v, maxBytes)
			}
			return nil, runError(ctx, e, timeout)
		}
		return nil, errSeveralValues
	}
	return appendJSON(make([]byte, 0, 1024), v, maxBytes)
}

// Errors of an envelope's output count.
var (
	errNoValue       = errors.New("jq: the envelope yielded no value; it must yield exactly one")
	errSeveralValues = errors.New("jq: the envelope yielded several values; it must yield exactly one")
)

// runFilter runs a filter program on in and returns its first output's
// truthiness.
func runFilter(ctx context.Context, code *gojq.Code, in any, timeout time.Duration) (match bool, err error) {
	defer func() {
		if p := recover(); p != nil {
			match, err = false, fmt.Errorf("jq: panic: %v", p)
		}
	}()
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	v, ok := code.RunWithContext(rctx, in).Next()
	if !ok {
		return false, nil
	}
	switch v := v.(type) {
	case error:
		if halted(v) {
			return false, nil
		}
		return false, runError(ctx, v, timeout)
	case nil:
		return false, nil
	case bool:
		return v, nil
	}
	return true, nil
}

// runError describes an error a jq run yielded; parent is the caller's
// context, whose own end is reported as such.
func runError(parent context.Context, err error, timeout time.Duration) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		if parent.Err() != nil {
			return fmt.Errorf("jq: %w", parent.Err())
		}
		return fmt.Errorf("jq: the program ran longer than %v: %w", timeout, err)
	}
	return fmt.Errorf("jq: %w", err)
}

func tooLarge(limit int) error {
	return fmt.Errorf("envelope: the body is larger than %d bytes", limit)
}

// halted reports whether v is what halt yields: not an error, the end of
// the program's output.
func halted(err error) bool {
	var h *gojq.HaltError
	return errors.As(err, &h) && h.Value() == nil
}
