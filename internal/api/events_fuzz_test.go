package api_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// fuzzMaxBody is the body limit of the API FuzzCreateEvent runs: small, so
// that the fuzzer reaches 413 too.
const fuzzMaxBody = 4096

// fuzzAPI is one API server on its own SQLite file, with one app ("fuzz"),
// one endpoint subscribed to everything, and an event type with a schema
// (order.created), set up once per fuzzing process.
type fuzzAPI struct {
	srv    *httptest.Server
	store  *sqlitestore.Store
	appID  string
	events string // the app's events URL
}

func newFuzzAPI(f *testing.F) *fuzzAPI {
	f.Helper()
	ctx := context.Background()
	st, err := sqlitestore.Open(ctx, filepath.Join(f.TempDir(), "hookd.db"), nil)
	if err != nil {
		f.Fatalf("open store: %v", err)
	}
	f.Cleanup(func() { _ = st.Close() })
	pub := &testPublisher{st: st}
	h, err := api.New(api.Config{
		Store:        st,
		Dispatcher:   pub,
		Logger:       slog.New(slog.DiscardHandler),
		MaxBodyBytes: fuzzMaxBody,
	})
	if err != nil {
		f.Fatalf("api.New: %v", err)
	}
	a := &fuzzAPI{srv: httptest.NewServer(h), store: st}
	f.Cleanup(a.srv.Close)
	f.Cleanup(pub.readers.Wait)
	sum := sha256.Sum256([]byte(adminKey))
	if _, err := st.CreateAPIKey(ctx, &store.CreateAPIKeyParams{
		ID: hook.NewID("key"), Name: "fuzz admin", Hash: sum[:], Now: time.Now().UTC(),
	}); err != nil {
		f.Fatalf("create api key: %v", err)
	}
	setup := func(path, body string, status int) []byte {
		f.Helper()
		resp, b := a.post(f, path, []byte(body), "application/json", "")
		if resp.StatusCode != status {
			f.Fatalf("POST %s: %d, want %d: %s", path, resp.StatusCode, status, b)
		}
		return b
	}
	var app struct{ ID string }
	if err := json.Unmarshal(setup("/v1/apps", `{"name":"Fuzz","uid":"fuzz"}`, http.StatusCreated), &app); err != nil || app.ID == "" {
		f.Fatalf("create app: %v", err)
	}
	a.appID = app.ID
	a.events = "/v1/apps/fuzz/events"
	setup("/v1/apps/fuzz/endpoints", `{"url":"https://example.com/hook"}`, http.StatusCreated)
	setup("/v1/event-types", `{"name":"order.created","schema":{"type":"object","required":["total"],
		"properties":{"total":{"type":"number","minimum":0},"customer":{"type":"object","properties":{"email":{"type":"string","format":"email"}}},
		"items":{"type":"array","items":{"type":"string"},"maxItems":3}}}}`, http.StatusCreated)
	return a
}

// post sends body with the admin key; contentType and idempotencyKey are
// left out when "". It returns a nil response when the client refuses to
// send the request (a header value no HTTP/1.1 request can carry).
func (a *fuzzAPI) post(tb testing.TB, path string, body []byte, contentType, idempotencyKey string) (*http.Response, []byte) {
	tb.Helper()
	req, err := http.NewRequest(http.MethodPost, a.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if idempotencyKey != "" {
		req.Header.Set("Idempotency-Key", idempotencyKey)
	}
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "invalid header field") {
			return nil, nil
		}
		tb.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return resp, b
}

