package dashboard

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
)

// list is a page of a list the API answered.
type list[T any] struct {
	Data       []T     `json:"data"`
	NextCursor *string `json:"next_cursor"`
}

// readList reads the API's answer a as a page of a list: its items into
// items, the next page's cursor into next ("" on the last page). When the
// answer cannot be read it answers with an error page and returns false.
func readList[T any](d *Dashboard, w http.ResponseWriter, r *http.Request, s *session, a *apiAnswer, items *[]T, next *string) bool {
	var page list[T]
	if err := a.decode(&page); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return false
	}
	*items, *next = page.Data, ""
	if page.NextCursor != nil {
		*next = *page.NextCursor
	}
	return true
}

type appsData struct {
	Apps []*hook.App
	Next string
	// ForDeliveries: the list was opened from "Deliveries", so each app
	// links to its deliveries.
	ForDeliveries bool
}

// appsPage lists the apps (admin keys); a key bound to an app goes to its
// app. ?ref= opens an app by id or uid.
func (d *Dashboard) appsPage(w http.ResponseWriter, r *http.Request, s *session) {
	if ref := strings.TrimSpace(r.URL.Query().Get("ref")); ref != "" {
		http.Redirect(w, r, "/apps/"+url.PathEscape(ref), http.StatusSeeOther)
		return
	}
	if s.Key.AppID != "" {
		http.Redirect(w, r, "/apps/"+url.PathEscape(s.Key.AppID), http.StatusSeeOther)
		return
	}
	d.listApps(w, r, s, "apps", false)
}

func (d *Dashboard) listApps(w http.ResponseWriter, r *http.Request, s *session, nav string, forDeliveries bool) {
	q := url.Values{"limit": {"25"}}
	if c := r.URL.Query().Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, "/v1/apps?"+q.Encode(), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return
	}
	var page list[*hook.App]
	if err := a.decode(&page); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return
	}
	data := appsData{Apps: page.Data, ForDeliveries: forDeliveries}
	if page.NextCursor != nil {
		data.Next = *page.NextCursor
	}
	d.renderNav(w, r, s, http.StatusOK, "apps", nav, data)
}

// deliveriesEntry is the nav's Deliveries: a key bound to an app goes to
// its app's deliveries; an admin key chooses an app.
func (d *Dashboard) deliveriesEntry(w http.ResponseWriter, r *http.Request, s *session) {
	if s.Key.AppID != "" {
		http.Redirect(w, r, "/apps/"+url.PathEscape(s.Key.AppID)+"/deliveries", http.StatusSeeOther)
		return
	}
	d.listApps(w, r, s, "deliveries", true)
}

type appData struct {
	App        *hook.App
	Endpoints  []*hook.Endpoint
	MoreEPs    bool
	Deliveries []*hook.Delivery
	// EndpointURL maps endpoint ids to their URLs.
	EndpointURL map[string]string
	// Status is the deliveries' filter; Next the next page's cursor
	// (deliveries page only).
	Status string
	Next   string
	// Full: the deliveries page (all deliveries, filtered, paginated);
	// else the app page (its latest ten).
	Full     bool
	Statuses []string
}

func (a appData) title() string {
	if a.Full {
		return "Deliveries · " + a.App.Name
	}
	return a.App.Name
}

// loadApp reads the app and its endpoints; false when it answered.
func (d *Dashboard) loadApp(w http.ResponseWriter, r *http.Request, s *session, data *appData) bool {
	ref := r.PathValue("app")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", ref), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	if err := a.decode(&data.App); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return false
	}
	a = d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/endpoints?limit=100", data.App.ID), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	var eps list[*hook.Endpoint]
	if err := a.decode(&eps); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return false
	}
	data.Endpoints, data.MoreEPs = eps.Data, eps.NextCursor != nil
	data.EndpointURL = map[string]string{}
	for _, ep := range eps.Data {
		data.EndpointURL[ep.ID] = ep.URL
	}
	return true
}

// appPage shows an app: its endpoints and its latest deliveries.
func (d *Dashboard) appPage(w http.ResponseWriter, r *http.Request, s *session) {
	var data appData
	if !d.loadApp(w, r, s, &data) {
		return
	}
	if !d.loadDeliveries(w, r, s, &data, url.Values{"limit": {"10"}}) {
		return
	}
	d.renderNav(w, r, s, http.StatusOK, "app", "apps", data)
}

func (d *Dashboard) loadDeliveries(w http.ResponseWriter, r *http.Request, s *session, data *appData, q url.Values) bool {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/deliveries", data.App.ID)+"?"+q.Encode(), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	return readList(d, w, r, s, a, &data.Deliveries, &data.Next)
}

type deliveryData struct {
	App      *hook.App
	Delivery *api.DeliveryWithAttempts
	Endpoint *hook.Endpoint
	// Retried: the page follows a retry the API accepted.
	Retried bool
	// RetryError is the API's refusal of a retry.
	RetryError string
}

func (d deliveryData) title() string { return "Delivery " + d.Delivery.ID }

// Live reports whether the delivery may still change by itself: the page
// then polls for its new state.
func (d deliveryData) Live() bool { return d.Delivery.Status == hook.DeliveryPending }

// deliveryPage shows a delivery and its attempts as a timeline.
func (d *Dashboard) deliveryPage(w http.ResponseWriter, r *http.Request, s *session) {
	data, ok := d.loadDelivery(w, r, s)
	if !ok {
		return
	}
	data.Retried = r.URL.Query().Get("retried") == "1"
	d.renderNav(w, r, s, http.StatusOK, "delivery", "deliveries", data)
}

func (d *Dashboard) loadDelivery(w http.ResponseWriter, r *http.Request, s *session) (*deliveryData, bool) {
	data := &deliveryData{}
	ref := r.PathValue("app")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", ref), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return nil, false
	}
	if err := a.decode(&data.App); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return nil, false
	}
	a = d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/deliveries/%s", data.App.ID, r.PathValue("dlv")), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return nil, false
	}
	if err := a.decode(&data.Delivery); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return nil, false
	}
	a = d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s/endpoints/%s", data.App.ID, data.Delivery.EndpointID), nil, nil)
	if a.OK() {
		_ = a.decode(&data.Endpoint)
	}
	return data, true
}

// retry asks the API to retry the delivery; accepted, the browser goes
// back to the delivery's page, which shows the new attempt as it lands.
// A refusal (a disabled endpoint's 409, ...) is shown on the delivery's
// page, with the API's status.
func (d *Dashboard) retry(w http.ResponseWriter, r *http.Request, s *session) {
	app, dlv := r.PathValue("app"), r.PathValue("dlv")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, apiPath("/v1/apps/%s/deliveries/%s/retry", app, dlv), nil, nil)
	if a.OK() {
		http.Redirect(w, r, "/apps/"+url.PathEscape(app)+"/deliveries/"+url.PathEscape(dlv)+"?retried=1", http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusNotFound || a.Status == http.StatusForbidden {
		d.apiError(w, r, s, a)
		return
	}
	data, ok := d.loadDelivery(w, r, s)
	if !ok {
		return
	}
	p := a.problem()
	data.RetryError = p.Detail
	if at := p.At("path.dlv"); at != "" && !strings.Contains(p.Detail, at) {
		data.RetryError += ": " + at
	}
	d.renderNav(w, r, s, a.Status, "delivery", "deliveries", data)
}
