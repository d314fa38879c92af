package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/webhook"
)

// listenProc is a running `hookd listen`.
type listenProc struct {
	cmd      *exec.Cmd
	out      *syncBuffer
	done     chan struct{}
	err      error
	endpoint string
	secret   string
}

var (
	endpointLine = regexp.MustCompile(`Endpoint: +(ep_[0-9A-Za-z]+)`)
	secretLine   = regexp.MustCompile(`Signing secret: +(whsec_\S+)`)
)

// startListen runs `hookd listen` against p and waits for its banner.
func startListen(t *testing.T, p *hookdProc, app, forwardTo string, args ...string) *listenProc {
	t.Helper()
	cmd := exec.Command(binary, append([]string{"listen", "--url", p.base, "--app", app, "--forward-to", forwardTo}, args...)...)
	cmd.Env = append(cmd.Environ(), "HOOKD_API_KEY="+e2eKey)
	l := &listenProc{cmd: cmd, out: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = l.out, l.out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { l.err = cmd.Wait(); close(l.done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-l.done })
	waitFor(t, 20*time.Second, "the listen banner", func() bool {
		select {
		case <-l.done:
			t.Fatalf("hookd listen exited: %v\n%s", l.err, l.out)
		default:
		}
		out := l.out.String()
		m, s := endpointLine.FindStringSubmatch(out), secretLine.FindStringSubmatch(out)
		if m == nil || s == nil {
			return false
		}
		l.endpoint, l.secret = m[1], s[1]
		return true
	})
	return l
}

// waitFor polls cond until it holds, failing the test after d. (It waits
// for hookd to act, never for a schedule: the retry schedule is made short
// by the test's configuration.)
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// localReceiver is the developer's local server: it verifies signatures
// with the listen endpoint's secret, and answers status(eventID) (by
// the webhook-id, the event's id).
type localReceiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	verifier *webhook.Verifier
	got      map[string]int
	bad      int
	status   func(id string, n int) int
}

func newLocalReceiver(t *testing.T, status func(id string, n int) int) *localReceiver {
	r := &localReceiver{got: map[string]int{}, status: status}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		id := req.Header.Get("webhook-id")
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.verifier == nil || r.verifier.Verify(req.Header, body) != nil {
			r.bad++
			w.WriteHeader(401)
			return
		}
		r.got[id]++
		code := r.status(id, r.got[id])
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "local answer "+id)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *localReceiver) verify(t *testing.T, secret string) {
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.verifier = v
	r.mu.Unlock()
}

func (r *localReceiver) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.got[id]
}

// attemptsOf lists the attempts of the event's deliveries, oldest first
// (none when the list cannot be read).
func attemptsOf(p *hookdProc, app, event string) []client.Attempt {
	page, err := p.api.ListAttemptsPage(context.Background(), app, &client.ListAttemptsParams{Event: &event})
	if err != nil {
		return nil
	}
	for i, j := 0, len(page.Data)-1; i < j; i, j = i+1, j-1 {
		page.Data[i], page.Data[j] = page.Data[j], page.Data[i]
	}
	return page.Data
}

// createListenApp creates an app named listen with the uid.
func createListenApp(t *testing.T, p *hookdProc, uid string) *client.App {
	t.Helper()
	return must[*client.App](t, "create app")(p.api.CreateApp(context.Background(), client.AppCreateRequest{Name: "listen", UID: &uid}))
}

// publish publishes the event id of type typ to the app.
func publish(t *testing.T, p *hookdProc, app, id, typ string, data map[string]any) {
	t.Helper()
	must[*client.PublishedEvent](t, "publish "+id)(p.api.PublishEvent(context.Background(), app, client.EventCreateRequest{ID: &id, Type: typ, Data: data}))
}

// endpointGone reports whether the endpoint's GET answers 404.
func endpointGone(p *hookdProc, app, ep string) bool {
	_, err := p.api.GetEndpoint(context.Background(), app, ep)
	var e *client.Error
	return errors.As(err, &e) && e.StatusCode == http.StatusNotFound
}

// describeAttempts is a readable list of attempts for a failure message.
func describeAttempts(as []client.Attempt) string {
	var b strings.Builder
	for _, a := range as {
		fmt.Fprintf(&b, "\n  #%d endpoint %s: %d %q error_kind %q", a.Number, deref(a.EndpointID), a.ResponseStatus, a.ResponseBody, deref(a.ErrorKind))
	}
	return b.String()
}

