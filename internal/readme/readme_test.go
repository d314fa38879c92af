//go:build unix

package readme

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// A section is one runnable part of the README: its blocks, run in one
// shell, start hookd and a receiver, publish, and stop both.
type section struct {
	// name is the name its blocks' markers give.
	name string
	// ports are the ports its blocks use, for humans: hookd's, then the
	// receiver's. The test replaces each ":port" by a free port, so that
	// it neither depends on nor disturbs what runs on the machine. That
	// is the only change made to the README's text.
	ports []string
	// eventType, if set, must be in the catalog with a JSON Schema once
	// the section has run (its pack was imported, so its publish was
	// checked by the provider's schema).
	eventType string
	// check checks one line the receiver printed: the webhook-id it
	// verified the signature of, and the body.
	check func(id string, body map[string]any) error
}

var sections = []section{
	{
		name:  "quickstart",
		ports: []string{"8080", "9000"},
		check: func(id string, b map[string]any) error {
			return all(
				keys(b, "id", "type", "created_at", "data"),
				equal(b, "type", "order.created"),
				equal(b, "id", id),
				equal(b, "data.order_id", "ord_1001"),
			)
		},
	},
	{
		// The quickstart's loop through the CLI: hookd apps|endpoints|
		// events|deliveries instead of curl.
		name:  "cli",
		ports: []string{"8085", "9005"},
		check: func(id string, b map[string]any) error {
			return all(
				keys(b, "id", "type", "created_at", "data"),
				equal(b, "type", "order.created"),
				equal(b, "id", id),
				equal(b, "data.order_id", "ord_1001"),
			)
		},
	},
	{
		name:      "reflow",
		ports:     []string{"8081", "9001"},
		eventType: "user.updated",
		check: func(id string, b map[string]any) error {
			return all(
				keys(b, "id", "object", "api-version", "created", "data", "livemode", "request_id", "type"),
				equal(b, "id", id),
				matches(b, "id", `^evt_[0-9a-f]{40}$`),
				equal(b, "object", "event"),
				equal(b, "type", "user.updated"),
				equal(b, "api-version", "2023-01-30"),
				equal(b, "data.object.name", "John Doe"),
				equal(b, "data.previous_attributes.name", "Old Name Value"),
				equal(b, "request_id", "req_cdf19b9c78cae64b12dabc4f8587283ee865c464"),
			)
		},
	},
	{
		name:      "opentiendas",
		ports:     []string{"8082", "9002"},
		eventType: "review.created",
		check: func(id string, b map[string]any) error {
			return all(
				keys(b, "event_id", "type", "created_at", "data"),
				equal(b, "event_id", id),
				matches(b, "event_id", `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`),
				equal(b, "type", "review.created"),
				equal(b, "data.id", "78456"),
				equal(b, "data.rating", 5.0),
			)
		},
	},
	{
		name:      "flo",
		ports:     []string{"8083", "9003"},
		eventType: "invoice.paid",
		check: func(_ string, b map[string]any) error {
			return all(
				keys(b, "eventId", "eventType", "objectType", "version", "createdAt", "user", "invoice", "invoiceDetails"),
				matches(b, "eventId", `^dlv_`),
				equal(b, "eventType", "invoice.paid"),
				equal(b, "objectType", "invoice"),
				equal(b, "version", "v1"),
				equal(b, "user.id", "u_1"),
				equal(b, "invoice.id", "in_1"),
			)
		},
	},
	{
		name:      "flexprice",
		ports:     []string{"8084", "9004"},
		eventType: "invoice.payment_overdue",
		check: func(_ string, b map[string]any) error {
			return all(
				keys(b, "webhook_type", "object_type", "data"),
				equal(b, "webhook_type", "invoice.payment_overdue"),
				equal(b, "object_type", "invoice"),
				equal(b, "data.object.id", "inv_1"),
			)
		},
	},
}

// checkedHeadings are the README's "## " sections whose every sh block
// must be marked, run or skipped.
var checkedHeadings = []string{"Quickstart", "CLI", "Provider profiles"}

// A block is one marked sh block of the README.
type block struct {
	line    int // of its fence, 1-based
	section string
	publish bool
	text    string
}

var markerRE = regexp.MustCompile(`^<!-- readme-test: (.*) -->$`)

