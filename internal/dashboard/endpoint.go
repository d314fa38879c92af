package dashboard

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// endpointRoutes adds the endpoint page and its actions to mux. {ep} is
// the endpoint's id or uid; the page's own links and forms use its id.
func (d *Dashboard) endpointRoutes(mux *http.ServeMux) {
	mux.Handle("GET /apps/{app}/endpoints/{ep}", d.authed(d.endpointPage))
	mux.Handle("GET /apps/{app}/endpoints/{ep}/test-example", d.authed(d.testExample))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/disable", d.authed(d.setEndpointDisabled(true)))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/enable", d.authed(d.setEndpointDisabled(false)))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/delete", d.authed(d.deleteEndpoint))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/secret", d.authed(d.revealSecret))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/secret/rotate", d.authed(d.rotateSecret))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/test", d.authed(d.sendTestEvent))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/recover", d.authed(d.recoverEndpoint))
}

// endpointDeliveries is how many of its latest deliveries the endpoint
// page lists.
const endpointDeliveries = 10

// endpointNotices are the endpoint page's notices, by the query flag
// (?created=1, ...) that the action the browser was sent back from set.
var endpointNotices = map[string]string{
	"created":  "Endpoint created.",
	"updated":  "Endpoint updated.",
	"disabled": "Endpoint disabled: it gets nothing until it is enabled; its pending deliveries are paused.",
	"enabled":  "Endpoint enabled: its paused deliveries go out again.",
}

// testForm is the send-a-test-event form's values and the complaints
// about them, by field.
type testForm struct {
	Type, Data       string
	TypeErr, DataErr string
	Error            string
	// NoExample: the type chosen has no example in the catalog.
	NoExample bool
}

// rotateForm is the rotate-secret form's value and the complaints about it.
type rotateForm struct {
	ExpiresIn, ExpiresInErr string
	Error                   string
	// Open: the form is shown open (it was just refused).
	Open bool
}

// recoverForm is the recover form's value and the complaints about it.
type recoverForm struct {
	Since, SinceErr string
	Error           string
}

type endpointData struct {
	App      *hook.App
	Endpoint *hook.Endpoint
	// Notice says what the last action did.
	Notice string
	// Recovered is set (≥ 0) after a recovery: how many deliveries it
	// made due; -1 otherwise.
	Recovered int

	// Deliveries are the endpoint's latest; More: it has older ones.
	// EndpointURL and Status serve the deliveries-table partial.
	Deliveries  []*hook.Delivery
	More        bool
	EndpointURL map[string]string
	Status      string

	// The stats of ?range=: attempts and successes, the success rate as
	// text ("" without attempts), and the charts.
	Range               overviewRange
	Ranges              []overviewRange
	Attempts, Succeeded int64
	SuccessRate         string
	Rate, Latency       chart

	// StateError is the API's refusal to disable or enable it;
	// DeleteError to delete it.
	StateError, DeleteError string
	// Secret is the signing secret, shown on request; NewSecret the one a
	// rotation just made, shown once; SecretError the API's refusal to
	// show the secret.
	Secret, NewSecret, SecretError string
	// PreviousSigns says how long the rotated-out secret still signs.
	PreviousSigns string
	Rotate        rotateForm

	// EventTypes are the catalog's (not archived), for the test event.
	EventTypes []*hook.EventType
	MoreTypes  bool
	Test       testForm
	Recover    recoverForm
}

func (e *endpointData) title() string { return "Endpoint · " + e.Endpoint.URL }

// Path is the endpoint page's path, by the endpoint's id.
func (e *endpointData) Path() string {
	return "/apps/" + url.PathEscape(e.App.ID) + "/endpoints/" + url.PathEscape(e.Endpoint.ID)
}

// Live reports whether a delivery listed may still change by itself:
// the list then polls for its new state.
func (e *endpointData) Live() bool {
	for _, dl := range e.Deliveries {
		if dl.Status == hook.DeliveryPending {
			return true
		}
	}
	return false
}

