package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/hookd/hookd/internal/catalog"
	"github.com/hookd/hookd/internal/hook"
)

// eventTypeForm is the values of an event type form (create or edit) and
// the complaints about them, by field: the dashboard's own (text that is
// not JSON) or the API's.
type eventTypeForm struct {
	Name, Description, Schema, Example             string
	NameErr, DescriptionErr, SchemaErr, ExampleErr string
	// Error is a refusal about none of the fields.
	Error string
}

// packOption is a built-in provider pack, as the import form offers it.
type packOption struct {
	Name  string
	Types int
}

// importForm is the import form's values and the API's complaints.
type importForm struct {
	Pack    string
	Replace bool
	PackErr string
	Error   string
}

// importNotice is what an import did, as the API answered it.
type importNotice struct {
	Pack                        string
	Created, Updated, Unchanged int
}

type eventTypesData struct {
	Types []*hook.EventType
	// Next is the next page's cursor; "" on the last.
	Next string
	// Archived: archived types are listed too (?archived=1).
	Archived bool
	// Admin: the session may change the catalog, so the forms show.
	Admin    bool
	Create   eventTypeForm
	Import   importForm
	Packs    []packOption
	Imported *importNotice
}

func (eventTypesData) title() string { return "Event types" }

// eventTypesPage lists the catalog in name order, 50 a page (?cursor=),
// archived types too with ?archived=1; admin sessions also get the create
// and import forms. After an import, ?imported= and the counts say what
// it did.
func (d *Dashboard) eventTypesPage(w http.ResponseWriter, r *http.Request, s *session) {
	data := d.newEventTypesData(r, s)
	q := r.URL.Query()
	// Only a pack there is: a link cannot make the page claim another.
	if pack := q.Get("imported"); slices.Contains(catalog.Packs(), pack) {
		n := &importNotice{Pack: pack}
		n.Created, _ = strconv.Atoi(q.Get("created"))
		n.Updated, _ = strconv.Atoi(q.Get("updated"))
		n.Unchanged, _ = strconv.Atoi(q.Get("unchanged"))
		data.Imported = n
	}
	if !d.loadEventTypes(w, r, s, data) {
		return
	}
	d.renderNav(w, r, s, http.StatusOK, "event-types", "event-types", data)
}

// newEventTypesData starts the list page's data: the list's options from
// the URL, and the packs the import form offers. The API does not list
// the packs; they are built into hookd, so the catalog package names them.
func (d *Dashboard) newEventTypesData(r *http.Request, s *session) *eventTypesData {
	data := &eventTypesData{Archived: r.URL.Query().Get("archived") == "1", Admin: s.Key.AppID == ""}
	for _, name := range catalog.Packs() {
		types, err := catalog.Pack(name)
		if err != nil {
			d.log.Error("dashboard: read catalog pack", "pack", name, "err", err)
			continue
		}
		data.Packs = append(data.Packs, packOption{Name: name, Types: len(types)})
	}
	return data
}

// loadEventTypes reads a page of the catalog into data; false when it
// answered.
func (d *Dashboard) loadEventTypes(w http.ResponseWriter, r *http.Request, s *session, data *eventTypesData) bool {
	q := url.Values{"limit": {"50"}}
	if data.Archived {
		q.Set("include_archived", "true")
	}
	if c := r.URL.Query().Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, "/v1/event-types?"+q.Encode(), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	return readList(d, w, r, s, a, &data.Types, &data.Next)
}

