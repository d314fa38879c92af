package envelope

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxDepth bounds the nesting of a jq value appendJSON encodes.
const maxDepth = 10000

// appendJSON appends v, a value a jq program yielded, as compact JSON, and
// fails as soon as b grows past limit bytes. Object keys are sorted
// (gojq's objects are Go maps); json.Number is written as it stands;
// NaN is null and infinities are clamped to ±math.MaxFloat64, as jq does.
func appendJSON(b []byte, v any, limit int) ([]byte, error) {
	e := encoder{b: b, limit: limit}
	e.value(v, 0)
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

type encoder struct {
	b     []byte
	limit int
	err   error
}

func (e *encoder) value(v any, depth int) {
	if e.err != nil {
		return
	}
	if len(e.b) > e.limit {
		e.err = tooLarge(e.limit)
		return
	}
	switch v := v.(type) {
	case nil:
		e.b = append(e.b, "null"...)
	case bool:
		e.b = strconv.AppendBool(e.b, v)
	case int:
		e.b = strconv.AppendInt(e.b, int64(v), 10)
	case float64:
		e.b = appendFloat(e.b, v)
	case *big.Int:
		e.b = v.Append(e.b, 10)
	case json.Number:
		if !validNumber(string(v)) {
			e.err = fmt.Errorf("envelope: invalid number %q", string(v))
			return
		}
		e.b = append(e.b, v...)
	case string:
		e.b = appendJSONString(e.b, v)
	case []any:
		if depth >= maxDepth {
			e.err = errTooDeep
			return
		}
		e.b = append(e.b, '[')
		for i, x := range v {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.value(x, depth+1)
		}
		e.b = append(e.b, ']')
	case map[string]any:
		if depth >= maxDepth {
			e.err = errTooDeep
			return
		}
		// Keys as they are written: a key that is not valid UTF-8 is
		// written with U+FFFD for its bad bytes, so two keys can become
		// one; the greater original key's value is kept, and the keys
		// are sorted as written.
		keys := make([]string, 0, len(v))
		orig := make(map[string]string, len(v))
		for k := range v {
			w := k
			if !utf8.ValidString(k) {
				w = strings.ToValidUTF8(k, "\uFFFD")
			}
			if o, dup := orig[w]; !dup || k > o {
				if !dup {
					keys = append(keys, w)
				}
				orig[w] = k
			}
		}
		slices.Sort(keys)
		e.b = append(e.b, '{')
		for i, w := range keys {
			if i > 0 {
				e.b = append(e.b, ',')
			}
			e.b = appendJSONString(e.b, w)
			e.b = append(e.b, ':')
			e.value(v[orig[w]], depth+1)
		}
		e.b = append(e.b, '}')
	default:
		e.err = fmt.Errorf("envelope: a jq program yielded a value of Go type %T", v)
	}
	if e.err == nil && len(e.b) > e.limit {
		e.err = tooLarge(e.limit)
	}
}

var errTooDeep = fmt.Errorf("envelope: the body nests deeper than %d levels", maxDepth)

// appendFloat appends f as encoding/json writes float64, except that NaN
// is null and infinities are the largest finite float64, as in jq.
func appendFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) {
		return append(b, "null"...)
	}
	f = max(min(f, math.MaxFloat64), -math.MaxFloat64)
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	start := len(b)
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 -> 1e-7, as encoding/json does.
		n := len(b)
		if n-start >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// validNumber reports whether s is a JSON number.
func validNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case i < len(s) && '1' <= s[i] && s[i] <= '9':
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	default:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if i == len(s) || !isDigit(s[i]) {
			return false
		}
		for i < len(s) && isDigit(s[i]) {
			i++
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// appendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, U+2028 and U+2029 escaped (for receivers
// that evaluate JSON as JavaScript), invalid UTF-8 replaced by U+FFFD.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, `\n`...)
			case '\r':
				b = append(b, `\r`...)
			case '\t':
				b = append(b, `\t`...)
			case '\b':
				b = append(b, `\b`...)
			case '\f':
				b = append(b, `\f`...)
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
