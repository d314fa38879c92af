package api_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// wantTooMany checks a 429 problem with Retry-After in whole seconds.
func wantTooMany(t *testing.T, r *result, retryAfter string) problem {
	t.Helper()
	p := wantProblem(t, r, http.StatusTooManyRequests, "")
	if got := r.Header.Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After %q, want %q", got, retryAfter)
	}
	return p
}

func TestKeyRateLimit(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now())
	e := newEnv(t, envOpts{keyRate: 1, keyBurst: 2, now: clk.Now})
	const other = "sk_test_other_admin_key"
	e.addKey(other, "")

	ok := func(key string) {
		t.Helper()
		want[list[map[string]any]](t, e.call("GET", "/v1/event-types", nil, withKey(key)), http.StatusOK)
	}
	ok(adminKey)
	ok(adminKey)
	p := wantTooMany(t, e.call("GET", "/v1/event-types", nil), "1")
	if !strings.Contains(p.Detail, "rate limit") {
		t.Errorf("detail %q does not say which limit", p.Detail)
	}
	// Every route counts, and a refused write writes nothing.
	wantTooMany(t, e.call("POST", "/v1/apps", map[string]any{"name": "x"}), "1")
	if apps, err := e.store.ListApps(context.Background(), &store.ListAppsParams{}); err != nil || len(apps.Data) != 0 {
		t.Errorf("a refused POST /v1/apps stored %v (%v)", apps, err)
	}
	// Another key has its own bucket.
	ok(other)
	ok(other)
	wantTooMany(t, e.call("GET", "/v1/event-types", nil, withKey(other)), "1")

	// Half a token back: still refused (refusals took nothing), and the
	// wait rounds up to a whole second.
	clk.Advance(500 * time.Millisecond)
	wantTooMany(t, e.call("GET", "/v1/event-types", nil), "1")
	clk.Advance(500 * time.Millisecond)
	ok(adminKey)
	wantTooMany(t, e.call("GET", "/v1/event-types", nil), "1")
	// A full bucket again after burst/rate, not more.
	clk.Advance(10 * time.Second)
	ok(adminKey)
	ok(adminKey)
	wantTooMany(t, e.call("GET", "/v1/event-types", nil), "1")

	// Requests that fail authentication are not counted against a key.
	for range 5 {
		wantProblem(t, e.call("GET", "/v1/event-types", nil, withKey("sk_not_a_key")), http.StatusUnauthorized, "")
	}
	clk.Advance(time.Second)
	ok(adminKey)
}

func TestKeyRateLimitRetryAfter(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now())
	e := newEnv(t, envOpts{keyRate: 0.25, keyBurst: 1, now: clk.Now})
	want[list[map[string]any]](t, e.call("GET", "/v1/apps", nil), http.StatusOK)
	wantTooMany(t, e.call("GET", "/v1/apps", nil), "4") // a token every 4 s
	clk.Advance(1500 * time.Millisecond)
	wantTooMany(t, e.call("GET", "/v1/apps", nil), "3") // 2.5 s, rounded up
	clk.Advance(2500 * time.Millisecond)
	want[list[map[string]any]](t, e.call("GET", "/v1/apps", nil), http.StatusOK)
}

func TestKeyRateLimitAppKey(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now())
	e := newEnv(t, envOpts{keyRate: 1, keyBurst: 2, now: clk.Now})
	a, err := e.store.CreateApp(context.Background(), &store.CreateAppParams{
		ID: hook.NewID("app"), Name: "A", Metadata: map[string]string{}, Livemode: true, Now: nowUTC()})
	if err != nil {
		t.Fatal(err)
	}
	const scoped = "sk_test_scoped_key"
	e.addKey(scoped, a.ID)
	// An app-bound key is limited like an admin key, and before its scope
	// is checked: its refused (403) requests count too.
	want[map[string]any](t, e.call("GET", "/v1/apps/"+a.ID, nil, withKey(scoped)), http.StatusOK)
	wantProblem(t, e.call("GET", "/v1/apps", nil, withKey(scoped)), http.StatusForbidden, "")
	wantTooMany(t, e.call("GET", "/v1/apps/"+a.ID, nil, withKey(scoped)), "1")
	// The admin key is unaffected.
	want[map[string]any](t, e.call("GET", "/v1/apps/"+a.ID, nil), http.StatusOK)
}

func TestNoRateLimitByDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t) // api.Config with KeyRate 0
	for range 50 {
		want[list[map[string]any]](t, e.call("GET", "/v1/apps", nil), http.StatusOK)
	}
	for range 50 {
		wantProblem(t, e.call("GET", "/v1/apps", nil, withKey("sk_wrong")), http.StatusUnauthorized, "")
	}
}

func TestAuthFailureThrottle(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now())
	e := newEnv(t, envOpts{authFailureRate: 1, now: clk.Now}) // burst 2
	const wrong = "sk_guess_0001"

	// Requests without a key cost nothing and guess nothing: not counted.
	for range 5 {
		wantProblem(t, e.call("GET", "/v1/apps", nil, withKey("")), http.StatusUnauthorized, "")
	}
	// Valid keys are not counted either.
	for range 5 {
		want[list[map[string]any]](t, e.call("GET", "/v1/apps", nil), http.StatusOK)
	}
	wantProblem(t, e.call("GET", "/v1/apps", nil, withKey(wrong)), http.StatusUnauthorized, "")
	wantProblem(t, e.call("GET", "/v1/apps", nil, withKey(wrong+"2")), http.StatusUnauthorized, "")
	p := wantTooMany(t, e.call("GET", "/v1/apps", nil, withKey(wrong+"3")), "1")
	if !strings.Contains(p.Detail, "not valid") {
		t.Errorf("detail %q", p.Detail)
	}
	// While the address is over its budget, every key is refused before
	// it is looked at, or a guesser would learn which guess is right.
	wantTooMany(t, e.call("GET", "/v1/apps", nil), "1")

	clk.Advance(time.Second)
	want[list[map[string]any]](t, e.call("GET", "/v1/apps", nil), http.StatusOK)
	wantProblem(t, e.call("GET", "/v1/apps", nil, withKey(wrong)), http.StatusUnauthorized, "")
	wantTooMany(t, e.call("GET", "/v1/apps", nil, withKey(wrong)), "1")
	// Routes without a key are never throttled.
	want[map[string]string](t, e.call("GET", "/healthz", nil, withKey("")), http.StatusOK)
	want[map[string]any](t, e.call("GET", "/v1/openapi.json", nil, withKey("")), http.StatusOK)
}

func TestEndpointCountLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{maxEndpoints: 3})
	a, b := e.mkApp("A", "a"), e.mkApp("B", "b")
	var ids []string
	for range 3 {
		ids = append(ids, e.mkEndpoint(a.ID, map[string]any{})["id"].(string))
	}
	p := wantProblem(t, e.call("POST", "/v1/apps/a/endpoints", map[string]any{"url": "https://example.com/4"}), http.StatusConflict, "")
	if !strings.Contains(p.Detail, "HOOKD_MAX_ENDPOINTS_PER_APP") || !strings.Contains(p.Detail, "3") {
		t.Errorf("detail %q does not name the limit", p.Detail)
	}
	if n := e.count("/v1/apps/a/endpoints"); n != 3 {
		t.Errorf("%d endpoints after a refused create, want 3", n)
	}
	// The limit is per app.
	e.mkEndpoint(b.ID, map[string]any{})
	// Deleting one makes room.
	if r := e.call("DELETE", "/v1/apps/a/endpoints/"+ids[0], nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	e.mkEndpoint(a.ID, map[string]any{})
	wantProblem(t, e.call("POST", "/v1/apps/a/endpoints", map[string]any{"url": "https://example.com/5"}), http.StatusConflict, "")
}

// TestEndpointCountLimitConcurrent: 200 creates at once against a limit
// of 10 store exactly 10 endpoints; the others are 409s naming the limit
// (issue 12, item 10c: the check before the insert let 1 to 3 through).
func TestEndpointCountLimitConcurrent(t *testing.T) {
	t.Parallel()
	const tries, limit = 200, 10
	e := newEnv(t, envOpts{maxEndpoints: limit})
	e.mkApp("A", "a")
	results := make([]*result, tries)
	var wg sync.WaitGroup
	for i := range tries {
		wg.Go(func() {
			results[i] = e.call("POST", "/v1/apps/a/endpoints", map[string]any{"url": fmt.Sprintf("https://example.com/%d", i)})
		})
	}
	wg.Wait()
	created := 0
	for _, r := range results {
		switch r.Status {
		case http.StatusCreated:
			created++
		case http.StatusConflict:
			if p := wantProblem(t, r, http.StatusConflict, ""); !strings.Contains(p.Detail, "HOOKD_MAX_ENDPOINTS_PER_APP") {
				t.Errorf("detail %q does not name the limit", p.Detail)
			}
		default:
			t.Fatalf("status %d: %s", r.Status, r.Body)
		}
	}
	if n := e.count("/v1/apps/a/endpoints"); created != limit || n != limit {
		t.Fatalf("%d creates answered 201 and %d endpoints are stored, want %d", created, n, limit)
	}
}

