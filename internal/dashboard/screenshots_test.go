package dashboard_test

import (
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/coder/websocket"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/listen"
)

var screenshots = flag.String("screenshots", "", "write PNGs of the dashboard's pages, at 1280 and 390 px wide, to this directory (TestScreenshots)")

// TestScreenshots writes PNGs of the main pages at desktop and phone
// widths, for the README and for a look by eye:
//
//	go test ./internal/dashboard -run TestScreenshots -screenshots=../../docs/screenshots
//
// Without -screenshots it skips.
func TestScreenshots(t *testing.T) {
	if *screenshots == "" {
		t.Skip("pass -screenshots=DIR to write the dashboard's screenshots")
	}
	if err := os.MkdirAll(*screenshots, 0o755); err != nil {
		t.Fatal(err)
	}
	h := startHookd(t)
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, `{"received":true}`)
	}))
	t.Cleanup(ok.Close)
	bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"error":"orders database unavailable","request_id":"req_8c1f"}`)
	}))
	t.Cleanup(bad.Close)

	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme Shop", "uid": "acme"}, http.StatusCreated, &app)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Globex Billing", "uid": "globex"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Initech", "uid": "initech"}, http.StatusCreated, nil)
	h.call(adminKey, "POST", "/v1/apps/acme/endpoints", map[string]any{"url": ok.URL + "/webhooks/orders", "description": "Order sync", "event_types": []string{"order.*"}}, http.StatusCreated, nil)
	var badEP hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/acme/endpoints", map[string]any{"url": bad.URL + "/hooks/billing", "event_types": []string{"order.paid", "invoice.*"}}, http.StatusCreated, &badEP)
	h.call(adminKey, "POST", "/v1/event-types", map[string]any{"name": "order.paid", "description": "An order was paid",
		"example": map[string]any{"id": "ord_123", "total": 4990, "currency": "EUR"}}, http.StatusCreated, nil)
	for _, typ := range []string{"order.created", "order.paid", "invoice.finalized", "order.created"} {
		h.call(adminKey, "POST", "/v1/apps/acme/events", map[string]any{"type": typ, "data": map[string]any{"id": "ord_123"}}, http.StatusAccepted, nil)
	}
	var dl struct{ Data []hook.Delivery }
	h.call(adminKey, "GET", "/v1/apps/acme/deliveries?limit=50", nil, http.StatusOK, &dl)
	var failed string
	for _, d := range dl.Data {
		want := hook.DeliverySucceeded
		if d.EndpointID == badEP.ID {
			want, failed = hook.DeliveryFailed, d.ID
		}
		h.waitDelivery(app.ID, d.ID, want)
	}

	// The consumer portal's screenshots show acme branded.
	h.call(adminKey, "PATCH", "/v1/apps/acme", map[string]any{"branding": map[string]any{"display_name": "Acme Shop · Webhooks", "accent_color": "#0f766e"}}, http.StatusOK, nil)
	portal := h.portalLink(app.ID, false)

	// A developer's `hookd listen` stream: its temporary endpoint shows
	// in the app's list and on its own page with the listen badge.
	conn, _, err := websocket.Dial(t.Context(), h.base+"/v1/apps/"+app.ID+"/listen?events=order.refunded&forward_to=http://localhost:3000/webhooks",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + adminKey}}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseNow()
	_, b, err := conn.Read(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var hello listen.Message
	if err := json.Unmarshal(b, &hello); err != nil || hello.EndpointID == "" {
		t.Fatalf("hookd listen's hello: %s", b)
	}

	pages := []struct{ name, path string }{
		{"overview", "/"},
		{"apps", "/apps"},
		{"app", "/apps/" + app.ID},
		{"deliveries", "/apps/" + app.ID + "/deliveries"},
		{"delivery", "/apps/" + app.ID + "/deliveries/" + failed},
		{"endpoint", "/apps/" + app.ID + "/endpoints/" + badEP.ID},
		{"endpoint-new", "/apps/" + app.ID + "/endpoints/new"},
		{"endpoint-listen", "/apps/" + app.ID + "/endpoints/" + hello.EndpointID},
		{"events", "/apps/" + app.ID + "/events"},
		{"event-types", "/event-types"},
		{"event-type", "/event-types/order.paid"},
		{"keys", "/keys"},
	}
	for _, size := range []struct {
		name          string
		width, height int
	}{{"desktop", 1280, 900}, {"phone", 390, 844}} {
		ctx := newBrowser(t, size.width, size.height)
		shoot := func(name string) {
			t.Helper()
			png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(*screenshots, name+"-"+size.name+".png"), png, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		navigate(t, ctx, h.base+"/signin")
		shoot("signin")
		signIn(t, ctx, h.base, adminKey)
		for _, p := range pages {
			navigate(t, ctx, h.base+p.path)
			shoot(p.name)
		}
		navigate(t, ctx, h.base+"/portal/"+portal) // replaces the admin's session
		shoot("portal")
	}
}
