package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

type openapiDoc struct {
	OpenAPI string `json:"openapi"`
	Info    struct {
		Title   string `json:"title"`
		Version string `json:"version"`
	} `json:"info"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components struct {
		Schemas         map[string]map[string]json.RawMessage `json:"schemas"`
		SecuritySchemes map[string]struct {
			Type   string `json:"type"`
			Scheme string `json:"scheme"`
		} `json:"securitySchemes"`
	} `json:"components"`
}

func TestOpenAPIDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("GET", "/v1/openapi.json", nil, withKey("")) // no key needed
	doc := want[openapiDoc](t, r, http.StatusOK)
	if !strings.HasPrefix(doc.OpenAPI, "3.1.") {
		t.Errorf("openapi %q, want 3.1.x", doc.OpenAPI)
	}
	if doc.Info.Version != "1.2.3-test" {
		t.Errorf("info.version %q", doc.Info.Version)
	}
	routes := map[string][]string{
		"/v1/apps":                                    {"get", "post"},
		"/v1/apps/{app}":                              {"get", "patch", "delete"},
		"/v1/event-types":                             {"get", "post"},
		"/v1/event-types/{name}":                      {"get", "patch", "delete"},
		"/v1/apps/{app}/endpoints":                    {"get", "post"},
		"/v1/apps/{app}/endpoints/{ep}":               {"get", "patch", "delete"},
		"/v1/apps/{app}/endpoints/{ep}/secret":        {"get"},
		"/v1/apps/{app}/endpoints/{ep}/headers":       {"get"},
		"/v1/apps/{app}/endpoints/{ep}/secret/rotate": {"post"},
		"/v1/apps/{app}/endpoints/{ep}/recover":       {"post"},
		"/v1/apps/{app}/events":                       {"get", "post"},
		"/v1/apps/{app}/events/{id}":                  {"get"},
		"/v1/apps/{app}/deliveries":                   {"get"},
		"/v1/apps/{app}/deliveries/{dlv}":             {"get"},
		"/v1/apps/{app}/deliveries/{dlv}/retry":       {"post"},
		"/v1/apps/{app}/deliveries/retry":             {"post"},
		"/v1/apps/{app}/attempts":                     {"get"},
		"/v1/api-keys":                                {"get", "post"},
		"/v1/api-keys/{id}":                           {"delete"},
		"/healthz":                                    {"get"},
		"/readyz":                                     {"get"},
	}
	for path, methods := range routes {
		for _, m := range methods {
			op, ok := doc.Paths[path][m]
			if !ok {
				t.Errorf("document lacks %s %s", m, path)
				continue
			}
			var o struct {
				Security  []map[string][]string                 `json:"security"`
				Responses map[string]map[string]json.RawMessage `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil {
				t.Fatal(err)
			}
			if strings.HasPrefix(path, "/v1/") && (len(o.Security) != 1 || o.Security[0]["bearer"] == nil) {
				t.Errorf("%s %s: security %v, want bearer", m, path, o.Security)
			}
			if _, ok := o.Responses["401"]; strings.HasPrefix(path, "/v1/") && !ok {
				t.Errorf("%s %s: 401 not documented", m, path)
			}
		}
	}
	if ss := doc.Components.SecuritySchemes["bearer"]; ss.Type != "http" || ss.Scheme != "bearer" {
		t.Errorf("bearer security scheme: %+v", ss)
	}

	// The hook types keep their JSON; RawMessage fields are free-form.
	props := func(name string) map[string]map[string]any {
		t.Helper()
		var p map[string]map[string]any
		raw, ok := doc.Components.Schemas[name]["properties"]
		if !ok {
			t.Fatalf("schema %s missing", name)
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct{ schema, prop string }{
		{"Event", "data"}, {"EventType", "schema"}, {"EventType", "example"},
		{"EventTypeCreateRequest", "schema"}, {"EventTypeCreateRequest", "example"},
		{"EventTypePatchRequest", "schema"},
	} {
		p, ok := props(c.schema)[c.prop]
		if !ok {
			t.Errorf("%s.%s missing", c.schema, c.prop)
			continue
		}
		if _, typed := p["type"]; typed {
			t.Errorf("%s.%s = %v, want free-form (no type)", c.schema, c.prop, p)
		}
	}
	if p := props("EventCreateRequest")["data"]; p["type"] != "object" {
		t.Errorf("EventCreateRequest.data = %v, want an object", p)
	}
	ep := props("Endpoint")
	for _, k := range []string{"id", "app_id", "url", "description", "event_types", "disabled", "headers", "metadata", "created_at", "updated_at"} {
		if _, ok := ep[k]; !ok {
			t.Errorf("Endpoint lacks %s", k)
		}
	}
	for k := range ep {
		if strings.Contains(strings.ToLower(k), "secret") {
			t.Errorf("Endpoint schema shows %s", k)
		}
	}
	if _, ok := props("DeliveryWithAttempts")["attempts"]; !ok {
		t.Error("DeliveryWithAttempts lacks attempts")
	}
	var req []string
	if err := json.Unmarshal(doc.Components.Schemas["EndpointCreateRequest"]["required"], &req); err != nil || !slices.Equal(req, []string{"url"}) {
		t.Errorf("EndpointCreateRequest required = %v (%v), want [url]", req, err)
	}
	if err := json.Unmarshal(doc.Components.Schemas["EventCreateRequest"]["required"], &req); err != nil || !slices.Equal(req, []string{"type", "data"}) {
		t.Errorf("EventCreateRequest required = %v (%v), want [type data]", req, err)
	}
	if raw := doc.Components.Schemas["AppPatchRequest"]["required"]; raw != nil {
		t.Errorf("AppPatchRequest required = %s, want none", raw)
	}

	// The docs UI is off.
	wantProblem(t, e.call("GET", "/v1/docs", nil), http.StatusNotFound, "")
}

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if got := want[map[string]string](t, e.call("GET", "/healthz", nil, withKey("")), http.StatusOK); got["status"] != "ok" {
		t.Errorf("/healthz: %v", got)
	}
	wantReady(t, e)
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	wantProblem(t, e.call("GET", "/readyz", nil, withKey("")), http.StatusServiceUnavailable, "")
	// Liveness does not depend on the database.
	want[map[string]string](t, e.call("GET", "/healthz", nil, withKey("")), http.StatusOK)
}

