// Package dashboard is hookd's operator dashboard: server-rendered HTML
// pages (html/template, with htmx for partial updates), served by
// `hookd serve` next to the API.
//
// The dashboard holds no rules of its own about apps, endpoints or
// deliveries: every page reads, and every action writes, through the
// API's handler, called in-process as the signed-in session's API key
// (api.AsKey). So a page shows exactly what that key may see, and an
// action answers with the API's own errors, shown next to the field at
// fault.
//
// Sign-in takes an API key and opens a session: a random token in a
// cookie, kept hashed in the store (so every node of a cluster knows it),
// ended by sign-out, by its expiry, or with its key.
package dashboard

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/store"
)

//go:embed static templates
var files embed.FS

// DefaultSessionTTL is how long a session lasts when Config.SessionTTL is 0.
const DefaultSessionTTL = 12 * time.Hour

// Config configures the dashboard.
type Config struct {
	// API is the API's handler (api.New): the dashboard calls it
	// in-process for every read and action.
	API http.Handler
	// Store keeps the sessions.
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger logs what goes wrong; nil means slog.Default().
	Logger *slog.Logger
	// SessionTTL is how long a session lasts from sign-in (default
	// DefaultSessionTTL).
	SessionTTL time.Duration
	// PortalFrameAncestors are the origins ("https://app.example.com")
	// that may frame the consumer portal's pages (CSP frame-ancestors);
	// none: only hookd itself may. Other pages are never framed.
	PortalFrameAncestors []string
}

// Dashboard serves the dashboard's pages.
type Dashboard struct {
	api        http.Handler
	store      store.Store
	now        func() time.Time
	log        *slog.Logger
	sessionTTL time.Duration
	pages      map[string]*template.Template
	handler    http.Handler
	// portalPages and readOnlyPages are the same pages for consumer
	// portal sessions (read-only links for the latter).
	portalPages, readOnlyPages map[string]*template.Template
	// portalCSP is the Content-Security-Policy of portal pages.
	portalCSP string
}

// New builds the dashboard's handler. It answers every path it is given:
// mount it at "/" after the API's routes.
func New(cfg Config) (*Dashboard, error) {
	if cfg.API == nil || cfg.Store == nil {
		return nil, errors.New("dashboard: Config.API and Config.Store are required")
	}
	d := &Dashboard{
		api:        cfg.API,
		store:      cfg.Store,
		now:        cfg.Now,
		log:        cfg.Logger,
		sessionTTL: cmp.Or(cfg.SessionTTL, DefaultSessionTTL),
		portalCSP:  PortalContentSecurityPolicy(cfg.PortalFrameAncestors),
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.Default()
	}
	if err := d.parseTemplates(); err != nil {
		return nil, err
	}
	static, err := fs.Sub(files, "static")
	if err != nil {
		return nil, err
	}

	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.StripPrefix("/static/", staticFiles(static)))
	mux.HandleFunc("GET /signin", d.signInPage)
	mux.HandleFunc("POST /signin", d.signIn)
	mux.HandleFunc("POST /signout", d.signOut)
	mux.Handle("GET /{$}", d.authed(d.overview))
	mux.Handle("GET /apps", d.authed(d.appsPage))
	mux.Handle("GET /deliveries", d.authed(d.deliveriesEntry))
	mux.Handle("GET /apps/{app}", d.authed(d.appPage))
	mux.Handle("GET /apps/{app}/deliveries", d.authed(d.deliveriesPage))
	mux.Handle("POST /apps/{app}/deliveries/retry", d.authed(d.retryAll))
	mux.Handle("GET /apps/{app}/deliveries/{dlv}", d.authed(d.deliveryPage))
	mux.Handle("POST /apps/{app}/deliveries/{dlv}/retry", d.authed(d.retry))
	mux.Handle("GET /apps/{app}/endpoints/new", d.authed(d.newEndpointPage))
	mux.Handle("POST /apps/{app}/endpoints/new", d.authed(d.createEndpoint))
	mux.Handle("GET /apps/{app}/endpoints/{ep}/edit", d.authed(d.editEndpointPage))
	mux.Handle("POST /apps/{app}/endpoints/{ep}/edit", d.authed(d.updateEndpoint))
	mux.Handle("GET /apps/{app}/events", d.authed(d.eventsPage))
	mux.Handle("GET /apps/{app}/events/{id}", d.authed(d.eventPage))
	mux.Handle("GET /search", d.authed(d.search))
	mux.Handle("/keys", d.authed(d.keys))
	mux.Handle("POST /keys/{id}/delete", d.authed(d.deleteKey))
	d.endpointRoutes(mux)
	d.portalRoutes(mux)
	mux.Handle("GET /event-types", d.authed(d.eventTypesPage))
	mux.Handle("POST /event-types", d.authed(d.createEventType))
	mux.Handle("POST /event-types/import", d.authed(d.importPack))
	mux.Handle("GET /event-types/{name}", d.authed(d.eventTypePage))
	mux.Handle("POST /event-types/{name}", d.authed(d.updateEventType))
	mux.Handle("POST /event-types/{name}/archive", d.authed(d.archiveEventType))
	mux.Handle("POST /event-types/{name}/unarchive", d.authed(d.unarchiveEventType))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		d.errorPage(w, r, nil, http.StatusNotFound, "There is no page at "+r.URL.Path+".")
	})

	// State-changing requests from other origins are refused (403): a
	// form on another site cannot sign in, sign out or retry.
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.errorPage(w, r, nil, http.StatusForbidden, "This request came from another site, and was refused.")
	}))
	d.handler = securityHeaders(cop.Handler(mux))
	return d, nil
}

