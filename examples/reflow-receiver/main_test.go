package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hookd/hookd/webhook"
)

// hookdBinary is the real hookd, built once by TestMain.
var hookdBinary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "reflow-receiver-test")
	if err != nil {
		panic(err)
	}
	hookdBinary = filepath.Join(dir, "hookd")
	build := exec.Command("go", "build", "-o", hookdBinary, "../../cmd/hookd")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building hookd:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

const apiKey = "reflow-receiver-test-key-0123"

// syncBuffer is a bytes.Buffer safe for concurrent writers.
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

// hookd is a running hookd process.
type hookd struct {
	t    *testing.T
	cmd  *exec.Cmd
	base string
	logs *syncBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit error, once done is closed
}

func startHookd(t *testing.T) *hookd {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	cmd := exec.Command(hookdBinary, "serve")
	cmd.Env = append(os.Environ(),
		"HOOKD_ADDR="+addr,
		"HOOKD_DB="+filepath.Join(t.TempDir(), "hookd.db"),
		"HOOKD_API_KEY="+apiKey,
		"HOOKD_ALLOW_PRIVATE_NETWORKS=true",
		"HOOKD_LOG_LEVEL=warn",
	)
	h := &hookd{t: t, cmd: cmd, base: "http://" + addr, logs: &syncBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = h.logs, h.logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { h.err = cmd.Wait(); close(h.done) }()
	t.Cleanup(func() {
		cmd.Process.Kill() // a no-op once it has exited after SIGTERM
		<-h.done
	})

	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(h.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return h
			}
		}
		select {
		case <-h.done:
			t.Fatalf("hookd exited at start: %v\n%s", h.err, h.logs)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("hookd not ready after 20s:\n%s", h.logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// call makes an API request, fails the test unless it answers want, and
// decodes the answer into out (when not nil).
func (h *hookd) call(method, path string, body any, want int, out any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+apiKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := httpClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: %d %s; want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// captured is one request as it reached the receiver.
type captured struct {
	header http.Header
	body   []byte
}

// recorder keeps a copy of every request before passing it on.
type recorder struct {
	next http.Handler
	mu   sync.Mutex
	reqs []captured
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost {
		body, _ := io.ReadAll(r.Body)
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, captured{r.Header.Clone(), body})
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) requests() []captured {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// waitFor polls cond until it holds, or fails the test after 20s with
// cond's description of what it last saw.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, saw := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s; last saw: %s", what, saw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type delivery struct {
	ID                 string `json:"id"`
	EventID            string `json:"event_id"`
	EventType          string `json:"event_type"`
	EndpointID         string `json:"endpoint_id"`
	Status             string `json:"status"`
	AttemptCount       int    `json:"attempt_count"`
	LastResponseStatus int    `json:"last_response_status"`
}

// TestWithHookd runs the receiver behind a real hookd with a Reflow app
// and follows two orders through payment.
func TestWithHookd(t *testing.T) {
	start := time.Now()
	h := startHookd(t)

	// The receiver, on an httptest server whose URL the endpoint needs
	// before the secret exists: its handler is set once the secret is read.
	logs := &syncBuffer{}
	var (
		mu  sync.Mutex
		rcv *Receiver
	)
	rec := &recorder{next: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur := rcv
		mu.Unlock()
		if cur == nil {
			http.Error(w, "receiver not configured yet", http.StatusServiceUnavailable)
			return
		}
		cur.ServeHTTP(w, r)
	})}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	defer func() {
		if t.Failed() || testing.Verbose() {
			t.Logf("receiver log:\n%s", logs)
			t.Logf("hookd log:\n%s", h.logs)
		}
	}()

	var app struct {
		ID      string `json:"id"`
		Profile string `json:"profile"`
	}
	h.call("POST", "/v1/apps", map[string]any{"name": "Reflow Store", "profile": "reflow", "api_version": "2023-01-30"}, 201, &app)
	if app.Profile != "reflow" {
		t.Fatalf("app profile = %q, want reflow", app.Profile)
	}
	var ep struct{ ID string }
	h.call("POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": srv.URL + "/webhooks", "event_types": []string{"order.*"}}, 201, &ep)
	var sec struct{ Secret string }
	h.call("GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID+"/secret", nil, 200, &sec)
	r, err := NewReceiver(sec.Secret, log.New(logs, "", log.Lmicroseconds))
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	rcv = r
	mu.Unlock()

	// What the store's backend publishes, in order. user.created is
	// outside the endpoint's order.* filter.
	order := func(id, payment string) map[string]any {
		return map[string]any{"id": id, "object": "order", "payment_status": payment, "total": 4200, "currency": "EUR",
			"customer": map[string]any{"email": id + "@example.com", "name": "Jane Doe"}}
	}
	pending := map[string]any{"payment_status": "pending"}
	published := []map[string]any{
		{"type": "order.created", "data": order("ord_1", "pending")},
		{"type": "order.created", "data": order("ord_2", "pending")},
		{"type": "order.updated", "data": order("ord_1", "paid"), "previous_attributes": pending},
		{"type": "order.updated", "data": order("ord_2", "failed"), "previous_attributes": pending},
		{"type": "user.created", "data": map[string]any{"id": "12345678", "object": "user", "email": "jane@example.com"}},
	}
	sent := map[string]map[string]any{} // event id -> what was published
	var userEvent string
	for _, p := range published {
		var ev struct{ ID string }
		h.call("POST", "/v1/apps/"+app.ID+"/events", p, 202, &ev)
		if p["type"] == "user.created" {
			userEvent = ev.ID
		} else {
			sent[ev.ID] = p
		}
	}

	// The receiver follows both orders through their payment.
	waitFor(t, "ord_1 fulfilling and ord_2 contact_customer", func() (bool, string) {
		got := states(t, srv.URL)
		return got["ord_1"] == StateFulfilling && got["ord_2"] == StateContactCustomer, fmt.Sprint(got)
	})
	for _, o := range r.Orders() {
		var data map[string]any
		if err := json.Unmarshal(o.Data, &data); err != nil {
			t.Fatal(err)
		}
		if data["total"] != 4200.0 || data["customer"] == nil {
			t.Errorf("order %s: stored data %s lacks the order's fields", o.ID, o.Data)
		}
	}

	// hookd: every delivery to the endpoint succeeded, one per order event.
	var dl []delivery
	waitFor(t, "4 succeeded deliveries", func() (bool, string) {
		dl = deliveries(h, app.ID, "")
		n := 0
		for _, d := range dl {
			if d.Status == "succeeded" && d.LastResponseStatus == 200 && d.EndpointID == ep.ID {
				n++
			}
		}
		return n == 4 && len(dl) == 4, fmt.Sprintf("%+v", dl)
	})
	for _, d := range dl {
		if sent[d.EventID] == nil || d.EventType != sent[d.EventID]["type"] {
			t.Errorf("delivery %+v is not of a published order event", d)
		}
		if d.AttemptCount != 1 {
			t.Errorf("delivery %s took %d attempts, want 1", d.ID, d.AttemptCount)
		}
	}
	if got := deliveries(h, app.ID, "event="+userEvent); len(got) != 0 {
		t.Errorf("user.created (outside order.*) has deliveries: %+v", got)
	}

	// Every request was verified and carried Reflow's event object.
	if st := r.Stats(); st != (Stats{Verified: 4, Applied: 4}) {
		t.Errorf("receiver stats %+v, want 4 verified and applied, nothing else", st)
	}
	reqs := rec.requests()
	if len(reqs) != 4 {
		t.Fatalf("receiver got %d requests, want 4", len(reqs))
	}
	for _, c := range reqs {
		checkReflowBody(t, c, sent)
	}

	// At-least-once: hookd sends ord_1's order.created again, with the
	// same webhook-id; the receiver drops it and ord_1 stays fulfilling.
	var created delivery
	for _, d := range dl {
		if d.EventType == "order.created" && sent[d.EventID]["data"].(map[string]any)["id"] == "ord_1" {
			created = d
		}
	}
	h.call("POST", "/v1/apps/"+app.ID+"/deliveries/"+created.ID+"/retry", nil, 202, nil)
	waitFor(t, "the retried delivery to be dropped as a duplicate", func() (bool, string) {
		st := r.Stats()
		return st.Duplicates == 1, fmt.Sprintf("%+v", st)
	})
	reqs = rec.requests()
	if id := reqs[len(reqs)-1].header.Get(webhook.HeaderID); id != created.EventID {
		t.Errorf("the retry's webhook-id is %q, want the event id %q", id, created.EventID)
	}
	if got := states(t, srv.URL); got["ord_1"] != StateFulfilling {
		t.Errorf("after the duplicate, ord_1 is %q, want fulfilling", got["ord_1"])
	}

	// Requests that hookd did not sign are refused and change nothing:
	// a forged "paid" for ord_2 signed with another secret, a genuine
	// request with its body changed, and one with no signature.
	forged := []byte(`{"id":"evt_` + strings.Repeat("ab", 20) + `","object":"event","api-version":"2023-01-30","created":` +
		strconv.FormatInt(time.Now().Unix(), 10) + `,"data":{"object":{"id":"ord_2","object":"order","payment_status":"paid"},` +
		`"previous_attributes":{"payment_status":"failed"}},"livemode":true,"request_id":null,"type":"order.updated"}`)
	other := "whsec_" + strings.Repeat("A", 43) + "="
	sig, err := webhook.Sign(other, "evt_forged", time.Now(), forged)
	if err != nil {
		t.Fatal(err)
	}
	genuine := reqs[0]
	tampered := bytes.Replace(genuine.body, []byte(`"total":4200`), []byte(`"total":1`), 1)
	if bytes.Equal(tampered, genuine.body) {
		t.Fatalf("cannot tamper with %s", genuine.body)
	}
	for name, c := range map[string]captured{
		"wrong secret": {http.Header{
			"Webhook-Id": {"evt_forged"}, "Webhook-Timestamp": {strconv.FormatInt(time.Now().Unix(), 10)}, "Webhook-Signature": {sig},
		}, forged},
		"changed body": {genuine.header, tampered},
		"no signature": {http.Header{}, forged},
	} {
		req, _ := http.NewRequest("POST", srv.URL+"/webhooks", bytes.NewReader(c.body))
		for k, v := range c.header {
			req.Header[k] = v
		}
		resp, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s: status %d, want 401", name, resp.StatusCode)
		}
	}
	if got := states(t, srv.URL); got["ord_2"] != StateContactCustomer {
		t.Errorf("after the forged requests, ord_2 is %q, want contact_customer", got["ord_2"])
	}
	if st := r.Stats(); st != (Stats{Verified: 5, Rejected: 3, Duplicates: 1, Applied: 4}) {
		t.Errorf("receiver stats %+v, want 5 verified (one a duplicate), 3 rejected, 4 applied", st)
	}

	// SIGTERM: hookd drains and exits cleanly.
	if err := h.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.done:
		if h.err != nil {
			t.Errorf("hookd exited with %v after SIGTERM", h.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("hookd still running 30s after SIGTERM")
	}
	t.Logf("receiver stats %+v; %s from hookd start to exit", r.Stats(), time.Since(start).Round(time.Millisecond))
}

var (
	reflowEventID   = regexp.MustCompile(`^evt_[0-9a-f]{40}$`)
	reflowRequestID = regexp.MustCompile(`^req_[0-9a-f]{40}$`)
)

// checkReflowBody checks that a delivery is Reflow's event object for one
// of the published events, and nothing else.
func checkReflowBody(t *testing.T, c captured, sent map[string]map[string]any) {
	t.Helper()
	var body map[string]json.RawMessage
	if err := json.Unmarshal(c.body, &body); err != nil {
		t.Errorf("body %s: %v", c.body, err)
		return
	}
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	if want := []string{"api-version", "created", "data", "id", "livemode", "object", "request_id", "type"}; !slices.Equal(keys, want) {
		t.Errorf("body keys %v, want %v: %s", keys, want, c.body)
	}
	var ev Event
	if err := json.Unmarshal(c.body, &ev); err != nil {
		t.Errorf("body %s: %v", c.body, err)
		return
	}
	p := sent[ev.ID]
	switch {
	case !reflowEventID.MatchString(ev.ID):
		t.Errorf("event id %q is not evt_ and 40 hex digits", ev.ID)
	case p == nil:
		t.Errorf("event %s was not published: %s", ev.ID, c.body)
		return
	}
	if id := c.header.Get(webhook.HeaderID); id != ev.ID {
		t.Errorf("webhook-id %q, body id %q", id, ev.ID)
	}
	if ev.Object != "event" || ev.APIVersion != "2023-01-30" || !ev.Livemode || ev.Type != p["type"] {
		t.Errorf("event %s: object %q, api-version %q, livemode %v, type %q; want event, 2023-01-30, true, %v",
			ev.ID, ev.Object, ev.APIVersion, ev.Livemode, ev.Type, p["type"])
	}
	if !reflowRequestID.MatchString(ev.RequestID) {
		t.Errorf("event %s: request_id %q is not req_ and 40 hex digits", ev.ID, ev.RequestID)
	}
	if d := time.Since(time.Unix(ev.Created, 0)); d < -2*time.Second || d > time.Minute {
		t.Errorf("event %s: created %d is %v ago", ev.ID, ev.Created, d)
	}
	var data map[string]json.RawMessage
	json.Unmarshal(body["data"], &data)
	if !sameJSON(t, ev.Data.Object, p["data"]) {
		t.Errorf("event %s: data.object %s, want %v", ev.ID, ev.Data.Object, p["data"])
	}
	if prev, ok := p["previous_attributes"]; ok {
		if !sameJSON(t, ev.Data.PreviousAttributes, prev) {
			t.Errorf("event %s: data.previous_attributes %s, want %v", ev.ID, ev.Data.PreviousAttributes, prev)
		}
	} else if _, ok := data["previous_attributes"]; ok {
		t.Errorf("%s event %s has previous_attributes: %s", ev.Type, ev.ID, c.body)
	}
}

// sameJSON reports whether got encodes the same JSON value as want.
func sameJSON(t *testing.T, got json.RawMessage, want any) bool {
	t.Helper()
	b, err := json.Marshal(want)
	if err != nil {
		t.Fatal(err)
	}
	var g, w any
	if json.Unmarshal(got, &g) != nil || json.Unmarshal(b, &w) != nil {
		return false
	}
	return reflect.DeepEqual(g, w)
}

// states reads GET /orders from the receiver: order id -> state.
func states(t *testing.T, base string) map[string]string {
	t.Helper()
	resp, err := httpClient.Get(base + "/orders")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Orders []Order }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, o := range out.Orders {
		m[o.ID] = o.State
	}
	return m
}

// deliveries lists an app's deliveries (up to 100), filtered by query
// ("" or e.g. "event=evt_...").
func deliveries(h *hookd, app, query string) []delivery {
	var page struct{ Data []delivery }
	h.call("GET", "/v1/apps/"+app+"/deliveries?limit=100&"+query, nil, 200, &page)
	return page.Data
}

// TestOutOfOrder feeds the receiver signed events directly, in the orders
// hookd may deliver them: updates before creates, and repeats.
func TestOutOfOrder(t *testing.T) {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	logs := &syncBuffer{}
	r, err := NewReceiver(secret, log.New(logs, "", 0))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("receiver log:\n%s", logs)
		}
	}()
	send := func(id, typ string, created int64, data string) int {
		t.Helper()
		body := fmt.Sprintf(`{"id":%q,"object":"event","api-version":"2023-01-30","created":%d,"data":{"object":%s},"livemode":true,"request_id":null,"type":%q}`,
			id, created, data, typ)
		now := time.Now()
		sig, err := webhook.Sign(secret, id, now, []byte(body))
		if err != nil {
			t.Fatal(err)
		}
		req := httptest.NewRequest("POST", "/webhooks", strings.NewReader(body))
		req.Header.Set(webhook.HeaderID, id)
		req.Header.Set(webhook.HeaderTimestamp, strconv.FormatInt(now.Unix(), 10))
		req.Header.Set(webhook.HeaderSignature, sig)
		w := httptest.NewRecorder()
		r.ServeHTTP(w, req)
		if w.Code == http.StatusOK && strings.TrimSpace(w.Body.String()) != `{"status":"success"}` {
			t.Errorf("%s: answer %s", id, w.Body)
		}
		return w.Code
	}
	steps := []struct {
		id, typ string
		created int64
		data    string
		want    int
	}{
		{"evt_1", "order.updated", 20, `{"id":"ord_a","payment_status":"paid"}`, 200},    // before its create
		{"evt_2", "order.created", 10, `{"id":"ord_a","payment_status":"pending"}`, 200}, // late: keeps fulfilling
		{"evt_3", "order.updated", 20, `{"id":"ord_b","payment_status":"failed"}`, 200},
		{"evt_3", "order.updated", 20, `{"id":"ord_b","payment_status":"failed"}`, 200}, // a retry
		{"evt_4", "order.updated", 15, `{"id":"ord_b","payment_status":"paid"}`, 200},   // older than evt_3
		{"evt_5", "order.created", 10, `{"id":"ord_c","payment_status":"pending"}`, 200},
		{"evt_6", "order.updated", 11, `{"id":"ord_c","payment_status":"authorized"}`, 200}, // refreshed, same state
		{"evt_7", "products.changed", 12, `{"object":"list"}`, 200},
		{"evt_8", "order.created", 12, `{"object":"order"}`, 400}, // no order id
	}
	for _, s := range steps {
		if got := send(s.id, s.typ, s.created, s.data); got != s.want {
			t.Errorf("%s %s: status %d, want %d", s.id, s.typ, got, s.want)
		}
	}
	want := []Order{
		{ID: "ord_a", State: StateFulfilling, PaymentStatus: "paid", LastEvent: "evt_1", LastEventCreated: 20},
		{ID: "ord_b", State: StateContactCustomer, PaymentStatus: "failed", LastEvent: "evt_3", LastEventCreated: 20},
		{ID: "ord_c", State: StateAwaitingPayment, PaymentStatus: "authorized", LastEvent: "evt_6", LastEventCreated: 11},
	}
	got := r.Orders()
	for i := range got {
		got[i].Data = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("orders\n got %+v\nwant %+v", got, want)
	}
	if st := r.Stats(); st != (Stats{Verified: 9, Duplicates: 1, Ignored: 1, Malformed: 1, Applied: 6}) {
		t.Errorf("stats %+v", st)
	}
}
