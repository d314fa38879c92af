package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const eventsPath = "/v1/apps/{app}/events"

// eventCreateRequest documents the body of POST /v1/apps/{app}/events. The
// route parses the body itself (see parseEventBody): once, keeping data's
// bytes as they came (compacted).
type eventCreateRequest struct {
	Type               string          `json:"type" doc:"The event type: resource.action, e.g. order.created. If the catalog has it with a schema, data must match the schema. With a strict catalog (the app's catalog, else HOOKD_CATALOG), the catalog must define it, unarchived." example:"order.created"`
	Data               json.RawMessage `json:"data" doc:"The payload: a JSON object, delivered as sent. For flo apps, only the keys Flo's contract places: user, the type's resource (subscription, item, invoice), invoiceDetails and, on invoice events, subscription and item."`
	ID                 string          `json:"id,omitempty" doc:"Your id for the event, also its idempotency key: publishing the same id again returns the stored event. Generated when absent (or taken from the Idempotency-Key header), in the format of the app's profile (evt_ and 40 hex digits for reflow, a UUID v4 for opentiendas). An opentiendas app takes only a lowercase UUID v4 here and in the header." example:"ord_1234_created"`
	PreviousAttributes json.RawMessage `json:"previous_attributes,omitempty" doc:"For *.updated events: the old values of what changed (an object). Refused on other types for reflow apps, and on every type for flo apps, whose contracts have no place for it."`
	Livemode           *bool           `json:"livemode,omitempty" doc:"false marks a test event; default: the app's livemode (true unless it is a test app)."`
	RequestID          string          `json:"request_id,omitempty" maxLength:"255" doc:"The id of your API request that caused the event."`
	APIVersion         string          `json:"api_version,omitempty" maxLength:"64" doc:"The version of your API the data is shaped by; default: the app's api_version."`
}

type eventCreateInput struct {
	AppParam
	IdempotencyKey string `header:"Idempotency-Key" doc:"Used as the event id when the body has none."`
	ContentType    string `header:"Content-Type" hidden:"true"`
	RawBody        []byte `contentType:"application/json"`
}

type eventCreateOutput struct {
	Status   int
	Replayed string `header:"Idempotent-Replayed" doc:"true when an event with this id already existed: it is returned and nothing is published again."`
	Body     *hook.Event
}

type eventOutput struct {
	Body *hook.Event
}

// eventBody is what parseEventBody decodes into: pointers tell absent
// fields from empty ones.
type eventBody struct {
	Type               *string         `json:"type"`
	Data               json.RawMessage `json:"data"`
	ID                 *string         `json:"id"`
	PreviousAttributes json.RawMessage `json:"previous_attributes"`
	Livemode           *bool           `json:"livemode"`
	RequestID          *string         `json:"request_id"`
	APIVersion         *string         `json:"api_version"`
}

// eventFieldNames are the names of eventBody's fields.
var eventFieldNames = jsonFieldNames(reflect.TypeFor[eventBody]())

// eventTextFields is what checkJSONFields knows of create-event's body.
var eventTextFields = []textFields{{depth: 1, names: eventFieldNames}}

// jsonFieldNames returns the JSON names of struct type t's fields.
func jsonFieldNames(t reflect.Type) []string {
	var names []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		names = append(names, name)
	}
	return names
}

// parseEventBody decodes the body of an event once (see decodeBody).
// prefix locates the event in the request: "body" on create-event,
// "body.events[3]" for an item of a batch. The caller has checked the
// request's whole body with checkJSONText.
func parseEventBody(body []byte, prefix string) (*eventBody, error) {
	var b eventBody
	if err := decodeBody(body, prefix, &b); err != nil {
		return nil, err
	}
	return &b, nil
}

// decodeBody decodes a JSON body (or a part of one, located by prefix)
// into v: malformed JSON is a 400, a field of the wrong type or an
// unknown field a 422.
func decodeBody(body []byte, prefix string, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && len(bytes.TrimSpace(body[dec.InputOffset():])) != 0 {
		return huma.Error400BadRequest("malformed JSON body", &huma.ErrorDetail{Location: prefix, Message: "unexpected data after the JSON object"})
	}
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &te):
		want := jsonKind(te.Type)
		if te.Field == "" {
			return invalid(prefix, "expected "+want, nil)
		}
		return invalid(prefix+"."+te.Field, "expected "+want, nil)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return invalid(prefix+"."+name, "unexpected property", nil)
	case errors.Is(err, io.EOF):
		return huma.Error400BadRequest("request body is required")
	}
	return huma.Error400BadRequest("malformed JSON body", &huma.ErrorDetail{Location: prefix, Message: err.Error()})
}

