package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/server"
)

const adminKey = "sk_dashboard_test_admin_key"

// hookdT is a hookd running for one test, on a fresh SQLite file.
type hookdT struct {
	t    *testing.T
	base string
}

// startHookd runs hookd (API, dispatcher and dashboard, as `hookd serve`
// does) until the test ends. Failed deliveries are not retried on a
// schedule: one failed attempt makes a delivery failed.
func startHookd(t *testing.T) *hookdT {
	t.Helper()
	return startHookdWith(t, func(*config.Config) {})
}

// startHookdWith runs hookd as startHookd does, with mod applied to its
// configuration.
func startHookdWith(t *testing.T, mod func(*config.Config)) *hookdT {
	t.Helper()
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = filepath.Join(t.TempDir(), "hookd.db")
	cfg.APIKey = adminKey
	cfg.AllowPrivateNetworks = true
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.RetrySchedule = hook.RetrySchedule{}
	mod(&cfg)
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- server.Run(ctx, server.Options{Config: cfg, Logger: slog.New(slog.DiscardHandler), Version: "test", Out: io.Discard, Ready: ready})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("server.Run: %v", err)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatal("hookd did not start")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("server.Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("hookd did not stop")
		}
	})
	return &hookdT{t: t, base: "http://" + addr}
}

// call makes an API request with key; the answer's body is decoded into
// out when out is not nil. It fails the test unless the status is want.
func (h *hookdT) call(key, method, path string, body any, want int, out any) {
	h.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			h.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, h.base+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
}

// waitDelivery polls the API until the delivery has the status (the
// dispatcher delivers in the background), within a generous bound.
func (h *hookdT) waitDelivery(app, dlv, status string) {
	h.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var d hook.Delivery
		h.call(adminKey, "GET", "/v1/apps/"+app+"/deliveries/"+dlv, nil, http.StatusOK, &d)
		if d.Status == status {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("delivery %s is %s, want %s", dlv, d.Status, status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// chromiumPath finds the browser: $HOOKD_TEST_CHROMIUM, else Debian's
// chromium. Without one the test skips, except in CI (CI=true), where it
// fails: CI installs chromium (.ci/run).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("HOOKD_TEST_CHROMIUM"), "/usr/bin/chromium", "chromium"} {
		if p == "" {
			continue
		}
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no Chromium found (/usr/bin/chromium or $HOOKD_TEST_CHROMIUM); CI must run the browser tests: apt-get install chromium")
	}
	t.Skip("no Chromium found (/usr/bin/chromium or $HOOKD_TEST_CHROMIUM): skipping the browser test; apt-get install chromium to run it")
	return ""
}

// newBrowser starts a headless Chromium with a fresh profile for the test
// (flags as docs say work on the project's machines) showing pages at
// width x height, and returns its context; it stops with the test.
func newBrowser(t *testing.T, width, height int) context.Context {
	t.Helper()
	path := chromiumPath(t)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser
		t.Fatalf("start Chromium: %v", err)
	}
	// A headless window is never narrower than 500 px, whatever
	// WindowSize says: a phone's 390 px must be emulated.
	do(t, ctx, "viewport", chromedp.EmulateViewport(int64(width), int64(height)))
	return ctx
}

// stepTimeout bounds one step of a browser test.
const stepTimeout = 30 * time.Second

// do runs browser steps, within stepTimeout.
func do(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// navigate loads a page and returns its HTTP status.
func navigate(t *testing.T, ctx context.Context, url string) int64 {
	t.Helper()
	return responseOf(t, ctx, "open "+url, chromedp.Navigate(url))
}

// responseOf runs steps that load a page and returns the page's status.
func responseOf(t *testing.T, ctx context.Context, what string, steps ...chromedp.Action[chromedp.Void]) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, steps...)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return resp.Status
}

// text returns the text of the first element sel matches (waiting for it).
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, stepTimeout)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// signIn signs the browser in with key and waits for the signed-in page.
func signIn(t *testing.T, ctx context.Context, base, key string) {
	t.Helper()
	navigate(t, ctx, base+"/signin")
	status := responseOf(t, ctx, "sign in",
		chromedp.SendKeys(chromedp.ID("key"), key),
		chromedp.Submit(chromedp.ID("key")))
	if status != http.StatusOK {
		t.Fatalf("sign in: page status %d", status)
	}
	do(t, ctx, "signed-in page", chromedp.WaitVisible(chromedp.CSS(`nav[aria-label="Main"]`)))
}
