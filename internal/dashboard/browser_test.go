package dashboard_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
)

// The browser tests drive Debian's Chromium, headless, one at a time
// (never t.Parallel: the machines have two cores).

// TestBrowserSignIn: a wrong key shows the form again with its error
// (401); the right one signs in, with a session cookie that is HttpOnly,
// SameSite=Lax, for the whole site, and expires in 12 h; pages carry the
// CSP, and htmx runs under it; sign out ends the session.
func TestBrowserSignIn(t *testing.T) {
	h := startHookd(t)
	ctx := newBrowser(t, 1280, 900)

	navigate(t, ctx, h.base+"/")
	if got := text(t, ctx, "h1"); got != "Sign in to hookd" {
		t.Fatalf("/ without a session shows %q, want the sign-in page", got)
	}
	status := responseOf(t, ctx, "sign in with a wrong key",
		chromedp.SendKeys(chromedp.ID("key"), "sk_not_a_key"),
		chromedp.Submit(chromedp.ID("key")))
	if status != http.StatusUnauthorized {
		t.Errorf("wrong key: page status %d, want 401", status)
	}
	if got := text(t, ctx, "#key-error"); !strings.Contains(got, "not valid") {
		t.Errorf("wrong key: error %q, want it to say the key is not valid", got)
	}

	before := time.Now()
	signIn(t, ctx, h.base, adminKey)
	if got := text(t, ctx, ".who"); !strings.Contains(got, "admin") {
		t.Errorf("signed in as %q, want the admin key's name and scope", got)
	}
	cookies, err := chromedp.Call(ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{h.base}})
	if err != nil {
		t.Fatal(err)
	}
	var c *network.Cookie
	for _, k := range cookies.Cookies {
		if k.Name == dashboard.CookieName {
			c = k
		}
	}
	if c == nil {
		t.Fatalf("no %s cookie after sign-in: %+v", dashboard.CookieName, cookies.Cookies)
	}
	if !c.HTTPOnly || c.SameSite != network.CookieSameSiteLax || c.Path != "/" || c.Session || c.Secure {
		t.Errorf("cookie: HttpOnly %v, SameSite %q, Path %q, session-only %v, Secure %v; want HttpOnly, Lax, /, an expiry, not Secure over http",
			c.HTTPOnly, c.SameSite, c.Path, c.Session, c.Secure)
	}
	exp := time.Unix(int64(c.Expires), 0)
	if want := before.Add(dashboard.DefaultSessionTTL); exp.Before(want.Add(-time.Minute)) || exp.After(want.Add(time.Minute)) {
		t.Errorf("cookie expires %v, want about %v", exp, want)
	}

	// htmx loaded and runs under the CSP (a script it refused would not).
	typ, err := chromedp.Run(ctx, chromedp.Evaluate[string]("typeof htmx"))
	if err != nil || typ != "object" {
		t.Errorf("typeof htmx: %q %v, want object", typ, err)
	}
	for _, path := range []string{"/", "/signin", "/apps", "/static/dashboard.css"} {
		resp, err := http.Get(h.base + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Content-Security-Policy"); got != dashboard.ContentSecurityPolicy {
			t.Errorf("GET %s: CSP %q", path, got)
		}
		if resp.Header.Get("X-Frame-Options") != "DENY" || resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Referrer-Policy") != "same-origin" {
			t.Errorf("GET %s: framing/sniffing/referrer headers %v", path, resp.Header)
		}
	}

	// Sign out: back to the sign-in page, and the old cookie opens nothing.
	do(t, ctx, "sign out", chromedp.Click(chromedp.CSS(".signout button")), chromedp.WaitVisible(chromedp.ID("key")))
	req, _ := http.NewRequest("GET", h.base+"/apps", nil)
	req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: c.Value})
	resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
		t.Errorf("the signed-out cookie: %d %s, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
	}
}

