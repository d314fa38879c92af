package envelope

import (
	"bytes"
	"encoding/json"
	"testing"
)

// checkScanAgrees checks scanObject against encoding/json on valid JSON.
func checkScanAgrees(t *testing.T, data []byte) {
	t.Helper()
	var want map[string]json.RawMessage
	isObject := json.Unmarshal(data, &want) == nil && want != nil
	got, ok := scanObject(data)
	if ok != isObject {
		t.Fatalf("scanObject(%s) ok = %v, want %v", data, ok, isObject)
	}
	seen := map[string]bool{}
	for _, m := range got {
		seen[m.key] = true
	}
	if len(seen) != len(want) {
		t.Errorf("scanObject(%s) found keys %v, want %d keys", data, seen, len(want))
	}
	for k, v := range want {
		if g := got.get(k); !bytes.Equal(g, v) {
			t.Errorf("scanObject(%s)[%q] = %s, want %s", data, k, g, v)
		}
	}
}

func scanCases() []string {
	return []string{
		`{}`, ` { } `, `{"a":1}`, `{"a":1,"b":"x","c":null,"d":true,"e":false}`,
		`{"user":{"id":"u","n":[1,{"x":"}"}]},"item":[],"s":"a\"b\\","t":"]"}`,
		` {"a" : -1.5e+3 , "b" : [ 1 , 2 ] }`, "{\n\t\"a\":\r\n{}\n}",
		`{"k\"ey":1,"\u0075ser":2}`, `{"a":1,"a":2}`, `{"":0}`, `{"a":"\\"}`,
		`[]`, `[{"a":1}]`, `"str"`, `null`, `12`, `true`,
	}
}

func TestScanObjectAgreesWithEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, c := range scanCases() {
		checkScanAgrees(t, []byte(c))
	}
	for _, bad := range []string{``, `{`, `{"a"`, `{"a":`, `{"a":1`, `{"a":1,}`, `{"a" 1}`, `{"a":"x`, `{"a":[1}`, `{a:1}`, `{"a":1}x`} {
		if ms, ok := scanObject([]byte(bad)); ok {
			t.Errorf("scanObject(%s) = %v, true; want false", bad, ms)
		}
	}
}

func FuzzScanObject(f *testing.F) {
	for _, c := range scanCases() {
		f.Add([]byte(c))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) {
			scanObject(data) // must not panic
			return
		}
		checkScanAgrees(t, data)
	})
}
