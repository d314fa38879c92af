package envelope

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/itchyny/gojq"

	"github.com/hookd/hookd/internal/hook"
)

func orderContext(typ, data string) *Context {
	return &Context{
		Event: &hook.Event{
			ID: "evt_01", AppID: "app_01", Type: typ, Data: json.RawMessage(data),
			Livemode: true, RequestID: "req_9", CreatedAt: testTime,
		},
		App:         &hook.App{ID: "app_01", UID: "acme", Name: "Acme Shop", APIVersion: "2026-01-01"},
		EndpointID:  "ep_01",
		EndpointUID: "acme-erp",
		DeliveryID:  "dlv_01",
		Attempt:     3,
	}
}

func TestInputFields(t *testing.T) {
	t.Parallel()
	c := orderContext("order.updated", `{"order_id":"ord_1","total":4200}`)
	c.Event.PreviousAttributes = json.RawMessage(`{"total":4100}`)
	in, err := Input(c)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"id":                  "evt_01",
		"type":                "order.updated",
		"created_at":          "2026-11-23T09:00:00.123Z",
		"created":             1795424400,
		"data":                map[string]any{"order_id": "ord_1", "total": json.Number("4200")},
		"previous_attributes": map[string]any{"total": json.Number("4100")},
		"livemode":            true,
		"request_id":          "req_9",
		"api_version":         "2026-01-01",
		"app":                 map[string]any{"id": "app_01", "uid": "acme", "name": "Acme Shop"},
		"endpoint":            map[string]any{"id": "ep_01", "uid": "acme-erp"},
		"delivery":            map[string]any{"id": "dlv_01", "attempt": 3},
	}
	for k, w := range want {
		checkValue(t, in, k, w)
	}
	if len(in) != len(want) {
		t.Errorf("Input has %d keys, want %d: %v", len(in), len(want), in)
	}
}

func TestInputAbsentValues(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ev     hook.Event
		app    *hook.App
		apiVer any
	}{
		{"nil app", hook.Event{Type: "a.b"}, nil, nil},
		{"app without version", hook.Event{Type: "a.b"}, &hook.App{ID: "app_1"}, nil},
		{"app version", hook.Event{Type: "a.b"}, &hook.App{APIVersion: "v2"}, "v2"},
		{"event version wins", hook.Event{Type: "a.b", APIVersion: "v1"}, &hook.App{APIVersion: "v2"}, "v1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in, err := Input(&Context{Event: &tt.ev, App: tt.app})
			if err != nil {
				t.Fatal(err)
			}
			checkValue(t, in, "api_version", tt.apiVer)
			checkValue(t, in, "request_id", nil)
			checkValue(t, in, "previous_attributes", nil)
			checkValue(t, in, "data", map[string]any{})
			checkValue(t, in, "livemode", false)
			if tt.app == nil {
				checkValue(t, in, "app", map[string]any{"id": "", "uid": "", "name": ""})
			}
			checkValue(t, in, "delivery", map[string]any{"id": "", "attempt": 0})
		})
	}
}

func TestInputRefusesInvalidJSON(t *testing.T) {
	t.Parallel()
	for _, ev := range []hook.Event{
		{Type: "a.b", Data: json.RawMessage(`{"a":`)},
		{Type: "a.b", Data: json.RawMessage(`{} {}`)},
		{Type: "a.b", Data: json.RawMessage(`{}`), PreviousAttributes: json.RawMessage(`nope`)},
	} {
		if _, err := Input(&Context{Event: &ev}); err == nil {
			t.Errorf("Input(data %s, previous %s): no error", ev.Data, ev.PreviousAttributes)
		}
	}
}

func TestNumbersSurvive(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{})
	data := `{"big":12345678901234567890,"e":1e400,"f":1.50,"n":4200,"neg":-12345678901234567890123,"z":-0}`
	tests := []struct {
		program, want string
	}{
		{".data", data},
		{"[.data.big, .data.n, .data.f]", `[12345678901234567890,4200,1.50]`},
		{"{b: (.data.big + 1), n: (.data.n * 2), h: (.data.n / 100)}", `{"b":12345678901234567891,"h":42,"n":8400}`},
		{".data.big == 12345678901234567890 and .data.n == 4200", `true`},
		{".data.neg - 1", `-12345678901234567890124`},
		{".data.f * 2", `3`},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			t.Parallel()
			body := render(t, r, Spec{Envelope: tt.program}, orderContext("order.created", data))
			if string(body) != tt.want {
				t.Errorf("%s = %s, want %s", tt.program, body, tt.want)
			}
		})
	}
	in, err := Input(orderContext("order.created", data))
	if err != nil {
		t.Fatal(err)
	}
	checkValue(t, in, "data.big", json.Number("12345678901234567890"))
}

