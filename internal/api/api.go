// Package api is hookd's /v1 REST API: the routes, the OpenAPI 3.1 document
// (generated from this code by huma and served at /v1/openapi.json), RFC 9457
// problem+json errors, and bearer-key authentication.
package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"
	"github.com/danielgtaylor/huma/v2/adapters/humago"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Dispatcher is what the API tells about events and endpoints.
type Dispatcher interface {
	// Publish fans the event out to the app's subscribed endpoints and
	// stores it, with its deliveries, durably. Created is false on an
	// idempotent replay.
	Publish(ctx context.Context, app *hook.App, ev *hook.Event) (*store.InsertEventResult, error)
	// PublishBatch is Publish for several events of the app in one
	// durable write: either every event is stored with its deliveries, or
	// none is (the error names the item, see store.ItemError). Each
	// result, in the order of evs, is what Publish returns for its event.
	PublishBatch(ctx context.Context, app *hook.App, evs []*hook.Event) ([]*store.InsertEventResult, error)
	// AppChanged is called after an app is updated.
	AppChanged(app *hook.App)
	// Emit publishes one of hookd's operational events about appID's
	// resources (endpoint.enabled, event.rejected, ...) to the operator's
	// app; it never blocks.
	Emit(appID, typ string, data any)
	// EndpointChanged is called after an endpoint is created, updated or
	// has its secret rotated.
	EndpointChanged(ep *hook.Endpoint)
	// EndpointDeleted is called after an endpoint is deleted (also when its
	// app is).
	EndpointDeleted(endpointID string)
	// Wake is called after a retry or a recovery made deliveries due.
	Wake()
}

// Config configures the API.
type Config struct {
	Store      store.Store
	Dispatcher Dispatcher
	// CheckURL is the SSRF check made when an endpoint URL is saved; an
	// error refuses the URL (422 on field "url"). nil allows all.
	CheckURL func(u *url.URL) error
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// MaxBodyBytes bounds request bodies (default 1 MiB); a larger body
	// is answered 413.
	MaxBodyBytes int64
	// KeyRate limits each API key's requests on this node, in requests
	// per second (a token bucket per key, of KeyBurst tokens); over the
	// limit a request is answered 429 with Retry-After. 0 means no limit.
	KeyRate float64
	// KeyBurst is the size of each key's bucket: how many requests a key
	// may make at once. 0 means max(1, KeyRate).
	KeyBurst int
	// AuthFailureRate bounds the failed authentications (a key that is
	// not valid) per client IP address (IPv6: per /64), per second, with
	// a burst of twice as many. While an address is over it, its
	// requests are answered 429 before their key is looked at, so that
	// keys cannot be guessed quickly. 0 means no limit.
	AuthFailureRate float64
	// MaxEndpointsPerApp bounds an app's endpoints (default 100): one
	// more is answered 409.
	MaxEndpointsPerApp int
	// MaxEventTypes bounds the catalog, archived types included (default
	// 1000): one more is answered 409.
	MaxEventTypes int
	// Catalog is the catalog setting of apps that have none of their own
	// (hook.CatalogOpen or hook.CatalogStrict; "" is open): with strict,
	// publishing an event of a type the catalog does not define, or has
	// archived, is refused (422 at body.type). An app's own Catalog wins.
	Catalog string
	// MaxInflightBodyBytes bounds the request body bytes this node holds
	// at once, all requests together: a request reserves its body's size
	// (its route's limit if the size is not declared) before the body is
	// read, until it is answered, and one that does not fit is answered
	// 503 with Retry-After. 0 means DefaultInflightBodyFactor times the
	// largest body a route accepts; less than that largest body is an
	// error, since such a body could never be taken.
	MaxInflightBodyBytes int64
	// Registerer, if set, receives the API's metrics.
	Registerer prometheus.Registerer
	// Version is hookd's version, shown in the OpenAPI info.
	Version string
	// Programs checks the jq envelopes and filters saved with apps and
	// endpoints: it runs them on a sample event, which must be done in
	// the sandbox deliveries use. nil checks them in this process: only
	// for tests.
	Programs *envelope.Renderer
	// ReplayLimit bounds the events one replay-missing call sends (0:
	// MaxReplayEvents).
	ReplayLimit int
	// Retention is how long events are kept (HOOKD_RETENTION); 0 keeps
	// them forever. replay-missing refuses a window that starts before
	// it.
	Retention time.Duration
	// OperatorApp is the app (id or uid) that receives hookd's
	// operational events (HOOKD_OPERATOR_APP); "" when there is none.
	// /readyz warns while it names no app.
	OperatorApp string
	// PublicURL is where clients reach hookd, e.g.
	// https://hooks.example.com (HOOKD_PUBLIC_URL; see ParsePublicURL):
	// the base of portal links' URLs. "" builds them from the request's
	// host.
	PublicURL string
	// Listen runs `hookd listen` streams (GET /v1/apps/{app}/listen);
	// nil answers that route 503.
	Listen ListenServer
}

