package dashboard

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/hookd/hookd/internal/hook"
)

// The endpoint form creates an endpoint (/apps/{app}/endpoints/new) and
// edits one (/apps/{app}/endpoints/{ep}/edit), through the API's
// POST and PATCH /v1/apps/{app}/endpoints[/{ep}]. What the form cannot
// read (a rate limit "abc", a header line without a colon) is refused
// here, next to its field, without calling the API; everything else is
// the API's to accept or refuse, and its refusal is shown next to the
// field at fault.

// Fields of the endpoint form, as its inputs are named and as its
// messages are keyed (endpointForm.Errs).
const (
	fieldURL            = "url"
	fieldDescription    = "description"
	fieldUID            = "uid"
	fieldEventTypes     = "event_types"
	fieldExtraTypes     = "event_types_extra"
	fieldHeaders        = "headers"
	fieldMetadata       = "metadata"
	fieldFilter         = "filter"
	fieldMaxConcurrency = "max_concurrency"
	fieldRateLimit      = "rate_limit"
	fieldOrdering       = "ordering"
)

// maxCatalogPages bounds the pages of the catalog the form reads (250
// types a page): more than the API's default cap of 1000 types.
const maxCatalogPages = 8

// typeChoice is an event type of the catalog, offered as a checkbox.
type typeChoice struct {
	Name, Description string
	Checked           bool
}

// endpointForm is the endpoint form's values, as typed, and the messages
// about them by field (the field constants); Error is a refusal about no
// one field.
type endpointForm struct {
	URL, Description, UID string
	// Types are the catalog's (not archived) types; ExtraTypes the
	// other names and patterns, comma-separated.
	Types      []typeChoice
	ExtraTypes string
	// Headers and Metadata are one "Name: value" and "key=value" a line.
	Headers, Metadata string
	// MetadataKept: the endpoint's metadata cannot be written as
	// key=value lines (a key with "=", a value with a line break, ...),
	// so the form shows it and leaves it as it is.
	MetadataKept              bool
	Filter                    string
	MaxConcurrency, RateLimit string
	// Ordering is "" (parallel) or "fifo".
	Ordering string
	Errs     map[string]string
	Error    string
	// Status is the status of the API's refusal shown; 0 for the
	// form's own (422).
	Status int
}

// endpointFormData is the endpoint form page.
type endpointFormData struct {
	App *hook.App
	// Endpoint is the endpoint edited; nil on the create form.
	Endpoint *hook.Endpoint
	Form     *endpointForm
	// KeptMetadata is the endpoint's metadata when the form keeps it.
	KeptMetadata map[string]string
}

func (d endpointFormData) title() string {
	if d.Endpoint != nil {
		return "Edit endpoint · " + d.App.Name
	}
	return "Add endpoint · " + d.App.Name
}

// Action is where the form posts.
func (d endpointFormData) Action() string {
	if d.Endpoint != nil {
		return "/apps/" + url.PathEscape(d.App.ID) + "/endpoints/" + url.PathEscape(d.Endpoint.ID) + "/edit"
	}
	return "/apps/" + url.PathEscape(d.App.ID) + "/endpoints/new"
}

// newEndpointPage shows the create form.
func (d *Dashboard) newEndpointPage(w http.ResponseWriter, r *http.Request, s *session) {
	data := &endpointFormData{Form: &endpointForm{}}
	if !d.loadEndpointForm(w, r, s, data, "") {
		return
	}
	d.renderNav(w, r, s, http.StatusOK, "endpoint-form", "apps", data)
}

