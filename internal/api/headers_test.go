package api_test

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/hook"
)

// marker is in every header value these tests send, so that an answer
// holding a value is easy to catch.
const marker = "s3cr3t"

// TestEndpointHeadersRefused: hop-by-hop and framing headers, names that
// are not tokens, and values with control or non-ASCII bytes are refused
// with a 422 naming the header, on create and on update, and nothing is
// written. The problem never repeats the value.
func TestEndpointHeadersRefused(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	a := e.mkApp("A", "a")
	ep := e.mkEndpoint(a.ID, map[string]any{"headers": map[string]string{"X-Tenant": marker + "-kept"}})
	epPath := "/v1/apps/a/endpoints/" + ep["id"].(string)

	tests := []struct {
		name    string
		headers map[string]string
		loc     string
	}{
		{"Upgrade", map[string]string{"Upgrade": "websocket"}, "body.headers.Upgrade"},
		{"upgrade, lower case", map[string]string{"upgrade": "h2c"}, "body.headers.upgrade"},
		{"TE", map[string]string{"TE": "trailers"}, "body.headers.TE"},
		{"te, lower case", map[string]string{"te": "trailers"}, "body.headers.te"},
		{"Keep-Alive", map[string]string{"Keep-Alive": "timeout=5"}, "body.headers.Keep-Alive"},
		{"Expect", map[string]string{"Expect": "100-continue"}, "body.headers.Expect"},
		{"Proxy-Authorization", map[string]string{"Proxy-Authorization": "Basic " + marker}, "body.headers.Proxy-Authorization"},
		{"Proxy-Authenticate", map[string]string{"Proxy-Authenticate": "Basic"}, "body.headers.Proxy-Authenticate"},
		{"Proxy-Connection", map[string]string{"Proxy-Connection": "keep-alive"}, "body.headers.Proxy-Connection"},
		{"Trailer", map[string]string{"Trailer": "X-Sum"}, "body.headers.Trailer"},
		{"Content-Encoding", map[string]string{"Content-Encoding": "gzip"}, "body.headers.Content-Encoding"},
		{"CONTENT-ENCODING", map[string]string{"CONTENT-ENCODING": "br"}, "body.headers.CONTENT-ENCODING"},
		{"HTTP2-Settings", map[string]string{"HTTP2-Settings": "AAMAAABk"}, "body.headers.HTTP2-Settings"},
		{"Connection", map[string]string{"Connection": "close"}, "body.headers.Connection"},
		{"Transfer-Encoding", map[string]string{"Transfer-Encoding": "chunked"}, "body.headers.Transfer-Encoding"},
		{"Content-Length", map[string]string{"Content-Length": "0"}, "body.headers.Content-Length"},
		{"Host", map[string]string{"Host": "internal.example"}, "body.headers.Host"},
		{"name with a space", map[string]string{"X Token": marker}, "body.headers.X Token"},
		{"name with a colon", map[string]string{"X:Token": marker}, "body.headers.X:Token"},
		{"pseudo-header", map[string]string{":path": "/admin"}, "body.headers.:path"},
		{"non-ASCII name", map[string]string{"X-Tökén": marker}, "body.headers.X-Tökén"},
		{"the same name twice", map[string]string{"X-Token": marker + "1", "x-token": marker + "2"}, "body.headers.x-token"},
		{"CR in a value", map[string]string{"X-Token": marker + "\rx"}, "body.headers.X-Token"},
		{"LF in a value", map[string]string{"X-Token": marker + "\nInjected: 1"}, "body.headers.X-Token"},
		{"NUL in a value", map[string]string{"X-Token": marker + "\x00"}, "body.headers.X-Token"},
		{"DEL in a value", map[string]string{"X-Token": marker + "\x7f"}, "body.headers.X-Token"},
		{"non-ASCII value", map[string]string{"X-Token": marker + "é"}, "body.headers.X-Token"},
		{"leading tab", map[string]string{"X-Token": "\t" + marker}, "body.headers.X-Token"},
		{"trailing space", map[string]string{"X-Token": marker + " "}, "body.headers.X-Token"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			for _, req := range []struct{ method, path string }{{"POST", "/v1/apps/a/endpoints"}, {"PATCH", epPath}} {
				body := map[string]any{"headers": tc.headers}
				if req.method == "POST" {
					body["url"] = "https://example.com/hook"
				}
				r := e.call(req.method, req.path, body)
				wantProblem(t, r, http.StatusUnprocessableEntity, tc.loc)
				if strings.Contains(string(r.Body), marker) {
					t.Errorf("%s: the problem repeats the value: %s", req.method, r.Body)
				}
			}
		})
	}
	t.Cleanup(func() {
		if n := e.count("/v1/apps/a/endpoints"); n != 1 {
			t.Errorf("%d endpoints after the refused requests, want 1", n)
		}
		stored, err := e.store.GetEndpoint(context.Background(), a.ID, ep["id"].(string))
		if err != nil {
			t.Fatal(err)
		}
		if want := map[string]string{"X-Tenant": marker + "-kept"}; !maps.Equal(stored.Headers, want) {
			t.Errorf("headers after the refused updates: %v, want %v", stored.Headers, want)
		}
	})
}