func init() {
	// Lists in bodies are never null: hookd answers [] for an empty one
	// and refuses null in requests. (A package-level huma setting: it must
	// hold before any schema is generated.)
	huma.DefaultArrayNullable = false
	// A property is matched by its exact name: huma would take "Name" for
	// "name" while checking a body, and encoding/json would then decode
	// {"name":"x","Name":"y"} as y, a value huma did not check. (See
	// checkJSONText, for the routes that decode their bodies themselves.)
	huma.ValidateStrictCasing = true
}

// DefaultMaxBodyBytes is the request body limit when Config.MaxBodyBytes is 0.
const DefaultMaxBodyBytes = 1 << 20

// Defaults of the count limits, when Config leaves them 0.
const (
	DefaultMaxEndpointsPerApp = 100
	DefaultMaxEventTypes      = 1000
)

// Paths of the OpenAPI document.
const (
	openAPIPrefix = "/v1/openapi" // huma serves <prefix>.json and <prefix>.yaml
	// OpenAPIPath is where the OpenAPI 3.1 document is served.
	OpenAPIPath = openAPIPrefix + ".json"
)

// securityScheme is the name of the bearer scheme in the OpenAPI document.
const securityScheme = "bearer"

// server holds the API's dependencies and caches.
type server struct {
	store    store.Store
	disp     Dispatcher
	checkURL func(u *url.URL) error
	now      func() time.Time
	log      *slog.Logger
	maxBody  int64
	api      huma.API
	mux      *routeMux

	// keyLimit and authFails are nil when there is no limit.
	keyLimit     *limiter // per key id
	authFails    *limiter // per client address
	maxEndpoints int
	maxTypes     int
	operatorApp  string
	retention    time.Duration
	replayLimit  int
	// catalog is the deployment's catalog setting (Config.Catalog).
	catalog string
	// publicURL is Config.PublicURL, checked, without a trailing slash.
	publicURL string

	programs *envelope.Renderer

	keys  *keyCache
	apps  *ttlCache[*hook.App]
	types *typeCache

	// readiness is what /readyz checks, in order.
	readiness []readinessCheck
	// budget bounds the request body bytes held at once.
	budget *bodyBudget
	// listen runs `hookd listen` streams; nil when this node has none.
	listen ListenServer
}