func TestAuth(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	own := e.mkApp("Own", "own-uid")
	other := e.mkApp("Other", "")
	e.addKey("sk_app_own", own.ID)

	tests := []struct {
		name, method, path string
		auth               string // Authorization header; "" for none
		body               any
		status             int
	}{
		{"no key", "GET", "/v1/apps", "", nil, 401},
		{"no key on app route", "GET", "/v1/apps/" + own.ID, "", nil, 401},
		{"wrong key", "GET", "/v1/apps", "Bearer sk_nope", nil, 401},
		{"not bearer", "GET", "/v1/apps", "Basic " + adminKey, nil, 401},
		{"bearer without key", "GET", "/v1/apps", "Bearer ", nil, 401},
		{"admin lists apps", "GET", "/v1/apps", "Bearer " + adminKey, nil, 200},
		{"admin, lower-case scheme", "GET", "/v1/apps", "bearer " + adminKey, nil, 200},
		{"admin reads another app", "GET", "/v1/apps/" + other.ID, "Bearer " + adminKey, nil, 200},
		{"app key on own app by id", "GET", "/v1/apps/" + own.ID, "Bearer sk_app_own", nil, 200},
		{"app key on own app by uid", "GET", "/v1/apps/own-uid", "Bearer sk_app_own", nil, 200},
		{"app key lists own endpoints", "GET", "/v1/apps/own-uid/endpoints", "Bearer sk_app_own", nil, 200},
		{"app key publishes to own app", "POST", "/v1/apps/" + own.ID + "/events", "Bearer sk_app_own", map[string]any{"type": "a.b", "data": map[string]any{}}, 202},
		{"app key on other app", "GET", "/v1/apps/" + other.ID, "Bearer sk_app_own", nil, 403},
		{"app key publishes to other app", "POST", "/v1/apps/" + other.ID + "/events", "Bearer sk_app_own", map[string]any{"type": "a.b", "data": map[string]any{}}, 403},
		{"app key on unknown app", "GET", "/v1/apps/nope/endpoints", "Bearer sk_app_own", nil, 403},
		{"app key lists apps", "GET", "/v1/apps", "Bearer sk_app_own", nil, 403},
		{"app key creates app", "POST", "/v1/apps", "Bearer sk_app_own", map[string]any{"name": "x"}, 403},
		{"app key creates event type", "POST", "/v1/event-types", "Bearer sk_app_own", map[string]any{"name": "a.b"}, 403},
		{"app key archives event type", "DELETE", "/v1/event-types/a.b", "Bearer sk_app_own", nil, 403},
		{"app key reads event types", "GET", "/v1/event-types", "Bearer sk_app_own", nil, 200},
		{"openapi needs no key", "GET", "/v1/openapi.json", "", nil, 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.call(tc.method, tc.path, tc.body, func(r *http.Request) {
				r.Header.Del("Authorization")
				if tc.auth != "" {
					r.Header.Set("Authorization", tc.auth)
				}
			})
			if tc.status >= 400 {
				wantProblem(t, r, tc.status, "")
				if tc.status == 401 && !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", r.Header.Get("WWW-Authenticate"))
				}
				return
			}
			if r.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.Status, tc.status, r.Body)
			}
		})
	}
	// After the parallel subtests: the refused requests stored nothing.
	t.Cleanup(func() {
		if n := e.count("/v1/apps/" + other.ID + "/events"); n != 0 {
			t.Errorf("other app has %d events", n)
		}
		if n := e.count("/v1/apps"); n != 2 {
			t.Errorf("%d apps, want 2", n)
		}
	})
}

