package dashboard_test

import (
	"context"
	"crypto/sha256"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// newGuardedDashboard is newDashboard with the API's SSRF guard on, as
// `hookd serve` has it by default: endpoint URLs on private networks are
// refused.
func newGuardedDashboard(t *testing.T) string {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sum := sha256.Sum256([]byte(adminKey))
	if _, err := st.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "admin", Hash: sum[:], Now: now}); err != nil {
		t.Fatal(err)
	}
	apiH, err := api.New(api.Config{Store: st, Dispatcher: noDispatch{}, Now: clock, Logger: slog.New(slog.DiscardHandler),
		CheckURL: func(u *url.URL) error { return netguard.CheckHost(u.Hostname(), false) }})
	if err != nil {
		t.Fatal(err)
	}
	dash, err := dashboard.New(dashboard.Config{API: apiH, Store: st, Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", apiH)
	mux.Handle("/", dash)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// apiEndpoints lists the app's endpoints through the API, as the admin key.
func apiEndpoints(h *hookdT, app string) []*hook.Endpoint {
	h.t.Helper()
	var page struct{ Data []*hook.Endpoint }
	h.call(adminKey, "GET", "/v1/apps/"+app+"/endpoints?limit=100", nil, http.StatusOK, &page)
	return page.Data
}

// apiHeaders reads the endpoint's header values through the API.
func apiHeaders(h *hookdT, app, ep string) map[string]string {
	h.t.Helper()
	var out struct{ Headers map[string]string }
	h.call(adminKey, "GET", "/v1/apps/"+app+"/endpoints/"+ep+"/headers", nil, http.StatusOK, &out)
	return out.Headers
}

// formFieldError returns the message shown next to the form's field,
// unescaped; "" when there is none.
func formFieldError(body, field string) string {
	msg := between(body, `id="`+field+`-error"`, "</p>")
	if msg == "" {
		return ""
	}
	return html.UnescapeString(msg[strings.Index(msg, ">")+1 : len(msg)-len("</p>")])
}

// fullForm is a create form with every field filled.
func fullForm(endpointURL string) url.Values {
	return url.Values{
		"url":               {endpointURL},
		"description":       {"Orders for the warehouse"},
		"uid":               {"warehouse"},
		"event_types":       {"order.created"},
		"event_types_extra": {"invoice.*, *.refunded"},
		"headers":           {"Authorization: Bearer s3cret:with:colons\r\nX-Tenant: 42\r\n"},
		"filter":            {`.data.total > 10`},
		"max_concurrency":   {"3"},
		"rate_limit":        {"2.5"},
		"ordering":          {"fifo"},
		"metadata":          {"team=payments\nowner=ann"},
	}
}

// TestEndpointFormCreate: the create form offers the catalog's types
// (not the archived ones) with their descriptions and says that none
// ticked means every type; submitted with every field, it creates the
// endpoint through the API, which stores each field as typed, and the
// browser goes to the endpoint's page.
func TestEndpointFormCreate(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop", "uid": "shop"}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "description": "An order was placed"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.legacy"}, http.StatusCreated, nil)
	h.call(adminKey, "DELETE", "/v1/event-types/order.legacy", nil, http.StatusNoContent, nil)
	c := sessionCookie(t, base, adminKey)

	resp, body := page(t, base, c, "GET", "/apps/shop/endpoints/new", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET new: %d\n%s", resp.StatusCode, body)
	}
	if box := between(body, `value="order.created"`, "</li>"); !strings.Contains(box, "An order was placed") {
		t.Errorf("no checkbox for order.created with its description:\n%s", between(body, `<fieldset class="types"`, "</fieldset>"))
	}
	if strings.Contains(body, "order.legacy") {
		t.Error("the form offers an archived type")
	}
	if !strings.Contains(body, "receives every type") {
		t.Error("the form does not say that no type ticked means every type")
	}

	resp, body = page(t, base, c, "POST", "/apps/shop/endpoints/new", fullForm("https://hooks.example.com/orders"))
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST new: %d, want 303\n%s", resp.StatusCode, body)
	}
	eps := apiEndpoints(h, app.ID)
	if len(eps) != 1 {
		t.Fatalf("%d endpoints after create, want 1", len(eps))
	}
	ep := eps[0]
	if want := "/apps/" + app.ID + "/endpoints/" + ep.ID + "?created=1"; resp.Header.Get("Location") != want {
		t.Errorf("redirect to %q, want %q", resp.Header.Get("Location"), want)
	}
	if ep.URL != "https://hooks.example.com/orders" || ep.Description != "Orders for the warehouse" || ep.UID != "warehouse" ||
		!slices.Equal(ep.EventTypes, []string{"order.created", "invoice.*", "*.refunded"}) || ep.Filter != ".data.total > 10" ||
		ep.MaxConcurrency != 3 || ep.RateLimit != 2.5 || ep.Ordering != hook.OrderingFIFO ||
		len(ep.Metadata) != 2 || ep.Metadata["team"] != "payments" || ep.Metadata["owner"] != "ann" {
		t.Errorf("stored endpoint %+v, not as typed", ep)
	}
	if hd := apiHeaders(h, app.ID, ep.ID); len(hd) != 2 || hd["Authorization"] != "Bearer s3cret:with:colons" || hd["X-Tenant"] != "42" {
		t.Errorf("stored headers %v, want Authorization and X-Tenant as typed", hd)
	}

	// Only a URL: every other field is the API's default.
	resp, _ = page(t, base, c, "POST", "/apps/shop/endpoints/new", url.Values{"url": {"https://hooks.example.com/all"}, "ordering": {"parallel"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST new with a URL only: %d, want 303", resp.StatusCode)
	}
	for _, ep := range apiEndpoints(h, app.ID) {
		if ep.URL == "https://hooks.example.com/all" && (len(ep.EventTypes) != 0 || ep.Ordering != "" || len(ep.Headers) != 0 || ep.UID != "") {
			t.Errorf("endpoint with a URL only: %+v, want every type, parallel, no headers, no uid", ep)
		}
	}
}

// TestEndpointFormRefused: what the API refuses (422; a uid taken, 409)
// and what the form cannot read (422, the API not called) are shown next
// to their fields, the form keeping what was typed; nothing is created.
func TestEndpointFormRefused(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://taken.example.com", "uid": "taken"}, http.StatusCreated, nil)
	c := sessionCookie(t, base, adminKey)

	for _, tc := range []struct {
		name   string
		change url.Values
		status int
		field  string
		want   string
	}{
		{"invalid URL", url.Values{"url": {"ftp://example.com/x"}}, 422, "url", "http"},
		{"bad filter", url.Values{"filter": {".data | |"}}, 422, "filter", ""},
		{"header line without a colon", url.Values{"headers": {"X-Tenant: 42\nBearer s3cret"}}, 422, "headers", "line 2 is not a header"},
		{"repeated header line", url.Values{"headers": {"X-Tenant: 42\nX-Tenant: 43"}}, 422, "headers", "line 2 repeats the header X-Tenant"},
		{"header the API refuses", url.Values{"headers": {"Host: evil.example.com"}}, 422, "headers", "Host: "},
		{"rate limit not a number", url.Values{"rate_limit": {"abc"}}, 422, "rate_limit", "must be a number"},
		{"rate limit NaN", url.Values{"rate_limit": {"NaN"}}, 422, "rate_limit", "must be a number"},
		{"rate limit too high", url.Values{"rate_limit": {"1e9"}}, 422, "rate_limit", ""},
		{"max concurrency not a whole number", url.Values{"max_concurrency": {"2.5"}}, 422, "max_concurrency", "whole number"},
		{"max concurrency negative", url.Values{"max_concurrency": {"-1"}}, 422, "max_concurrency", ""},
		{"bad pattern", url.Values{"event_types_extra": {"order.created, order..x"}}, 422, "event_types_extra", "order..x"},
		{"bad ticked type", url.Values{"event_types": {"no such type!"}}, 422, "event_types", "no such type!"},
		{"uid ep_", url.Values{"uid": {"ep_mine"}}, 422, "uid", ""},
		{"uid taken", url.Values{"uid": {"taken"}}, 409, "uid", "taken"},
		{"metadata line without =", url.Values{"metadata": {"team payments"}}, 422, "metadata", "line 1"},
	} {
		form := fullForm("https://hooks.example.com/orders")
		for k, v := range tc.change {
			form[k] = v
		}
		resp, body := page(t, base, c, "POST", "/apps/"+app.ID+"/endpoints/new", form)
		if resp.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.status)
			continue
		}
		if msg := formFieldError(body, tc.field); msg == "" || !strings.Contains(msg, tc.want) {
			t.Errorf("%s: message next to %s is %q, want one containing %q; form error %q", tc.name, tc.field, msg, tc.want, formFieldError(body, "form"))
		}
		if id := tc.field; id != "event_types" && !strings.Contains(between(body, `id="`+id+`"`, ">"), `aria-invalid="true"`) {
			t.Errorf("%s: the %s field is not marked invalid", tc.name, tc.field)
		}
		if resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: the form with the typed headers may be cached", tc.name)
		}
		// The form keeps what was typed.
		for _, k := range []string{"url", "description", "rate_limit", "uid"} {
			if want := `value="` + form.Get(k) + `"`; !strings.Contains(between(body, `id="`+k+`"`, ">"), want) {
				t.Errorf("%s: the form lost %s", tc.name, want)
			}
		}
		for _, k := range []string{"headers", "filter", "metadata"} {
			if want := ">" + template.HTMLEscapeString(form.Get(k)) + "</textarea>"; !strings.Contains(between(body, `id="`+k+`"`, "</textarea>"), want) {
				t.Errorf("%s: the form lost %s %q", tc.name, k, form.Get(k))
			}
		}
		if want := `value="` + template.HTMLEscapeString(form.Get("event_types_extra")) + `"`; tc.field != "event_types" && !strings.Contains(between(body, `id="event_types_extra"`, ">"), want) {
			t.Errorf("%s: the form lost the extra types %q", tc.name, form.Get("event_types_extra"))
		}
		if tc.field != "event_types" && !strings.Contains(between(body, `value="order.created"`, ">"), "checked") {
			t.Errorf("%s: the ticked type is no longer ticked", tc.name)
		}
	}
	if n := len(apiEndpoints(h, app.ID)); n != 1 {
		t.Errorf("%d endpoints after refused creates, want 1", n)
	}
}

