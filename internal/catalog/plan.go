package catalog

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// ImportPlan says what importing a pack into a catalog does. Every list is
// in the pack's order and is empty, not nil, when nothing falls in it.
type ImportPlan struct {
	// Create holds the pack's types whose names the catalog does not have.
	Create []*hook.EventType `json:"create"`
	// Update holds the pack's types whose names the catalog has with
	// another definition (description, schema or example) or archived:
	// importing them replaces (and unarchives) the catalog's entry.
	Update []*hook.EventType `json:"update"`
	// Same names the types the catalog already has, identical and not
	// archived: importing leaves them alone.
	Same []string `json:"same"`
	// Conflicts names the Update types. An import that does not ask to
	// replace existing types is refused while there are any.
	Conflicts []string `json:"conflicts"`
}

// Plan compares a pack (as Pack returns it) with the current catalog,
// existing by name, and says what importing the pack does. Descriptions
// compare as strings; schemas and examples compare as JSON values, so
// spacing, key order and the spelling of numbers (1, 1.0, 1e0) do not
// matter, and an absent value equals JSON null.
func Plan(existing map[string]*hook.EventType, pack []*hook.EventType) *ImportPlan {
	p := &ImportPlan{
		Create:    []*hook.EventType{},
		Update:    []*hook.EventType{},
		Same:      []string{},
		Conflicts: []string{},
	}
	for _, et := range pack {
		if et == nil {
			continue
		}
		cur := existing[et.Name]
		switch {
		case cur == nil:
			p.Create = append(p.Create, et)
		case cur.Archived || !sameDefinition(cur, et):
			p.Update = append(p.Update, et)
			p.Conflicts = append(p.Conflicts, et.Name)
		default:
			p.Same = append(p.Same, et.Name)
		}
	}
	return p
}

// sameDefinition reports whether a and b have the same description, schema
// and example.
func sameDefinition(a, b *hook.EventType) bool {
	return a.Description == b.Description && jsonEqual(a.Schema, b.Schema) && jsonEqual(a.Example, b.Example)
}

// jsonEqual reports whether a and b are the same JSON value. Absent and
// null are equal. Input that is not JSON is compared byte for byte.
func jsonEqual(a, b json.RawMessage) bool {
	if isNull(a) || isNull(b) {
		return isNull(a) && isNull(b)
	}
	va, errA := decodeJSON(a)
	vb, errB := decodeJSON(b)
	if errA != nil || errB != nil {
		return bytes.Equal(bytes.TrimSpace(a), bytes.TrimSpace(b))
	}
	return valueEqual(va, vb)
}

// decodeJSON decodes one JSON value, keeping numbers as written.
func decodeJSON(raw json.RawMessage) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, io.ErrUnexpectedEOF
	}
	return v, nil
}

// valueEqual compares two decoded JSON values; numbers compare by value,
// exactly.
func valueEqual(a, b any) bool {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !valueEqual(xv, yv) {
				return false
			}
		}
		return true
	case []any:
		y, ok := b.([]any)
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !valueEqual(x[i], y[i]) {
				return false
			}
		}
		return true
	case json.Number:
		y, ok := b.(json.Number)
		if !ok {
			return false
		}
		if x == y {
			return true
		}
		cx, okx := canonNumber(string(x))
		cy, oky := canonNumber(string(y))
		return okx && oky && cx == cy
	case string:
		y, ok := b.(string)
		return ok && x == y
	case bool:
		y, ok := b.(bool)
		return ok && x == y
	case nil:
		return b == nil
	default:
		return false
	}
}

// decimal is a JSON number in a canonical form: its value is
// (-1 if neg) * digits * 10^exp, digits without leading or trailing zeros
// ("0" for zero, which is never negative).
type decimal struct {
	neg    bool
	digits string
	exp    int64
}

// canonNumber puts a JSON number in canonical form, so that 1, 1.0, 10e-1
// and 0.1e1 compare equal without arbitrary-precision arithmetic (which a
// number such as 1e999999999 would make costly). ok is false for what is
// not a JSON number or has an exponent out of range.
func canonNumber(s string) (d decimal, ok bool) {
	if rest, found := strings.CutPrefix(s, "-"); found {
		d.neg, s = true, rest
	}
	mant, expPart, hasExp := strings.Cut(strings.ToLower(s), "e")
	intPart, frac, _ := strings.Cut(mant, ".")
	if intPart == "" || strings.Trim(intPart+frac, "0123456789") != "" {
		return d, false
	}
	if hasExp {
		e, err := strconv.ParseInt(expPart, 10, 64)
		if err != nil || e > 1<<52 || e < -(1<<52) {
			return d, false
		}
		d.exp = e
	}
	digits := strings.TrimLeft(intPart+frac, "0")
	d.exp -= int64(len(frac))
	if digits == "" {
		return decimal{digits: "0"}, true
	}
	trimmed := strings.TrimRight(digits, "0")
	d.exp += int64(len(digits) - len(trimmed))
	d.digits = trimmed
	return d, true
}