// parseBlocks returns the README's marked blocks in order, or an error
// naming an unmarked block in a checked section or a malformed marker.
func parseBlocks(readme string) ([]block, error) {
	lines := strings.Split(readme, "\n")
	var (
		blocks  []block
		errs    []error
		heading string
	)
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if h, ok := strings.CutPrefix(l, "## "); ok {
			heading = h
			continue
		}
		if !strings.HasPrefix(l, "```") {
			continue
		}
		fence := i + 1
		lang := strings.TrimPrefix(l, "```")
		end := i + 1
		for end < len(lines) && lines[end] != "```" {
			end++
		}
		body := strings.Join(lines[i+1:end], "\n") + "\n"
		i = end
		marker := ""
		if fence >= 2 {
			if m := markerRE.FindStringSubmatch(lines[fence-2]); m != nil {
				marker = m[1]
			}
		}
		switch {
		case marker == "":
			if lang == "sh" && slices.Contains(checkedHeadings, heading) {
				errs = append(errs, fmt.Errorf("README.md:%d: an sh block under %q without a <!-- readme-test: ... --> marker: mark it run (a section's name) or skip (why)", fence, heading))
			}
		case strings.HasPrefix(marker, "skip"):
		default:
			f := strings.Fields(marker)
			b := block{line: fence, section: f[0], text: body}
			if len(f) > 2 || len(f) == 2 && f[1] != "publish" {
				errs = append(errs, fmt.Errorf("README.md:%d: marker %q: want SECTION, SECTION publish or skip (why)", fence-1, marker))
				continue
			}
			b.publish = len(f) == 2
			if lang != "sh" {
				errs = append(errs, fmt.Errorf("README.md:%d: a marked block must be ```sh, not ```%s", fence, lang))
			}
			if !slices.ContainsFunc(sections, func(s section) bool { return s.name == b.section }) {
				errs = append(errs, fmt.Errorf("README.md:%d: marker names section %q, which the test does not know", fence-1, b.section))
			}
			blocks = append(blocks, b)
		}
	}
	return blocks, errors.Join(errs...)
}

func readREADME(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("the repository root: %v", err)
	}
	return root
}

// TestREADMEBlocksAreMarked needs nothing but the README: every sh block
// of the checked sections is marked, and every section has its blocks,
// one of which publishes, the last one stopping what the others started.
func TestREADMEBlocksAreMarked(t *testing.T) {
	blocks, err := parseBlocks(readREADME(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sections {
		bs := sectionBlocks(blocks, s.name)
		if len(bs) == 0 {
			t.Errorf("README.md has no block marked <!-- readme-test: %s -->", s.name)
			continue
		}
		if !slices.ContainsFunc(bs, func(b block) bool { return b.publish }) {
			t.Errorf("section %s: no block is marked <!-- readme-test: %s publish -->", s.name, s.name)
		}
		if last := bs[len(bs)-1]; last.publish || !strings.Contains(last.text, "kill ") {
			t.Errorf("section %s: its last block (README.md:%d) must stop what the section started", s.name, last.line)
		}
		all := joinText(bs)
		for _, p := range s.ports {
			if !strings.Contains(all, ":"+p) {
				t.Errorf("section %s: no block uses port %s, which the test replaces: update the test's sections", s.name, p)
			}
		}
	}
}

func sectionBlocks(blocks []block, name string) []block {
	var bs []block
	for _, b := range blocks {
		if b.section == name {
			bs = append(bs, b)
		}
	}
	return bs
}

func joinText(bs []block) string {
	var sb strings.Builder
	for _, b := range bs {
		sb.WriteString(b.text)
	}
	return sb.String()
}

// TestREADMESectionsRun runs each section's blocks, in order, in one bash
// reading them as a pasted shell does, in a fresh copy of the repository.
func TestREADMESectionsRun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds hookd and runs it: not in -short")
	}
	for _, tool := range []string{"bash", "curl", "go"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed to run the README's blocks: %v", tool, err)
			}
			t.Skipf("%s is needed to run the README's blocks: %v", tool, err)
		}
	}
	blocks, err := parseBlocks(readREADME(t))
	if err != nil {
		t.Fatal(err)
	}
	root := repoRoot(t)
	for _, s := range sections {
		t.Run(s.name, func(t *testing.T) {
			bs := sectionBlocks(blocks, s.name)
			if len(bs) == 0 {
				t.Fatalf("README.md has no block marked <!-- readme-test: %s -->", s.name)
			}
			runSection(t, root, s, bs)
		})
	}
}

// Deadlines. Nothing waits for them unless something is wrong: a block
// ends when its sentinel is printed, a delivery when the receiver prints.
const (
	blockDeadline    = 3 * time.Minute // the first block builds hookd
	deliveryDeadline = time.Minute
	exitDeadline     = 30 * time.Second
)

