package client_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/oapi-codegen/oapi-codegen/v2/pkg/codegen"
	"github.com/oapi-codegen/oapi-codegen/v2/pkg/util"
	"go.yaml.in/yaml/v3"

	"github.com/hookd/hookd/internal/apidoc"
)

// TestOpenAPIDocumentIsCurrent fails when the API's code no longer gives
// the committed openapi.json, the document the client is generated from.
func TestOpenAPIDocumentIsCurrent(t *testing.T) {
	t.Parallel()
	built, err := apidoc.OpenAPI30(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(built, committed) {
		t.Errorf("client/openapi.json is not the API's document: run go generate ./client\n(first difference at line %d)", firstDiffLine(built, committed))
	}
}

// TestGeneratedCodeIsCurrent runs oapi-codegen (the version go.mod pins),
// in process, on the committed openapi.json with the committed
// configuration, and fails when its code is not generated.go.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile("oapi-codegen.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		codegen.Configuration `yaml:",inline"`
		Output                string `yaml:"output"`
	}
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil {
		t.Fatalf("oapi-codegen.yaml: %v", err)
	}
	spec, err := util.LoadSwagger("openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	code, err := codegen.Generate(spec, cfg.Configuration)
	if err != nil {
		t.Fatal(err)
	}
	committed, err := os.ReadFile(cfg.Output)
	if err != nil {
		t.Fatal(err)
	}
	// The header names the generator's module and version as the binary
	// running it sees them, which a test binary does not: compare from the
	// package clause on.
	gen, com := fromPackage(code), fromPackage(string(committed))
	if gen != com {
		t.Errorf("client/%s is not what oapi-codegen makes of openapi.json: run go generate ./client\n(first difference at line %d)",
			cfg.Output, firstDiffLine([]byte(gen), []byte(com)))
	}
}

// fromPackage returns src from its package clause on.
func fromPackage(src string) string {
	if i := strings.Index(src, "\npackage "); i >= 0 {
		return src[i+1:]
	}
	return src
}

// firstDiffLine returns the 1-based number of the first line where a and b
// differ.
func firstDiffLine(a, b []byte) int {
	la, lb := bytes.Split(a, []byte("\n")), bytes.Split(b, []byte("\n"))
	for i := range min(len(la), len(lb)) {
		if !bytes.Equal(la[i], lb[i]) {
			return i + 1
		}
	}
	return min(len(la), len(lb)) + 1
}