// TestEndpointHeadersMasked: answers that show an endpoint mask every
// header value; GET .../headers reveals them, to the keys that may read
// the endpoint; an endpoint read and sent back keeps its values; a mask
// with nothing to keep is refused.
func TestEndpointHeadersMasked(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	own := e.mkApp("Own", "own")
	other := e.mkApp("Other", "other")
	e.addKey("sk_headers_own", own.ID)
	e.addKey("sk_headers_other", other.ID)
	asOwn := withKey("sk_headers_own")
	secretHeaders := map[string]string{"Authorization": "Bearer " + marker + "-1", "X-Api-Key": marker + "-2"}
	masked := map[string]string{"Authorization": hook.HeaderValueMask, "X-Api-Key": hook.HeaderValueMask}

	// noValues fails if an answer holds a header value.
	noValues := func(t *testing.T, what string, r *result) {
		t.Helper()
		if strings.Contains(string(r.Body), marker) {
			t.Fatalf("%s shows a header value: %s", what, r.Body)
		}
	}
	revealed := func(t *testing.T, path string, want map[string]string) {
		t.Helper()
		got := wantHeaders(t, e.call("GET", path+"/headers", nil, asOwn))
		if !maps.Equal(got.Headers, want) {
			t.Fatalf("GET %s/headers: %v, want %v", path, got.Headers, want)
		}
		stored, err := e.store.GetEndpoint(context.Background(), own.ID, path[strings.LastIndexByte(path, '/')+1:])
		if err != nil {
			t.Fatal(err)
		}
		if !maps.Equal(stored.Headers, want) {
			t.Fatalf("stored headers (what deliveries carry): %v, want %v", stored.Headers, want)
		}
	}

	r := e.call("POST", "/v1/apps/own/endpoints", map[string]any{"url": "https://example.com/hook", "headers": secretHeaders}, asOwn)
	ep := want[endpointJSON](t, r, http.StatusCreated)
	noValues(t, "the create answer", r)
	if !maps.Equal(ep.Headers, masked) {
		t.Fatalf("create answer headers %v, want %v", ep.Headers, masked)
	}
	path := "/v1/apps/own/endpoints/" + ep.ID

	r = e.call("GET", path, nil, asOwn)
	noValues(t, "GET", r)
	if got := want[endpointJSON](t, r, http.StatusOK); !maps.Equal(got.Headers, masked) {
		t.Fatalf("GET headers %v, want %v", got.Headers, masked)
	}
	r = e.call("GET", "/v1/apps/own/endpoints", nil, asOwn)
	noValues(t, "the list", r)
	if l := want[list[endpointJSON]](t, r, http.StatusOK); len(l.Data) != 1 || !maps.Equal(l.Data[0].Headers, masked) {
		t.Fatalf("list %+v, want one endpoint with headers %v", l, masked)
	}
	revealed(t, path, secretHeaders)

	// The reveal route: the keys that may read the endpoint, no other.
	for _, c := range []struct {
		name, key, path string
		status          int
	}{
		{"admin key", adminKey, path, http.StatusOK},
		{"own app's key", "sk_headers_own", path, http.StatusOK},
		{"another app's key", "sk_headers_other", path, http.StatusForbidden},
		{"another app's key on its own app", "sk_headers_other", "/v1/apps/other/endpoints/" + ep.ID, http.StatusNotFound},
		{"no key", "", path, http.StatusUnauthorized},
		{"unknown endpoint", adminKey, "/v1/apps/own/endpoints/ep_nope", http.StatusNotFound},
	} {
		r := e.call("GET", c.path+"/headers", nil, withKey(c.key))
		if c.status == http.StatusOK {
			want[map[string]any](t, r, http.StatusOK)
			continue
		}
		wantProblem(t, r, c.status, "")
		noValues(t, "GET .../headers with "+c.name, r)
	}

	// Read, then sent back with only the URL changed: the values stay.
	var read map[string]any
	if err := json.Unmarshal(e.call("GET", path, nil, asOwn).Body, &read); err != nil {
		t.Fatal(err)
	}
	back := map[string]any{"url": "https://example.com/v2"}
	for _, k := range []string{"description", "event_types", "disabled", "headers", "metadata"} {
		back[k] = read[k]
	}
	r = e.call("PATCH", path, back, asOwn)
	noValues(t, "the update answer", r)
	if got := want[endpointJSON](t, r, http.StatusOK); got.URL != "https://example.com/v2" || !maps.Equal(got.Headers, masked) {
		t.Fatalf("after sending the endpoint back: %+v", got)
	}
	revealed(t, path, secretHeaders)

	// One value changed, the other sent back masked.
	r = e.call("PATCH", path, map[string]any{"headers": map[string]string{"Authorization": hook.HeaderValueMask, "X-Api-Key": marker + "-3"}}, asOwn)
	want[endpointJSON](t, r, http.StatusOK)
	noValues(t, "the update answer", r)
	current := map[string]string{"Authorization": secretHeaders["Authorization"], "X-Api-Key": marker + "-3"}
	revealed(t, path, current)

	// A mask where there is no value to keep: refused, nothing changed.
	wantProblem(t, e.call("PATCH", path, map[string]any{"description": "x", "headers": map[string]string{"X-Api-Key": hook.HeaderValueMask, "X-New": hook.HeaderValueMask}}, asOwn),
		http.StatusUnprocessableEntity, "body.headers.X-New")
	revealed(t, path, current)
	if got := want[endpointJSON](t, e.call("GET", path, nil, asOwn), http.StatusOK); got.Description != "" {
		t.Fatalf("description %q written by a refused update", got.Description)
	}
	wantProblem(t, e.call("POST", "/v1/apps/own/endpoints", map[string]any{"url": "https://example.com/hook", "headers": masked}, asOwn),
		http.StatusUnprocessableEntity, "body.headers.Authorization")
	if n := e.count("/v1/apps/own/endpoints"); n != 1 {
		t.Fatalf("%d endpoints, want 1", n)
	}
}