func TestApps(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("POST", "/v1/apps", map[string]any{"name": "Acme", "uid": "acme", "metadata": map[string]string{"plan": "pro"}})
	a := want[appJSON](t, r, http.StatusCreated)
	if !strings.HasPrefix(a.ID, "app_") || a.Name != "Acme" || a.UID != "acme" || a.Metadata["plan"] != "pro" || a.CreatedAt.IsZero() {
		t.Fatalf("created %+v", a)
	}
	var raw map[string]any
	_ = json.Unmarshal(r.Body, &raw)
	for _, k := range []string{"id", "uid", "name", "metadata", "profile", "livemode", "signature", "catalog", "secret_overlap_seconds", "created_at", "updated_at"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("app JSON lacks %s: %s", k, r.Body)
		}
	}
	// (branding appears only once set: TestAppBranding.)
	if len(raw) != 11 || raw["profile"] != "hookd" || raw["livemode"] != true || raw["catalog"] != "inherit" || raw["secret_overlap_seconds"] != 86400.0 {
		t.Errorf("app JSON has extra fields: %s", r.Body)
	}

	noUID := want[map[string]any](t, e.call("POST", "/v1/apps", map[string]any{"name": "Bare"}), http.StatusCreated)
	if md, ok := noUID["metadata"].(map[string]any); !ok || len(md) != 0 {
		t.Errorf("metadata of an app without: %v", noUID["metadata"])
	}
	if _, ok := noUID["uid"]; ok {
		t.Errorf("uid shown though empty: %v", noUID)
	}

	for _, ref := range []string{a.ID, "acme"} {
		got := want[appJSON](t, e.call("GET", "/v1/apps/"+ref, nil), http.StatusOK)
		if got.ID != a.ID {
			t.Errorf("GET %s: %+v", ref, got)
		}
	}

	// PATCH: absent fields unchanged.
	got := want[appJSON](t, e.call("PATCH", "/v1/apps/acme", map[string]any{"name": "Acme Inc"}), http.StatusOK)
	if got.Name != "Acme Inc" || got.UID != "acme" || got.Metadata["plan"] != "pro" {
		t.Errorf("patched %+v", got)
	}
	got = want[appJSON](t, e.call("PATCH", "/v1/apps/"+a.ID, map[string]any{"uid": "acme-2", "metadata": map[string]string{}}), http.StatusOK)
	if got.UID != "acme-2" || len(got.Metadata) != 0 || got.Name != "Acme Inc" {
		t.Errorf("patched %+v", got)
	}
	// The old uid no longer resolves (the cache was invalidated).
	wantProblem(t, e.call("GET", "/v1/apps/acme", nil), http.StatusNotFound, "")
	want[list[map[string]any]](t, e.call("GET", "/v1/apps/acme-2/endpoints", nil), http.StatusOK)

	// uid conflicts.
	wantProblem(t, e.call("POST", "/v1/apps", map[string]any{"name": "Dup", "uid": "acme-2"}), http.StatusConflict, "")
	b := e.mkApp("B", "b")
	wantProblem(t, e.call("PATCH", "/v1/apps/"+b.ID, map[string]any{"uid": "acme-2"}), http.StatusConflict, "")
	if n := e.count("/v1/apps"); n != 3 {
		t.Errorf("%d apps, want 3", n)
	}

	// DELETE takes the endpoints along and tells the dispatcher.
	ep := e.mkEndpoint(b.ID, map[string]any{})
	r = e.call("DELETE", "/v1/apps/b", nil)
	if r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("DELETE: %d %s", r.Status, r.Body)
	}
	wantProblem(t, e.call("GET", "/v1/apps/"+b.ID, nil), http.StatusNotFound, "")
	wantProblem(t, e.call("GET", "/v1/apps/b/endpoints", nil), http.StatusNotFound, "")
	wantProblem(t, e.call("DELETE", "/v1/apps/"+b.ID, nil), http.StatusNotFound, "")
	if _, deleted, _ := e.pub.snapshot(); !slices.Contains(deleted, ep["id"].(string)) {
		t.Errorf("EndpointDeleted calls %v, want %v", deleted, ep["id"])
	}
}

