package api

import (
	"bytes"
	"encoding/json"
	"io"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
)

// jsonFormat is huma's JSON format (no HTML escaping, one value per line)
// with a fast path for an event. encoding/json checks and compacts every
// json.RawMessage it writes; an event's data and previous attributes are
// already both (ingest compacts them, the store keeps them so), so they
// are copied into the answer as they are. For a 64 KiB event that is most
// of the cost of answering.
//
// Bodies are read by unmarshalJSON, which refuses JSON text that readers
// may read differently (see checkJSONText).
var jsonFormat = huma.Format{Marshal: marshalJSON, Unmarshal: unmarshalJSON}

// unmarshalJSON is json.Unmarshal for the request bodies huma decodes,
// which first checks the text with checkJSONText. huma answers its error
// 400 at "body"; tidyErrors locates it (see textErrorDetail).
func unmarshalJSON(data []byte, v any) error {
	if err := checkJSONText(data, "body"); err != nil {
		return err
	}
	return json.Unmarshal(data, v)
}

func marshalJSON(w io.Writer, v any) error {
	if ev, ok := v.(*hook.Event); ok && ev != nil {
		return writeEvent(w, ev)
	}
	return encodeJSON(w, v)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Placeholders for the raw members: the rest of the event is encoded as
// usual with these in their place, then they are replaced. The other
// members are strings, numbers, booleans and times, so the first
// occurrence of each (quotes unescaped) can only be the member itself.
var (
	dataMember = []byte(`,"data":0`)
	prevMember = []byte(`,"previous_attributes":1`)
)

// writeEvent writes ev as encodeJSON would, without re-reading its data.
func writeEvent(w io.Writer, ev *hook.Event) error {
	hasPrev := len(ev.PreviousAttributes) > 0
	if !isObject(ev.Data) || (hasPrev && !isObject(ev.PreviousAttributes)) {
		return encodeJSON(w, ev)
	}
	head := *ev
	head.Data = json.RawMessage("0")
	if hasPrev {
		head.PreviousAttributes = json.RawMessage("1")
	}
	var small bytes.Buffer
	if err := encodeJSON(&small, &head); err != nil {
		return err
	}
	s := small.Bytes()
	var out bytes.Buffer
	out.Grow(len(s) + len(ev.Data) + len(ev.PreviousAttributes))
	i := bytes.Index(s, dataMember)
	if i < 0 {
		return encodeJSON(w, ev)
	}
	out.Write(s[:i+len(dataMember)-1])
	out.Write(ev.Data)
	s = s[i+len(dataMember):]
	if hasPrev {
		j := bytes.Index(s, prevMember)
		if j < 0 {
			return encodeJSON(w, ev)
		}
		out.Write(s[:j+len(prevMember)-1])
		out.Write(ev.PreviousAttributes)
		s = s[j+len(prevMember):]
	}
	out.Write(s)
	_, err := w.Write(out.Bytes())
	return err
}

// isObject is a cheap sanity check of stored raw JSON: an object's
// delimiters at both ends.
func isObject(b []byte) bool {
	return len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}'
}

// compactJSON appends src, valid JSON, to dst without its insignificant
// whitespace. Most publishers send compact JSON already; one look through
// src for whitespace outside strings is cheaper than json.Compact, which
// checks the syntax all over again.
func compactJSON(dst *bytes.Buffer, src []byte) error {
	if isCompact(src) {
		dst.Write(src)
		return nil
	}
	return json.Compact(dst, src)
}

// isCompact reports whether valid JSON b has no whitespace outside its
// strings.
func isCompact(b []byte) bool {
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case ' ', '\t', '\n', '\r':
			return false
		case '"':
			if i = stringEnd(b, i+1); i < 0 {
				return false // not valid JSON: let json.Compact say so
			}
		}
	}
	return true
}

// stringEnd returns the index of the quote that ends the string whose
// contents start at b[i], or -1. The next quote is searched for again
// only once passed (it was escaped), so a string with many escapes is
// read in linear time: searching for it again after each escape took
// seconds for a 1 MiB string of "\n".
func stringEnd(b []byte, i int) int {
	quote := -1
	for {
		if quote < i {
			q := bytes.IndexByte(b[i:], '"')
			if q < 0 {
				return -1
			}
			quote = i + q
		}
		e := bytes.IndexByte(b[i:quote], '\\')
		if e < 0 {
			return quote
		}
		i += e + 2 // the backslash and the character it escapes
	}
}
