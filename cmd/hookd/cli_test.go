package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/secrets"
)

var updateGolden = flag.Bool("update", false, "rewrite cmd/hookd/testdata/*.golden from the CLI's output")

// cliResult is what one run of the CLI printed and its exit code.
type cliResult struct {
	out, err string
	code     int
}

// cliRun runs hookd in-process (main's run: the same error printing and
// exit codes) with stdin, against the hookd at base with the admin key.
func cliRun(t *testing.T, base, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	full := append([]string{}, args...)
	if base != "" {
		t.Setenv(envURL, base)
		t.Setenv(envAPIKey, e2eKey)
	}
	code := run(full, strings.NewReader(stdin), &out, &errb)
	return cliResult{out: out.String(), err: errb.String(), code: code}
}

// mustCLI is cliRun that fails the test unless the CLI exits 0.
func mustCLI(t *testing.T, base, stdin string, args ...string) string {
	t.Helper()
	r := cliRun(t, base, stdin, args...)
	if r.code != 0 {
		t.Fatalf("hookd %q: exit %d\nstdout: %s\nstderr: %s", args, r.code, r.out, r.err)
	}
	return r.out
}

// normalizer replaces what changes from run to run in the CLI's output
// (ids, keys, secrets, times, ports, durations) with placeholders; an id
// keeps its placeholder through a test, so goldens show which object is
// which: <app-1>, <ep-2>.
type normalizer struct {
	ids map[string]string
	n   map[string]int
}

