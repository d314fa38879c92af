package server_test

// End-to-end tests of the provider profiles: hookd runs in this process
// (server.Run on a temporary SQLite file), events go in through the real
// API, and a local receiver records every delivery byte for byte. Each
// delivered body is checked against the provider's contract in
// /work/shared/seeds (000 Reflow, 001 OpenTiendas, 002 Flo, 003 Flexprice):
// every key, its JSON type, nesting, and the values that follow from what
// was posted; and its signature is checked over exactly the bytes received.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/webhook"
)

const testAdminKey = "profiles-test-admin-key-0123456789"

// waitLimit bounds every wait for a delivery.
const waitLimit = 30 * time.Second

// bigInt is a number no float64 holds exactly: it must reach receivers as
// these digits.
const bigInt = "12345678901234567890"

var (
	reEvtHex   = regexp.MustCompile(`^evt_[0-9a-f]{40}$`)
	reReqHex   = regexp.MustCompile(`^req_[0-9a-f]{40}$`)
	reUUIDv4   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	reRFC3339s = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$`)
	reDlv      = regexp.MustCompile(`^dlv_[0-9a-z]+$`)
	reDigits   = regexp.MustCompile(`^[0-9]+$`)
)

// ---------------------------------------------------------------------------
// hookd in-process

// syncBuffer collects hookd's log, shown when a test fails.
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

// hookd is a hookd running in this process.
type hookd struct {
	base   string
	client *http.Client
}

// startHookd runs hookd on a fresh SQLite file until the test ends.
func startHookd(t *testing.T) *hookd {
	t.Helper()
	h, _ := startHookdWith(t, nil)
	return h
}

// call makes one API request; body is raw JSON (a string) or a value to
// marshal, nil for none.
func (h *hookd) call(t *testing.T, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	return h.request(t, testAdminKey, method, path, body)
}

// request makes one API request with key; body is sent as it is when a
// string, marshalled to JSON otherwise, and not at all when nil.
func (h *hookd) request(t *testing.T, key, method, path string, body any) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := h.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	return resp.StatusCode, resp.Header, b
}

// must makes a request that must answer want, and decodes the answer into
// out (unless nil).
func (h *hookd) must(t *testing.T, method, path string, body any, want int, out any) {
	t.Helper()
	status, _, b := h.call(t, method, path, body)
	if status != want {
		t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// createApp creates an app from a JSON body and returns it.
func (h *hookd) createApp(t *testing.T, body string) *hook.App {
	t.Helper()
	var a hook.App
	h.must(t, "POST", "/v1/apps", body, http.StatusCreated, &a)
	if !strings.HasPrefix(a.ID, "app_") {
		t.Fatalf("app id %q", a.ID)
	}
	return &a
}

// endpoint is an endpoint as created, with its signing secret.
type endpoint struct {
	*hook.Endpoint
	secret string
	path   string // on the receiver
}

// createEndpoint creates an endpoint from body (a JSON object without url),
// delivering to rcv at path, and reads its secret from the secret route.
func (h *hookd) createEndpoint(t *testing.T, appID string, rcv *receiver, path, body string) *endpoint {
	t.Helper()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &fields); err != nil {
		t.Fatal(err)
	}
	fields["url"], _ = json.Marshal(rcv.url(path))
	var ep hook.Endpoint
	h.must(t, "POST", "/v1/apps/"+appID+"/endpoints", fields, http.StatusCreated, &ep)
	var sec struct{ Secret string }
	h.must(t, "GET", "/v1/apps/"+appID+"/endpoints/"+ep.ID+"/secret", nil, http.StatusOK, &sec)
	if sec.Secret == "" {
		t.Fatalf("endpoint %s has no secret", ep.ID)
	}
	return &endpoint{Endpoint: &ep, secret: sec.Secret, path: path}
}

// publish posts an event (raw JSON) and returns the 202's event.
func (h *hookd) publish(t *testing.T, appID, body string) *hook.Event {
	t.Helper()
	var ev hook.Event
	h.must(t, "POST", "/v1/apps/"+appID+"/events", body, http.StatusAccepted, &ev)
	return &ev
}

// deliveries lists an app's deliveries (one page, at most 250) matching query.
func (h *hookd) deliveries(t *testing.T, appID string, query url.Values) []*hook.Delivery {
	t.Helper()
	query.Set("limit", "250")
	var l struct{ Data []*hook.Delivery }
	h.must(t, "GET", "/v1/apps/"+appID+"/deliveries?"+query.Encode(), nil, http.StatusOK, &l)
	return l.Data
}

// deliveryID returns the id of the one delivery of event to ep.
func (h *hookd) deliveryID(t *testing.T, appID, eventID, epID string) string {
	t.Helper()
	ds := h.deliveries(t, appID, url.Values{"event": {eventID}, "endpoint": {epID}})
	if len(ds) != 1 {
		t.Fatalf("GET deliveries?event=%s&endpoint=%s: %d deliveries, want 1", eventID, epID, len(ds))
	}
	d := ds[0]
	if d.EventID != eventID || d.EndpointID != epID {
		t.Fatalf("delivery %s is of event %s to %s, asked for %s to %s", d.ID, d.EventID, d.EndpointID, eventID, epID)
	}
	return d.ID
}

// events lists the ids of an app's events matching query.
func (h *hookd) events(t *testing.T, appID string, query url.Values) []string {
	t.Helper()
	query.Set("limit", "250")
	var l struct{ Data []*hook.Event }
	h.must(t, "GET", "/v1/apps/"+appID+"/events?"+query.Encode(), nil, http.StatusOK, &l)
	var ids []string
	for _, ev := range l.Data {
		ids = append(ids, ev.ID)
	}
	return ids
}

// ---------------------------------------------------------------------------
// the receiver

// received is one request the receiver got.
type received struct {
	Method string
	Path   string
	Header http.Header
	Body   []byte // exactly as received
	At     time.Time
}

// receiver records every request and answers 200.
type receiver struct {
	srv     *httptest.Server
	mu      sync.Mutex
	got     []received
	changed chan struct{} // closed and replaced on every request
}

func newReceiver(t *testing.T) *receiver {
	t.Helper()
	r := &receiver{changed: make(chan struct{})}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.mu.Lock()
		r.got = append(r.got, received{Method: req.Method, Path: req.URL.Path, Header: req.Header.Clone(), Body: body, At: time.Now()})
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) url(path string) string { return r.srv.URL + path }

// on returns the requests received at path, oldest first.
func (r *receiver) on(path string) []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []received
	for _, g := range r.got {
		if g.Path == path {
			out = append(out, g)
		}
	}
	return out
}

// waitFor waits (bounded by waitLimit, woken by each request) until ok
// holds for the requests received at path, and returns them.
func (r *receiver) waitFor(t *testing.T, path, what string, ok func([]received) bool) []received {
	t.Helper()
	deadline := time.NewTimer(waitLimit)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ch := r.changed
		r.mu.Unlock()
		got := r.on(path)
		if ok(got) {
			return got
		}
		select {
		case <-ch:
		case <-deadline.C:
			t.Fatalf("after %v, %s has not received %s (it got %d requests)", waitLimit, path, what, len(got))
		}
	}
}

// await waits for the first request at path with webhook-id eventID.
func (r *receiver) await(t *testing.T, path, eventID string) received {
	t.Helper()
	var d received
	r.waitFor(t, path, "event "+eventID, func(got []received) bool {
		for _, g := range got {
			if g.Header.Get(webhook.HeaderID) == eventID {
				d = g
				return true
			}
		}
		return false
	})
	return d
}

// ---------------------------------------------------------------------------
// JSON checks

// decodeJSON decodes exactly one JSON value, numbers as json.Number.
func decodeJSON(t *testing.T, what string, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s is not JSON: %v\n%s", what, err, raw)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("%s: more than one JSON value\n%s", what, raw)
	}
	return v
}

// pretty shows a decoded value for a failure message.
func pretty(v any) string {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// sameJSON checks that got and want are the same JSON value: the same
// keys, types, nesting and values, numbers compared as written.
func sameJSON(t *testing.T, what string, got, want []byte) {
	t.Helper()
	sameValue(t, what, got, decodeJSON(t, what+" (expected)", want))
}

// sameValue checks that got decodes to want (decoded with UseNumber).
func sameValue(t *testing.T, what string, got []byte, want any) {
	t.Helper()
	g := decodeJSON(t, what, got)
	if !reflect.DeepEqual(g, want) {
		t.Errorf("%s differs from what is expected\n got: %s\nwant: %s", what, pretty(g), pretty(want))
	}
}

// keysOf returns the keys of a JSON object in order, duplicates included.
func keysOf(t *testing.T, what string, raw []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s is not a JSON object: %s", what, raw)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	return keys
}

// object checks that raw is a JSON object with exactly the keys want (no
// more, none twice) and returns its members.
func object(t *testing.T, what string, raw []byte, want ...string) map[string]json.RawMessage {
	t.Helper()
	keys := keysOf(t, what, raw)
	if got, w := slices.Sorted(slices.Values(keys)), slices.Sorted(slices.Values(want)); !slices.Equal(got, w) {
		t.Errorf("%s has keys %q, want exactly %q", what, keys, w)
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return m
}

// kind names the JSON type of a value.
func kind(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "absent"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

func wantKind(t *testing.T, what string, raw json.RawMessage, k string) bool {
	t.Helper()
	if got := kind(raw); got != k {
		t.Errorf("%s is %s (%s), want %s", what, got, raw, k)
		return false
	}
	return true
}

// str checks that raw is a JSON string and returns it.
func str(t *testing.T, what string, raw json.RawMessage) string {
	t.Helper()
	if !wantKind(t, what, raw, "string") {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		t.Errorf("%s: %v", what, err)
	}
	return s
}

// wantStr checks that raw is the JSON string want.
func wantStr(t *testing.T, what string, raw json.RawMessage, want string) {
	t.Helper()
	if s := str(t, what, raw); s != want && kind(raw) == "string" {
		t.Errorf("%s = %q, want %q", what, s, want)
	}
}

// boolean checks that raw is a JSON boolean and returns it.
func boolean(t *testing.T, what string, raw json.RawMessage) bool {
	t.Helper()
	if !wantKind(t, what, raw, "boolean") {
		return false
	}
	return string(raw) == "true"
}

// integer checks that raw is a JSON integer (digits only) and returns it.
func integer(t *testing.T, what string, raw json.RawMessage) int64 {
	t.Helper()
	if !wantKind(t, what, raw, "number") {
		return 0
	}
	if !reDigits.Match(raw) {
		t.Errorf("%s = %s, want an integer", what, raw)
		return 0
	}
	n, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil {
		t.Errorf("%s: %v", what, err)
	}
	return n
}

func compact(t *testing.T, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compacting %s: %v", raw, err)
	}
	return b.Bytes()
}

// sameData checks a delivered copy of posted event data: the same JSON
// value, and the same bytes once compacted ("delivered as sent").
func sameData(t *testing.T, what string, got, posted json.RawMessage) {
	t.Helper()
	sameJSON(t, what, got, posted)
	if want := compact(t, posted); !bytes.Equal(got, want) {
		t.Errorf("%s is not the posted data's bytes (compacted)\n got: %s\nwant: %s", what, got, want)
	}
}

// ---------------------------------------------------------------------------
// posted events

// posted is an event body as the test sent it.
type posted struct {
	raw    string
	fields map[string]json.RawMessage // raw members, bytes as written
}

// eventJSON builds an event body from key and raw JSON value pairs, keeping
// the values' bytes (and whitespace) as written.
func eventJSON(kv ...string) posted {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%q:%s", kv[i], kv[i+1])
	}
	b.WriteByte('}')
	p := posted{raw: b.String()}
	if err := json.Unmarshal([]byte(p.raw), &p.fields); err != nil {
		panic(fmt.Sprintf("bad test event %s: %v", p.raw, err))
	}
	return p
}

func (p posted) has(key string) bool { _, ok := p.fields[key]; return ok }

func (p posted) str(key string) string {
	var s string
	_ = json.Unmarshal(p.fields[key], &s)
	return s
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// readTestdata reads a file of testdata/.
func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// member returns the raw member at a path of keys of a JSON document.
func member(t *testing.T, raw []byte, path ...string) json.RawMessage {
	t.Helper()
	cur := json.RawMessage(raw)
	for _, k := range path {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(cur, &m); err != nil {
			t.Fatalf("%v: %v", path, err)
		}
		v, ok := m[k]
		if !ok {
			t.Fatalf("no %q in %s", k, cur)
		}
		cur = v
	}
	return cur
}

// ---------------------------------------------------------------------------
// delivery checks shared by every test

// checkStandardDelivery checks what every Standard Webhooks delivery
// carries: a POST of JSON, webhook-id the event id, a timestamp of the
// attempt, and a v1 signature under secret over exactly the body received.
func checkStandardDelivery(t *testing.T, d received, secret, eventID string) {
	t.Helper()
	checkRequest(t, d, eventID)
	ts := timestamp(t, d, webhook.HeaderTimestamp)
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatalf("NewVerifier(secret of the endpoint): %v", err)
	}
	v.Now = func() time.Time { return time.Unix(ts, 0).Add(2 * time.Second) }
	if err := v.Verify(d.Header, d.Body); err != nil {
		t.Errorf("signature of %s: %v\nwebhook-signature: %s\nbody: %s", d.Path, err, d.Header.Get(webhook.HeaderSignature), d.Body)
	}
	// The check is real: one byte more and it fails.
	if err := v.Verify(d.Header, append(slices.Clip(d.Body), ' ')); err == nil {
		t.Errorf("signature of %s also verifies a changed body", d.Path)
	}
}

// checkRequest checks the method, content type, user agent and webhook-id.
func checkRequest(t *testing.T, d received, eventID string) {
	t.Helper()
	if d.Method != http.MethodPost {
		t.Errorf("%s: method %s, want POST", d.Path, d.Method)
	}
	if ct := d.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("%s: Content-Type %q, want application/json", d.Path, ct)
	}
	if ua := d.Header.Get("User-Agent"); !strings.HasPrefix(ua, "hookd/") {
		t.Errorf("%s: User-Agent %q, want hookd/<version>", d.Path, ua)
	}
	if id := d.Header.Get(webhook.HeaderID); id != eventID {
		t.Errorf("%s: webhook-id %q, want the event id %q", d.Path, id, eventID)
	}
}

// timestamp reads a Unix-seconds header and checks it is the time of the
// attempt (within a minute of the request's arrival).
func timestamp(t *testing.T, d received, name string) int64 {
	t.Helper()
	v := d.Header.Get(name)
	if !reDigits.MatchString(v) {
		t.Fatalf("%s: %s %q, want Unix seconds", d.Path, name, v)
	}
	ts, _ := strconv.ParseInt(v, 10, 64)
	if diff := d.At.Sub(time.Unix(ts, 0)); diff < -time.Minute || diff > time.Minute {
		t.Errorf("%s: %s %d is %v away from the arrival %v", d.Path, name, ts, diff, d.At)
	}
	return ts
}

// ---------------------------------------------------------------------------
// the profiles

// delivered is one delivery of one posted event to one endpoint.
type delivered struct {
	in         posted
	ev         *hook.Event // the 202's event
	d          received
	deliveryID string // from GET .../deliveries
	before     time.Time
	after      time.Time // around the POST
}

// checkCreated checks a time of the event: the 202's created_at, at the
// precision the body has, within the POST.
func (x *delivered) checkCreated(t *testing.T, what string, got time.Time, precision time.Duration) {
	t.Helper()
	if want := x.ev.CreatedAt.Truncate(precision); !got.Equal(want) {
		t.Errorf("%s = %v, want the event's created_at %v", what, got, want)
	}
	if got.Before(x.before.Truncate(precision)) || got.After(x.after) {
		t.Errorf("%s = %v, not within the POST (%v to %v)", what, got, x.before, x.after)
	}
}

func reflowOrder(status string) string {
	return `{
		"id": "ord_1001", "object": "order", "created_at": 1763895600,
		"payment_status": ` + quote(status) + `, "currency": "EUR", "total": 4200, "tax_rate": 0.21,
		"line_items": [{"sku": "OXFORD-BLUE-M", "quantity": 1, "price": 4200}],
		"ledger_seq": ` + bigInt + `, "note": null
	}`
}

// checkReflow checks a body against Reflow's event object (seed 000).
func checkReflow(t *testing.T, x *delivered) {
	top := object(t, "body", x.d.Body, "id", "object", "api-version", "created", "data", "livemode", "request_id", "type")
	id := str(t, "id", top["id"])
	if x.in.has("id") {
		if id != x.in.str("id") {
			t.Errorf("id = %q, want the posted %q", id, x.in.str("id"))
		}
	} else if !reEvtHex.MatchString(id) {
		t.Errorf("id = %q, want evt_ and 40 lower-case hex digits (generated)", id)
	}
	if id != x.ev.ID {
		t.Errorf("id = %q, want the event's id %q", id, x.ev.ID)
	}
	wantStr(t, "object", top["object"], "event")
	wantStr(t, "api-version", top["api-version"], "2023-01-30")
	x.checkCreated(t, "created", time.Unix(integer(t, "created", top["created"]), 0), time.Second)

	updated := strings.HasSuffix(x.in.str("type"), ".updated")
	dataKeys := []string{"object"}
	if updated {
		dataKeys = append(dataKeys, "previous_attributes")
	}
	data := object(t, "data", top["data"], dataKeys...)
	sameData(t, "data.object", data["object"], x.in.fields["data"])
	if updated {
		if wantKind(t, "data.previous_attributes", data["previous_attributes"], "object") {
			sameJSON(t, "data.previous_attributes", data["previous_attributes"], x.in.fields["previous_attributes"])
		}
	} else if _, ok := data["previous_attributes"]; ok {
		t.Errorf("data.previous_attributes is on a %s event: only *.updated events have it", x.in.str("type"))
	}

	if !boolean(t, "livemode", top["livemode"]) && kind(top["livemode"]) == "boolean" {
		t.Errorf("livemode = false on an event of a live app")
	}
	rid := str(t, "request_id", top["request_id"])
	if x.in.has("request_id") {
		if rid != x.in.str("request_id") {
			t.Errorf("request_id = %q, want the posted %q", rid, x.in.str("request_id"))
		}
	} else if !reReqHex.MatchString(rid) {
		t.Errorf("request_id = %q, want req_ and 40 lower-case hex digits (generated)", rid)
	}
	if rid != x.ev.RequestID {
		t.Errorf("request_id = %q, the 202 said %q", rid, x.ev.RequestID)
	}
	wantStr(t, "type", top["type"], x.in.str("type"))
}

// checkReflowSeed compares the whole user.updated body with the seed's
// sample: the same document but for the generated id and the time.
func checkReflowSeed(seed []byte) func(*testing.T, *delivered) {
	return func(t *testing.T, x *delivered) {
		checkReflow(t, x)
		want := decodeJSON(t, "seed", seed).(map[string]any)
		want["id"] = x.ev.ID
		want["created"] = json.Number(strconv.FormatInt(x.ev.CreatedAt.Unix(), 10))
		sameValue(t, "body (against the seed's user.updated sample)", x.d.Body, want)
	}
}

// checkOpenTiendas checks a body against OpenTiendas' envelope (seed 001)
// and the seed's sample of the same type.
func checkOpenTiendas(seed []byte) func(*testing.T, *delivered) {
	return func(t *testing.T, x *delivered) {
		idKey := "event_id"
		if strings.HasPrefix(x.in.str("type"), "order.") {
			idKey = "id" // as the seed's order samples name it
		}
		top := object(t, "body", x.d.Body, idKey, "type", "created_at", "data")
		id := str(t, idKey, top[idKey])
		if !reUUIDv4.MatchString(id) {
			t.Errorf("%s = %q, want a UUID v4 (generated)", idKey, id)
		}
		if id != x.ev.ID {
			t.Errorf("%s = %q, want the event's id %q", idKey, id, x.ev.ID)
		}
		wantStr(t, "type", top["type"], x.in.str("type"))
		ca := str(t, "created_at", top["created_at"])
		if !reRFC3339s.MatchString(ca) {
			t.Errorf("created_at = %q, want RFC 3339 in whole seconds, UTC (2026-03-16T11:12:33Z)", ca)
		} else {
			at, _ := time.Parse(time.RFC3339, ca)
			x.checkCreated(t, "created_at", at, time.Second)
		}
		sameData(t, "data", top["data"], x.in.fields["data"])

		want := decodeJSON(t, "seed", seed).(map[string]any)
		want[idKey] = x.ev.ID
		want["created_at"] = ca
		sameValue(t, "body (against the seed's "+x.in.str("type")+" sample)", x.d.Body, want)
	}
}

// checkFlo checks a body against Flo's normalized contract (seed 002).
func checkFlo(t *testing.T, x *delivered) {
	typ := x.in.str("type")
	family, _, _ := strings.Cut(typ, ".")
	var data map[string]json.RawMessage
	if err := json.Unmarshal(x.in.fields["data"], &data); err != nil {
		t.Fatal(err)
	}
	keys := []string{"eventId", "eventType", "objectType", "version", "createdAt", "user", family}
	if _, ok := data["invoiceDetails"]; ok {
		keys = append(keys, "invoiceDetails")
	}
	if family == "invoice" {
		for _, k := range []string{"subscription", "item"} {
			if _, ok := data[k]; ok {
				keys = append(keys, k)
			}
		}
	}
	top := object(t, "body", x.d.Body, keys...)

	eventID := str(t, "eventId", top["eventId"])
	if !reDlv.MatchString(eventID) {
		t.Errorf("eventId = %q, want a delivery id (dlv_...)", eventID)
	}
	if eventID != x.deliveryID {
		t.Errorf("eventId = %q, want the id of this delivery in GET .../deliveries, %q", eventID, x.deliveryID)
	}
	wantStr(t, "eventType", top["eventType"], typ)
	wantStr(t, "objectType", top["objectType"], family)
	wantStr(t, "version", top["version"], "v1")
	if at, err := time.Parse(time.RFC3339Nano, str(t, "createdAt", top["createdAt"])); err != nil {
		t.Errorf("createdAt: %v", err)
	} else {
		x.checkCreated(t, "createdAt", at, time.Millisecond)
	}

	user := object(t, "user", top["user"], "id", "clientUserId")
	wantStr(t, "user.id", user["id"], "usr_8f2c41")
	wantStr(t, "user.clientUserId", user["clientUserId"], "client-42")
	for _, k := range keys[5:] { // user and the lifted resources
		wantKind(t, k, top[k], "object")
		sameData(t, k, top[k], data[k])
	}
}

// checkFlexprice checks a body against Flexprice's format (seed 003).
func checkFlexprice(t *testing.T, x *delivered) {
	top := object(t, "body", x.d.Body, "webhook_type", "object_type", "data")
	typ := x.in.str("type")
	wantStr(t, "webhook_type", top["webhook_type"], typ)
	family, _, _ := strings.Cut(typ, ".")
	wantStr(t, "object_type", top["object_type"], family)
	data := object(t, "data", top["data"], "object")
	sameData(t, "data.object", data["object"], x.in.fields["data"])
}

func TestProfilesEndToEnd(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)

	reflowSeed := readTestdata(t, "reflow_user_updated.json")
	otOrder := readTestdata(t, "opentiendas_order_created.json")
	otReview := readTestdata(t, "opentiendas_review_created.json")

	floUser := `{"id": "usr_8f2c41", "clientUserId": "client-42"}`
	floSub := `{"id": "sub_77ab", "status": "active", "planId": "pro-monthly",
		"currentPeriodEnd": "2026-12-23T10:00:00.000Z", "cancelAtPeriodEnd": false, "usageUnits": ` + bigInt + `}`

	type event struct {
		in    posted
		check func(*testing.T, *delivered)
	}
	cases := []struct {
		profile string
		app     string // extra members of the app's body
		events  []event
	}{
		{
			profile: hook.ProfileReflow,
			app:     `,"api_version":"2023-01-30"`,
			events: []event{
				{eventJSON(
					"type", `"user.updated"`,
					"data", string(member(t, reflowSeed, "data", "object")),
					"previous_attributes", `{"email":"","name":"Old Name Value"}`,
					"request_id", `"req_cdf19b9c78cae64b12dabc4f8587283ee865c464"`,
				), checkReflowSeed(reflowSeed)},
				{eventJSON("type", `"order.created"`, "data", reflowOrder("pending")), checkReflow},
				{eventJSON(
					"type", `"order.updated"`,
					"data", reflowOrder("paid"),
					"previous_attributes", `{"payment_status": "pending"}`,
				), checkReflow},
			},
		},
		{
			profile: hook.ProfileOpenTiendas,
			events: []event{
				{eventJSON("type", `"order.created"`, "data", string(member(t, otOrder, "data"))), checkOpenTiendas(otOrder)},
				{eventJSON("type", `"review.created"`, "data", string(member(t, otReview, "data"))), checkOpenTiendas(otReview)},
			},
		},
		{
			profile: hook.ProfileFlo,
			events: []event{
				{eventJSON("type", `"subscription.created"`, "data", `{"user": `+floUser+`, "subscription": `+floSub+`}`), checkFlo},
				{eventJSON("type", `"invoice.paid"`, "data", `{
					"user": `+floUser+`,
					"invoice": {"id": "inv_20261123_0001", "status": "paid", "amountDue": 1999, "amountPaid": 1999,
						"currency": "USD", "paidAt": "2026-11-23T10:00:00.000Z", "taxRate": 0.20,
						"lines": [{"description": "Pro plan – monthly", "amount": 1999}], "ledgerSeq": `+bigInt+`},
					"invoiceDetails": {"gatewayEventType": "invoice.payment_succeeded", "attemptCount": 1},
					"subscription": `+floSub+`
				}`), checkFlo},
			},
		},
		{
			profile: hook.ProfileFlexprice,
			events: []event{
				{eventJSON("type", `"invoice.payment_overdue"`, "data", `{
					"id": "inv_01JD7QX4", "customer_id": "cust_42", "invoice_status": "FINALIZED",
					"payment_status": "PENDING", "amount_due": "150.00", "currency": "usd",
					"due_date": "2026-11-01T00:00:00Z", "usage_units": `+bigInt+`,
					"description": "Overdue – 3 days <net-30> & counting"
				}`), checkFlexprice},
				{eventJSON("type", `"wallet_transaction.payment_failure"`, "data", `{
					"id": "wtxn_01JD7R", "wallet_id": "wallet_9", "type": "credit", "amount": "25.50",
					"credit_amount": 25.50, "transaction_status": "failed", "failure_reason": "card_declined",
					"metadata": {"attempt": 3, "sequence": `+bigInt+`}
				}`), checkFlexprice},
			},
		},
	}

	for _, tc := range cases {
		t.Run(tc.profile, func(t *testing.T) {
			t.Parallel()
			app := h.createApp(t, `{"name":"`+tc.profile+` store","profile":"`+tc.profile+`"`+tc.app+`}`)
			if app.Profile != tc.profile {
				t.Fatalf("app profile %q, want %q", app.Profile, tc.profile)
			}
			// Two endpoints: each gets its own delivery, signed with its
			// own secret (and, for Flo, its own eventId).
			eps := []*endpoint{
				h.createEndpoint(t, app.ID, rcv, "/"+tc.profile+"/a", `{}`),
				h.createEndpoint(t, app.ID, rcv, "/"+tc.profile+"/b", `{}`),
			}
			for _, e := range tc.events {
				typ := e.in.str("type")
				t.Run(typ, func(t *testing.T) {
					before := time.Now()
					ev := h.publish(t, app.ID, e.in.raw)
					after := time.Now()
					if ev.Type != typ || !ev.Livemode {
						t.Errorf("202: type %q livemode %v, want %q true", ev.Type, ev.Livemode, typ)
					}
					var bodyIDs []string
					for _, ep := range eps {
						d := rcv.await(t, ep.path, ev.ID)
						checkStandardDelivery(t, d, ep.secret, ev.ID)
						x := &delivered{in: e.in, ev: ev, d: d, before: before, after: after,
							deliveryID: h.deliveryID(t, app.ID, ev.ID, ep.ID)}
						e.check(t, x)
						if strings.Contains(e.in.raw, bigInt) && !bytes.Contains(d.Body, []byte(":"+bigInt)) {
							t.Errorf("%s: %s did not arrive as these digits:\n%s", ep.path, bigInt, d.Body)
						}
						if tc.profile == hook.ProfileFlo {
							var b struct{ EventID string }
							_ = json.Unmarshal(d.Body, &b)
							bodyIDs = append(bodyIDs, b.EventID)
						}
						t.Logf("%s received:\n%s", ep.path, d.Body)
					}
					if len(bodyIDs) == 2 && bodyIDs[0] == bodyIDs[1] {
						t.Errorf("both endpoints got eventId %q: it must identify the delivery to one endpoint", bodyIDs[0])
					}
				})
			}
		})
	}
}

// ---------------------------------------------------------------------------
// overrides, envelopes, filters, livemode, signatures

// TestEndpointProfileOverridesApp: one event of a reflow app reaches an
// endpoint that inherits the app's profile and one with its own flexprice
// profile, each in its own shape.
func TestEndpointProfileOverridesApp(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	app := h.createApp(t, `{"name":"override","profile":"reflow","api_version":"2023-01-30"}`)
	inherit := h.createEndpoint(t, app.ID, rcv, "/inherit", `{}`)
	own := h.createEndpoint(t, app.ID, rcv, "/own", `{"profile":"flexprice"}`)
	if own.Profile != hook.ProfileFlexprice || inherit.Profile != "" {
		t.Fatalf("endpoint profiles %q and %q, want \"\" and flexprice", inherit.Profile, own.Profile)
	}

	in := eventJSON("type", `"order.created"`, "data", reflowOrder("pending"))
	before := time.Now()
	ev := h.publish(t, app.ID, in.raw)
	after := time.Now()
	if !reEvtHex.MatchString(ev.ID) {
		t.Errorf("event id %q: a reflow app's generated ids are evt_ and 40 hex digits", ev.ID)
	}
	for _, c := range []struct {
		ep    *endpoint
		check func(*testing.T, *delivered)
	}{{inherit, checkReflow}, {own, checkFlexprice}} {
		d := rcv.await(t, c.ep.path, ev.ID)
		checkStandardDelivery(t, d, c.ep.secret, ev.ID)
		c.check(t, &delivered{in: in, ev: ev, d: d, before: before, after: after})
		t.Logf("%s received:\n%s", c.ep.path, d.Body)
	}
}

// TestFloEventIDOnRetry: Flo's eventId names the delivery record, so a
// retry of that delivery sends the same eventId (and the same body), while
// webhook-id stays the event's id.
func TestFloEventIDOnRetry(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	app := h.createApp(t, `{"name":"flo retry","profile":"flo"}`)
	ep := h.createEndpoint(t, app.ID, rcv, "/flo", `{}`)
	ev := h.publish(t, app.ID, eventJSON("type", `"item.purchased"`, "data",
		`{"user":{"id":"usr_1","clientUserId":"c-1"},"item":{"id":"itm_pro","name":"Pro plan","price":1999}}`).raw)
	first := rcv.await(t, ep.path, ev.ID)
	checkStandardDelivery(t, first, ep.secret, ev.ID)
	dlv := h.deliveryID(t, app.ID, ev.ID, ep.ID)

	// Retry once the first attempt is recorded (a delivery in flight is a
	// 409): poll its status, bounded.
	deadline := time.Now().Add(waitLimit)
	for {
		var d hook.Delivery
		h.must(t, "GET", "/v1/apps/"+app.ID+"/deliveries/"+dlv, nil, http.StatusOK, &d)
		if d.Status == hook.DeliverySucceeded {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s still %s after %v", dlv, d.Status, waitLimit)
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.must(t, "POST", "/v1/apps/"+app.ID+"/deliveries/"+dlv+"/retry", nil, http.StatusAccepted, nil)
	got := rcv.waitFor(t, ep.path, "the retry", func(g []received) bool { return len(g) >= 2 })
	second := got[1]
	checkStandardDelivery(t, second, ep.secret, ev.ID)
	var a, b struct{ EventID string }
	_ = json.Unmarshal(first.Body, &a)
	_ = json.Unmarshal(second.Body, &b)
	if a.EventID != dlv || b.EventID != dlv {
		t.Errorf("eventId %q then %q on the retry, want the delivery's id %q both times", a.EventID, b.EventID, dlv)
	}
	if !bytes.Equal(first.Body, second.Body) {
		t.Errorf("the retry's body differs:\nfirst: %s\nretry: %s", first.Body, second.Body)
	}
}

// TestEndpointEnvelope: an endpoint's jq envelope makes the whole body.
func TestEndpointEnvelope(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	app := h.createApp(t, `{"name":"envelope","profile":"reflow"}`)
	ep := h.createEndpoint(t, app.ID, rcv, "/jq", `{"uid":"shop-main","envelope":"{kind: .type, order: .data.id, ep: .endpoint.uid}"}`)
	ev := h.publish(t, app.ID, eventJSON("type", `"order.created"`, "data", reflowOrder("pending")).raw)
	d := rcv.await(t, ep.path, ev.ID)
	checkStandardDelivery(t, d, ep.secret, ev.ID)
	// Envelope output is compact JSON with sorted keys.
	if want := `{"ep":"shop-main","kind":"order.created","order":"ord_1001"}`; string(d.Body) != want {
		t.Errorf("body\n got: %s\nwant: %s", d.Body, want)
	}
}

// TestEndpointFilter: a payload filter lets only the paid order.updated
// through; an endpoint without a filter gets every event.
func TestEndpointFilter(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	app := h.createApp(t, `{"name":"filter","profile":"reflow"}`)
	paid := h.createEndpoint(t, app.ID, rcv, "/paid", `{"filter":".data.payment_status == \"paid\""}`)
	all := h.createEndpoint(t, app.ID, rcv, "/all", `{}`)

	var ids []string
	for _, e := range []struct{ typ, status string }{
		{"order.created", "pending"}, {"order.updated", "failed"}, {"order.updated", "paid"},
	} {
		kv := []string{"type", quote(e.typ), "data", reflowOrder(e.status)}
		if strings.HasSuffix(e.typ, ".updated") { // reflow refuses them on other types
			kv = append(kv, "previous_attributes", `{"payment_status":"pending"}`)
		}
		ev := h.publish(t, app.ID, eventJSON(kv...).raw)
		ids = append(ids, ev.ID)
	}
	paidID := ids[2]

	// The filter runs when the event is published, within the request's
	// budget; one it leaves undecided (the first run may start the jq
	// sandbox's worker) is decided before the delivery's first attempt,
	// and a delivery it does not let through is discarded.
	var ds []*hook.Delivery
	for deadline := time.Now().Add(waitLimit); ; time.Sleep(20 * time.Millisecond) {
		if ds = h.deliveries(t, app.ID, url.Values{"endpoint": {paid.ID}}); len(ds) <= 1 || time.Now().After(deadline) {
			break
		}
	}
	if len(ds) != 1 || ds[0].EventID != paidID {
		var got []string
		for _, d := range ds {
			got = append(got, d.EventID)
		}
		t.Errorf("deliveries to the filtered endpoint are of events %v, want only %s (the paid order.updated)", got, paidID)
	}
	if n := len(h.deliveries(t, app.ID, url.Values{"endpoint": {all.ID}})); n != 3 {
		t.Errorf("%d deliveries to the unfiltered endpoint, want 3", n)
	}
	for _, id := range ids {
		checkStandardDelivery(t, rcv.await(t, all.path, id), all.secret, id)
	}
	d := rcv.await(t, paid.path, paidID)
	checkStandardDelivery(t, d, paid.secret, paidID)
	var b struct {
		Type string
		Data struct {
			Object struct {
				PaymentStatus string `json:"payment_status"`
			}
		}
	}
	if err := json.Unmarshal(d.Body, &b); err != nil || b.Type != "order.updated" || b.Data.Object.PaymentStatus != "paid" {
		t.Errorf("the filtered endpoint got %s", d.Body)
	}
	for _, g := range rcv.on(paid.path) {
		if id := g.Header.Get(webhook.HeaderID); id != paidID {
			t.Errorf("the filtered endpoint received event %s: %s", id, g.Body)
		}
	}
}

// TestTestModeApp: an app with livemode false makes test events, delivered
// with "livemode": false and listed under ?livemode=false; an event that
// says livemode true is live.
func TestTestModeApp(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	app := h.createApp(t, `{"name":"test mode","profile":"reflow","api_version":"2023-01-30","livemode":false}`)
	if app.Livemode {
		t.Fatalf("app created with livemode false answers livemode true")
	}
	var got hook.App
	h.must(t, "GET", "/v1/apps/"+app.ID, nil, http.StatusOK, &got)
	if got.Livemode {
		t.Errorf("GET app: livemode true, want false")
	}
	ep := h.createEndpoint(t, app.ID, rcv, "/test", `{}`)

	testEv := h.publish(t, app.ID, eventJSON("type", `"order.created"`, "data", reflowOrder("pending")).raw)
	liveEv := h.publish(t, app.ID, eventJSON("type", `"order.created"`, "data", reflowOrder("paid"), "livemode", "true").raw)
	if testEv.Livemode || !liveEv.Livemode {
		t.Errorf("202 livemode: %v for the event without livemode (want false), %v for livemode true (want true)", testEv.Livemode, liveEv.Livemode)
	}
	for _, c := range []struct {
		ev   *hook.Event
		live bool
	}{{testEv, false}, {liveEv, true}} {
		d := rcv.await(t, ep.path, c.ev.ID)
		checkStandardDelivery(t, d, ep.secret, c.ev.ID)
		top := object(t, "body", d.Body, "id", "object", "api-version", "created", "data", "livemode", "request_id", "type")
		if l := boolean(t, "livemode", top["livemode"]); l != c.live {
			t.Errorf("event %s delivered with livemode %v, want %v: %s", c.ev.ID, l, c.live, d.Body)
		}
	}

	for _, c := range []struct {
		query     string
		in, notIn *hook.Event
	}{{"false", testEv, liveEv}, {"true", liveEv, testEv}} {
		ids := h.events(t, app.ID, url.Values{"livemode": {c.query}})
		if !slices.Contains(ids, c.in.ID) || slices.Contains(ids, c.notIn.ID) {
			t.Errorf("GET events?livemode=%s = %v, want %s and not %s", c.query, ids, c.in.ID, c.notIn.ID)
		}
		var dIDs []string
		for _, d := range h.deliveries(t, app.ID, url.Values{"livemode": {c.query}}) {
			dIDs = append(dIDs, d.EventID)
		}
		if !slices.Equal(dIDs, []string{c.in.ID}) {
			t.Errorf("GET deliveries?livemode=%s are of events %v, want [%s]", c.query, dIDs, c.in.ID)
		}
	}
	if ids := h.events(t, app.ID, url.Values{}); len(ids) != 2 {
		t.Errorf("GET events = %v, want both", ids)
	}
}

// TestProviderSignatureScheme: an app with Reflow-style HMAC signing and an
// endpoint keeping its provider secret get X-Reflow-Signature =
// "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
func TestProviderSignatureScheme(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	const scheme = `{"scheme":"hmac","header":"X-Reflow-Signature","timestamp_header":"X-Reflow-Timestamp",` +
		`"encoding":"hex","payload":"timestamp.body","prefix":"sha256=","key":"secret"}`
	app := h.createApp(t, `{"name":"reflow signing","profile":"reflow","api_version":"2023-01-30","signature":`+scheme+`}`)
	wantScheme := hook.SignatureScheme{Scheme: "hmac", Header: "X-Reflow-Signature", TimestampHeader: "X-Reflow-Timestamp",
		Encoding: "hex", Payload: "timestamp.body", Prefix: "sha256=", Key: "secret"}
	if app.Signature == nil || *app.Signature != wantScheme {
		t.Errorf("app signature %+v, want %+v", app.Signature, wantScheme)
	}
	const secret = "reflow_whsec_test_0123456789abcdef"
	ep := h.createEndpoint(t, app.ID, rcv, "/signed", `{"secret":"`+secret+`"}`)
	if ep.secret != secret {
		t.Errorf("GET secret = %q, want the provider secret %q", ep.secret, secret)
	}

	in := eventJSON("type", `"order.created"`, "data", reflowOrder("pending"))
	before := time.Now()
	ev := h.publish(t, app.ID, in.raw)
	after := time.Now()
	d := rcv.await(t, ep.path, ev.ID)
	checkRequest(t, d, ev.ID)
	ts := timestamp(t, d, "X-Reflow-Timestamp")
	mac := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(mac, "%d.", ts)
	mac.Write(d.Body)
	want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
	if got := d.Header.Get("X-Reflow-Signature"); got != want {
		t.Errorf("X-Reflow-Signature = %q, want %q (HMAC-SHA256 of %q + body under the secret's bytes)", got, want, strconv.FormatInt(ts, 10)+".")
	}
	checkReflow(t, &delivered{in: in, ev: ev, d: d, before: before, after: after})
}

// Test422 checks the problem+json answers for settings hookd refuses,
// each naming the field at fault.
func Test422(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	app := h.createApp(t, `{"name":"standard"}`)
	eps := "/v1/apps/" + app.ID + "/endpoints"
	const target = `"url":"http://127.0.0.1:9/hooks"`
	cases := []struct {
		name, path, body, location string
	}{
		{"unknown app profile", "/v1/apps", `{"name":"x","profile":"shopify"}`, "body.profile"},
		{"unknown endpoint profile", eps, `{` + target + `,"profile":"shopify"}`, "body.profile"},
		{"envelope that does not compile", eps, `{` + target + `,"envelope":"{kind: .type"}`, "body.envelope"},
		{"envelope yielding two values", eps, `{` + target + `,"envelope":"1,2"}`, "body.envelope"},
		{"filter that does not compile", eps, `{` + target + `,"filter":".data.payment_status =="}`, "body.filter"},
		{"signature encoding rot13", "/v1/apps", `{"name":"x","signature":{"scheme":"hmac","header":"X-Reflow-Signature",` +
			`"encoding":"rot13","payload":"timestamp.body","prefix":"sha256=","key":"secret"}}`, "body.signature.encoding"},
		{"provider secret with the standard scheme", eps, `{` + target + `,"secret":"reflow_whsec_test_0123456789abcdef"}`, "body.secret"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			status, hdr, b := h.call(t, "POST", c.path, c.body)
			if status != http.StatusUnprocessableEntity {
				t.Fatalf("status %d, want 422: %s", status, b)
			}
			if ct := hdr.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q, want application/problem+json", ct)
			}
			var p struct {
				Status int
				Title  string
				Errors []struct{ Location, Message string }
			}
			if err := json.Unmarshal(b, &p); err != nil {
				t.Fatalf("%v: %s", err, b)
			}
			if p.Status != 422 || p.Title == "" {
				t.Errorf("problem status %d title %q: %s", p.Status, p.Title, b)
			}
			var locs []string
			for _, e := range p.Errors {
				locs = append(locs, e.Location)
				if e.Location == c.location && e.Message == "" {
					t.Errorf("error at %s has no message: %s", e.Location, b)
				}
			}
			if !slices.Contains(locs, c.location) {
				t.Errorf("errors[].location = %q, want %q: %s", locs, c.location, b)
			}
		})
	}
	t.Cleanup(func() {
		// Nothing refused was created. (Cleanups run after the parallel
		// subtests.)
		var l struct{ Data []*hook.Endpoint }
		h.must(t, "GET", eps, nil, http.StatusOK, &l)
		if len(l.Data) != 0 {
			t.Errorf("%d endpoints exist after only refused creations", len(l.Data))
		}
		var apps struct{ Data []*hook.App }
		h.must(t, "GET", "/v1/apps", nil, http.StatusOK, &apps)
		if len(apps.Data) != 1 {
			t.Errorf("%d apps exist, want only the one created", len(apps.Data))
		}
	})
}