// endpointPath is the page's path of the endpoint of r's path, by the
// references the path gave.
func endpointPath(r *http.Request) string {
	return "/apps/" + url.PathEscape(r.PathValue("app")) + "/endpoints/" + url.PathEscape(r.PathValue("ep"))
}

// endpointPage shows an endpoint: its settings, its success rate and
// latency over ?range=, its latest deliveries, and its actions.
func (d *Dashboard) endpointPage(w http.ResponseWriter, r *http.Request, s *session) {
	data, ok := d.loadEndpoint(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	for _, flag := range []string{"created", "updated", "disabled", "enabled"} {
		if q.Get(flag) == "1" {
			data.Notice = endpointNotices[flag]
		}
	}
	if n, err := strconv.Atoi(q.Get("recovered")); err == nil && n >= 0 {
		data.Recovered = n
	}
	d.renderNav(w, r, s, http.StatusOK, "endpoint", "apps", data)
}

// loadEndpoint reads what the endpoint page shows, through the API; false
// when it answered (an error page).
func (d *Dashboard) loadEndpoint(w http.ResponseWriter, r *http.Request, s *session) (*endpointData, bool) {
	data := &endpointData{Recovered: -1, Range: overviewRanges[0], Ranges: overviewRanges}
	if !d.loadAppOnly(w, r, s, &data.App) {
		return nil, false
	}
	read := func(path string, v any) bool {
		a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, path, nil, nil)
		if !a.OK() {
			d.apiError(w, r, s, a)
			return false
		}
		if err := a.decode(v); err != nil {
			d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
			return false
		}
		return true
	}
	if !read(apiPath("/v1/apps/%s/endpoints/%s", data.App.ID, r.PathValue("ep")), &data.Endpoint) {
		return nil, false
	}
	ep := data.Endpoint
	data.EndpointURL = map[string]string{ep.ID: ep.URL}

	var dls list[*hook.Delivery]
	q := url.Values{"endpoint": {ep.ID}, "limit": {strconv.Itoa(endpointDeliveries)}}
	if !read(apiPath("/v1/apps/%s/deliveries", data.App.ID)+"?"+q.Encode(), &dls) {
		return nil, false
	}
	data.Deliveries, data.More = dls.Data, dls.NextCursor != nil

	for _, rg := range overviewRanges {
		if rg.Key == r.URL.Query().Get("range") {
			data.Range = rg
		}
	}
	q = url.Values{
		"endpoint": {ep.ID},
		"since":    {d.now().Add(-data.Range.Window).UTC().Format(time.RFC3339)},
		"bucket":   {data.Range.Bucket.String()},
	}
	var st statsAnswer
	if !read(apiPath("/v1/apps/%s/stats", data.App.ID)+"?"+q.Encode(), &st) {
		return nil, false
	}
	bucket := time.Duration(st.BucketSeconds) * time.Second
	data.Succeeded, data.Attempts = attemptCounts(st.Buckets)
	data.SuccessRate = successRate(data.Succeeded, data.Attempts)
	data.Rate = successRateChart(st.Buckets, bucket, data.Range.Label)
	data.Latency = latencyChart(st.Buckets, bucket, data.Range.Label)

	var types list[*hook.EventType]
	if !read("/v1/event-types?limit=100", &types) {
		return nil, false
	}
	data.EventTypes, data.MoreTypes = types.Data, types.NextCursor != nil
	if len(data.EventTypes) > 0 {
		data.Test = exampleForm(data.EventTypes[0])
	}
	data.Recover.Since = d.now().Add(-24 * time.Hour).UTC().Format("2006-01-02T15:04")
	return data, true
}

// exampleForm is the test event form for et: its name, and its example
// indented.
func exampleForm(et *hook.EventType) testForm {
	return testForm{Type: et.Name, Data: indentJSON(et.Example), NoExample: len(et.Example) == 0}
}

// refused answers an action the API refused: a 401 signs out, and a 403
// or 404 (another app's endpoint, or one deleted meanwhile) is an error
// page; else the endpoint page is shown again with the API's status,
// show placing the refusal on it.
func (d *Dashboard) refused(w http.ResponseWriter, r *http.Request, s *session, a *apiAnswer, show func(*endpointData, *Problem)) {
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden || a.Status == http.StatusNotFound {
		d.apiError(w, r, s, a)
		return
	}
	d.showEndpoint(w, r, s, a.Status, func(data *endpointData) { show(data, a.problem()) })
}

