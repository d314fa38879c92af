package api

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

type eventTypeOutput struct {
	Body *hook.EventType
}

// EventTypeParam is the {name} path parameter.
type EventTypeParam struct {
	Name string `path:"name" doc:"The event type's name, e.g. order.created."`
}

type eventTypeCreateRequest struct {
	Name        string          `json:"name" doc:"resource.action: segments of letters, digits, '_' and '-', separated by dots." example:"order.created"`
	Description string          `json:"description,omitempty" maxLength:"4096"`
	Schema      json.RawMessage `json:"schema,omitempty" doc:"A JSON Schema object (draft 2020-12 unless it says otherwise) that the data of events of this type must match."`
	Example     json.RawMessage `json:"example,omitempty" doc:"An example of the data of an event of this type (any JSON); checked against the schema."`
}

type eventTypePatchRequest struct {
	Description *string         `json:"description,omitempty" maxLength:"4096"`
	Schema      json.RawMessage `json:"schema,omitempty" doc:"A new JSON Schema object; null removes the schema."`
	Example     json.RawMessage `json:"example,omitempty" doc:"A new example (any JSON); null removes it."`
	Archived    *bool           `json:"archived,omitempty" doc:"false unarchives the type; true archives it."`
}

// normEventType returns a copy of et for an answer, without null schema
// or example.
func normEventType(et *hook.EventType) *hook.EventType {
	if et == nil {
		return nil
	}
	c := *et
	if isNull(c.Schema) {
		c.Schema = nil
	}
	if isNull(c.Example) {
		c.Example = nil
	}
	return &c
}

// compact returns raw without insignificant space.
func compact(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return raw
	}
	return b.Bytes()
}

func (s *server) registerEventTypes() {
	huma.Register(s.api, s.operation(scopeAdmin, http.MethodPost, "/v1/event-types", "create-event-type", "Event types", "Add an event type to the catalog", http.StatusCreated),
		func(ctx context.Context, in *struct{ Body eventTypeCreateRequest }) (*eventTypeOutput, error) {
			b := &in.Body
			var errs []*huma.ErrorDetail
			errs = collect(errs, hook.ValidateEventTypeName("name", b.Name), "body", "name", b.Name)
			errs = collect(errs, hook.ValidateDescription("description", b.Description), "body", "description", nil)
			p := &store.CreateEventTypeParams{Name: b.Name, Description: b.Description, Now: s.now().UTC()}
			if !isNull(b.Schema) {
				sch, err := compileSchema(b.Schema)
				if err != nil {
					errs = append(errs, &huma.ErrorDetail{Location: "body.schema", Message: err.Error()})
				} else if !isNull(b.Example) {
					errs = append(errs, validateJSON(sch, b.Example, "body.example")...)
				}
				p.Schema = compact(b.Schema)
			}
			if !isNull(b.Example) {
				p.Example = compact(b.Example)
			}
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			if err := s.checkEventTypeLimit(ctx, b.Name); err != nil {
				return nil, err
			}
			et, err := s.store.CreateEventType(ctx, p)
			s.types.invalidate(b.Name)
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			return &eventTypeOutput{Body: normEventType(et)}, nil
		})

	huma.Register(s.api, s.operation(scopeAny, http.MethodGet, "/v1/event-types", "list-event-types", "Event types", "List the catalog, in name order", http.StatusOK),
		func(ctx context.Context, in *struct {
			ListQuery
			IncludeArchived bool `query:"include_archived" doc:"Also list archived types."`
		}) (*listOutput[*hook.EventType], error) {
			p, err := s.store.ListEventTypes(ctx, &store.ListEventTypesParams{ListParams: in.ListQuery.params(), IncludeArchived: in.IncludeArchived})
			if err != nil {
				return nil, s.fail(ctx, err, "query")
			}
			for i, et := range p.Data {
				p.Data[i] = normEventType(et)
			}
			return &listOutput[*hook.EventType]{Body: newList(p)}, nil
		})

	huma.Register(s.api, s.operation(scopeAny, http.MethodGet, "/v1/event-types/{name}", "get-event-type", "Event types", "Get an event type", http.StatusOK),
		func(ctx context.Context, in *EventTypeParam) (*eventTypeOutput, error) {
			et, err := s.store.GetEventType(ctx, in.Name)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			return &eventTypeOutput{Body: normEventType(et)}, nil
		})

	huma.Register(s.api, s.operation(scopeAdmin, http.MethodPatch, "/v1/event-types/{name}", "update-event-type", "Event types", "Update an event type", http.StatusOK),
		func(ctx context.Context, in *struct {
			EventTypeParam
			Body eventTypePatchRequest
		}) (*eventTypeOutput, error) {
			b := &in.Body
			cur, err := s.store.GetEventType(ctx, in.Name)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			p := &store.UpdateEventTypeParams{Name: cur.Name, Description: b.Description, Archived: b.Archived, Now: s.now().UTC()}
			var errs []*huma.ErrorDetail
			if b.Description != nil {
				errs = collect(errs, hook.ValidateDescription("description", *b.Description), "body", "description", nil)
			}
			schema, example := cur.Schema, cur.Example
			if b.Schema != nil {
				schema = nil
				if !isNull(b.Schema) {
					schema = compact(b.Schema)
				}
				p.Schema = nullable(schema)
			}
			if b.Example != nil {
				example = nil
				if !isNull(b.Example) {
					example = compact(b.Example)
				}
				p.Example = nullable(example)
			}
			if b.Schema != nil && !isNull(schema) {
				sch, err := compileSchema(schema)
				switch {
				case err != nil:
					errs = append(errs, &huma.ErrorDetail{Location: "body.schema", Message: err.Error()})
				case !isNull(example) && b.Example != nil:
					errs = append(errs, validateJSON(sch, example, "body.example")...)
				case !isNull(example):
					if ds := validateJSON(sch, example, "example"); len(ds) > 0 {
						errs = append(errs, &huma.ErrorDetail{Location: "body.schema",
							Message: "the event type's example does not match this schema (" + ds[0].Location + ": " + ds[0].Message + "); send a new example with it"})
					}
				}
			} else if b.Example != nil && !isNull(example) && !isNull(schema) {
				sch, err := compileSchema(schema)
				if err == nil {
					errs = append(errs, validateJSON(sch, example, "body.example")...)
				}
			}
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			et, err := s.store.UpdateEventType(ctx, p)
			s.types.invalidate(cur.Name)
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			return &eventTypeOutput{Body: normEventType(et)}, nil
		})

	huma.Register(s.api, s.operation(scopeAdmin, http.MethodDelete, "/v1/event-types/{name}", "archive-event-type", "Event types", "Archive an event type (PATCH archived=false brings it back)", http.StatusNoContent),
		func(ctx context.Context, in *EventTypeParam) (*struct{}, error) {
			archived := true
			_, err := s.store.UpdateEventType(ctx, &store.UpdateEventTypeParams{Name: in.Name, Archived: &archived, Now: s.now().UTC()})
			s.types.invalidate(in.Name)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			return nil, nil
		})
}

// nullable returns a pointer to raw, or to JSON null when raw is empty: the
// store's way to say "remove".
func nullable(raw json.RawMessage) *json.RawMessage {
	if raw == nil {
		null := json.RawMessage("null")
		return &null
	}
	return &raw
}
