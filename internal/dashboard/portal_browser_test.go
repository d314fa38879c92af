package dashboard_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/hook"
)

// portalLink makes a portal link for app through the API, as a provider
// does, and returns its token.
func (h *hookdT) portalLink(appID string, readOnly bool) string {
	h.t.Helper()
	var link struct {
		URL, Token string
		ReadOnly   bool `json:"read_only"`
	}
	h.call(adminKey, "POST", "/v1/apps/"+appID+"/portal-links", map[string]any{"read_only": readOnly}, http.StatusCreated, &link)
	if !strings.HasSuffix(link.URL, "/portal/"+link.Token) || link.ReadOnly != readOnly {
		h.t.Fatalf("portal link %+v", link)
	}
	return link.Token
}

// TestPortalBrowser: a customer opens the provider's portal link, adds an
// endpoint (to an httptest receiver) by ticking a type in the catalog's
// picker, sends it a test event and sees it delivered; by editing the
// address, it reaches nothing of another app.
func TestPortalBrowser(t *testing.T) {
	h := startHookd(t)
	rc := newReceiver(t, http.StatusOK)
	var app, other hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "acme-prod",
		"branding": map[string]any{"display_name": "Acme Webhooks", "accent_color": "#0f766e"}}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Globex Secret"}, http.StatusCreated, &other)
	var otherEP hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+other.ID+"/endpoints", map[string]any{"url": "https://globex.example.com/hooks"}, http.StatusCreated, &otherEP)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "description": "An order was placed",
		"example": map[string]any{"order": "ord_42"}}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "invoice.paid", "description": "An invoice was paid"}, http.StatusCreated, nil)
	token := h.portalLink(app.ID, false)

	ctx := newBrowser(t, 1280, 900)
	if status := navigate(t, ctx, h.base+"/portal/"+token); status != http.StatusOK {
		t.Fatalf("open the link: page status %d", status)
	}
	loc := evaluate[string](t, ctx, `location.href`)
	if loc != h.base+"/apps/"+app.ID {
		t.Errorf("the link opened %s, want the app's page (without the token)", loc)
	}
	if got := text(t, ctx, "header .brand"); got != "Acme Webhooks" {
		t.Errorf("the header shows %q, want the app's display name", got)
	}
	if accent := evaluate[string](t, ctx, `getComputedStyle(document.documentElement).getPropertyValue("--accent").trim()`); accent != "#0f766e" {
		t.Errorf("--accent is %q, want the app's accent #0f766e", accent)
	}
	if n := evaluate[int](t, ctx, `document.querySelectorAll('a[href="/keys"], a[href="/event-types"], a[href="/apps"], form[action="/search"], form[action="/signout"]').length`); n != 0 {
		t.Errorf("the portal shows %d links or forms of the operator dashboard", n)
	}

	// Add an endpoint from the picker: the catalog's types, described.
	if status := responseOf(t, ctx, "click Add endpoint", chromedp.Click(chromedp.CSS(`a[href="/apps/`+app.ID+`/endpoints/new"]`))); status != http.StatusOK {
		t.Fatalf("Add endpoint: page status %d", status)
	}
	if got := text(t, ctx, `label[for="`+boxID(t, ctx, "order.created")+`"]`); !strings.Contains(got, "An order was placed") {
		t.Errorf("the picker shows order.created as %q, want its description", got)
	}
	do(t, ctx, "tick order.created", chromedp.Click(chromedp.CSS(`label[for="`+boxID(t, ctx, "order.created")+`"]`)))
	if status := responseOf(t, ctx, "type the URL and press Enter", chromedp.SendKeys(chromedp.ID("url"), rc.URL+"/hooks\r")); status != http.StatusOK {
		t.Fatalf("create: page status %d", status)
	}
	if got := text(t, ctx, "#endpoint-notice"); !strings.Contains(got, "created") {
		t.Fatalf("after adding, the page says %q", got)
	}
	if got := text(t, ctx, "#endpoint-types"); got != "order.created" {
		t.Errorf("the endpoint receives %q, want order.created", got)
	}

	// Send a test event; it is delivered.
	do(t, ctx, "pick order.created", chromedp.SetValue(chromedp.ID("test-type"), "order.created"))
	if status := responseOf(t, ctx, "send the test event", chromedp.Click(chromedp.ID("send-test"))); status != http.StatusOK {
		t.Fatalf("send: page status %d", status)
	}
	if loc := evaluate[string](t, ctx, `location.pathname`); !strings.HasPrefix(loc, "/apps/"+app.ID+"/deliveries/dlv_") {
		t.Fatalf("after sending, the browser is at %s, want the delivery's page", loc)
	}
	do(t, ctx, "wait for the test delivery to succeed", chromedp.WaitVisible(chromedp.CSS(`#delivery-status.status-succeeded`)))
	if n := len(rc.received()); n != 1 {
		t.Errorf("the receiver got %d requests, want 1", n)
	}

	// Another app, by editing the address: a 404 page, nothing of it.
	for _, path := range []string{"/apps/" + other.ID, "/apps/" + other.ID + "/endpoints/" + otherEP.ID, "/apps/" + other.ID + "/deliveries", "/keys", "/"} {
		status := navigate(t, ctx, h.base+path)
		body := text(t, ctx, "body")
		if path == "/" {
			if status != http.StatusOK || !strings.Contains(body, "Acme Webhooks") {
				t.Errorf("%s: %d, want the portal's own app", path, status)
			}
			continue
		}
		if status != http.StatusNotFound {
			t.Errorf("%s: page status %d, want 404", path, status)
		}
		if strings.Contains(body, "Globex") || strings.Contains(body, "globex.example.com") {
			t.Errorf("%s shows the other app: %s", path, body)
		}
	}
}

