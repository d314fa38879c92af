package envelope

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestMain lets this test binary serve as the sandbox's worker process.
func TestMain(m *testing.M) {
	WorkerMain()
	os.Exit(m.Run())
}

// newSandbox returns a sandbox running this test binary, closed with t.
func newSandbox(t testing.TB, o SandboxOptions) *Sandbox {
	t.Helper()
	s, err := NewSandbox(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// hostilePrograms are programs a tenant may save as an envelope or a
// filter to make hookd spend memory or time in one jq step, where the
// time limit (checked between steps) cannot stop them. Each is wrapped in
// a condition the save-time sample passes, as an attacker would.
var hostilePrograms = []struct{ name, src string }{
	{"tojson of a shared string x300", `("x" * 1000000) as $s | [range(300) | $s] | tojson | length`},
	{"tojson of a shared string x1000", `("x" * 1000000) as $s | [range(1000) | $s] | tojson | length`},
	{"join", `("x" * 1000000) as $s | [range(1000) | $s] | join("") | length`},
	{"join then @base64", `("x" * 1000000) as $s | [range(300) | $s] | join("") | @base64 | length`},
	{"add", `("x" * 1000000) as $s | [range(1000) | $s] | add | length`},
	{"tostring", `("x" * 1000000) as $s | [range(1000) | $s] | tostring | length`},
	{"@csv", `("x" * 1000000) as $s | [range(1000) | $s] | @csv | length`},
	{"@tsv", `("x" * 1000000) as $s | [range(1000) | $s] | @tsv | length`},
	{"@html", `("<" * 1000000) as $s | [range(300) | $s] | @html | length`},
	{"@uri", `("/" * 1000000) as $s | [range(300) | $s] | join("") | @uri | length`},
	{"@sh", `("'" * 1000000) as $s | [range(300) | $s] | @sh | length`},
	{"@json", `("x" * 1000000) as $s | [range(1000) | $s] | @json | length`},
	{"@text", `("x" * 1000000) as $s | [range(1000) | $s] | @text | length`},
	{"string doubling", `reduce range(40) as $i ("x"; . + .) | length`},
	{"array doubling", `reduce range(40) as $i ([1]; . + .) | length`},
	{"array doubling then sort", `reduce range(26) as $i ([1]; . + .) | sort | length`},
	{"object key of 1 MB doubled", `reduce range(12) as $i ({("k" * 1000000): 1}; [., .]) | tojson | length`},
	{"nested doubling then tojson", `reduce range(40) as $i ("x"; [., .]) | tojson | length`},
	{"nested doubling then paths", `reduce range(40) as $i ("x"; [., .]) | [paths] | length`},
	{"nested doubling then flatten", `reduce range(40) as $i ("x"; [., .]) | flatten | length`},
	{"huge index assignment", `[] | .[100000000] = 1 | length`},
	{"huge setpath", `null | setpath([100000000]; 1) | length`},
	{"explode many", `("x" * 1000000) as $s | [range(100) | $s | explode] | length`},
	{"implode", `[range(50000000) | 120] | implode | length`},
	{"indices", `("x" * 1000000) as $s | [range(100) | $s | indices("x")] | length`},
	{"split into characters", `("x" * 1000000) as $s | [range(100) | $s | split("")] | length`},
	{"splits regex", `("x" * 1000000) as $s | [range(100) | $s | [splits("")]] | length`},
	{"gsub expansion", `("x" * 1000000) | gsub("x"; "xxxxxxxxxx") | length`},
	{"ascii_downcase of a doubled string", `reduce range(30) as $i ("X"; . + .) | ascii_downcase | length`},
	{"tonumber of a million digits", `("9" * 1000000) | tonumber | tostring | length`},
	{"fromjson of a huge text", `("x" * 1000000) as $s | [range(300) | $s] | tojson | fromjson | length`},
	{"to_entries of a doubled array", `reduce range(26) as $i ([1]; . + .) | to_entries | length`},
	{"tostream", `reduce range(26) as $i ([1]; . + .) | [tostream] | length`},
	{"group_by", `reduce range(26) as $i ([1]; . + .) | group_by(.) | length`},
	{"unique", `reduce range(26) as $i ([1]; . + .) | unique | length`},
	{"combinations", `[range(30) | [range(30)]] | [combinations] | length`},
	{"deep recursion building", `def f: [f]; f`},
	{"endless recursion", `def f: f; f`},
	{"endless range", `[range(1e12)] | length`},
	{"endless repeat", `[limit(1e12; repeat(1))] | length`},
	{"last of a long range", `last(range(1e12))`},
	{"base64 of doubled", `reduce range(30) as $i ("x"; . + .) | @base64 | length`},
	{"base64d of doubled", `reduce range(30) as $i ("eHh4"; . + .) | @base64d | length`},
	{"ltrimstr of doubled", `reduce range(30) as $i ("x"; . + .) | ltrimstr("y") | length`},
	{"test on a doubled string", `reduce range(30) as $i ("x"; . + .) | test("y")`},
	{"getpath with a long path", `null | getpath([range(100000000)])`},
	{"env", `$ENV | tojson | length`},
}

// guard wraps a hostile program so that it passes the save-time check on
// the sample order.created event and runs on the events that matter.
func guard(src string) string {
	return `if .type == "order.created" then {} else (` + src + `) end`
}

// TestSandboxStopsHostilePrograms runs every hostile program, as an
// envelope and as a filter, in a sandbox with the default time limit and
// memory: each must end within twice the time limit with an error, and
// hookd's own process must not allocate for it (a few KiB of bookkeeping
// per run). In this process, without the sandbox, the first of them takes
// seconds and more than a gigabyte.
func TestSandboxStopsHostilePrograms(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox bounds memory on Linux only")
	}
	// Not parallel: hookd's allocations are measured, with nothing else
	// running in this process.
	const timeout = DefaultTimeout
	sb := newSandbox(t, SandboxOptions{Workers: 4, PerTenant: 4})
	r := NewRenderer(Options{Timeout: timeout, Sandbox: sb})
	c := orderContext("order.paid", `{"total":4200}`)
	ctx := context.Background()
	// Warm the workers up: starting one is not a program's time.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := r.Render(ctx, Spec{Envelope: "."}, c); err != nil {
				t.Errorf("warm-up: %v", err)
			}
		})
	}
	wg.Wait()

	type outcome struct {
		took  time.Duration
		alloc uint64
		err   error
	}
	measure := func(run func() error) outcome {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		err := run()
		took := time.Since(start)
		runtime.ReadMemStats(&after)
		return outcome{took, after.TotalAlloc - before.TotalAlloc, err}
	}
	for _, p := range hostilePrograms {
		src := guard(p.src)
		// The guard makes the program pass the save-time check (it must,
		// for the attack to matter); on a busy machine the check's own
		// 100 ms can run out, so it is tried up to five times.
		var err error
		for try := 0; try < 5; try++ {
			if err = r.ValidateEnvelope(ctx, "app_01", "envelope", src); err == nil {
				break
			}
		}
		if err != nil {
			t.Errorf("%s: refused at save time (%v); the attack gets past that check", p.name, err)
		}
		for _, kind := range []string{"envelope", "filter"} {
			run := func() error {
				if kind == "envelope" {
					_, err := r.Render(ctx, Spec{Envelope: src}, c)
					return err
				}
				_, err := r.Match(ctx, src, c)
				return err
			}
			// A run over twice its limit is measured again, up to four
			// times: a busy machine (go test ./... compiles and runs
			// other packages beside this one) can delay the kill, but
			// not five times in a row; a program that is not stopped is
			// over every time.
			var o outcome
			for try := 0; try < 5; try++ {
				if o = measure(run); o.took <= 2*timeout {
					break
				}
			}
			t.Logf("%-36s %-8s %6.0f ms, hookd allocated %4d KiB: %v", p.name, kind,
				float64(o.took)/float64(time.Millisecond), o.alloc>>10, o.err)
			if o.took > 2*timeout {
				t.Errorf("%s as %s: ran %v, more than twice its %v limit", p.name, kind, o.took, timeout)
			}
			if o.alloc > 256<<10 {
				t.Errorf("%s as %s: hookd allocated %d KiB for it", p.name, kind, o.alloc>>10)
			}
			if o.err == nil && p.name != "env" {
				t.Errorf("%s as %s: no error", p.name, kind)
			}
		}
	}
}

