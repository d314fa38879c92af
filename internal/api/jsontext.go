package api

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"
)

// hookd takes only JSON text that every reader reads alike: besides
// RFC 8259's grammar (checked by encoding/json), what RFC 7493 (I-JSON)
// asks of the text itself, which encoding/json lets through:
//
//   - strings, keys included, are valid UTF-8 (encoding/json reads an
//     invalid byte as U+FFFD, while the text is stored and delivered as
//     sent, so a receiver would see other characters than hookd did);
//   - no \u escape is half of a UTF-16 surrogate pair without the other
//     half ("\ud800"): it is no character, and readers differ on it
//     (U+FFFD, an error, or a lone surrogate in their strings);
//   - no object has a key twice, at any depth (encoding/json keeps the
//     last, other readers the first, or both).
//
// Numbers are not this check's business: they stay exactly as written,
// however large or precise (12345678901234567890, 1e400).
//
// checkJSONText is the one place this is checked: on every JSON request
// body huma decodes (unmarshalJSON), and on the bodies the event routes
// read themselves (createEvent, createEventBatch), once per body.
//
// encoding/json also matches a key to a struct field without regard to
// case, so {"data":{..},"DATA":{..}} is a duplicate in disguise. huma's
// validation is made case-sensitive (huma.ValidateStrictCasing, see
// api.go), which refuses such keys on the routes huma decodes; the event
// routes, which decode their bodies themselves, have checkJSONFields
// refuse them.

// maxTextDepth is the nesting checkJSONText follows, encoding/json's own
// limit: deeper text is refused by the decoder anyway.
const maxTextDepth = 10000

// shortString is how many bytes of a string are read one by one before
// the rest is searched for its quote and escapes.
const shortString = 32

// linearKeys is how many keys of an object are compared one by one for a
// duplicate; an object with more keys gets a set.
const linearKeys = 16

// textError is JSON text that parses but is refused: its location in the
// request ("body.data.items[2].sku") and what is wrong there.
type textError struct {
	loc string
	msg string
	// unexpected marks a key that is a struct field's name in other case:
	// an unexpected property (422), as on the other routes.
	unexpected bool
}

// Error returns "location: message".
func (e *textError) Error() string { return e.loc + ": " + e.msg }

// problem is the answer to e: 400, or 422 for an unexpected property.
func (e *textError) problem() error {
	if e.unexpected {
		return invalid(e.loc, e.msg, nil)
	}
	return huma.Error400BadRequest(e.Error(), e.detail())
}

func (e *textError) detail() *huma.ErrorDetail {
	return &huma.ErrorDetail{Location: e.loc, Message: e.msg}
}

// checkJSONText checks the JSON text b as described above and returns
// where it first fails, located under prefix ("body"), or nil. Text that
// is not JSON at all is left to the decoder to refuse: the check stops
// where the syntax breaks and returns what it found before, if anything.
// It reads b once and, in the common case, allocates nothing: not unless
// a key has escapes, an object has more than linearKeys keys, or the text
// is refused.
func checkJSONText(b []byte, prefix string) *textError {
	return checkJSONFields(b, prefix, nil)
}

// textFields names the fields of the objects at one depth of a body that
// is decoded into structs: the body itself is at depth 1, the items of an
// array in it at depth 3.
type textFields struct {
	depth int
	names []string
}

// checkJSONFields is checkJSONText that also refuses, in the objects at
// each fields' depth, a key that is one of its names in other case
// ("Type", "DATA"), which encoding/json would take for that field.
func checkJSONFields(b []byte, prefix string, fields []textFields) *textError {
	c := textCheckers.Get().(*textChecker)
	c.b, c.prefix, c.fields, c.text = b, prefix, fields, ""
	err := c.run()
	// Nothing of b is kept, and no big stacks (deep text).
	clear(c.keys[:c.keysUsed])
	clear(c.frames[:c.framesUsed])
	if cap(c.frames) <= maxPooledFrames && cap(c.keys) <= maxPooledKeys {
		c.b, c.fields, c.text = nil, nil, ""
		textCheckers.Put(c)
	}
	return err
}

// textCheckers keeps checkers, with their stacks, for the next body.
var textCheckers = sync.Pool{New: func() any {
	return &textChecker{frames: make([]textFrame, 0, 16), keys: make([][]byte, 0, 64)}
}}

// Checkers whose stacks grew beyond these are not kept.
const (
	maxPooledFrames = 256
	maxPooledKeys   = 1024
)

// textFrame is an open array or object.
type textFrame struct {
	array bool
	index int    // arrays: the element being read
	key   []byte // objects: the key being read, as decoded
	keys0 int    // objects: where its keys start in textChecker.keys
	seen  map[string]struct{}
}

// textChecker reads one JSON text for checkJSONFields.
type textChecker struct {
	b      []byte
	prefix string
	fields []textFields
	text   string // b as a string, made for the first object with a set
	frames []textFrame
	keys   [][]byte // the keys of the open objects, innermost last
	// The most of frames and keys this run used, to clear them after.
	framesUsed, keysUsed int
}

