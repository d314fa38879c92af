package dashboard_test

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
)

// endpointT is an app with an endpoint, on a dashboard served by
// newDashboard (no dispatcher, a clock that stands still), and an admin
// session.
type endpointT struct {
	t    *testing.T
	h    *hookdT
	c    *http.Cookie
	app  hook.App
	ep   hook.Endpoint
	path string // the endpoint page's path
}

func newEndpointT(t *testing.T) *endpointT {
	t.Helper()
	base := newDashboard(t, 0)
	e := &endpointT{t: t, h: &hookdT{t: t, base: base}}
	e.h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme", "uid": "acme"}, http.StatusCreated, &e.app)
	e.h.call(adminKey, "POST", "/v1/apps/"+e.app.ID+"/endpoints", map[string]any{
		"url": "https://orders.example.com/hooks?src=<hookd>", "uid": "orders", "description": "Orders & invoices",
		"event_types": []string{"order.*", "invoice.paid"}, "headers": map[string]string{"Authorization": "Bearer s3cr3t-token"},
		"filter": `.data.total > 10`, "max_concurrency": 3, "rate_limit": 2.5, "ordering": "fifo",
	}, http.StatusCreated, &e.ep)
	e.path = "/apps/" + e.app.ID + "/endpoints/" + e.ep.ID
	e.c = sessionCookie(t, base, adminKey)
	return e
}

// do makes a dashboard request as the session.
func (e *endpointT) do(method, path string, form url.Values) (*http.Response, string) {
	e.t.Helper()
	return page(e.t, e.h.base, e.c, method, path, form)
}

// endpoint reads the endpoint through the API.
func (e *endpointT) endpoint() hook.Endpoint {
	e.t.Helper()
	var ep hook.Endpoint
	e.h.call(adminKey, "GET", "/v1/apps/"+e.app.ID+"/endpoints/"+e.ep.ID, nil, http.StatusOK, &ep)
	return ep
}

// secret reads the endpoint's signing secret through the API.
func (e *endpointT) secret() string {
	e.t.Helper()
	var s struct{ Secret string }
	e.h.call(adminKey, "GET", "/v1/apps/"+e.app.ID+"/endpoints/"+e.ep.ID+"/secret", nil, http.StatusOK, &s)
	return s.Secret
}

// deliveries lists the endpoint's deliveries through the API.
func (e *endpointT) deliveries() []hook.Delivery {
	e.t.Helper()
	var dl struct{ Data []hook.Delivery }
	e.h.call(adminKey, "GET", "/v1/apps/"+e.app.ID+"/deliveries?endpoint="+e.ep.ID, nil, http.StatusOK, &dl)
	return dl.Data
}

// wantRedirect checks a 303 to location.
func wantRedirect(t *testing.T, what string, resp *http.Response, body, location string) {
	t.Helper()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != location {
		t.Fatalf("%s: %d to %q, want 303 to %q\n%s", what, resp.StatusCode, resp.Header.Get("Location"), location, body)
	}
}