func runSection(t *testing.T, root string, s section, bs []block) {
	dir := t.TempDir()
	copyRepo(t, root, dir)

	// The README's ports, each replaced by a free one.
	var subst []string
	for _, p := range s.ports {
		subst = append(subst, ":"+p, ":"+freePort(t))
	}
	replacer := strings.NewReplacer(subst...)

	sh := startShell(t, dir)
	// Not part of the README: make a failing command visible (a human
	// sees it; the test would otherwise only miss the delivery).
	sh.send(t, "set -o pipefail\ntrap 'echo \"readme-test: command failed with status $?: $BASH_COMMAND\"' ERR\n")
	for i, b := range bs {
		last := i == len(bs)-1
		if last && s.eventType != "" {
			sh.probeCatalog(t, s.eventType)
		}
		sh.runBlock(t, i, b, replacer.Replace(b.text))
		if b.publish {
			sh.waitDelivery(t, s)
		}
	}
	sh.finish(t)
}

// shell is a bash reading commands from a pipe, as one a reader pastes
// into, and what it printed.
type shell struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	pgid  int

	mu     sync.Mutex
	out    []string // lines printed, stdout and stderr together
	exited bool
	err    error
	wake   chan struct{} // closed and replaced when a line comes or bash exits
}

func startShell(t *testing.T, dir string) *shell {
	t.Helper()
	cmd := exec.Command("bash", "--noprofile", "--norc", "-s")
	cmd.Dir = dir
	cmd.Env = shellEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = w, w
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	sh := &shell{cmd: cmd, stdin: stdin, pgid: cmd.Process.Pid, wake: make(chan struct{})}
	// Whatever happens, nothing the section started outlives the test.
	t.Cleanup(func() { _ = syscall.Kill(-sh.pgid, syscall.SIGKILL) })
	go func() {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			sh.mu.Lock()
			sh.out = append(sh.out, sc.Text())
			sh.signal()
			sh.mu.Unlock()
		}
		_ = r.Close()
	}()
	go func() {
		err := cmd.Wait()
		sh.mu.Lock()
		sh.exited, sh.err = true, err
		sh.signal()
		sh.mu.Unlock()
	}()
	return sh
}

// shellEnv is the test's environment without hookd's settings, so that
// the blocks run with only what they set themselves, and with -trimpath,
// so that building in a fresh directory reuses the build cache.
func shellEnv() []string {
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "HOOKD_") || strings.HasPrefix(kv, "WEBHOOK_SECRET=") || strings.HasPrefix(kv, "GOFLAGS=")
	})
	return append(env, "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -trimpath"))
}

// signal wakes waiters; sh.mu is held.
func (sh *shell) signal() {
	close(sh.wake)
	sh.wake = make(chan struct{})
}

func (sh *shell) send(t *testing.T, s string) {
	t.Helper()
	if _, err := io.WriteString(sh.stdin, s); err != nil {
		t.Fatalf("writing to bash: %v\n%s", err, sh.transcript())
	}
}

func (sh *shell) transcript() string {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	return "--- what the shell printed:\n" + strings.Join(sh.out, "\n") + "\n---"
}

// waitFor waits until found, called with the lines so far, returns true,
// and fails the test when bash exits first, a command failed, or the
// deadline passes. why, if found sets it, says what is missing.
func (sh *shell) waitFor(t *testing.T, what string, deadline time.Duration, found func(lines []string) (ok bool, why string)) {
	t.Helper()
	timeout := time.After(deadline)
	for {
		sh.mu.Lock()
		lines, exited, wake := sh.out, sh.exited, sh.wake
		sh.mu.Unlock()
		for _, l := range lines {
			if strings.Contains(l, "readme-test: command failed") {
				t.Fatalf("%s: a command failed\n%s", what, sh.transcript())
			}
		}
		ok, why := found(lines)
		if ok {
			return
		}
		if exited {
			t.Fatalf("%s: bash exited first (%v)%s\n%s", what, sh.err, why, sh.transcript())
		}
		select {
		case <-wake:
		case <-timeout:
			t.Fatalf("%s: not done after %v%s\n%s", what, deadline, why, sh.transcript())
		}
	}
}

func (sh *shell) runBlock(t *testing.T, i int, b block, text string) {
	t.Helper()
	sentinel := fmt.Sprintf("readme-test: block %d done", i)
	sh.send(t, text+fmt.Sprintf("printf '\\n%s\\n'\n", sentinel))
	sh.waitFor(t, fmt.Sprintf("the block at README.md:%d", b.line), blockDeadline, func(lines []string) (bool, string) {
		return slices.Contains(lines, sentinel), ""
	})
}