// TestSandboxMemoryLimit checks that the memory bound holds and is
// reported as such: a program needing more than the sandbox's memory
// fails with ErrMemory, and the next run gets a fresh worker.
func TestSandboxMemoryLimit(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox bounds memory on Linux only")
	}
	t.Parallel()
	sb := newSandbox(t, SandboxOptions{Workers: 1, MemoryBytes: 64 << 20})
	r := NewRenderer(Options{Timeout: 10 * time.Second, Sandbox: sb})
	c := orderContext("order.created", `{"total":4200}`)
	ctx := context.Background()
	// 200 MB in steps the time limit would let through.
	_, err := r.Render(ctx, Spec{Envelope: `[range(200) | "x" * 1000000 | . + "y"] | length`}, c)
	if !errors.Is(err, ErrMemory) {
		t.Fatalf("err = %v, want ErrMemory", err)
	}
	if !strings.Contains(err.Error(), "64 MiB") {
		t.Errorf("err = %v, want the limit named", err)
	}
	body, err := r.Render(ctx, Spec{Envelope: `{t: .type}`}, c)
	if err != nil || string(body) != `{"t":"order.created"}` {
		t.Fatalf("after a worker died: %s, %v", body, err)
	}
	if err := r.ValidateEnvelope(ctx, "app_01", "envelope", `[range(200) | "x" * 1000000 | . + "y"] | length`); err == nil ||
		!strings.Contains(err.Error(), "more memory") {
		t.Errorf("ValidateEnvelope = %v, want a refusal for memory", err)
	}
}