// TestPortalBrowserReadOnly: a read-only link shows no control that
// changes anything, and a POST forced from its page is refused.
func TestPortalBrowserReadOnly(t *testing.T) {
	h := startHookd(t)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "acme"}, http.StatusCreated, &app)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://acme.example.com/hooks"}, http.StatusCreated, &ep)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created"}, http.StatusCreated, nil)
	token := h.portalLink(app.ID, true)

	ctx := newBrowser(t, 1280, 900)
	navigate(t, ctx, h.base+"/portal/"+token)
	epPath := "/apps/" + app.ID + "/endpoints/" + ep.ID
	for _, path := range []string{"/apps/" + app.ID, epPath, "/apps/" + app.ID + "/deliveries"} {
		if status := navigate(t, ctx, h.base+path); status != http.StatusOK {
			t.Fatalf("%s: page status %d", path, status)
		}
		controls := evaluate[[]string](t, ctx, `[...document.querySelectorAll('main form[method="post"], main a[href$="/edit"], main a[href$="/endpoints/new"]')].map(e => e.outerHTML.slice(0, 80))`)
		if len(controls) > 0 {
			t.Errorf("read-only %s shows change controls: %q", path, controls)
		}
		if got := text(t, ctx, "#read-only"); got != "read-only" {
			t.Errorf("read-only %s: header says %q", path, got)
		}
	}

	// Force a POST from the page (same origin, as a form would).
	navigate(t, ctx, h.base+epPath)
	status := responseOf(t, ctx, "forced POST", chromedp.Evaluate[chromedp.Void](`(() => {
		const f = document.createElement("form");
		f.method = "post"; f.action = "`+epPath+`/disable";
		document.body.append(f); f.submit();
	})()`), chromedp.WaitVisible(chromedp.CSS(".error-page")))
	if status != http.StatusForbidden {
		t.Errorf("forced POST: page status %d, want 403", status)
	}
	if got := text(t, ctx, ".error-page .detail"); !strings.Contains(got, "read-only") {
		t.Errorf("forced POST: the page says %q", got)
	}
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, nil, http.StatusOK, &ep)
	if ep.Disabled {
		t.Error("the read-only link disabled the endpoint")
	}
}

// TestPortalBrowserLinkEnded: an expired link, and a revoked one (opened
// before, or after), show the page that says so, with no sign-in form.
func TestPortalBrowserLinkEnded(t *testing.T) {
	gone := func(t *testing.T, ctx context.Context, what string) {
		t.Helper()
		if got := text(t, ctx, "main h1"); got != "This link has expired or was revoked" {
			t.Errorf("%s: the page is headed %q", what, got)
		}
		if n := evaluate[int](t, ctx, `document.querySelectorAll("input, form, a[href]:not(.skip)").length`); n != 0 {
			t.Errorf("%s: the page has %d forms, fields or links (to a sign-in form?)", what, n)
		}
	}

	t.Run("revoked", func(t *testing.T) {
		h := startHookd(t)
		var app hook.App
		h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "acme"}, http.StatusCreated, &app)
		token := h.portalLink(app.ID, false)
		ctx := newBrowser(t, 1280, 900)
		navigate(t, ctx, h.base+"/portal/"+token)
		h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/portal-links/revoke", nil, http.StatusOK, nil)
		// In use: its next page.
		status := responseOf(t, ctx, "click Deliveries", chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href$="/deliveries"]`)))
		if status != http.StatusUnauthorized {
			t.Errorf("next page after revoke: status %d, want 401", status)
		}
		gone(t, ctx, "next page after revoke")
		// Opened again.
		if status := navigate(t, ctx, h.base+"/portal/"+token); status != http.StatusGone {
			t.Errorf("revoked link: status %d, want 410", status)
		}
		gone(t, ctx, "revoked link")
	})

	t.Run("expired", func(t *testing.T) {
		p := newPortalStack(t)
		app := p.createApp("acme")
		token, _ := p.storeLink(app.ID, time.Hour, false)
		ctx := newBrowser(t, 1280, 900)
		navigate(t, ctx, p.base+"/portal/"+token)
		p.advance(time.Hour)
		if status := responseOf(t, ctx, "reload", chromedp.Reload()); status != http.StatusUnauthorized {
			t.Errorf("page after expiry: status %d, want 401", status)
		}
		gone(t, ctx, "page after expiry")
		if status := navigate(t, ctx, p.base+"/portal/"+token); status != http.StatusGone {
			t.Errorf("expired link: status %d, want 410", status)
		}
		gone(t, ctx, "expired link")
	})
}