var (
	idPattern     = regexp.MustCompile(`\b(app|ep|evt|dlv|att|key)_[0-9a-z]{26}\b`)
	timePattern   = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)`)
	keyPattern    = regexp.MustCompile(`\bhk_[A-Za-z0-9_-]{20,}`)
	secretPattern = regexp.MustCompile(`\bwhsec_[A-Za-z0-9+/=]+`)
	portPattern   = regexp.MustCompile(`127\.0\.0\.1:\d+`)
	msPattern     = regexp.MustCompile(`"duration_ms": \d+`)
	spacePattern  = regexp.MustCompile(`(\S)  +`)
)

func newNormalizer() *normalizer {
	return &normalizer{ids: map[string]string{}, n: map[string]int{}}
}

func (n *normalizer) normalize(s string) string {
	s = idPattern.ReplaceAllStringFunc(s, func(id string) string {
		if p, ok := n.ids[id]; ok {
			return p
		}
		prefix, _, _ := strings.Cut(id, "_")
		n.n[prefix]++
		p := fmt.Sprintf("<%s-%d>", prefix, n.n[prefix])
		n.ids[id] = p
		return p
	})
	s = timePattern.ReplaceAllString(s, "<time>")
	s = keyPattern.ReplaceAllString(s, "<api-key>")
	s = secretPattern.ReplaceAllString(s, "<whsec>")
	s = portPattern.ReplaceAllString(s, "127.0.0.1:<port>")
	s = msPattern.ReplaceAllString(s, `"duration_ms": <ms>`)
	// Table columns are as wide as their widest cell, which a placeholder
	// is not: compare tables by their cells, two spaces apart.
	return spacePattern.ReplaceAllString(s, "$1  ")
}

// golden compares got, normalized, with testdata/name.golden (-update
// rewrites it).
func (n *normalizer) golden(t *testing.T, name, got string) {
	t.Helper()
	got = n.normalize(got)
	path := filepath.Join("testdata", name+".golden")
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s ./cmd/hookd -update to write it)", err, t.Name())
	}
	if got != string(want) {
		t.Errorf("%s: the CLI's output differs from %s (-update rewrites it)\n--- got\n%s\n--- want\n%s", name, path, got, want)
	}
}

// cliReceiver answers /ok with 200 and /fail with 500.
func cliReceiver(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			http.Error(w, "nope", http.StatusInternalServerError)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestCLIRoundTripSQLite runs the CLI's everyday commands against a hookd
// on SQLite and compares their tables and JSON with testdata/*.golden.
func TestCLIRoundTripSQLite(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"), "HOOKD_RETRY_SCHEDULE=1ms", "HOOKD_BREAKER_THRESHOLD=1000")
	cliRoundTrip(t, p.base)
}

// TestCLIRoundTripPostgres is TestCLIRoundTripSQLite on PostgreSQL, with
// the same goldens.
func TestCLIRoundTripPostgres(t *testing.T) {
	dsn := testPostgres(t)
	p := startHookd(t, dsn, "HOOKD_RETRY_SCHEDULE=1ms", "HOOKD_BREAKER_THRESHOLD=1000",
		"HOOKD_SECRET_KEY="+secrets.EncodeKey(secrets.GenerateKey()))
	cliRoundTrip(t, p.base)
}

func cliRoundTrip(t *testing.T, base string) {
	n := newNormalizer()
	recv := cliReceiver(t)

	// Apps: a table, then JSON, then the list both ways.
	n.golden(t, "apps_create", mustCLI(t, base, "", "apps", "create", "--name", "Acme", "--uid", "acme", "--metadata", "plan=pro"))
	n.golden(t, "apps_create_json", mustCLI(t, base, "", "apps", "create", "--json", "--data", `{"name":"Beta","uid":"beta","catalog":"open"}`))
	n.golden(t, "apps_list", mustCLI(t, base, "", "apps", "list"))
	n.golden(t, "apps_list_json", mustCLI(t, base, "", "apps", "list", "--json"))
	n.golden(t, "apps_list_limit", mustCLI(t, base, "", "apps", "list", "--limit", "1"))
	n.golden(t, "apps_update", mustCLI(t, base, "", "apps", "update", "beta", "--name", "Beta Corp"))

	// The catalog.
	mustCLI(t, base, "", "event-types", "create", "order.created", "--description", "An order was placed",
		"--schema", `{"type":"object","properties":{"n":{"type":"integer"}}}`)
	n.golden(t, "event_types_list", mustCLI(t, base, "", "event-types", "list"))

	// Endpoints of acme (HOOKD_APP this time): one that answers 200, one 500.
	t.Setenv(envApp, "acme")
	n.golden(t, "endpoints_create", mustCLI(t, base, "", "endpoints", "create", recv.URL+"/ok",
		"--event-type", "order.created", "--description", "answers 200"))
	mustCLI(t, base, "", "endpoints", "create", recv.URL+"/fail", "--uid", "failing", "--event-type", "order.*")
	n.golden(t, "endpoints_list", mustCLI(t, base, "", "endpoints", "list"))

	// Events: inline JSON, a file, standard input.
	n.golden(t, "events_send", mustCLI(t, base, "", "events", "send", "order.created", "--data", `{"n":1}`))
	file := filepath.Join(t.TempDir(), "order.json")
	if err := os.WriteFile(file, []byte(`{"n": 2}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	n.golden(t, "events_send_file_json", mustCLI(t, base, "", "events", "send", "order.created", "--data", "@"+file, "--json"))
	n.golden(t, "events_send_stdin", mustCLI(t, base, `{"n": 3}`, "events", "send", "order.created", "--data", "-"))
	n.golden(t, "events_list", mustCLI(t, base, "", "events", "list"))

	// Wait for the deliveries to settle: 3 succeeded, 3 failed (one retry,
	// 1ms after the first attempt).
	waitDeliveries(t, base, func(ds []map[string]any) bool {
		for _, d := range ds {
			if d["status"] == "pending" {
				return false
			}
		}
		return len(ds) == 6
	})
	n.golden(t, "deliveries_list_failed", mustCLI(t, base, "", "deliveries", "list", "--status", "failed", "--endpoint", "failing"))
	var failed []map[string]any
	if err := json.Unmarshal([]byte(mustCLI(t, base, "", "deliveries", "list", "--status", "failed", "--json")), &failed); err != nil || len(failed) != 3 {
		t.Fatalf("deliveries list --status failed --json: %v, %d deliveries; want 3", err, len(failed))
	}
	get := spacePattern.ReplaceAllString(mustCLI(t, base, "", "deliveries", "get", failed[0]["id"].(string)), "$1  ")
	if !strings.Contains(get, "STATUS  failed") || !strings.Contains(get, "TRIGGER") || !strings.Contains(get, "500") {
		t.Errorf("deliveries get: want the delivery (failed) and its attempts (500), got\n%s", get)
	}

	var attempts []map[string]any
	out := mustCLI(t, base, "", "deliveries", "attempts", "--delivery", failed[0]["id"].(string), "--status", "5xx", "--json")
	if err := json.Unmarshal([]byte(out), &attempts); err != nil || len(attempts) != 2 || attempts[0]["delivery_id"] != failed[0]["id"] {
		t.Errorf("deliveries attempts --delivery %s --json: %v, want its 2 attempts\n%s", failed[0]["id"], err, out)
	}

	// Recover the failing endpoint's deliveries of the last 2 hours.
	n.golden(t, "endpoints_recover", mustCLI(t, base, "", "endpoints", "recover", "failing", "--since", "2h"))
	waitDeliveries(t, base, func(ds []map[string]any) bool {
		for _, d := range ds {
			if d["status"] == "pending" {
				return false
			}
		}
		return true
	})
	retried := mustCLI(t, base, "", "deliveries", "retry", failed[0]["id"].(string), "--json")
	if !strings.Contains(retried, `"id": "`+failed[0]["id"].(string)+`"`) {
		t.Errorf("deliveries retry: want the delivery, got %s", retried)
	}

	// The secret, and its rotation.
	sec := mustCLI(t, base, "", "endpoints", "secret", "failing")
	rot := mustCLI(t, base, "", "endpoints", "secret", "failing", "--rotate")
	if !strings.HasPrefix(sec, "SECRET  whsec_") || !strings.HasPrefix(rot, "SECRET  whsec_") || sec == rot {
		t.Errorf("endpoints secret: got %q, then after --rotate %q; want two different whsec_ secrets", sec, rot)
	}
	n.golden(t, "endpoints_secret", sec)

	// A batch: an array of events on standard input, one a replay of an
	// id already published (a type no endpoint takes: no deliveries).
	mustCLI(t, base, "", "events", "send", "invoice.paid", "--id", "inv-1", "--data", `{"n":4}`)
	n.golden(t, "events_send_batch", mustCLI(t, base,
		`[{"id":"inv-1","type":"invoice.paid","data":{"n":4}},{"id":"inv-2","type":"invoice.paid","data":{"n":5}}]`,
		"events", "send-batch", "--data", "-"))

	// A problem answer: exit 1, the field at fault on stderr.
	r := cliRun(t, base, "", "endpoints", "create", "ftp://example.com/hook")
	n.golden(t, "error_422", fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err))
	r = cliRun(t, base, "", "apps", "get", "nosuchapp")
	n.golden(t, "error_404", fmt.Sprintf("exit %d\nstdout: %s\nstderr: %s", r.code, r.out, r.err))

	mustCLI(t, base, "", "apps", "delete", "beta")
	if r := cliRun(t, base, "", "apps", "get", "beta"); r.code != exitServer {
		t.Errorf("apps get beta after delete: exit %d, want 1", r.code)
	}
}