func TestEnvelopeRestructures(t *testing.T) {
	t.Parallel()
	const program = `{
		event: .type, order: .data.order_id, amount: (.data.total / 100),
		currency: (.data.currency | ascii_downcase), lines: [.data.items[] | {sku, qty: .quantity}],
		tenant: .app.uid, endpoint: .endpoint.uid, attempt: .delivery.attempt, when: .created,
		test: (.livemode | not), prev: .previous_attributes, version: .api_version
	}`
	c := orderContext("order.created", `{"order_id":"ord_1","total":4250,"currency":"EUR","items":[{"sku":"A","quantity":2},{"sku":"B\"<","quantity":1}]}`)
	body := render(t, NewRenderer(Options{}), Spec{Envelope: program}, c)
	const want = `{"amount":42.5,"attempt":3,"currency":"eur","endpoint":"acme-erp","event":"order.created","lines":[{"qty":2,"sku":"A"},{"qty":1,"sku":"B\"<"}],"order":"ord_1","prev":null,"tenant":"acme","test":false,"version":"2026-01-01","when":1795424400}`
	if string(body) != want {
		t.Errorf("body\n got %s\nwant %s", body, want)
	}
}

func TestEnvelopeHaltEndsOutput(t *testing.T) {
	t.Parallel()
	body := render(t, NewRenderer(Options{}), Spec{Envelope: `{id}, halt, error("unreached")`}, orderContext("order.created", `{}`))
	if string(body) != `{"id":"evt_01"}` {
		t.Errorf("body = %s", body)
	}
}

func TestEnvelopeSeesNoEnvironment(t *testing.T) {
	t.Setenv("HOOKD_TEST_SECRET", "s3cret")
	r := NewRenderer(Options{})
	for _, program := range []string{"$ENV", "env", `{a: $ENV.HOOKD_TEST_SECRET, b: env.HOOKD_TEST_SECRET}`} {
		body := render(t, r, Spec{Envelope: program}, orderContext("order.created", `{}`))
		if strings.Contains(string(body), "s3cret") || strings.Contains(string(body), "PATH") {
			t.Errorf("%s = %s: the process environment leaks", program, body)
		}
	}
	for _, program := range []string{"input", "[inputs]", `import "a" as a; .`, `include "a"; .`} {
		if err := r.ValidateEnvelope(context.Background(), "app_01", "envelope", program); err == nil {
			t.Errorf("%s: accepted", program)
		}
	}
}

func TestRenderEnvelopeErrors(t *testing.T) {
	t.Parallel()
	const timeout = 20 * time.Millisecond
	// Programs that must time out run with 20ms; the others with plenty,
	// so that a busy machine does not turn their error into a timeout.
	short := NewRenderer(Options{Timeout: timeout, MaxBytes: 1024})
	long := NewRenderer(Options{Timeout: 10 * time.Second, MaxBytes: 1024})
	tests := []struct {
		name, program, wantErr string
	}{
		{"no value", "empty", "no value"},
		{"two values", "1, 2", "several"},
		{"value then error", `1, error("late")`, "late"},
		{"runtime error", `error("x marks the spot")`, "x marks the spot"},
		{"type error", `.data.total | ascii_downcase`, "ascii_downcase"},
		{"compile error", `{a:`, "EOF"},
		{"unknown function", `nosuchfn`, "nosuchfn"},
		{"infinite recursion", `def f: f; f`, "longer than 20ms"},
		{"huge range", `[range(1e12)]`, "longer than 20ms"},
		{"endless second value", `1, (def f: f; f)`, "longer than 20ms"},
		{"repeat", `[limit(1e12; repeat(1))] | length`, "longer than 20ms"},
		{"too large array", `[range(2000)]`, "larger than 1024 bytes"},
		{"too large string", `"x" * 1100`, "larger than 1024 bytes"},
		{"too large data", `[.data, .data, .data, .data, .data, .data, .data, .data, .data, .data, .data, .data]`, "larger than 1024 bytes"},
		{"halt", `halt`, "no value"},
		{"halt_error", `"bye" | halt_error`, "bye"},
		{"two values then halt", `1, 2, halt`, "several"},
	}
	c := orderContext("order.created", `{"total":4200,"pad":"`+strings.Repeat("p", 100)+`"}`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := long
			if tt.wantErr == "longer than 20ms" {
				r = short
			}
			start := time.Now()
			var body []byte
			var err error
			stops(t, tt.program, func() { body, err = r.Render(context.Background(), Spec{Envelope: tt.program}, c) })
			took := time.Since(start)
			if err == nil {
				t.Fatalf("%s = %s, want an error", tt.program, body)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%s: error %q, want it to mention %q", tt.program, err, tt.wantErr)
			}
			// Generous for -race and a busy machine: the point is that the
			// run stops, close to the timeout.
			if r == short && took > 40*timeout {
				t.Errorf("%s took %v with a %v timeout", tt.program, took, timeout)
			}
		})
	}
}

