package dashboard_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/coder/websocket"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/listen"
)

// TestListenEndpointBadge: a `hookd listen` endpoint is marked as such in
// the app's endpoint list and on its page; an http endpoint is not.
func TestListenEndpointBadge(t *testing.T) {
	h := startHookd(t)
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Acme"}, http.StatusCreated, &app)
	var web hook.Endpoint
	h.call(adminKey, "POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://example.com/hook"}, http.StatusCreated, &web)

	conn, _, err := websocket.Dial(t.Context(), h.base+"/v1/apps/"+app.ID+"/listen?forward_to=http://localhost:3000/webhooks",
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
		t.Fatalf("hello: %s", b)
	}

	c := sessionCookie(t, h.base, adminKey)
	_, body := page(t, h.base, c, "GET", "/apps/"+app.ID, nil)
	rows := strings.Split(body, "<tr>")
	var listenRow, webRow string
	for _, r := range rows {
		switch {
		case strings.Contains(r, hello.EndpointID):
			listenRow = r
		case strings.Contains(r, web.ID):
			webRow = r
		}
	}
	if !strings.Contains(listenRow, `class="badge listen-badge"`) || !strings.Contains(listenRow, "http://localhost:3000/webhooks") {
		t.Errorf("the listen endpoint's row has no listen badge: %q", listenRow)
	}
	if webRow == "" || strings.Contains(webRow, "listen-badge") {
		t.Errorf("the http endpoint's row: %q", webRow)
	}
	_, body = page(t, h.base, c, "GET", "/apps/"+app.ID+"/endpoints/"+hello.EndpointID, nil)
	if !strings.Contains(body, `id="listen-badge"`) {
		t.Errorf("the listen endpoint's page has no listen badge")
	}
	_, body = page(t, h.base, c, "GET", "/apps/"+app.ID+"/endpoints/"+web.ID, nil)
	if strings.Contains(body, `id="listen-badge"`) {
		t.Errorf("the http endpoint's page has a listen badge")
	}
	_ = conn.Close(websocket.StatusNormalClosure, "")
}
