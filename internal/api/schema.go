package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// schemaURL names an event type's schema while it compiles.
const schemaURL = "mem://hookd/schema.json"

// maxSchemaErrors bounds the error details of one failed validation.
const maxSchemaErrors = 50

var printer = message.NewPrinter(language.English)

// noLoader refuses every external $ref: a schema is one self-contained
// document, and saving one must not read files or reach the network.
type noLoader struct{}

func (noLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("external reference %s is not allowed: a schema must be self-contained", u)
}

// isNull reports whether raw is absent or JSON null.
func isNull(raw json.RawMessage) bool {
	return len(raw) == 0 || string(bytes.TrimSpace(raw)) == "null"
}

// compileSchema compiles a JSON Schema (draft 2020-12 unless it says
// otherwise, formats asserted). The error message is for the client.
func compileSchema(raw json.RawMessage) (*jsonschema.Schema, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, err
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("must be a JSON Schema object")
	}
	c := jsonschema.NewCompiler()
	c.UseLoader(noLoader{})
	c.DefaultDraft(jsonschema.Draft2020)
	c.AssertFormat()
	if err := c.AddResource(schemaURL, doc); err != nil {
		return nil, err
	}
	sch, err := c.Compile(schemaURL)
	if err != nil {
		var sve *jsonschema.SchemaValidationError
		if errors.As(err, &sve) {
			return nil, fmt.Errorf("is not a valid JSON Schema: %s", sve.Err.Error())
		}
		return nil, errors.New(strings.ReplaceAll(err.Error(), schemaURL, "schema"))
	}
	return sch, nil
}

// validateJSON validates raw JSON against sch and returns one error detail
// per leaf error, located under prefix (e.g. "body.data.customer.email").
// It returns nil when raw is valid.
func validateJSON(sch *jsonschema.Schema, raw json.RawMessage, prefix string) []*huma.ErrorDetail {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []*huma.ErrorDetail{{Location: prefix, Message: "is not valid JSON"}}
	}
	err = sch.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return []*huma.ErrorDetail{{Location: prefix, Message: err.Error()}}
	}
	var out []*huma.ErrorDetail
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(out) >= maxSchemaErrors {
			return
		}
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		loc, val := locate(prefix, v, e.InstanceLocation)
		if req, ok := e.ErrorKind.(*kind.Required); ok {
			for _, name := range req.Missing {
				out = append(out, &huma.ErrorDetail{Location: loc + "." + name, Message: "is required"})
			}
			return
		}
		d := &huma.ErrorDetail{Location: loc, Message: e.ErrorKind.LocalizedString(printer)}
		switch val.(type) {
		case map[string]any, []any:
			// Not echoed: it may be big.
		default:
			d.Value = val
		}
		out = append(out, d)
	}
	walk(ve)
	if len(out) == 0 {
		out = append(out, &huma.ErrorDetail{Location: prefix, Message: ve.Error()})
	}
	return out
}

// locate turns a JSON instance location into "prefix.a.b[2].c" and returns
// the value found there.
func locate(prefix string, v any, tokens []string) (string, any) {
	var sb strings.Builder
	sb.WriteString(prefix)
	for _, tok := range tokens {
		switch x := v.(type) {
		case []any:
			i, _ := strconv.Atoi(tok)
			sb.WriteString("[" + tok + "]")
			if i >= 0 && i < len(x) {
				v = x[i]
			} else {
				v = nil
			}
		case map[string]any:
			sb.WriteString("." + tok)
			v = x[tok]
		default:
			sb.WriteString("." + tok)
			v = nil
		}
	}
	return sb.String(), v
}

// typeInfo is what ingest needs to know of an event type.
type typeInfo struct {
	// schema is the compiled schema events of the type must match; nil
	// when the type is unknown, archived or has no schema.
	schema *jsonschema.Schema
	// defined is true when the catalog has the type and has not archived
	// it: what a strict catalog accepts.
	defined bool
}

// typeCache caches, per event type name, what ingest needs, for a short
// TTL; writes through this node invalidate it. Compiled schemas are kept by
// name and UpdatedAt, so a refresh that finds the same version does not
// compile again.
type typeCache struct {
	store   store.Store
	log     *slog.Logger
	entries *ttlCache[*typeInfo]

	mu       sync.Mutex
	compiled map[string]compiledSchema // by name
}

type compiledSchema struct {
	updatedAt time.Time
	schema    *jsonschema.Schema
}

func newTypeCache(st store.Store, ttl time.Duration, log *slog.Logger) *typeCache {
	return &typeCache{
		store:    st,
		log:      log,
		entries:  newTTLCache[*typeInfo](ttl),
		compiled: make(map[string]compiledSchema),
	}
}

// noTypeInfo is the info of a type the catalog lacks or has archived;
// definedTypeInfo of one it defines with no schema.
var (
	noTypeInfo      = &typeInfo{}
	definedTypeInfo = &typeInfo{defined: true}
)

func (c *typeCache) get(ctx context.Context, name string) (*typeInfo, error) {
	if ti, ok := c.entries.get(name); ok {
		return ti, nil
	}
	et, err := c.store.GetEventType(ctx, name)
	if err != nil {
		if hook.ErrorCode(err) == hook.ENotFound {
			c.entries.put(noTypeInfo, name)
			return noTypeInfo, nil
		}
		return nil, err
	}
	ti := noTypeInfo
	if !et.Archived {
		ti = definedTypeInfo
		if !isNull(et.Schema) {
			if sch := c.compile(et); sch != nil {
				ti = &typeInfo{schema: sch, defined: true}
			}
		}
	}
	c.entries.put(ti, name)
	return ti, nil
}

func (c *typeCache) compile(et *hook.EventType) *jsonschema.Schema {
	c.mu.Lock()
	cs, ok := c.compiled[et.Name]
	c.mu.Unlock()
	if ok && cs.updatedAt.Equal(et.UpdatedAt) {
		return cs.schema
	}
	sch, err := compileSchema(et.Schema)
	if err != nil {
		// It compiled when it was saved; a stored schema that does not is
		// hookd's problem, not the publisher's: accept events unchecked.
		c.log.Error("api: stored event type schema does not compile", "event_type", et.Name, "err", err)
		return nil
	}
	c.mu.Lock()
	if len(c.compiled) >= maxCacheEntries {
		clear(c.compiled)
	}
	c.compiled[et.Name] = compiledSchema{updatedAt: et.UpdatedAt, schema: sch}
	c.mu.Unlock()
	return sch
}

// invalidate forgets what is cached of the named type.
func (c *typeCache) invalidate(name string) { c.entries.delete(name) }
