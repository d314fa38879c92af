package api_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// brandingJSON is an app's branding as the API shows it.
type brandingJSON struct {
	DisplayName string `json:"display_name"`
	LogoURL     string `json:"logo_url"`
	AccentColor string `json:"accent_color"`
}

// appBrandingJSON is an app with its branding.
type appBrandingJSON struct {
	appJSON
	Branding *brandingJSON `json:"branding"`
}

// TestAppBranding: an app's branding is set on create and PATCH, shown
// by GET (to its portal links too), kept by a PATCH that does not name
// it, removed by branding: null, and checked field by field.
func TestAppBranding(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	acme := brandingJSON{DisplayName: "Acme Webhooks", LogoURL: "https://cdn.example.com/acme.png", AccentColor: "#0A7cff"}
	r := e.call("POST", "/v1/apps", map[string]any{"name": "Acme", "uid": "acme", "branding": acme})
	a := want[appBrandingJSON](t, r, http.StatusCreated)
	if a.Branding == nil || *a.Branding != acme {
		t.Fatalf("created with branding %+v, want %+v", a.Branding, acme)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(r.Body, &raw); err != nil || len(raw) != 12 {
		t.Errorf("app JSON with branding: %s, want the 11 fields of TestApps and branding", r.Body)
	}

	link := e.mkPortalLink("acme", nil)
	for _, key := range []string{adminKey, link.Token} {
		got := want[appBrandingJSON](t, e.call("GET", "/v1/apps/acme", nil, withKey(key)), http.StatusOK)
		if got.Branding == nil || *got.Branding != acme {
			t.Errorf("GET shows branding %+v, want %+v", got.Branding, acme)
		}
	}
	// A portal link shows the branding but cannot change it.
	wantProblem(t, e.call("PATCH", "/v1/apps/acme", map[string]any{"branding": nil}, withKey(link.Token)), http.StatusForbidden, "")

	// A PATCH without branding keeps it; with an object, replaces it
	// (fields left out are gone); with null, removes it.
	got := want[appBrandingJSON](t, e.call("PATCH", "/v1/apps/acme", map[string]any{"name": "Acme 2"}), http.StatusOK)
	if got.Branding == nil || *got.Branding != acme {
		t.Errorf("PATCH name: branding %+v, want it kept", got.Branding)
	}
	const appKey = "sk_test_acme_key"
	e.addKey(appKey, a.ID)
	got = want[appBrandingJSON](t, e.call("PATCH", "/v1/apps/acme", map[string]any{"branding": map[string]any{"accent_color": "#000000"}}, withKey(appKey)), http.StatusOK)
	if got.Branding == nil || *got.Branding != (brandingJSON{AccentColor: "#000000"}) {
		t.Errorf("PATCH branding: %+v", got.Branding)
	}
	r = e.call("PATCH", "/v1/apps/acme", map[string]any{"branding": nil})
	got = want[appBrandingJSON](t, r, http.StatusOK)
	if got.Branding != nil || strings.Contains(string(r.Body), "branding") {
		t.Errorf("PATCH branding null: %s", r.Body)
	}
	if got := want[appBrandingJSON](t, e.call("GET", "/v1/apps/acme", nil), http.StatusOK); got.Branding != nil {
		t.Errorf("GET after branding null: %+v", got.Branding)
	}
	// An empty object sets nothing: no branding.
	r = e.call("PATCH", "/v1/apps/acme", map[string]any{"branding": map[string]any{}})
	if want[appBrandingJSON](t, r, http.StatusOK).Branding != nil {
		t.Errorf("PATCH branding {}: %s", r.Body)
	}

	// Refused, each at its field, on create and on PATCH; nothing changes.
	e.call("PATCH", "/v1/apps/acme", map[string]any{"branding": acme})
	for _, c := range []struct {
		name     string
		branding map[string]any
		loc      string
	}{
		{"long name", map[string]any{"display_name": strings.Repeat("n", 101)}, "body.branding.display_name"},
		{"name on two lines", map[string]any{"display_name": "Acme\nWebhooks"}, "body.branding.display_name"},
		{"http logo", map[string]any{"logo_url": "http://cdn.example.com/a.png"}, "body.branding.logo_url"},
		{"relative logo", map[string]any{"logo_url": "/a.png"}, "body.branding.logo_url"},
		{"javascript logo", map[string]any{"logo_url": "javascript:alert(1)"}, "body.branding.logo_url"},
		{"logo with a user", map[string]any{"logo_url": "https://u:p@cdn.example.com/a.png"}, "body.branding.logo_url"},
		{"logo with a quote", map[string]any{"logo_url": `https://cdn.example.com/a".png`}, "body.branding.logo_url"},
		{"long logo", map[string]any{"logo_url": "https://cdn.example.com/" + strings.Repeat("a", 2049-len("https://cdn.example.com/"))}, "body.branding.logo_url"},
		{"colour name", map[string]any{"accent_color": "red"}, "body.branding.accent_color"},
		{"short colour", map[string]any{"accent_color": "#fff"}, "body.branding.accent_color"},
		{"bad hex", map[string]any{"accent_color": "#12345g"}, "body.branding.accent_color"},
		{"colour not a string", map[string]any{"accent_color": 255}, "body.branding.accent_color"},
		{"branding not an object", nil, "body.branding"},
	} {
		var b any = c.branding
		if c.branding == nil {
			b = "Acme"
		}
		wantProblem(t, e.call("POST", "/v1/apps", map[string]any{"name": "X", "branding": b}), http.StatusUnprocessableEntity, c.loc)
		wantProblem(t, e.call("PATCH", "/v1/apps/acme", map[string]any{"name": "Changed", "branding": b}), http.StatusUnprocessableEntity, c.loc)
	}
	// Every fault at once, each at its field.
	p := wantProblem(t, e.call("POST", "/v1/apps", map[string]any{"name": "X", "branding": map[string]any{
		"display_name": "a\tb", "logo_url": "ftp://x", "accent_color": "#00"}}), http.StatusUnprocessableEntity, "")
	for _, loc := range []string{"body.branding.display_name", "body.branding.logo_url", "body.branding.accent_color"} {
		if !strings.Contains(strings.Join(p.locations(), " "), loc) {
			t.Errorf("problem %v lacks %s", p.locations(), loc)
		}
	}
	if n := e.count("/v1/apps"); n != 1 {
		t.Errorf("%d apps after refused creates, want 1", n)
	}
	got = want[appBrandingJSON](t, e.call("GET", "/v1/apps/acme", nil), http.StatusOK)
	if got.Name != "Acme 2" || got.Branding == nil || *got.Branding != acme {
		t.Errorf("after refused PATCHes: %+v %+v", got.appJSON, got.Branding)
	}
	// A 2048-character logo URL and 100-character name are fine.
	longest := map[string]any{"display_name": strings.Repeat("é", 100), "logo_url": "https://cdn.example.com/" + strings.Repeat("a", 2048-len("https://cdn.example.com/"))}
	want[appBrandingJSON](t, e.call("PATCH", "/v1/apps/acme", map[string]any{"branding": longest}), http.StatusOK)
}
