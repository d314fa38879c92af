// Package storetest is the conformance suite of store.Store: every backend
// runs it from its own tests with
//
//	storetest.Run(t, func(t *testing.T) store.Store { ... })
//
// open must return a new, empty store for each call (subtests run in
// parallel, each with its own store) and register its own cleanup; some
// subtests Close the store themselves, so that cleanup must tolerate a
// second Close.
//
// The suite checks concrete values. Times are compared at millisecond
// precision in UTC, as stores keep them. JSON values (event data, schemas)
// are compared by meaning, not bytes, so a backend may normalise them.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Opener returns a new, empty store for one test.
type Opener func(t *testing.T) store.Store

// Run runs the whole suite.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	o := Opener(open)
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, o) })
	t.Run("Apps", func(t *testing.T) { testApps(t, o) })
	t.Run("AppBranding", func(t *testing.T) { testAppBranding(t, o) })
	t.Run("EventTypes", func(t *testing.T) { testEventTypes(t, o) })
	t.Run("PutEventTypes", func(t *testing.T) { testPutEventTypes(t, o) })
	t.Run("Endpoints", func(t *testing.T) { testEndpoints(t, o) })
	t.Run("Events", func(t *testing.T) { testEvents(t, o) })
	t.Run("InsertEvents", func(t *testing.T) { testInsertEvents(t, o) })
	t.Run("Deliveries", func(t *testing.T) { testDeliveries(t, o) })
	t.Run("Claim", func(t *testing.T) { testClaim(t, o) })
	t.Run("RecordAttempt", func(t *testing.T) { testRecordAttempt(t, o) })
	t.Run("InlineAttempts", func(t *testing.T) { testInlineAttempts(t, o) })
	t.Run("Leases", func(t *testing.T) { testLeases(t, o) })
	t.Run("DiscardDeliveries", func(t *testing.T) { testDiscardDeliveries(t, o) })
	t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, o) })
	t.Run("PortalKeys", func(t *testing.T) { testPortalKeys(t, o) })
	t.Run("Slots", func(t *testing.T) { testSlots(t, o) })
	t.Run("Profiles", func(t *testing.T) { testProfiles(t, o) })
	t.Run("AppContracts", func(t *testing.T) { testAppContracts(t, o) })
	t.Run("Retention", func(t *testing.T) { testRetention(t, o) })
	t.Run("FIFO", func(t *testing.T) { testFIFO(t, o) })
	t.Run("Paused", func(t *testing.T) { testPaused(t, o) })
	t.Run("FanoutCache", func(t *testing.T) { testFanoutCache(t, o) })
	t.Run("Replay", func(t *testing.T) { testReplay(t, o) })
	t.Run("Queries", func(t *testing.T) { testQueries(t, o) })
	t.Run("DashboardSessions", func(t *testing.T) { testDashboardSessions(t, o) })
	t.Run("Stats", func(t *testing.T) { testStats(t, o) })
	t.Run("RetryFailed", func(t *testing.T) { testRetryFailed(t, o) })
	t.Run("EndpointCircuit", func(t *testing.T) { testEndpointCircuit(t, o) })
	t.Run("ListenEndpoints", func(t *testing.T) { testListenEndpoints(t, o) })
}

// maxPages bounds the paging loops, so that a cursor that never ends
// fails the test instead of hanging it.
const maxPages = 100

// h is one test's store and clock.
type h struct {
	t   *testing.T
	s   store.Store
	ctx context.Context
	// now is the test's base time: the wall clock at its start, in UTC,
	// truncated to the millisecond. Tests pass explicit times around it.
	now time.Time
}

// setup marks t parallel and opens a store for it.
func setup(t *testing.T, open Opener) *h {
	t.Helper()
	t.Parallel()
	s := open(t)
	if s == nil {
		t.Fatal("open returned a nil store")
	}
	return &h{t: t, s: s, ctx: t.Context(), now: time.Now().UTC().Truncate(time.Millisecond)}
}

func (h *h) at(d time.Duration) time.Time { return h.now.Add(d) }

// --- assertions ---

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: unexpected error: %v", what, err)
	}
}

// wantErr checks that err is a *hook.Error with the code (and, unless
// field is "-", the field).
func wantErr(t *testing.T, err error, code, field, what string) {
	t.Helper()
	if err == nil {
		t.Fatalf("%s: got no error, want %s", what, code)
	}
	var he *hook.Error
	if !errors.As(err, &he) {
		t.Fatalf("%s: got %T %v, want a *hook.Error with code %s", what, err, err, code)
	}
	if he.Code != code {
		t.Fatalf("%s: got code %q (%v), want %q", what, he.Code, err, code)
	}
	if field != "-" && he.Field != field {
		t.Fatalf("%s: got field %q (%v), want %q", what, he.Field, err, field)
	}
}

func eq[T comparable](t *testing.T, got, want T, what string) {
	t.Helper()
	if got != want {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

func deepEq(t *testing.T, got, want any, what string) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %#v\n want %#v", what, got, want)
	}
}

