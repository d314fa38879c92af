// Package server wires hookd together: it opens the store, makes sure an
// admin key exists, starts the dispatcher and the HTTP API, and stops them
// in order.
package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/dispatch"
	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/listen"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/retention"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/pgstore"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// Options are what Run needs besides the settings.
type Options struct {
	Config  config.Config
	Logger  *slog.Logger
	Version string
	// Out receives the one-time printout of a generated admin key.
	Out io.Writer
	// Ready, if set, receives the address the API listens on once it does.
	Ready chan<- string
}

// Run runs hookd until ctx is cancelled, then shuts down gracefully:
// the API stops taking requests, attempts in flight drain (bounded), and
// the store closes.
func Run(ctx context.Context, o Options) error {
	cfg := o.Config
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	st, singleProcess, err := OpenStore(ctx, &cfg, log)
	if err != nil {
		return err
	}
	defer st.Close()

	if err := ensureAdminKey(ctx, st, cfg.APIKey, o.Out, log); err != nil {
		return err
	}
	warnMissingOperatorApp(ctx, st, cfg.OperatorApp, log)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	// jq envelopes and filters, hostile ones included, run in worker
	// processes that bound their memory and time (see envelope.Sandbox).
	sandbox, err := envelope.NewSandbox(envelope.SandboxOptions{
		Workers: cfg.JQWorkers, MemoryBytes: cfg.JQMemory, Logger: log.With("component", "jq"),
	})
	if err != nil {
		return err
	}
	defer sandbox.Close()
	programs := envelope.NewRenderer(envelope.Options{Timeout: cfg.JQTimeout, Sandbox: sandbox})
	filterBudget := cfg.FilterBudget
	if filterBudget == 0 {
		filterBudget = -1 // every filter is the dispatcher's
	}

	// `hookd listen` streams held by this node: their endpoints'
	// deliveries go down them (the dispatcher's Relay).
	hub, err := listen.NewHub(listen.Config{Store: st, Logger: log})
	if err != nil {
		return err
	}
	disp, err := dispatch.New(dispatch.Config{
		Relay:                hub,
		Store:                st,
		Logger:               log,
		Schedule:             cfg.RetrySchedule,
		AttemptTimeout:       cfg.AttemptTimeout,
		AllowPrivateNetworks: cfg.AllowPrivateNetworks,
		UserAgent:            "hookd/" + o.Version,
		MaxInFlight:          cfg.MaxInFlight,
		EndpointConcurrency:  cfg.EndpointConcurrency,
		MaxHeld:              cfg.MaxHeld,
		MaxHeldBytes:         cfg.MaxHeldBytes,
		DrainTimeout:         cfg.ShutdownTimeout,
		DisableAfter:         cfg.DisableFailingAfter,
		BreakerThreshold:     cfg.BreakerThreshold,
		BreakerCooldown:      cfg.BreakerCooldown,
		BreakerMaxCooldown:   cfg.BreakerMaxCooldown,
		OperatorApp:          cfg.OperatorApp,
		Renderer:             programs,
		FilterBudget:         filterBudget,
		LeaseDuration:        cfg.LeaseDuration,
		ReleaseAllOnStart:    singleProcess,
		Registerer:           reg,
	})
	if err != nil {
		return err
	}
	hub.Bind(disp)
	if err := disp.Start(ctx); err != nil {
		return err
	}
	// The heartbeat stops, then the streams end (deferred here, so after
	// the dispatcher's drain below, whose relayed attempts need them).
	hubCtx, stopHub := context.WithCancel(context.Background())
	hubDone := make(chan struct{})
	go func() { defer close(hubDone); hub.Run(hubCtx) }()
	defer func() { stopHub(); <-hubDone; hub.Close() }()
	// The purge stops (deferred here, so before the store closes).
	purgeCtx, stopPurge := context.WithCancel(context.Background())
	purgeDone := make(chan struct{})
	defer func() { stopPurge(); <-purgeDone }()
	if cfg.Retention > 0 {
		purger, err := retention.New(retention.Config{Store: st, MaxAge: cfg.Retention, Logger: log, Registerer: reg})
		if err != nil {
			close(purgeDone)
			return err
		}
		go func() { defer close(purgeDone); purger.Run(purgeCtx) }()
	} else {
		close(purgeDone)
	}

	allowPrivate := cfg.AllowPrivateNetworks
	apiHandler, err := api.New(api.Config{
		Store:      st,
		Dispatcher: disp,
		CheckURL: func(u *url.URL) error {
			return netguard.CheckHost(u.Hostname(), allowPrivate)
		},
		Logger:               log,
		MaxBodyBytes:         cfg.MaxBodyBytes,
		KeyRate:              cfg.APIRate,
		KeyBurst:             cfg.APIBurst,
		AuthFailureRate:      cfg.AuthFailureRate,
		MaxEndpointsPerApp:   cfg.MaxEndpointsPerApp,
		MaxEventTypes:        cfg.MaxEventTypes,
		Catalog:              cfg.Catalog,
		MaxInflightBodyBytes: cfg.MaxInflightBodyBytes,
		Registerer:           reg,
		Version:              o.Version,
		Programs:             programs,
		Retention:            cfg.Retention,
		OperatorApp:          cfg.OperatorApp,
		PublicURL:            cfg.PublicURL,
		Listen:               hub,
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	if !cfg.Dashboard {
		mux.Handle("/", apiHandler)
	} else {
		// The API keeps /v1/..., /healthz and /readyz; the dashboard
		// takes every other path.
		dash, err := dashboard.New(dashboard.Config{API: apiHandler, Store: st, Logger: log.With("component", "dashboard"),
			PortalFrameAncestors: cfg.PortalFrameAncestorList()})
		if err != nil {
			_ = disp.Stop(context.Background())
			return err
		}
		mux.Handle("/v1/", apiHandler)
		mux.Handle("/v1", apiHandler)
		mux.Handle("/healthz", apiHandler)
		mux.Handle("/readyz", apiHandler)
		mux.Handle("/", dash)
	}

	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       cfg.ReadTimeout,
		WriteTimeout:      cfg.WriteTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		_ = disp.Stop(context.Background())
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	if cfg.PprofAddr != "" {
		stopPprof, err := servePprof(cfg.PprofAddr, log)
		if err != nil {
			_ = ln.Close()
			_ = disp.Stop(context.Background())
			return err
		}
		defer stopPprof()
	}
	log.Info("hookd listening", "addr", "http://"+ln.Addr().String(), "db", RedactDB(cfg.DB),
		"node", disp.Owner(), "version", o.Version)
	if o.Ready != nil {
		o.Ready <- ln.Addr().String()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		_ = disp.Stop(context.Background())
		return err
	}
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout+5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		log.Warn("HTTP shutdown", "err", err)
	}
	if err := disp.Stop(shutdownCtx); err != nil {
		log.Warn("dispatcher stop", "err", err)
	}
	log.Info("stopped")
	return nil
}

// servePprof serves net/http/pprof's handlers on addr, on a listener and a
// mux of their own (never the API's), until the returned function is
// called.
func servePprof(addr string, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pprof: listen on %s: %w", addr, err)
	}
	// No WriteTimeout: a CPU profile or trace answers after its seconds.
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	go func() { _ = srv.Serve(ln) }()
	log.Warn("pprof listening: profiles are unauthenticated, keep this address private", "addr", "http://"+ln.Addr().String()+"/debug/pprof/")
	return func() { _ = srv.Close() }, nil
}