// jsonKind names the JSON kind a Go type decodes from.
func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Bool:
		return "boolean"
	case reflect.Pointer:
		return jsonKind(t.Elem())
	}
	return "number"
}

func (s *server) registerEvents() {
	op := s.operation(scopeApp, http.MethodPost, eventsPath, "create-event", "Events", "Publish an event", http.StatusAccepted)
	op.Description = "Stores the event and fans it out to the app's subscribed endpoints. " +
		"Publishing an id that exists returns the stored event with `Idempotent-Replayed: true` and publishes nothing. " +
		"What the app's profile would not deliver is refused (422, the field located) rather than dropped: data keys Flo's contract " +
		"does not place (flo), previous_attributes off *.updated (reflow), an id that is not a UUID v4 (opentiendas); so is " +
		"a type a strict catalog lacks."
	op.Errors = append(op.Errors, http.StatusUnprocessableEntity)
	op.SkipValidateBody = true // parseEventBody does it, in one pass
	huma.Register(s.api, op, s.createEvent)
	s.documentEventBody()
	s.registerEventBatch()

	huma.Register(s.api, s.listOperation(eventsPath, "list-events", "Events", "List an app's events, newest first"),
		func(ctx context.Context, in *struct {
			AppParam
			ListQuery
			Type     string `query:"type" doc:"Only events of these types. Comma-separated event type names or patterns, at most 20: a '*' segment matches one segment, a final '*' one or more, as in an endpoint's event_types (order.* matches order.created and order.payment.failed; *.created matches order.created; * matches all). Keeps what matches any of them." example:"order.*,invoice.paid"`
			Since    string `query:"since" format:"date-time" doc:"Only events created at or after this time (RFC 3339)."`
			Until    string `query:"until" format:"date-time" doc:"Only events created before this time (RFC 3339); after since."`
			Livemode string `query:"livemode" enum:"true,false" doc:"true: live events only; false: test events only; absent: both."`
		}) (*listOutput[*hook.Event], error) {
			p := &store.ListEventsParams{ListParams: in.ListQuery.params(), Livemode: livemodeFilter(in.Livemode)}
			var errs []*huma.ErrorDetail
			types, d := parseTypePatterns("type", in.Type)
			if d != nil {
				errs = append(errs, d)
			}
			p.Types = types
			p.Since, p.Until, errs = timeRange(errs, in.Since, in.Until)
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			var err error
			if p.AppID, err = s.appID(ctx, in.App); err != nil {
				return nil, err
			}
			page, err := s.store.ListEvents(ctx, p)
			if err != nil {
				return nil, s.fail(ctx, err, "query")
			}
			return &listOutput[*hook.Event]{Body: newList(page)}, nil
		})

	s.registerExpunge()

	huma.Register(s.api, s.operation(scopeApp, http.MethodGet, eventsPath+"/{id}", "get-event", "Events", "Get an event", http.StatusOK),
		func(ctx context.Context, in *struct {
			AppParam
			ID string `path:"id" doc:"The event's id."`
		}) (*eventOutput, error) {
			appID, err := s.appID(ctx, in.App)
			if err != nil {
				return nil, err
			}
			ev, err := s.store.GetEvent(ctx, appID, in.ID)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			return &eventOutput{Body: ev}, nil
		})
}

// registerExpunge adds POST .../events/{id}/expunge.
func (s *server) registerExpunge() {
	op := s.operation(scopeApp, http.MethodPost, eventsPath+"/{id}/expunge", "expunge-event", "Events", "Remove an event's payload", http.StatusOK)
	op.Description = "Replaces the event's data with {} and drops its previous_attributes, for a customer's request " +
		"to erase what it held. The event, its deliveries and their attempts stay (with expunged_at set); " +
		"deliveries sent afterwards carry the empty data."
	huma.Register(s.api, op, func(ctx context.Context, in *struct {
		AppParam
		ID string `path:"id" doc:"The event's id."`
	}) (*eventOutput, error) {
		appID, err := s.appID(ctx, in.App)
		if err != nil {
			return nil, err
		}
		ev, err := s.store.ExpungeEvent(ctx, &store.ExpungeEventParams{AppID: appID, EventID: in.ID, Now: s.now().UTC()})
		if err != nil {
			return nil, s.fail(ctx, err, "path")
		}
		return &eventOutput{Body: ev}, nil
	})
}