// States of textChecker.run.
const (
	wantValue  = iota // a value starts here
	wantKey           // a key starts here
	afterValue        // a value ended: ',', ']', '}' or the end
)

func (c *textChecker) run() *textError {
	c.frames, c.framesUsed = c.frames[:0], 0
	c.keys, c.keysUsed = c.keys[:0], 0
	b := c.b
	i := 0
	state := wantValue
	for {
		i = skipSpace(b, i)
		if i >= len(b) {
			return nil // the end, or text cut short: the decoder says
		}
		switch state {
		case wantValue:
			switch b[i] {
			case '{', '[':
				if len(c.frames) >= maxTextDepth {
					return nil
				}
				array := b[i] == '['
				c.frames = append(c.frames, textFrame{array: array, keys0: len(c.keys)})
				c.framesUsed = max(c.framesUsed, len(c.frames))
				i = skipSpace(b, i+1)
				switch {
				case i < len(b) && (b[i] == ']' || b[i] == '}'):
					state = afterValue // empty: closed there
				case !array:
					state = wantKey
				}
				continue
			case '"':
				end, fault, esc := c.str(i + 1)
				if fault != strOK {
					return c.valueError(fault, esc)
				}
				i = end + 1
			default:
				// A number, true, false or null: up to the next
				// delimiter. What it is, the decoder checks.
				j := i
				for j < len(b) && !isDelim(b[j]) {
					j++
				}
				if j == i {
					return nil
				}
				i = j
			}
			state = afterValue
		case wantKey:
			if b[i] != '"' {
				return nil
			}
			end, fault, esc := c.str(i + 1)
			if fault != strOK {
				return c.keyError(i+1, fault, esc)
			}
			if err := c.addKey(i+1, end); err != nil {
				return err
			}
			i = skipSpace(b, end+1)
			if i >= len(b) || b[i] != ':' {
				return nil
			}
			i++
			state = wantValue
		case afterValue:
			if len(c.frames) == 0 {
				return nil // more after the value: the decoder says
			}
			f := c.top()
			switch {
			case b[i] == ',' && f.array:
				f.index++
				state = wantValue
			case b[i] == ',':
				state = wantKey
			case b[i] == ']' && f.array, b[i] == '}' && !f.array:
				c.keys = c.keys[:f.keys0]
				c.frames = c.frames[:len(c.frames)-1]
			default:
				return nil
			}
			i++
		}
	}
}

func (c *textChecker) top() *textFrame { return &c.frames[len(c.frames)-1] }

// strFault is what is wrong with a string.
type strFault int

const (
	strOK        strFault = iota
	strSyntax             // not a well-formed string: the decoder says
	strUTF8               // invalid UTF-8
	strSurrogate          // an unpaired surrogate escape
)

// str reads the string whose contents start at b[i]. It returns the index
// of its closing quote (-1 for a fault) and, for strSurrogate, the escape
// at fault.
//
// It finds the next quote and the next backslash with bytes.IndexByte,
// each searched for again only once passed, so a string with many escapes
// is read in linear time.
func (c *textChecker) str(i int) (end int, fault strFault, escape string) {
	b := c.b
	// Most strings are short and ASCII without escapes: read up to
	// shortString bytes one by one before searching.
	for n := min(len(b), i+shortString); i < n; i++ {
		if ch := b[i]; ch == '"' {
			return i, strOK, ""
		} else if ch == '\\' || ch >= utf8.RuneSelf {
			break
		}
	}
	quote, slash := -1, -1
	for {
		if quote < i {
			q := bytes.IndexByte(b[i:], '"')
			if q < 0 {
				return -1, strSyntax, ""
			}
			quote = i + q
		}
		if slash < i {
			slash = quote // no backslash before the quote, unless found
			if s := bytes.IndexByte(b[i:quote], '\\'); s >= 0 {
				slash = i + s
			}
		}
		if !utf8.Valid(b[i:slash]) {
			return -1, strUTF8, ""
		}
		if slash == quote {
			return quote, strOK, ""
		}
		// An escape at b[slash].
		if slash+1 >= len(b) {
			return -1, strSyntax, ""
		}
		if b[slash+1] != 'u' {
			i = slash + 2
			continue
		}
		r, ok := hex4(b, slash+2)
		if !ok {
			return -1, strSyntax, ""
		}
		i = slash + 6
		switch {
		case r >= 0xd800 && r < 0xdc00: // high: a low one must follow
			if lo, ok := hex4(b, i+2); ok && b[i] == '\\' && b[i+1] == 'u' && lo >= 0xdc00 && lo < 0xe000 {
				i += 6
				continue
			}
		case r >= 0xdc00 && r < 0xe000: // low, with no high before
		default:
			continue
		}
		return -1, strSurrogate, string(b[slash : slash+6])
	}
}

