package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// searchKinds are what the search looks for, in the order it tries them
// when the id's prefix says nothing.
var searchKinds = []string{"app", "event", "delivery", "endpoint"}

// searchPrefixes say which kind an id's prefix suggests, tried first.
var searchPrefixes = map[string]string{"app_": "app", "evt_": "event", "msg_": "event", "dlv_": "delivery", "ep_": "endpoint"}

type searchData struct {
	// Query is the id searched for; App the app searched within (nil
	// when none: an admin session outside an app's pages).
	Query string
	App   *hook.App
	// AppRef is the app of the search form's hidden field, as given.
	AppRef string
	// Message says what was not found, and where the search looked.
	Message string
}

func (searchData) title() string { return "Search" }

// searchApp is the app the header's search looks within: the app of the
// page (/apps/{app}/...), or the search page's own ?app=.
func searchApp(r *http.Request) string {
	if app := r.PathValue("app"); app != "" {
		return app
	}
	if r.URL.Path == "/search" {
		return strings.TrimSpace(r.URL.Query().Get("app"))
	}
	return ""
}

// search finds what an id names and opens its page: an app (by id or
// uid), and, within the session's app (a key bound to an app) or the app
// being viewed (?app=, an admin session), an event, a delivery or an
// endpoint (the deliveries list, filtered to it). Found nothing, it
// answers 404 with the id and where it looked.
func (d *Dashboard) search(w http.ResponseWriter, r *http.Request, s *session) {
	data := searchData{Query: strings.TrimSpace(r.URL.Query().Get("q")), AppRef: s.Key.AppID}
	if data.AppRef == "" {
		data.AppRef = strings.TrimSpace(r.URL.Query().Get("app"))
	}
	if data.Query == "" {
		data.Message = "Type an id to search for: an app's id or uid; an event's, a delivery's or an endpoint's id within an app."
		d.renderNav(w, r, s, http.StatusOK, "search", "", data)
		return
	}
	if data.AppRef != "" {
		a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", data.AppRef), nil, nil)
		if a.Status == http.StatusUnauthorized {
			d.apiError(w, r, s, a)
			return
		}
		if a.OK() {
			_ = a.decode(&data.App)
		}
	}
	kinds := searchKinds
	for prefix, kind := range searchPrefixes {
		if strings.HasPrefix(data.Query, prefix) {
			kinds = append([]string{kind}, searchKinds...)
		}
	}
	tried := map[string]bool{}
	for _, kind := range kinds {
		if tried[kind] || (kind != "app" && data.App == nil) {
			continue
		}
		tried[kind] = true
		to, a := d.lookUp(r, s, kind, data.App, data.Query)
		switch {
		case to != "":
			http.Redirect(w, r, to, http.StatusSeeOther)
			return
		case a.Status == http.StatusUnauthorized || a.Status >= 500:
			d.apiError(w, r, s, a)
			return
		}
		// 404, or 403 for another app's: not found.
	}
	data.Message = notFoundMessage(&data, s.Key.AppID != "")
	d.renderNav(w, r, s, http.StatusNotFound, "search", "", data)
}

// lookUp asks the API for the kind of object with id (within app) and
// returns the page to open, or "" and the API's answer.
func (d *Dashboard) lookUp(r *http.Request, s *session, kind string, app *hook.App, id string) (string, *apiAnswer) {
	var path string
	switch kind {
	case "app":
		path = apiPath("/v1/apps/%s", id)
	case "event":
		path = apiPath("/v1/apps/%s/events/%s", app.ID, id)
	case "delivery":
		path = apiPath("/v1/apps/%s/deliveries/%s", app.ID, id)
	case "endpoint":
		path = apiPath("/v1/apps/%s/endpoints/%s", app.ID, id)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, path, nil, nil)
	if !a.OK() {
		return "", a
	}
	var found struct {
		ID string `json:"id"`
	}
	if err := a.decode(&found); err != nil || found.ID == "" {
		return "", &apiAnswer{Status: http.StatusInternalServerError, Body: []byte(`{"detail":"The API's answer could not be read."}`)}
	}
	switch kind {
	case "app":
		return "/apps/" + url.PathEscape(found.ID), a
	case "event":
		return "/apps/" + url.PathEscape(app.ID) + "/events/" + url.PathEscape(found.ID), a
	case "delivery":
		return "/apps/" + url.PathEscape(app.ID) + "/deliveries/" + url.PathEscape(found.ID), a
	default:
		return "/apps/" + url.PathEscape(app.ID) + "/deliveries?" + url.Values{"endpoint": {found.ID}}.Encode(), a
	}
}

// notFoundMessage says that nothing has the id, and where the search
// looked.
func notFoundMessage(data *searchData, bound bool) string {
	q := "“" + data.Query + "”"
	switch {
	case bound && data.App != nil:
		return "Nothing in " + data.App.Name + " has the id " + q + ": no event, delivery or endpoint (nor the app itself)."
	case bound:
		return "Nothing your key may see has the id " + q + "."
	case data.App != nil:
		return "No app has the id or uid " + q + ", and no event, delivery or endpoint of " + data.App.Name + " has that id."
	}
	for prefix, kind := range searchPrefixes {
		if kind != "app" && strings.HasPrefix(data.Query, prefix) {
			return "No app has the id or uid " + q + ". It looks like " + article(kind) + " id: open its app first, then search there (an admin session finds events, deliveries and endpoints within the app it is viewing)."
		}
	}
	return "No app has the id or uid " + q + ". To find an event, delivery or endpoint by id, open its app first, then search there."
}

func article(kind string) string {
	if kind == "event" || kind == "endpoint" {
		return "an " + kind
	}
	return "a " + kind
}
