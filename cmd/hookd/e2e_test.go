package main

import (
	"bytes"
	"context"
	"errors"
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

	"github.com/hookd/hookd/client"
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
	// api calls the process's API with the admin key, sending each
	// request once (no retries: a call's outcome is that of one request).
	api  *client.Client
	logs *syncBuffer
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
	logs := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &hookdProc{t: t, cmd: cmd, base: "http://" + addr, logs: logs, api: newAPIClient(t, "http://"+addr, e2eKey)}
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

// syncBuffer is a bytes.Buffer safe for a writer and readers: a
// process's output, read while it runs.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// httpClient is the e2e tests' HTTP client: every call is bounded.
var httpClient = &http.Client{Timeout: 10 * time.Second}

// newAPIClient returns a hookd client of base with key, which sends each
// request once.
func newAPIClient(t *testing.T, base, key string) *client.Client {
	t.Helper()
	c, err := client.New(base, key, client.WithHTTPClient(httpClient), client.WithRetryPolicy(client.RetryPolicy{}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// must fails the test when err is not nil, naming what failed.
func must[T any](t *testing.T, what string) func(T, error) T {
	return func(v T, err error) T {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return v
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
	ctx := context.Background()
	app := must[*client.App](t, "create app")(p.api.CreateApp(ctx, client.AppCreateRequest{Name: "e2e", UID: ptr("e2e-shop")}))
	ep := must[*client.Endpoint](t, "create endpoint")(p.api.CreateEndpoint(ctx, app.ID, client.EndpointCreateRequest{URL: rc.srv.URL + "/hook"}))
	secret := must[string](t, "get endpoint secret")(p.api.GetEndpointSecret(ctx, app.ID, ep.ID))
	v, err := webhook.NewVerifier(secret)
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
				_, err := p.api.PublishEvent(context.Background(), appID, client.EventCreateRequest{
					ID: &id, Type: "order.created", Data: map[string]any{"order": i, "pad": strings.Repeat("x", 900)},
				})
				var refused *client.Error
				switch {
				case err == nil: // 202
					mu.Lock()
					accepted = append(accepted, id)
					mu.Unlock()
				case !errors.As(err, &refused):
					return // the process is gone
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
		buf := &syncBuffer{}
		cmd.Stdout, cmd.Stderr = buf, buf
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
	if _, err := newAPIClient(t, p1.base, key).ListAppsPage(context.Background(), nil); err != nil {
		t.Fatalf("the printed key: %v", err)
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

func ptr[T any](v T) *T { return &v }