// showEndpoint renders the endpoint page with status, after fill put on
// it what the action has to show: a refusal (the API's or the
// dashboard's own), a secret.
func (d *Dashboard) showEndpoint(w http.ResponseWriter, r *http.Request, s *session, status int, fill func(*endpointData)) {
	data, ok := d.loadEndpoint(w, r, s)
	if !ok {
		return
	}
	fill(data)
	d.renderNav(w, r, s, status, "endpoint", "apps", data)
}

// setEndpointDisabled disables or enables the endpoint (PATCH
// {"disabled"}), then goes back to its page with a notice.
func (d *Dashboard) setEndpointDisabled(disabled bool) authedHandler {
	return func(w http.ResponseWriter, r *http.Request, s *session) {
		a := d.callAPI(r.Context(), r, s.Key, http.MethodPatch, apiPath("/v1/apps/%s/endpoints/%s", r.PathValue("app"), r.PathValue("ep")),
			map[string]any{"disabled": disabled}, nil)
		if !a.OK() {
			d.refused(w, r, s, a, func(data *endpointData, p *Problem) { data.StateError = withAt(p, "body.disabled") })
			return
		}
		flag := "enabled"
		if disabled {
			flag = "disabled"
		}
		http.Redirect(w, r, endpointPath(r)+"?"+flag+"=1", http.StatusSeeOther)
	}
}

// deleteEndpoint deletes the endpoint with its deliveries; the browser
// goes to the app's page.
func (d *Dashboard) deleteEndpoint(w http.ResponseWriter, r *http.Request, s *session) {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodDelete, apiPath("/v1/apps/%s/endpoints/%s", r.PathValue("app"), r.PathValue("ep")), nil, nil)
	if !a.OK() {
		d.refused(w, r, s, a, func(data *endpointData, p *Problem) { data.DeleteError = withAt(p, "path") })
		return
	}
	http.Redirect(w, r, "/apps/"+url.PathEscape(r.PathValue("app")), http.StatusSeeOther)
}

// revealSecret shows the endpoint's signing secret: asked for with a
// POST, so it is never in the page by default, and the answer is not
// cached (Cache-Control: no-store, as every signed-in page).
func (d *Dashboard) revealSecret(w http.ResponseWriter, r *http.Request, s *session) {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/endpoints/%s/secret", r.PathValue("app"), r.PathValue("ep")), nil, nil)
	if !a.OK() {
		d.refused(w, r, s, a, func(data *endpointData, p *Problem) { data.SecretError = withAt(p, "path") })
		return
	}
	var secret struct {
		Secret string `json:"secret"`
	}
	if err := a.decode(&secret); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return
	}
	d.showEndpoint(w, r, s, http.StatusOK, func(data *endpointData) { data.Secret = secret.Secret })
}

// rotateSecret makes a new signing secret (POST .../secret/rotate), the
// previous one still signing for previous_expires_in seconds (empty: the
// app's overlap), and shows the new one once.
func (d *Dashboard) rotateSecret(w http.ResponseWriter, r *http.Request, s *session) {
	form := rotateForm{ExpiresIn: strings.TrimSpace(r.PostFormValue("previous_expires_in"))}
	body := map[string]any{}
	if form.ExpiresIn != "" {
		n, err := strconv.Atoi(form.ExpiresIn)
		if err != nil {
			form.ExpiresInErr, form.Open = "must be a whole number of seconds, such as 3600", true
			d.showEndpoint(w, r, s, http.StatusUnprocessableEntity, func(data *endpointData) { data.Rotate = form })
			return
		}
		body["previous_expires_in"] = n
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, apiPath("/v1/apps/%s/endpoints/%s/secret/rotate", r.PathValue("app"), r.PathValue("ep")), body, nil)
	if !a.OK() {
		d.refused(w, r, s, a, func(data *endpointData, p *Problem) {
			form.Open = true
			if form.ExpiresInErr = p.At("body.previous_expires_in"); form.ExpiresInErr == "" {
				form.Error = withAt(p, "body")
			}
			data.Rotate = form
		})
		return
	}
	var secret struct {
		Secret string `json:"secret"`
	}
	if err := a.decode(&secret); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The secret was rotated, but the API's answer could not be read: reveal it on the endpoint's page.")
		return
	}
	d.showEndpoint(w, r, s, http.StatusOK, func(data *endpointData) {
		data.NewSecret = secret.Secret
		overlap := data.App.SecretOverlapSeconds
		if n, ok := body["previous_expires_in"].(int); ok {
			overlap = n
		}
		data.PreviousSigns = overlapText(overlap)
	})
}

