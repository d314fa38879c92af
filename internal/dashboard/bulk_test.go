package dashboard_test

import (
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// failingApp is an app with two endpoints, a and b, each sent three
// deliveries (two order.created events, one invoice.paid) that failed:
// the receiver answers 500 until fixed.
type failingApp struct {
	app    hook.App
	a, b   hook.Endpoint
	events []hook.Event
	// byEndpoint maps an endpoint id to its deliveries' ids, sorted.
	byEndpoint map[string][]string
	fixed      *atomic.Bool
}

func newFailingApp(t *testing.T, h *hookdT) *failingApp {
	t.Helper()
	f := &failingApp{fixed: &atomic.Bool{}, byEndpoint: map[string][]string{}}
	fixed := f.fixed
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !fixed.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "down")
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(rcv.Close)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme", "uid": "acme"}, http.StatusCreated, &f.app)
	h.call(adminKey, "POST", "/v1/apps/"+f.app.ID+"/endpoints", map[string]any{"url": rcv.URL + "/a", "uid": "orders"}, http.StatusCreated, &f.a)
	h.call(adminKey, "POST", "/v1/apps/"+f.app.ID+"/endpoints", map[string]any{"url": rcv.URL + "/b"}, http.StatusCreated, &f.b)
	for _, typ := range []string{"order.created", "order.created", "invoice.paid"} {
		var ev hook.Event
		h.call(adminKey, "POST", "/v1/apps/"+f.app.ID+"/events", map[string]any{"type": typ, "data": map[string]any{}}, http.StatusAccepted, &ev)
		f.events = append(f.events, ev)
	}
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/"+f.app.ID+"/deliveries", nil, http.StatusOK, &dl)
	if len(dl.Data) != 6 {
		t.Fatalf("%d deliveries, want 6", len(dl.Data))
	}
	for _, d := range dl.Data {
		h.waitDelivery(f.app.ID, d.ID, hook.DeliveryFailed)
		f.byEndpoint[d.EndpointID] = append(f.byEndpoint[d.EndpointID], d.ID)
	}
	for _, ids := range f.byEndpoint {
		slices.Sort(ids)
	}
	return f
}

// attempts returns the delivery's attempt count and status.
func (f *failingApp) attempts(h *hookdT, dlv string) (int, string) {
	var d hook.Delivery
	h.call(adminKey, "GET", "/v1/apps/"+f.app.ID+"/deliveries/"+dlv, nil, http.StatusOK, &d)
	return d.AttemptCount, d.Status
}

// waitAttempts polls the API until the delivery has n attempts and is
// no longer pending (the dispatcher works in the background), within a
// generous bound.
func (f *failingApp) waitAttempts(t *testing.T, h *hookdT, dlv string, n int) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, status := f.attempts(h, dlv)
		if got == n && status != hook.DeliveryPending {
			return status
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery %s: %d attempts (%s), want %d", dlv, got, status, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var deliveryLink = regexp.MustCompile(`<a href="/apps/[^/"]+/deliveries/(dlv_[^"]+)" class="status status-([a-z]+)"`)

// deliveryIDs returns the ids of the deliveries table's rows, sorted.
func deliveryIDs(page string) []string {
	ids := []string{}
	for _, m := range deliveryLink.FindAllStringSubmatch(page, -1) {
		ids = append(ids, m[1])
	}
	slices.Sort(ids)
	return ids
}

