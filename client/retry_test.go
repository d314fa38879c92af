package client_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/client"
)

// scripted is an httptest server answering each request with the next of
// its answers (the last one again when they run out), recording the
// requests.
type scripted struct {
	t       *testing.T
	srv     *httptest.Server
	mu      sync.Mutex
	answers []answer
	got     []request
}

type answer struct {
	status     int
	retryAfter string
	body       string
}

type request struct {
	method, path, key, idempotencyKey, ua string
	body                                  string
}

func newScripted(t *testing.T, answers ...answer) *scripted {
	s := &scripted{t: t, answers: answers}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.got = append(s.got, request{r.Method, r.URL.Path, r.Header.Get("Authorization"),
			r.Header.Get("Idempotency-Key"), r.Header.Get("User-Agent"), string(b)})
		a := s.answers[min(len(s.got), len(s.answers))-1]
		s.mu.Unlock()
		if a.retryAfter != "" {
			w.Header().Set("Retry-After", a.retryAfter)
		}
		if a.status >= 400 {
			w.Header().Set("Content-Type", "application/problem+json")
			if a.body == "" {
				a.body = `{"status":` + strconv.Itoa(a.status) + `,"title":"` + http.StatusText(a.status) + `","detail":"try later"}`
			}
		} else {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(a.status)
		_, _ = io.WriteString(w, a.body)
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *scripted) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.got)
}

// sleeps records the waits of a RetryPolicy instead of waiting.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = append(s.d, d)
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.d)
}

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestClient(t *testing.T, s *scripted, p client.RetryPolicy) (*client.Client, *sleeps) {
	t.Helper()
	var sl sleeps
	p.Sleep = sl.sleep
	p.Now = func() time.Time { return now }
	c, err := client.New(s.srv.URL, "sk_test", client.WithRetryPolicy(p), client.WithUserAgent("client-test/1"))
	if err != nil {
		t.Fatal(err)
	}
	return c, &sl
}

const appJSON = `{"id":"app_1","name":"Acme","catalog":"open","created_at":"2026-03-01T12:00:00Z","updated_at":"2026-03-01T12:00:00Z","livemode":true,"metadata":{},"profile":"hookd","secret_overlap_seconds":86400}`

// TestRetryIdempotentOn429And503 retries a GET answered 429 then 503,
// waiting what each Retry-After says (seconds, then an HTTP date read
// against the policy's clock), and returns the answer that follows.
func TestRetryIdempotentOn429And503(t *testing.T) {
	t.Parallel()
	s := newScripted(t,
		answer{status: 429, retryAfter: "7"},
		answer{status: 503, retryAfter: now.Add(90 * time.Second).Format(http.TimeFormat)},
		answer{status: 200, body: appJSON},
	)
	c, sl := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3, MaxWait: time.Hour})
	app, err := c.GetApp(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if app.ID != "app_1" || app.Name != "Acme" {
		t.Errorf("app %+v", app)
	}
	if got, want := sl.waits(), []time.Duration{7 * time.Second, 90 * time.Second}; !slices.Equal(got, want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	reqs := s.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	for _, r := range reqs {
		if r.method != "GET" || r.path != "/v1/apps/acme" || r.key != "Bearer sk_test" || r.ua != "client-test/1" {
			t.Errorf("request %+v", r)
		}
	}
}

// TestRetryGivesUp returns the last 429 as an *Error once the retries are
// spent, and does not wait a Retry-After longer than MaxWait at all.
func TestRetryGivesUp(t *testing.T) {
	t.Parallel()
	t.Run("max retries", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 429, retryAfter: "1"})
		c, sl := newTestClient(t, s, client.RetryPolicy{MaxRetries: 2})
		err := c.DeleteApp(context.Background(), "acme")
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 429 || e.RetryAfter != time.Second {
			t.Fatalf("err %v (%#v), want a 429 *client.Error with RetryAfter 1s", err, e)
		}
		if n := len(s.requests()); n != 3 {
			t.Errorf("%d requests, want 3 (1 + 2 retries)", n)
		}
		if n := len(sl.waits()); n != 2 {
			t.Errorf("%d waits, want 2", n)
		}
	})
	t.Run("too long", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 503, retryAfter: "120"}, answer{status: 200, body: appJSON})
		c, sl := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3, MaxWait: time.Minute})
		_, err := c.GetApp(context.Background(), "acme")
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 503 || e.RetryAfter != 2*time.Minute {
			t.Fatalf("err %v, want a 503 *client.Error with RetryAfter 2m", err)
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
		if w := sl.waits(); len(w) != 0 {
			t.Errorf("waited %v", w)
		}
	})
	t.Run("backoff without Retry-After", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 503}, answer{status: 503}, answer{status: 503}, answer{status: 200, body: appJSON})
		c, sl := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3, Backoff: 500 * time.Millisecond, MaxWait: 1500 * time.Millisecond})
		if _, err := c.GetApp(context.Background(), "acme"); err != nil {
			t.Fatal(err)
		}
		if got, want := sl.waits(), []time.Duration{500 * time.Millisecond, time.Second, 1500 * time.Millisecond}; !slices.Equal(got, want) {
			t.Errorf("waits %v, want %v", got, want)
		}
	})
	t.Run("context cancelled while waiting", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 429, retryAfter: "5"}, answer{status: 200, body: appJSON})
		ctx, cancel := context.WithCancel(context.Background())
		c, err := client.New(s.srv.URL, "sk_test", client.WithRetryPolicy(client.RetryPolicy{
			MaxRetries: 3,
			Sleep: func(ctx context.Context, _ time.Duration) error {
				cancel()
				return ctx.Err()
			},
		}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.GetApp(ctx, "acme"); !errors.Is(err, context.Canceled) {
			t.Errorf("err %v, want context.Canceled", err)
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
}

const eventJSON = `{"id":"evt_1","app_id":"app_1","type":"order.created","data":{"n":1},"created_at":"2026-03-01T12:00:00Z","livemode":true}`

// TestNoRetryOfNonIdempotentPost: a POST without an Idempotency-Key (an
// event without an id), and a PATCH, are sent once whatever the answer; an
// event with an id is sent with it as Idempotency-Key, and retried with
// the same body.
func TestNoRetryOfNonIdempotentPost(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("publish without id", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 503, retryAfter: "1"}, answer{status: 202, body: eventJSON})
		c, sl := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3})
		_, err := c.PublishEvent(ctx, "acme", client.EventCreateRequest{Type: "order.created", Data: map[string]any{"n": 1}})
		var e *client.Error
		if !errors.As(err, &e) || e.StatusCode != 503 {
			t.Fatalf("err %v, want the 503", err)
		}
		if reqs := s.requests(); len(reqs) != 1 || reqs[0].idempotencyKey != "" {
			t.Errorf("requests %+v, want one without Idempotency-Key", reqs)
		}
		if w := sl.waits(); len(w) != 0 {
			t.Errorf("waited %v", w)
		}
	})
	t.Run("patch", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 429, retryAfter: "1"}, answer{status: 200, body: appJSON})
		c, _ := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3})
		name := "Acme 2"
		if _, err := c.UpdateApp(ctx, "acme", client.AppPatchRequest{Name: &name}); err == nil {
			t.Fatal("PATCH answered 429 succeeded")
		}
		if n := len(s.requests()); n != 1 {
			t.Errorf("%d requests, want 1", n)
		}
	})
	t.Run("publish with id", func(t *testing.T) {
		t.Parallel()
		s := newScripted(t, answer{status: 429, retryAfter: "2"}, answer{status: 202, body: eventJSON})
		c, sl := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3})
		id := "evt_1"
		ev, err := c.PublishEvent(ctx, "acme", client.EventCreateRequest{ID: &id, Type: "order.created", Data: map[string]any{"n": 1}})
		if err != nil {
			t.Fatal(err)
		}
		if ev.ID != "evt_1" || ev.Replayed {
			t.Errorf("event %+v", ev)
		}
		reqs := s.requests()
		if len(reqs) != 2 {
			t.Fatalf("%d requests, want 2", len(reqs))
		}
		for _, r := range reqs {
			if r.method != "POST" || r.idempotencyKey != "evt_1" || r.body != reqs[0].body || r.body == "" {
				t.Errorf("request %+v (first body %q)", r, reqs[0].body)
			}
		}
		if got := sl.waits(); !slices.Equal(got, []time.Duration{2 * time.Second}) {
			t.Errorf("waits %v", got)
		}
	})
}