var verifiedRE = regexp.MustCompile(`verified (\S+): (\{.*\})$`)

// waitDelivery waits until the receiver printed a body that passes the
// section's check.
func (sh *shell) waitDelivery(t *testing.T, s section) {
	t.Helper()
	sh.waitFor(t, "the delivery", deliveryDeadline, func(lines []string) (bool, string) {
		var problems []string
		for _, l := range lines {
			m := verifiedRE.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			var body map[string]any
			if err := json.Unmarshal([]byte(m[2]), &body); err != nil {
				problems = append(problems, fmt.Sprintf("\n%s: %v", l, err))
				continue
			}
			if err := s.check(m[1], body); err != nil {
				problems = append(problems, fmt.Sprintf("\n%s: %v", l, err))
				continue
			}
			return true, ""
		}
		if len(problems) == 0 {
			return false, " (the receiver printed no verified body)"
		}
		return false, "; the receiver printed bodies that do not pass:" + strings.Join(problems, "")
	})
}

// probeCatalog checks, with the section's own shell variables ($HOOKD_URL
// and $H), that the section's event type is in the catalog with a schema.
func (sh *shell) probeCatalog(t *testing.T, eventType string) {
	t.Helper()
	sh.send(t, fmt.Sprintf("printf '\\nreadme-test: probe\\n'; curl -sS \"$HOOKD_URL/v1/event-types/%s\" -H \"$H\"; printf '\\nreadme-test: probe done\\n'\n", eventType))
	var got string
	sh.waitFor(t, "the catalog probe", blockDeadline, func(lines []string) (bool, string) {
		start := slices.Index(lines, "readme-test: probe")
		end := slices.Index(lines, "readme-test: probe done")
		if start < 0 || end < start {
			return false, ""
		}
		got = strings.Join(lines[start+1:end], "\n")
		return true, ""
	})
	var et struct {
		Name   string          `json:"name"`
		Schema json.RawMessage `json:"schema"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(got)), &et); err != nil || et.Name != eventType || len(et.Schema) == 0 || string(et.Schema) == "null" {
		t.Fatalf("GET /v1/event-types/%s answered %s: want the type with its pack's schema (was the section's pack imported?)\n%s", eventType, got, sh.transcript())
	}
}

// finish ends the shell as a reader closes the terminal, and checks that
// the section stopped everything it started.
func (sh *shell) finish(t *testing.T) {
	t.Helper()
	_ = sh.stdin.Close()
	sh.waitFor(t, "bash's exit", exitDeadline, func([]string) (bool, string) {
		sh.mu.Lock()
		defer sh.mu.Unlock()
		return sh.exited, ""
	})
	for start := time.Now(); syscall.Kill(-sh.pgid, 0) == nil; time.Sleep(50 * time.Millisecond) {
		if time.Since(start) > exitDeadline {
			t.Fatalf("processes the section started still run after its last block: it must stop what it starts\n%s", sh.transcript())
		}
	}
}

// freePort returns a port nothing listens on now.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// copyRepo copies the repository at root into dir as a fresh clone has
// it: without .git, built binaries and databases.
func copyRepo(t *testing.T, root, dir string) {
	t.Helper()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil || rel == "." {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if name == ".git" || name == "bin" || name == "node_modules" {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(dir, rel), 0o755)
		}
		if !d.Type().IsRegular() || strings.Contains(name, ".db") || strings.HasSuffix(name, ".secret-key") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, rel), b, info.Mode().Perm())
	})
	if err != nil {
		t.Fatalf("copying the repository: %v", err)
	}
}

// The checks of a delivered body.

func all(errs ...error) error { return errors.Join(errs...) }

// lookup returns the value at a dotted path of b.
func lookup(b map[string]any, path string) (any, bool) {
	var v any = b
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// keys checks that b has exactly these top-level keys.
func keys(b map[string]any, want ...string) error {
	var got []string
	for k := range b {
		got = append(got, k)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		return fmt.Errorf("top-level keys %v, want %v", got, want)
	}
	return nil
}

func equal(b map[string]any, path string, want any) error {
	got, ok := lookup(b, path)
	if !ok || got != want {
		return fmt.Errorf("%s is %#v, want %#v", path, got, want)
	}
	return nil
}

func matches(b map[string]any, path, pattern string) error {
	got, _ := lookup(b, path)
	s, ok := got.(string)
	if !ok || !regexp.MustCompile(pattern).MatchString(s) {
		return fmt.Errorf("%s is %#v, want a string matching %s", path, got, pattern)
	}
	return nil
}
