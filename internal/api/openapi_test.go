package api_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"
)

// TestOpenAPIDocumentPassesLinters checks what standard linters' recommended
// rules ask of the document (CI also runs Redocly's, .ci/run): servers, a
// license, described tags, and every operation saying what security it
// needs: the bearer key, or explicitly none (`security: []`) on the open
// routes, whichever register function added them.
func TestOpenAPIDocumentPassesLinters(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.call("GET", "/v1/openapi.json", nil, withKey(""))
	doc := want[struct {
		Servers []struct {
			URL string `json:"url"`
		} `json:"servers"`
		Info struct {
			License struct {
				Name string `json:"name"`
			} `json:"license"`
		} `json:"info"`
		Tags []struct {
			Name        string `json:"name"`
			Description string `json:"description"`
		} `json:"tags"`
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}](t, r, http.StatusOK)
	if len(doc.Servers) == 0 || doc.Servers[0].URL == "" {
		t.Errorf("servers %+v, want one", doc.Servers)
	}
	if doc.Info.License.Name == "" {
		t.Error("info.license has no name")
	}
	for _, tag := range doc.Tags {
		if tag.Description == "" {
			t.Errorf("tag %q has no description", tag.Name)
		}
	}
	var open []string
	for path, item := range doc.Paths {
		for method, raw := range item {
			var op map[string]json.RawMessage
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			sec, ok := op["security"]
			if !ok {
				t.Errorf("%s %s has no security: want the bearer key, or [] when open", method, path)
				continue
			}
			var reqs []map[string][]string
			if err := json.Unmarshal(sec, &reqs); err != nil {
				t.Fatalf("%s %s security: %v", method, path, err)
			}
			if len(reqs) == 0 {
				open = append(open, method+" "+path)
			}
		}
	}
	slices.Sort(open)
	if want := []string{"get /healthz", "get /readyz"}; !slices.Equal(open, want) {
		t.Errorf("open operations %v, want %v", open, want)
	}
}
