package dashboard

// The consumer portal: a provider's customer opens a portal link
// (POST /v1/apps/{app}/portal-links answers it) and manages that one
// app's endpoints in the dashboard's own pages, narrowed:
//
//   - GET /portal/{token} looks the link's token up (an API key marked
//     Portal, bound to its app, short-lived), opens a session for it in
//     a cookie of its own (PortalCookieName) and sends the browser to the
//     app's page, so that the address no longer holds the token.
//   - A portal session reaches its app's pages only (portalAllows): its
//     endpoints, deliveries and events. The overview, the apps list, API
//     keys, the catalog's pages and search answer 404; another app's
//     pages too. A read-only link's session may only read: its pages
//     hide every change (the templates' readOnly) and any other request
//     is refused (403), as the API refuses it anyway.
//   - Its pages carry the app's branding (portalHeader, /portal/theme.css)
//     and may be framed by the origins of Config.PortalFrameAncestors.

import (
	"crypto/sha256"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
)

// PortalCookieName is the cookie of a consumer portal session. It is
// SameSite=None, Secure and Partitioned (CHIPS): sent inside the frame
// of a provider's page (another site), kept apart from the cookies hookd
// sets when it is framed by another site, and only over https (or to
// localhost).
const PortalCookieName = "hookd_portal"

// PortalContentSecurityPolicy is the Content-Security-Policy of the
// consumer portal's pages: the dashboard's, except that the origins
// given (and hookd itself) may frame them and that images (the app's
// logo) may come from any https address.
func PortalContentSecurityPolicy(frameAncestors []string) string {
	ancestors := "'self'"
	for _, o := range frameAncestors {
		ancestors += " " + o
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; " +
		"frame-ancestors " + ancestors + "; form-action 'self'; base-uri 'none'"
}

// setPortalHeaders makes an answer a portal page's: its CSP, and no
// X-Frame-Options (which would refuse every frame).
func setPortalHeaders(w http.ResponseWriter, csp string) {
	w.Header().Set("Content-Security-Policy", csp)
	w.Header().Del("X-Frame-Options")
}

func (d *Dashboard) portalRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /portal/{token}", d.openPortal)
	mux.Handle("GET /portal/theme.css", d.authed(d.portalTheme))
}

// hasPortalCookie reports whether the browser holds a portal session's
// cookie (valid or not).
func hasPortalCookie(r *http.Request) bool {
	c, err := r.Cookie(PortalCookieName)
	return err == nil && c.Value != ""
}

// openPortal opens a portal link: a session for its token, then the
// app's page.
func (d *Dashboard) openPortal(w http.ResponseWriter, r *http.Request) {
	setPortalHeaders(w, d.portalCSP)
	w.Header().Set("Cache-Control", "no-store")
	token := r.PathValue("token")
	if !strings.HasPrefix(token, api.PortalTokenPrefix) { // no link's token: not looked up
		d.portalGone(w, r, http.StatusGone)
		return
	}
	sum := sha256.Sum256([]byte(token))
	now := d.now().UTC()
	k, err := d.store.GetAPIKeyByHash(r.Context(), sum[:])
	switch {
	case hook.ErrorCode(err) == hook.ENotFound, err == nil && (!k.Portal || k.AppID == "" || k.Expired(now)):
		d.portalGone(w, r, http.StatusGone)
		return
	case err != nil:
		d.log.Error("dashboard: open portal link", "err", err)
		d.errorPage(w, r, nil, http.StatusServiceUnavailable, "The database did not answer; try again shortly.")
		return
	}
	session, expires, err := d.newSession(r.Context(), k, now)
	if err != nil {
		if hook.ErrorCode(err) == hook.ENotFound { // revoked just now
			d.portalGone(w, r, http.StatusGone)
			return
		}
		d.log.Error("dashboard: open portal link", "err", err)
		d.errorPage(w, r, nil, http.StatusServiceUnavailable, "The database did not answer; try again shortly.")
		return
	}
	// The portal replaces an operator's session in this browser: one
	// browser, one identity.
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		clearCookie(w, r)
	}
	http.SetCookie(w, &http.Cookie{
		Name:        PortalCookieName,
		Value:       session,
		Path:        "/",
		Expires:     expires,
		MaxAge:      max(1, int(expires.Sub(now).Seconds())),
		HttpOnly:    true,
		Secure:      true,
		SameSite:    http.SameSiteNoneMode,
		Partitioned: true,
	})
	http.Redirect(w, r, portalHome(k.AppID), http.StatusSeeOther)
}

// portalHome is the first page of an app's portal.
func portalHome(appID string) string { return "/apps/" + url.PathEscape(appID) }

type portalGoneData struct{}

func (portalGoneData) title() string { return "Link expired" }

// portalGone answers a portal link, or a portal session, that is unknown,
// expired or revoked: a page that says so, without a sign-in form (the
// customer has no API key: the provider makes links).
func (d *Dashboard) portalGone(w http.ResponseWriter, r *http.Request, status int) {
	setPortalHeaders(w, d.portalCSP)
	w.Header().Set("Cache-Control", "no-store")
	d.render(w, r, nil, status, "portal-gone", portalGoneData{})
}