type headersJSON struct {
	Headers map[string]string `json:"headers"`
}

// wantHeaders decodes a 200 answer of GET .../headers.
func wantHeaders(t *testing.T, r *result) headersJSON {
	t.Helper()
	h := want[headersJSON](t, r, http.StatusOK)
	if h.Headers == nil {
		t.Fatalf("GET .../headers: no headers object: %s", r.Body)
	}
	return h
}

// TestEndpointHeadersOpenAPI: the document says that answers mask header
// values, how to send them back, and where to read them.
func TestEndpointHeadersOpenAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	doc := want[openapiDoc](t, e.call("GET", "/v1/openapi.json", nil, withKey("")), http.StatusOK)
	for _, c := range []struct{ schema, says string }{
		{"Endpoint", hook.HeaderValueMask},
		{"Endpoint", "/headers"},
		{"EndpointCreateRequest", "Upgrade"},
		{"EndpointPatchRequest", hook.HeaderValueMask},
	} {
		var props map[string]struct {
			Description string `json:"description"`
		}
		if err := json.Unmarshal(doc.Components.Schemas[c.schema]["properties"], &props); err != nil {
			t.Fatalf("%s: %v", c.schema, err)
		}
		if d := props["headers"].Description; !strings.Contains(d, c.says) {
			t.Errorf("%s.headers is documented as %q: want it to say %q", c.schema, d, c.says)
		}
	}
	if _, ok := doc.Paths["/v1/apps/{app}/endpoints/{ep}/headers"]["get"]; !ok {
		t.Error("the document lacks GET /v1/apps/{app}/endpoints/{ep}/headers")
	}
	var hb map[string]json.RawMessage
	if err := json.Unmarshal(doc.Components.Schemas["HeadersBody"]["properties"], &hb); err != nil || hb["headers"] == nil {
		t.Errorf("HeadersBody schema: %v %s", err, doc.Components.Schemas["HeadersBody"]["properties"])
	}
}
