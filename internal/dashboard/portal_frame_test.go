package dashboard_test

import (
	"context"
	"fmt"
	"html"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/dashboard"
)

// The portal in a frame of a provider's page. hookd is at
// http://127.0.0.1:port; the provider's pages are at http://localhost:port,
// another site (sites are scheme and host: the ports do not count), so
// the portal is a third-party frame there, as on a provider's real
// domain. Its cookie (SameSite=None, Secure, Partitioned) is Secure over
// plain http only because Chromium counts localhost and loopback
// addresses as secure: a deployment serves the portal over https.

// embedder is a provider's page that frames a portal link.
type embedder struct {
	srv    *httptest.Server
	origin string
	// src is the address the page frames.
	src string
}

// newEmbedder listens on localhost (its origin known before hookd
// starts, so that hookd may be told to allow it) and serves a page with
// the portal in an iframe.
func newEmbedder(t *testing.T) *embedder {
	t.Helper()
	ln, err := net.Listen("tcp4", "localhost:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &embedder{origin: fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)}
	e.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><title>Provider settings</title><h1>Provider settings</h1>
<iframe id="portal" title="Webhooks" src="%s" width="1000" height="700"></iframe>`, html.EscapeString(e.src))
	})}}
	e.srv.Start()
	t.Cleanup(e.srv.Close)
	return e
}

// portalFrame waits for the iframe target showing a page of base and
// returns a context attached to it (a cross-site iframe runs in a
// process, and a target, of its own).
func portalFrame(t *testing.T, ctx context.Context, base string) (context.Context, target.ID) {
	t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, base+"/") {
				fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				// Attached by a first run without a timeout: the
				// attachment lasts as long as that run's context.
				if err := chromedp.Do(fctx); err != nil {
					t.Fatalf("attach to the frame: %v", err)
				}
				return fctx, info.TargetID
			}
		}
		if time.Now().After(deadline) {
			var seen []string
			for _, info := range infos {
				seen = append(seen, info.Type+" "+info.URL)
			}
			t.Fatalf("no iframe showing %s among the targets %q", base, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPortalBrowserInFrame(t *testing.T) {
	allowed, other := newEmbedder(t), newEmbedder(t)
	p := newPortalStack(t, allowed.origin)
	app := p.createApp("acme")
	token, _ := p.storeLink(app.ID, time.Hour, false)
	allowed.src = p.base + "/portal/" + token

	ctx := newBrowser(t, 1200, 900)
	navigate(t, ctx, allowed.origin)
	frame, frameID := portalFrame(t, ctx, p.base)
	if got := text(t, frame, "header.portal-top .brand"); got != "acme" {
		t.Errorf("framed portal's brand %q, want acme", got)
	}
	// Another page of the portal, inside the frame: it needs the session
	// cookie, set in the frame (a third-party context).
	do(t, frame, "open Deliveries in the frame",
		chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href$="/deliveries"]`)),
		chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"] a[href$="/deliveries"][aria-current="page"]`)))
	if h := text(t, frame, "main h1"); !strings.Contains(h, "Deliveries") {
		t.Errorf("frame after the click shows %q, want the deliveries page", h)
	}
	// A form posted inside the frame (same-origin to hookd, in a
	// cross-site frame): http.CrossOriginProtection accepts it, and the
	// cookie goes with it.
	do(t, frame, "add an endpoint in the frame",
		chromedp.Click(chromedp.CSS(`nav[aria-label="Main"] a[href="/apps/`+app.ID+`"]`)),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/apps/`+app.ID+`/endpoints/new"]`)),
		chromedp.Click(chromedp.CSS(`a[href="/apps/`+app.ID+`/endpoints/new"]`)),
		chromedp.WaitVisible(chromedp.ID("url")),
		chromedp.SetValue(chromedp.ID("url"), "https://hooks.example.com/in-frame"),
		chromedp.Click(chromedp.CSS(`form.endpoint-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.ID("endpoint-notice")))
	if got := text(t, frame, "#endpoint-url"); got != "https://hooks.example.com/in-frame" {
		t.Errorf("after the form in the frame: endpoint page of %q", got)
	}
	// The cookie is the frame's, partitioned under the provider's site.
	cookies, err := chromedp.CallBrowser(ctx, storage.GetCookies, storage.GetCookiesParams{})
	if err != nil {
		t.Fatal(err)
	}
	var partitioned bool
	for _, c := range cookies.Cookies {
		if c.Name == dashboard.PortalCookieName && c.PartitionKey != nil && strings.HasPrefix(c.PartitionKey.TopLevelSite, "http://localhost") {
			partitioned = true
		}
	}
	if !partitioned {
		t.Errorf("no %s cookie partitioned under http://localhost: %d cookies", dashboard.PortalCookieName, len(cookies.Cookies))
	}

	// A page on an origin that is not allowed: the browser refuses to
	// show the portal in its frame.
	token2, _ := p.storeLink(app.ID, time.Hour, false)
	other.src = p.base + "/portal/" + token2
	cctx, stopConsole := context.WithTimeout(ctx, stepTimeout)
	defer stopConsole()
	messages := chromedp.Console(cctx) // subscribed before the page loads
	navigate(t, ctx, other.origin)
	do(t, ctx, "provider page", chromedp.WaitVisible(chromedp.CSS("h1")))
	var refused bool
	for m, err := range messages {
		if err != nil {
			break
		}
		if s := m.String(); strings.Contains(s, "frame-ancestors 'self' "+allowed.origin) && strings.Contains(s, "blocked") {
			refused = true
			break
		}
	}
	if !refused {
		t.Errorf("no CSP error on %s's console: the browser did not refuse to frame the portal", other.origin)
	}
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, info := range infos {
		if info.Type == "iframe" && info.TargetID != frameID && strings.HasPrefix(info.URL, p.base+"/") {
			fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
			defer cancel()
			if err := chromedp.Do(fctx); err != nil {
				t.Fatal(err)
			}
			// The frame's document is the browser's error page, not the
			// portal.
			doc, err := chromedp.Run(fctx, chromedp.Evaluate[string](`location.href + (document.querySelector(".portal-top") ? " shows the portal" : "")`))
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(doc, "chrome-error:") || strings.Contains(doc, "portal") {
				t.Errorf("the frame on %s (%s) holds %q, want the browser's error page", other.origin, info.URL, doc)
			}
		}
	}
}
