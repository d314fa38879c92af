package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"
	"unicode/utf8"
)

func TestCheckJSONText(t *testing.T) {
	t.Parallel()
	manyKeys := func(n int, last string) string {
		var sb strings.Builder
		sb.WriteString(`{"o":{`)
		for i := range n {
			fmt.Fprintf(&sb, `"k%d":%d,`, i, i)
		}
		sb.WriteString(`"` + last + `":0}}`)
		return sb.String()
	}
	for _, tc := range []struct {
		name, text string
		loc, msg   string // "" when the text is accepted
	}{
		{"object", `{"a":1,"b":[true,false,null],"c":{"d":"é\u00e9\ud83d\ude00"}}`, "", ""},
		{"spaces", " { \"a\" : [ 1 , { \"b\" : \"c\" } ] , \"b\" : { } } ", "", ""},
		{"same key in other objects", `{"a":{"a":1},"b":[{"a":1},{"a":2}],"c":{"a":{"a":0}}}`, "", ""},
		{"keys differing only in case", `{"type":"a.b","TYPE":"c.d"}`, "", ""},
		{"big numbers", `{"n":12345678901234567890,"e":1e400,"f":0.1000000000000000000001}`, "", ""},
		{"escaped quotes and backslashes", `{"a\"":"\\","a\\":"\"\\\""}`, "", ""},
		{"noncharacters", "{\"a\":\"\\uffff\uFFFE\"}", "", ""},
		{"surrogate pair, upper case", `{"a":"\uD83D\uDE00"}`, "", ""},
		{"scalars", `"x"`, "", ""},
		{"empty", ``, "", ""},

		{"duplicate at the top", `{"type":"a.b","data":{},"type":"c.d"}`, "body.type", "duplicate key: an object may have each key once"},
		{"duplicate in data", `{"data":{"customer":{"name":"a","name":"b"}}}`, "body.data.customer.name", "duplicate key"},
		{"duplicate in an array item", `{"data":{"items":[{"sku":1},{"sku":2},{"sku":3,"qty":1,"sku":4}]}}`, "body.data.items[2].sku", "duplicate key"},
		{"duplicate by an escape", `{"a":1,"\u0061":2}`, "body.a", "duplicate key"},
		{"duplicate by an escaped quote", `{"a\"":1,"a\u0022":2}`, `body.a"`, "duplicate key"},
		{"duplicate after an inner object", `{"a":{"b":1,"c":2},"d":{"b":1},"a":3}`, "body.a", "duplicate key"},
		{"duplicate among many keys", manyKeys(100, "k42"), "body.o.k42", "duplicate key"},
		{"duplicate at the set's edge", manyKeys(linearKeys, "k0"), "body.o.k0", "duplicate key"},
		{"many keys, none twice", manyKeys(100, "other"), "", ""},
		{"duplicate empty key", `{"":1,"":2}`, "body.", "duplicate key"},
		{"duplicate in a top-level array", `[{},{"a":1,"a":1}]`, "body[1].a", "duplicate key"},

		{"invalid UTF-8 in a value", "{\"data\":{\"customer\":{\"name\":\"J\xffe\"}}}", "body.data.customer.name", "string is not valid UTF-8"},
		{"invalid UTF-8 after an escape", "{\"a\":[\"ok\",\"\\n\xc3\"]}", "body.a[1]", "string is not valid UTF-8"},
		{"encoded surrogate", "{\"a\":\"\xed\xa0\x80\"}", "body.a", "string is not valid UTF-8"},
		{"overlong encoding", "{\"a\":\"\xc0\xaf\"}", "body.a", "string is not valid UTF-8"},
		{"invalid UTF-8 in a key", "{\"data\":{\"na\xffme\":1}}", "body.data.na\uFFFDme", "key is not valid UTF-8"},
		{"invalid UTF-8 at the top", "\"\xff\"", "body", "string is not valid UTF-8"},
		{"lone high surrogate", `{"data":{"k":"x\ud800"}}`, "body.data.k", `string has an unpaired UTF-16 surrogate escape, \ud800, which is no character`},
		{"lone low surrogate", `{"k":"\uDC00\ud800"}`, "body.k", `\uDC00`},
		{"high surrogate then another escape", `{"k":"\ud800\n"}`, "body.k", `\ud800`},
		{"high surrogate then a high one", `{"k":"\ud800\ud800"}`, "body.k", `\ud800`},
		{"surrogate in a key", `{"a":{"\ud800":1}}`, `body.a.\ud800`, "key has an unpaired UTF-16 surrogate escape"},

		// Not JSON: left to the decoder, so nothing is reported...
		{"cut short", `{"a":1,"a"`, "body.a", "duplicate key"}, // ...past what was read
		{"cut in a string", "{\"a\":\"x", "", ""},
		{"cut in an escape", `{"a":"\u12`, "", ""},
		{"unquoted key", `{a:1,a:1}`, "", ""},
		{"mismatched close", `{"a":[1}`, "", ""},
		{"trailing data", `{"a":1} {"a":1,"a":1}`, "", ""},
		{"too deep", strings.Repeat("[", maxTextDepth+1) + `{"a":1,"a":1}`, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := checkJSONText([]byte(tc.text), "body")
			switch {
			case tc.loc == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.loc == "":
			case err == nil:
				t.Fatalf("accepted, want %s: %s", tc.loc, tc.msg)
			case err.loc != tc.loc || !strings.Contains(err.msg, tc.msg):
				t.Fatalf("refused at %q: %q; want %q: %q", err.loc, err.msg, tc.loc, tc.msg)
			}
		})
	}
}