// fieldError returns the text of the element with id (a field's error).
func fieldError(body, id string) string {
	m := regexp.MustCompile(`id="` + regexp.QuoteMeta(id) + `"[^>]*>([^<]*)<`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// shows reports whether the page's HTML holds s, escaped or not.
func shows(body, s string) bool {
	return strings.Contains(body, s) || strings.Contains(html.UnescapeString(body), s)
}

// shownSecret is the value of the page's secret field; "" when none.
func shownSecret(body string) string {
	m := regexp.MustCompile(`<input id="secret" readonly value="([^"]*)"`).FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// TestEndpointPage: the page (by the endpoint's id or uid) shows its
// settings, header names with masked values, never the signing secret,
// an Edit link, the notices of ?created=1 and ?updated=1, its latest
// deliveries and a link to all of them.
func TestEndpointPage(t *testing.T) {
	e := newEndpointT(t)
	e.h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "example": map[string]any{"total": 20}}, http.StatusCreated, nil)
	var sent struct{ Delivery hook.Delivery }
	e.h.call(adminKey, "POST", "/v1/apps/"+e.app.ID+"/endpoints/"+e.ep.ID+"/test", map[string]any{"type": "order.created"}, http.StatusAccepted, &sent)

	for _, path := range []string{e.path, "/apps/acme/endpoints/orders"} {
		resp, body := e.do("GET", path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
		}
		for _, want := range []string{
			`<h1 class="url" id="endpoint-url">https://orders.example.com/hooks?src=&lt;hookd&gt;</h1>`,
			`<code>` + e.ep.ID + `</code> · uid <code>orders</code>`,
			`id="endpoint-state">enabled<`,
			`Orders &amp; invoices`,
			`<dd id="endpoint-types">order.*, invoice.paid</dd>`,
			`<code>Authorization: ********</code>`,
			`<code class="pre">.data.total &gt; 10</code>`,
			`at most 3 attempts at once`, `2.5 deliveries per second`,
			`<dd id="endpoint-ordering">FIFO: one at a time, in event order</dd>`,
			`<a class="button" href="` + e.path + `/edit" id="edit">Edit</a>`,
			`action="` + e.path + `/disable"`,
			`href="/apps/` + e.app.ID + `/deliveries?endpoint=` + e.ep.ID + `" id="all-deliveries"`,
			`href="/apps/` + e.app.ID + `/deliveries/` + sent.Delivery.ID + `"`,
			`id="reveal"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("GET %s lacks %q", path, want)
			}
		}
		for _, never := range []string{"s3cr3t-token", e.secret(), `id="endpoint-notice"`, `id="recover-notice"`, `id="secret"`} {
			if shows(body, never) {
				t.Errorf("GET %s shows %q", path, never)
			}
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, cc)
		}
	}
	// The create and edit forms come back with ?created=1 and ?updated=1.
	for flag, want := range map[string]string{"created": "Endpoint created.", "updated": "Endpoint updated."} {
		if _, body := e.do("GET", e.path+"?"+flag+"=1", nil); fieldError(body, "endpoint-notice") != want {
			t.Errorf("?%s=1: notice %q, want %q", flag, fieldError(body, "endpoint-notice"), want)
		}
	}
	if _, body := e.do("GET", e.path+"?done=<b>hi</b>&created=yes", nil); strings.Contains(body, `id="endpoint-notice"`) {
		t.Error("an unknown flag shows a notice")
	}
	if resp, _ := e.do("GET", "/apps/"+e.app.ID+"/endpoints/ep_nope", nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("an unknown endpoint: %d, want 404", resp.StatusCode)
	}
}

// TestEndpointDisableEnable: Disable and Enable change the endpoint
// through the API and go back to its page, which says so and offers the
// other button.
func TestEndpointDisableEnable(t *testing.T) {
	e := newEndpointT(t)
	resp, body := e.do("POST", e.path+"/disable", url.Values{})
	wantRedirect(t, "disable", resp, body, e.path+"?disabled=1")
	if !e.endpoint().Disabled {
		t.Fatal("the endpoint is not disabled")
	}
	_, body = e.do("GET", resp.Header.Get("Location"), nil)
	if !strings.Contains(body, `id="endpoint-state">disabled<`) || !strings.Contains(body, `action="`+e.path+`/enable"`) ||
		!strings.HasPrefix(fieldError(body, "endpoint-notice"), "Endpoint disabled") {
		t.Errorf("the page after disable does not show it disabled with Enable:\n%s", between(body, "<main", `<section`))
	}
	resp, body = e.do("POST", "/apps/acme/endpoints/orders/enable", url.Values{})
	wantRedirect(t, "enable by uid", resp, body, "/apps/acme/endpoints/orders?enabled=1")
	if e.endpoint().Disabled {
		t.Fatal("the endpoint is still disabled")
	}
}

// TestEndpointDelete: Delete sits behind a confirm step; it deletes the
// endpoint through the API and goes to the app's page.
func TestEndpointDelete(t *testing.T) {
	e := newEndpointT(t)
	_, body := e.do("GET", e.path, nil)
	if confirm := between(body, `<details class="confirm">`, "</details>"); !strings.Contains(confirm, `action="`+e.path+`/delete"`) {
		t.Fatalf("no confirmed delete form:\n%s", between(body, "<main", "<section"))
	}
	resp, body := e.do("POST", e.path+"/delete", url.Values{})
	wantRedirect(t, "delete", resp, body, "/apps/"+e.app.ID)
	e.h.call(adminKey, "GET", "/v1/apps/"+e.app.ID+"/endpoints/"+e.ep.ID, nil, http.StatusNotFound, nil)
	if resp, _ := e.do("POST", e.path+"/delete", url.Values{}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("delete it again: %d, want 404", resp.StatusCode)
	}
}

// TestEndpointSecret: the secret shows only when asked (POST), not
// cached; Rotate shows the new one once and the API signs with it; a
// refused overlap shows its message next to the field, and the secret
// stays.
func TestEndpointSecret(t *testing.T) {
	e := newEndpointT(t)
	old := e.secret()
	resp, body := e.do("POST", e.path+"/secret", url.Values{})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal: %d, Cache-Control %q; want 200, no-store", resp.StatusCode, resp.Header.Get("Cache-Control"))
	}
	if shownSecret(body) != old || !strings.Contains(body, `data-copy-target="#secret"`) {
		t.Errorf("reveal does not show the secret with a copy button:\n%s", between(body, `id="secret-head"`, "</section>"))
	}

	for _, c := range []struct{ value, want string }{
		{"soon", "must be a whole number of seconds"}, // refused here
		{"999999999", "604800"},                       // refused by the API
	} {
		resp, body = e.do("POST", e.path+"/secret/rotate", url.Values{"previous_expires_in": {c.value}})
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("rotate with %q: %d, want 422", c.value, resp.StatusCode)
		}
		if msg := fieldError(body, "previous_expires_in-error"); !strings.Contains(msg, c.want) {
			t.Errorf("rotate with %q: error %q, want it to say %q", c.value, msg, c.want)
		}
		if !strings.Contains(body, `value="`+c.value+`"`) || !strings.Contains(body, `<details class="confirm" open>`) {
			t.Errorf("rotate with %q: the form is not open with the value kept", c.value)
		}
		if e.secret() != old {
			t.Fatalf("rotate with %q changed the secret", c.value)
		}
	}

	resp, body = e.do("POST", e.path+"/secret/rotate", url.Values{"previous_expires_in": {"0"}})
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotate: %d, Cache-Control %q; want 200, no-store\n%s", resp.StatusCode, resp.Header.Get("Cache-Control"), body)
	}
	now := e.secret()
	if now == old {
		t.Fatal("rotate did not change the secret")
	}
	if shownSecret(body) != now || !strings.Contains(body, "The previous secret no longer signs.") {
		t.Errorf("rotate does not show the new secret once:\n%s", between(body, `id="secret-head"`, "</section>"))
	}
	if _, body = e.do("GET", e.path, nil); shows(body, now) || shownSecret(body) != "" {
		t.Error("the page shows the new secret after the rotation's answer")
	}
}

// TestEndpointTestEvent: a test event of a catalog type, its example by
// default, goes to the endpoint, and the browser to its delivery; a type
// not in the catalog (the API's 422) and data that is not JSON (refused
// before the API) show their messages next to their fields, nothing
// sent; htmx's partial and the "Load example" button fill in the chosen
// type's example.
func TestEndpointTestEvent(t *testing.T) {
	e := newEndpointT(t)
	_, body := e.do("GET", e.path, nil)
	if !strings.Contains(body, `id="no-types"`) {
		t.Error("without a catalog, the page does not say a test event needs one")
	}
	e.h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "invoice.paid", "example": map[string]any{"invoice": "in_1"}}, http.StatusCreated, nil)
	e.h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "example": map[string]any{"total": 20, "note": "<b>"},
		"schema": map[string]any{"type": "object", "properties": map[string]any{"total": map[string]any{"type": "integer"}}}}, http.StatusCreated, nil)
	e.h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.refunded"}, http.StatusCreated, nil)
	e.h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.legacy", "example": map[string]any{}}, http.StatusCreated, nil)
	e.h.call(adminKey, "DELETE", "/v1/event-types/order.legacy", nil, http.StatusNoContent, nil)

	_, body = e.do("GET", e.path, nil)
	sel := between(body, `<select id="test-type"`, "</select>")
	if !strings.Contains(sel, `hx-get="`+e.path+`/test-example"`) || strings.Contains(sel, "order.legacy") ||
		!strings.Contains(sel, `<option value="invoice.paid" selected>`) || !strings.Contains(sel, `<option value="order.refunded">`) {
		t.Errorf("the type select: %s", sel)
	}
	if ta := between(body, `<textarea id="data"`, "</textarea>"); !strings.Contains(ta, "{\n  &#34;invoice&#34;: &#34;in_1&#34;\n}") {
		t.Errorf("the data field does not hold the first type's example: %s", ta)
	}

	// htmx's partial, and the button for browsers without script.
	resp, frag := e.do("GET", e.path+"/test-example?type=order.created", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(strings.TrimSpace(frag), `<div id="test-data"`) || strings.Contains(frag, "<html") ||
		!strings.Contains(frag, `&#34;note&#34;: &#34;\u003cb\u003e&#34;`) {
		t.Errorf("test-example: %d\n%s", resp.StatusCode, frag)
	}
	_, frag = e.do("GET", e.path+"/test-example?type=order.refunded", nil)
	if !strings.Contains(frag, "has no example in the catalog") {
		t.Errorf("test-example of a type without an example:\n%s", frag)
	}
	resp, body = e.do("POST", e.path+"/test", url.Values{"type": {"order.created"}, "data": {`{"x":1}`}, "load": {"1"}})
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `<option value="order.created" selected>`) || !strings.Contains(body, "&#34;total&#34;: 20") {
		t.Errorf("Load example: %d\n%s", resp.StatusCode, between(body, `<form method="post" action="`+e.path+`/test"`, "</form>"))
	}
	if resp, body = e.do("POST", e.path+"/test", url.Values{"type": {"order.nope"}, "load": {"1"}}); resp.StatusCode != http.StatusUnprocessableEntity ||
		!strings.Contains(fieldError(body, "test-type-error"), "is not in the catalog") {
		t.Errorf("Load example of a type not in the catalog: %d, error %q", resp.StatusCode, fieldError(body, "test-type-error"))
	}
	if n := len(e.deliveries()); n != 0 {
		t.Fatalf("Load example sent %d deliveries", n)
	}

	// Refusals, each next to its field; nothing sent.
	for _, c := range []struct {
		name          string
		form          url.Values
		status        int
		field, want   string
		keepsTextarea string
	}{
		{"type not in the catalog", url.Values{"type": {"order.nope"}, "data": {`{"a":1}`}}, 422, "test-type-error", "is not in the catalog", `{&#34;a&#34;:1}`},
		{"archived type", url.Values{"type": {"order.legacy"}}, 422, "test-type-error", "is archived", ""},
		{"invalid JSON", url.Values{"type": {"order.created"}, "data": {"{\n  \"total\": 20,\n}"}}, 422, "data-error", "is not valid JSON: line 3, column 1", "&#34;total&#34;: 20,"},
		{"no example, no data", url.Values{"type": {"order.refunded"}, "data": {"  "}}, 422, "data-error", "has no example", ""},
		{"not an object", url.Values{"type": {"order.created"}, "data": {`[1]`}}, 422, "data-error", "must be a JSON object", ""},
		{"against the schema", url.Values{"type": {"order.created"}, "data": {`{"total":"lots"}`}}, 422, "data-error", "does not match the schema of event type order.created: total: ", ""},
	} {
		resp, body := e.do("POST", e.path+"/test", c.form)
		if resp.StatusCode != c.status {
			t.Errorf("%s: %d, want %d", c.name, resp.StatusCode, c.status)
		}
		if msg := fieldError(body, c.field); !strings.Contains(msg, c.want) {
			t.Errorf("%s: %s is %q, want it to say %q\n%s", c.name, c.field, msg, c.want, between(body, `id="test-form"`, "</form>"))
		}
		if c.keepsTextarea != "" && !strings.Contains(between(body, `<textarea id="data"`, "</textarea>"), c.keepsTextarea) {
			t.Errorf("%s: the data typed is lost", c.name)
		}
		if !strings.Contains(between(body, `id="`+strings.TrimSuffix(c.field, "-error")+`"`, ">"), `aria-invalid="true"`) {
			t.Errorf("%s: the field is not marked invalid", c.name)
		}
	}
	if n := len(e.deliveries()); n != 0 {
		t.Fatalf("refused test events sent %d deliveries", n)
	}

	// Sent: the example (empty data), and edited data.
	for _, data := range []string{"", `{"total": 99}`} {
		resp, body = e.do("POST", e.path+"/test", url.Values{"type": {"order.created"}, "data": {data}})
		dls := e.deliveries()
		if len(dls) == 0 {
			t.Fatalf("data %q: no delivery\n%s", data, body)
		}
		wantRedirect(t, "send", resp, body, "/apps/"+e.app.ID+"/deliveries/"+dls[0].ID)
		var ev hook.Event
		e.h.call(adminKey, "GET", "/v1/apps/"+e.app.ID+"/events/"+dls[0].EventID, nil, http.StatusOK, &ev)
		want := `{"note":"\u003cb\u003e","total":20}`
		if data != "" {
			want = `{"total":99}`
		}
		if !ev.Test || string(ev.Data) != want || ev.Type != "order.created" {
			t.Errorf("data %q: sent event test=%v type %s data %s, want a test order.created with %s", data, ev.Test, ev.Type, ev.Data, want)
		}
	}

	// A disabled endpoint: the API's 409 at the form.
	e.h.call(adminKey, "PATCH", "/v1/apps/"+e.app.ID+"/endpoints/"+e.ep.ID, map[string]any{"disabled": true}, http.StatusOK, nil)
	resp, body = e.do("POST", e.path+"/test", url.Values{"type": {"order.created"}})
	if resp.StatusCode != http.StatusConflict || !strings.Contains(fieldError(body, "test-error"), "is disabled") {
		t.Errorf("test event to a disabled endpoint: %d, error %q; want 409 saying it is disabled", resp.StatusCode, fieldError(body, "test-error"))
	}
}

// TestEndpointRecoverRefusals: a time that is not one is refused next to
// its field (422) without asking the API; a disabled endpoint's recovery
// shows the API's 409 at the form; with nothing failed the notice says
// so.
func TestEndpointRecoverRefusals(t *testing.T) {
	e := newEndpointT(t)
	_, body := e.do("GET", e.path, nil)
	if input := between(body, `<input id="since"`, ">"); !strings.Contains(input, `type="datetime-local"`) || !strings.Contains(input, `value="2026-12-01T12:00"`) {
		t.Errorf("the since field: %s", input)
	}
	if !strings.Contains(body, "(UTC)") {
		t.Error("the recover form does not say its time is UTC")
	}
	for _, v := range []string{"", "yesterday", "2026-13-01T00:00"} {
		resp, body := e.do("POST", e.path+"/recover", url.Values{"since": {v}})
		if resp.StatusCode != http.StatusUnprocessableEntity || fieldError(body, "since-error") == "" {
			t.Errorf("since %q: %d, error %q; want 422 with an error at the field", v, resp.StatusCode, fieldError(body, "since-error"))
		}
	}
	resp, body := e.do("POST", e.path+"/recover", url.Values{"since": {"2026-12-02T09:30"}})
	wantRedirect(t, "recover", resp, body, e.path+"?recovered=0#recover-head")
	if _, body = e.do("GET", resp.Header.Get("Location"), nil); !strings.Contains(fieldError(body, "recover-notice"), "No failed delivery") {
		t.Errorf("recovered=0: notice %q", fieldError(body, "recover-notice"))
	}

	e.h.call(adminKey, "PATCH", "/v1/apps/"+e.app.ID+"/endpoints/"+e.ep.ID, map[string]any{"disabled": true}, http.StatusOK, nil)
	resp, body = e.do("POST", e.path+"/recover", url.Values{"since": {"2026-12-02T09:30:15"}})
	if resp.StatusCode != http.StatusConflict {
		t.Errorf("recover a disabled endpoint: %d, want 409", resp.StatusCode)
	}
	if msg := fieldError(body, "recover-error"); !strings.Contains(msg, "disabled") {
		t.Errorf("recover a disabled endpoint: error %q, want it to say disabled", msg)
	}
	if !strings.Contains(body, `value="2026-12-02T09:30:15"`) {
		t.Error("the refused recover form lost its time")
	}
}

// TestEndpointAppScope: a session of a key bound to another app cannot
// open the endpoint's page nor act on it (the API's 403), and nothing
// changes.
func TestEndpointAppScope(t *testing.T) {
	e := newEndpointT(t)
	e.h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "example": map[string]any{"total": 20}}, http.StatusCreated, nil)
	var other hook.App
	e.h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Other"}, http.StatusCreated, &other)
	var key api.CreatedAPIKey
	e.h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "other's key", "app": other.ID}, http.StatusCreated, &key)
	c := sessionCookie(t, e.h.base, key.Key)
	old := e.secret()
	for _, req := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", e.path, nil},
		{"GET", "/apps/acme/endpoints/orders", nil},
		{"POST", e.path + "/disable", url.Values{}},
		{"POST", e.path + "/secret", url.Values{}},
		{"POST", e.path + "/secret/rotate", url.Values{}},
		{"POST", e.path + "/test", url.Values{"type": {"order.created"}}},
		{"POST", e.path + "/recover", url.Values{"since": {"2026-12-01T00:00"}}},
		{"POST", e.path + "/delete", url.Values{}},
	} {
		resp, body := page(t, e.h.base, c, req.method, req.path, req.form)
		if resp.StatusCode != http.StatusForbidden || shows(body, e.ep.URL) || shows(body, old) {
			t.Errorf("%s %s as another app's key: %d, want a 403 that shows nothing of the endpoint", req.method, req.path, resp.StatusCode)
		}
	}
	if ep := e.endpoint(); ep.Disabled || e.secret() != old || len(e.deliveries()) != 0 {
		t.Errorf("another app's key changed the endpoint: disabled %v, secret changed %v, %d deliveries", ep.Disabled, e.secret() != old, len(e.deliveries()))
	}
}