func TestEndpointCountLimitDefault(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "")
	// Fill to the default limit through the store (fast), then one more
	// through the API.
	for i := range 100 {
		e.mkEndpointInStore(a.ID, fmt.Sprintf("https://example.com/%d", i))
	}
	p := wantProblem(t, e.call("POST", "/v1/apps/"+a.ID+"/endpoints", map[string]any{"url": "https://example.com/x"}), http.StatusConflict, "")
	if !strings.Contains(p.Detail, "100") {
		t.Errorf("detail %q does not name the default limit", p.Detail)
	}
}

func TestEventTypeCountLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{maxEventTypes: 3})
	for _, n := range []string{"a.one", "a.two"} {
		want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": n}), http.StatusCreated)
	}
	// Archived types count: they keep their name and can come back.
	if r := e.call("DELETE", "/v1/event-types/a.one", nil); r.Status != http.StatusNoContent {
		t.Fatalf("archive: %d %s", r.Status, r.Body)
	}
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "a.three"}), http.StatusCreated)
	p := wantProblem(t, e.call("POST", "/v1/event-types", map[string]any{"name": "a.four"}), http.StatusConflict, "")
	if !strings.Contains(p.Detail, "HOOKD_MAX_EVENT_TYPES") || !strings.Contains(p.Detail, "3") {
		t.Errorf("detail %q does not name the limit", p.Detail)
	}
	if n := e.count("/v1/event-types?include_archived=true"); n != 3 {
		t.Errorf("%d event types after a refused create, want 3", n)
	}
	wantProblem(t, e.call("GET", "/v1/event-types/a.four", nil), http.StatusNotFound, "")
	// A name the catalog has is refused as taken, not as over the limit.
	p = wantProblem(t, e.call("POST", "/v1/event-types", map[string]any{"name": "a.two"}), http.StatusConflict, "")
	if strings.Contains(p.Detail, "HOOKD_MAX_EVENT_TYPES") {
		t.Errorf("a taken name answered as the limit: %q", p.Detail)
	}
	// Bringing an archived one back adds nothing, so it is allowed.
	want[map[string]any](t, e.call("PATCH", "/v1/event-types/a.one", map[string]any{"archived": false}), http.StatusOK)
}

func TestImportCountLimit(t *testing.T) {
	t.Parallel()
	flo, err := catalog.Pack("flo")
	if err != nil {
		t.Fatal(err)
	}
	n := len(flo)

	// The pack does not fit: 409, and nothing is written.
	e := newEnv(t, envOpts{maxEventTypes: n + 1})
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "own.one"}), http.StatusCreated)
	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "own.two"}), http.StatusCreated)
	p := wantProblem(t, e.call("POST", "/v1/event-types/import", map[string]any{"pack": "flo"}), http.StatusConflict, "")
	if !strings.Contains(p.Detail, "HOOKD_MAX_EVENT_TYPES") || !strings.Contains(p.Detail, fmt.Sprint(n)) {
		t.Errorf("detail %q does not name the limit and what the pack adds", p.Detail)
	}
	if got := e.count("/v1/event-types?include_archived=true"); got != 2 {
		t.Errorf("%d event types after a refused import, want 2", got)
	}

	// Exactly full after the import; importing again adds nothing, so it
	// passes even though the catalog is full.
	e2 := newEnv(t, envOpts{maxEventTypes: n})
	want[map[string]any](t, e2.call("POST", "/v1/event-types/import", map[string]any{"pack": "flo"}), http.StatusOK)
	want[map[string]any](t, e2.call("POST", "/v1/event-types/import", map[string]any{"pack": "flo"}), http.StatusOK)
	if got := e2.count("/v1/event-types"); got != n {
		t.Errorf("%d event types, want %d", got, n)
	}
	wantProblem(t, e2.call("POST", "/v1/event-types", map[string]any{"name": "own.one"}), http.StatusConflict, "")
	// An unknown pack is still a 422 about the pack, not a limit.
	wantProblem(t, e2.call("POST", "/v1/event-types/import", map[string]any{"pack": "nope"}), http.StatusUnprocessableEntity, "body.pack")
}
