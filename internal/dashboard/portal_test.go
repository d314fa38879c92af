package dashboard_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// portalStack is the API and the dashboard on httptest, on a SQLite file
// the test also reaches (to make portal links of any expiry), with a
// clock the test moves.
type portalStack struct {
	*hookdT
	st store.Store
	mu sync.Mutex
	at time.Time
}

func (p *portalStack) now() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.at
}

// advance moves the clock on by d.
func (p *portalStack) advance(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.at = p.at.Add(d)
}

// frameOrigins are the origins the tests' portals may be framed by.
var frameOrigins = []string{"https://app.example.com", "http://localhost:1"}

// newPortalStack starts the stack; its portal may be framed by the
// origins given (frameOrigins when none).
func newPortalStack(t *testing.T, ancestors ...string) *portalStack {
	t.Helper()
	if len(ancestors) == 0 {
		ancestors = frameOrigins
	}
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	p := &portalStack{st: st, at: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	sum := sha256.Sum256([]byte(adminKey))
	if _, err := st.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "admin", Hash: sum[:], Now: p.now()}); err != nil {
		t.Fatal(err)
	}
	apiH, err := api.New(api.Config{Store: st, Dispatcher: noDispatch{}, Now: p.now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	dash, err := dashboard.New(dashboard.Config{API: apiH, Store: st, Now: p.now, Logger: slog.New(slog.DiscardHandler),
		PortalFrameAncestors: ancestors})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", apiH)
	mux.Handle("/", dash)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	p.hookdT = &hookdT{t: t, base: srv.URL}
	return p
}

// createApp creates an app through the API and returns it.
func (h *hookdT) createApp(name string) *hook.App {
	h.t.Helper()
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": name}, http.StatusCreated, &app)
	return &app
}

// storeLink makes a portal link's token for app, valid for ttl (through
// the store: any expiry, and no need for the API's route).
func (p *portalStack) storeLink(appID string, ttl time.Duration, readOnly bool) (token, keyID string) {
	p.t.Helper()
	token = api.PortalTokenPrefix + hook.NewID("test")
	sum := sha256.Sum256([]byte(token))
	exp := p.now().Add(ttl)
	k, err := p.st.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{
		ID: hook.NewID("key"), Name: "portal link", Hash: sum[:], AppID: appID, ExpiresAt: &exp,
		Portal: true, ReadOnly: readOnly, Now: p.now(),
	})
	if err != nil {
		p.t.Fatal(err)
	}
	return token, k.ID
}

// openLink opens a portal link without following the redirect.
func openLink(t *testing.T, base, token string) (*http.Response, string) {
	t.Helper()
	return page(t, base, &http.Cookie{Name: "unused", Value: "x"}, "GET", "/portal/"+token, nil)
}

// portalCookie returns the portal session's cookie of an answer.
func portalCookie(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == dashboard.PortalCookieName {
			return c
		}
	}
	t.Fatalf("%d: no %s cookie", resp.StatusCode, dashboard.PortalCookieName)
	return nil
}