// receiver is an httptest receiver that records the bodies it gets and
// answers status; once held, it answers only when released.
type receiver struct {
	*httptest.Server
	mu      sync.Mutex
	bodies  [][]byte
	status  int
	release chan struct{} // nil: answer at once
}

func newReceiver(t *testing.T, status int) *receiver {
	t.Helper()
	rc := &receiver{status: status}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, b)
		status, release := rc.status, rc.release
		rc.mu.Unlock()
		if release != nil {
			<-release
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(rc.Close)
	return rc
}

// answer makes the receiver answer status from now on, each request
// held until the returned func is called (at the latest when the test
// ends).
func (rc *receiver) answer(t *testing.T, status int) (release func()) {
	ch := make(chan struct{})
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	t.Cleanup(release) // before rc.Close, which waits for held requests
	rc.mu.Lock()
	rc.status, rc.release = status, ch
	rc.mu.Unlock()
	return release
}

func (rc *receiver) received() [][]byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]byte(nil), rc.bodies...)
}

// TestEndpointChart: an endpoint's page draws its own success rate (a
// line, and the rate as a number) and latency from the stats of that
// endpoint only: the one whose receiver answers 200 is at 100% with a
// p50 line, the one whose receiver answers 500 at 0% with no latency;
// ?range=24h draws 15-minute buckets.
func TestEndpointChart(t *testing.T) {
	h := startHookd(t)
	ok, bad := newReceiver(t, http.StatusOK), newReceiver(t, http.StatusInternalServerError)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	var okEP, badEP hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": ok.URL + "/ok"}, http.StatusCreated, &okEP)
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": bad.URL + "/bad"}, http.StatusCreated, &badEP)
	b := signInHTTP(t, h, adminKey)

	if p := b.page("/apps/" + app.ID + "/endpoints/" + okEP.ID); !strings.Contains(p, `id="rate-none"`) || !strings.Contains(p, `<dd id="success-rate">—</dd>`) {
		t.Errorf("before any attempt: no empty state\n%s", between(p, `id="activity"`, "</section>"))
	}
	for range 2 {
		h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/events", map[string]any{"type": "order.created", "data": map[string]any{"id": 1}}, http.StatusAccepted, nil)
	}
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/deliveries", nil, http.StatusOK, &dl)
	for _, d := range dl.Data {
		want := hook.DeliverySucceeded
		if d.EndpointID == badEP.ID {
			want = hook.DeliveryFailed
		}
		h.waitDelivery(app.ID, d.ID, want)
	}

	for _, c := range []struct {
		name, path, summary, rate string
		line, latency             bool
	}{
		{"ok", "/apps/" + app.ID + "/endpoints/" + okEP.ID, "Success rate in the last hour, per 1 min: 2 of 2 attempts succeeded (100%).", "100%", true, true},
		{"ok, 24 h", "/apps/" + app.ID + "/endpoints/" + okEP.ID + "?range=24h", "Success rate in the last 24 hours, per 15 min: 2 of 2 attempts succeeded (100%).", "100%", true, true},
		{"bad", "/apps/" + app.ID + "/endpoints/" + badEP.ID, "Success rate in the last hour, per 1 min: 0 of 2 attempts succeeded (0%).", "0%", true, false},
	} {
		p := b.page(c.path)
		svg := between(p, `<svg class="chart chart-wide" id="rate-chart-wide"`, "</svg>")
		if !strings.Contains(svg, `<title id="rate-chart-wide-title">`+c.summary+`</title>`) {
			t.Errorf("%s: the rate chart's title is not %q:\n%s", c.name, c.summary, svg)
		}
		if got := regexp.MustCompile(`class="line-rate"`).MatchString(svg); got != c.line {
			t.Errorf("%s: rate line drawn %v, want %v", c.name, got, c.line)
		}
		if !strings.Contains(p, `<dd id="success-rate">`+c.rate+`</dd>`) || !strings.Contains(p, `<dd id="attempts">2</dd>`) {
			t.Errorf("%s: figures %s, want rate %s of 2 attempts", c.name, between(p, `<dl class="figures">`, "</dl>"), c.rate)
		}
		lat := between(p, `id="latency-chart-wide"`, "</svg>")
		if got := strings.Contains(lat, `class="line-p50"`); got != c.latency {
			t.Errorf("%s: p50 line drawn %v, want %v", c.name, got, c.latency)
		}
		if !c.latency && !strings.Contains(p, `id="latency-none"`) {
			t.Errorf("%s: no latency, but no empty state", c.name)
		}
	}
}

