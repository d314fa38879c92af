package dashboard

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// eventFilters are the events page's filters, as the API's list-events
// query names them.
var eventFilters = []string{"type", "since", "until"}

type eventsData struct {
	App    *hook.App
	Events []*hook.Event
	// Type, Since and Until are the filters as given.
	Type, Since, Until string
	// FieldError maps a filter ("type", "since", "until") to the API's
	// message about it; Error is a refusal about none of them.
	FieldError map[string]string
	Error      string
	// Next is the next page's cursor; "" on the last.
	Next string
	// Filtered: a filter is set.
	Filtered bool
}

func (e eventsData) title() string { return "Events · " + e.App.Name }

// eventsPage lists an app's events, newest first, a page at a time
// (?cursor=), filtered by ?type=, ?since= and ?until= as the API reads
// them. A filter the API refuses (422) shows its message next to the
// field.
func (d *Dashboard) eventsPage(w http.ResponseWriter, r *http.Request, s *session) {
	data := eventsData{}
	if !d.loadAppOnly(w, r, s, &data.App) {
		return
	}
	in := r.URL.Query()
	q := url.Values{"limit": {"50"}}
	filters := url.Values{}
	for _, k := range eventFilters {
		if v := strings.TrimSpace(in.Get(k)); v != "" {
			q.Set(k, v)
			filters.Set(k, v)
		}
	}
	if c := in.Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	data.Type, data.Since, data.Until = filters.Get("type"), filters.Get("since"), filters.Get("until")
	data.Filtered = len(filters) > 0
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/events", data.App.ID)+"?"+q.Encode(), nil, nil)
	if a.Status == http.StatusUnprocessableEntity {
		p := a.problem()
		data.FieldError = map[string]string{}
		for _, k := range eventFilters {
			if msg := p.At("query." + k); msg != "" {
				data.FieldError[k] = msg
			}
		}
		if len(data.FieldError) == 0 {
			data.Error = p.Detail
			if msg := p.At("query"); msg != "" {
				data.Error += ": " + msg
			}
		}
		d.renderNav(w, r, s, a.Status, "events", "apps", data)
		return
	}
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	if !readList(d, w, r, s, a, &data.Events, &data.Next) {
		return
	}
	d.renderNav(w, r, s, http.StatusOK, "events", "apps", data)
}

// loadAppOnly reads the app of the path; false when it answered.
func (d *Dashboard) loadAppOnly(w http.ResponseWriter, r *http.Request, s *session, app **hook.App) bool {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", r.PathValue("app")), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	if err := a.decode(app); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return false
	}
	return true
}

type eventData struct {
	App   *hook.App
	Event *hook.Event
	// Payload and Previous are the event's data and previous_attributes,
	// indented.
	Payload, Previous string
	// Deliveries are the event's, one per endpoint that got it;
	// MoreDeliveries: there are more than shown. EndpointURL maps
	// endpoint ids to their URLs (for the deliveries-table partial).
	Deliveries     []*hook.Delivery
	MoreDeliveries bool
	EndpointURL    map[string]string
	// Status is the deliveries-table partial's filter: none here.
	Status string
}

func (e eventData) title() string { return "Event " + e.Event.ID }

// eventPage shows an event, its payload pretty-printed, and its
// deliveries: which endpoints got it, and how that went.
func (d *Dashboard) eventPage(w http.ResponseWriter, r *http.Request, s *session) {
	var ad appData
	if !d.loadApp(w, r, s, &ad) {
		return
	}
	data := eventData{App: ad.App, EndpointURL: ad.EndpointURL}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/events/%s", ad.App.ID, r.PathValue("id")), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	if err := a.decode(&data.Event); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return
	}
	data.Payload = indentJSON(data.Event.Data)
	data.Previous = indentJSON(data.Event.PreviousAttributes)
	q := url.Values{"event": {data.Event.ID}, "limit": {"100"}}
	a = d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/deliveries", ad.App.ID)+"?"+q.Encode(), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	var page list[*hook.Delivery]
	if err := a.decode(&page); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return
	}
	data.Deliveries, data.MoreDeliveries = page.Data, page.NextCursor != nil
	d.renderNav(w, r, s, http.StatusOK, "event", "apps", data)
}

// indentJSON indents a JSON document by two spaces; "" when there is
// none, and the document as it is when it cannot be read.
func indentJSON(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return string(raw)
	}
	return buf.String()
}
