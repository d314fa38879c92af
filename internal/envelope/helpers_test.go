package envelope

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// readTestdata returns a testdata file as compact JSON.
func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return compactJSON(t, raw)
}

func compactJSON(t testing.TB, raw []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		t.Fatalf("compact %.40q: %v", raw, err)
	}
	return b.Bytes()
}

// decode decodes one JSON value with numbers as json.Number, failing the
// test when body is not exactly one valid JSON value.
func decode(t testing.TB, body []byte) any {
	t.Helper()
	if !json.Valid(body) {
		t.Fatalf("not valid JSON: %s", body)
	}
	v, err := decodeJSON(body)
	if err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

// field returns the value at a dot-separated path of object keys ("" is v
// itself) and whether it is there.
func field(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "?"
}

// checkTypes checks that each path of want is in v with that JSON type.
func checkTypes(t *testing.T, v any, want map[string]string) {
	t.Helper()
	for path, typ := range want {
		got, ok := field(v, path)
		if !ok {
			t.Errorf("%s: missing", path)
			continue
		}
		if jsonType(got) != typ {
			t.Errorf("%s: %s %v, want a %s", path, jsonType(got), got, typ)
		}
	}
}

// checkValue checks that the value at path is want (compared as decoded JSON).
func checkValue(t *testing.T, v any, path string, want any) {
	t.Helper()
	got, ok := field(v, path)
	if !ok {
		t.Errorf("%s: missing, want %v", path, want)
		return
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %#v, want %#v", path, got, want)
	}
}

// keys returns the keys, in the order written, of the object at the path
// of body.
func keys(t *testing.T, body []byte, path string) []string {
	t.Helper()
	raw := json.RawMessage(body)
	if path != "" {
		for _, k := range strings.Split(path, ".") {
			var m map[string]json.RawMessage
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			raw = m[k]
		}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("%s: not an object: %s", path, raw)
	}
	var out []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func checkKeys(t *testing.T, body []byte, path string, want ...string) {
	t.Helper()
	if got := keys(t, body, path); !reflect.DeepEqual(got, want) {
		t.Errorf("keys of %q = %q, want %q", path, got, want)
	}
}

func render(t *testing.T, r *Renderer, s Spec, c *Context) []byte {
	t.Helper()
	body, err := r.Render(context.Background(), s, c)
	if err != nil {
		t.Fatalf("Render(%+v): %v", s, err)
	}
	if !json.Valid(body) {
		t.Fatalf("Render(%+v) = %s: not valid JSON", s, body)
	}
	return body
}

func num(s string) json.Number { return json.Number(s) }