// TestSandboxRendersAsInProcess checks that a sandboxed Renderer gives
// the same bodies, answers and errors as one running jq in this process,
// including on a 1 MiB event, which fits in the default memory.
func TestSandboxRendersAsInProcess(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox bounds memory on Linux only")
	}
	t.Parallel()
	sb := newSandbox(t, SandboxOptions{Workers: 2})
	boxed := NewRenderer(Options{Timeout: 5 * time.Second, Sandbox: sb})
	local := NewRenderer(Options{Timeout: 5 * time.Second})
	var big strings.Builder
	big.WriteString(`{"items":[`)
	for i := 0; big.Len() < 1<<20; i++ {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"sku":"SKU-%d","qty":%d,"price":12345678901234567890,"note":"caf\u00e9 ✓"}`, i, i%7)
	}
	big.WriteString(`],"total":4200}`)
	small := orderContext("order.updated", `{"total":4200,"n":12345678901234567890}`)
	small.Event.PreviousAttributes = []byte(`{"total":4100}`)
	large := orderContext("order.created", big.String())
	ctx := context.Background()
	for _, tt := range []struct {
		name, src string
		c         *Context
	}{
		{"fields", `{id, type, created_at, created, livemode, request_id, api_version, app, endpoint, delivery, previous_attributes}`, small},
		{"big number", `.data.n`, small},
		{"large event, whole", `{payload: .data}`, large},
		{"large event, mapped", `.data.items | map({sku, q: (.qty * 2)}) | {count: length, first: .[0]}`, large},
		{"no value", `empty`, small},
		{"several", `1, 2`, small},
		{"runtime error", `error("x marks the spot")`, small},
		{"compile error", `{a:`, small},
		{"timeout", `def f: f; f`, small},
		{"too large", `"x" * 1000000 | [., ., ., ., .]`, small},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.name == "timeout" {
				boxed := NewRenderer(Options{Timeout: 20 * time.Millisecond, Sandbox: sb, MaxBytes: 1 << 20})
				local := NewRenderer(Options{Timeout: 20 * time.Millisecond, MaxBytes: 1 << 20})
				_, errB := boxed.Render(ctx, Spec{Envelope: tt.src}, tt.c)
				_, errL := local.Render(ctx, Spec{Envelope: tt.src}, tt.c)
				// In the sandbox the worker may be killed at its deadline
				// before it stops the run itself, when the machine is busy.
				if !errors.Is(errB, context.DeadlineExceeded) || !errors.Is(errL, context.DeadlineExceeded) {
					t.Fatalf("sandbox %v, in process %v", errB, errL)
				}
				return
			}
			r := func(x *Renderer) (string, string) {
				body, err := x.Render(ctx, Spec{Envelope: tt.src}, tt.c)
				match, merr := x.Match(ctx, tt.src, tt.c)
				return fmt.Sprintf("%s | %v", body, err), fmt.Sprintf("%v | %v", match, merr)
			}
			start := time.Now()
			bodyB, matchB := r(boxed)
			tookB := time.Since(start)
			bodyL, matchL := r(local)
			t.Logf("sandbox %v, in process %v", tookB, time.Since(start)-tookB)
			if bodyB != bodyL {
				t.Errorf("Render: sandbox %.300s\n in process %.300s", bodyB, bodyL)
			}
			if matchB != matchL {
				t.Errorf("Match: sandbox %s, in process %s", matchB, matchL)
			}
		})
	}
}

// TestSandboxTenantsTakeTurns checks the sandbox's fairness: a tenant
// whose programs hold every worker it may have does not keep another
// tenant's run waiting, and the waiting runs of several tenants are served
// in turn.
func TestSandboxTenantsTakeTurns(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox bounds memory on Linux only")
	}
	t.Parallel()
	sb := newSandbox(t, SandboxOptions{Workers: 2, PerTenant: 1})
	r := NewRenderer(Options{Timeout: 2 * time.Second, Sandbox: sb})
	ctx := context.Background()
	hostile := orderContext("order.created", `{}`)
	hostile.App.ID = "app_hostile"
	calm := orderContext("order.created", `{}`)
	calm.App.ID = "app_calm"

	// The hostile tenant's runs spin to their 2 s limit, four at once.
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() { _, _ = r.Render(ctx, Spec{Envelope: `def f: f; f`}, hostile) })
	}
	// Until the hostile runs hold their one worker.
	for deadline := time.Now().Add(10 * time.Second); ; {
		sb.mu.Lock()
		held := sb.busy["app_hostile"]
		sb.mu.Unlock()
		if held == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the hostile runs never held a worker")
		}
		runtime.Gosched()
	}
	// The calm tenant's runs go through on the other worker meanwhile:
	// none waits for a hostile run to end.
	for i := range 20 {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		body, err := r.Render(cctx, Spec{Envelope: `{t: .type}`}, calm)
		cancel()
		if err != nil || string(body) != `{"t":"order.created"}` {
			t.Fatalf("calm run %d: %s, %v", i, body, err)
		}
	}
	sb.mu.Lock()
	if held := sb.busy["app_hostile"]; held > 1 {
		t.Errorf("the hostile tenant holds %d workers, more than its share of 1", held)
	}
	sb.mu.Unlock()
	wg.Wait()
}

// TestMatchAllBudget checks that filters evaluated together stop at their
// budget: those it did not reach, or cut short, are undecided, and the
// others are answered.
func TestMatchAllBudget(t *testing.T) {
	t.Parallel()
	sandboxed := func() *Renderer {
		if runtime.GOOS != "linux" {
			return nil
		}
		return NewRenderer(Options{Timeout: 5 * time.Second, Sandbox: newSandbox(t, SandboxOptions{Workers: 1})})
	}
	for _, tt := range []struct {
		name string
		r    *Renderer
	}{
		{"in process", NewRenderer(Options{Timeout: 5 * time.Second})},
		{"sandbox", sandboxed()},
	} {
		if tt.r == nil {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			c := orderContext("order.created", `{"total":4200}`)
			// A worker's start is not the filters' time (though it counts
			// against a budget when it happens in one).
			if _, err := tt.r.Match(context.Background(), `true`, c); err != nil {
				t.Fatal(err)
			}
			runs := []FilterRun{
				{`.data.total > 4000`, c},
				{`.data.total > 5000`, c},
				{`error("broken")`, c},
				{`def f: f; f`, c}, // spins past the 50 ms budget
				{`true`, c},
			}
			start := time.Now()
			res := tt.r.MatchAll(context.Background(), "app_01", 50*time.Millisecond, runs)
			took := time.Since(start)
			want := []string{"match", "no match", "error", "undecided", "undecided"}
			for i, x := range res {
				got := "no match"
				switch {
				case x.Undecided:
					got = "undecided"
				case x.Err != nil:
					got = "error"
				case x.Match:
					got = "match"
				}
				if got != want[i] {
					t.Errorf("run %d (%s): %s (%v), want %s", i, runs[i].Filter, got, x.Err, want[i])
				}
			}
			// The spinning filter may run 5 s on its own limit; the budget
			// stops it at 50 ms (the bound leaves room for a busy machine).
			if took > 2*time.Second {
				t.Errorf("MatchAll took %v with a 50 ms budget", took)
			}
		})
	}
}

// TestSandboxWorkerGetsNoEnvironment checks that a worker, which runs
// tenants' programs, is started without hookd's environment (its keys,
// its database URL): jq's $ENV is off as well, but a worker has nothing to
// leak in the first place.
func TestSandboxWorkerGetsNoEnvironment(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the sandbox bounds memory on Linux only")
	}
	t.Setenv("HOOKD_SECRET_KEY", "s3cret-for-the-test")
	sb := newSandbox(t, SandboxOptions{Workers: 1})
	r := NewRenderer(Options{Sandbox: sb})
	if _, err := r.Render(context.Background(), Spec{Envelope: "."}, orderContext("order.created", `{}`)); err != nil {
		t.Fatal(err)
	}
	sb.mu.Lock()
	pid := sb.idle[0].cmd.Process.Pid
	sb.mu.Unlock()
	env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(env), "s3cret") || strings.Contains(string(env), "PATH=") {
		t.Errorf("the worker's environment: %q", env)
	}
}