// editEndpointPage shows the edit form, filled from the endpoint and its
// header values (which the endpoint's JSON masks).
func (d *Dashboard) editEndpointPage(w http.ResponseWriter, r *http.Request, s *session) {
	data := &endpointFormData{}
	if !d.loadEndpointForm(w, r, s, data, r.PathValue("ep")) {
		return
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/endpoints/%s/headers", data.App.ID, data.Endpoint.ID), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	var hdrs struct {
		Headers map[string]string `json:"headers"`
	}
	if err := a.decode(&hdrs); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return
	}
	catalog := data.Form.Types
	data.Form = formFromEndpoint(data.Endpoint, hdrs.Headers)
	chosen := data.Form.Types
	data.Form.Types = catalog
	data.Form.checkTypes(chosen)
	if data.Form.MetadataKept {
		data.KeptMetadata = data.Endpoint.Metadata
	}
	// The page holds the header values, often credentials.
	w.Header().Set("Cache-Control", "no-store")
	d.renderNav(w, r, s, http.StatusOK, "endpoint-form", "apps", data)
}

// createEndpoint asks the API for the endpoint; created, the browser
// goes to its page.
func (d *Dashboard) createEndpoint(w http.ResponseWriter, r *http.Request, s *session) {
	form, in := readEndpointForm(r, false)
	d.saveEndpoint(w, r, s, form, in, http.MethodPost, apiPath("/v1/apps/%s/endpoints", r.PathValue("app")), in.body(false), "created", "")
}

// updateEndpoint asks the API to change the endpoint as the form says;
// changed, the browser goes to its page.
func (d *Dashboard) updateEndpoint(w http.ResponseWriter, r *http.Request, s *session) {
	form, in := readEndpointForm(r, r.PostFormValue("metadata_kept") == "1")
	ep := r.PathValue("ep")
	d.saveEndpoint(w, r, s, form, in, http.MethodPatch, apiPath("/v1/apps/%s/endpoints/%s", r.PathValue("app"), ep), in.body(true), "updated", ep)
}

// saveEndpoint sends the form's endpoint to the API (body, by method at
// path) unless the form itself is refused. Saved, the browser goes to the
// endpoint's page with ?<notice>=1; refused, the form (of endpoint ep, or
// a new one) is shown again with the complaints next to their fields.
func (d *Dashboard) saveEndpoint(w http.ResponseWriter, r *http.Request, s *session, form *endpointForm, in *endpointInput,
	method, path string, body any, notice, ep string) {
	if len(form.Errs) == 0 {
		a := d.callAPI(r.Context(), r, s.Key, method, path, body, nil)
		if a.OK() {
			var saved hook.Endpoint
			if err := a.decode(&saved); err != nil {
				d.errorPage(w, r, s, http.StatusInternalServerError, "The endpoint was saved, but the API's answer could not be read: find it on the app's page.")
				return
			}
			http.Redirect(w, r, "/apps/"+url.PathEscape(saved.AppID)+"/endpoints/"+url.PathEscape(saved.ID)+"?"+notice+"=1", http.StatusSeeOther)
			return
		}
		if !d.formRefusal(w, r, s, a, form, in) {
			return
		}
	}
	d.rerenderEndpointForm(w, r, s, form, ep)
}

// formRefusal places the API's refusal in the form; false when it
// answered instead (an error page: the app or endpoint is not the
// session's to see, or is gone).
func (d *Dashboard) formRefusal(w http.ResponseWriter, r *http.Request, s *session, a *apiAnswer, form *endpointForm, in *endpointInput) bool {
	switch a.Status {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound:
		d.apiError(w, r, s, a)
		return false
	}
	form.Status = a.Status
	form.place(a.problem(), in)
	return true
}

// rerenderEndpointForm shows the form again with what was typed and the
// messages about it, with the refusal's status (422 for the form's own).
func (d *Dashboard) rerenderEndpointForm(w http.ResponseWriter, r *http.Request, s *session, form *endpointForm, ep string) {
	data := &endpointFormData{}
	if !d.loadEndpointForm(w, r, s, data, ep) {
		return
	}
	posted := form.Types
	form.Types = data.Form.Types
	form.checkTypes(posted)
	if form.MetadataKept && data.Endpoint != nil {
		data.KeptMetadata = data.Endpoint.Metadata
	}
	data.Form = form
	w.Header().Set("Cache-Control", "no-store") // it holds the header values typed
	d.renderNav(w, r, s, form.answerStatus(), "endpoint-form", "apps", data)
}