func TestRenderReportsCallerCancellation(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{Timeout: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := r.Render(ctx, Spec{Envelope: `def f: f; f`}, orderContext("order.created", `{}`))
	if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "longer than") {
		t.Errorf("err = %v, want the caller's deadline", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	cancel()
	if _, err := r.Match(ctx, `def f: f; f`, orderContext("order.created", `{}`)); !errors.Is(err, context.Canceled) {
		t.Errorf("Match err = %v, want context.Canceled", err)
	}
}

func TestProgramCache(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{MaxPrograms: 2})
	c := orderContext("order.created", `{"a":1}`)
	ctx := context.Background()
	step := func(want int64, do func() error) {
		t.Helper()
		_ = do()
		if got := r.local.compiles.Load(); got != want {
			t.Fatalf("compilations = %d, want %d", got, want)
		}
	}
	renderOf := func(src string) func() error {
		return func() error { _, err := r.Render(ctx, Spec{Envelope: src}, c); return err }
	}
	matchOf := func(src string) func() error {
		return func() error { _, err := r.Match(ctx, src, c); return err }
	}
	step(1, renderOf(".data"))
	step(1, renderOf(".data"))
	step(1, renderOf(".data"))
	step(1, matchOf(".data")) // the same source is the same program
	step(2, matchOf(".type == \"order.created\""))
	step(2, matchOf(".type == \"order.created\""))
	step(2, renderOf(".data"))
	step(3, renderOf("{a:")) // full: emptied, then holds the broken one
	step(3, renderOf("{a:")) // compile errors are cached too
	step(4, renderOf(".data"))
	if _, err := r.Render(ctx, Spec{Envelope: "{a:"}, c); err == nil {
		t.Error("a cached compile error was not returned")
	}
	step(4, renderOf(".data"))
	if n := len(r.local.code); n > 2 {
		t.Errorf("cache holds %d programs, more than MaxPrograms", n)
	}
}

func TestRendererConcurrentUse(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{MaxPrograms: 3})
	c := orderContext("order.updated", `{"payment_status":"paid","n":1}`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				src := `{n: (.data.n + ` + string(rune('0'+(g+i)%5)) + `)}`
				if _, err := r.Render(context.Background(), Spec{Envelope: src}, c); err != nil {
					t.Error(err)
					return
				}
				if ok, err := r.Match(context.Background(), `.data.payment_status == "paid"`, c); err != nil || !ok {
					t.Errorf("Match = %v, %v", ok, err)
					return
				}
				if _, err := r.Render(context.Background(), Spec{Profile: hook.Profiles[i%len(hook.Profiles)]}, c); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestMatchTruthiness(t *testing.T) {
	t.Parallel()
	paid := orderContext("order.updated", `{"payment_status":"paid","total":4200,"big":12345678901234567890,"tags":[]}`)
	pending := orderContext("order.updated", `{"payment_status":"pending","total":4200}`)
	created := orderContext("order.created", `{"payment_status":"paid"}`)
	const paidFilter = `.type == "order.updated" and .data.payment_status == "paid"`
	tests := []struct {
		name, filter string
		c            *Context
		want         bool
	}{
		{"paid update", paidFilter, paid, true},
		{"pending update", paidFilter, pending, false},
		{"paid creation", paidFilter, created, false},
		{"empty filter matches", "", pending, true},
		{"true", "true", pending, true},
		{"false", "false", paid, false},
		{"null", "null", paid, false},
		{"missing field is null", ".data.nope", paid, false},
		{"zero is truthy", "0", paid, true},
		{"empty string is truthy", `""`, paid, true},
		{"empty array is truthy", ".data.tags", paid, true},
		{"object is truthy", "{}", paid, true},
		{"no output", "empty", paid, false},
		{"first output counts", "false, true", paid, false},
		{"first output counts (2)", "true, error(\"never reached\")", paid, true},
		{"halt is no output", "halt", paid, false},
		{"number comparison", ".data.total > 4000 and .data.total < 4201", paid, true},
		{"big number", ".data.big == 12345678901234567890", paid, true},
		{"big number differs", ".data.big == 12345678901234567891", paid, false},
		{"livemode", ".livemode", paid, true},
		{"endpoint uid", `.endpoint.uid == "acme-erp" and .delivery.attempt == 3`, paid, true},
		{"select", `select(.data.total >= 1000)`, paid, true},
		{"select nothing", `select(.data.total >= 10000)`, paid, false},
	}
	r := NewRenderer(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := r.Match(context.Background(), tt.filter, tt.c)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("Match(%s) = %v, want %v", tt.filter, got, tt.want)
			}
		})
	}
}