// FuzzCreateEvent posts arbitrary bodies, Idempotency-Key and Content-Type
// headers to POST /v1/apps/{app}/events through the real handler and a
// SQLite store, and checks: the status is 202, 400, 413, 415 or 422, never
// a 5xx; 413 exactly when the body is over the limit; 400 only for a body
// that is not one JSON value, or is JSON text with a fault (invalid UTF-8,
// an unpaired surrogate escape, a duplicate key: see api.ReferenceFault),
// located at the fault; 415 only for a Content-Type that is not JSON;
// every 4xx is an application/problem+json problem with its status, title
// and detail; a 202 is for a body without such a fault, is the event as
// JSON, with the id the body or the header asked for, and the event is
// stored with data equal to the compacted data of the body (or, on an
// idempotent replay, is the event stored before), and served back by GET
// as valid JSON text without a fault.
func FuzzCreateEvent(f *testing.F) {
	for _, s := range []struct{ body, key, ct string }{
		{`{"type":"order.created","data":{"total":4200,"customer":{"email":"a@b.c"}}}`, "", "application/json"},
		{`{"type":"order.paid","data":{"order_id":"ord_1","total":12345678901234567890123,"f":1.50,"s":"é<>&\u2028"}}`, "", "application/json"},
		{` { "type" : "a.b" , "data" : { "z" : [ 1 , { } ] , "a" : null } , "id" : "ord_1_created" } `, "", ""},
		{`{"type":"a.b","data":{}}`, "pay_9", "application/json; charset=utf-8"},
		{`{"type":"a.b","data":{},"id":"pay_9"}`, "pay_9", "application/vnd.api+json"},
		{`{"type":"a.b","data":{},"id":"pay_10"}`, "pay_9", "application/json"},
		{`{"type":"a.b","data":{}}`, "bad key!", "application/json"},
		{`{"type":"a.b","data":{},"previous_attributes":{"x":1},"livemode":false,"request_id":"req_1","api_version":"2026-01-01"}`, "", "application/json"},
		{`{"type":"a.b","data":{},"previous_attributes":[1]}`, "", "application/json"},
		{`{"type":"a.b","data":{"k":"\ud800"},"DATA":{"k":2}}`, "", "application/json"},
		{`{"type":"a.b","data":{"dup":1,"dup":2}}`, "", "application/json"},
		{`{"type":"a.b","data":{"items":[{"sku":1},{"sku":2,"\u0073ku":3}]}}`, "", "application/json"},
		{`{"type":"a.b","type":"c.d","data":{}}`, "", "application/json"},
		{`{"type":"a.b","data":{},"DATA":{"x":1}}`, "", "application/json"},
		{"{\"type\":\"a.b\",\"data\":{\"s\":\"\xff\",\"k\xc3\":1}}", "", "application/json"},
		{`{"type":"a.b","data":{"s":"\ud83d\ude00\udc00"},"previous_attributes":{"\ud800":1}}`, "", "application/json"},
		{`{"type":"a.b","data":{"big":12345678901234567890,"e":1e400,"f":0.1000000000000000000001}}`, "", "application/json"},
		{`{"type":"order.created","data":{"total":-1,"items":[1,2,3,4]}}`, "", "application/json"},
		{`{"type":"a.b","data":[1]}`, "", "application/json"},
		{`{"type":"a.b","data":null}`, "", "application/json"},
		{`{"type":"a.b","data":"x"}`, "", "application/json"},
		{`{"type":"nodot","data":{}}`, "", "application/json"},
		{`{"type":1,"data":{}}`, "", "application/json"},
		{`{"type":"a.b","data":{},"extra":1}`, "", "application/json"},
		{`{"type":"a.b","data":{}} {}`, "", "application/json"},
		{`{"type":"a.b","data":{}`, "", "application/json"},
		{`null`, "", "application/json"},
		{`[]`, "", "application/json"},
		{``, "", "application/json"},
		{"\xff", "", "application/json"},
		{`{"type":"a.b","data":{}}`, "", "text/plain"},
		{`{"type":"a.b","data":{}}`, "", "application/json; charset"},
		{`{"type":"a.b","data":{"pad":"` + strings.Repeat("x", fuzzMaxBody) + `"}}`, "", "application/json"},
		{`{"type":"a.b","data":{},"request_id":"` + strings.Repeat("r", 256) + `"}`, "", "application/json"},
	} {
		f.Add([]byte(s.body), s.key, s.ct)
	}
	a := newFuzzAPI(f)
	f.Fuzz(func(t *testing.T, body []byte, idemKey, contentType string) {
		resp, got := a.post(t, a.events, body, contentType, idemKey)
		if resp == nil {
			return // the client would not send these headers
		}
		// What the server read: a header value is trimmed of spaces and tabs.
		idemKey = strings.Trim(idemKey, " \t")
		contentType = strings.Trim(contentType, " \t")
		status := resp.StatusCode
		switch status {
		case http.StatusAccepted, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("status %d for body %q (Idempotency-Key %q, Content-Type %q): %s", status, body, idemKey, contentType, got)
		}
		if (len(body) > fuzzMaxBody) != (status == http.StatusRequestEntityTooLarge) {
			t.Fatalf("%d-byte body (limit %d): status %d: %s", len(body), fuzzMaxBody, status, got)
		}
		fault := ""
		if json.Valid(body) {
			fault, _ = api.ReferenceFault(t, body)
		}
		if status == http.StatusBadRequest && json.Valid(body) && fault == "" {
			t.Fatalf("400 for a body that is valid JSON text %q: %s", body, got)
		}
		if status == http.StatusBadRequest && fault != "" && !locatedAt(got, fault) {
			t.Fatalf("400 for body %q not located at its fault, %q: %s", body, fault, got)
		}
		if status == http.StatusAccepted && (fault != "" || !utf8.Valid(body)) {
			t.Fatalf("202 for body %q, whose JSON text has a fault at %q: %s", body, fault, got)
		}
		if status == http.StatusUnsupportedMediaType && (contentType == "" || contentType == "application/json") {
			t.Fatalf("415 for Content-Type %q: %s", contentType, got)
		}
		if status != http.StatusAccepted {
			checkProblem(t, resp, got, body)
			return
		}
		checkAccepted(t, a, resp, got, body, idemKey)
	})
}