// loadEndpointForm reads the app, the endpoint (when ep is not "") and
// the catalog's types into data; false when it answered.
func (d *Dashboard) loadEndpointForm(w http.ResponseWriter, r *http.Request, s *session, data *endpointFormData, ep string) bool {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", r.PathValue("app")), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	if err := a.decode(&data.App); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return false
	}
	if ep != "" {
		a = d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/endpoints/%s", data.App.ID, ep), nil, nil)
		if !a.OK() {
			d.apiError(w, r, s, a)
			return false
		}
		if err := a.decode(&data.Endpoint); err != nil {
			d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
			return false
		}
	}
	types, ok := d.loadCatalog(w, r, s)
	if !ok {
		return false
	}
	if data.Form == nil {
		data.Form = &endpointForm{}
	}
	data.Form.Types = types
	return true
}

// loadCatalog reads the catalog's event types that are not archived, in
// name order; false when it answered.
func (d *Dashboard) loadCatalog(w http.ResponseWriter, r *http.Request, s *session) ([]typeChoice, bool) {
	var types []typeChoice
	q := url.Values{"limit": {"250"}}
	for range maxCatalogPages {
		a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, "/v1/event-types?"+q.Encode(), nil, nil)
		if !a.OK() {
			d.apiError(w, r, s, a)
			return nil, false
		}
		var page list[*hook.EventType]
		if err := a.decode(&page); err != nil {
			d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
			return nil, false
		}
		for _, et := range page.Data {
			if !et.Archived {
				types = append(types, typeChoice{Name: et.Name, Description: et.Description})
			}
		}
		if page.NextCursor == nil {
			break
		}
		q.Set("cursor", *page.NextCursor)
	}
	return types, true
}

// formFromEndpoint fills the edit form from the endpoint, with its real
// header values; its types that the catalog offers are ticked (once the
// catalog is read), the others go to the extra field.
func formFromEndpoint(ep *hook.Endpoint, headers map[string]string) *endpointForm {
	f := &endpointForm{
		URL: ep.URL, Description: ep.Description, UID: ep.UID, Filter: ep.Filter,
		Ordering: ep.Ordering, Headers: headerLines(headers),
	}
	if ep.MaxConcurrency != 0 {
		f.MaxConcurrency = strconv.Itoa(ep.MaxConcurrency)
	}
	if ep.RateLimit != 0 {
		f.RateLimit = strconv.FormatFloat(ep.RateLimit, 'f', -1, 64)
	}
	if m, ok := metadataLines(ep.Metadata); ok {
		f.Metadata = m
	} else {
		f.MetadataKept = true
	}
	f.Types = []typeChoice{}
	for _, t := range ep.EventTypes {
		f.Types = append(f.Types, typeChoice{Name: t, Checked: true})
	}
	return f
}

// checkTypes ticks the catalog's types named in chosen; the chosen ones
// the catalog does not offer go to the front of the extra field, so that
// nothing chosen is lost from view.
func (f *endpointForm) checkTypes(chosen []typeChoice) {
	offered := map[string]int{}
	for i, t := range f.Types {
		offered[t.Name] = i
	}
	var others []string
	for _, c := range chosen {
		if i, ok := offered[c.Name]; ok {
			f.Types[i].Checked = true
		} else {
			others = append(others, c.Name)
		}
	}
	if len(others) > 0 {
		f.ExtraTypes = strings.Join(append(others, splitTypes(f.ExtraTypes)...), ", ")
	}
}

// answerStatus is the answer's status when the form is shown again.
func (f *endpointForm) answerStatus() int {
	if f.Status != 0 {
		return f.Status
	}
	return http.StatusUnprocessableEntity
}

// setErr adds msg to the messages about field.
func (f *endpointForm) setErr(field, msg string) {
	if f.Errs == nil {
		f.Errs = map[string]string{}
	}
	if cur := f.Errs[field]; cur != "" {
		msg = cur + "; " + msg
	}
	f.Errs[field] = msg
}