func TestPagination(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	made := map[string]bool{}
	for i := range 5 {
		made[e.mkApp(fmt.Sprintf("app %d", i), "").ID] = true
	}
	seen := map[string]bool{}
	var sizes []int
	path := "/v1/apps?limit=2"
	for range 10 {
		l := want[list[appJSON]](t, e.call("GET", path, nil), http.StatusOK)
		sizes = append(sizes, len(l.Data))
		for _, a := range l.Data {
			if seen[a.ID] {
				t.Errorf("app %s listed twice", a.ID)
			}
			seen[a.ID] = true
		}
		if l.NextCursor == nil {
			break
		}
		if *l.NextCursor == "" {
			t.Fatal("next_cursor is an empty string; want null on the last page")
		}
		path = "/v1/apps?limit=2&cursor=" + url.QueryEscape(*l.NextCursor)
	}
	if !slices.Equal(sizes, []int{2, 2, 1}) {
		t.Errorf("page sizes %v, want [2 2 1]", sizes)
	}
	if len(seen) != 5 {
		t.Errorf("saw %d apps, want 5", len(seen))
	}
	// The last page says null, not "".
	r := e.call("GET", "/v1/apps", nil)
	if !strings.Contains(string(r.Body), `"next_cursor":null`) {
		t.Errorf("last page: %s", r.Body)
	}
	// Empty lists are [], not null.
	r = e.call("GET", "/v1/event-types", nil)
	if !strings.Contains(string(r.Body), `"data":[]`) {
		t.Errorf("empty list: %s", r.Body)
	}
	for _, q := range []string{"limit=0", "limit=251", "limit=-1", "limit=abc"} {
		wantProblem(t, e.call("GET", "/v1/apps?"+q, nil), http.StatusUnprocessableEntity, "query.limit")
	}
	want[list[appJSON]](t, e.call("GET", "/v1/apps?limit=250", nil), http.StatusOK)
	want[list[appJSON]](t, e.call("GET", "/v1/apps?limit=1", nil), http.StatusOK)
}

func TestUnmatchedRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantProblem(t, e.call("GET", "/v2/nothing", nil), http.StatusNotFound, "")
	wantProblem(t, e.call("GET", "/v1/apps/x/y/z", nil), http.StatusNotFound, "")
	r := e.call("PUT", "/v1/apps", map[string]any{})
	wantProblem(t, r, http.StatusMethodNotAllowed, "")
	if allow := r.Header.Values("Allow"); !slices.Contains(allow, "GET") || !slices.Contains(allow, "POST") {
		t.Errorf("Allow %v", allow)
	}
}