// TestDeliveriesFilters: the deliveries page filters by status, endpoint
// (a select of the app's endpoints, by id or uid), event, event type and
// time (datetime-local, UTC), all in the URL and passed to the API; a
// filter the API refuses shows its 422 message next to its field. The
// app page links each endpoint to its failed deliveries.
func TestDeliveriesFilters(t *testing.T) {
	h := startHookd(t)
	f := newFailingApp(t, h)
	b := signInHTTP(t, h, adminKey)
	base := "/apps/" + f.app.ID + "/deliveries?"
	all := slices.Sorted(slices.Values(append(slices.Clone(f.byEndpoint[f.a.ID]), f.byEndpoint[f.b.ID]...)))

	for _, c := range []struct {
		name  string
		query url.Values
		want  []string
	}{
		{"status", url.Values{"status": {"failed"}}, all},
		{"succeeded", url.Values{"status": {"succeeded"}}, []string{}},
		{"endpoint by id", url.Values{"status": {"failed"}, "endpoint": {f.a.ID}}, f.byEndpoint[f.a.ID]},
		{"endpoint by uid", url.Values{"endpoint": {"orders"}}, f.byEndpoint[f.a.ID]},
		{"event", url.Values{"event": {f.events[2].ID}}, nil},
		{"event type", url.Values{"event_type": {"invoice.*"}}, nil},
		{"since, datetime-local", url.Values{"since": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")}}, all},
		{"until, datetime-local", url.Values{"until": {time.Now().UTC().Add(-time.Hour).Format("2006-01-02T15:04")}}, []string{}},
		{"since, RFC 3339", url.Values{"since": {time.Now().UTC().Add(time.Hour).Format(time.RFC3339)}}, []string{}},
	} {
		page := b.page(base + c.query.Encode())
		got := deliveryIDs(page)
		if c.want == nil { // the invoice's two deliveries
			if len(got) != 2 {
				t.Errorf("%s: %v, want the invoice's 2 deliveries", c.name, got)
			}
			continue
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s (?%s): %v, want %v", c.name, c.query.Encode(), got, c.want)
		}
	}

	// The filters stay in the form.
	page := b.page(base + url.Values{"status": {"failed"}, "endpoint": {"orders"}, "event_type": {"order.*"},
		"since": {"2026-01-02T03:04:05Z"}}.Encode())
	for _, want := range []string{
		`<option value="failed" selected>`,
		`<option value="` + f.a.ID + `" selected>`,
		`name="event_type" type="search" value="order.*"`,
		`name="since" type="datetime-local" step="1" value="2026-01-02T03:04:05"`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the form lacks %s:\n%s", want, between(page, "<form", "</form>"))
		}
	}

	// Refused filters: the API's message next to the field, with 422.
	for _, c := range []struct {
		field string
		query url.Values
	}{
		{"event_type", url.Values{"event_type": {"not a type!"}}},
		{"since", url.Values{"since": {"yesterday"}}},
		{"until", url.Values{"since": {"2026-01-02T00:00"}, "until": {"2026-01-01T00:00"}}},
	} {
		status, page := b.get(base + c.query.Encode())
		if status != http.StatusUnprocessableEntity {
			t.Errorf("?%s: status %d, want 422", c.query.Encode(), status)
		}
		msg := between(page, `<span id="`+c.field+`-error" class="field-error" role="alert">`, "</span>")
		if msg == "" {
			t.Errorf("?%s: no message next to %s:\n%s", c.query.Encode(), c.field, between(page, "<form", "</form>"))
		}
		if !strings.Contains(between(page, `id="`+c.field+`"`, ">"), `aria-invalid="true" aria-describedby="`+c.field+`-error"`) {
			t.Errorf("?%s: the field is not marked invalid", c.query.Encode())
		}
		if len(deliveryIDs(page)) != 0 {
			t.Errorf("?%s: a refused filter still lists deliveries", c.query.Encode())
		}
	}

	// The app page: per endpoint, a link to its failed deliveries.
	app := b.page("/apps/" + f.app.ID)
	for _, ep := range []hook.Endpoint{f.a, f.b} {
		if want := `href="/apps/` + f.app.ID + `/deliveries?status=failed&amp;endpoint=` + ep.ID + `"`; !strings.Contains(rowOf(app, ep.URL), want) {
			t.Errorf("the app page's row of %s lacks %s", ep.URL, want)
		}
	}
}

// TestRetryAllFailed: "Retry all failed matching these filters" shows
// only on a list of failed deliveries; for one endpoint it retries only
// that endpoint's, and says how many; a disabled endpoint's are skipped
// and counted; a refusal is shown next to the filter at fault.
func TestRetryAllFailed(t *testing.T) {
	h := startHookd(t)
	f := newFailingApp(t, h)
	c := sessionCookie(t, h.base, adminKey)
	list := "/apps/" + f.app.ID + "/deliveries"

	if _, body := page(t, h.base, c, "GET", list, nil); strings.Contains(body, `id="retry-all"`) {
		t.Error("the unfiltered list offers to retry all failed")
	}
	_, body := page(t, h.base, c, "GET", list+"?status=failed&endpoint="+f.a.ID, nil)
	form := between(body, `<form method="post" action="/apps/`+f.app.ID+`/deliveries/retry"`, "</form>")
	if !strings.Contains(form, `<input type="hidden" name="endpoint" value="`+f.a.ID+`">`) || !strings.Contains(form, `id="retry-all"`) {
		t.Fatalf("the failed list of endpoint a: no retry-all form with its filter:\n%s", form)
	}

	resp, _ := page(t, h.base, c, "POST", list+"/retry", url.Values{"endpoint": {f.a.ID}})
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, list+"?") {
		t.Fatalf("retry all of a: %d %s, want 303 to the list", resp.StatusCode, loc)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(loc, list+"?"))
	if q.Get("status") != "failed" || q.Get("endpoint") != f.a.ID || q.Get("retried") != "3" {
		t.Errorf("retry all of a: redirected to %s", loc)
	}
	for _, id := range f.byEndpoint[f.a.ID] {
		if st := f.waitAttempts(t, h, id, 2); st != hook.DeliveryFailed {
			t.Errorf("a's %s after its retry: %s", id, st)
		}
	}
	for _, id := range f.byEndpoint[f.b.ID] {
		if n, st := f.attempts(h, id); n != 1 || st != hook.DeliveryFailed {
			t.Errorf("b's %s was retried: %d attempts, %s", id, n, st)
		}
	}
	_, body = page(t, h.base, c, "GET", loc, nil)
	if got := between(body, `<p class="notice" id="retried" role="status">`, "</p>"); !strings.Contains(got, "3 deliveries retried.") {
		t.Errorf("the notice: %q", got)
	}

	// A refusal: the API's 422, next to the filter, nothing retried.
	resp, body = page(t, h.base, c, "POST", list+"/retry", url.Values{"since": {"2026-01-02T00:00"}, "until": {"2026-01-01T00:00"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Errorf("retry all with until before since: %d, want 422", resp.StatusCode)
	}
	if msg := between(body, `<span id="until-error" class="field-error" role="alert">`, "</span>"); !strings.Contains(msg, "after since") {
		t.Errorf("no message next to until: %q", msg)
	}
	for _, id := range f.byEndpoint[f.a.ID] {
		if n, st := f.attempts(h, id); n != 2 || st != hook.DeliveryFailed {
			t.Errorf("a's %s after a refused retry: %d attempts, %s; want 2, failed", id, n, st)
		}
	}

	// b disabled: its failed deliveries are skipped, and counted. (a's
	// six failures have opened its circuit: they wait for its cooldown.)
	h.call(adminKey, "PATCH", "/v1/apps/"+f.app.ID+"/endpoints/"+f.b.ID, map[string]any{"disabled": true}, http.StatusOK, nil)
	resp, _ = page(t, h.base, c, "POST", list+"/retry", url.Values{})
	_, body = page(t, h.base, c, "GET", resp.Header.Get("Location"), nil)
	if got := html.UnescapeString(between(body, `<p class="notice" id="retried" role="status">`, "</p>")); !strings.Contains(got, "3 deliveries retried. 3 were skipped: their endpoint is disabled") {
		t.Errorf("with b disabled, the notice: %q", got)
	}
	for _, id := range f.byEndpoint[f.b.ID] {
		if n, st := f.attempts(h, id); n != 1 || st != hook.DeliveryFailed {
			t.Errorf("disabled b's %s: %d attempts, %s; want 1, failed", id, n, st)
		}
	}
}

// TestSearch: the header's search opens an app by id or uid; within the
// app being viewed (admin) or the key's app, an event, a delivery or an
// endpoint by id; not found, a 404 page that echoes the id; an admin
// outside an app is told to open the app first; a key bound to another
// app finds nothing of this one.
func TestSearch(t *testing.T) {
	h := startHookd(t)
	f := newFailingApp(t, h)
	b := signInHTTP(t, h, adminKey)
	dlv := f.byEndpoint[f.b.ID][0]
	search := func(b *browserT, q url.Values) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", b.base+"/search?"+q.Encode(), nil)
		req.AddCookie(b.cookie)
		resp, err := noRedirects.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Location"), string(body)
	}

	// On an app's pages, the header's search carries the app.
	if page := b.page("/apps/" + f.app.ID + "/deliveries"); !strings.Contains(between(page, `<form class="search"`, "</form>"), `<input type="hidden" name="app" value="`+f.app.ID+`">`) {
		t.Error("the header's search on an app's page does not carry the app")
	}
	if page := b.page("/apps"); strings.Contains(between(page, `<form class="search"`, "</form>"), `name="app"`) {
		t.Error("the header's search outside an app carries an app")
	}

	for _, c := range []struct {
		name string
		q    url.Values
		to   string
	}{
		{"app id", url.Values{"q": {f.app.ID}}, "/apps/" + f.app.ID},
		{"app uid", url.Values{"q": {" acme "}}, "/apps/" + f.app.ID},
		{"delivery", url.Values{"q": {dlv}, "app": {f.app.ID}}, "/apps/" + f.app.ID + "/deliveries/" + dlv},
		{"event, app by uid", url.Values{"q": {f.events[0].ID}, "app": {"acme"}}, "/apps/" + f.app.ID + "/events/" + f.events[0].ID},
		{"endpoint", url.Values{"q": {f.a.ID}, "app": {f.app.ID}}, "/apps/" + f.app.ID + "/deliveries?endpoint=" + f.a.ID},
	} {
		status, to, body := search(b, c.q)
		if status != http.StatusSeeOther || to != c.to {
			t.Errorf("%s: %d %s, want 303 to %s\n%s", c.name, status, to, c.to, between(body, "<main", "</main>"))
		}
	}

	for _, c := range []struct {
		name string
		q    url.Values
		want string
	}{
		{"unknown, in an app", url.Values{"q": {"evt_<nope>"}, "app": {f.app.ID}}, "no event, delivery or endpoint of Acme has that id"},
		{"a delivery, outside an app", url.Values{"q": {dlv}}, "open its app first"},
		{"unknown, outside an app", url.Values{"q": {"nope"}}, "open its app first"},
	} {
		status, _, body := search(b, c.q)
		msg := html.UnescapeString(between(body, `<p id="search-message"`, "</p>"))
		if status != http.StatusNotFound || !strings.Contains(msg, c.want) || !strings.Contains(msg, "“"+c.q.Get("q")+"”") {
			t.Errorf("%s: %d %q, want 404 saying %q and echoing the id", c.name, status, msg, c.want)
		}
		if !strings.Contains(body, `name="q" type="search" value="`+html.EscapeString(c.q.Get("q"))+`"`) {
			t.Errorf("%s: the search form does not keep the id", c.name)
		}
	}

	// A key bound to another app: nothing of Acme's, whatever app it names.
	var other hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Other"}, http.StatusCreated, &other)
	var otherEv hook.Event
	h.call(adminKey, "POST", "/v1/apps/"+other.ID+"/events", map[string]any{"type": "order.created", "data": map[string]any{}}, http.StatusAccepted, &otherEv)
	var key struct {
		Key string `json:"key"`
	}
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "other's key", "app": other.ID}, http.StatusCreated, &key)
	ob := signInHTTP(t, h, key.Key)
	for _, q := range []url.Values{
		{"q": {dlv}}, {"q": {f.app.ID}}, {"q": {"acme"}}, {"q": {f.events[0].ID}, "app": {f.app.ID}}, {"q": {f.a.ID}},
	} {
		status, to, body := search(ob, q)
		if status != http.StatusNotFound || strings.Contains(body, f.app.Name) && !strings.Contains(body, "“") {
			t.Errorf("other's key, ?%s: %d %s, want 404", q.Encode(), status, to)
		}
	}
	if status, to, _ := search(ob, url.Values{"q": {otherEv.ID}}); status != http.StatusSeeOther || to != "/apps/"+other.ID+"/events/"+otherEv.ID {
		t.Errorf("other's key, its own event: %d %s", status, to)
	}
}
