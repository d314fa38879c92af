package api_test

import (
	"cmp"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

type apiKeyJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	AppID     string    `json:"app_id"`
	CreatedAt time.Time `json:"created_at"`
	Key       string    `json:"key"`
}

// mkAPIKey creates a key through the API.
func (e *env) mkAPIKey(body map[string]any) apiKeyJSON {
	e.t.Helper()
	return want[apiKeyJSON](e.t, e.call("POST", "/v1/api-keys", body), http.StatusCreated)
}

func TestAPIKeys(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := e.mkApp("Acme", "acme")

	// An admin key: shown once, with the secret.
	r := e.call("POST", "/v1/api-keys", map[string]any{"name": "ci"})
	admin := want[apiKeyJSON](t, r, http.StatusCreated)
	if !strings.HasPrefix(admin.ID, "key_") || admin.Name != "ci" || admin.AppID != "" || admin.CreatedAt.IsZero() {
		t.Errorf("created %+v", admin)
	}
	if !strings.HasPrefix(admin.Key, "hk_") || len(admin.Key) != len("hk_")+43 {
		t.Errorf("key %q, want hk_ and 43 base64url characters (32 bytes)", admin.Key)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.Body, &raw)
	if _, ok := raw["app_id"]; ok || len(raw) != 4 { // id, name, created_at, key
		t.Errorf("admin key JSON: %s", r.Body)
	}
	want[list[appJSON]](t, e.call("GET", "/v1/apps", nil, withKey(admin.Key)), http.StatusOK)

	// A key bound to an app, named by uid.
	scoped := e.mkAPIKey(map[string]any{"name": "acme's key", "app": "acme"})
	if scoped.AppID != app.ID || scoped.Key == admin.Key {
		t.Errorf("scoped key %+v", scoped)
	}
	want[appJSON](t, e.call("GET", "/v1/apps/acme", nil, withKey(scoped.Key)), http.StatusOK)
	wantProblem(t, e.call("GET", "/v1/apps", nil, withKey(scoped.Key)), http.StatusForbidden, "")
	if byID := e.mkAPIKey(map[string]any{"name": "by id", "app": app.ID}); byID.AppID != app.ID {
		t.Errorf("key for app by id: %+v", byID)
	}

	// Bad requests create nothing.
	wantProblem(t, e.call("POST", "/v1/api-keys", map[string]any{"name": "x", "app": "nope"}), http.StatusUnprocessableEntity, "body.app")
	wantProblem(t, e.call("POST", "/v1/api-keys", map[string]any{}), http.StatusUnprocessableEntity, "body.name")
	wantProblem(t, e.call("POST", "/v1/api-keys", map[string]any{"name": ""}), http.StatusUnprocessableEntity, "body.name")

	// The list: newest first, in pages, never a secret or a hash.
	var listed []apiKeyJSON
	path := "/v1/api-keys?limit=2"
	for range 10 {
		r := e.call("GET", path, nil)
		for _, bad := range []string{admin.Key, scoped.Key, `"key"`, `"hash"`} {
			if strings.Contains(string(r.Body), bad) {
				t.Errorf("the list shows %s: %s", bad, r.Body)
			}
		}
		l := want[list[apiKeyJSON]](t, r, http.StatusOK)
		listed = append(listed, l.Data...)
		if l.NextCursor == nil {
			break
		}
		path = "/v1/api-keys?limit=2&cursor=" + url.QueryEscape(*l.NextCursor)
	}
	if len(listed) != 4 { // the test's admin key, admin, scoped, by id
		t.Fatalf("listed %d keys, want 4: %+v", len(listed), listed)
	}
	if listed[1].ID != scoped.ID || listed[1].AppID != app.ID || listed[2].ID != admin.ID || listed[3].Name != "test "+adminKey {
		t.Errorf("list order or fields: %+v", listed)
	}
	wantProblem(t, e.call("GET", "/v1/api-keys?cursor=zzz", nil), http.StatusUnprocessableEntity, "query.cursor")

	// Deleting a key ends it at once on this node, though it was cached.
	if r := e.call("DELETE", "/v1/api-keys/"+scoped.ID, nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	wantProblem(t, e.call("GET", "/v1/apps/acme", nil, withKey(scoped.Key)), http.StatusUnauthorized, "")
	wantProblem(t, e.call("DELETE", "/v1/api-keys/"+scoped.ID, nil), http.StatusNotFound, "")

	// Admin keys go too, except the last one.
	if r := e.call("DELETE", "/v1/api-keys/"+admin.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE admin: %d %s", r.Status, r.Body)
	}
	wantProblem(t, e.call("GET", "/v1/apps", nil, withKey(admin.Key)), http.StatusUnauthorized, "")
	last := listed[3]
	p := wantProblem(t, e.call("DELETE", "/v1/api-keys/"+last.ID, nil), http.StatusConflict, "")
	if !strings.Contains(p.Detail, "last admin key") {
		t.Errorf("detail %q", p.Detail)
	}
	want[list[appJSON]](t, e.call("GET", "/v1/apps", nil), http.StatusOK) // still works

	// An app's keys are deleted with it, and stop working at once.
	other := e.mkApp("Other", "other")
	ok := e.mkAPIKey(map[string]any{"name": "other's", "app": other.ID})
	want[appJSON](t, e.call("GET", "/v1/apps/other", nil, withKey(ok.Key)), http.StatusOK) // now cached
	if r := e.call("DELETE", "/v1/apps/other", nil); r.Status != http.StatusNoContent {
		t.Fatalf("DELETE app: %d %s", r.Status, r.Body)
	}
	wantProblem(t, e.call("GET", "/v1/event-types", nil, withKey(ok.Key)), http.StatusUnauthorized, "")
	if n := e.count("/v1/api-keys"); n != 2 { // the last admin key, and "by id"
		t.Errorf("%d keys left, want 2", n)
	}
}

// TestScopedKeyEveryRoute calls every operation of the OpenAPI document
// with a key bound to app A, against A's resources and against B's:
// admin-only routes must refuse both (403), app routes must refuse B's
// (403) and let A's through, and event-type reads must let both through.
func TestScopedKeyEveryRoute(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	want[map[string]any](t, e.call("POST", "/v1/event-types", map[string]any{"name": "order.created"}), http.StatusCreated)
	type fixture struct{ app, ep, event, dlv string }
	mk := func(name string) fixture {
		t.Helper()
		a := e.mkApp(name, "")
		ep := e.mkEndpoint(a.ID, map[string]any{})
		ev := want[map[string]any](t, e.call("POST", "/v1/apps/"+a.ID+"/events",
			map[string]any{"type": "order.created", "data": map[string]any{"n": 1}}), http.StatusAccepted)
		ds := want[list[deliveryJSON]](t, e.call("GET", "/v1/apps/"+a.ID+"/deliveries", nil), http.StatusOK)
		if len(ds.Data) != 1 {
			t.Fatalf("%d deliveries", len(ds.Data))
		}
		return fixture{app: a.ID, ep: ep["id"].(string), event: ev["id"].(string), dlv: ds.Data[0].ID}
	}
	fa, fb := mk("A"), mk("B")
	const keyA = "sk_test_key_of_app_a"
	e.addKey(keyA, fa.app)
	spare := e.mkAPIKey(map[string]any{"name": "spare admin"})

	// What each route is, said here independently of the code.
	anyKey := map[string]bool{"list-event-types": true, "get-event-type": true}
	wantAdmin := []string{"list-apps", "create-app", "create-event-type", "update-event-type", "archive-event-type",
		"import-event-types", "create-api-key", "list-api-keys", "delete-api-key"}

	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string                     `json:"operationId"`
			Security    []map[string][]string      `json:"security"`
			Responses   map[string]json.RawMessage `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(e.call("GET", "/v1/openapi.json", nil).Body, &doc); err != nil {
		t.Fatal(err)
	}
	type op struct{ method, path, id string }
	var ops []op
	for path, methods := range doc.Paths {
		for m, o := range methods {
			if len(o.Security) == 0 {
				if strings.HasPrefix(path, "/v1/") && path != "/v1/openapi.json" {
					t.Errorf("%s %s needs no key", m, path)
				}
				continue
			}
			for _, code := range []string{"401", "429"} {
				if _, ok := o.Responses[code]; !ok {
					t.Errorf("%s %s does not document %s", m, path, code)
				}
			}
			ops = append(ops, op{strings.ToUpper(m), path, o.OperationID})
		}
	}
	if len(ops) < 25 {
		t.Fatalf("only %d operations with security in the document", len(ops))
	}
	for _, id := range wantAdmin {
		if !slices.ContainsFunc(ops, func(o op) bool { return o.id == id }) {
			t.Errorf("the document lacks %s", id)
		}
	}
	// Deletes last, the deeper ones first, so that A's fixtures live until
	// the end and deleting A (which deletes its key) comes last.
	slices.SortFunc(ops, func(x, y op) int {
		if dx, dy := x.method == "DELETE", y.method == "DELETE"; dx != dy {
			if dx {
				return 1
			}
			return -1
		}
		if x.method == "DELETE" {
			return cmp.Compare(len(y.path), len(x.path))
		}
		return cmp.Compare(x.path+x.method, y.path+y.method)
	})

	fill := func(path string, f fixture) string {
		t.Helper()
		r := strings.NewReplacer("{app}", f.app, "{ep}", f.ep, "{dlv}", f.dlv, "{name}", "order.created")
		out := r.Replace(path)
		if strings.HasPrefix(path, "/v1/apps/") {
			out = strings.ReplaceAll(out, "{id}", f.event)
		} else {
			out = strings.ReplaceAll(out, "{id}", spare.ID)
		}
		if strings.Contains(out, "{") {
			t.Fatalf("no fixture for a parameter of %s", path)
		}
		return out
	}
	var nApp, nAdmin, nAny int
	for _, o := range ops {
		var body any
		if o.method == "POST" || o.method == "PATCH" {
			body = map[string]any{}
		}
		kind := "admin"
		switch {
		case anyKey[o.id]:
			kind, nAny = "any", nAny+1
		case strings.Contains(o.path, "{app}"):
			kind, nApp = "app", nApp+1
		default:
			nAdmin++
		}
		for _, f := range []fixture{fb, fa} { // B first: A may be deleted
			target := "A"
			if f == fb {
				target = "B"
			}
			path := fill(o.path, f)
			r := e.call(o.method, path, body, withKey(keyA))
			refused := kind == "admin" || (kind == "app" && f == fb)
			switch {
			case refused:
				if r.Status != http.StatusForbidden {
					t.Errorf("%s (%s) %s with A's key on %s's: %d, want 403; %s", o.id, kind, path, target, r.Status, r.Body)
				} else {
					wantProblem(t, r, http.StatusForbidden, "")
				}
			case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500:
				t.Errorf("%s (%s) %s with A's key on %s's: %d; %s", o.id, kind, path, target, r.Status, r.Body)
			}
		}
	}
	if nApp < 15 || nAdmin < len(wantAdmin) || nAny != len(anyKey) {
		t.Errorf("%d app routes, %d admin routes, %d any-key routes", nApp, nAdmin, nAny)
	}

	// B is as it was: nothing A's key tried on it went through.
	for _, p := range []string{"/v1/apps/" + fb.app + "/endpoints", "/v1/apps/" + fb.app + "/events"} {
		if n := e.count(p); n != 1 {
			t.Errorf("%s: %d, want 1", p, n)
		}
	}
	ev := want[map[string]any](t, e.call("GET", "/v1/apps/"+fb.app+"/events/"+fb.event, nil), http.StatusOK)
	if d, _ := ev["data"].(map[string]any); d["n"] != float64(1) {
		t.Errorf("B's event changed: %v", ev)
	}
	want[appJSON](t, e.call("GET", "/v1/apps/"+fb.app, nil), http.StatusOK)
	// A was deleted by its own key (the last operation), and the key with it.
	wantProblem(t, e.call("GET", "/v1/apps/"+fa.app, nil), http.StatusNotFound, "")
	wantProblem(t, e.call("GET", "/v1/event-types", nil, withKey(keyA)), http.StatusUnauthorized, "")
	if n := e.count("/v1/api-keys"); n != 2 {
		t.Errorf("%d API keys, want 2 (A's key went with A; nothing else changed)", n)
	}
}

// TestAPIKeyExpiry: a key created with expires_at works until then, and
// from then on is answered 401 as an unknown key, whether this node has it
// cached or not (issue 12, item 10d). The clock is the API's (Config.Now).
func TestAPIKeyExpiry(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now().UTC())
	e := newEnv(t, envOpts{now: clk.Now})
	app := e.mkApp("Acme", "acme")
	exp := clk.Now().Add(time.Hour).Truncate(time.Millisecond)

	type keyJSON struct {
		apiKeyJSON
		ExpiresAt *time.Time `json:"expires_at"`
	}
	mk := func(body map[string]any) keyJSON {
		t.Helper()
		return want[keyJSON](t, e.call("POST", "/v1/api-keys", body), http.StatusCreated)
	}
	used := mk(map[string]any{"name": "used", "app": "acme", "expires_at": exp.Format(time.RFC3339Nano)})
	unused := mk(map[string]any{"name": "unused", "app": "acme", "expires_at": exp.Format(time.RFC3339Nano)})
	admin := mk(map[string]any{"name": "temporary admin", "expires_at": exp.Format(time.RFC3339Nano)})
	forever := mk(map[string]any{"name": "forever", "app": "acme"})
	if used.ExpiresAt == nil || !used.ExpiresAt.Equal(exp) || used.AppID != app.ID {
		t.Fatalf("created %+v, want expires_at %v", used, exp)
	}
	if forever.ExpiresAt != nil {
		t.Fatalf("a key without expires_at answers expires_at %v", forever.ExpiresAt)
	}
	// Lists show it.
	l := want[list[keyJSON]](t, e.call("GET", "/v1/api-keys?limit=250", nil), http.StatusOK)
	for _, k := range l.Data {
		hasExp := k.ID == used.ID || k.ID == unused.ID || k.ID == admin.ID
		if hasExp != (k.ExpiresAt != nil) || (hasExp && !k.ExpiresAt.Equal(exp)) {
			t.Errorf("listed %s (%s) with expires_at %v", k.ID, k.Name, k.ExpiresAt)
		}
	}

	// Valid until then; "used" and the admin key are now cached.
	clk.Advance(time.Hour - time.Millisecond)
	want[appJSON](t, e.call("GET", "/v1/apps/acme", nil, withKey(used.Key)), http.StatusOK)
	want[list[appJSON]](t, e.call("GET", "/v1/apps", nil, withKey(admin.Key)), http.StatusOK)

	clk.Advance(time.Millisecond)
	unknown := wantProblem(t, e.call("GET", "/v1/apps/acme", nil, withKey("hk_never_issued")), http.StatusUnauthorized, "")
	for _, k := range []keyJSON{used, unused, admin} {
		r := e.call("GET", "/v1/apps/acme", nil, withKey(k.Key))
		p := wantProblem(t, r, http.StatusUnauthorized, "")
		if p.Detail != unknown.Detail || r.Header.Get("WWW-Authenticate") != `Bearer error="invalid_token"` {
			t.Errorf("expired key %s: %q (WWW-Authenticate %q), want the answer of an unknown key %q",
				k.Name, p.Detail, r.Header.Get("WWW-Authenticate"), unknown.Detail)
		}
	}
	want[appJSON](t, e.call("GET", "/v1/apps/acme", nil, withKey(forever.Key)), http.StatusOK)
}

func TestAPIKeyExpiryRefused(t *testing.T) {
	t.Parallel()
	clk := clockwork.NewFakeClockAt(time.Now().UTC())
	e := newEnv(t, envOpts{now: clk.Now})
	e.mkApp("Acme", "acme")
	now := clk.Now()
	tests := []struct {
		name string
		exp  any
	}{
		{"in the past", now.Add(-time.Second).Format(time.RFC3339)},
		{"now", now.Format(time.RFC3339Nano)},
		{"not a time", "tomorrow"},
		{"without a zone", now.Add(time.Hour).Format("2006-01-02T15:04:05")},
		{"a number", now.Add(time.Hour).Unix()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			wantProblem(t, e.call("POST", "/v1/api-keys", map[string]any{"name": "k", "app": "acme", "expires_at": tc.exp}),
				http.StatusUnprocessableEntity, "body.expires_at")
		})
	}
	t.Cleanup(func() {
		if n := e.count("/v1/api-keys"); n != 1 { // the test's admin key
			t.Errorf("%d keys after refused creates, want 1", n)
		}
	})
}