// endpointInput is the form read into the API's terms.
type endpointInput struct {
	URL, Description, UID string
	// EventTypes are the ticked types, then the extra ones; Ticked is
	// how many were ticked (so that body.event_types[i] finds its field).
	EventTypes     []string
	Ticked         int
	Headers        map[string]string
	Metadata       map[string]string
	MetadataKept   bool
	Filter         string
	MaxConcurrency int
	RateLimit      float64
	Ordering       string
}

// body is the API request: for a PATCH every field the form has (an
// empty one clears it), but the metadata when it is kept; for a POST
// only those set.
func (in *endpointInput) body(patch bool) map[string]any {
	b := map[string]any{"url": in.URL}
	set := func(k string, v any, zero bool) {
		if patch || !zero {
			b[k] = v
		}
	}
	set("description", in.Description, in.Description == "")
	set("uid", in.UID, in.UID == "")
	set("event_types", in.EventTypes, len(in.EventTypes) == 0)
	set("headers", in.Headers, len(in.Headers) == 0)
	if !in.MetadataKept {
		set("metadata", in.Metadata, len(in.Metadata) == 0)
	}
	set("filter", in.Filter, in.Filter == "")
	set("max_concurrency", in.MaxConcurrency, in.MaxConcurrency == 0)
	set("rate_limit", in.RateLimit, in.RateLimit == 0)
	set("ordering", in.Ordering, in.Ordering == "")
	return b
}

// readEndpointForm reads the posted form: the values as typed (to show
// again) and, when every one could be read (form.Errs is empty), the
// request to send. metadataKept: the form left the metadata as it is.
func readEndpointForm(r *http.Request, metadataKept bool) (*endpointForm, *endpointInput) {
	_ = r.ParseForm()
	v := func(name string) string { return r.PostForm.Get(name) }
	f := &endpointForm{
		URL:            strings.TrimSpace(v(fieldURL)),
		Description:    strings.TrimSpace(v(fieldDescription)),
		UID:            strings.TrimSpace(v(fieldUID)),
		ExtraTypes:     strings.TrimSpace(v(fieldExtraTypes)),
		Headers:        v(fieldHeaders),
		Metadata:       v(fieldMetadata),
		MetadataKept:   metadataKept,
		Filter:         strings.TrimSpace(v(fieldFilter)),
		MaxConcurrency: strings.TrimSpace(v(fieldMaxConcurrency)),
		RateLimit:      strings.TrimSpace(v(fieldRateLimit)),
		Ordering:       strings.TrimSpace(v(fieldOrdering)),
	}
	if f.Ordering == "parallel" {
		f.Ordering = ""
	}
	in := &endpointInput{
		URL: f.URL, Description: f.Description, UID: f.UID, Filter: f.Filter,
		Ordering: f.Ordering, MetadataKept: metadataKept, EventTypes: []string{},
	}
	seen := map[string]bool{}
	for _, t := range r.PostForm[fieldEventTypes] {
		if t = strings.TrimSpace(t); t != "" && !seen[t] {
			seen[t] = true
			in.EventTypes = append(in.EventTypes, t)
			f.Types = append(f.Types, typeChoice{Name: t, Checked: true})
		}
	}
	in.Ticked = len(in.EventTypes)
	for _, t := range splitTypes(f.ExtraTypes) {
		if !seen[t] {
			seen[t] = true
			in.EventTypes = append(in.EventTypes, t)
		}
	}
	var err error
	if in.Headers, err = parseHeaderLines(f.Headers); err != nil {
		f.setErr(fieldHeaders, err.Error())
	}
	if !metadataKept {
		if in.Metadata, err = parseMetadataLines(f.Metadata); err != nil {
			f.setErr(fieldMetadata, err.Error())
		}
	}
	if f.MaxConcurrency != "" {
		n, err := strconv.Atoi(f.MaxConcurrency)
		if err != nil {
			f.setErr(fieldMaxConcurrency, "must be a whole number, such as 4 (empty: the deployment's limit)")
		}
		in.MaxConcurrency = n
	}
	if f.RateLimit != "" {
		x, err := strconv.ParseFloat(f.RateLimit, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			f.setErr(fieldRateLimit, "must be a number of deliveries per second, such as 10 or 0.5 (empty: no limit)")
		}
		in.RateLimit = x
	}
	return f, in
}