// ServeHTTP serves the dashboard.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.handler.ServeHTTP(w, r)
}

// ContentSecurityPolicy is sent with every answer: no inline script or
// style, nothing from elsewhere, no framing.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// securityHeaders sets the headers every answer carries.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", ContentSecurityPolicy)
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// staticFiles serves the embedded assets; they change only with the
// binary, so browsers may keep them for a while.
func staticFiles(fsys fs.FS) http.Handler {
	fileServer := http.FileServerFS(fsys)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/") || r.URL.Path == "" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fileServer.ServeHTTP(w, r)
	})
}

// apiAnswer is the API's answer to an in-process request.
type apiAnswer struct {
	Status int
	Body   []byte
}

// OK reports whether the API answered 2xx.
func (a *apiAnswer) OK() bool { return a.Status >= 200 && a.Status < 300 }

// decode reads the answer's JSON body into v.
func (a *apiAnswer) decode(v any) error { return json.Unmarshal(a.Body, v) }

// Problem is an RFC 9457 problem the API answered.
type Problem struct {
	Status int    `json:"status"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Errors []struct {
		Location string `json:"location"`
		Message  string `json:"message"`
	} `json:"errors"`
}

// problem reads the answer as a problem; a body that is not one still
// gives its status and a detail.
func (a *apiAnswer) problem() *Problem {
	p := &Problem{}
	if err := json.Unmarshal(a.Body, p); err != nil || p.Detail == "" {
		p.Detail = http.StatusText(a.Status)
	}
	p.Status = a.Status
	return p
}

// At returns the messages about the field at location (e.g. "path.dlv"),
// joined; "" when none is about it.
func (p *Problem) At(location string) string {
	if p == nil {
		return ""
	}
	var msgs []string
	for _, e := range p.Errors {
		if e.Location == location || strings.HasPrefix(e.Location, location+".") || strings.HasPrefix(e.Location, location+"[") {
			msgs = append(msgs, e.Message)
		}
	}
	return strings.Join(msgs, "; ")
}

// callAPI hands a request to the API in-process, authenticated as key
// (none when nil), from the browser's address (so that the API's
// per-address limits apply to it).
func (d *Dashboard) callAPI(ctx context.Context, r *http.Request, key *store.APIKey, method, path string, body any, header http.Header) *apiAnswer {
	var rd io.Reader
	if body != nil {
		// Not HTML-escaped: JSON the operator typed (an example with
		// <, > or &) reaches the API, and is stored, as written.
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(body); err != nil {
			return &apiAnswer{Status: http.StatusInternalServerError, Body: []byte(`{"detail":"internal error"}`)}
		}
		rd = &b
	}
	if key != nil {
		ctx = api.AsKey(ctx, key)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return &apiAnswer{Status: http.StatusInternalServerError, Body: []byte(`{"detail":"internal error"}`)}
	}
	req.RemoteAddr = r.RemoteAddr
	for k, vs := range header {
		req.Header[k] = vs
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	rec := &recorder{header: http.Header{}}
	d.api.ServeHTTP(rec, req)
	return &apiAnswer{Status: cmp.Or(rec.status, http.StatusOK), Body: rec.body.Bytes()}
}

// recorder is the ResponseWriter of an in-process API request.
type recorder struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

// apiPath builds an API path from literal parts and path values, each
// value escaped: apiPath("/v1/apps/%s", ref).
func apiPath(format string, values ...string) string {
	esc := make([]any, len(values))
	for i, v := range values {
		esc[i] = url.PathEscape(v)
	}
	return fmt.Sprintf(format, esc...)
}