// OpenStore opens the database cfg.DB names: a postgres:// URL or an
// SQLite file. It applies pending migrations unless cfg.Migrate is off.
// singleProcess reports that the store is used by this process alone (so
// leases left by a crash can be taken back at once).
//
// Endpoint secrets are sealed at rest with the key of HOOKD_SECRET_KEY or
// its key file (generated on first start with SQLite): OpenStore checks
// that the key opens the secrets already sealed, refusing to start if it
// does not, and seals those still stored in plaintext.
func OpenStore(ctx context.Context, cfg *config.Config, log *slog.Logger) (st store.Store, singleProcess bool, err error) {
	key, err := loadSecretKey(cfg, log)
	if err != nil {
		return nil, false, err
	}
	if cfg.IsPostgres() {
		s, err := pgstore.Open(ctx, cfg.DB, &pgstore.Options{
			Logger: log, MaxConns: int32(cfg.DBMaxConns), SkipMigrate: !cfg.Migrate, Keyring: key.ring,
			GatherGap: gatherGap(cfg), GatherMax: cfg.CommitGatherMax,
		})
		if err != nil {
			return nil, false, err
		}
		if err := key.sealSecrets(ctx, s, log); err != nil {
			_ = s.Close()
			return nil, false, err
		}
		return s, false, nil
	}
	s, err := sqlitestore.Open(ctx, cfg.DB, &sqlitestore.Options{Logger: log, SkipMigrate: !cfg.Migrate, Keyring: key.ring,
		GatherGap: gatherGap(cfg), GatherMax: cfg.CommitGatherMax})
	if err != nil {
		return nil, false, err
	}
	if err := key.sealSecrets(ctx, s, log); err != nil {
		_ = s.Close()
		return nil, false, err
	}
	return s, true, nil
}