// New builds the API's HTTP handler: /v1/..., /healthz and /readyz.
func New(cfg Config) (http.Handler, error) {
	if cfg.Store == nil {
		return nil, errors.New("api: Config.Store is required")
	}
	if cfg.Dispatcher == nil {
		return nil, errors.New("api: Config.Dispatcher is required")
	}
	if cfg.MaxBodyBytes < 0 {
		return nil, fmt.Errorf("api: Config.MaxBodyBytes is negative (%d)", cfg.MaxBodyBytes)
	}
	if !(cfg.KeyRate >= 0) || cfg.KeyBurst < 0 || !(cfg.AuthFailureRate >= 0) {
		return nil, fmt.Errorf("api: negative rate limit (KeyRate %v, KeyBurst %d, AuthFailureRate %v)",
			cfg.KeyRate, cfg.KeyBurst, cfg.AuthFailureRate)
	}
	if cfg.MaxEndpointsPerApp < 0 || cfg.MaxEventTypes < 0 {
		return nil, fmt.Errorf("api: negative count limit (MaxEndpointsPerApp %d, MaxEventTypes %d)",
			cfg.MaxEndpointsPerApp, cfg.MaxEventTypes)
	}
	if cfg.ReplayLimit < 0 {
		return nil, fmt.Errorf("api: Config.ReplayLimit is negative (%d)", cfg.ReplayLimit)
	}
	if cfg.Catalog != "" && cfg.Catalog != hook.CatalogOpen && cfg.Catalog != hook.CatalogStrict {
		return nil, fmt.Errorf("api: Config.Catalog must be open or strict, not %q", cfg.Catalog)
	}
	publicURL := ""
	if cfg.PublicURL != "" {
		u, err := ParsePublicURL(cfg.PublicURL)
		if err != nil {
			return nil, fmt.Errorf("api: Config.PublicURL %w", err)
		}
		publicURL = u
	}
	if cfg.MaxInflightBodyBytes < 0 {
		return nil, fmt.Errorf("api: Config.MaxInflightBodyBytes is negative (%d)", cfg.MaxInflightBodyBytes)
	}
	s := &server{
		store:    cfg.Store,
		disp:     cfg.Dispatcher,
		checkURL: cfg.CheckURL,
		now:      cfg.Now,
		log:      cfg.Logger,
		maxBody:  cfg.MaxBodyBytes,
		mux:      &routeMux{},

		programs:     cfg.Programs,
		maxEndpoints: cmp.Or(cfg.MaxEndpointsPerApp, DefaultMaxEndpointsPerApp),
		maxTypes:     cmp.Or(cfg.MaxEventTypes, DefaultMaxEventTypes),
		operatorApp:  cfg.OperatorApp,
		retention:    cfg.Retention,
		replayLimit:  cmp.Or(cfg.ReplayLimit, MaxReplayEvents),
		catalog:      cmp.Or(cfg.Catalog, hook.CatalogOpen),
		publicURL:    publicURL,
		listen:       cfg.Listen,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.maxBody == 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.programs == nil {
		s.programs = envelope.NewRenderer(envelope.Options{})
	}
	largest := max(s.maxBody, s.batchMaxBody())
	inflight := cfg.MaxInflightBodyBytes
	if inflight == 0 {
		inflight = DefaultInflightBodyFactor * largest
	}
	if inflight < largest {
		return nil, fmt.Errorf("api: the request body budget, %d bytes (HOOKD_MAX_INFLIGHT_BODY_BYTES), is less than the largest body a route accepts, %d bytes (the batch route's)",
			inflight, largest)
	}
	s.budget = newBodyBudget(inflight)
	if err := s.budget.register(cfg.Registerer); err != nil {
		return nil, fmt.Errorf("api: metrics: %w", err)
	}
	if cfg.KeyRate > 0 {
		burst := float64(cfg.KeyBurst)
		if burst == 0 {
			burst = max(1, cfg.KeyRate)
		}
		s.keyLimit = newLimiter(cfg.KeyRate, burst, s.now)
	}
	if cfg.AuthFailureRate > 0 {
		s.authFails = newLimiter(cfg.AuthFailureRate, max(1, 2*cfg.AuthFailureRate), s.now)
	}
	s.keys = newKeyCache(keyCacheTTL)
	s.apps = newTTLCache[*hook.App](cacheTTL)
	s.types = newTypeCache(s.store, cacheTTL, s.log)

	version := cfg.Version
	if version == "" {
		version = "dev"
	}
	hcfg := huma.DefaultConfig("hookd", version)
	hcfg.Info.Description = "hookd delivers webhooks: publish events to an app, and hookd signs " +
		"them and delivers them to the app's endpoints, retrying on failure.\n\n" +
		"Errors are RFC 9457 problem details (application/problem+json)."
	hcfg.Info.License = &huma.License{Name: "Apache-2.0", Identifier: "Apache-2.0"}
	// A relative URL: the API is where its document is served from, on
	// every node and behind any load balancer.
	hcfg.Servers = []*huma.Server{{URL: "/", Description: "the hookd node (or load balancer) serving this document"}}
	hcfg.OpenAPIPath = openAPIPrefix
	hcfg.DocsPath = ""
	hcfg.SchemasPath = ""
	// No $schema links in bodies: every object is exactly its hook type.
	hcfg.CreateHooks = nil
	hcfg.Formats = map[string]huma.Format{"application/json": jsonFormat, "json": jsonFormat}
	hcfg.Transformers = []huma.Transformer{s.tidyErrors}
	hcfg.Components.SecuritySchemes = map[string]*huma.SecurityScheme{
		securityScheme: {
			Type:        "http",
			Scheme:      "bearer",
			Description: "An API key: `Authorization: Bearer <key>`. A key bound to an app reaches only that app's routes.",
		},
	}
	hcfg.Tags = []*huma.Tag{
		{Name: "Apps", Description: "Apps are the provider's customers; events are published to an app."},
		{Name: "Event types", Description: "The catalog of event types, with optional JSON Schemas checked on ingest."},
		{Name: "Endpoints", Description: "URLs that receive an app's events."},
		{Name: "Events", Description: "Publish events and read them back."},
		{Name: "Deliveries", Description: "One event on its way to one endpoint, with its attempts."},
		{Name: "Stats", Description: "Deliveries by outcome and delivery latency over time, the backlog, and the endpoints in trouble: what the dashboard's charts show."},
		{Name: "Portal", Description: "Links to an app's consumer portal, where the provider's customer manages the app's endpoints and sees its deliveries."},
		{Name: "API keys", Description: "Keys for this API: admin keys, and keys bound to one app."},
		{Name: "Health", Description: "Liveness and readiness, for load balancers and orchestrators; no key needed."},
	}

	s.api = humago.New(s.mux, hcfg)
	s.api.UseMiddleware(s.recoverMiddleware, s.authMiddleware, s.budgetMiddleware)

	s.registerHealth()
	s.registerApps()
	s.registerEventTypes()
	s.registerCatalog()
	s.registerEndpoints()
	s.registerEvents()
	s.registerDeliveries()
	s.registerRetryFailed()
	s.registerReplay()
	s.registerAttempts()
	s.registerStats()
	s.registerAPIKeys()
	s.registerPortalLinks()
	s.registerListen()
	declareOpenOperations(s.api.OpenAPI())

	s.mux.HandleFunc("/", s.unmatched)
	return s.mux, nil
}

// scope says who may call an operation.
type scope int

const (
	scopeAdmin scope = iota + 1 // admin keys only
	scopeApp                    // admin keys, and keys of the app in {app}
	scopeAny                    // any valid key
)

const scopeKey = "hookd.scope"

// operation returns an authenticated operation with the common settings.
func (s *server) operation(sc scope, method, path, id, tag, summary string, status int) huma.Operation {
	// Any route may find the store unavailable (503).
	errs := []int{http.StatusUnauthorized, http.StatusTooManyRequests, http.StatusServiceUnavailable}
	if sc != scopeAny {
		errs = append(errs, http.StatusForbidden)
	}
	if strings.Contains(path, "{") {
		errs = append(errs, http.StatusNotFound)
	}
	if method == http.MethodPost || method == http.MethodPatch {
		errs = append(errs, http.StatusBadRequest, http.StatusConflict, http.StatusRequestEntityTooLarge)
	}
	return huma.Operation{
		OperationID:   id,
		Method:        method,
		Path:          path,
		Summary:       summary,
		Tags:          []string{tag},
		DefaultStatus: status,
		// huma answers 413 when it reads this many bytes, so allow one more
		// than the limit: a body of exactly MaxBodyBytes is accepted.
		MaxBodyBytes: s.maxBody + 1,
		Security:     []map[string][]string{{securityScheme: {}}},
		Errors:       errs,
		Metadata:     map[string]any{scopeKey: sc},
	}
}

// unmatched answers requests no route matched: 405 when the path exists
// with other methods, else 404, both as problem+json.
func (s *server) unmatched(w http.ResponseWriter, r *http.Request) {
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		r2 := r.Clone(r.Context())
		r2.Method = m
		if _, pattern := s.mux.Handler(r2); pattern != "" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	if len(allow) > 0 {
		for _, m := range allow {
			w.Header().Add("Allow", m)
		}
		writeProblem(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeProblem(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
}

// recoverMiddleware turns a panic in a handler into a logged 500.
func (s *server) recoverMiddleware(ctx huma.Context, next func(huma.Context)) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			op := ctx.Operation()
			s.log.Error("api: panic", "method", op.Method, "path", op.Path, "panic", v)
			if ctx.Status() == 0 {
				_ = huma.WriteErr(s.api, ctx, http.StatusInternalServerError, "internal error")
			}
		}
	}()
	next(ctx)
}

// --- health ---

type healthOutput struct {
	Body struct {
		Status string `json:"status" example:"ok"`
	}
}

// readinessTimeout bounds each check of /readyz.
const readinessTimeout = 2 * time.Second

// readinessCheck is one line of /readyz: hookd is ready when every check
// passes. To check one more thing, append to server.readiness (see
// registerHealth).
type readinessCheck struct {
	// Name names the check in the answer: "store".
	Name string
	// Check returns nil when the thing checked is fine, else an error
	// whose message is fit to show (/readyz is not authenticated): say
	// what is wrong, not the internals. It runs within readinessTimeout.
	Check func(ctx context.Context) error
}

// readyCheckResult is one check in /readyz's answer.
type readyCheckResult struct {
	Name   string `json:"name" example:"store" doc:"What was checked."`
	Status string `json:"status" enum:"ok" doc:"ok: a check that fails makes /readyz answer 503 instead, naming it."`
}

type readyOutput struct {
	Body struct {
		Status string             `json:"status" example:"ok"`
		Checks []readyCheckResult `json:"checks" doc:"Every check made, each ok."`
		// Warnings are what an operator should fix although hookd
		// is ready.
		Warnings []string `json:"warnings,omitempty" doc:"What an operator should fix although hookd is ready (e.g. HOOKD_OPERATOR_APP names no app)."`
	}
}

func (s *server) registerHealth() {
	huma.Register(s.api, huma.Operation{
		OperationID: "healthz",
		Method:      http.MethodGet,
		Path:        "/healthz",
		Summary:     "Liveness: the process answers",
		Tags:        []string{"Health"},
	}, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{}
		out.Body.Status = "ok"
		return out, nil
	})

	s.readiness = append(s.readiness, readinessCheck{Name: "store", Check: s.storeReady})
	huma.Register(s.api, huma.Operation{
		OperationID: "readyz",
		Method:      http.MethodGet,
		Path:        "/readyz",
		Summary:     "Readiness: every check passes",
		Description: "Runs each check, each within 2 s, and answers 200 with the list when all pass, " +
			"or 503 (with Retry-After) naming each that fails, at `checks.<name>`. " +
			"The checks: `store`, the database answers and takes writes (after a write failed because " +
			"the store was unavailable, a probe write must succeed).",
		Tags:   []string{"Health"},
		Errors: []int{http.StatusServiceUnavailable},
	}, func(ctx context.Context, _ *struct{}) (*readyOutput, error) {
		out := &readyOutput{}
		out.Body.Status = "ok"
		out.Body.Checks = make([]readyCheckResult, 0, len(s.readiness))
		var failing []error // of *huma.ErrorDetail
		var why []string
		for _, c := range s.readiness {
			cctx, cancel := context.WithTimeout(ctx, readinessTimeout)
			err := c.Check(cctx)
			cancel()
			if err != nil {
				failing = append(failing, &huma.ErrorDetail{Location: "checks." + c.Name, Message: err.Error()})
				why = append(why, c.Name+": "+err.Error())
				continue
			}
			out.Body.Checks = append(out.Body.Checks, readyCheckResult{Name: c.Name, Status: "ok"})
		}
		if len(failing) > 0 {
			secs := strconv.Itoa(int(storeRetryAfter / time.Second))
			return nil, huma.ErrorWithHeaders(
				huma.Error503ServiceUnavailable("not ready: "+strings.Join(why, "; "), failing...),
				http.Header{"Retry-After": {secs}})
		}
		wctx, cancel := context.WithTimeout(ctx, readinessTimeout)
		defer cancel()
		if w := s.operatorAppWarning(wctx); w != "" {
			out.Body.Warnings = append(out.Body.Warnings, w)
		}
		return out, nil
	})
}

// storeReady is the store's readiness check: store.Store.Ready, its
// failure told by its short reason.
func (s *server) storeReady(ctx context.Context) error {
	err := s.store.Ready(ctx)
	if err == nil {
		return nil
	}
	s.log.Warn("api: readiness check failed", "check", "store", "err", err)
	if ue, ok := store.AsUnavailable(err); ok {
		return errors.New(store.ErrUnavailable.Error() + ": " + ue.Reason)
	}
	return errors.New("the database is not reachable")
}