// TestCheckJSONTextDeep checks text as deep as encoding/json takes is
// checked to the bottom.
func TestCheckJSONTextDeep(t *testing.T) {
	t.Parallel()
	text := strings.Repeat(`{"a":`, maxTextDepth-1) + `{"b":1,"b":2}` + strings.Repeat("}", maxTextDepth-1)
	var v any
	if err := json.Unmarshal([]byte(text), &v); err != nil {
		t.Fatalf("encoding/json refuses %d levels: %v", maxTextDepth, err)
	}
	err := checkJSONText([]byte(text), "")
	if err == nil || !strings.HasSuffix(err.loc, "a.a.b") || strings.Count(err.loc, "a") != maxTextDepth-1 {
		t.Fatalf("got %v, want a duplicate at a.a....b", err)
	}
}

// referenceFault finds the first string or key of valid JSON text b that
// checkJSONText must refuse, by other means: encoding/json's tokens, with
// the raw bytes of each string checked whole. It returns its location
// ("" for none) and whether the fault is a duplicate key.
func referenceFault(t *testing.T, b []byte) (loc string, dup bool) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	type level struct {
		array bool
		index int
		key   string
		seen  map[string]bool
		// wantKey: the next string token of an object is a key.
		wantKey bool
	}
	var stack []*level
	// path locates the innermost value, or, with key, that key of the
	// innermost object.
	path := func(key *string) string {
		var sb strings.Builder
		sb.WriteString("body")
		for i, l := range stack {
			if l.array {
				sb.WriteString("[" + strconv.Itoa(l.index) + "]")
				continue
			}
			k := l.key
			if i == len(stack)-1 && key != nil {
				k = *key
			}
			sb.WriteString("." + k)
		}
		return sb.String()
	}
	// next moves past a value in the innermost level.
	next := func() {
		if len(stack) == 0 {
			return
		}
		if l := stack[len(stack)-1]; l.array {
			l.index++
		} else {
			l.wantKey = true
		}
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if err == io.EOF {
			return "", false
		}
		if err != nil {
			t.Fatalf("token of valid JSON %q: %v", b, err)
		}
		switch v := tok.(type) {
		case json.Delim:
			switch v {
			case '{', '[':
				stack = append(stack, &level{array: v == '[', wantKey: v == '{', seen: map[string]bool{}})
			default:
				stack = stack[:len(stack)-1]
				next()
			}
			continue
		case string:
			raw := b[before:dec.InputOffset()]
			raw = raw[bytes.IndexByte(raw, '"')+1 : len(raw)-1]
			isKey := len(stack) > 0 && !stack[len(stack)-1].array && stack[len(stack)-1].wantKey
			if !utf8.Valid(raw) || hasLoneSurrogate(raw) {
				if isKey {
					k := strings.ToValidUTF8(string(raw), "\uFFFD")
					return path(&k), false
				}
				return path(nil), false
			}
			if isKey {
				l := stack[len(stack)-1]
				l.key, l.wantKey = v, false
				if l.seen[v] {
					return path(&v), true
				}
				l.seen[v] = true
				continue
			}
		}
		next()
	}
}

