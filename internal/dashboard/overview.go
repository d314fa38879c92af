package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
)

// overviewRange is a window the Overview's charts can show.
type overviewRange struct {
	// Key is its ?range= value; Label how the page names it.
	Key, Label string
	Window     time.Duration
	Bucket     time.Duration
}

// overviewRanges are the Overview's windows; the first is the default.
var overviewRanges = []overviewRange{
	{Key: "1h", Label: "last hour", Window: time.Hour, Bucket: time.Minute},
	{Key: "24h", Label: "last 24 hours", Window: 24 * time.Hour, Bucket: 15 * time.Minute},
}

// statsAnswer is the stats API's answer.
type statsAnswer struct {
	Since         time.Time         `json:"since"`
	Until         time.Time         `json:"until"`
	BucketSeconds int64             `json:"bucket_seconds"`
	Buckets       []api.StatsBucket `json:"buckets"`
	Summary       api.StatsSummary  `json:"summary"`
}

// troubledEndpoint is a row of "Needs attention".
type troubledEndpoint struct {
	api.StatsEndpoint
	// AppName is the app's name, when known; else its id shows.
	AppName string
	// Problem says in plain words how its last attempt failed.
	Problem string
}

type overviewData struct {
	AppID   string
	Range   overviewRange
	Ranges  []overviewRange
	Backlog api.StatsBacklog
	// Troubled are the endpoints that need attention.
	Troubled []troubledEndpoint
	// Deliveries and Latency are the charts, as inline SVG; empty when
	// the window has nothing to show.
	Deliveries, Latency chart
	// now is when the page is made (see ClockTime).
	now time.Time
}

// ClockTime shows a time near now briefly, for a badge: its UTC time of
// day ("15:04:05 UTC") when it falls on today's UTC date, else in full.
func (o overviewData) ClockTime(t time.Time) string {
	t = t.UTC()
	if y, m, dd := t.Date(); o.now.UTC().Year() == y && o.now.UTC().Month() == m && o.now.UTC().Day() == dd {
		return t.Format("15:04:05 UTC")
	}
	return utcString(t)
}

// overview shows the backlog, the endpoints that need attention, and
// charts of deliveries and latency over ?range= (1h or 24h), read from
// the stats API: GET /v1/stats for an admin key, the app's stats for a
// key bound to an app.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, s *session) {
	data := overviewData{AppID: s.Key.AppID, Range: overviewRanges[0], Ranges: overviewRanges, now: d.now()}
	for _, rg := range overviewRanges {
		if rg.Key == r.URL.Query().Get("range") {
			data.Range = rg
		}
	}
	q := url.Values{
		"since":  {d.now().Add(-data.Range.Window).UTC().Format(time.RFC3339)},
		"bucket": {data.Range.Bucket.String()},
	}
	path := "/v1/stats"
	if s.Key.AppID != "" {
		path = apiPath("/v1/apps/%s/stats", s.Key.AppID)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, path+"?"+q.Encode(), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	var st statsAnswer
	if err := a.decode(&st); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return
	}
	data.Backlog = st.Summary.Backlog
	names := d.appNames(r, s, st.Summary.Endpoints)
	for _, ep := range st.Summary.Endpoints {
		data.Troubled = append(data.Troubled, troubledEndpoint{StatsEndpoint: ep, AppName: names[ep.AppID], Problem: endpointProblem(ep)})
	}
	bucket := time.Duration(st.BucketSeconds) * time.Second
	data.Deliveries = deliveriesChart(st.Buckets, bucket, data.Range.Label)
	data.Latency = latencyChart(st.Buckets, bucket, data.Range.Label)
	d.renderNav(w, r, s, http.StatusOK, "overview", "overview", data)
}

// appNames maps the troubled endpoints' app ids to the apps' names, as
// far as the first page of apps tells (admin keys; a key bound to an app
// reads its app). A failed read only leaves the ids showing.
func (d *Dashboard) appNames(r *http.Request, s *session, eps []api.StatsEndpoint) map[string]string {
	names := map[string]string{}
	if len(eps) == 0 {
		return names
	}
	if s.Key.AppID != "" {
		var app hook.App
		if a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", s.Key.AppID), nil, nil); a.OK() && a.decode(&app) == nil {
			names[app.ID] = app.Name
		}
		return names
	}
	var page list[*hook.App]
	if a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, "/v1/apps?limit=100", nil, nil); a.OK() && a.decode(&page) == nil {
		for _, app := range page.Data {
			names[app.ID] = app.Name
		}
	}
	return names
}

// endpointProblem says in plain words what is wrong with a troubled
// endpoint: "HTTP 500", "connection refused", ...
func endpointProblem(ep api.StatsEndpoint) string {
	var s string
	switch ep.LastErrorKind {
	case "status":
		s = fmt.Sprintf("HTTP %d", ep.LastResponseStatus)
	case "timeout":
		s = "timed out"
	case "refused":
		s = "connection refused"
	case "dns":
		s = "host name not found (DNS)"
	case "tls":
		s = "TLS handshake failed"
	case "network":
		s = "network error"
	case "blocked":
		s = "address blocked (private network)"
	case "internal":
		s = "hookd could not send it"
	default:
		if ep.LastResponseStatus >= 300 {
			s = fmt.Sprintf("HTTP %d", ep.LastResponseStatus)
		} else if ep.LastError != "" {
			s = ep.LastError
		}
	}
	if ep.State == "disabled" {
		if s == "" {
			return "disabled"
		}
		return "disabled; last attempt: " + s
	}
	return strings.TrimSpace(s)
}