// splitTypes splits the extra field: names and patterns separated by
// commas or spaces.
func splitTypes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) })
}

// parseHeaderLines reads "Name: value" lines (blank lines skipped). Its
// errors name the line, never repeat it: a header value is often a
// credential.
func parseHeaderLines(s string) (map[string]string, error) {
	return parseLines(s, ":", "a header: write one Name: value a line", "header")
}

// parseMetadataLines reads "key=value" lines (blank lines skipped).
func parseMetadataLines(s string) (map[string]string, error) {
	return parseLines(s, "=", "an entry: write one key=value a line", "key")
}

// parseLines reads lines of a name, sep and a value (blank lines
// skipped); notOne says what a line without a name and sep is not, and
// what names the name in the error of a repeat.
func parseLines(s, sep, notOne, what string) (map[string]string, error) {
	m := map[string]string{}
	for i, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		name, value, ok := strings.Cut(line, sep)
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			return nil, fmt.Errorf("line %d is not %s", i+1, notOne)
		}
		if _, dup := m[name]; dup {
			return nil, fmt.Errorf("line %d repeats the %s %s", i+1, what, name)
		}
		m[name] = strings.TrimSpace(value)
	}
	return m, nil
}

// headerLines writes headers as "Name: value" lines, in name order.
func headerLines(h map[string]string) string {
	var b strings.Builder
	for _, k := range sortedKeys(h) {
		fmt.Fprintf(&b, "%s: %s\n", k, h[k])
	}
	return b.String()
}

// metadataLines writes metadata as "key=value" lines, in key order;
// false when an entry would not read back the same (parseMetadataLines).
func metadataLines(m map[string]string) (string, bool) {
	var b strings.Builder
	for _, k := range sortedKeys(m) {
		v := m[k]
		if strings.ContainsAny(k, "=\r\n") || strings.ContainsAny(v, "\r\n") ||
			k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
			return "", false
		}
		fmt.Fprintf(&b, "%s=%s\n", k, v)
	}
	return b.String(), true
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// place puts the problem's messages next to their fields: a message
// about one header or metadata key names it, one about an event type goes
// to the checkboxes or to the extra field, whichever it came from.
// Messages about no field of the form, or a problem without any, are
// the form's Error.
func (f *endpointForm) place(p *Problem, in *endpointInput) {
	var other []string
	for _, e := range p.Errors {
		loc, ok := strings.CutPrefix(e.Location, "body.")
		if !ok {
			other = append(other, e.Location+": "+e.Message)
			continue
		}
		name, rest := loc, ""
		if i := strings.IndexAny(loc, ".["); i >= 0 {
			name, rest = loc[:i], loc[i:]
		}
		switch name {
		case fieldURL, fieldDescription, fieldUID, fieldFilter, fieldMaxConcurrency, fieldRateLimit, fieldOrdering:
			f.setErr(name, e.Message)
		case fieldHeaders, fieldMetadata:
			if key, ok := strings.CutPrefix(rest, "."); ok {
				f.setErr(name, key+": "+e.Message)
			} else {
				f.setErr(name, e.Message)
			}
		case fieldEventTypes:
			field := fieldEventTypes
			if i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(rest, "["), "]")); err == nil && i >= in.Ticked {
				field = fieldExtraTypes
			}
			f.setErr(field, e.Message)
		default:
			other = append(other, e.Location+": "+e.Message)
		}
	}
	switch {
	case len(p.Errors) == 0:
		f.Error = p.Detail
	case len(other) > 0:
		f.Error = strings.Join(other, "; ")
	}
}