// wantTime checks a stored time: equal to want at ms precision, in UTC.
func wantTime(t *testing.T, got, want time.Time, what string) {
	t.Helper()
	want = want.Truncate(time.Millisecond)
	if !got.Equal(want) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
	if got.Location() != time.UTC {
		t.Fatalf("%s: got location %v, want UTC", what, got.Location())
	}
	if got.Nanosecond()%int(time.Millisecond) != 0 {
		t.Fatalf("%s: %v has sub-millisecond digits", what, got)
	}
}

func wantTimePtr(t *testing.T, got *time.Time, want time.Time, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got nil, want %v", what, want)
	}
	wantTime(t, *got, want, what)
}

func wantNilTime(t *testing.T, got *time.Time, what string) {
	t.Helper()
	if got != nil {
		t.Fatalf("%s: got %v, want nil", what, *got)
	}
}

// wantJSON compares JSON by meaning; want "" means absent (nil or empty).
func wantJSON(t *testing.T, got []byte, want string, what string) {
	t.Helper()
	if want == "" {
		if len(got) != 0 {
			t.Fatalf("%s: got %s, want none", what, got)
		}
		return
	}
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("%s: got invalid JSON %q: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		panic(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("%s: got %s, want %s", what, got, want)
	}
}

func wantMap(t *testing.T, got, want map[string]string, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got a nil map, want non-nil", what)
	}
	if want == nil {
		want = map[string]string{}
	}
	deepEq(t, got, want, what)
}

func wantList(t *testing.T, got, want []string, what string) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s: got a nil slice, want non-nil", what)
	}
	if want == nil {
		want = []string{}
	}
	deepEq(t, got, want, what)
}

// --- fixtures ---

func (h *h) app(uid string) *hook.App {
	h.t.Helper()
	a, err := h.s.CreateApp(h.ctx, &store.CreateAppParams{
		ID: hook.NewID("app"), UID: uid, Name: "App " + uid, Metadata: map[string]string{"k": "v"}, Now: h.now,
	})
	must(h.t, err, "CreateApp")
	return a
}

func (h *h) endpoint(appID string, mod ...func(*store.CreateEndpointParams)) *hook.Endpoint {
	h.t.Helper()
	p := &store.CreateEndpointParams{
		ID: hook.NewID("ep"), AppID: appID, URL: "https://example.com/hook", Description: "d",
		Secret: hook.NewSecret(), Now: h.now,
	}
	for _, m := range mod {
		m(p)
	}
	e, err := h.s.CreateEndpoint(h.ctx, p)
	must(h.t, err, "CreateEndpoint")
	return e
}

func disabled(p *store.CreateEndpointParams) { p.Disabled = true }

// ev describes an event to insert.
type ev struct {
	id        string // "" for a new one
	typ       string // "" for "order.created"
	data      string // "" for {"n":1}
	at        time.Time
	endpoints []string
	// claimed: the deliveries are created leased to owner until lease.
	claimed bool
	owner   string
	lease   time.Time
}

func (h *h) insert(appID string, e ev) *store.InsertEventResult {
	h.t.Helper()
	res, err := h.insertErr(appID, e)
	must(h.t, err, "InsertEvent")
	return res
}

func (h *h) insertErr(appID string, e ev) (*store.InsertEventResult, error) {
	if e.id == "" {
		e.id = hook.NewID("evt")
	}
	if e.typ == "" {
		e.typ = "order.created"
	}
	if e.data == "" {
		e.data = `{"n":1}`
	}
	if e.at.IsZero() {
		e.at = h.now
	}
	p := &store.InsertEventParams{
		Event: &hook.Event{ID: e.id, AppID: appID, Type: e.typ, Data: json.RawMessage(e.data), CreatedAt: e.at},
		Owner: e.owner, LeaseUntil: e.lease,
	}
	for _, ep := range e.endpoints {
		p.Deliveries = append(p.Deliveries, store.NewDelivery{ID: hook.NewID("dlv"), EndpointID: ep, Claimed: e.claimed})
	}
	return h.s.InsertEvent(h.ctx, p)
}

// due inserts n events, each with one unclaimed delivery to endpoint ep,
// due at start, start+step, ... and returns the delivery ids in that order.
func (h *h) due(appID, ep string, n int, start time.Time, step time.Duration) []string {
	h.t.Helper()
	ids := make([]string, n)
	for i := range n {
		res := h.insert(appID, ev{at: start.Add(time.Duration(i) * step), endpoints: []string{ep}})
		ids[i] = res.Deliveries[0].ID
	}
	return ids
}