func TestMatchErrors(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{Timeout: 20 * time.Millisecond})
	for _, filter := range []string{`error("no")`, `.data.total | ascii_downcase`, `def f: f; f`, `[range(1e12)] | length > 0`, `.type ==`, `$undefined`} {
		start := time.Now()
		var ok bool
		var err error
		stops(t, filter, func() { ok, err = r.Match(context.Background(), filter, orderContext("order.created", `{"total":1}`)) })
		if err == nil || ok {
			t.Errorf("Match(%s) = %v, %v; want an error", filter, ok, err)
		}
		if took := time.Since(start); took > time.Second {
			t.Errorf("Match(%s) took %v", filter, took)
		}
	}
}

func TestPanicsBecomeErrors(t *testing.T) {
	t.Parallel()
	q, err := gojq.Parse("boom")
	if err != nil {
		t.Fatal(err)
	}
	code, err := gojq.Compile(q, gojq.WithFunction("boom", 0, 0, func(any, []any) any { panic("kaboom") }))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runEnvelope(context.Background(), code, map[string]any{}, DefaultTimeout, DefaultMaxBytes); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Errorf("runEnvelope err = %v, want the panic", err)
	}
	if _, err := runFilter(context.Background(), code, map[string]any{}, time.Second); err == nil || !strings.Contains(err.Error(), "kaboom") {
		t.Errorf("runFilter err = %v, want the panic", err)
	}
}