// deref is *v, or the zero value when v is nil.
func deref[T any](v *T) T {
	if v == nil {
		var zero T
		return zero
	}
	return *v
}

// TestListenForwardsRecordsRetriesAndCleansUp runs `hookd listen` against
// one hookd (SQLite): deliveries of the subscribed types reach the local
// server signed with the printed secret, its answers are recorded as the
// attempts (a 500 is a failed attempt, retried on the schedule), and
// Ctrl-C removes the endpoint at once.
func TestListenForwardsRecordsRetriesAndCleansUp(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"))
	ctx := context.Background()
	app := createListenApp(t, p, "listen-shop")

	rc := newLocalReceiver(t, func(id string, n int) int {
		if id == "evt-flaky" && n == 1 {
			return 500
		}
		return 200
	})
	l := startListen(t, p, "listen-shop", rc.srv.URL+"/webhooks", "--events", "order.*")
	rc.verify(t, l.secret)

	// The endpoint is visible, of kind listen.
	ep := must[*client.Endpoint](t, "get the listen endpoint")(p.api.GetEndpoint(ctx, app.ID, l.endpoint))
	if deref(ep.Kind) != client.EndpointKindListen || ep.URL != rc.srv.URL+"/webhooks" || len(ep.EventTypes) != 1 || ep.EventTypes[0] != "order.*" {
		t.Fatalf("listen endpoint: %+v", ep)
	}

	publish(t, p, app.ID, "evt-ok", "order.created", map[string]any{"n": 1})
	publish(t, p, app.ID, "evt-flaky", "order.paid", map[string]any{"n": 2})
	publish(t, p, app.ID, "evt-other", "invoice.paid", map[string]any{"n": 3})

	waitFor(t, 20*time.Second, "evt-ok's attempt", func() bool {
		a := attemptsOf(p, app.ID, "evt-ok")
		return len(a) == 1 && a[0].ResponseStatus == 200
	})
	a := attemptsOf(p, app.ID, "evt-ok")[0]
	if deref(a.EndpointID) != l.endpoint || deref(a.ErrorKind) != "" || a.ResponseBody != "local answer evt-ok" {
		t.Fatalf("evt-ok's attempt: %s", describeAttempts([]client.Attempt{a}))
	}
	// The 500 is a failed attempt, retried on the schedule (200ms).
	waitFor(t, 20*time.Second, "evt-flaky's retry", func() bool { return len(attemptsOf(p, app.ID, "evt-flaky")) == 2 })
	fl := attemptsOf(p, app.ID, "evt-flaky")
	if fl[0].ResponseStatus != 500 || deref(fl[0].ErrorKind) != "status" || fl[1].ResponseStatus != 200 || fl[1].Number != 2 {
		t.Fatalf("evt-flaky's attempts: %s", describeAttempts(fl))
	}
	dl := must[*client.DeliveryWithAttempts](t, "get evt-flaky's delivery")(p.api.GetDelivery(ctx, app.ID, fl[1].DeliveryID))
	if dl.Status != "succeeded" {
		t.Fatalf("evt-flaky's delivery: %+v", dl)
	}
	// Not subscribed: no delivery to the listen endpoint.
	dls := must[*client.ListDelivery](t, "list evt-other's deliveries")(p.api.ListDeliveriesPage(ctx, app.ID, &client.ListDeliveriesParams{Event: ptr("evt-other")}))
	if len(dls.Data) != 0 || rc.count("evt-other") != 0 {
		t.Fatalf("invoice.paid went to the order.* listener: %+v", dls.Data)
	}
	if rc.bad != 0 {
		t.Fatalf("%d requests failed verification with the printed secret", rc.bad)
	}
	out := l.out.String()
	for _, want := range []string{`order\.created +evt-ok +-> 200 +\d+ms\n`, `order\.paid +evt-flaky +-> 500 +\d+ms\n`,
		`order\.paid +evt-flaky +-> 200 +\d+ms  \(attempt 2\)\n`} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Fatalf("listen output lacks a line matching %q:\n%s", want, out)
		}
	}

	t.Logf("hookd listen printed:\n%s", l.out)

	// Ctrl-C: a clean exit, and the endpoint is gone at once.
	if err := l.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-l.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("hookd listen did not exit on SIGINT:\n%s", l.out)
	}
	if l.err != nil {
		t.Fatalf("hookd listen exited with %v:\n%s", l.err, l.out)
	}
	// "At once": well within the 30 s grace a lost connection gets.
	waitFor(t, 5*time.Second, "the endpoint's removal", func() bool { return endpointGone(p, app.ID, l.endpoint) })
	if !strings.Contains(l.out.String(), "the endpoint was removed") {
		t.Fatalf("no goodbye:\n%s", l.out)
	}
}