// TestEndpointFormPrivateURL: with the SSRF guard on, a URL on a private
// network is refused with the API's message next to the URL field.
func TestEndpointFormPrivateURL(t *testing.T) {
	base := newGuardedDashboard(t)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	c := sessionCookie(t, base, adminKey)
	resp, body := page(t, base, c, "POST", "/apps/"+app.ID+"/endpoints/new", url.Values{"url": {"http://127.0.0.1:9/admin"}})
	if resp.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("private URL: %d, want 422", resp.StatusCode)
	}
	if msg := formFieldError(body, "url"); !strings.Contains(msg, "is not allowed") || !strings.Contains(msg, "127.0.0.1") {
		t.Errorf("message next to the URL: %q, want the API's refusal", msg)
	}
	if n := len(apiEndpoints(h, app.ID)); n != 0 {
		t.Errorf("%d endpoints, want none", n)
	}
}

// TestEndpointFormEdit: the edit form is filled from the endpoint, with
// its real header values (not the mask), its catalog types ticked and
// the others in the extra field; saved, the API has the changes, the
// header values are kept, and emptied fields are cleared.
func TestEndpointFormEdit(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.paid"}, http.StatusCreated, nil)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{
		"url": "https://old.example.com/hooks", "uid": "wh", "event_types": []string{"order.created", "legacy.*"},
		"headers": map[string]string{"Authorization": "Bearer s3cret"}, "filter": ".data.ok", "rate_limit": 5,
		"max_concurrency": 2, "ordering": "fifo", "metadata": map[string]string{"team": "payments"},
	}, http.StatusCreated, &ep)
	c := sessionCookie(t, base, adminKey)

	resp, body := page(t, base, c, "GET", "/apps/"+app.ID+"/endpoints/wh/edit", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET edit: %d\n%s", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Error("the edit form, with the header values, may be cached")
	}
	form := between(body, `<form method="post" action="/apps/`, "</form>")
	for _, want := range []string{
		`value="https://old.example.com/hooks"`, `value="wh"`, "Authorization: Bearer s3cret", ">.data.ok<", `value="5"`, `value="2"`,
		`value="legacy.*"`, "team=payments", `action="/apps/` + app.ID + `/endpoints/` + ep.ID + `/edit"`,
	} {
		if !strings.Contains(form, want) {
			t.Errorf("the edit form lacks %s", want)
		}
	}
	if strings.Contains(form, hook.HeaderValueMask) {
		t.Error("the edit form shows the masked header value")
	}
	if !strings.Contains(between(form, `value="order.created"`, ">"), "checked") || strings.Contains(between(form, `value="order.paid"`, ">"), "checked") {
		t.Error("order.created should be ticked, order.paid not")
	}
	if !strings.Contains(between(form, `id="ordering-fifo"`, ">"), "checked") {
		t.Error("FIFO is not checked")
	}

	// Save: a new URL and types; the headers as shown; the filter, the
	// limits and the uid emptied; parallel.
	resp, body = page(t, base, c, "POST", "/apps/"+app.ID+"/endpoints/"+ep.ID+"/edit", url.Values{
		"url": {"https://new.example.com/hooks"}, "description": {"moved"}, "uid": {""},
		"event_types": {"order.paid"}, "event_types_extra": {""},
		"headers": {"Authorization: Bearer s3cret\n"}, "filter": {""}, "max_concurrency": {""}, "rate_limit": {""},
		"ordering": {"parallel"}, "metadata": {"team=payments\nowner=ann"},
	})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("POST edit: %d, want 303\n%s", resp.StatusCode, body)
	}
	if want := "/apps/" + app.ID + "/endpoints/" + ep.ID + "?updated=1"; resp.Header.Get("Location") != want {
		t.Errorf("redirect to %q, want %q", resp.Header.Get("Location"), want)
	}
	var got hook.Endpoint
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, nil, http.StatusOK, &got)
	if got.URL != "https://new.example.com/hooks" || got.Description != "moved" || got.UID != "" ||
		!slices.Equal(got.EventTypes, []string{"order.paid"}) || got.Filter != "" || got.MaxConcurrency != 0 ||
		got.RateLimit != 0 || got.Ordering != "" || got.Metadata["owner"] != "ann" || got.Metadata["team"] != "payments" {
		t.Errorf("endpoint after edit: %+v", got)
	}
	if hd := apiHeaders(h, app.ID, ep.ID); hd["Authorization"] != "Bearer s3cret" || len(hd) != 1 {
		t.Errorf("headers after edit: %v, want the value kept", hd)
	}

	// A refusal keeps the form (and the endpoint) as they were.
	resp, body = page(t, base, c, "POST", "/apps/"+app.ID+"/endpoints/"+ep.ID+"/edit", url.Values{
		"url": {"not a url"}, "headers": {"Authorization: Bearer s3cret"}, "ordering": {"parallel"},
	})
	if resp.StatusCode != http.StatusUnprocessableEntity || formFieldError(body, "url") == "" || !strings.Contains(body, `value="not a url"`) {
		t.Errorf("edit with a bad URL: %d, message %q", resp.StatusCode, formFieldError(body, "url"))
	}
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, nil, http.StatusOK, &got)
	if got.URL != "https://new.example.com/hooks" {
		t.Errorf("a refused edit changed the URL to %q", got.URL)
	}
}