// overlapText says how long a rotated-out secret still signs.
func overlapText(seconds int) string {
	if seconds <= 0 {
		return "The previous secret no longer signs."
	}
	return "The previous secret also signs for " + (time.Duration(seconds) * time.Second).String() + " more, so receivers can switch without missing a delivery."
}

// testExample answers the test event form's data field for ?type=, with
// the type's example: htmx swaps it in when the type changes. It reads
// only the catalog, which every key may read.
func (d *Dashboard) testExample(w http.ResponseWriter, r *http.Request, s *session) {
	name := r.URL.Query().Get("type")
	form := testForm{Type: name}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/event-types/%s", name), nil, nil)
	var et hook.EventType
	switch {
	case a.Status == http.StatusUnauthorized:
		d.apiError(w, r, s, a)
		return
	case !a.OK():
		form.DataErr = a.problem().Detail
	case a.decode(&et) != nil:
		form.DataErr = "The API's answer could not be read."
	default:
		form = exampleForm(&et)
	}
	var buf bytes.Buffer
	if err := d.pageSet(s)["endpoint"].ExecuteTemplate(&buf, "test-data", form); err != nil {
		d.log.Error("dashboard: render", "page", "test-data", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write(buf.Bytes())
}

// sendTestEvent sends the endpoint a test event of the type chosen, with
// the data of the form (the type's example unless edited): accepted, the
// browser goes to its delivery's page. With load=1 (the "Load example"
// button, for browsers without script) it only fills the form with the
// type's example. Data that is not JSON is refused here, at its field.
func (d *Dashboard) sendTestEvent(w http.ResponseWriter, r *http.Request, s *session) {
	form := testForm{Type: strings.TrimSpace(r.PostFormValue("type")), Data: r.PostFormValue("data")}
	if r.PostFormValue("load") != "" {
		d.loadExample(w, r, s, form.Type)
		return
	}
	body := map[string]any{"type": form.Type}
	if strings.TrimSpace(form.Data) != "" {
		if msg := jsonError(form.Data); msg != "" {
			form.DataErr = msg
			d.showEndpoint(w, r, s, http.StatusUnprocessableEntity, func(data *endpointData) { data.Test = form })
			return
		}
		body["data"] = json.RawMessage(form.Data)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, apiPath("/v1/apps/%s/endpoints/%s/test", r.PathValue("app"), r.PathValue("ep")), body, nil)
	if !a.OK() {
		d.refused(w, r, s, a, func(data *endpointData, p *Problem) {
			var nested bool
			form.TypeErr = p.At("body.type")
			form.DataErr, nested = dataErrors(p)
			switch {
			case form.TypeErr == "" && form.DataErr == "":
				form.Error = withAt(p, "body")
			case nested:
				// A schema's complaints about fields: say which schema.
				form.DataErr = p.Detail + ": " + form.DataErr
			}
			data.Test = form
		})
		return
	}
	var sent struct {
		Delivery *hook.Delivery `json:"delivery"`
	}
	if err := a.decode(&sent); err != nil || sent.Delivery == nil {
		http.Redirect(w, r, endpointPath(r), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, "/apps/"+url.PathEscape(sent.Delivery.AppID)+"/deliveries/"+url.PathEscape(sent.Delivery.ID), http.StatusSeeOther)
}

// loadExample shows the endpoint page with the test event form filled
// with the example of the type name (422 when the catalog has no such
// type): the "Load example" button.
func (d *Dashboard) loadExample(w http.ResponseWriter, r *http.Request, s *session, name string) {
	data, ok := d.loadEndpoint(w, r, s)
	if !ok {
		return
	}
	status := http.StatusUnprocessableEntity
	data.Test = testForm{Type: name, TypeErr: "is not in the catalog"}
	for _, et := range data.EventTypes {
		if et.Name == name {
			data.Test, status = exampleForm(et), http.StatusOK
		}
	}
	d.renderNav(w, r, s, status, "endpoint", "apps", data)
}

// jsonError says what is wrong with a form's JSON ("" when nothing),
// where: "is not valid JSON: line 2, column 5: invalid character ...".
func jsonError(s string) string {
	var v any
	err := json.Unmarshal([]byte(s), &v)
	if err == nil {
		return ""
	}
	se, ok := err.(*json.SyntaxError)
	if !ok {
		return "is not valid JSON: " + err.Error()
	}
	line, col := 1, 1
	for _, c := range s[:min(int(se.Offset), len(s))] {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	// The offset is past the byte at fault.
	col = max(col-1, 1)
	return fmt.Sprintf("is not valid JSON: line %d, column %d: %s", line, col, strings.TrimPrefix(err.Error(), "json: "))
}

// dataErrors joins the problem's messages about body.data and the fields
// in it, each of the latter named by its place: "amount: expected
// number"; nested reports whether there are such.
func dataErrors(p *Problem) (msg string, nested bool) {
	var msgs []string
	for _, e := range p.Errors {
		switch {
		case e.Location == "body.data":
			msgs = append(msgs, e.Message)
		case strings.HasPrefix(e.Location, "body.data.") || strings.HasPrefix(e.Location, "body.data["):
			msgs = append(msgs, strings.TrimPrefix(strings.TrimPrefix(e.Location, "body.data"), ".")+": "+e.Message)
			nested = true
		}
	}
	return strings.Join(msgs, "; "), nested
}

// withAt is the problem's detail, with its messages about location when
// the detail does not already say them.
func withAt(p *Problem, location string) string {
	msg := p.Detail
	if at := p.At(location); at != "" && !strings.Contains(msg, at) {
		msg += ": " + at
	}
	return msg
}

// recoverTimeLayouts are the times the recover form takes: a
// datetime-local input's value (no zone: UTC), or RFC 3339.
var recoverTimeLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", time.RFC3339}

// recoverEndpoint gives the endpoint's failed deliveries created since
// the time of the form (UTC) one more attempt (POST .../recover), then
// goes back to its page, which says how many.
func (d *Dashboard) recoverEndpoint(w http.ResponseWriter, r *http.Request, s *session) {
	form := recoverForm{Since: strings.TrimSpace(r.PostFormValue("since"))}
	var since time.Time
	for _, layout := range recoverTimeLayouts {
		if t, err := time.Parse(layout, form.Since); err == nil {
			since = t.UTC()
			break
		}
	}
	if since.IsZero() {
		form.SinceErr = "must be a date and time, such as 2026-12-02T09:30 (UTC)"
		if form.Since == "" {
			form.SinceErr = "is required: the failed deliveries created at or after this time are retried"
		}
		d.showEndpoint(w, r, s, http.StatusUnprocessableEntity, func(data *endpointData) { data.Recover = form })
		return
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, apiPath("/v1/apps/%s/endpoints/%s/recover", r.PathValue("app"), r.PathValue("ep")),
		map[string]any{"since": since.Format(time.RFC3339)}, nil)
	if !a.OK() {
		d.refused(w, r, s, a, func(data *endpointData, p *Problem) {
			if form.SinceErr = p.At("body.since"); form.SinceErr == "" {
				form.Error = withAt(p, "body")
			}
			data.Recover = form
		})
		return
	}
	var out struct {
		Recovered int `json:"recovered"`
	}
	if err := a.decode(&out); err != nil {
		http.Redirect(w, r, endpointPath(r), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, endpointPath(r)+"?recovered="+strconv.Itoa(out.Recovered)+"#recover-head", http.StatusSeeOther)
}