// waitDeliveries polls acme's deliveries until done says they are as the
// test wants (or fails the test after 30 s: not a timed assertion, a
// bound on a hang).
func waitDeliveries(t *testing.T, base string, done func([]map[string]any) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var ds []map[string]any
		out := mustCLI(t, base, "", "deliveries", "list", "--json")
		if err := json.Unmarshal([]byte(out), &ds); err != nil {
			t.Fatalf("deliveries list --json: %v\n%s", err, out)
		}
		if done(ds) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries did not settle:\n%s", out)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestCLIListFollowsPages lists more apps than a page holds.
func TestCLIListFollowsPages(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"))
	for i := range pageSize + 5 {
		mustCLI(t, p.base, "", "apps", "create", "--name", fmt.Sprintf("app %d", i))
	}
	var apps []json.RawMessage
	if err := json.Unmarshal([]byte(mustCLI(t, p.base, "", "apps", "list", "--json")), &apps); err != nil || len(apps) != pageSize+5 {
		t.Errorf("apps list --json: %v, %d apps; want %d", err, len(apps), pageSize+5)
	}
	out := mustCLI(t, p.base, "", "apps", "list", "--limit", "102")
	if lines := strings.Count(out, "\n"); lines != 1+102 {
		t.Errorf("apps list --limit 102: %d lines, want a header and 102 apps", lines)
	}
}

// TestCLIUsageAndUnreachable checks exit codes 2 and 3, in-process and
// from the binary (main's os.Exit).
func TestCLIUsageAndUnreachable(t *testing.T) {
	closed := "http://" + freeAddr(t) // nothing listens there any more
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"apps", "list", "--bogus"}, exitUsage, "hookd: unknown flag: --bogus"},
		{[]string{"apps", "frobnicate"}, exitUsage, `hookd: unknown command "frobnicate" for "hookd apps"`},
		{[]string{"frobnicate"}, exitUsage, `hookd: unknown command "frobnicate" for "hookd"`},
		{[]string{"apps", "get"}, exitUsage, "hookd: hookd apps get: accepts 1 arg(s), received 0"},
		{[]string{"endpoints", "list", "--url", closed, "--api-key", "k"}, exitUsage, "--app (or HOOKD_APP) is needed"},
		{[]string{"apps", "list", "--url", closed}, exitUsage, "an API key is needed: --api-key or HOOKD_API_KEY"},
		{[]string{"apps", "list", "--url", "ftp://x", "--api-key", "k"}, exitUsage, `--url "ftp://x": must start with http:// or https://`},
		{[]string{"events", "send", "t", "--app", "a", "--url", closed, "--api-key", "k", "--data", "{nope"}, exitUsage, "--data: not valid JSON"},
		{[]string{"events", "send", "t", "--app", "a", "--url", closed, "--api-key", "k", "--data", "@/nonexistent.json"}, exitUsage, "--data: open /nonexistent.json"},
		{[]string{"events", "send", "t", "--app", "a", "--url", closed, "--api-key", "k"}, exitUsage, `required flag(s) "data" not set`},
		{[]string{"endpoints", "recover", "ep", "--app", "a", "--url", closed, "--api-key", "k", "--since", "yesterday"}, exitUsage, "--since \"yesterday\": want a duration"},
		{[]string{"apps", "list", "--url", closed, "--api-key", "k"}, exitUnreachable, "hookd: cannot reach hookd at " + closed},
		{[]string{"verify"}, exitUsage, "hookd: verify: at least one --secret is needed"},
	} {
		t.Setenv(envURL, "")
		t.Setenv(envAPIKey, "")
		r := cliRun(t, "", "", tt.args...)
		if r.code != tt.code || !strings.Contains(r.err, tt.want) || r.out != "" {
			t.Errorf("hookd %q: exit %d, stdout %q, stderr %q; want exit %d, %q on stderr", tt.args, r.code, r.out, r.err, tt.code, tt.want)
		}
	}

	for _, tt := range []struct {
		args []string
		code int
	}{
		{[]string{"apps", "list", "--nope"}, exitUsage},
		{[]string{"apps", "list", "--url", closed, "--api-key", "k"}, exitUnreachable},
	} {
		cmd := exec.Command(binary, tt.args...)
		cmd.Env = append(os.Environ(), envURL+"=", envAPIKey+"=")
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tt.code {
			t.Errorf("the binary, hookd %q: %v, want exit %d\n%s", tt.args, err, tt.code, out)
		}
	}
}