func (h *h) claim(owner string, now time.Time, limit, per int, exclude ...string) *store.ClaimResult {
	h.t.Helper()
	res, err := h.s.ClaimDeliveries(h.ctx, &store.ClaimDeliveriesParams{
		Owner: owner, Now: now, LeaseUntil: now.Add(time.Minute), Limit: limit, PerEndpoint: per,
		ExcludeEndpoints: exclude,
	})
	must(h.t, err, "ClaimDeliveries")
	if res == nil || res.Endpoints == nil {
		h.t.Fatalf("ClaimDeliveries returned %#v: want Jobs and a non-nil Endpoints map", res)
	}
	for _, j := range res.Jobs {
		if j.Event == nil {
			h.t.Fatalf("job %s has no event", j.DeliveryID)
		}
		e, ok := res.Endpoints[j.EndpointID]
		if !ok || e.ID != j.EndpointID {
			h.t.Fatalf("job %s: endpoint %s missing from Endpoints", j.DeliveryID, j.EndpointID)
		}
		if a, ok := res.Apps[e.AppID]; !ok || a.ID != e.AppID {
			h.t.Fatalf("job %s: app %s of endpoint %s missing from Apps", j.DeliveryID, e.AppID, e.ID)
		}
	}
	return res
}

func jobIDs(res *store.ClaimResult) []string {
	ids := make([]string, len(res.Jobs))
	for i, j := range res.Jobs {
		ids[i] = j.DeliveryID
	}
	return ids
}

func sorted(ids []string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return out
}

func countBy(res *store.ClaimResult) map[string]int {
	m := map[string]int{}
	for _, j := range res.Jobs {
		m[j.EndpointID]++
	}
	return m
}

// attempt is an attempt to record.
type attempt struct {
	owner    string
	delivery string
	endpoint string
	number   int
	sched    int
	status   int
	decision hook.Decision
	at       time.Time
}

func (h *h) record(a attempt) *hook.Attempt {
	h.t.Helper()
	at, err := h.recordErr(a)
	must(h.t, err, "RecordAttempt")
	return at
}

func (h *h) recordErr(a attempt) (*hook.Attempt, error) {
	if a.number == 0 {
		a.number = 1
	}
	if a.at.IsZero() {
		a.at = h.now
	}
	kind, msg := "", ""
	if a.status < 200 || a.status >= 300 {
		kind, msg = hook.ErrorKindStatus, fmt.Sprintf("status %d", a.status)
	}
	at := &hook.Attempt{
		ID: hook.NewID("att"), DeliveryID: a.delivery, Number: a.number, Trigger: hook.TriggerScheduled,
		StartedAt: a.at, Duration: 1234 * time.Millisecond, ResponseStatus: a.status,
		ResponseBody: fmt.Sprintf("body of %d", a.number), ErrorKind: kind, Error: msg,
	}
	return at, h.s.RecordAttempt(h.ctx, &store.RecordAttemptParams{
		Owner: a.owner, Attempt: at, ScheduledAttempts: a.sched, Decision: a.decision,
		EndpointID: a.endpoint, Now: a.at.Add(2 * time.Second),
	})
}

func (h *h) delivery(appID, id string) *hook.Delivery {
	h.t.Helper()
	d, err := h.s.GetDelivery(h.ctx, appID, id)
	must(h.t, err, "GetDelivery")
	return d
}

func (h *h) pending() int64 {
	h.t.Helper()
	n, err := h.s.CountPendingDeliveries(h.ctx)
	must(h.t, err, "CountPendingDeliveries")
	return n
}

// checkPaging creates nothing: ids are 7 objects in creation order, and
// list pages them. It checks pages of 3, 3 and 1, newest first, with no
// overlap, the default limit, and a malformed cursor.
func checkPaging[T any](t *testing.T, ids []string, list func(store.ListParams) (*store.Page[T], error), id func(T) string) {
	t.Helper()
	if len(ids) != 7 {
		panic("checkPaging wants 7 ids")
	}
	want := slices.Clone(ids)
	slices.Reverse(want)
	var got []string
	cursor := ""
	for i, size := range []int{3, 3, 1} {
		page, err := list(store.ListParams{Limit: 3, Cursor: cursor})
		must(t, err, fmt.Sprintf("page %d", i+1))
		if len(page.Data) != size {
			t.Fatalf("page %d: got %d items, want %d", i+1, len(page.Data), size)
		}
		for _, v := range page.Data {
			got = append(got, id(v))
		}
		if i < 2 && page.NextCursor == "" {
			t.Fatalf("page %d: NextCursor is empty", i+1)
		}
		if i == 2 && page.NextCursor != "" {
			t.Fatalf("last page: NextCursor %q, want empty", page.NextCursor)
		}
		cursor = page.NextCursor
	}
	deepEq(t, got, want, "paged ids, newest first")

	all, err := list(store.ListParams{})
	must(t, err, "default limit")
	if len(all.Data) != 7 || all.NextCursor != "" {
		t.Fatalf("default limit: got %d items, cursor %q; want 7 and none", len(all.Data), all.NextCursor)
	}
	exact, err := list(store.ListParams{Limit: 7})
	must(t, err, "limit 7")
	if len(exact.Data) != 7 || exact.NextCursor != "" {
		t.Fatalf("limit 7 of 7: got %d items, cursor %q; want 7 and none", len(exact.Data), exact.NextCursor)
	}
	_, err = list(store.ListParams{Limit: 3, Cursor: "%%not a cursor%%"})
	wantErr(t, err, hook.EInvalid, "cursor", "malformed cursor")
}

func bytesEq(a, b []byte) bool { return bytes.Equal(a, b) }