// MigrateUp applies the database's pending migrations and returns them.
func MigrateUp(ctx context.Context, db string) ([]store.MigrationState, error) {
	if (&config.Config{DB: db}).IsPostgres() {
		return pgstore.MigrateUp(ctx, db)
	}
	return sqlitestore.MigrateUp(ctx, db)
}

// MigrationStatus lists the database's migrations, applied or not.
func MigrationStatus(ctx context.Context, db string) ([]store.MigrationState, error) {
	if (&config.Config{DB: db}).IsPostgres() {
		return pgstore.MigrationStatus(ctx, db)
	}
	return sqlitestore.MigrationStatus(ctx, db)
}

// SetPageSize rewrites a SQLite database file with pages of size bytes and
// returns the page size it had (PostgreSQL has no such setting: an error).
func SetPageSize(ctx context.Context, db string, size int) (int, error) {
	if (&config.Config{DB: db}).IsPostgres() {
		return 0, errors.New("the page size is a SQLite setting: PostgreSQL's is fixed when it is built")
	}
	return sqlitestore.SetPageSize(ctx, db, size)
}

// RedactDB returns db with any password in a URL replaced, for logs.
func RedactDB(db string) string {
	u, err := url.Parse(db)
	if err != nil || u.User == nil {
		return db
	}
	return u.Redacted()
}

// HashAPIKey is how API keys are kept: SHA-256 of the key.
func HashAPIKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// NewAPIKey returns a fresh random API key.
func NewAPIKey() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return "hk_" + base64.RawURLEncoding.EncodeToString(b)
}

// warnMissingOperatorApp logs a warning when HOOKD_OPERATOR_APP names no
// app: hookd's operational events would be dropped without a word. (hookd
// does not create the app itself: a mistyped name would then quietly
// collect the events in an app nobody reads. Nor can a tenant take the
// name meanwhile: only admin keys set uids.)
func warnMissingOperatorApp(ctx context.Context, st store.Store, ref string, log *slog.Logger) {
	if ref == "" {
		return
	}
	_, err := st.GetApp(ctx, ref)
	switch hook.ErrorCode(err) {
	case "":
	case hook.ENotFound:
		log.Warn(api.OperatorAppMissing(ref), "operator_app", ref)
	default:
		log.Warn("reading the operator app (HOOKD_OPERATOR_APP)", "operator_app", ref, "err", err)
	}
}

// ensureAdminKey stores the configured bootstrap key's hash, or generates
// and prints a key when the database has none.
func ensureAdminKey(ctx context.Context, st store.Store, key string, out io.Writer, log *slog.Logger) error {
	if key != "" {
		_, err := st.CreateAPIKey(ctx, &store.CreateAPIKeyParams{
			ID: hook.NewID("key"), Name: "bootstrap (HOOKD_API_KEY)", Hash: HashAPIKey(key), Now: time.Now(),
		})
		if err != nil && hook.ErrorCode(err) != hook.EConflict {
			return fmt.Errorf("storing HOOKD_API_KEY: %w", err)
		}
		return nil
	}
	n, err := st.CountAPIKeys(ctx)
	if err != nil {
		return err
	}
	if n > 0 {
		return nil
	}
	key = NewAPIKey()
	if _, err := st.CreateAPIKey(ctx, &store.CreateAPIKeyParams{
		ID: hook.NewID("key"), Name: "generated admin key", Hash: HashAPIKey(key), Now: time.Now(),
	}); err != nil {
		return err
	}
	if out != nil {
		fmt.Fprintf(out, "\nNo HOOKD_API_KEY was set, so hookd generated an admin API key.\n"+
			"It is shown this once and stored only as a hash:\n\n    %s\n\n", key)
	}
	log.Warn("generated an admin API key and printed it once; set HOOKD_API_KEY to choose your own")
	return nil
}

// gatherGap is the stores' GatherGap for cfg.CommitGather: zero there
// means never wait, which the stores spell as a negative gap.
func gatherGap(cfg *config.Config) time.Duration {
	if cfg.CommitGather <= 0 {
		return -1
	}
	return cfg.CommitGather
}
