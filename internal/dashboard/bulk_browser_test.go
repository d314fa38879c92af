package dashboard_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd/internal/hook"
)

// TestBrowserRetryAllFailed, at 390 px wide: from the app page's "Retry
// failed…" of an endpoint to its failed deliveries, narrowed by event
// type with the filter form; once the receiver is fixed, "Retry all failed
// matching these filters" retries exactly those, says how many, and they
// succeed; the others stay failed.
func TestBrowserRetryAllFailed(t *testing.T) {
	h := startHookd(t)
	f := newFailingApp(t, h)
	ctx := newBrowser(t, 390, 844)
	signIn(t, ctx, h.base, adminKey)

	navigate(t, ctx, h.base+"/apps/"+f.app.ID)
	responseOf(t, ctx, "open a's failed deliveries",
		chromedp.Click(chromedp.CSS(`a[href="/apps/`+f.app.ID+`/deliveries?status=failed&endpoint=`+f.a.ID+`"]`)))
	if n := count(t, ctx, `a.status.status-failed`); n != 3 {
		t.Errorf("a's failed deliveries: %d rows, want 3", n)
	}
	status := responseOf(t, ctx, "filter by event type",
		chromedp.SendKeys(chromedp.ID("event_type"), "order.*"),
		chromedp.Submit(chromedp.ID("event_type")))
	if status != http.StatusOK {
		t.Fatalf("filtered list: %d", status)
	}
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if u, err := url.Parse(loc); err != nil || u.Query().Get("status") != "failed" || u.Query().Get("endpoint") != f.a.ID || u.Query().Get("event_type") != "order.*" {
		t.Errorf("the filtered list's URL %s does not hold its filters", loc)
	}
	var orders []string // a's deliveries of the two order.created events
	for _, id := range f.byEndpoint[f.a.ID] {
		var d hook.Delivery
		h.call(adminKey, "GET", "/v1/apps/"+f.app.ID+"/deliveries/"+id, nil, http.StatusOK, &d)
		if d.EventType == "order.created" {
			orders = append(orders, id)
		}
	}
	if n := count(t, ctx, `a.status.status-failed`); n != len(orders) || n != 2 {
		t.Errorf("a's failed order.* deliveries: %d rows, want 2", n)
	}

	f.fixed.Store(true)
	responseOf(t, ctx, "retry all failed", chromedp.Click(chromedp.ID("retry-all")))
	if got := text(t, ctx, "#retried"); !strings.HasPrefix(got, "2 deliveries retried.") {
		t.Errorf("the notice: %q", got)
	}
	for _, id := range orders {
		h.waitDelivery(f.app.ID, id, hook.DeliverySucceeded)
	}
	for _, ids := range f.byEndpoint {
		for _, id := range ids {
			if n, st := f.attempts(h, id); !slices.Contains(orders, id) && (n != 1 || st != hook.DeliveryFailed) {
				t.Errorf("%s, not retried: %d attempts, %s; want 1, failed", id, n, st)
			}
		}
	}
	// The notice's link shows them, whatever their status: succeeded.
	responseOf(t, ctx, "see them", chromedp.Click(chromedp.CSS("#retried a")))
	if n := count(t, ctx, `a.status.status-succeeded`); n != 2 {
		t.Errorf("after the retry, the list shows %d succeeded, want 2", n)
	}
}

// TestBrowserCopyButtons: a copy button puts its text on the clipboard
// (read back with navigator.clipboard.readText, the page granted
// clipboard access) and says "Copied": the delivery's id on its page
// (data-copy), a new API key on the key-created page (data-copy-target).
func TestBrowserCopyButtons(t *testing.T) {
	h := startHookd(t)
	f := newFailingApp(t, h)
	ctx := newBrowser(t, 1280, 900)
	for _, name := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: name, AllowWithoutSanitization: true},
			Setting:    browser.PermissionSettingGranted, Origin: h.base,
		}); err != nil {
			t.Fatalf("grant %s: %v", name, err)
		}
	}
	signIn(t, ctx, h.base, adminKey)
	clipboard := func() string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.clipboard.readText()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("read the clipboard: %v", err)
		}
		return s
	}

	dlv := f.byEndpoint[f.a.ID][0]
	navigate(t, ctx, h.base+"/apps/"+f.app.ID+"/deliveries/"+dlv)
	if got := attr(t, ctx, "#copy-delivery-id", "aria-label"); got != "Copy delivery id" {
		t.Errorf("the copy button's label: %q", got)
	}
	do(t, ctx, "copy the delivery id",
		chromedp.Click(chromedp.ID("copy-delivery-id")),
		chromedp.WaitVisible(chromedp.CSS(`#copy-delivery-id[data-state="copied"]`)))
	if got := text(t, ctx, "#copy-status"); got != "Copied" {
		t.Errorf("the live region says %q, want Copied", got)
	}
	if got := clipboard(); got != dlv {
		t.Errorf("clipboard %q, want the delivery id %s", got, dlv)
	}

	navigate(t, ctx, h.base+"/keys")
	responseOf(t, ctx, "create a key",
		chromedp.SendKeys(chromedp.ID("name"), "copied key"),
		chromedp.Submit(chromedp.ID("name")))
	key := text(t, ctx, "#new-key")
	do(t, ctx, "copy the key",
		chromedp.Click(chromedp.ID("copy-new-key")),
		chromedp.WaitVisible(chromedp.CSS(`#copy-new-key[data-state="copied"]`)))
	if got := clipboard(); got != key || !strings.HasPrefix(key, "hk_") {
		t.Errorf("clipboard %q, want the new key %q", got, key)
	}
}

// count returns how many elements sel matches on the page.
func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+jsString(sel)+`).length`))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

// attr returns an attribute of the first element sel matches.
func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector(`+jsString(sel)+`).getAttribute(`+jsString(name)+`)`))
	if err != nil {
		t.Fatalf("%s's %s: %v", sel, name, err)
	}
	return v
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