func TestPortalLinkOpensSession(t *testing.T) {
	p := newPortalStack(t)
	app := p.createApp("acme")
	token, _ := p.storeLink(app.ID, 30*time.Minute, false)

	resp, _ := openLink(t, p.base, token)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("open link: %d, want 303", resp.StatusCode)
	}
	loc := resp.Header.Get("Location")
	if loc != "/apps/"+app.ID || strings.Contains(loc, token) {
		t.Errorf("open link: Location %q, want the app's page, without the token", loc)
	}
	c := portalCookie(t, resp)
	raw := strings.Join(resp.Header.Values("Set-Cookie"), "\n")
	for _, attr := range []string{"HttpOnly", "Secure", "SameSite=None", "Partitioned"} {
		if !strings.Contains(raw, attr) {
			t.Errorf("portal cookie lacks %s: %s", attr, raw)
		}
	}
	// The session ends with the link (30 min), not after the dashboard's
	// 12 h.
	if c.MaxAge > 30*60 || c.MaxAge <= 0 {
		t.Errorf("portal cookie Max-Age %d, want at most the link's 1800 s", c.MaxAge)
	}

	resp, body := page(t, p.base, c, "GET", loc, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("portal home: %d %s", resp.StatusCode, body)
	}
	csp := resp.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "frame-ancestors 'self' https://app.example.com http://localhost:1;") || !strings.Contains(csp, "img-src 'self' data: https:;") {
		t.Errorf("portal page CSP %q: want frame-ancestors of the setting and https images", csp)
	}
	if xfo := resp.Header.Get("X-Frame-Options"); xfo != "" {
		t.Errorf("portal page X-Frame-Options %q, want none", xfo)
	}
	for _, want := range []string{`class="top portal-top"`, ">acme</span>", `href="/apps/` + app.ID + `/deliveries"`, "Add endpoint"} {
		if !strings.Contains(body, want) {
			t.Errorf("portal home lacks %q", want)
		}
	}
	for _, not := range []string{`href="/keys"`, `href="/event-types"`, `action="/search"`, `href="/apps">`, "Sign in"} {
		if strings.Contains(body, not) {
			t.Errorf("portal home shows %q", not)
		}
	}

	// Every other page keeps refusing frames.
	resp, _ = page(t, p.base, &http.Cookie{Name: "x", Value: "y"}, "GET", "/signin", nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("sign-in page: CSP %q, X-Frame-Options %q; want frame-ancestors 'none' and DENY", csp, resp.Header.Get("X-Frame-Options"))
	}
	admin := sessionCookie(t, p.base, adminKey)
	resp, _ = page(t, p.base, admin, "GET", "/apps/"+app.ID, nil)
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("operator's app page: CSP %q, X-Frame-Options %q; want frame-ancestors 'none' and DENY", csp, resp.Header.Get("X-Frame-Options"))
	}
}

// assertGone checks the page of a link that no longer works.
func assertGone(t *testing.T, what string, resp *http.Response, body string) {
	t.Helper()
	if resp.StatusCode != http.StatusGone && resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("%s: %d, want 410 or 401", what, resp.StatusCode)
	}
	if !strings.Contains(body, "This link has expired or was revoked") || !strings.Contains(body, "Ask them for a new one") {
		t.Errorf("%s: the page does not say the link ended:\n%s", what, body)
	}
	if strings.Contains(body, `action="/signin"`) || strings.Contains(body, `id="key"`) {
		t.Errorf("%s: the page shows a sign-in form", what)
	}
}

func TestPortalLinkExpiredOrRevoked(t *testing.T) {
	p := newPortalStack(t)
	app := p.createApp("acme")

	resp, body := openLink(t, p.base, api.PortalTokenPrefix+"unknown")
	assertGone(t, "unknown link", resp, body)
	resp, body = openLink(t, p.base, "not-a-link")
	assertGone(t, "unknown link", resp, body)

	token, _ := p.storeLink(app.ID, time.Hour, false)
	c := portalCookie(t, func() *http.Response { r, _ := openLink(t, p.base, token); return r }())
	p.advance(time.Hour)
	resp, body = openLink(t, p.base, token)
	assertGone(t, "expired link", resp, body)
	if resp.StatusCode != http.StatusGone {
		t.Errorf("expired link: %d, want 410", resp.StatusCode)
	}
	// Its session ended with it.
	resp, body = page(t, p.base, c, "GET", "/apps/"+app.ID, nil)
	assertGone(t, "session of an expired link", resp, body)

	// Revoked while in use: the session's next page says so.
	token, keyID := p.storeLink(app.ID, time.Hour, false)
	resp, _ = openLink(t, p.base, token)
	c = portalCookie(t, resp)
	if resp, body := page(t, p.base, c, "GET", "/apps/"+app.ID, nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("portal home: %d %s", resp.StatusCode, body)
	}
	p.call(adminKey, "DELETE", "/v1/api-keys/"+keyID, nil, http.StatusNoContent, nil)
	resp, body = page(t, p.base, c, "GET", "/apps/"+app.ID, nil)
	assertGone(t, "session of a revoked link", resp, body)
	resp, body = openLink(t, p.base, token)
	assertGone(t, "revoked link", resp, body)

	// An app key is not a portal link.
	var created struct{ Key string }
	p.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "app key", "app": app.ID}, http.StatusCreated, &created)
	resp, body = openLink(t, p.base, created.Key)
	assertGone(t, "app key as a link", resp, body)
	// Even one that looks like a link's token.
	fake := api.PortalTokenPrefix + "app_key_not_portal"
	sum := sha256.Sum256([]byte(fake))
	if _, err := p.st.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "app key", Hash: sum[:], AppID: app.ID, Now: p.now()}); err != nil {
		t.Fatal(err)
	}
	resp, body = openLink(t, p.base, fake)
	assertGone(t, "app key with a link's prefix", resp, body)
}