// TestEndpointFormKeepsMetadata: metadata the form cannot write as
// key=value lines is shown, not editable, and kept by a save.
func TestEndpointFormKeepsMetadata(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	var ep hook.Endpoint
	meta := map[string]string{"a=b": "c", "note": "two\nlines"}
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://x.example.com", "metadata": meta}, http.StatusCreated, &ep)
	c := sessionCookie(t, base, adminKey)
	_, body := page(t, base, c, "GET", "/apps/"+app.ID+"/endpoints/"+ep.ID+"/edit", nil)
	if strings.Contains(body, `id="metadata"`) || !strings.Contains(body, `name="metadata_kept" value="1"`) || !strings.Contains(body, "a=b") {
		t.Fatalf("metadata that cannot be lines: not shown kept\n%s", between(body, `id="metadata`, "</dl>"))
	}
	resp, _ := page(t, base, c, "POST", "/apps/"+app.ID+"/endpoints/"+ep.ID+"/edit", url.Values{"url": {"https://y.example.com"}, "metadata_kept": {"1"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save: %d", resp.StatusCode)
	}
	var got hook.Endpoint
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, nil, http.StatusOK, &got)
	if got.URL != "https://y.example.com" || len(got.Metadata) != 2 || got.Metadata["a=b"] != "c" || got.Metadata["note"] != "two\nlines" {
		t.Errorf("after save: %+v, want the metadata kept", got)
	}
}

// TestEndpointFormAppBound: a session of a key bound to an app cannot
// open the forms of another app nor create or edit there (the API's 403,
// as an error page); in its own app it can.
func TestEndpointFormAppBound(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var own, other hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Own"}, http.StatusCreated, &own)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Secret Other", "uid": "other"}, http.StatusCreated, &other)
	var otherEP hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+other.ID+"/endpoints", map[string]any{"url": "https://other.example.com"}, http.StatusCreated, &otherEP)
	var bound api.CreatedAPIKey
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "own key", "app": own.ID}, http.StatusCreated, &bound)
	c := sessionCookie(t, base, bound.Key)

	for _, req := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/apps/other/endpoints/new", nil},
		{"POST", "/apps/" + other.ID + "/endpoints/new", url.Values{"url": {"https://sneaky.example.com"}}},
		{"POST", "/apps/other/endpoints/new", url.Values{"url": {"https://sneaky.example.com"}, "rate_limit": {"abc"}}},
		{"GET", "/apps/" + other.ID + "/endpoints/" + otherEP.ID + "/edit", nil},
		{"POST", "/apps/" + other.ID + "/endpoints/" + otherEP.ID + "/edit", url.Values{"url": {"https://sneaky.example.com"}}},
	} {
		resp, body := page(t, base, c, req.method, req.path, req.form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "403") || strings.Contains(body, "Secret Other") {
			t.Errorf("%s %s as another app's key: %d, want a 403 error page", req.method, req.path, resp.StatusCode)
		}
	}
	if eps := apiEndpoints(h, other.ID); len(eps) != 1 || eps[0].URL != "https://other.example.com" {
		t.Errorf("the other app's endpoints: %+v, want its one, unchanged", eps)
	}
	resp, _ := page(t, base, c, "POST", "/apps/"+own.ID+"/endpoints/new", url.Values{"url": {"https://mine.example.com"}})
	if resp.StatusCode != http.StatusSeeOther || len(apiEndpoints(h, own.ID)) != 1 {
		t.Errorf("create in its own app: %d, want 303 and the endpoint", resp.StatusCode)
	}
}

