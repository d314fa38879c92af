package dashboard_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
)

// sessionCookie signs in with key over HTTP and returns the session's
// cookie.
func sessionCookie(t *testing.T, base, key string) *http.Cookie {
	t.Helper()
	resp := postSignIn(t, base, url.Values{"key": {key}})
	for _, c := range resp.Cookies() {
		if c.Name == dashboard.CookieName {
			return c
		}
	}
	t.Fatalf("sign in: %d, no session cookie", resp.StatusCode)
	return nil
}

// page makes a dashboard request with the session's cookie (a form when
// form is not nil) and returns the answer, its body read.
func page(t *testing.T, base string, c *http.Cookie, method, path string, form url.Values) (*http.Response, string) {
	t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	req.AddCookie(c)
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// apiKeys lists the keys through the API, as the admin key.
func apiKeys(h *hookdT) map[string]*api.APIKey {
	var page struct{ Data []*api.APIKey }
	h.call(adminKey, "GET", "/v1/api-keys?limit=100", nil, http.StatusOK, &page)
	keys := map[string]*api.APIKey{}
	for _, k := range page.Data {
		keys[k.Name] = k
	}
	return keys
}

// TestKeysCreate: the create form makes the key through the API and the
// answer shows its secret once (201, Cache-Control: no-store, no
// redirect); a date expiry is the start of that day, UTC, and a bound
// app is kept. The list then names the key, never its secret.
func TestKeysCreate(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop", "uid": "shop"}, http.StatusCreated, &app)
	c := sessionCookie(t, base, adminKey)

	resp, body := page(t, base, c, "POST", "/keys", url.Values{"name": {"ci deploys"}, "app": {"shop"}, "expires": {"2027-01-31"}})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /keys: %d, want 201\n%s", resp.StatusCode, body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q, want no-store", cc)
	}
	secret := between(body, "hk_", "<")
	secret = strings.TrimSuffix(secret, "<")
	if len(secret) < 20 || !strings.Contains(body, "will not be shown again") {
		t.Fatalf("the answer does not show the new key with its warning:\n%s", body)
	}
	k := apiKeys(h)["ci deploys"]
	if k == nil {
		t.Fatal("the API lists no key named ci deploys")
	}
	if k.AppID != app.ID || k.ExpiresAt == nil || k.ExpiresAt.Format("2006-01-02T15:04:05Z07:00") != "2027-01-31T00:00:00Z" {
		t.Errorf("key: app %q expires %v, want %q and 2027-01-31T00:00:00Z", k.AppID, k.ExpiresAt, app.ID)
	}
	// The secret works, bound to its app.
	h.call(secret, "GET", "/v1/apps/"+app.ID, nil, http.StatusOK, nil)
	h.call(secret, "GET", "/v1/api-keys", nil, http.StatusForbidden, nil)

	resp, body = page(t, base, c, "GET", "/keys", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /keys: %d", resp.StatusCode)
	}
	row := rowOf(body, k.ID)
	if !strings.Contains(row, "ci deploys") || !strings.Contains(row, app.ID) || !strings.Contains(row, "2027-01-31 00:00:00 UTC") {
		t.Errorf("the list's row for the key lacks its name, app or expiry:\n%s", row)
	}
	if strings.Contains(body, secret) {
		t.Error("the list shows the key's secret")
	}
}

// TestKeysCreateInvalid: the API's 422 is shown next to the field at
// fault (the form keeps what was typed), and no key is created.
func TestKeysCreateInvalid(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	c := sessionCookie(t, base, adminKey)
	for _, tc := range []struct {
		form  url.Values
		field string
		want  string
	}{
		{url.Values{"name": {""}}, "name", ""},
		{url.Values{"name": {"x"}, "app": {"nosuchapp"}}, "app", "no app has this id or uid"},
		{url.Values{"name": {"x"}, "expires": {"2020-01-01"}}, "expires", "must be in the future"},
		{url.Values{"name": {"x"}, "expires": {"next week"}}, "expires", ""},
	} {
		resp, body := page(t, base, c, "POST", "/keys", tc.form)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("%v: %d, want 422", tc.form, resp.StatusCode)
			continue
		}
		msg := between(body, `id="`+tc.field+`-error"`, "</p>")
		if msg == "" || !strings.Contains(msg, tc.want) {
			t.Errorf("%v: no error next to %s containing %q:\n%s", tc.form, tc.field, tc.want, between(body, `<form method="post" action="/keys"`, "</form>"))
		}
		if !strings.Contains(between(body, `id="`+tc.field+`"`, ">"), `aria-invalid="true"`) {
			t.Errorf("%v: the %s input is not marked invalid", tc.form, tc.field)
		}
		for _, v := range tc.form["expires"] {
			if !strings.Contains(body, `value="`+v+`"`) {
				t.Errorf("%v: the form lost %q", tc.form, v)
			}
		}
	}
	if n := len(apiKeys(h)); n != 1 {
		t.Errorf("%d keys after refused creates, want 1", n)
	}
}