// hasLoneSurrogate reports whether the raw contents of a JSON string hold
// a \u escape of half a surrogate pair without the other half.
func hasLoneSurrogate(raw []byte) bool {
	var units []rune // UTF-16 code units; 0 for what is no escaped surrogate
	for i := 0; i < len(raw); i++ {
		switch {
		case raw[i] != '\\':
			units = append(units, 0)
		case raw[i+1] != 'u':
			units = append(units, 0)
			i++
		default:
			u, err := strconv.ParseUint(string(raw[i+2:i+6]), 16, 16)
			if err != nil {
				panic(err)
			}
			units = append(units, rune(u))
			i += 5
		}
	}
	for i := 0; i < len(units); i++ {
		if !utf16.IsSurrogate(units[i]) {
			continue
		}
		if i+1 < len(units) && utf16.DecodeRune(units[i], units[i+1]) != utf8.RuneError {
			i++
			continue
		}
		return true
	}
	return false
}

// FuzzCheckJSONText checks checkJSONText on any bytes: it never panics, it
// refuses valid JSON exactly where referenceFault finds a fault, and what
// it accepts decodes with encoding/json as the same text it is.
func FuzzCheckJSONText(f *testing.F) {
	for _, s := range []string{
		`{"a":1,"b":{"a":2},"c":[{"a":3},{"a":4,"a":5}]}`,
		"{\"k\":\"\xff\",\"\xfe\":1}",
		`{"s":"\ud83d\ude00\ud800","\ud800":1}`,
		`{"a\u0022":1,"a\"":2}`,
		`[1e400,12345678901234567890,{"":0,"":0}]`,
		`{"a":[{"b":"\\"}],"a\\":"x"}`,
		`{"a":1`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := checkJSONText(b, "body")
		if !json.Valid(b) {
			return // it did not panic
		}
		loc, dup := referenceFault(t, b)
		switch {
		case loc == "" && err != nil:
			t.Fatalf("checkJSONText(%q) = %v; the reference finds no fault", b, err)
		case loc != "" && err == nil:
			t.Fatalf("checkJSONText(%q) accepts it; the reference finds a fault at %s", b, loc)
		case loc != "" && err.loc != loc:
			t.Fatalf("checkJSONText(%q) = %v; the reference finds a fault at %s", b, err, loc)
		case loc != "" && dup != strings.HasPrefix(err.msg, "duplicate key"):
			t.Fatalf("checkJSONText(%q) = %v; the reference finds a duplicate: %v", b, err, dup)
		}
	})
}

func BenchmarkCheckJSONText(b *testing.B) {
	small := []byte(`{"type":"order.created","data":{"id":"o_1","total":12.5,"lines":[{"sku":"a","qty":1}]}}`)
	big := []byte(`{"type":"order.created","data":{"pad":"` + strings.Repeat("xé", 64<<10/3) + `"}}`)
	escapes := []byte(`{"type":"order.created","data":{"s":"` + strings.Repeat(`\n`, 64<<10/2) + `"}}`)
	var keys strings.Builder
	keys.WriteString(`{"type":"order.created","data":{`)
	for i := range 4000 {
		fmt.Fprintf(&keys, `"key_%d":%d,`, i, i)
	}
	keys.WriteString(`"end":0}}`)
	for _, bc := range []struct {
		name string
		text []byte
	}{{"small", small}, {"64KiB-string", big}, {"64KiB-escapes", escapes}, {"4000-keys", []byte(keys.String())}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			b.ReportAllocs()
			for b.Loop() {
				if err := checkJSONText(bc.text, "body"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