// checkProblem checks that a 4xx answer is an RFC 9457 problem.
func checkProblem(t *testing.T, resp *http.Response, got, body []byte) {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json; body %q: %s", resp.StatusCode, ct, body, got)
	}
	var p struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}
	if err := json.Unmarshal(got, &p); err != nil {
		t.Fatalf("status %d: problem is not JSON (%v): %q", resp.StatusCode, err, got)
	}
	if p.Status != resp.StatusCode || p.Title != http.StatusText(resp.StatusCode) || p.Detail == "" {
		t.Fatalf("status %d: problem %+v lacks its status, title or detail: %s", resp.StatusCode, p, got)
	}
}

// checkAccepted checks a 202 answer against the body sent and the store.
func checkAccepted(t *testing.T, a *fuzzAPI, resp *http.Response, got, body []byte, idemKey string) {
	t.Helper()
	var ev struct {
		ID    string          `json:"id"`
		AppID string          `json:"app_id"`
		Type  string          `json:"type"`
		Data  json.RawMessage `json:"data"`
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("202 with Content-Type %q: %s", ct, got)
	}
	if err := json.Unmarshal(got, &ev); err != nil || ev.ID == "" || ev.AppID != a.appID {
		t.Fatalf("202 answer %q for body %q: not an event of the app (%v)", got, body, err)
	}
	// What the body asked for, read as encoding/json reads it (an accepted
	// body has no repeated keys, and its names are exact).
	var sent struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
		ID   *string         `json:"id"`
	}
	if err := json.Unmarshal(body, &sent); err != nil {
		t.Fatalf("202 for body %q, which does not decode: %v", body, err)
	}
	switch {
	case sent.ID != nil && ev.ID != *sent.ID:
		t.Fatalf("202 answer id %q, body id %q", ev.ID, *sent.ID)
	case sent.ID == nil && idemKey != "" && ev.ID != idemKey:
		t.Fatalf("202 answer id %q, Idempotency-Key %q", ev.ID, idemKey)
	case sent.ID == nil && idemKey == "" && !strings.HasPrefix(ev.ID, "evt_"):
		t.Fatalf("202 answer with generated id %q, want evt_...", ev.ID)
	}

	stored, err := a.store.GetEvent(context.Background(), a.appID, ev.ID)
	if err != nil {
		t.Fatalf("202 for %q, but event %q is not stored: %v", body, ev.ID, err)
	}
	if !bytes.Equal(stored.Data, ev.Data) || stored.Type != ev.Type {
		t.Fatalf("202 answer (type %q, data %s) differs from the stored event (type %q, data %s)", ev.Type, ev.Data, stored.Type, stored.Data)
	}
	if resp.Header.Get("Idempotent-Replayed") == "true" {
		return // the event stored before, whatever this body held
	}
	if ev.Type != sent.Type {
		t.Fatalf("202 answer type %q, body type %q", ev.Type, sent.Type)
	}
	var want bytes.Buffer
	if err := json.Compact(&want, sent.Data); err != nil {
		t.Fatalf("202 for data %q, which does not compact: %v", sent.Data, err)
	}
	if !bytes.Equal(stored.Data, want.Bytes()) {
		t.Fatalf("stored data %q, want the compacted body data %q (body %q)", stored.Data, want.Bytes(), body)
	}
	checkServedBack(t, a, ev.ID)
}

// checkServedBack checks GET serves the event back as valid JSON text,
// its data without a fault.
func checkServedBack(t *testing.T, a *fuzzAPI, id string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, a.srv.URL+a.events+"/"+url.PathEscape(id), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+adminKey)
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || !json.Valid(got) || !utf8.Valid(got) {
		t.Fatalf("GET event %q: %d, not valid JSON text: %q", id, resp.StatusCode, got)
	}
	var ev struct {
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(got, &ev); err != nil {
		t.Fatal(err)
	}
	if fault, _ := api.ReferenceFault(t, ev.Data); fault != "" {
		t.Fatalf("GET event %q serves data with a fault at %s: %s", id, fault, ev.Data)
	}
}

// locatedAt reports whether the problem answer got names loc among its
// errors' locations (compared decoded: a location may hold characters
// JSON and Go quote differently, such as DEL).
func locatedAt(got []byte, loc string) bool {
	var p struct {
		Errors []struct {
			Location string `json:"location"`
		} `json:"errors"`
	}
	if json.Unmarshal(got, &p) != nil {
		return false
	}
	for _, e := range p.Errors {
		if e.Location == loc {
			return true
		}
	}
	return false
}