func TestPortalScopedToItsApp(t *testing.T) {
	p := newPortalStack(t)
	a := p.createApp("acme")
	b := p.createApp("betacorp-secret-name")
	var epB hook.Endpoint
	p.call(adminKey, "POST", "/v1/apps/"+b.ID+"/endpoints", map[string]any{"url": "https://b.example.com/hook"}, http.StatusCreated, &epB)
	token, _ := p.storeLink(a.ID, time.Hour, false)
	resp, _ := openLink(t, p.base, token)
	c := portalCookie(t, resp)

	for path, want := range map[string]string{
		"/": "/apps/" + a.ID, "/apps": "/apps/" + a.ID, "/deliveries": "/apps/" + a.ID + "/deliveries",
	} {
		resp, _ := page(t, p.base, c, "GET", path, nil)
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("GET %s: %d to %q, want 303 to %s", path, resp.StatusCode, resp.Header.Get("Location"), want)
		}
	}
	for _, path := range []string{
		"/keys", "/event-types", "/event-types/x", "/search?q=" + b.ID,
		"/apps/" + b.ID, "/apps/" + b.ID + "/deliveries", "/apps/" + b.ID + "/events",
		"/apps/" + b.ID + "/endpoints/" + epB.ID, "/apps/" + b.ID + "/endpoints/new",
		"/apps/" + b.Name,
	} {
		resp, body := page(t, p.base, c, "GET", path, nil)
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
		if strings.Contains(body, b.Name) || strings.Contains(body, "b.example.com") {
			t.Errorf("GET %s shows app B", path)
		}
	}
	// By uid: its own app's pages open; another app's uid is no page.
	p.call(adminKey, "PATCH", "/v1/apps/"+a.ID, map[string]any{"uid": "acme-uid"}, http.StatusOK, nil)
	p.call(adminKey, "PATCH", "/v1/apps/"+b.ID, map[string]any{"uid": "beta-uid"}, http.StatusOK, nil)
	if resp, _ := page(t, p.base, c, "GET", "/apps/acme-uid/deliveries", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("GET its own app by uid: %d, want 200", resp.StatusCode)
	}
	if resp, body := page(t, p.base, c, "GET", "/apps/beta-uid", nil); resp.StatusCode != http.StatusNotFound || strings.Contains(body, b.Name) {
		t.Errorf("GET another app by uid: %d (shows it: %v), want 404", resp.StatusCode, strings.Contains(body, b.Name))
	}
	for _, path := range []string{"/apps/" + b.ID + "/endpoints/" + epB.ID + "/disable", "/keys", "/event-types"} {
		resp, _ := page(t, p.base, c, "POST", path, map[string][]string{"name": {"x"}})
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", path, resp.StatusCode)
		}
	}
	var ep hook.Endpoint
	p.call(adminKey, "GET", "/v1/apps/"+b.ID+"/endpoints/"+epB.ID, nil, http.StatusOK, &ep)
	if ep.Disabled {
		t.Error("app B's endpoint was disabled through app A's portal")
	}
}