// documentEventBody puts the request body of create-event in the OpenAPI
// document: the route reads a raw body, which huma would document as
// binary.
func (s *server) documentEventBody() {
	oapi := s.api.OpenAPI()
	reg := oapi.Components.Schemas
	ref := reg.Schema(reflect.TypeFor[eventCreateRequest](), true, "EventCreateRequest")
	if sch := reg.SchemaFromRef(ref.Ref); sch != nil {
		if data := sch.Properties["data"]; data != nil {
			data.Type = huma.TypeObject
			data.AdditionalProperties = true
		}
	}
	post := oapi.Paths[eventsPath].Post
	post.RequestBody = &huma.RequestBody{
		Required: true,
		Content:  map[string]*huma.MediaType{"application/json": {Schema: ref}},
	}
}

func (s *server) createEvent(ctx context.Context, in *eventCreateInput) (*eventCreateOutput, error) {
	if !isJSON(in.ContentType) {
		return nil, huma.Error415UnsupportedMediaType("the body must be application/json, not " + in.ContentType)
	}
	if te := checkJSONFields(in.RawBody, "body", eventTextFields); te != nil {
		return nil, te.problem()
	}
	b, err := parseEventBody(in.RawBody, "body")
	if err != nil {
		return nil, err
	}
	f, errs := checkEvent(b, "body", in.IdempotencyKey)
	if len(errs) > 0 {
		return nil, invalidAll(errs)
	}
	app, err := s.cachedApp(ctx, in.App)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	ev, err := s.buildEvent(ctx, app, f, "body")
	if err != nil {
		return nil, err
	}
	res, err := s.disp.Publish(ctx, app, ev)
	if err != nil {
		return nil, s.fail(ctx, err, "body")
	}
	out := &eventCreateOutput{Status: http.StatusAccepted, Body: ev}
	if res != nil && res.Event != nil {
		out.Body = res.Event
	}
	if res != nil && !res.Created {
		out.Replayed = "true"
	}
	return out, nil
}

// eventFields is an event as its publisher sent it, checked by checkEvent.
type eventFields struct {
	typ string
	id  string // "" when the publisher gave none
	// idFromHeader: id is the Idempotency-Key header's (the body has none).
	idFromHeader bool
	data         json.RawMessage
	prev         []byte // compacted; nil when absent
	livemode     *bool
	requestID    string
	apiVersion   string
}

// checkEvent checks a parsed event body on its own (no store needed) and
// returns every problem found, located under prefix ("body", or
// "body.events[3]" for an item of a batch). idemKey is the
// Idempotency-Key header, "" when there is none: the id when the body has
// none.
func checkEvent(b *eventBody, prefix, idemKey string) (*eventFields, []*huma.ErrorDetail) {
	var errs []*huma.ErrorDetail
	f := &eventFields{data: b.Data, livemode: b.Livemode}
	if b.Type != nil {
		f.typ = *b.Type
	}
	errs = collect(errs, hook.ValidateEventTypeName("type", f.typ), prefix, "type", f.typ)
	switch {
	case b.Data == nil:
		errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "data"), Message: "is required"})
	case b.Data[0] != '{':
		// The decoder hands a RawMessage over without leading space.
		errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "data"), Message: "must be a JSON object"})
	}
	id := idemKey
	if id != "" {
		errs = collect(errs, hook.ValidateEventID("Idempotency-Key", id), "header", "Idempotency-Key", id)
	}
	if b.ID != nil {
		errs = collect(errs, hook.ValidateEventID("id", *b.ID), prefix, "id", *b.ID)
		if id != "" && *b.ID != id {
			errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "id"), Message: "differs from the Idempotency-Key header", Value: *b.ID})
		}
		id = *b.ID
	}
	f.id = id
	f.idFromHeader = b.ID == nil && id != ""
	if b.PreviousAttributes != nil && string(b.PreviousAttributes) != "null" {
		if b.PreviousAttributes[0] != '{' {
			errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "previous_attributes"), Message: "must be a JSON object"})
		} else {
			var buf bytes.Buffer
			if err := compactJSON(&buf, b.PreviousAttributes); err != nil {
				errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "previous_attributes"), Message: "is not valid JSON"})
			}
			f.prev = buf.Bytes()
		}
	}
	if b.RequestID != nil {
		f.requestID = *b.RequestID
		if len(f.requestID) > hook.MaxEventIDLen || strings.ContainsAny(f.requestID, "\r\n\x00") {
			errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "request_id"), Message: "must be at most 255 characters on one line", Value: f.requestID})
		}
	}
	if b.APIVersion != nil {
		f.apiVersion = *b.APIVersion
		if len(f.apiVersion) > 64 || strings.ContainsAny(f.apiVersion, "\r\n\x00") {
			errs = append(errs, &huma.ErrorDetail{Location: joinLoc(prefix, "api_version"), Message: "must be at most 64 characters on one line", Value: f.apiVersion})
		}
	}
	return f, errs
}