// TestBrowserSendTestEvent: on the endpoint page, picking a catalog type
// loads its example into the data field (htmx); sending it goes to the
// new delivery's page, which follows it to its succeeded attempt; the
// receiver got the example.
func TestBrowserSendTestEvent(t *testing.T) {
	h := startHookd(t)
	rc := newReceiver(t, http.StatusOK)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": rc.URL + "/hooks"}, http.StatusCreated, &ep)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "invoice.paid", "example": map[string]any{"invoice": "in_1"}}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "example": map[string]any{"order": "ord_42", "total": 1999}}, http.StatusCreated, nil)

	ctx := newBrowser(t, 1280, 900)
	signIn(t, ctx, h.base, adminKey)
	navigate(t, ctx, h.base+"/apps/"+app.ID+"/endpoints/"+ep.ID)
	if got := text(t, ctx, "h1"); got != rc.URL+"/hooks" {
		t.Fatalf("endpoint page h1 %q", got)
	}
	// Pick order.created: htmx swaps in its example.
	do(t, ctx, "pick order.created",
		chromedp.SetValue(chromedp.ID("test-type"), "order.created"),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("test-type").dispatchEvent(new Event("change", {bubbles: true}))`),
		chromedp.WaitVisible(chromedp.CSS(`#test-data[data-type="order.created"]`)))
	data, err := chromedp.Run(ctx, chromedp.Value(chromedp.ID("data")))
	if err != nil {
		t.Fatal(err)
	}
	var shown map[string]any
	if err := json.Unmarshal([]byte(data), &shown); err != nil || shown["order"] != "ord_42" {
		t.Fatalf("the data field holds %q, want order.created's example", data)
	}

	status := responseOf(t, ctx, "send the test event", chromedp.Click(chromedp.ID("send-test")))
	if status != http.StatusOK {
		t.Fatalf("send: page status %d", status)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(loc, h.base+"/apps/"+app.ID+"/deliveries/dlv_") {
		t.Fatalf("after sending, the browser is at %s, want the delivery's page", loc)
	}
	do(t, ctx, "wait for the test delivery to succeed", chromedp.WaitVisible(chromedp.CSS(`#delivery-status.status-succeeded`)))
	if got := text(t, ctx, ".attempt .status"); got != "HTTP 200" {
		t.Errorf("the attempt: %q, want HTTP 200", got)
	}
	bodies := rc.received()
	if len(bodies) != 1 {
		t.Fatalf("the receiver got %d requests, want 1", len(bodies))
	}
	var got struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(bodies[0], &got); err != nil || got.Type != "order.created" || string(got.Data) != `{"order":"ord_42","total":1999}` {
		t.Errorf("the receiver got %s, want order.created with its example", bodies[0])
	}
}

// TestBrowserRecover: two deliveries fail (the receiver answers 500, and
// the test hookd does not retry); once the receiver is fixed, "Retry
// failed deliveries since" a time before them says 2 were made due, shown
// retrying, and the page's list follows them (htmx) to succeeded.
func TestBrowserRecover(t *testing.T) {
	h := startHookd(t)
	rc := newReceiver(t, http.StatusInternalServerError)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": rc.URL + "/hooks"}, http.StatusCreated, &ep)
	since := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
	for i := range 2 {
		h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/events", map[string]any{"type": "order.created", "data": map[string]any{"i": i}}, http.StatusAccepted, nil)
	}
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/deliveries", nil, http.StatusOK, &dl)
	if len(dl.Data) != 2 {
		t.Fatalf("%d deliveries, want 2", len(dl.Data))
	}
	for _, d := range dl.Data {
		h.waitDelivery(app.ID, d.ID, hook.DeliveryFailed)
	}
	release := rc.answer(t, http.StatusOK) // fixed, but answers when released

	ctx := newBrowser(t, 390, 844)
	signIn(t, ctx, h.base, adminKey)
	navigate(t, ctx, h.base+"/apps/"+app.ID+"/endpoints/"+ep.ID)
	if got := text(t, ctx, "#ep-deliveries tbody"); strings.Count(got, "failed") != 2 {
		t.Errorf("the page's deliveries: %q, want 2 failed", got)
	}
	status := responseOf(t, ctx, "recover",
		chromedp.SetValue(chromedp.ID("since"), since.Format("2006-01-02T15:04:05")),
		chromedp.Click(chromedp.ID("recover")))
	if status != http.StatusOK {
		t.Fatalf("recover: page status %d", status)
	}
	if got := text(t, ctx, "#recover-notice"); !strings.HasPrefix(got, "2 failed deliveries made due again") {
		t.Errorf("notice %q, want it to say 2 were made due", got)
	}
	if got := text(t, ctx, "#ep-deliveries tbody"); strings.Count(got, "retrying") != 2 {
		t.Errorf("just recovered (the receiver has not answered): the deliveries %q, want 2 retrying", got)
	}
	release()
	// The list polls while a delivery is pending, until both succeeded.
	do(t, ctx, "wait for both to succeed",
		chromedp.WaitVisible(chromedp.CSS(`#ep-deliveries tbody tr:nth-child(1) .status-succeeded`)),
		chromedp.WaitVisible(chromedp.CSS(`#ep-deliveries tbody tr:nth-child(2) .status-succeeded`)))
	for _, d := range dl.Data {
		h.waitDelivery(app.ID, d.ID, hook.DeliverySucceeded)
	}
	if n := len(rc.received()); n != 4 {
		t.Errorf("the receiver got %d requests, want 4 (2 failed, 2 recovered)", n)
	}
}
