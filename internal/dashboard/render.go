package dashboard

import (
	"bytes"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// layoutData is what every page's layout shows around the page.
type layoutData struct {
	Title string
	// Nav is the nav item that is current: "overview", "apps", "deliveries".
	Nav string
	// KeyName and Bound describe the signed-in key; SignedIn is false on
	// the sign-in page.
	SignedIn bool
	KeyName  string
	Bound    bool
	// SearchApp is the app the header's search looks in for events,
	// deliveries and endpoints (an admin session on an app's pages).
	SearchApp string
	// Portal, for a consumer portal session, is its header (the app's
	// branding and nav); nil in the operator dashboard.
	Portal *portalHeader
	// Bare: the header has no link (a page for someone with no way to
	// sign in, such as a portal link's customer).
	Bare bool
	Page any
}

// parseTemplates parses each page with the layout, once for each
// audience (see pageSets): the same templates, told by the functions
// portal and readOnly whom they are for.
func (d *Dashboard) parseTemplates() error {
	for _, set := range []struct {
		pages            *map[string]*template.Template
		portal, readOnly bool
	}{
		{&d.pages, false, false},
		{&d.portalPages, true, false},
		{&d.readOnlyPages, true, true},
	} {
		pages, err := d.parsePages(set.portal, set.readOnly)
		if err != nil {
			return err
		}
		*set.pages = pages
	}
	return nil
}

// parsePages parses each page with the layout; the templates' functions
// portal and readOnly answer as given.
func (d *Dashboard) parsePages(portal, readOnly bool) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"portal":   func() bool { return portal },
		"readOnly": func() bool { return readOnly },
		"ago":      d.ago,
		"utc":      utcString,
		"iso":      func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"status":   deliveryStatus,
		"path":     url.PathEscape,
		"join":     strings.Join,
		"duration": durationString,
		"deref":    func(t *time.Time) time.Time { return *t },
	}
	names, err := fs.Glob(files, "templates/*.html")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(strings.TrimPrefix(n, "templates/"), ".html")
		if base == "layout" || base == "partials" {
			continue
		}
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(files, "templates/layout.html", "templates/partials.html", n)
		if err != nil {
			return nil, fmt.Errorf("dashboard: template %s: %w", n, err)
		}
		pages[base] = t
	}
	return pages, nil
}

// render writes a page inside the layout, with status.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, s *session, status int, page string, data any) {
	d.renderNav(w, r, s, status, page, "", data)
}

// titles are the pages' titles.
var titles = map[string]string{
	"signin": "Sign in", "overview": "Overview", "apps": "Apps", "app": "App",
	"deliveries": "Deliveries", "delivery": "Delivery", "error": "Error",
	"endpoint-form": "Endpoint",
	"endpoint":      "Endpoint",
	"event-types":   "Event types", "event-type": "Event type",
}

func (d *Dashboard) renderNav(w http.ResponseWriter, r *http.Request, s *session, status int, page, nav string, data any) {
	t, ok := d.pageSet(s)[page]
	if !ok {
		panic("dashboard: no page " + page)
	}
	ld := layoutData{Title: titles[page], Nav: nav, Page: data, Bare: page == "portal-gone"}
	if tt, ok := data.(interface{ title() string }); ok {
		ld.Title = tt.title()
	}
	if s != nil {
		ld.SignedIn, ld.KeyName, ld.Bound = true, s.Key.Name, s.Key.AppID != ""
		if !ld.Bound {
			ld.SearchApp = searchApp(r)
		}
		if s.Key.Portal {
			ld.Portal = d.portalHeader(r, s)
			setPortalHeaders(w, d.portalCSP)
		}
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, ld); err != nil {
		d.log.Error("dashboard: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorData struct {
	Status int
	Text   string
	Detail string
}

// errorPage answers with a page that says what went wrong.
func (d *Dashboard) errorPage(w http.ResponseWriter, r *http.Request, s *session, status int, detail string) {
	if s == nil {
		s, _ = d.session(r)
	}
	d.render(w, r, s, status, "error", errorData{Status: status, Text: http.StatusText(status), Detail: detail})
}

// apiError answers a page whose API read failed with the API's status and
// detail; a 401 (the key went away) signs the browser out.
func (d *Dashboard) apiError(w http.ResponseWriter, r *http.Request, s *session, a *apiAnswer) {
	if a.Status == http.StatusUnauthorized && s != nil && s.Key.Portal {
		d.portalGone(w, r, http.StatusUnauthorized)
		return
	}
	if a.Status == http.StatusUnauthorized {
		clearCookie(w, r)
		http.Redirect(w, r, "/signin", http.StatusSeeOther)
		return
	}
	d.errorPage(w, r, s, a.Status, a.problem().Detail)
}

// ago says how long before now t was: "12 s ago", "3 min ago", "5 h ago",
// "2 d ago"; a future time is "in 3 min".
func (d *Dashboard) ago(t time.Time) string {
	dt := d.now().Sub(t)
	future := dt < 0
	if future {
		dt = -dt
	}
	var s string
	switch {
	case dt < time.Minute:
		s = fmt.Sprintf("%d s", int(dt.Seconds()))
	case dt < time.Hour:
		s = fmt.Sprintf("%d min", int(dt.Minutes()))
	case dt < 48*time.Hour:
		s = fmt.Sprintf("%d h", int(dt.Hours()))
	default:
		s = fmt.Sprintf("%d d", int(dt.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

func utcString(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05 UTC") }

func durationString(ms int64) string {
	if ms < 1000 {
		return fmt.Sprintf("%d ms", ms)
	}
	return fmt.Sprintf("%.1f s", float64(ms)/1000)
}

// deliveryStatus is a delivery's status in the dashboard's one
// vocabulary: succeeded, pending, retrying (pending after a failed
// attempt), paused (its endpoint is disabled) and failed (its schedule is
// exhausted).
func deliveryStatus(status string, attempts int) string {
	if status == "pending" && attempts > 0 {
		return "retrying"
	}
	return status
}