func TestAppendJSON(t *testing.T) {
	t.Parallel()
	deep := any("x")
	for range maxDepth + 1 {
		deep = []any{deep}
	}
	bigNeg, _ := new(big.Int).SetString("-98765432109876543210", 10)
	tests := []struct {
		name string
		v    any
		want string // "" when an error is expected
	}{
		{"null", nil, "null"},
		{"bools", []any{true, false}, "[true,false]"},
		{"ints", []any{0, -1, math.MaxInt64}, "[0,-1,9223372036854775807]"},
		{"floats", []any{0.5, 42.0, math.Copysign(0, -1), 1e-7, 1e21, 1.5e300, 123456789.125}, "[0.5,42,-0,1e-7,1e+21,1.5e+300,123456789.125]"},
		{"nan and inf", []any{math.NaN(), math.Inf(1), math.Inf(-1)}, "[null,1.7976931348623157e+308,-1.7976931348623157e+308]"},
		{"big", bigNeg, "-98765432109876543210"},
		{"json numbers", []any{json.Number("1.50"), json.Number("-0"), json.Number("1E+2")}, "[1.50,-0,1E+2]"},
		{"bad json number", json.Number("1."), ""},
		{"empty json number", json.Number(""), ""},
		{"strings", []any{"a\"b\\c", "\n\r\t\b\f\x00\x1f\x7f", "Zoë ✓ <&>", "\u2028\u2029", "bad\xffutf8", "\ufffd"},
			`["a\"b\\c","\n\r\t\b\f\u0000\u001f` + "\x7f" + `","Zoë ✓ <&>","\u2028\u2029","bad\ufffdutf8","` + "\ufffd" + `"]`},
		{"sorted keys", map[string]any{"b": 1, "a": map[string]any{"z": []any{}, "y": map[string]any{}}, "é": nil, "\"": 2},
			`{"\"":2,"a":{"y":{},"z":[]},"b":1,"é":null}`},
		{"too deep", deep, ""},
		{"foreign type", []any{int64(1)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := appendJSON(nil, tt.v, DefaultMaxBytes)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("appendJSON = %s, want an error", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("appendJSON\n got %s\nwant %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Errorf("not valid JSON: %s", got)
			}
		})
	}
}

func TestValidNumber(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{
		"0": true, "-0": true, "12": true, "1.5": true, "1e5": true, "1E-5": true, "-1.25e+10": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "+1": false, "1x": false, "NaN": false,
	} {
		if got := validNumber(s); got != want {
			t.Errorf("validNumber(%q) = %v", s, got)
		}
		if json.Valid([]byte(s)) != want {
			t.Errorf("the table is wrong about %q", s)
		}
	}
}

func TestMultiplicationIsBoundedAndStillJq(t *testing.T) {
	t.Parallel()
	r := NewRenderer(Options{Timeout: time.Second})
	c := orderContext("order.created", `{"n":3,"s":"ab","o":{"a":{"b":1}}}`)
	in, err := Input(c)
	if err != nil {
		t.Fatal(err)
	}
	// The rewrite must multiply exactly as gojq itself does.
	for _, prog := range []string{
		`.data.n * 2`, `.data.s * .data.n`, `.data.n * .data.s`, `.data.s * 0`, `.data.s * 0.5`,
		`.data.o * {"a":{"c":2}}`, `[1,2] | map(. * 10)`, `[(1,2) * (3,4)]`, `12345678901234567890 * 10`,
		`null * 2`, `[.data.s * -1]`,
	} {
		q, err := gojq.Parse(prog)
		if err != nil {
			t.Fatal(err)
		}
		code, err := gojq.Compile(q)
		if err != nil {
			t.Fatal(err)
		}
		native, _ := code.Run(in).Next()
		if nerr, ok := native.(error); ok {
			if _, err := r.Render(context.Background(), Spec{Envelope: prog}, c); err == nil {
				t.Errorf("%s: no error, gojq gives %v", prog, nerr)
			}
			continue
		}
		want, err := json.Marshal(native)
		if err != nil {
			t.Fatal(err)
		}
		body, err := r.Render(context.Background(), Spec{Envelope: prog}, c)
		if err != nil {
			t.Errorf("%s: %v (gojq gives %s)", prog, err, want)
			continue
		}
		var g, w any
		_ = json.Unmarshal(body, &g)
		_ = json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) {
			t.Errorf("%s = %s, gojq gives %s", prog, body, want)
		}
	}
	for _, prog := range []string{
		`"x" * 2000000000 | length`,
		`.data.s * 1e9`,
		`def sq: . * .; 12345678901234567890 | sq | sq | sq | sq | sq | sq | sq`,
	} {
		start := time.Now()
		_, err := r.Render(context.Background(), Spec{Envelope: prog}, c)
		if err == nil || !strings.Contains(err.Error(), "limit") {
			t.Errorf("%s: err %v, want a limit", prog, err)
		}
		if d := time.Since(start); d > 200*time.Millisecond {
			t.Errorf("%s took %v", prog, d)
		}
	}
	if err := NewRenderer(Options{}).ValidateEnvelope(context.Background(), "app_01", "envelope", `.data |= . * 2`); err != nil {
		t.Errorf("|= . * 2 refused: %v", err)
	}
	if err := NewRenderer(Options{}).ValidateEnvelope(context.Background(), "app_01", "envelope", `.data.n *= 2`); err == nil || !strings.Contains(err.Error(), "*=") {
		t.Errorf("*= accepted: %v", err)
	}
}

// runDeadline bounds a run that a time limit should stop in milliseconds.
const runDeadline = 10 * time.Second

// stops runs run and fails the test, by name, when it has not returned
// within runDeadline: a time limit that does not hold then fails the test
// instead of hanging it until go test's own timeout panics. The run is
// left behind in its goroutine.
func stops(t *testing.T, program string, run func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); run() }()
	select {
	case <-done:
	case <-time.After(runDeadline):
		t.Fatalf("%s did not stop within %v: its time limit does not hold", program, runDeadline)
	}
}