// TestKeysDelete: Delete (behind a <details> confirm) deletes through the
// API and goes back to the list, which marks the session's own key; the
// last admin key's 409 is shown next
// to that key, which stays.
func TestKeysDelete(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var other api.CreatedAPIKey
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "temp", "expires_at": "2030-01-01T00:00:00Z"}, http.StatusCreated, &other)
	c := sessionCookie(t, base, adminKey)

	_, body := page(t, base, c, "GET", "/keys", nil)
	if row := rowOf(body, other.ID); !strings.Contains(row, "<details") || !strings.Contains(row, `action="/keys/`+other.ID+`/delete"`) {
		t.Fatalf("the key's row has no confirmed delete:\n%s", row)
	}
	resp, _ := page(t, base, c, "POST", "/keys/"+other.ID+"/delete", url.Values{})
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/keys") {
		t.Fatalf("delete: %d to %q, want 303 to /keys", resp.StatusCode, resp.Header.Get("Location"))
	}
	if apiKeys(h)["temp"] != nil {
		t.Error("the key is still listed after delete")
	}

	admin := apiKeys(h)["admin"]
	if row := rowOf(body, admin.ID); !strings.Contains(row, "this session") {
		t.Errorf("the session's own key is not marked:\n%s", row)
	}
	resp, body = page(t, base, c, "POST", "/keys/"+admin.ID+"/delete", url.Values{})
	if resp.StatusCode != http.StatusConflict {
		t.Fatalf("delete the last admin key: %d, want 409", resp.StatusCode)
	}
	if msg := between(rowOf(body, admin.ID), `id="delete-error-`+admin.ID+`"`, "</p>"); !strings.Contains(msg, "admin key") {
		t.Errorf("no conflict next to the admin key:\n%s", rowOf(body, admin.ID))
	}
	if apiKeys(h)["admin"] == nil {
		t.Error("the last admin key was deleted")
	}
}

// TestKeysAppBoundSession: a session of a key bound to an app gets the
// API's 403 on the keys routes, and no nav link to them; an admin
// session has the link.
func TestKeysAppBoundSession(t *testing.T) {
	base := newDashboard(t, 0)
	h := &hookdT{t: t, base: base}
	var app hook.App
	h.call(adminKey, "POST", "/v1/apps", map[string]any{"name": "Shop"}, http.StatusCreated, &app)
	var bound api.CreatedAPIKey
	h.call(adminKey, "POST", "/v1/api-keys", map[string]any{"name": "shop key", "app": app.ID}, http.StatusCreated, &bound)
	admin := apiKeys(h)["admin"]

	c := sessionCookie(t, base, bound.Key)
	for _, req := range []struct {
		method, path string
		form         url.Values
	}{
		{"GET", "/keys", nil},
		{"POST", "/keys", url.Values{"name": {"sneaky"}}},
		{"POST", "/keys/" + admin.ID + "/delete", url.Values{}},
	} {
		resp, body := page(t, base, c, req.method, req.path, req.form)
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "403") {
			t.Errorf("%s %s as an app key: %d, want a 403 page", req.method, req.path, resp.StatusCode)
		}
	}
	if n := len(apiKeys(h)); n != 2 {
		t.Errorf("%d keys, want 2: the app key created or deleted one", n)
	}
	if _, body := page(t, base, c, "GET", "/apps/"+app.ID, nil); strings.Contains(body, `href="/keys"`) {
		t.Error("an app key's nav links to the API keys")
	}
	if _, body := page(t, base, sessionCookie(t, base, adminKey), "GET", "/", nil); !strings.Contains(body, `href="/keys"`) {
		t.Error("an admin's nav has no link to the API keys")
	}
}