// TestBrowserRetry: a delivery to a receiver that answers 500 shows as
// failed, its attempt with the receiver's body; once the receiver is
// fixed, the Retry button delivers it and the page shows it succeeded.
// With the endpoint disabled, Retry shows the API's 409.
func TestBrowserRetry(t *testing.T) {
	h := startHookd(t)
	var fixed atomic.Bool
	release := make(chan struct{}) // a fixed receiver answers once it is closed
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if !fixed.Load() {
			w.WriteHeader(http.StatusInternalServerError)
			_, _ = io.WriteString(w, "boom: the orders database is down")
			return
		}
		<-release
		_, _ = io.WriteString(w, "thanks")
	}))
	t.Cleanup(rcv.Close)
	t.Cleanup(func() {
		select {
		case <-release:
		default:
			close(release)
		}
	})

	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": rcv.URL + "/hooks"}, http.StatusCreated, &ep)
	var ev struct {
		Deliveries []struct {
			ID string `json:"id"`
		} `json:"deliveries"`
		ID string `json:"id"`
	}
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/events", map[string]any{"type": "order.created", "data": map[string]any{"id": 1}}, http.StatusAccepted, &ev)
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/"+app.ID+"/deliveries", nil, http.StatusOK, &dl)
	if len(dl.Data) != 1 {
		t.Fatalf("deliveries: %+v", dl.Data)
	}
	dlv := dl.Data[0].ID
	h.waitDelivery(app.ID, dlv, hook.DeliveryFailed)

	ctx := newBrowser(t, 1280, 900)
	signIn(t, ctx, h.base, adminKey)
	// From the apps list to the app, and by its link to the delivery.
	navigate(t, ctx, h.base+"/apps")
	responseOf(t, ctx, "open the app", chromedp.Click(chromedp.CSS(`a[href="/apps/`+app.ID+`"]`)))
	if got := text(t, ctx, "td.url"); got != rcv.URL+"/hooks" {
		t.Errorf("app page's endpoint: %q", got)
	}
	responseOf(t, ctx, "open the delivery", chromedp.Click(chromedp.CSS(`a[href="/apps/`+app.ID+`/deliveries/`+dlv+`"]`)))
	if got := text(t, ctx, "#delivery-status"); got != "failed" {
		t.Errorf("delivery status %q, want failed", got)
	}
	if got := text(t, ctx, ".attempt .status"); got != "HTTP 500" {
		t.Errorf("attempt status %q, want HTTP 500", got)
	}
	if got := text(t, ctx, ".attempt pre.body"); got != "boom: the orders database is down" {
		t.Errorf("attempt response body %q", got)
	}

	fixed.Store(true)
	responseOf(t, ctx, "retry", chromedp.Click(chromedp.ID("retry")))
	if got := text(t, ctx, "#delivery-status"); got != "retrying" {
		t.Errorf("just retried (the receiver has not answered yet): status %q, want retrying", got)
	}
	close(release)
	// The page polls (htmx) until the new attempt lands.
	do(t, ctx, "wait for the retried delivery to succeed",
		chromedp.WaitVisible(chromedp.CSS(`#delivery-status.status-succeeded`)))
	if got := text(t, ctx, ".attempt:last-child .status"); got != "HTTP 200" {
		t.Errorf("the new attempt: %q, want HTTP 200", got)
	}
	if got := text(t, ctx, ".attempt:last-child .attempt-head"); !strings.Contains(got, "manual retry") {
		t.Errorf("the new attempt: %q, want it marked a manual retry", got)
	}

	// A disabled endpoint's delivery cannot be retried: the API's 409,
	// on the page, next to the button.
	h.call(adminKey, "PATCH", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, map[string]any{"disabled": true}, http.StatusOK, nil)
	status := responseOf(t, ctx, "retry with the endpoint disabled", chromedp.Click(chromedp.ID("retry")))
	if status != http.StatusConflict {
		t.Errorf("retry of a disabled endpoint's delivery: page status %d, want 409", status)
	}
	if got := text(t, ctx, "#retry-error"); !strings.Contains(got, "disabled") {
		t.Errorf("retry error %q, want it to say the endpoint is disabled", got)
	}
}

// TestBrowserAppScope: a session of a key bound to an app sees its app;
// another app's pages, by typed URL or by a link, answer 403 and show
// nothing of it.
func TestBrowserAppScope(t *testing.T) {
	h := startHookd(t)
	var own, other hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Own", "uid": "own"}, http.StatusCreated, &own)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Secret Other", "uid": "other"}, http.StatusCreated, &other)
	var key struct {
		Key string `json:"key"`
	}
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "own's key", "app": own.ID}, http.StatusCreated, &key)

	ctx := newBrowser(t, 1280, 900)
	signIn(t, ctx, h.base, key.Key)
	// Apps goes straight to its own app.
	if status := navigate(t, ctx, h.base+"/apps"); status != http.StatusOK {
		t.Fatalf("/apps: %d", status)
	}
	if got := text(t, ctx, "h1"); got != "Own" {
		t.Errorf("/apps for an app key shows %q, want its app", got)
	}
	for _, path := range []string{
		"/apps/" + other.ID, "/apps/other", "/apps/" + other.ID + "/deliveries",
		"/apps/" + other.ID + "/deliveries/" + hook.NewID("dlv"),
	} {
		if status := navigate(t, ctx, h.base+path); status != http.StatusForbidden {
			t.Errorf("typed %s: %d, want 403", path, status)
		}
		body := text(t, ctx, "main")
		if strings.Contains(body, "Secret Other") || !strings.Contains(body, "another app") {
			t.Errorf("typed %s shows %q", path, body)
		}
	}
	// A link from elsewhere (a page of another site) to the other app.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><a id="go" href="%s/apps/%s">look</a>`, h.base, other.ID)
	}))
	t.Cleanup(evil.Close)
	navigate(t, ctx, strings.Replace(evil.URL, "127.0.0.1", "localhost", 1))
	if status := responseOf(t, ctx, "follow the link", chromedp.Click(chromedp.ID("go"))); status != http.StatusForbidden {
		t.Errorf("linked other app: %d, want 403", status)
	}
	// Its own app still opens.
	if status := navigate(t, ctx, h.base+"/apps/"+own.ID); status != http.StatusOK {
		t.Errorf("own app: %d", status)
	}
}

// TestBrowserCrossOriginPost: a form on another site that posts to the
// dashboard (sign-out, or a retry) is refused with 403, and the session
// is still there.
func TestBrowserCrossOriginPost(t *testing.T) {
	h := startHookd(t)
	ctx := newBrowser(t, 1280, 900)
	signIn(t, ctx, h.base, adminKey)
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/signout"><button id="go">win a prize</button></form>`, h.base)
	}))
	t.Cleanup(evil.Close)
	// localhost and 127.0.0.1 are different sites to the browser.
	navigate(t, ctx, strings.Replace(evil.URL, "127.0.0.1", "localhost", 1))
	if status := responseOf(t, ctx, "cross-site form post", chromedp.Click(chromedp.ID("go"))); status != http.StatusForbidden {
		t.Errorf("cross-site POST /signout: %d, want 403", status)
	}
	if got := text(t, ctx, "main"); !strings.Contains(got, "another site") {
		t.Errorf("refusal page: %q", got)
	}
	// Still signed in.
	navigate(t, ctx, h.base+"/apps")
	if got := text(t, ctx, "h1"); got != "Apps" {
		t.Errorf("after the refused sign-out, /apps shows %q", got)
	}
}
