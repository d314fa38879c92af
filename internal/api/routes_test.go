package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/api"
)

// TestDocumentMatchesRoutes checks that every route the API's mux serves is
// an operation of the OpenAPI document, and every operation of the document
// a route of the mux: a route registered outside huma, or an operation
// whose route is lost, would make the document (and the Go client
// generated from it) lie.
func TestDocumentMatchesRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	routes := api.Routes(e.srv.Config.Handler)
	if len(routes) == 0 {
		t.Fatal("api.Routes found no routes on the API's handler")
	}
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(want[json.RawMessage](t, e.call("GET", api.OpenAPIPath, nil, withKey("")), http.StatusOK), &doc); err != nil {
		t.Fatal(err)
	}
	var ops []string
	for path, item := range doc.Paths {
		for method := range item {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				ops = append(ops, strings.ToUpper(method)+" "+path)
			}
		}
	}
	// The mux's routes that are not operations: the document itself (3.1
	// and 3.0, JSON and YAML), and the catch-all answering 404 and 405.
	notOps := []string{
		"GET /v1/openapi.json", "GET /v1/openapi.yaml",
		"GET /v1/openapi-3.0.json", "GET /v1/openapi-3.0.yaml",
		"/",
	}
	for _, r := range routes {
		if !slices.Contains(ops, r) && !slices.Contains(notOps, r) {
			t.Errorf("the mux serves %q, which the OpenAPI document lacks", r)
		}
	}
	for _, op := range ops {
		if !slices.Contains(routes, op) {
			t.Errorf("the OpenAPI document has %q, which the mux does not serve", op)
		}
	}
	for _, r := range notOps {
		if !slices.Contains(routes, r) {
			t.Errorf("the mux does not serve %q", r)
		}
	}
	if len(ops) < 40 {
		t.Errorf("only %d operations in the document", len(ops))
	}
}
