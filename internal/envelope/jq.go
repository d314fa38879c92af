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
	ev := c.Event
	var data any = map[string]any{}
	if len(ev.Data) > 0 {
		var err error
		if data, err = decodeJSON(ev.Data); err != nil {
			return nil, fmt.Errorf("envelope: event data: %w", err)
		}
	}
	var prev any
	if len(ev.PreviousAttributes) > 0 {
		var err error
		if prev, err = decodeJSON(ev.PreviousAttributes); err != nil {
			return nil, fmt.Errorf("envelope: event previous_attributes: %w", err)
		}
	}
	app := map[string]any{"id": "", "uid": "", "name": ""}
	if c.App != nil {
		app["id"], app["uid"], app["name"] = c.App.ID, c.App.UID, c.App.Name
	}
	return map[string]any{
		"id":                  ev.ID,
		"type":                ev.Type,
		"created_at":          FormatTime(ev.CreatedAt),
		"created":             int(ev.CreatedAt.Unix()),
		"data":                data,
		"previous_attributes": prev,
		"livemode":            ev.Livemode,
		"request_id":          stringOrNil(ev.RequestID),
		"api_version":         stringOrNil(apiVersion(c)),
		"app":                 app,
		"endpoint":            map[string]any{"id": c.EndpointID, "uid": c.EndpointUID},
		"delivery":            map[string]any{"id": c.DeliveryID, "attempt": c.Attempt},
	}, nil
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
// use, and keeps the jq programs it compiled, by source, in a bounded cache
// (emptied when full).
type Renderer struct {
	opt      Options
	mu       sync.RWMutex
	programs map[string]program
	compiles atomic.Int64 // compilations made, for tests
}

// program is a cached compilation: a compile error is cached too, so a
// broken stored program is not recompiled on every delivery.
type program struct {
	code *gojq.Code
	err  error
}

// NewRenderer returns a Renderer with options o.
func NewRenderer(o Options) *Renderer {
	o = o.withDefaults()
	return &Renderer{opt: o, programs: make(map[string]program)}
}

// Render returns the body bytes of spec s for c: the bytes that are signed
// and sent. A built-in profile is rendered by Go code. A jq Envelope must
// yield exactly one value; no value, several, a runtime error, a run over
// the timeout, or a body over MaxBytes is an error, and so is a panic in
// the jq engine. The body is compact JSON with object keys sorted.
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
	code, err := r.program(s.Envelope)
	if err != nil {
		return nil, err
	}
	in, err := Input(c)
	if err != nil {
		return nil, err
	}
	return runEnvelope(ctx, code, in, r.opt)
}

// Match evaluates the jq filter on Input(c) and reports whether its first
// output is truthy (anything but false and null); a filter with no output
// does not match, and the empty filter matches everything. A compile or
// runtime error, a timeout, or a panic in the jq engine is returned.
func (r *Renderer) Match(ctx context.Context, filter string, c *Context) (bool, error) {
	if filter == "" {
		return true, nil
	}
	code, err := r.program(filter)
	if err != nil {
		return false, err
	}
	in, err := Input(c)
	if err != nil {
		return false, err
	}
	return runFilter(ctx, code, in, r.opt.Timeout)
}

// program returns the compiled src, from the cache when it is there.
func (r *Renderer) program(src string) (*gojq.Code, error) {
	r.mu.RLock()
	p, ok := r.programs[src]
	r.mu.RUnlock()
	if ok {
		return p.code, p.err
	}
	r.compiles.Add(1)
	p.code, p.err = compile(src)
	r.mu.Lock()
	if len(r.programs) >= r.opt.MaxPrograms {
		clear(r.programs)
	}
	r.programs[src] = p
	r.mu.Unlock()
	return p.code, p.err
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
func runEnvelope(ctx context.Context, code *gojq.Code, in any, o Options) (body []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			body, err = nil, fmt.Errorf("jq: panic: %v", p)
		}
	}()
	rctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	iter := code.RunWithContext(rctx, in)
	v, ok := iter.Next()
	if e, isErr := v.(error); ok && isErr {
		if !halted(e) {
			return nil, runError(ctx, e, o.Timeout)
		}
		ok = false
	}
	if !ok {
		return nil, errNoValue
	}
	if v2, ok := iter.Next(); ok {
		if e, isErr := v2.(error); isErr {
			if halted(e) {
				return appendJSON(make([]byte, 0, 1024), v, o.MaxBytes)
			}
			return nil, runError(ctx, e, o.Timeout)
		}
		return nil, errSeveralValues
	}
	return appendJSON(make([]byte, 0, 1024), v, o.MaxBytes)
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