// portalAllows reports whether a portal session may have the request;
// when not, it has answered. A portal session reaches its own app's
// pages, nothing else; a read-only one may only read them.
func (d *Dashboard) portalAllows(w http.ResponseWriter, r *http.Request, s *session) bool {
	setPortalHeaders(w, d.portalCSP)
	home := portalHome(s.Key.AppID)
	p := r.URL.Path
	switch {
	case r.Method == http.MethodGet && (p == "/" || p == "/apps"):
		http.Redirect(w, r, home, http.StatusSeeOther)
		return false
	case r.Method == http.MethodGet && p == "/deliveries":
		http.Redirect(w, r, home+"/deliveries", http.StatusSeeOther)
		return false
	case p == "/portal/theme.css", p == "/signout":
		return true
	case r.PathValue("app") != s.Key.AppID && !d.portalAppUID(r, s):
		// Not even the address is repeated: nothing of another app shows.
		d.errorPage(w, r, s, http.StatusNotFound, "There is no such page in this portal.")
		return false
	}
	if s.Key.ReadOnly && (r.Method != http.MethodGet || strings.HasSuffix(p, "/edit") || strings.HasSuffix(p, "/endpoints/new")) {
		d.errorPage(w, r, s, http.StatusForbidden, "This link is read-only: it shows the endpoints and deliveries, and changes nothing.")
		return false
	}
	return true
}

// portalAppUID reports whether the request's {app} is the portal's own
// app by its uid (the API resolves it, as for any app key: another app's
// uid is refused).
func (d *Dashboard) portalAppUID(r *http.Request, s *session) bool {
	ref := r.PathValue("app")
	if ref == "" {
		return false
	}
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", ref), nil, nil)
	var app hook.App
	return a.OK() && a.decode(&app) == nil && app.ID == s.Key.AppID
}

// pageSet returns the pages as the session sees them.
func (d *Dashboard) pageSet(s *session) map[string]*template.Template {
	switch {
	case s == nil || !s.Key.Portal:
		return d.pages
	case s.Key.ReadOnly:
		return d.readOnlyPages
	default:
		return d.portalPages
	}
}

// portalHeader is a portal page's header: the app's branding, its nav.
type portalHeader struct {
	// Name is the app's Branding.DisplayName, else its name.
	Name string
	// LogoURL is the app's logo (https), "" for none.
	LogoURL string
	// Theme is the app's stylesheet (its accent colour), "" for none.
	Theme string
	// Home is the app's first page; Nav the current nav item:
	// "endpoints", "deliveries" or "events".
	Home, Nav string
	ReadOnly  bool
}

// accentColor is an accent colour a stylesheet may carry.
var accentColor = regexp.MustCompile(`^#[0-9a-fA-F]{6}$`)

// portalApp reads the session's app through the API; nil when it could
// not.
func (d *Dashboard) portalApp(r *http.Request, s *session) *hook.App {
	a := d.callAPI(r.Context(), r, s.Key, http.MethodGet, apiPath("/v1/apps/%s", s.Key.AppID), nil, nil)
	var app hook.App
	if !a.OK() || a.decode(&app) != nil {
		return nil
	}
	return &app
}

// portalHeader builds the header of a portal session's page.
func (d *Dashboard) portalHeader(r *http.Request, s *session) *portalHeader {
	h := &portalHeader{Name: s.Key.AppID, Home: portalHome(s.Key.AppID), ReadOnly: s.Key.ReadOnly, Nav: "endpoints"}
	switch p := r.URL.Path; {
	case strings.Contains(p, "/deliveries"):
		h.Nav = "deliveries"
	case strings.HasSuffix(p, "/events") || strings.Contains(p, "/events/"):
		h.Nav = "events"
	}
	app := d.portalApp(r, s)
	if app == nil {
		return h
	}
	h.Name = app.Name
	if b := app.Branding; b != nil {
		if b.DisplayName != "" {
			h.Name = b.DisplayName
		}
		if strings.HasPrefix(b.LogoURL, "https://") {
			h.LogoURL = b.LogoURL
		}
		if accentColor.MatchString(b.AccentColor) {
			// The colour in the address: a new colour, a new stylesheet.
			h.Theme = "/portal/theme.css?accent=" + url.QueryEscape(strings.TrimPrefix(b.AccentColor, "#"))
		}
	}
	return h
}

// portalTheme is the stylesheet of the session's app: its accent colour,
// as the custom property the dashboard's stylesheet uses (CSP allows no
// inline style).
func (d *Dashboard) portalTheme(w http.ResponseWriter, r *http.Request, s *session) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	app := d.portalApp(r, s)
	if app == nil || app.Branding == nil || !accentColor.MatchString(app.Branding.AccentColor) {
		_, _ = fmt.Fprint(w, "/* no accent colour */\n")
		return
	}
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = fmt.Fprintf(w, ":root { --accent: %s; }\n", app.Branding.AccentColor)
}
