package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// deliveryFilters are the deliveries page's filters besides status, as the
// API's list-deliveries query and retry-deliveries body name them.
var deliveryFilters = []string{"endpoint", "event", "event_type", "since", "until"}

// queryPair is one name=value of a link's query; html/template escapes
// both where they are placed.
type queryPair struct{ Name, Value string }

// deliveriesData is the deliveries page: the app's deliveries, filtered,
// and the bulk retry of the failed ones.
type deliveriesData struct {
	appData
	// Endpoint, Event, EventType, Since and Until are the filters as the
	// form shows them (Since and Until as a datetime-local input takes
	// them, in UTC, when they can be read).
	Endpoint, Event, EventType, Since, Until string
	// Filters are the filters as the API is given them, status aside:
	// the bulk retry's hidden fields. Query is the list's query (status
	// and Filters), which the next page keeps.
	Filters []queryPair
	Query   []queryPair
	// Filtered: a filter besides status is set.
	Filtered bool
	// FieldError maps a filter ("status", "endpoint", ...) to the API's
	// message about it; Error is a refusal about none of them.
	FieldError map[string]string
	Error      string
	// Retried is the notice of a bulk retry the API accepted ("" when
	// none); RetryError its refusal.
	Retried    string
	RetryError string
}

// RetryAll reports whether the page offers to retry the failed
// deliveries it lists: it lists failed deliveries, and some.
func (d deliveriesData) RetryAll() bool {
	return d.Status == hook.DeliveryFailed && (len(d.Deliveries) > 0 || d.RetryError != "")
}

// deliveriesPage lists an app's deliveries, newest first, a page at a
// time (?cursor=), filtered by ?status=, ?endpoint=, ?event=,
// ?event_type=, ?since= and ?until= as the API reads them (since and
// until also as a datetime-local input gives them, meaning UTC). A filter
// the API refuses (422) shows its message next to the field. After a bulk
// retry (?retried=N, &truncated=1, &skipped=M) it says what was done.
func (d *Dashboard) deliveriesPage(w http.ResponseWriter, r *http.Request, s *session) {
	in := r.URL.Query()
	data := d.deliveriesFilters(in, in.Get("status"))
	data.Retried = retriedNotice(in)
	d.renderDeliveries(w, r, s, http.StatusOK, data, in.Get("cursor"))
}

// deliveriesFilters reads the filters of a deliveries query or form.
func (d *Dashboard) deliveriesFilters(in url.Values, status string) *deliveriesData {
	data := &deliveriesData{appData: appData{Full: true, Statuses: []string{"failed", "pending", "paused", "succeeded"}}}
	data.Status = strings.TrimSpace(status)
	if data.Status != "" {
		data.Query = append(data.Query, queryPair{"status", data.Status})
	}
	for _, k := range deliveryFilters {
		v := strings.TrimSpace(in.Get(k))
		if v == "" {
			continue
		}
		shown := v
		if k == "since" || k == "until" {
			v, shown = apiTime(v), localTime(v)
		}
		switch k {
		case "endpoint":
			data.Endpoint = v
		case "event":
			data.Event = v
		case "event_type":
			data.EventType = v
		case "since":
			data.Since = shown
		case "until":
			data.Until = shown
		}
		data.Filters = append(data.Filters, queryPair{k, v})
		data.Query = append(data.Query, queryPair{k, v})
		data.Filtered = true
	}
	return data
}

