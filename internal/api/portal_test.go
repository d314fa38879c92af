package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/store"
)

// portalLinkJSON is the answer of create-portal-link.
type portalLinkJSON struct {
	URL       string    `json:"url"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	ReadOnly  bool      `json:"read_only"`
}

// mkPortalLink creates a portal link for app with the admin key.
func (e *env) mkPortalLink(app string, body map[string]any) portalLinkJSON {
	e.t.Helper()
	var b any
	if body != nil {
		b = body
	}
	return want[portalLinkJSON](e.t, e.call("POST", "/v1/apps/"+app+"/portal-links", b), http.StatusCreated)
}

// TestPortalLinkCreate: an admin key or the app's key creates a link,
// whose token is shown once, works as a bearer key until expires_at and
// names the portal's URL; the request is checked field by field.
func TestPortalLinkCreate(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now().UTC())
	e := newEnv(t, envOpts{now: clk.Now})
	acme := e.mkApp("Acme", "acme")
	e.mkApp("Other", "other")
	const appKey, otherKey = "sk_test_acme_key", "sk_test_other_key"
	e.addKey(appKey, acme.ID)
	e.addKey(otherKey, want[appJSON](t, e.call("GET", "/v1/apps/other", nil), http.StatusOK).ID)

	// No body: the defaults (1 h, not read-only); the URL is this
	// request's host, over http.
	l := e.mkPortalLink("acme", nil)
	if !strings.HasPrefix(l.Token, api.PortalTokenPrefix) || len(l.Token) != len(api.PortalTokenPrefix)+43 {
		t.Errorf("token %q, want %s and 43 base64url characters", l.Token, api.PortalTokenPrefix)
	}
	if want := e.srv.URL + "/portal/" + l.Token; l.URL != want {
		t.Errorf("url %q, want %q", l.URL, want)
	}
	if want := clk.Now().Add(time.Hour).Truncate(time.Millisecond); !l.ExpiresAt.Equal(want) || l.ReadOnly {
		t.Errorf("link %+v, want expires_at %v and not read-only", l, want)
	}

	// The app's key may create one too, read-only, for 60 s; by uid or id.
	ro := want[portalLinkJSON](t, e.call("POST", "/v1/apps/"+acme.ID+"/portal-links",
		map[string]any{"expires_in": 60, "read_only": true}, withKey(appKey)), http.StatusCreated)
	if !ro.ReadOnly || !ro.ExpiresAt.Equal(clk.Now().Add(time.Minute).Truncate(time.Millisecond)) || ro.Token == l.Token {
		t.Errorf("read-only link %+v", ro)
	}
	week := e.mkPortalLink("acme", map[string]any{"expires_in": 604800})
	if !week.ExpiresAt.Equal(clk.Now().Add(7 * 24 * time.Hour).Truncate(time.Millisecond)) {
		t.Errorf("7-day link expires at %v", week.ExpiresAt)
	}

	// Refused: another app's key, a portal token, bad bodies, an unknown app.
	wantProblem(t, e.call("POST", "/v1/apps/acme/portal-links", nil, withKey(otherKey)), http.StatusForbidden, "")
	p := wantProblem(t, e.call("POST", "/v1/apps/acme/portal-links", nil, withKey(l.Token)), http.StatusForbidden, "")
	if !strings.Contains(p.Detail, "a portal link cannot create a consumer portal link") {
		t.Errorf("portal token creating a link: %q", p.Detail)
	}
	for _, bad := range []any{59, 604801, 0, -1, "3600", 1.5} {
		wantProblem(t, e.call("POST", "/v1/apps/acme/portal-links", map[string]any{"expires_in": bad}),
			http.StatusUnprocessableEntity, "body.expires_in")
	}
	wantProblem(t, e.call("POST", "/v1/apps/acme/portal-links", map[string]any{"read_only": "yes"}),
		http.StatusUnprocessableEntity, "body.read_only")
	wantProblem(t, e.call("POST", "/v1/apps/nope/portal-links", nil), http.StatusNotFound, "")

	// The token is a bearer key of the app, until expires_at.
	want[list[map[string]any]](t, e.call("GET", "/v1/apps/acme/endpoints", nil, withKey(ro.Token)), http.StatusOK)
	clk.Advance(time.Minute - time.Millisecond)
	want[appJSON](t, e.call("GET", "/v1/apps/acme", nil, withKey(ro.Token)), http.StatusOK)
	clk.Advance(time.Millisecond)
	wantProblem(t, e.call("GET", "/v1/apps/acme", nil, withKey(ro.Token)), http.StatusUnauthorized, "")
	want[appJSON](t, e.call("GET", "/v1/apps/acme", nil, withKey(l.Token)), http.StatusOK)
}

// TestPortalLinkPublicURL: with HOOKD_PUBLIC_URL the link's url is built
// on it, whatever host the request came to.
func TestPortalLinkPublicURL(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOpts{publicURL: "https://hooks.example.com/base/"})
	e.mkApp("Acme", "acme")
	l := e.mkPortalLink("acme", nil)
	if want := "https://hooks.example.com/base/portal/" + l.Token; l.URL != want {
		t.Errorf("url %q, want %q", l.URL, want)
	}
}

func TestParsePublicURL(t *testing.T) {
	t.Parallel()
	for raw, want := range map[string]string{
		"https://hooks.example.com":       "https://hooks.example.com",
		"https://hooks.example.com/":      "https://hooks.example.com",
		"http://127.0.0.1:8080/hookd/":    "http://127.0.0.1:8080/hookd",
		"HTTPS://Hooks.Example.com:8443/": "https://Hooks.Example.com:8443",
	} {
		if got, err := api.ParsePublicURL(raw); err != nil || got != want {
			t.Errorf("ParsePublicURL(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"", "hooks.example.com", "/portal", "ftp://x.example", "https://", "https://u:p@x.example",
		"https://x.example/?a=b", "https://x.example/#top", "https://x.example/?", "javascript:alert(1)"} {
		if got, err := api.ParsePublicURL(raw); err == nil {
			t.Errorf("ParsePublicURL(%q) = %q, want an error", raw, got)
		}
	}
}

// TestPortalTokenRights: a portal token reaches its app's endpoints,
// deliveries and events, but not publishing, the app's settings, another
// app or an admin route; a read-only one only reads. Through the network
// and in-process (api.AsKey, as the dashboard's portal pages call), the
// same answers.
func TestPortalTokenRights(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := e.mkApp("Acme", "acme")
	other := e.mkApp("Other", "other")
	full := e.mkPortalLink("acme", nil)
	ro := e.mkPortalLink("acme", map[string]any{"read_only": true})
	keyOf := func(token string) *portalKey {
		k, err := e.store.GetAPIKeyByHash(context.Background(), sha256Sum(token))
		if err != nil {
			t.Fatal(err)
		}
		if !k.Portal || k.AppID != acme.ID || k.Name != "portal link" {
			t.Fatalf("stored key %+v, want a portal link of %s", k, acme.ID)
		}
		return &portalKey{token: token, key: k}
	}
	tokens := []*portalKey{keyOf(full.Token), keyOf(ro.Token)}
	ep := map[string]any{"url": "https://example.com/hook"}

	type call struct {
		method, path string
		body         any
		// full and readOnly: the status each token gets; detail: what
		// a 403's detail says.
		full, readOnly int
		detail         string
	}
	calls := []call{
		{"GET", "/v1/apps/acme", nil, 200, 200, ""},
		{"GET", "/v1/apps/" + acme.ID + "/endpoints", nil, 200, 200, ""},
		{"GET", "/v1/apps/acme/deliveries", nil, 200, 200, ""},
		{"GET", "/v1/apps/acme/stats", nil, 200, 200, ""},
		{"GET", "/v1/event-types", nil, 200, 200, ""},
		{"POST", "/v1/apps/acme/endpoints", ep, 201, 403, "this portal link is read-only"},
		{"POST", "/v1/apps/acme/deliveries/retry", nil, 202, 403, "this portal link is read-only"},
		{"POST", "/v1/apps/acme/events", map[string]any{"type": "a.b", "data": map[string]any{}}, 403, 403, "a portal link cannot publish an event"},
		{"POST", "/v1/apps/acme/events/batch", map[string]any{"events": []any{}}, 403, 403, "a portal link cannot"},
		{"PATCH", "/v1/apps/acme", map[string]any{"name": "x"}, 403, 403, "a portal link cannot update an app"},
		{"DELETE", "/v1/apps/acme", nil, 403, 403, "a portal link cannot delete an app"},
		{"POST", "/v1/apps/acme/portal-links", nil, 403, 403, "a portal link cannot"},
		{"GET", "/v1/apps", nil, 403, 403, "a portal link cannot list apps"},
		{"GET", "/v1/api-keys", nil, 403, 403, "a portal link cannot"},
		{"GET", "/v1/stats", nil, 403, 403, "a portal link cannot"},
		{"POST", "/v1/event-types", map[string]any{"name": "a.b"}, 403, 403, "a portal link cannot"},
		{"GET", "/v1/apps/other/endpoints", nil, 403, 403, "bound to another app"},
		{"GET", "/v1/apps/" + other.ID, nil, 403, 403, "bound to another app"},
		{"GET", "/v1/apps/nope/endpoints", nil, 403, 403, "bound to another app"},
	}
	for _, c := range calls {
		for i, tk := range tokens {
			wantStatus := c.full
			if i == 1 {
				wantStatus = c.readOnly
			}
			for _, inProcess := range []bool{false, true} {
				var status int
				var body []byte
				if inProcess {
					status, body = e.serveAs(tk, c.method, c.path, c.body)
				} else {
					r := e.call(c.method, c.path, c.body, withKey(tk.token))
					status, body = r.Status, r.Body
				}
				if status != wantStatus || (status == 403 && !strings.Contains(string(body), c.detail)) {
					t.Errorf("%s %s with the %s token (in-process %v): %d %s; want %d saying %q",
						c.method, c.path, []string{"full", "read-only"}[i], inProcess, status, body, wantStatus, c.detail)
				}
			}
		}
	}
}

// serveAs makes a request in-process as the dashboard does: api.AsKey
// with the token's stored key, no Authorization header.
func (e *env) serveAs(tk *portalKey, method, path string, body any) (int, []byte) {
	e.t.Helper()
	var rd *strings.Reader
	if body != nil {
		rd = strings.NewReader(mustJSON(e.t, body))
	} else {
		rd = strings.NewReader("")
	}
	req := httptest.NewRequestWithContext(api.AsKey(context.Background(), tk.key), method, path, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := httptest.NewRecorder()
	e.srv.Config.Handler.ServeHTTP(rec, req)
	return rec.Code, rec.Body.Bytes()
}

// portalKey is a portal link's token with its stored key.
type portalKey struct {
	token string
	key   *store.APIKey
}

// mustJSON is v as JSON text.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