// TestCLIServerErrorExitCode checks exit code 1 from the binary: a 401
// for a wrong key, with the problem on stderr.
func TestCLIServerErrorExitCode(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"))
	cmd := exec.Command(binary, "apps", "list", "--url", p.base, "--api-key", "wrong-key")
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitServer || !strings.HasPrefix(string(out), "hookd: 401 Unauthorized") {
		t.Errorf("apps list with a wrong key: %v, printed %q; want exit 1 and hookd: 401 Unauthorized...", err, out)
	}
}

// TestCLIHelpAndCompletion checks that --help documents the exit codes
// and that the completion command is there, not hidden, and completes
// --status.
func TestCLIHelpAndCompletion(t *testing.T) {
	r := cliRun(t, "", "", "--help")
	for _, want := range []string{"Exit codes:", "3  the server could not be reached", "\n  completion ", "HOOKD_API_KEY"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("hookd --help lacks %q:\n%s", want, r.out)
		}
	}
	r = cliRun(t, "", "", "apps")
	if r.code != 0 || !strings.Contains(r.out, "hookd apps [command]") {
		t.Errorf("hookd apps: exit %d, %q; want its help and exit 0", r.code, r.out)
	}
	r = cliRun(t, "", "", "completion", "bash")
	if r.code != 0 || !strings.Contains(r.out, "__start_hookd") {
		t.Errorf("hookd completion bash: exit %d, %.200q", r.code, r.out)
	}
	r = cliRun(t, "", "", "__complete", "deliveries", "list", "--status", "")
	if r.code != 0 || r.out != "pending\npaused\nsucceeded\nfailed\n:4\n" {
		t.Errorf("completion of deliveries list --status: exit %d, %q", r.code, r.out)
	}
}

// TestCatalogImportThroughTheClient runs `hookd catalog import` (which
// calls the API through the client package) against a live hookd.
func TestCatalogImportThroughTheClient(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"))
	t.Setenv(envURL, p.base)
	t.Setenv(envAPIKey, e2eKey)
	first := cliRun(t, "", "", "catalog", "import", "reflow")
	again := cliRun(t, "", "", "catalog", "import", "reflow")
	if first.code != 0 || !strings.HasPrefix(first.out, "reflow: 6 created, 0 replaced, 0 unchanged") ||
		again.code != 0 || !strings.HasPrefix(again.out, "reflow: 0 created, 0 replaced, 6 unchanged") {
		t.Errorf("catalog import reflow twice: %+v then %+v", first, again)
	}
	r := cliRun(t, "", "", "catalog", "import", "nosuchpack")
	if r.code != exitServer || !strings.Contains(r.err, "hookd: 422 Unprocessable Entity: pack: ") || !strings.Contains(r.err, "(body.pack)") {
		t.Errorf("catalog import nosuchpack: %+v; want exit 1 and the field at fault", r)
	}
}