// TestListenRefusals: the exit codes of the other commands. A key that is
// not valid and an unknown app end the command with the server's problem
// (exit 1), not a reconnection loop; hookd unreachable at start is exit 3;
// a missing app or local URL is a usage error (exit 2). HOOKD_APP names
// the app as for every command.
func TestListenRefusals(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"))
	closed := "http://" + freeAddr(t) // nothing listens there any more
	const fwd = "http://127.0.0.1:1/x"
	for _, tc := range []struct {
		args []string
		env  []string
		code int
		want string
	}{
		{[]string{"--url", p.base, "--forward-to", fwd, "--app", "nope"}, nil, exitServer, "hookd: 404 Not Found: "},
		{[]string{"--url", p.base, "--forward-to", fwd, "--app", "nope", "--api-key", "wrong"}, nil, exitServer, "hookd: 401 Unauthorized"},
		{[]string{"--url", p.base, "--forward-to", fwd}, []string{"HOOKD_APP=nope"}, exitServer, "hookd: 404 Not Found: "},
		{[]string{"--url", closed, "--forward-to", fwd, "--app", "a"}, nil, exitUnreachable, "hookd: cannot reach hookd at " + closed},
		{[]string{"--url", closed, "--forward-to", fwd, "--app", "a", "--timeout", "2s"}, []string{"HOOKD_API_KEY="}, exitUsage, "an API key is needed"},
		{[]string{"--url", p.base, "--forward-to", fwd}, nil, exitUsage, "--app (or HOOKD_APP) is needed"},
		{[]string{"--url", p.base, "--app", "a"}, nil, exitUsage, "--forward-to is required"},
		{[]string{"--url", p.base, "--app", "a", "--forward-to", "ftp://x"}, nil, exitUsage, `--forward-to "ftp://x"`},
	} {
		cmd := exec.Command(binary, append([]string{"listen"}, tc.args...)...)
		cmd.Env = append(cmd.Environ(), "HOOKD_API_KEY="+e2eKey, "HOOKD_APP=", "HOOKD_URL=")
		cmd.Env = append(cmd.Env, tc.env...)
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != tc.code || !strings.Contains(string(out), tc.want) {
			t.Errorf("listen %v %v: err %v, output %s; want exit %d with %q", tc.args, tc.env, err, out, tc.code, tc.want)
		}
	}
}

// TestListenThroughACluster: two hookd nodes share PostgreSQL; the CLI's
// stream lands on node B and the events are published on node A, whose
// dispatcher must leave the listen endpoint's deliveries to B (it cannot
// send them): they reach the local server through B, first time, and the
// attempts are visible from A.
func TestListenThroughACluster(t *testing.T) {
	db := testPostgres(t)
	key := "HOOKD_SECRET_KEY=" + secrets.EncodeKey(secrets.GenerateKey()) // one key for the cluster
	a := startHookd(t, db, key)
	b := startHookd(t, db, key)
	app := createListenApp(t, a, "cluster-shop")

	rc := newLocalReceiver(t, func(string, int) int { return 200 })
	l := startListen(t, b, "cluster-shop", rc.srv.URL+"/webhooks")
	rc.verify(t, l.secret)

	// Node A learns of the new endpoint through the store's signal (or
	// its fan-out cache's expiry): wait until its list shows it.
	waitFor(t, 10*time.Second, "node A to see the listen endpoint", func() bool {
		_, err := a.api.GetEndpoint(context.Background(), app.ID, l.endpoint)
		return err == nil
	})
	ids := []string{"evt-c1", "evt-c2", "evt-c3", "evt-c4", "evt-c5"}
	for _, id := range ids {
		publish(t, a, app.ID, id, "order.created", map[string]any{"id": id})
	}
	for _, id := range ids {
		waitFor(t, 20*time.Second, id+"'s attempt", func() bool {
			at := attemptsOf(a, app.ID, id)
			return len(at) > 0
		})
		at := attemptsOf(a, app.ID, id)
		if len(at) != 1 || at[0].ResponseStatus != 200 || deref(at[0].EndpointID) != l.endpoint {
			t.Fatalf("%s's attempts (want one, 200, through B): %s\nlisten output:\n%s", id, describeAttempts(at), l.out)
		}
		if rc.count(id) != 1 {
			t.Fatalf("%s reached the local server %d times", id, rc.count(id))
		}
	}

	// Ctrl-C on the CLI: node A sees the endpoint gone too.
	_ = l.cmd.Process.Signal(syscall.SIGINT)
	<-l.done
	waitFor(t, 5*time.Second, "the endpoint's removal", func() bool { return endpointGone(a, app.ID, l.endpoint) })
}

