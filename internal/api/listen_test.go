package api_test

import (
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/hookd/hookd/internal/hook"
)

// fakeListen stands for internal/listen's Hub: it records the endpoints
// it is asked to serve, and answers 204 instead of upgrading.
type fakeListen struct {
	mu      sync.Mutex
	served  []*hook.Endpoint
	resumed []bool
}

func (f *fakeListen) Serve(w http.ResponseWriter, _ *http.Request, ep *hook.Endpoint, resumed bool) {
	f.mu.Lock()
	f.served = append(f.served, ep)
	f.resumed = append(f.resumed, resumed)
	f.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeListen) last() (*hook.Endpoint, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.served) == 0 {
		return nil, false
	}
	return f.served[len(f.served)-1], f.resumed[len(f.resumed)-1]
}

func TestListenRoute(t *testing.T) {
	fl := &fakeListen{}
	e := newEnv(t, envOpts{listen: fl, maxEndpoints: 2})
	app := e.mkApp("Shop", "shop")
	ws := withHeader("Upgrade", "websocket")
	path := "/v1/apps/" + app.ID + "/listen"

	// Not a WebSocket handshake: 400, at the Upgrade header.
	wantProblem(t, e.call("GET", path, nil), http.StatusBadRequest, "header.Upgrade")
	// A pattern that is not one: 422 at query.events; nothing created.
	wantProblem(t, e.call("GET", path+"?events="+url.QueryEscape("order..x"), nil, ws), http.StatusUnprocessableEntity, "query.events[0]")
	wantProblem(t, e.call("GET", path+"?forward_to=ftp://x", nil, ws), http.StatusUnprocessableEntity, "query.forward_to")
	wantProblem(t, e.call("GET", path+"?resume=ep_x", nil, ws), http.StatusUnprocessableEntity, "header.Hookd-Listen-Secret")
	if n := e.count("/v1/apps/" + app.ID + "/endpoints"); n != 0 {
		t.Fatalf("%d endpoints after refused requests", n)
	}

	// A stream: a listen endpoint, as the CLI asked.
	r := e.call("GET", path+"?events="+url.QueryEscape("order.*,invoice.paid")+"&forward_to="+url.QueryEscape("http://localhost:3000/webhooks"), nil, ws)
	if r.Status != http.StatusNoContent {
		t.Fatalf("listen: %d %s", r.Status, r.Body)
	}
	ep, resumed := fl.last()
	if ep == nil || resumed || ep.Kind != hook.EndpointKindListen || ep.AppID != app.ID || ep.URL != "http://localhost:3000/webhooks" ||
		len(ep.EventTypes) != 2 || ep.EventTypes[0] != "order.*" || ep.Secret == "" {
		t.Fatalf("served %+v (resumed %v)", ep, resumed)
	}
	got := want[map[string]any](t, e.call("GET", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID, nil), http.StatusOK)
	if got["kind"] != "listen" {
		t.Fatalf("the API shows kind %v, want listen", got["kind"])
	}

	// Resume: only with the endpoint's secret, only a listen endpoint.
	wrong := withHeader("Hookd-Listen-Secret", hook.NewSecret())
	wantProblem(t, e.call("GET", path+"?resume="+ep.ID, nil, ws, wrong), http.StatusNotFound, "")
	r = e.call("GET", path+"?resume="+ep.ID, nil, ws, withHeader("Hookd-Listen-Secret", ep.Secret))
	if r.Status != http.StatusNoContent {
		t.Fatalf("resume: %d %s", r.Status, r.Body)
	}
	if again, resumed := fl.last(); again.ID != ep.ID || !resumed {
		t.Fatalf("resume served %s (resumed %v), want %s resumed", again.ID, resumed, ep.ID)
	}
	web := e.mkEndpoint(app.ID, map[string]any{})
	sec := want[map[string]any](t, e.call("GET", "/v1/apps/"+app.ID+"/endpoints/"+web["id"].(string)+"/secret", nil), http.StatusOK)
	wantProblem(t, e.call("GET", path+"?resume="+web["id"].(string), nil, ws, withHeader("Hookd-Listen-Secret", sec["secret"].(string))), http.StatusNotFound, "")
	if web["kind"] != "http" {
		t.Fatalf("a created endpoint's kind: %v, want http", web["kind"])
	}

	// A listen endpoint counts against the app's limit (2 here).
	wantProblem(t, e.call("GET", path, nil, ws), http.StatusConflict, "")

	// The create route does not make listen endpoints.
	wantProblem(t, e.call("POST", "/v1/apps/"+app.ID+"/endpoints", map[string]any{"url": "https://example.com/x", "kind": "listen"}), http.StatusUnprocessableEntity, "")
}

// TestListenRouteUnavailable: without a listen server, the route answers 503.
func TestListenRouteUnavailable(t *testing.T) {
	e := newEnv(t)
	app := e.mkApp("Shop", "")
	wantProblem(t, e.call("GET", "/v1/apps/"+app.ID+"/listen", nil, withHeader("Upgrade", "websocket")), http.StatusServiceUnavailable, "")
}