// TestErrorFields reads a problem's members and located errors, and prints
// the detail and the fields at fault.
func TestErrorFields(t *testing.T) {
	t.Parallel()
	s := newScripted(t, answer{status: 422, body: `{"title":"Unprocessable Entity","status":422,"detail":"validation failed",` +
		`"errors":[{"location":"body.url","message":"must be an absolute URL","value":"nope"},{"location":"body.event_types[1]","message":"is not an event type name"}]}`})
	c, _ := newTestClient(t, s, client.RetryPolicy{})
	_, err := c.CreateEndpoint(context.Background(), "acme", client.EndpointCreateRequest{URL: "nope"})
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %v (%T), want *client.Error", err, err)
	}
	if e.StatusCode != 422 || e.Title != "Unprocessable Entity" || e.Detail != "validation failed" || len(e.Errors) != 2 {
		t.Errorf("error %+v", e)
	}
	f, ok := e.Field("url")
	if !ok || f.Location != "body.url" || f.Message != "must be an absolute URL" || f.Value != "nope" {
		t.Errorf("Field(url) = %+v, %v", f, ok)
	}
	if f, ok := e.Field("body.event_types[1]"); !ok || f.Field != "event_types[1]" {
		t.Errorf("Field(body.event_types[1]) = %+v, %v", f, ok)
	}
	const want = "hookd: 422 Unprocessable Entity: validation failed (body.url: must be an absolute URL; body.event_types[1]: is not an event type name)"
	if got := e.Error(); got != want {
		t.Errorf("Error() = %q\nwant      %q", got, want)
	}
}

// TestErrorNotAProblem: an answer that is not a problem (a proxy's HTML
// page) is still an *Error, with the status text as its title and the
// body kept.
func TestErrorNotAProblem(t *testing.T) {
	t.Parallel()
	s := newScripted(t, answer{status: 502, body: "<html>bad gateway</html>"})
	c, _ := newTestClient(t, s, client.RetryPolicy{MaxRetries: 3})
	_, err := c.GetApp(context.Background(), "acme")
	var e *client.Error
	if !errors.As(err, &e) {
		t.Fatalf("err %v (%T), want *client.Error", err, err)
	}
	if e.StatusCode != 502 || e.Title != "Bad Gateway" || string(e.Body) != "<html>bad gateway</html>" || len(e.Errors) != 0 {
		t.Errorf("error %+v", e)
	}
	if got, want := e.Error(), "hookd: 502 Bad Gateway"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if n := len(s.requests()); n != 1 {
		t.Errorf("%d requests, want 1 (502 is not retried)", n)
	}
}