func TestPortalReadOnly(t *testing.T) {
	p := newPortalStack(t)
	app := p.createApp("acme")
	var ep hook.Endpoint
	p.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://acme.example.com/hook"}, http.StatusCreated, &ep)
	token, _ := p.storeLink(app.ID, time.Hour, true)
	resp, _ := openLink(t, p.base, token)
	c := portalCookie(t, resp)

	epPath := "/apps/" + app.ID + "/endpoints/" + ep.ID
	for _, path := range []string{"/apps/" + app.ID, epPath, "/apps/" + app.ID + "/deliveries", "/apps/" + app.ID + "/events"} {
		resp, body := page(t, p.base, c, "GET", path, nil)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, resp.StatusCode, body)
		}
		for _, not := range []string{`method="post"`, "Add endpoint", `/edit"`, "Rotate", "Reveal secret", "Send test event", "Retry"} {
			if strings.Contains(body, not) {
				t.Errorf("read-only GET %s shows %q", path, not)
			}
		}
		if !strings.Contains(body, `id="read-only"`) {
			t.Errorf("read-only GET %s does not say it is read-only", path)
		}
	}
	for _, path := range []string{"/apps/" + app.ID + "/endpoints/new", epPath + "/edit"} {
		if resp, _ := page(t, p.base, c, "GET", path, nil); resp.StatusCode != http.StatusForbidden {
			t.Errorf("read-only GET %s: %d, want 403", path, resp.StatusCode)
		}
	}
	for _, path := range []string{epPath + "/disable", epPath + "/delete", epPath + "/secret/rotate", epPath + "/secret", "/apps/" + app.ID + "/endpoints/new"} {
		resp, body := page(t, p.base, c, "POST", path, map[string][]string{"url": {"https://x.example.com"}})
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "This link is read-only") {
			t.Errorf("read-only POST %s: %d, want 403 saying it is read-only", path, resp.StatusCode)
		}
	}
	p.call(adminKey, "GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, nil, http.StatusOK, &ep)
	if ep.Disabled {
		t.Error("a read-only link disabled the endpoint")
	}
}

// TestPortalBranding: the header shows the app's display name and logo,
// and its stylesheet sets the accent; an app without branding shows its
// name and has no stylesheet of its own.
func TestPortalBranding(t *testing.T) {
	p := newPortalStack(t)
	app := p.createApp("acme-prod")
	token, _ := p.storeLink(app.ID, time.Hour, false)
	resp, _ := openLink(t, p.base, token)
	c := portalCookie(t, resp)
	_, body := page(t, p.base, c, "GET", "/apps/"+app.ID, nil)
	if !strings.Contains(body, "<span>acme-prod</span>") || strings.Contains(body, "brand-logo") || strings.Contains(body, "/portal/theme.css") {
		t.Errorf("unbranded portal's header:\n%s", body)
	}

	p.call(adminKey, "PATCH", "/v1/apps/"+app.ID, map[string]any{"branding": map[string]any{
		"display_name": "Acme <Webhooks>", "logo_url": "https://cdn.example.com/logo.png", "accent_color": "#0F766E"}}, http.StatusOK, nil)
	_, body = page(t, p.base, c, "GET", "/apps/"+app.ID+"/deliveries", nil)
	for _, want := range []string{
		`<img class="brand-logo" src="https://cdn.example.com/logo.png" alt=""`,
		"<span>Acme &lt;Webhooks&gt;</span>",
		`<link rel="stylesheet" href="/portal/theme.css?accent=0F766E">`,
		`href="/apps/` + app.ID + `/deliveries" aria-current="page"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("branded portal's page lacks %s", want)
		}
	}
	resp, css := page(t, p.base, c, "GET", "/portal/theme.css?accent=0F766E", nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/css") || !strings.Contains(css, "--accent: #0F766E;") {
		t.Errorf("theme.css: %d %s %q", resp.StatusCode, resp.Header.Get("Content-Type"), css)
	}
	// Not for anyone else.
	if resp, _ := page(t, p.base, &http.Cookie{Name: "x", Value: "y"}, "GET", "/portal/theme.css", nil); resp.StatusCode == http.StatusOK {
		t.Errorf("theme.css without a session: %d", resp.StatusCode)
	}
}
