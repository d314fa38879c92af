package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/pgtest"
	"github.com/hookd/hookd/webhook"
)

// binary is the hookd binary built once for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hookd-e2e")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "hookd")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stdout, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hookd:", err)
		os.Exit(1)
	}
	code := pgtest.Run(m, "cmd/hookd")
	os.RemoveAll(dir)
	os.Exit(code)
}

const e2eKey = "e2e-admin-key-0123456789"

// hookdProc is a running hookd process.
type hookdProc struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *bytes.Buffer
	// done is closed when the process has exited; err is its exit error.
	done chan struct{}
	err  error
}

// watch records the process's exit.
func (p *hookdProc) watch() {
	p.done = make(chan struct{})
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// startHookd runs the binary on db and waits until /readyz answers.
func startHookd(t *testing.T, db string, extraEnv ...string) *hookdProc {
	t.Helper()
	addr := freeAddr(t)
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(),
		"HOOKD_ADDR="+addr,
		"HOOKD_DB="+db,
		"HOOKD_API_KEY="+e2eKey,
		"HOOKD_ALLOW_PRIVATE_NETWORKS=true",
		"HOOKD_RETRY_SCHEDULE=200ms,500ms,1s,1s,1s",
		"HOOKD_ATTEMPT_TIMEOUT=5s",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, &syncWriter{w: logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hookdProc{t: t, cmd: cmd, base: "http://" + addr, logs: logs}
	p.watch()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(p.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.done:
			t.Fatalf("hookd exited at start: %v\n%s", p.err, logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookd did not become ready:\n%s", logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(b []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(b)
}

var client = &http.Client{Timeout: 10 * time.Second}

// call makes an API request and decodes the answer into out.
func (p *hookdProc) call(method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	req.Header.Set("Authorization", "Bearer "+e2eKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
	}
	return resp.StatusCode, nil
}

func (p *hookdProc) mustCall(method, path string, body any, want int, out any) {
	p.t.Helper()
	code, err := p.call(method, path, body, out)
	if err != nil || code != want {
		p.t.Fatalf("%s %s: status %d, err %v; want %d", method, path, code, err, want)
	}
}

// countingReceiver verifies every request and counts deliveries per webhook-id.
type countingReceiver struct {
	srv      *httptest.Server
	verifier *webhook.Verifier
	mu       sync.Mutex
	seen     map[string]int
	bad      atomic.Int64
}

func newCountingReceiver(t *testing.T) *countingReceiver {
	r := &countingReceiver{seen: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		v := r.verifier
		r.mu.Unlock()
		if v != nil {
			if err := v.Verify(req.Header, body); err != nil {
				r.bad.Add(1)
				w.WriteHeader(401)
				return
			}
		}
		r.mu.Lock()
		r.seen[req.Header.Get("webhook-id")]++
		r.mu.Unlock()
		w.WriteHeader(204)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *countingReceiver) missing(ids []string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, id := range ids {
		if r.seen[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// setup creates an app and an endpoint to rc, and points rc's verifier at
// the endpoint's secret.
func setup(t *testing.T, p *hookdProc, rc *countingReceiver) (appID string) {
	var app struct{ ID string }
	p.mustCall("POST", "/v1/apps", map[string]any{"name": "e2e", "uid": "e2e-shop"}, 201, &app)
	var ep struct{ ID string }
	p.mustCall("POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": rc.srv.URL + "/hook"}, 201, &ep)
	var sec struct{ Secret string }
	p.mustCall("GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID+"/secret", nil, 200, &sec)
	v, err := webhook.NewVerifier(sec.Secret)
	if err != nil {
		t.Fatal(err)
	}
	rc.mu.Lock()
	rc.verifier = v
	rc.mu.Unlock()
	return app.ID
}

// pour POSTs events with ids prefix-0, prefix-1, ... from several goroutines
// until stop is closed or n are accepted, and returns the accepted ids.
func pour(p *hookdProc, appID, prefix string, n int, stop <-chan struct{}) []string {
	var (
		mu       sync.Mutex
		accepted []string
		next     atomic.Int64
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id := fmt.Sprintf("%s-%d", prefix, i)
				code, err := p.call("POST", "/v1/apps/"+appID+"/events", map[string]any{
					"id": id, "type": "order.created", "data": map[string]any{"order": i, "pad": strings.Repeat("x", 900)},
				}, nil)
				if err != nil {
					return // the process is gone
				}
				if code == 202 {
					mu.Lock()
					accepted = append(accepted, id)
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return accepted
}

func TestSIGKILLDuringLoadLosesNoAcceptedEvent(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end crash test skipped in -short mode")
	}
	db := filepath.Join(t.TempDir(), "hookd.db")
	rc := newCountingReceiver(t)

	p1 := startHookd(t, db)
	appID := setup(t, p1, rc)

	stop := make(chan struct{})
	var accepted1 []string
	pourDone := make(chan struct{})
	go func() { accepted1 = pour(p1, appID, "before-kill", 100000, stop); close(pourDone) }()
	// Kill once a good number of events are in, mid-stream.
	deadline := time.Now().Add(30 * time.Second)
	for {
		rc.mu.Lock()
		got := len(rc.seen)
		rc.mu.Unlock()
		if got >= 1500 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := p1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p1.done
	close(stop)
	<-pourDone
	t.Logf("accepted %d events before SIGKILL", len(accepted1))
	if len(accepted1) < 500 {
		t.Fatalf("only %d events accepted before the kill; the test needs load", len(accepted1))
	}

	p2 := startHookd(t, db)
	accepted2 := pour(p2, appID, "after-kill", 500, nil)
	all := append(accepted1, accepted2...)

	waitDeadline := time.Now().Add(60 * time.Second)
	for {
		missing := rc.missing(all)
		if len(missing) == 0 {
			break
		}
		if time.Now().After(waitDeadline) {
			t.Fatalf("%d of %d accepted events never reached the receiver, e.g. %v\nlogs:\n%s", len(missing), len(all), missing[:min(5, len(missing))], p2.logs)
		}
		time.Sleep(50 * time.Millisecond)
	}
	rc.mu.Lock()
	dups := 0
	for _, n := range rc.seen {
		if n > 1 {
			dups += n - 1
		}
	}
	rc.mu.Unlock()
	if rc.bad.Load() != 0 {
		t.Errorf("%d requests failed signature verification", rc.bad.Load())
	}
	t.Logf("all %d accepted events delivered; %d duplicate deliveries (at-least-once after the kill)", len(all), dups)

	// SIGTERM drains and exits cleanly.
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p2.done:
		if p2.err != nil {
			t.Errorf("hookd exited with %v after SIGTERM\n%s", p2.err, p2.logs)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hookd did not exit within 30s of SIGTERM")
	}
}

func TestServeGeneratesAndPrintsAnAdminKeyOnce(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "hookd.db")
	run := func() (string, *hookdProc) {
		addr := freeAddr(t)
		cmd := exec.Command(binary, "serve", "--addr", addr, "--db", db)
		cmd.Env = append(os.Environ(), "HOOKD_API_KEY=")
		var out syncWriter
		buf := &bytes.Buffer{}
		out.w = buf
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		p := &hookdProc{t: t, cmd: cmd, base: "http://" + addr, logs: buf}
		p.watch()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
		deadline := time.Now().Add(20 * time.Second)
		for {
			resp, err := http.Get(p.base + "/healthz")
			if err == nil {
				resp.Body.Close()
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("not ready: %s", buf)
			}
			time.Sleep(20 * time.Millisecond)
		}
		out.mu.Lock()
		defer out.mu.Unlock()
		return buf.String(), p
	}
	logs1, p1 := run()
	var key string
	for _, f := range strings.Fields(logs1) {
		if strings.HasPrefix(f, "hk_") {
			key = f
		}
	}
	if key == "" {
		t.Fatalf("no generated key printed:\n%s", logs1)
	}
	req, _ := http.NewRequest("GET", p1.base+"/v1/apps", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("the printed key got %d", resp.StatusCode)
	}
	_ = p1.cmd.Process.Signal(syscall.SIGTERM)
	<-p1.done

	logs2, p2 := run()
	if strings.Contains(logs2, "hk_") {
		t.Errorf("a key was printed again on the second start:\n%s", logs2)
	}
	_ = p2.cmd.Process.Signal(syscall.SIGTERM)
	<-p2.done
}