// createEventType adds an event type through the API; created, the
// browser goes to its page. A schema or example that is not JSON is
// refused here, next to its field, without asking the API; the API's
// refusals (422, 409) are shown next to their fields.
func (d *Dashboard) createEventType(w http.ResponseWriter, r *http.Request, s *session) {
	form := eventTypeForm{
		Name:        strings.TrimSpace(r.PostFormValue("name")),
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Schema:      r.PostFormValue("schema"),
		Example:     r.PostFormValue("example"),
	}
	body := map[string]any{"name": form.Name}
	if form.Description != "" {
		body["description"] = form.Description
	}
	schema, schemaErr := jsonField(form.Schema)
	example, exampleErr := jsonField(form.Example)
	if schema != nil {
		body["schema"] = schema
	}
	if example != nil {
		body["example"] = example
	}
	// A session that may not change the catalog gets the API's 403,
	// whatever it typed.
	if (schemaErr != "" || exampleErr != "") && s.Key.AppID == "" {
		form.SchemaErr, form.ExampleErr = schemaErr, exampleErr
		d.eventTypesRefused(w, r, s, http.StatusUnprocessableEntity, func(data *eventTypesData) { data.Create = form })
		return
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, "/v1/event-types", body, nil)
	if a.OK() {
		http.Redirect(w, r, "/event-types/"+url.PathEscape(form.Name)+"?done=created", http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		d.apiError(w, r, s, a)
		return
	}
	form.setProblem(a.problem(), true)
	d.eventTypesRefused(w, r, s, a.Status, func(data *eventTypesData) { data.Create = form })
}

// importPack asks the API to load one of the built-in provider packs
// (the API takes a pack's name, not a document); done, the browser goes
// back to the list, which says what the import created, updated and left
// alone. A refusal (a conflict with the catalog's own definitions, 409;
// an unknown pack, 422) is shown next to the pack field.
func (d *Dashboard) importPack(w http.ResponseWriter, r *http.Request, s *session) {
	form := importForm{Pack: r.PostFormValue("pack"), Replace: r.PostFormValue("replace") == "1"}
	body := map[string]any{"pack": form.Pack}
	if form.Replace {
		body["replace"] = true
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, "/v1/event-types/import", body, nil)
	if a.OK() {
		var res catalog.ImportResult
		if err := a.decode(&res); err != nil {
			d.errorPage(w, r, s, http.StatusInternalServerError, "The pack was imported, but the API's answer could not be read.")
			return
		}
		q := url.Values{
			"imported":  {res.Pack},
			"created":   {strconv.Itoa(len(res.Created))},
			"updated":   {strconv.Itoa(len(res.Updated))},
			"unchanged": {strconv.Itoa(len(res.Unchanged))},
		}
		http.Redirect(w, r, "/event-types?"+q.Encode(), http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		d.apiError(w, r, s, a)
		return
	}
	p := a.problem()
	form.PackErr = p.At("body.pack")
	if form.PackErr == "" {
		form.Error = p.Detail
	}
	d.eventTypesRefused(w, r, s, a.Status, func(data *eventTypesData) { data.Import = form })
}

// eventTypesRefused answers a refused form with the list page, with
// status; set puts the refused form's values and complaints in place.
func (d *Dashboard) eventTypesRefused(w http.ResponseWriter, r *http.Request, s *session, status int, set func(*eventTypesData)) {
	data := d.newEventTypesData(r, s)
	set(data)
	if !d.loadEventTypes(w, r, s, data) {
		return
	}
	d.renderNav(w, r, s, status, "event-types", "event-types", data)
}

// atField returns the problem's messages about the field at location,
// joined; a message about a part of it (body.example.email) names that
// part ("email: is required"), since a schema's complaints are about the
// parts of a document.
func atField(p *Problem, location string) string {
	var msgs []string
	for _, e := range p.Errors {
		switch {
		case e.Location == location:
			msgs = append(msgs, e.Message)
		case strings.HasPrefix(e.Location, location+"."), strings.HasPrefix(e.Location, location+"["):
			part := strings.TrimPrefix(strings.TrimPrefix(e.Location, location), ".")
			msgs = append(msgs, part+": "+e.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// setProblem puts the API's complaints next to their fields; a refusal
// about none of them goes to Error. withName: the form has a name field
// (create, not edit).
func (f *eventTypeForm) setProblem(p *Problem, withName bool) {
	if withName {
		f.NameErr = p.At("body.name")
	}
	f.DescriptionErr = atField(p, "body.description")
	f.SchemaErr = atField(p, "body.schema")
	f.ExampleErr = atField(p, "body.example")
	if f.NameErr == "" && f.DescriptionErr == "" && f.SchemaErr == "" && f.ExampleErr == "" {
		f.Error = p.Detail
	}
}

type eventTypeData struct {
	Type *hook.EventType
	// Schema and Example are the type's, indented; "" when it has none.
	Schema, Example string
	// Admin: the session may change the catalog, so the forms show.
	Admin bool
	Edit  eventTypeForm
	// Done says what the last action did ("created", "saved",
	// "archived", "unarchived"); ActionError is the API's refusal of an
	// archive or unarchive.
	Done, ActionError string
}

func (e eventTypeData) title() string { return "Event type · " + e.Type.Name }

// eventTypeActions are the notices a ?done= may ask for.
var eventTypeActions = map[string]bool{"created": true, "saved": true, "archived": true, "unarchived": true}

// eventTypePage shows an event type: its description, its JSON Schema
// and its example pretty-printed, whether it is archived; admin sessions
// also get the edit form and archive or unarchive.
func (d *Dashboard) eventTypePage(w http.ResponseWriter, r *http.Request, s *session) {
	data, ok := d.loadEventType(w, r, s)
	if !ok {
		return
	}
	if done := r.URL.Query().Get("done"); eventTypeActions[done] {
		data.Done = done
	}
	d.renderNav(w, r, s, http.StatusOK, "event-type", "event-types", data)
}

// loadEventType reads the event type of the path, and fills the edit
// form with it.
func (d *Dashboard) loadEventType(w http.ResponseWriter, r *http.Request, s *session) (*eventTypeData, bool) {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/event-types/%s", r.PathValue("name")), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return nil, false
	}
	data := &eventTypeData{Admin: s.Key.AppID == ""}
	if err := a.decode(&data.Type); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return nil, false
	}
	data.Schema, data.Example = indentJSON(data.Type.Schema), indentJSON(data.Type.Example)
	data.Edit = eventTypeForm{Description: data.Type.Description, Schema: data.Schema, Example: data.Example}
	return data, true
}

// updateEventType sends the edit form to the API as a PATCH of the
// description, the schema and the example (an empty schema or example
// removes it); saved, the browser goes back to the type's page. Text
// that is not JSON is refused here, next to its field; the API's
// refusals (an example that fails the schema, ...) are shown next to
// theirs.
func (d *Dashboard) updateEventType(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	form := eventTypeForm{
		Description: strings.TrimSpace(r.PostFormValue("description")),
		Schema:      r.PostFormValue("schema"),
		Example:     r.PostFormValue("example"),
	}
	body := map[string]any{"description": form.Description}
	schema, schemaErr := jsonField(form.Schema)
	example, exampleErr := jsonField(form.Example)
	if schemaErr == "" {
		body["schema"] = orNull(schema)
	}
	if exampleErr == "" {
		body["example"] = orNull(example)
	}
	if (schemaErr != "" || exampleErr != "") && s.Key.AppID == "" {
		form.SchemaErr, form.ExampleErr = schemaErr, exampleErr
		d.eventTypeRefused(w, r, s, http.StatusUnprocessableEntity, func(data *eventTypeData) { data.Edit = form })
		return
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPatch, apiPath("/v1/event-types/%s", name), body, nil)
	if a.OK() {
		http.Redirect(w, r, "/event-types/"+url.PathEscape(name)+"?done=saved", http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden || a.Status == http.StatusNotFound {
		d.apiError(w, r, s, a)
		return
	}
	form.setProblem(a.problem(), false)
	d.eventTypeRefused(w, r, s, a.Status, func(data *eventTypeData) { data.Edit = form })
}

// archiveEventType archives the type (the API's DELETE): events of it
// are refused where the catalog is strict, and it is listed only with
// the archived ones. It stays, and can be unarchived.
func (d *Dashboard) archiveEventType(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodDelete, apiPath("/v1/event-types/%s", name), nil, nil)
	d.eventTypeActed(w, r, s, a, "archived")
}

// unarchiveEventType brings an archived type back (the API's PATCH of
// archived: false).
func (d *Dashboard) unarchiveEventType(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.PathValue("name")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPatch, apiPath("/v1/event-types/%s", name), map[string]any{"archived": false}, nil)
	d.eventTypeActed(w, r, s, a, "unarchived")
}

// eventTypeActed answers an archive or unarchive: done, the browser goes
// back to the type's page, which says so; refused, the page shows the
// API's words next to the buttons.
func (d *Dashboard) eventTypeActed(w http.ResponseWriter, r *http.Request, s *session, a *apiAnswer, done string) {
	if a.OK() {
		http.Redirect(w, r, "/event-types/"+url.PathEscape(r.PathValue("name"))+"?done="+done, http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden || a.Status == http.StatusNotFound {
		d.apiError(w, r, s, a)
		return
	}
	msg := a.problem().Detail
	d.eventTypeRefused(w, r, s, a.Status, func(data *eventTypeData) { data.ActionError = msg })
}

// eventTypeRefused answers a refused action with the type's page, with
// status; set puts the refusal in place.
func (d *Dashboard) eventTypeRefused(w http.ResponseWriter, r *http.Request, s *session, status int, set func(*eventTypeData)) {
	data, ok := d.loadEventType(w, r, s)
	if !ok {
		return
	}
	set(data)
	d.renderNav(w, r, s, status, "event-type", "event-types", data)
}

// jsonField reads a form's JSON text: nil for blank text; else the JSON
// value, or why the text is not one JSON value (with where, by line and
// column).
func jsonField(text string) (json.RawMessage, string) {
	if strings.TrimSpace(text) == "" {
		return nil, ""
	}
	dec := json.NewDecoder(strings.NewReader(text))
	var v json.RawMessage
	if err := dec.Decode(&v); err != nil {
		return nil, "is not valid JSON: " + jsonErrorText(text, err)
	}
	end := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		rest := text[end:]
		extra := end + int64(len(rest)-len(strings.TrimLeft(rest, " \t\r\n")))
		return nil, "is not valid JSON: there is more after the first value, at " + position(text, extra)
	}
	var b bytes.Buffer
	if err := json.Compact(&b, v); err != nil {
		return nil, "is not valid JSON: " + err.Error()
	}
	return b.Bytes(), ""
}

// jsonErrorText says what is wrong with text that did not decode, and
// where.
func jsonErrorText(text string, err error) string {
	var syn *json.SyntaxError
	switch {
	case errors.As(err, &syn):
		// Offset counts the bytes read, the wrong one included.
		return syn.Error() + " at " + position(text, syn.Offset-1)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return "it ends too soon (an unclosed bracket, brace or string?)"
	default:
		return err.Error()
	}
}

// position says where the byte at offset is in text: "line 2, column
// 5" (columns count bytes).
func position(text string, offset int64) string {
	offset = min(max(offset, 0), int64(len(text)))
	before := text[:offset]
	line := strings.Count(before, "\n") + 1
	col := len(before) - strings.LastIndex(before, "\n")
	return fmt.Sprintf("line %d, column %d", line, col)
}

// orNull is raw, or JSON null (which the API's PATCH reads as "remove")
// when it is nil.
func orNull(raw json.RawMessage) json.RawMessage {
	if raw == nil {
		return json.RawMessage("null")
	}
	return raw
}
