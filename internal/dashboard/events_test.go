package dashboard_test

import (
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
)

// browserT is a signed-in dashboard session over HTTP.
type browserT struct {
	t      *testing.T
	base   string
	cookie *http.Cookie
}

// signInHTTP signs in with key over HTTP.
func signInHTTP(t *testing.T, h *hookdT, key string) *browserT {
	t.Helper()
	resp := postSignIn(t, h.base, url.Values{"key": {key}})
	for _, c := range resp.Cookies() {
		if c.Name == dashboard.CookieName {
			return &browserT{t: t, base: h.base, cookie: c}
		}
	}
	t.Fatalf("sign in: %d, no session cookie", resp.StatusCode)
	return nil
}

// get opens a page and returns its status and HTML.
func (b *browserT) get(path string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	req.AddCookie(b.cookie)
	resp, err := noRedirects.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// page opens a page that must answer 200.
func (b *browserT) page(path string) string {
	b.t.Helper()
	status, body := b.get(path)
	if status != http.StatusOK {
		b.t.Fatalf("GET %s: %d %s", path, status, body)
	}
	return body
}

var eventLink = regexp.MustCompile(`<a href="/apps/[^/"]+/events/([^"]+)">([^<]+)</a>`)

// eventRows returns the (id, type) of each row of the events table, in order.
func eventRows(page string) [][2]string {
	var rows [][2]string
	for _, m := range eventLink.FindAllStringSubmatch(between(page, `<table class="cards-sm" id="events">`, "</table>"), -1) {
		rows = append(rows, [2]string{m[1], m[2]})
	}
	return rows
}

// TestEvents: the events page lists an app's events newest first, 50 a
// page with a next page that keeps the filters; ?type= filters as the
// API does; a filter the API refuses shows its 422 message next to the
// field. An event's page shows its facts, its payload indented, and its
// deliveries, each status linking to the delivery.
func TestEvents(t *testing.T) {
	h := startHookd(t)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(ok.Close)

	var acme hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &acme)
	h.call(adminKey, "POST", "/v1/apps/"+acme.ID+"/endpoints", map[string]any{"url": ok.URL + "/orders", "event_types": []string{"order.*"}}, http.StatusCreated, nil)
	var order, invoice hook.Event
	h.call(adminKey, "POST", "/v1/apps/"+acme.ID+"/events", map[string]any{"type": "order.created", "data": map[string]any{"customer": map[string]any{"name": "Ann <b>"}}}, http.StatusAccepted, &order)
	h.call(adminKey, "POST", "/v1/apps/"+acme.ID+"/events", map[string]any{"type": "invoice.paid", "data": map[string]any{"n": 1}, "livemode": false}, http.StatusAccepted, &invoice)
	for i := range 50 {
		h.call(adminKey, "POST", "/v1/apps/"+acme.ID+"/events", map[string]any{"type": "user.seen", "data": map[string]any{"i": i}}, http.StatusAccepted, nil)
	}
	b := signInHTTP(t, h, adminKey)

	if app := b.page("/apps/" + acme.ID); !strings.Contains(app, `href="/apps/`+acme.ID+`/events"`) {
		t.Error("the app page does not link to its events")
	}

	// The first page: the 50 newest, then a next page with the rest.
	first := b.page("/apps/" + acme.ID + "/events")
	rows := eventRows(first)
	if len(rows) != 50 {
		t.Fatalf("first page: %d events, want 50", len(rows))
	}
	for _, r := range rows {
		if r[1] != "user.seen" {
			t.Errorf("first page shows %v, want only the 50 newest (user.seen)", r)
		}
	}
	next := regexp.MustCompile(`<a href="\?([^"]+)" rel="next">`).FindStringSubmatch(first)
	if next == nil {
		t.Fatal("first page: no next page link")
	}
	second := eventRows(b.page("/apps/" + acme.ID + "/events?" + html.UnescapeString(next[1])))
	if want := [][2]string{{invoice.ID, "invoice.paid"}, {order.ID, "order.created"}}; fmt.Sprint(second) != fmt.Sprint(want) {
		t.Errorf("second page: %v, want %v", second, want)
	}

	// A filtered list's next page keeps the filter.
	firstUsers := b.page("/apps/" + acme.ID + "/events?type=" + url.QueryEscape("user.*,invoice.paid"))
	next = regexp.MustCompile(`<a href="\?([^"]+)" rel="next">`).FindStringSubmatch(firstUsers)
	if n := len(eventRows(firstUsers)); n != 50 || next == nil {
		t.Fatalf("?type=user.*,invoice.paid: %d events, next page %v; want 50 and a next page", n, next)
	}
	secondUsers := eventRows(b.page("/apps/" + acme.ID + "/events?" + html.UnescapeString(next[1])))
	if want := [][2]string{{invoice.ID, "invoice.paid"}}; fmt.Sprint(secondUsers) != fmt.Sprint(want) {
		t.Errorf("?type=user.*,invoice.paid, second page: %v, want %v", secondUsers, want)
	}

	// Filtered by type: the filter stays in the form.
	filtered := b.page("/apps/" + acme.ID + "/events?type=" + url.QueryEscape("order.*, invoice.paid"))
	if got, want := eventRows(filtered), [][2]string{{invoice.ID, "invoice.paid"}, {order.ID, "order.created"}}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("?type=order.*, invoice.paid: %v, want %v", got, want)
	}
	if !strings.Contains(filtered, `name="type" type="search" value="order.*, invoice.paid"`) {
		t.Error("the type filter is not kept in the form")
	}
	if strings.Contains(filtered, `rel="next"`) {
		t.Error("a filtered page of 2 events has a next page")
	}
	if got := eventRows(b.page("/apps/" + acme.ID + "/events?since=2000-01-01T00:00:00Z&until=2001-01-01T00:00:00Z")); len(got) != 0 {
		t.Errorf("events of the year 2000: %v, want none", got)
	}

	// Refused filters: the API's message next to the field, with 422.
	for _, c := range []struct{ field, value string }{
		{"type", "not a type!"},
		{"since", "yesterday"},
		{"until", "2000-01-01T00:00:00Z"}, // before since
	} {
		q := url.Values{c.field: {c.value}}
		if c.field == "until" {
			q.Set("since", "2001-01-01T00:00:00Z")
		}
		var problem struct {
			Errors []struct{ Location, Message string }
		}
		h.call(adminKey, "GET", "/v1/apps/"+acme.ID+"/events?"+q.Encode(), nil, http.StatusUnprocessableEntity, &problem)
		if len(problem.Errors) != 1 || problem.Errors[0].Location != "query."+c.field {
			t.Fatalf("the API's answer to %s: %+v", q.Encode(), problem)
		}
		status, page := b.get("/apps/" + acme.ID + "/events?" + q.Encode())
		if status != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422", q.Encode(), status)
		}
		want := `<p id="` + c.field + `-error" class="field-error" role="alert">` + html.EscapeString(problem.Errors[0].Message) + `</p>`
		if !strings.Contains(page, want) {
			t.Errorf("%s: the page lacks %s:\n%s", q.Encode(), want, between(page, "<form", "</form>"))
		}
		if !strings.Contains(page, `id="`+c.field+`" name="`+c.field+`"`) || !strings.Contains(between(page, `id="`+c.field+`"`, ">"), `aria-invalid="true" aria-describedby="`+c.field+`-error"`) {
			t.Errorf("%s: the field is not marked invalid", q.Encode())
		}
		if strings.Contains(page, `id="events"`) {
			t.Errorf("%s: a refused filter still lists events", q.Encode())
		}
	}

	// The order's page: its facts, payload indented, its delivery.
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/"+acme.ID+"/deliveries?event="+order.ID, nil, http.StatusOK, &dl)
	if len(dl.Data) != 1 {
		t.Fatalf("order: %d deliveries, want 1", len(dl.Data))
	}
	h.waitDelivery(acme.ID, dl.Data[0].ID, hook.DeliverySucceeded)
	ev := b.page("/apps/" + acme.ID + "/events/" + order.ID)
	for _, want := range []string{
		`<dd id="event-type">order.created</dd>`,
		"<code>" + order.ID + "</code>",
		`<dd id="event-livemode">live</dd>`,
		`<dd id="event-test">no</dd>`,
		"<pre class=\"body\" id=\"event-data\">{\n  &#34;customer&#34;: {\n    &#34;name&#34;: &#34;Ann \\u003cb\\u003e&#34;\n  }\n}</pre>",
		`<a href="/apps/` + acme.ID + `/deliveries/` + dl.Data[0].ID + `" class="status status-succeeded"`,
		ok.URL + "/orders",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("the order's page lacks %q:\n%s", want, between(ev, "<main", "</main>"))
		}
	}

	// The invoice: a test-mode event no endpoint got.
	ev = b.page("/apps/" + acme.ID + "/events/" + invoice.ID)
	for _, want := range []string{`<dd id="event-livemode"><span class="badge">test mode</span></dd>`, `id="no-deliveries"`} {
		if !strings.Contains(ev, want) {
			t.Errorf("the invoice's page lacks %q:\n%s", want, between(ev, "<main", "</main>"))
		}
	}

	if status, _ := b.get("/apps/" + acme.ID + "/events/evt_nope"); status != http.StatusNotFound {
		t.Errorf("an unknown event's page: %d, want 404", status)
	}

	// A key bound to another app sees none of Acme's events.
	var other hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Other"}, http.StatusCreated, &other)
	var key struct {
		Key string `json:"key"`
	}
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "other's key", "app": other.ID}, http.StatusCreated, &key)
	ob := signInHTTP(t, h, key.Key)
	for _, path := range []string{"/apps/" + acme.ID + "/events", "/apps/" + acme.ID + "/events/" + order.ID} {
		if status, page := ob.get(path); status == http.StatusOK || strings.Contains(page, order.ID) {
			t.Errorf("other's key opens %s: %d", path, status)
		}
	}
	if got := eventRows(ob.page("/apps/" + other.ID + "/events")); len(got) != 0 {
		t.Errorf("other's events: %v, want none", got)
	}
}