// renderDeliveries reads the app, its endpoints and the page of
// deliveries data's filters select, and answers the page with status (a
// 422 of the API's instead, when it refuses a filter).
func (d *Dashboard) renderDeliveries(w http.ResponseWriter, r *http.Request, s *session, status int, data *deliveriesData, cursor string) {
	if !d.loadApp(w, r, s, &data.appData) {
		return
	}
	for _, ep := range data.Endpoints {
		if data.Endpoint != "" && data.Endpoint == ep.UID {
			data.Endpoint = ep.ID // the select shows endpoints by id
		}
	}
	q := url.Values{"limit": {"50"}}
	for _, p := range data.Query {
		q.Set(p.Name, p.Value)
	}
	if cursor != "" {
		q.Set("cursor", cursor)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/deliveries", data.App.ID)+"?"+q.Encode(), nil, nil)
	if a.Status == http.StatusUnprocessableEntity {
		data.fieldErrors(a.problem(), "query")
		d.renderNav(w, r, s, a.Status, "deliveries", "deliveries", data)
		return
	}
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	if !readList(d, w, r, s, a, &data.Deliveries, &data.Next) {
		return
	}
	d.renderNav(w, r, s, status, "deliveries", "deliveries", data)
}

// fieldErrors places a problem's messages next to the filters they are
// about (at prefix.status, prefix.endpoint, ...); one about none of them
// is the page's Error.
func (d *deliveriesData) fieldErrors(p *Problem, prefix string) {
	d.FieldError = map[string]string{}
	for _, k := range append([]string{"status"}, deliveryFilters...) {
		if msg := p.At(prefix + "." + k); msg != "" {
			d.FieldError[k] = msg
		}
	}
	if len(d.FieldError) == 0 {
		d.Error = p.Detail
		if msg := p.At(prefix); msg != "" && !strings.Contains(p.Detail, msg) {
			d.Error += ": " + msg
		}
	}
}

// retryAll asks the API to retry the app's failed deliveries that match
// the form's filters (hidden fields of the deliveries page); accepted, the
// browser goes back to the failed deliveries with those filters and a
// notice of how many were retried. A refusal is shown on that page, next
// to the filter at fault, with the API's status.
func (d *Dashboard) retryAll(w http.ResponseWriter, r *http.Request, s *session) {
	if err := r.ParseForm(); err != nil {
		d.errorPage(w, r, s, http.StatusBadRequest, "The form could not be read.")
		return
	}
	data := d.deliveriesFilters(r.PostForm, hook.DeliveryFailed)
	body := map[string]string{}
	for _, p := range data.Filters {
		body[p.Name] = p.Value
	}
	app := r.PathValue("app")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, apiPath("/v1/apps/%s/deliveries/retry", app), body, nil)
	if a.OK() {
		var res struct {
			Retried         int  `json:"retried"`
			Truncated       bool `json:"truncated"`
			SkippedDisabled int  `json:"skipped_disabled"`
		}
		if err := a.decode(&res); err != nil {
			d.errorPage(w, r, s, http.StatusInternalServerError, "The retry was accepted, but the API's answer could not be read.")
			return
		}
		q := url.Values{}
		for _, p := range data.Query {
			q.Set(p.Name, p.Value)
		}
		q.Set("retried", strconv.Itoa(res.Retried))
		if res.Truncated {
			q.Set("truncated", "1")
		}
		if res.SkippedDisabled > 0 {
			q.Set("skipped", strconv.Itoa(res.SkippedDisabled))
		}
		http.Redirect(w, r, "/apps/"+url.PathEscape(app)+"/deliveries?"+q.Encode(), http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusNotFound || a.Status == http.StatusForbidden {
		d.apiError(w, r, s, a)
		return
	}
	p := a.problem()
	data.fieldErrors(p, "body")
	data.RetryError, data.Error = data.Error, ""
	if data.RetryError == "" {
		data.RetryError = "Nothing was retried: " + p.Detail
	}
	d.renderDeliveries(w, r, s, a.Status, data, "")
}

// retriedNotice says what a bulk retry did, from the query it redirected
// to; "" when there was none.
func retriedNotice(in url.Values) string {
	n, err := strconv.Atoi(in.Get("retried"))
	if err != nil || n < 0 {
		return ""
	}
	msg := fmt.Sprintf("%d deliveries retried.", n)
	if n == 1 {
		msg = "1 delivery retried."
	}
	if in.Get("truncated") == "1" {
		msg += " More failed deliveries match: retry again for the next ones."
	}
	if k, err := strconv.Atoi(in.Get("skipped")); err == nil && k > 0 {
		if k == 1 {
			msg += " 1 was skipped: its endpoint is disabled; enable it first."
		} else {
			msg += fmt.Sprintf(" %d were skipped: their endpoint is disabled; enable it first.", k)
		}
	}
	return msg
}

// datetime-local layouts: what a datetime-local input gives.
const (
	localMinutes = "2006-01-02T15:04"
	localSeconds = "2006-01-02T15:04:05"
)

// apiTime is a since or until as the API takes it: a datetime-local
// value ("2026-12-01T10:30") is that time in UTC; anything else goes as
// written, for the API to accept (RFC 3339) or to say what is wrong.
func apiTime(v string) string {
	for _, layout := range []string{localMinutes, localSeconds} {
		if t, err := time.ParseInLocation(layout, v, time.UTC); err == nil {
			return t.Format(time.RFC3339)
		}
	}
	return v
}

// localTime is a since or until as a datetime-local input shows it, in
// UTC; a value that is no time stays as written.
func localTime(v string) string {
	t, err := time.Parse(time.RFC3339Nano, apiTime(v))
	if err != nil {
		return v
	}
	t = t.UTC()
	if t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format(localMinutes)
	}
	return t.Format(localSeconds)
}
