// Package catalog holds ready-made event type catalogs ("packs") for
// providers whose webhook contracts hookd can run: each pack lists a
// provider's event types with a description, a JSON Schema (draft 2020-12)
// for the event's data and, where the provider's reference has one, an
// example of that data.
//
// The packs are JSON files embedded from packs/<name>.json. A file is
//
//	{
//	  "name": "<pack name, the file's base name>",
//	  "schemas": {"<key>": <JSON Schema>, ...},
//	  "event_types": [
//	    {"name": "order.created", "description": "...", "schema": "<key>", "example": <data>},
//	    ...
//	  ]
//	}
//
// where each event type names its schema by key, so types that share a
// payload share one schema in the file. Plan compares a pack with a catalog
// and says what importing it would do.
package catalog

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/hookd/hookd/internal/hook"
)

//go:embed packs/*.json
var packFS embed.FS

// packFile is the form of an embedded pack file.
type packFile struct {
	Name       string                     `json:"name"`
	Schemas    map[string]json.RawMessage `json:"schemas"`
	EventTypes []packEventType            `json:"event_types"`
}

type packEventType struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Schema      string          `json:"schema"`
	Example     json.RawMessage `json:"example,omitempty"`
}

// Packs returns the pack names, sorted: flexprice, flo, opentiendas, reflow.
func Packs() []string {
	files, err := fs.Glob(packFS, "packs/*.json")
	if err != nil {
		// Only a malformed pattern makes Glob fail.
		panic(err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		names = append(names, strings.TrimSuffix(path.Base(f), ".json"))
	}
	slices.Sort(names)
	return names
}

// loaded holds every pack, parsed once, by name.
var loaded = sync.OnceValues(func() (map[string][]*hook.EventType, error) {
	packs := make(map[string][]*hook.EventType)
	for _, name := range Packs() {
		raw, err := packFS.ReadFile("packs/" + name + ".json")
		if err != nil {
			return nil, err
		}
		types, err := parsePack(name, raw)
		if err != nil {
			return nil, fmt.Errorf("catalog: pack %s: %w", name, err)
		}
		packs[name] = types
	}
	return packs, nil
})

// parsePack decodes and checks one pack file. The event types come back
// sorted by name, with compact schemas and examples.
func parsePack(name string, raw []byte) ([]*hook.EventType, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var pf packFile
	if err := dec.Decode(&pf); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("trailing data after the pack object")
	}
	if pf.Name != name {
		return nil, fmt.Errorf("names itself %q", pf.Name)
	}
	if len(pf.EventTypes) == 0 {
		return nil, errors.New("has no event types")
	}
	schemas := make(map[string]json.RawMessage, len(pf.Schemas))
	for key, s := range pf.Schemas {
		c, err := compactJSON(s)
		if err != nil {
			return nil, fmt.Errorf("schemas.%s: %w", key, err)
		}
		if len(c) == 0 || c[0] != '{' {
			return nil, fmt.Errorf("schemas.%s: is not a JSON object", key)
		}
		schemas[key] = c
	}
	seen := make(map[string]bool, len(pf.EventTypes))
	types := make([]*hook.EventType, 0, len(pf.EventTypes))
	for i, pe := range pf.EventTypes {
		field := fmt.Sprintf("event_types[%d]", i)
		if err := hook.ValidateEventTypeName(field+".name", pe.Name); err != nil {
			return nil, err
		}
		if seen[pe.Name] {
			return nil, fmt.Errorf("%s: %s is listed twice", field, pe.Name)
		}
		seen[pe.Name] = true
		if strings.TrimSpace(pe.Description) == "" {
			return nil, fmt.Errorf("%s: %s has no description", field, pe.Name)
		}
		if err := hook.ValidateDescription(field+".description", pe.Description); err != nil {
			return nil, err
		}
		schema, ok := schemas[pe.Schema]
		if !ok {
			return nil, fmt.Errorf("%s: %s names schema %q, which the pack does not define", field, pe.Name, pe.Schema)
		}
		et := &hook.EventType{Name: pe.Name, Description: pe.Description, Schema: schema}
		if !isNull(pe.Example) {
			ex, err := compactJSON(pe.Example)
			if err != nil {
				return nil, fmt.Errorf("%s: example: %w", field, err)
			}
			et.Example = ex
		}
		types = append(types, et)
	}
	slices.SortFunc(types, func(a, b *hook.EventType) int { return strings.Compare(a.Name, b.Name) })
	return types, nil
}

// Pack returns a pack's event types, sorted by name, with Name, Description,
// Schema and, where the pack has one, Example set; Archived is false and the
// times are zero. The result is the caller's to change. An unknown name is
// a hook.ENotFound error that lists the packs there are.
func Pack(name string) ([]*hook.EventType, error) {
	packs, err := loaded()
	if err != nil {
		return nil, err
	}
	types, ok := packs[name]
	if !ok {
		return nil, hook.Errorf(hook.ENotFound, "pack", "no pack is named %q; the packs are %s", name, strings.Join(Packs(), ", "))
	}
	out := make([]*hook.EventType, len(types))
	for i, et := range types {
		out[i] = &hook.EventType{
			Name:        et.Name,
			Description: et.Description,
			Schema:      bytes.Clone(et.Schema),
			Example:     bytes.Clone(et.Example),
		}
	}
	return out, nil
}

// compactJSON checks that raw is one JSON value and returns it without
// insignificant space.
func compactJSON(raw json.RawMessage) (json.RawMessage, error) {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}