// buildEvent makes the event f describes for app: the app's defaults for
// what f leaves out (id, api_version, request_id, livemode), data
// compacted and checked against its type's schema. What the app's
// contract refuses (contractDetails), a type a strict catalog lacks
// (catalogStrict) and a schema mismatch are a 422 whose details are
// located under prefix; a mismatch also tells the operator, as
// event.rejected.
func (s *server) buildEvent(ctx context.Context, app *hook.App, f *eventFields, prefix string) (*hook.Event, error) {
	id, apiVersion, requestID := f.id, f.apiVersion, f.requestID
	if id == "" {
		id = envelope.NewEventID(app.Profile)
	}
	if apiVersion == "" {
		apiVersion = app.APIVersion
	}
	if requestID == "" && app.Profile == hook.ProfileReflow {
		requestID = newRequestID()
	}
	live := app.Livemode
	if f.livemode != nil {
		live = *f.livemode
	}
	var data bytes.Buffer
	data.Grow(len(f.data))
	if err := compactJSON(&data, f.data); err != nil {
		return nil, invalid(joinLoc(prefix, "data"), "is not valid JSON", nil)
	}
	ds := contractDetails(app, f, prefix)
	ti, err := s.types.get(ctx, f.typ)
	if err != nil {
		return nil, s.fail(ctx, err, prefix)
	}
	if !ti.defined && s.catalogStrict(app) {
		ds = append(ds, notInCatalog(prefix, f.typ))
	}
	if len(ds) > 0 {
		return nil, invalidAll(ds)
	}
	if ti.schema != nil {
		if ds := validateJSON(ti.schema, data.Bytes(), joinLoc(prefix, "data")); len(ds) > 0 {
			s.disp.Emit(app.ID, "event.rejected", rejectedEvent(app.ID, id, f.typ, ds))
			return nil, huma.Error422UnprocessableEntity("data does not match the schema of event type "+f.typ, detailErrs(ds)...)
		}
	}
	return &hook.Event{
		ID:        id,
		AppID:     app.ID,
		Type:      f.typ,
		Data:      data.Bytes(),
		CreatedAt: s.now().UTC().Truncate(time.Millisecond),

		PreviousAttributes: f.prev,
		Livemode:           live,
		RequestID:          requestID,
		APIVersion:         apiVersion,
	}, nil
}

func detailErrs(ds []*huma.ErrorDetail) []error {
	errs := make([]error, len(ds))
	for i, d := range ds {
		errs[i] = d
	}
	return errs
}

// isJSON reports whether a request's Content-Type is JSON (or absent, which
// is taken as JSON, as on the other routes).
func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && (mt == "application/json" || strings.HasSuffix(mt, "+json"))
}

// rejectedOp is the data of the event.rejected operational event, as
// Flexprice's events.errors tells of events that failed validation.
type rejectedOp struct {
	AppID     string          `json:"app_id"`
	EventID   string          `json:"event_id"`
	EventType string          `json:"event_type"`
	Errors    []rejectedError `json:"errors"`
}

type rejectedError struct {
	Location string `json:"location"`
	Message  string `json:"message"`
}

func rejectedEvent(appID, eventID, typ string, ds []*huma.ErrorDetail) rejectedOp {
	op := rejectedOp{AppID: appID, EventID: eventID, EventType: typ}
	for _, d := range ds {
		op.Errors = append(op.Errors, rejectedError{Location: d.Location, Message: d.Message})
	}
	return op
}

// newRequestID returns a request id in Reflow's format, "req_" and 40 hex
// digits, for events of reflow apps that come without one.
func newRequestID() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return "req_" + hex.EncodeToString(b[:])
}

// livemodeFilter reads the livemode query parameter of the lists (huma
// has checked it is "true", "false" or absent).
func livemodeFilter(v string) *bool {
	if v == "" {
		return nil
	}
	live := v == "true"
	return &live
}

// parseTime reads an optional RFC 3339 time.
func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, errors.New("must be an RFC 3339 time, e.g. 2024-05-01T12:00:00Z")
	}
	return t, nil
}