// cutProxy forwards TCP connections to target until cut drops them all
// (a lost connection: no WebSocket close).
type cutProxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln}
	t.Cleanup(func() { ln.Close(); p.cut() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			u, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, u)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(u, c); u.Close() }()
			go func() { _, _ = io.Copy(c, u); c.Close() }()
		}
	}()
	return p
}

func (p *cutProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

// TestListenReconnectsAndResumes: a lost connection is not the end: the
// CLI reconnects, resumes the same endpoint (same id and secret), and the
// deliveries go on. Deleting the endpoint through the API ends the CLI.
func TestListenReconnectsAndResumes(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"))
	ctx := context.Background()
	app := createListenApp(t, p, "resume-shop")
	rc := newLocalReceiver(t, func(string, int) int { return 200 })
	proxy := newCutProxy(t, strings.TrimPrefix(p.base, "http://"))
	via := &hookdProc{t: t, base: "http://" + proxy.ln.Addr().String()}
	l := startListen(t, via, "resume-shop", rc.srv.URL+"/webhooks")
	rc.verify(t, l.secret)

	publish(t, p, app.ID, "evt-before", "a.b", map[string]any{})
	waitFor(t, 20*time.Second, "evt-before", func() bool { return rc.count("evt-before") == 1 })

	proxy.cut()
	waitFor(t, 20*time.Second, "the CLI to resume", func() bool {
		return strings.Contains(l.out.String(), "endpoint "+l.endpoint+" resumed")
	})
	publish(t, p, app.ID, "evt-after", "a.b", map[string]any{})
	waitFor(t, 20*time.Second, "evt-after's attempt", func() bool { return len(attemptsOf(p, app.ID, "evt-after")) == 1 })
	if rc.count("evt-after") != 1 {
		t.Fatalf("evt-after reached the local server %d times", rc.count("evt-after"))
	}
	if at := attemptsOf(p, app.ID, "evt-after"); len(at) != 1 || deref(at[0].EndpointID) != l.endpoint || at[0].ResponseStatus != 200 {
		t.Fatalf("evt-after's attempts: %s", describeAttempts(at))
	}
	eps := must[*client.ListEndpoint](t, "list endpoints")(p.api.ListEndpointsPage(ctx, app.ID, nil))
	if len(eps.Data) != 1 {
		t.Fatalf("%d endpoints after the reconnection, want the one resumed", len(eps.Data))
	}

	// Deleted through the API: the node's heartbeat (10 s) ends the stream
	// and the CLI stops with an error instead of reconnecting.
	if err := p.api.DeleteEndpoint(ctx, app.ID, l.endpoint); err != nil {
		t.Fatalf("delete the listen endpoint: %v", err)
	}
	select {
	case <-l.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("hookd listen did not stop after its endpoint was deleted:\n%s", l.out)
	}
	if l.err == nil || !strings.Contains(l.out.String(), "was deleted") {
		t.Fatalf("hookd listen exited with %v:\n%s", l.err, l.out)
	}
}

// TestListenOutlivesTheServerTimeouts: the stream is not a request: the
// server's read and write timeouts (1 s here) do not cut it.
func TestListenOutlivesTheServerTimeouts(t *testing.T) {
	p := startHookd(t, filepath.Join(t.TempDir(), "hookd.db"), "HOOKD_READ_TIMEOUT=1s", "HOOKD_WRITE_TIMEOUT=1s")
	app := createListenApp(t, p, "slow-shop")
	rc := newLocalReceiver(t, func(string, int) int { return 200 })
	l := startListen(t, p, "slow-shop", rc.srv.URL+"/webhooks")
	rc.verify(t, l.secret)
	time.Sleep(2500 * time.Millisecond) // past both timeouts
	publish(t, p, app.ID, "evt-late", "a.b", map[string]any{})
	waitFor(t, 20*time.Second, "evt-late", func() bool { return rc.count("evt-late") == 1 })
	if out := l.out.String(); strings.Contains(out, "connection lost") {
		t.Fatalf("the stream was cut:\n%s", out)
	}
}