// valueError is the error about a string value at the current location.
func (c *textChecker) valueError(fault strFault, escape string) *textError {
	switch fault {
	case strUTF8:
		return &textError{loc: c.location(), msg: "string is not valid UTF-8"}
	case strSurrogate:
		return &textError{loc: c.location(), msg: "string has an unpaired UTF-16 surrogate escape, " + escape + ", which is no character"}
	}
	return nil
}

// keyError is the error about the key whose contents start at b[start],
// located at the key itself, as sent (escapes and all, invalid UTF-8 as
// U+FFFD).
func (c *textChecker) keyError(start int, fault strFault, escape string) *textError {
	if fault == strSyntax {
		return nil
	}
	end := start
	for end < len(c.b) && c.b[end] != '"' {
		if c.b[end] == '\\' {
			end++
		}
		end++
	}
	c.top().key = c.b[start:min(end, len(c.b))]
	switch fault {
	case strUTF8:
		return &textError{loc: c.location(), msg: "key is not valid UTF-8"}
	default:
		return &textError{loc: c.location(), msg: "key has an unpaired UTF-16 surrogate escape, " + escape + ", which is no character"}
	}
}

// addKey records the key whose contents are b[start:end] in the innermost
// object, and refuses it if the object has it already.
func (c *textChecker) addKey(start, end int) *textError {
	f := c.top()
	key := c.b[start:end]
	decoded := "" // key as a string, when it had escapes
	if bytes.IndexByte(key, '\\') >= 0 {
		// Rare: compare what the escapes stand for ("\u0061" is "a").
		var ok bool
		if decoded, ok = decodeString(c.b[start-1 : end+1]); !ok {
			return nil // the decoder says why
		}
		key = []byte(decoded)
	}
	f.key = key
	if err := c.checkField(key); err != nil {
		return err
	}
	keys := c.keys[f.keys0:]
	switch {
	case f.seen != nil:
	case len(keys) < linearKeys:
		for _, k := range keys {
			if bytes.Equal(k, key) {
				return c.duplicate()
			}
		}
		c.keys = append(c.keys, key)
		c.keysUsed = max(c.keysUsed, len(c.keys))
		return nil
	default: // one key too many for comparing one by one
		f.seen = make(map[string]struct{}, 4*linearKeys)
		for _, k := range keys {
			f.seen[string(k)] = struct{}{}
		}
		c.keys = c.keys[:f.keys0] // the set has them now
	}
	// The set's keys are cut from one copy of the text, not copied one
	// by one.
	skey := decoded
	if skey == "" {
		if c.text == "" {
			c.text = string(c.b)
		}
		skey = c.text[start:end]
	}
	if _, dup := f.seen[skey]; dup {
		return c.duplicate()
	}
	f.seen[skey] = struct{}{}
	return nil
}

// decodeString decodes the JSON string quoted.
func decodeString(quoted []byte) (string, bool) {
	var s string
	err := json.Unmarshal(quoted, &s)
	return s, err == nil
}

// checkField refuses key if it is a field's name in other case, in an
// object whose fields c knows.
func (c *textChecker) checkField(key []byte) *textError {
	for _, fs := range c.fields {
		if fs.depth != len(c.frames) {
			continue
		}
		for _, name := range fs.names {
			if string(key) == name {
				return nil
			}
		}
		for _, name := range fs.names {
			if bytes.EqualFold(key, []byte(name)) {
				return &textError{loc: c.location(), msg: "unexpected property: names are case-sensitive (" + name + ")", unexpected: true}
			}
		}
	}
	return nil
}

func (c *textChecker) duplicate() *textError {
	return &textError{loc: c.location(), msg: "duplicate key: an object may have each key once"}
}

// location is where the reader is, as the API names locations:
// "body.data.items[2].sku".
func (c *textChecker) location() string {
	var sb strings.Builder
	sb.WriteString(c.prefix)
	for i := range c.frames {
		f := &c.frames[i]
		if f.array {
			sb.WriteByte('[')
			sb.WriteString(strconv.Itoa(f.index))
			sb.WriteByte(']')
			continue
		}
		if f.key == nil {
			continue // no key read yet
		}
		if sb.Len() > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strings.ToValidUTF8(string(f.key), "\uFFFD"))
	}
	return sb.String()
}

// hex4 reads the 4 hex digits at b[i:i+4].
func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, h := range b[i : i+4] {
		switch {
		case h >= '0' && h <= '9':
			h -= '0'
		case h >= 'a' && h <= 'f':
			h -= 'a' - 10
		case h >= 'A' && h <= 'F':
			h -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(h)
	}
	return r, true
}

// skipSpace returns the index of the first byte at or after i that is not
// JSON whitespace.
func skipSpace(b []byte, i int) int {
	for i < len(b) {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			i++
		default:
			return i
		}
	}
	return i
}

// isDelim reports whether c ends a number or literal.
func isDelim(c byte) bool {
	switch c {
	case ',', ']', '}', ':', '"', '[', '{', ' ', '\t', '\n', '\r':
		return true
	}
	return false
}