// TestAppPageLinksEndpoints: the app page links to the create form and,
// from each endpoint's URL, to the endpoint's page.
func TestAppPageLinksEndpoints(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://x.example.com/h"}, http.StatusCreated, &ep)
	c := sessionCookie(t, base, adminKey)
	_, body := page(t, base, c, "GET", "/apps/"+app.ID, nil)
	if !regexp.MustCompile(`<a [^>]*href="/apps/` + app.ID + `/endpoints/new"[^>]*>Add endpoint</a>`).MatchString(body) {
		t.Error("the app page has no Add endpoint link")
	}
	if !strings.Contains(body, `<a href="/apps/`+app.ID+`/endpoints/`+ep.ID+`">https://x.example.com/h</a>`) {
		t.Errorf("the endpoint's URL does not link to its page:\n%s", rowOf(body, ep.ID))
	}
}

// TestBrowserCreateEndpoint: from the app page, "Add endpoint" opens the
// form; every label names a field that exists, and every field has one;
// ticking a catalog type by its label and pressing Enter in the URL
// field creates the endpoint, and the browser is on the endpoint's page.
func TestBrowserCreateEndpoint(t *testing.T) {
	h := startHookd(t)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	t.Cleanup(rcv.Close)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "description": "An order was placed"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.paid"}, http.StatusCreated, nil)

	ctx := newBrowser(t, 390, 844)
	signIn(t, ctx, h.base, adminKey)
	navigate(t, ctx, h.base+"/apps/"+app.ID)
	if status := responseOf(t, ctx, "click Add endpoint", chromedp.Click(chromedp.CSS(`a[href="/apps/`+app.ID+`/endpoints/new"]`))); status != http.StatusOK {
		t.Fatalf("Add endpoint: page status %d", status)
	}
	if got := text(t, ctx, "h1"); got != "Add an endpoint" {
		t.Fatalf("Add endpoint opened %q", got)
	}

	// Labels: each names an element that exists; each field has one.
	problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`(() => {
		const out = [];
		for (const l of document.querySelectorAll("main label")) {
			if (!l.htmlFor || !document.getElementById(l.htmlFor)) out.push("label without its field: " + l.textContent.trim());
		}
		for (const f of document.querySelectorAll("main input:not([type=hidden]), main textarea, main select")) {
			if (f.labels.length === 0) out.push("field without a label: " + (f.id || f.name));
		}
		return out;
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(problems) > 0 {
		t.Errorf("labels: %v", problems)
	}
	// Nothing is wider than the phone.
	if wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth`)); err != nil || wide {
		t.Errorf("the form is wider than 390 px (%v)", err)
	}

	// Tick order.created by its label, type the URL, press Enter.
	do(t, ctx, "tick order.created", chromedp.Click(chromedp.CSS(`label[for="`+boxID(t, ctx, "order.created")+`"]`)))
	status := responseOf(t, ctx, "type the URL and press Enter",
		chromedp.SendKeys(chromedp.ID("url"), rcv.URL+"/hooks\r"))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	eps := apiEndpoints(h, app.ID)
	if len(eps) != 1 {
		t.Fatalf("after submit (page status %d, at %s): %d endpoints, want 1", status, loc, len(eps))
	}
	if eps[0].URL != rcv.URL+"/hooks" || !slices.Equal(eps[0].EventTypes, []string{"order.created"}) {
		t.Errorf("endpoint %s with types %v, want %s with order.created", eps[0].URL, eps[0].EventTypes, rcv.URL+"/hooks")
	}
	if want := h.base + "/apps/" + app.ID + "/endpoints/" + eps[0].ID + "?created=1"; loc != want {
		t.Errorf("the browser is at %s, want the endpoint's page %s", loc, want)
	}
	if status != http.StatusOK {
		t.Errorf("the endpoint's page answered %d", status)
	}
	if got := text(t, ctx, "#endpoint-notice"); !strings.Contains(got, "created") {
		t.Errorf("the endpoint's page says %q, want that it was created", got)
	}
	if got := text(t, ctx, "h1"); !strings.Contains(got, rcv.URL+"/hooks") {
		t.Errorf("the endpoint's page is headed %q, want its URL", got)
	}
}

// boxID is the id of the checkbox for the event type.
func boxID(t *testing.T, ctx context.Context, name string) string {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	id, err := chromedp.Run(c, chromedp.Evaluate[string](`document.querySelector('input[name="event_types"][value="`+name+`"]').id`))
	if err != nil || id == "" {
		t.Fatalf("no checkbox for %s: %v", name, err)
	}
	return id
}