// TestResponsesMatchDocument validates real answers against the schemas
// the OpenAPI document declares for them.
func TestResponsesMatchDocument(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("GET", "/v1/openapi.json", nil)
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(r.Body))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	if err := c.AddResource("mem://openapi.json", doc); err != nil {
		t.Fatal(err)
	}
	check := func(name string, body []byte) {
		t.Helper()
		sch, err := c.Compile("mem://openapi.json#/components/schemas/" + name)
		if err != nil {
			t.Fatalf("compile %s: %v", name, err)
		}
		v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("answer does not match %s: %v\n%s", name, err, body)
		}
	}

	// The harness can fail: an app with an extra field, or metadata null,
	// does not match.
	for _, bad := range []string{
		`{"id":"app_1","name":"x","metadata":{},"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z","secret":"x"}`,
		`{"id":"app_1","name":"x","metadata":null,"created_at":"2024-01-01T00:00:00Z","updated_at":"2024-01-01T00:00:00Z"}`,
	} {
		sch, err := c.Compile("mem://openapi.json#/components/schemas/App")
		if err != nil {
			t.Fatal(err)
		}
		v, _ := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		if sch.Validate(v) == nil {
			t.Errorf("App schema accepts %s", bad)
		}
	}

	a := e.call("POST", "/v1/apps", map[string]any{"name": "A"})
	check("App", a.Body)
	app := want[appJSON](t, a, http.StatusCreated)
	check("App", e.call("POST", "/v1/apps", map[string]any{"name": "B", "uid": "b", "metadata": map[string]string{"k": "v"}}).Body)
	check("ListApp", e.call("GET", "/v1/apps", nil).Body)
	base := "/v1/apps/" + app.ID
	ep := e.call("POST", base+"/endpoints", map[string]any{"url": "https://example.com/x"})
	check("Endpoint", ep.Body)
	check("ListEndpoint", e.call("GET", base+"/endpoints", nil).Body)
	epID := want[endpointJSONLite](t, ep, http.StatusCreated).ID
	check("SecretBody", e.call("GET", base+"/endpoints/"+epID+"/secret", nil).Body)
	et := e.call("POST", "/v1/event-types", map[string]any{"name": "a.b", "schema": map[string]any{"type": "object"}, "example": map[string]any{"x": []int{1}}})
	check("EventType", et.Body)
	check("EventType", e.call("POST", "/v1/event-types", map[string]any{"name": "a.c"}).Body)
	check("ListEventType", e.call("GET", "/v1/event-types", nil).Body)
	ev := e.call("POST", base+"/events", map[string]any{"type": "a.b", "data": map[string]any{"n": 1, "s": []any{"x", nil}}})
	check("Event", ev.Body)
	check("ListEvent", e.call("GET", base+"/events", nil).Body)
	ds := want[list[deliveryJSON]](t, e.call("GET", base+"/deliveries", nil), http.StatusOK)
	check("ListDelivery", e.call("GET", base+"/deliveries", nil).Body)
	if len(ds.Data) != 1 {
		t.Fatalf("%d deliveries", len(ds.Data))
	}
	check("DeliveryWithAttempts", e.call("GET", base+"/deliveries/"+ds.Data[0].ID, nil).Body)
	check("Delivery", e.call("POST", base+"/deliveries/"+ds.Data[0].ID+"/retry", nil).Body)
	check("RecoverOutputBody", e.call("POST", base+"/endpoints/"+epID+"/recover", map[string]any{"since": "2020-01-01T00:00:00Z"}).Body)
	check("RetryFailedOutputBody", e.call("POST", base+"/deliveries/retry", map[string]any{"endpoint": epID}).Body)
	check("CreatedAPIKey", e.call("POST", "/v1/api-keys", map[string]any{"name": "k", "app": app.ID}).Body)
	check("CreatedAPIKey", e.call("POST", "/v1/api-keys", map[string]any{"name": "admin"}).Body)
	check("ListAPIKey", e.call("GET", "/v1/api-keys", nil).Body)
	check("ErrorModel", e.call("POST", "/v1/apps", map[string]any{"nmae": 1}).Body)
	check("ErrorModel", e.call("GET", "/v1/apps", nil, withKey("")).Body)
}

type endpointJSONLite struct {
	ID string `json:"id"`
}
