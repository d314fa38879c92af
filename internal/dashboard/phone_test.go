package dashboard_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/hookd/hookd/internal/hook"
)

// pageProblems is run in a page: what makes it unusable on a phone or
// without a mouse. Each field must have a label and each button and link a
// name a screen reader can say; nothing may be wider than the screen.
const pageProblems = `(() => {
	const out = [];
	if (document.documentElement.scrollWidth > window.innerWidth) {
		let widest = "";
		for (const el of document.querySelectorAll("main *")) {
			const r = el.getBoundingClientRect();
			if (r.right > window.innerWidth + 1 && getComputedStyle(el).position !== "fixed") {
				widest = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (el.className ? "." + el.className : "");
			}
		}
		out.push("wider than the screen: " + document.documentElement.scrollWidth + " px (" + widest + ")");
	}
	for (const f of document.querySelectorAll("input:not([type=hidden]), textarea, select")) {
		if (f.labels.length === 0 && !f.getAttribute("aria-label") && !f.getAttribute("aria-labelledby")) {
			out.push("field without a label: " + (f.id || f.name));
		}
	}
	for (const l of document.querySelectorAll("label[for]")) {
		if (!document.getElementById(l.htmlFor)) out.push("label for a missing field: " + l.htmlFor);
	}
	for (const b of document.querySelectorAll("button, a[href]")) {
		const name = (b.getAttribute("aria-label") || b.textContent || "").trim();
		if (!name) out.push("nameless " + b.tagName.toLowerCase() + ": " + b.outerHTML.slice(0, 80));
		if (b.getAttribute("tabindex") === "-1") out.push("out of the tab order: " + b.outerHTML.slice(0, 80));
	}
	return out;
})()`

// TestBrowserEveryPageOnAPhone opens every page of the dashboard at a
// phone's 390 px and checks that none is wider than the screen, every
// field is labelled, every button and link has a name and is in the tab
// order, and the keyboard's first Tab lands on "Skip to content".
func TestBrowserEveryPageOnAPhone(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"a rather long error message from the receiver, without any space to break it: `+
			`aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}`)
	}))
	t.Cleanup(bad.Close)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme Shop with a long name that goes on", "uid": "acme"}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.created", "description": "An order was placed",
		"schema":  map[string]any{"type": "object", "properties": map[string]any{"id": map[string]any{"type": "string"}}},
		"example": map[string]any{"id": "ord_1"}}, http.StatusCreated, nil)
	var ep hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/acme/endpoints", map[string]any{"url": bad.URL + "/a/rather/long/path/to/the/webhooks/receiver/of/this/shop",
		"uid": "erp", "headers": map[string]string{"Authorization": "Bearer s3cret"}}, http.StatusCreated, &ep)
	var ev hook.Event
	h.call(adminKey, "POST", "/v1/apps/acme/events", map[string]any{"type": "order.created", "data": map[string]any{"id": "ord_1"}}, http.StatusAccepted, &ev)
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/acme/deliveries", nil, http.StatusOK, &dl)
	if len(dl.Data) != 1 {
		t.Fatalf("publish: %d deliveries, want 1", len(dl.Data))
	}
	dlv := dl.Data[0].ID
	h.waitDelivery(app.ID, dlv, hook.DeliveryFailed)

	ctx := newBrowser(t, 390, 844)
	signIn(t, ctx, h.base, adminKey)
	for _, path := range []string{
		"/",
		"/?range=24h",
		"/apps",
		"/apps/" + app.ID,
		"/apps/" + app.ID + "/deliveries",
		"/apps/" + app.ID + "/deliveries?status=failed",
		"/apps/" + app.ID + "/deliveries/" + dlv,
		"/apps/" + app.ID + "/events",
		"/apps/" + app.ID + "/events/" + ev.ID,
		"/apps/" + app.ID + "/endpoints/new",
		"/apps/" + app.ID + "/endpoints/" + ep.ID,
		"/apps/" + app.ID + "/endpoints/" + ep.ID + "/edit",
		"/event-types",
		"/event-types/order.created",
		"/keys",
		"/search?q=nothing_here",
	} {
		t.Run(path, func(t *testing.T) {
			navigate(t, ctx, h.base+path)
			problems, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](pageProblems))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				t.Error(p)
			}
			do(t, ctx, "press Tab", chromedp.KeyEvent(kb.Tab))
			skip, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(document.activeElement && document.activeElement.matches("a.skip[href='#main']"))`))
			if err != nil {
				t.Fatal(err)
			}
			if !skip {
				t.Error(`the first Tab does not land on "Skip to content"`)
			}
		})
	}
}
