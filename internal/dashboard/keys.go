package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/api"
)

// keyRow is an API key as the keys page lists it.
type keyRow struct {
	*api.APIKey
	// Expired: its expires_at has passed (the API answers 401 for it).
	Expired bool
	// Mine: the signed-in session acts as this key.
	Mine bool
	// DeleteError is the API's refusal to delete it (the last admin
	// key's 409, ...).
	DeleteError string
}

// keyForm is the create form's values and the API's complaints about
// them, by field.
type keyForm struct {
	Name, App, Expires          string
	NameErr, AppErr, ExpiresErr string
	Error                       string
}

type keysData struct {
	Keys []keyRow
	Next string
	Form keyForm
	// Deleted is the id of the key just deleted; DeleteError the API's
	// refusal to delete a key the list does not show.
	Deleted, DeleteError string
	// Created is the key just created: its secret, shown this once.
	Created *api.CreatedAPIKey
}

func (keysData) title() string { return "API keys" }

// keys serves /keys: GET the page, POST the create form.
func (d *Dashboard) keys(w http.ResponseWriter, r *http.Request, s *session) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		d.keysPage(w, r, s)
	case http.MethodPost:
		d.createKey(w, r, s)
	default:
		w.Header().Set("Allow", "GET, HEAD, POST")
		d.errorPage(w, r, s, http.StatusMethodNotAllowed, "The API keys page takes GET and POST only.")
	}
}

// keysPage lists the API keys (admin sessions; the API answers 403 to a
// key bound to an app), with the create form.
func (d *Dashboard) keysPage(w http.ResponseWriter, r *http.Request, s *session) {
	data := &keysData{Deleted: r.URL.Query().Get("deleted")}
	if !d.loadKeys(w, r, s, data) {
		return
	}
	d.renderNav(w, r, s, http.StatusOK, "keys", "keys", data)
}

// loadKeys reads a page of keys (?cursor=) into data; false when it
// answered.
func (d *Dashboard) loadKeys(w http.ResponseWriter, r *http.Request, s *session, data *keysData) bool {
	q := url.Values{"limit": {"100"}}
	if c := r.URL.Query().Get("cursor"); c != "" {
		q.Set("cursor", c)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, "/v1/api-keys?"+q.Encode(), nil, nil)
	if !a.OK() {
		d.apiError(w, r, s, a)
		return false
	}
	var page list[*api.APIKey]
	if err := a.decode(&page); err != nil {
		d.errorPage(w, r, s, http.StatusInternalServerError, "The API's answer could not be read.")
		return false
	}
	now := d.now()
	data.Keys = make([]keyRow, len(page.Data))
	for i, k := range page.Data {
		data.Keys[i] = keyRow{APIKey: k, Expired: k.ExpiresAt != nil && !now.Before(*k.ExpiresAt), Mine: k.ID == s.Key.ID}
	}
	if page.NextCursor != nil {
		data.Next = *page.NextCursor
	}
	return true
}

// createKey asks the API for a new key. Created, the answer shows the
// key this once (never cached, no redirect that would lose it); refused,
// the keys page shows the API's complaints next to their fields.
func (d *Dashboard) createKey(w http.ResponseWriter, r *http.Request, s *session) {
	form := keyForm{
		Name:    strings.TrimSpace(r.PostFormValue("name")),
		App:     strings.TrimSpace(r.PostFormValue("app")),
		Expires: strings.TrimSpace(r.PostFormValue("expires")),
	}
	body := map[string]any{"name": form.Name}
	if form.App != "" {
		body["app"] = form.App
	}
	if form.Expires != "" {
		body["expires_at"] = expiresAt(form.Expires)
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodPost, "/v1/api-keys", body, nil)
	if a.OK() {
		var created api.CreatedAPIKey
		if err := a.decode(&created); err != nil {
			d.errorPage(w, r, s, http.StatusInternalServerError, "The key was created, but the API's answer could not be read: delete it and create another.")
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		d.renderNav(w, r, s, http.StatusCreated, "key-created", "keys", &keysData{Created: &created})
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		d.apiError(w, r, s, a)
		return
	}
	p := a.problem()
	form.NameErr, form.AppErr, form.ExpiresErr = p.At("body.name"), p.At("body.app"), p.At("body.expires_at")
	if form.NameErr == "" && form.AppErr == "" && form.ExpiresErr == "" {
		form.Error = p.Detail
	}
	data := &keysData{Form: form}
	if !d.loadKeys(w, r, s, data) {
		return
	}
	d.renderNav(w, r, s, a.Status, "keys", "keys", data)
}

// expiresAt is the form's expiry as the API takes it: a date
// (2027-01-31, as a date input gives it) is the start of that day, UTC;
// anything else goes as written, for the API to accept (RFC 3339) or to
// say what is wrong with it.
func expiresAt(v string) string {
	if t, err := time.Parse(time.DateOnly, v); err == nil {
		return t.UTC().Format(time.RFC3339)
	}
	return v
}

// deleteKey asks the API to delete the key; deleted, the browser goes
// back to the keys page. A refusal (the last admin key's 409, a key
// deleted meanwhile) is shown on the keys page, next to the key.
func (d *Dashboard) deleteKey(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	a := d.callAPI(r.Context(), r, s.Key, http.MethodDelete, apiPath("/v1/api-keys/%s", id), nil, nil)
	if a.OK() {
		http.Redirect(w, r, "/keys?deleted="+url.QueryEscape(id), http.StatusSeeOther)
		return
	}
	if a.Status == http.StatusUnauthorized || a.Status == http.StatusForbidden {
		d.apiError(w, r, s, a)
		return
	}
	data := &keysData{}
	if !d.loadKeys(w, r, s, data) {
		return
	}
	p := a.problem()
	found := false
	for i := range data.Keys {
		if data.Keys[i].ID == id {
			data.Keys[i].DeleteError, found = p.Detail, true
		}
	}
	if !found {
		data.DeleteError = "Key " + id + " was not deleted: " + p.Detail
	}
	d.renderNav(w, r, s, a.Status, "keys", "keys", data)
}
