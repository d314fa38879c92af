// Package config holds hookd's settings, their defaults, and the rules
// they must follow. Every setting is a command-line flag with an HOOKD_*
// environment twin (see cmd/hookd).
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

// Config is everything `hookd serve` can be told.
type Config struct {
	// Addr is where the API listens (HOOKD_ADDR).
	Addr string
	// PprofAddr, when set, is where net/http/pprof's handlers listen
	// (/debug/pprof/...), on a listener and mux of their own, never the
	// API's; "" (the default) serves none (HOOKD_PPROF_ADDR). Bind it to
	// loopback: profiles are unauthenticated.
	PprofAddr string
	// DB is an SQLite file path or a postgres:// URL (HOOKD_DB).
	DB string
	// DBMaxConns bounds the PostgreSQL connection pool; 0 is the
	// backend's default (HOOKD_DB_MAX_CONNS).
	DBMaxConns int
	// Migrate applies pending schema migrations at start; when false,
	// hookd refuses to start on a schema that is behind (HOOKD_MIGRATE).
	Migrate bool
	// LeaseDuration is how long a claim on a delivery lasts without
	// renewal: after a node dies, its deliveries go to another node
	// within this time (HOOKD_LEASE_DURATION).
	LeaseDuration time.Duration
	// APIKey is the bootstrap admin key (HOOKD_API_KEY). When empty and
	// the database has no key, one is generated and printed once.
	APIKey string
	// SecretKey is the base64 of the 32-byte key that seals endpoint
	// secrets at rest (HOOKD_SECRET_KEY). When empty, the key is read
	// from SecretKeyFile; see server.LoadKeyring.
	SecretKey string
	// SecretKeyFile is the file that holds SecretKey when it is not set
	// (HOOKD_SECRET_KEY_FILE). With SQLite it defaults to the database
	// path + ".secret-key", generated on first start; with PostgreSQL it
	// has no default and must exist.
	SecretKeyFile string
	// AllowPrivateNetworks lets endpoints reach loopback, private and
	// link-local addresses (HOOKD_ALLOW_PRIVATE_NETWORKS).
	AllowPrivateNetworks bool
	// RetrySchedule is the wait before each retry (HOOKD_RETRY_SCHEDULE).
	RetrySchedule hook.RetrySchedule
	// AttemptTimeout bounds one delivery attempt (HOOKD_ATTEMPT_TIMEOUT).
	AttemptTimeout time.Duration
	// MaxBodyBytes bounds an API request body (HOOKD_MAX_BODY_BYTES).
	MaxBodyBytes int64
	// MaxInflightBodyBytes bounds the API request body bytes this node
	// holds at once, all requests together; a request that does not fit
	// is answered 503 with Retry-After before its body is read. 0 means
	// twice the largest body a route accepts, the batch route's (16 x
	// MaxBodyBytes, at most 64 MiB): 32 MiB by default. It may not be
	// less than that largest body (HOOKD_MAX_INFLIGHT_BODY_BYTES).
	MaxInflightBodyBytes int64
	// APIRate is each API key's request rate limit on this node, in
	// requests per second; 0 means no limit (HOOKD_API_RATE).
	APIRate float64
	// APIBurst is how many requests a key may make at once above
	// APIRate (HOOKD_API_BURST).
	APIBurst int
	// AuthFailureRate bounds failed authentications per client IP on
	// this node, per second (burst: twice as many); 0 means no limit
	// (HOOKD_API_AUTH_FAILURE_RATE).
	AuthFailureRate float64
	// MaxEndpointsPerApp bounds the endpoints of one app
	// (HOOKD_MAX_ENDPOINTS_PER_APP).
	MaxEndpointsPerApp int
	// MaxEventTypes bounds the event types of the catalog, archived ones
	// included (HOOKD_MAX_EVENT_TYPES).
	MaxEventTypes int
	// Catalog is the catalog setting of apps that have none of their own
	// (HOOKD_CATALOG): open accepts events of any type; strict refuses
	// those of a type the catalog does not define or has archived. An
	// app's own setting wins.
	Catalog string
	// ReadTimeout bounds reading one request, body included
	// (HOOKD_READ_TIMEOUT).
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from the end of its headers to the
	// end of the answer (HOOKD_WRITE_TIMEOUT).
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a keep-alive connection waits for the
	// next request (HOOKD_IDLE_TIMEOUT).
	IdleTimeout time.Duration
	// MaxInFlight bounds attempts running at once (HOOKD_MAX_IN_FLIGHT).
	MaxInFlight int
	// EndpointConcurrency bounds attempts running at once to one endpoint
	// (HOOKD_ENDPOINT_CONCURRENCY).
	EndpointConcurrency int
	// MaxHeld bounds deliveries held in memory (HOOKD_MAX_HELD).
	MaxHeld int
	// MaxHeldBytes bounds payload bytes held in memory (HOOKD_MAX_HELD_BYTES).
	MaxHeldBytes int64
	// ShutdownTimeout bounds the drain on SIGTERM (HOOKD_SHUTDOWN_TIMEOUT).
	ShutdownTimeout time.Duration
	// CommitGather is how long, under load, a group commit waits for one
	// more operation (HOOKD_COMMIT_GATHER; 0: never waits), and
	// CommitGatherMax how long it waits in all (HOOKD_COMMIT_GATHER_MAX):
	// see store.Gatherer.
	CommitGather    time.Duration
	CommitGatherMax time.Duration
	// OperatorApp is the app (id or uid) that receives hookd's own
	// operational events; "" sends none (HOOKD_OPERATOR_APP).
	OperatorApp string
	// BreakerThreshold is how many failures in a row open an endpoint's
	// circuit (HOOKD_BREAKER_THRESHOLD).
	BreakerThreshold int
	// BreakerCooldown is how long an open circuit first waits before a
	// probe attempt (HOOKD_BREAKER_COOLDOWN); each failed probe doubles
	// it, up to BreakerMaxCooldown (HOOKD_BREAKER_MAX_COOLDOWN), which is
	// also how long a recovered endpoint may wait for its first delivery.
	BreakerCooldown    time.Duration
	BreakerMaxCooldown time.Duration
	// DisableFailingAfter disables an endpoint that has failed this long
	// with no success; 0 never does (HOOKD_DISABLE_FAILING_AFTER).
	DisableFailingAfter time.Duration
	// Retention is how long events, their deliveries and attempts are
	// kept; 0 keeps them forever (HOOKD_RETENTION).
	Retention time.Duration
	// JQWorkers bounds the processes that run jq envelopes and filters;
	// 0 is max(2, the CPUs hookd uses) (HOOKD_JQ_WORKERS).
	JQWorkers int
	// JQMemory bounds the memory one jq program may make its worker map
	// (HOOKD_JQ_MEMORY); a program that needs more fails.
	JQMemory int64
	// JQTimeout bounds one run of a jq envelope or filter
	// (HOOKD_JQ_TIMEOUT); a worker still running at 1.5 times it is
	// killed.
	JQTimeout time.Duration
	// FilterBudget bounds the time an API request spends on payload
	// filters (HOOKD_FILTER_BUDGET): the filters it leaves undecided are
	// evaluated by the dispatcher, off the request.
	FilterBudget time.Duration
	// PublicURL is where clients reach hookd, e.g.
	// https://hooks.example.com: an absolute http(s) URL, perhaps with a
	// path, the base of consumer portal links' URLs. "" builds them from
	// the host each request came to (HOOKD_PUBLIC_URL).
	PublicURL string
	// Dashboard serves the operator dashboard at / on the API's listener
	// (HOOKD_DASHBOARD); false answers / as any unknown path (404).
	Dashboard bool
	// PortalFrameAncestors are the origins that may show the consumer
	// portal in a frame (HOOKD_PORTAL_FRAME_ANCESTORS): space- or
	// comma-separated, each scheme://host[:port] ("https://app.example.com",
	// "https://*.example.com"); "" lets only hookd itself frame it. The
	// operator dashboard is never framed. See PortalFrameAncestorList.
	PortalFrameAncestors string
	// LogLevel is debug, info, warn or error (HOOKD_LOG_LEVEL).
	LogLevel string
	// LogFormat is text or json (HOOKD_LOG_FORMAT).
	LogFormat string
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Addr:                "127.0.0.1:8080",
		DB:                  "hookd.db",
		Migrate:             true,
		LeaseDuration:       30 * time.Second,
		RetrySchedule:       hook.DefaultRetrySchedule,
		AttemptTimeout:      15 * time.Second,
		MaxBodyBytes:        1 << 20,
		APIRate:             10000,
		APIBurst:            20000,
		AuthFailureRate:     20,
		MaxEndpointsPerApp:  100,
		MaxEventTypes:       1000,
		Catalog:             hook.CatalogOpen,
		ReadTimeout:         30 * time.Second,
		WriteTimeout:        30 * time.Second,
		IdleTimeout:         120 * time.Second,
		MaxInFlight:         1024,
		EndpointConcurrency: 64,
		MaxHeld:             20000,
		CommitGather:        store.DefaultGatherGap,
		CommitGatherMax:     store.DefaultGatherMax,
		MaxHeldBytes:        128 << 20,
		ShutdownTimeout:     20 * time.Second,
		Retention:           30 * 24 * time.Hour,
		DisableFailingAfter: 5 * 24 * time.Hour,
		BreakerThreshold:    5,
		BreakerCooldown:     10 * time.Second,
		BreakerMaxCooldown:  5 * time.Minute,
		JQMemory:            64 << 20,
		JQTimeout:           100 * time.Millisecond,
		FilterBudget:        20 * time.Millisecond,
		Dashboard:           true,
		LogLevel:            "info",
		LogFormat:           "text",
	}
}

// Validate checks the settings and says which one is wrong.
func (c *Config) Validate() error {
	var errs []error
	bad := func(name, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
	}
	if c.Addr == "" {
		bad("HOOKD_ADDR", "must not be empty")
	}
	if c.PprofAddr != "" {
		if err := checkListenAddr(c.PprofAddr); err != nil {
			bad("HOOKD_PPROF_ADDR", "%v", err)
		} else if c.PprofAddr == c.Addr {
			bad("HOOKD_PPROF_ADDR", "must differ from HOOKD_ADDR: pprof never shares the API's listener")
		}
	}
	if c.DB == "" {
		bad("HOOKD_DB", "must not be empty")
	}
	if c.APIKey != "" && len(c.APIKey) < 16 {
		bad("HOOKD_API_KEY", "must be at least 16 characters")
	}
	if c.SecretKey != "" {
		if _, err := secrets.ParseKey(c.SecretKey); err != nil {
			bad("HOOKD_SECRET_KEY", "%v", err)
		}
	} else if c.SecretKeyFile == "" && c.IsPostgres() {
		bad("HOOKD_SECRET_KEY", "must be set with PostgreSQL, the same on every node (e.g. `openssl rand -base64 32`), or HOOKD_SECRET_KEY_FILE must name a file that holds it")
	}
	if len(c.RetrySchedule) > 50 {
		bad("HOOKD_RETRY_SCHEDULE", "has more than 50 entries")
	}
	if c.AttemptTimeout < 100*time.Millisecond || c.AttemptTimeout > 5*time.Minute {
		bad("HOOKD_ATTEMPT_TIMEOUT", "must be between 100ms and 5m, not %s", c.AttemptTimeout)
	}
	if c.MaxBodyBytes < 1024 || c.MaxBodyBytes > 64<<20 {
		bad("HOOKD_MAX_BODY_BYTES", "must be between 1024 and 67108864")
	}
	// (The API checks that the largest body, the batch route's, fits.)
	if c.MaxInflightBodyBytes != 0 && (c.MaxInflightBodyBytes < c.MaxBodyBytes || c.MaxInflightBodyBytes > 64<<30) {
		bad("HOOKD_MAX_INFLIGHT_BODY_BYTES", "must be 0 (twice the largest request body) or between HOOKD_MAX_BODY_BYTES and 68719476736, not %d",
			c.MaxInflightBodyBytes)
	}
	// !(x >= 0) also refuses NaN.
	if !(c.APIRate >= 0) || c.APIRate > 1e6 {
		bad("HOOKD_API_RATE", "must be between 0 (no limit) and 1000000 requests per second, not %v", c.APIRate)
	}
	if c.APIRate > 0 && (c.APIBurst < 1 || c.APIBurst > 1e6) {
		bad("HOOKD_API_BURST", "must be between 1 and 1000000, not %d", c.APIBurst)
	}
	if !(c.AuthFailureRate >= 0) || c.AuthFailureRate > 1e6 {
		bad("HOOKD_API_AUTH_FAILURE_RATE", "must be between 0 (no limit) and 1000000 per second, not %v", c.AuthFailureRate)
	}
	if c.MaxEndpointsPerApp < 1 || c.MaxEndpointsPerApp > 100000 {
		bad("HOOKD_MAX_ENDPOINTS_PER_APP", "must be between 1 and 100000, not %d", c.MaxEndpointsPerApp)
	}
	if c.MaxEventTypes < 1 || c.MaxEventTypes > 100000 {
		bad("HOOKD_MAX_EVENT_TYPES", "must be between 1 and 100000, not %d", c.MaxEventTypes)
	}
	if c.Catalog != hook.CatalogOpen && c.Catalog != hook.CatalogStrict {
		bad("HOOKD_CATALOG", "must be open or strict, not %q", c.Catalog)
	}
	if c.ReadTimeout < time.Second || c.ReadTimeout > time.Hour {
		bad("HOOKD_READ_TIMEOUT", "must be between 1s and 1h, not %s", c.ReadTimeout)
	}
	if c.WriteTimeout < time.Second || c.WriteTimeout > time.Hour {
		bad("HOOKD_WRITE_TIMEOUT", "must be between 1s and 1h, not %s", c.WriteTimeout)
	}
	if c.IdleTimeout < time.Second || c.IdleTimeout > time.Hour {
		bad("HOOKD_IDLE_TIMEOUT", "must be between 1s and 1h, not %s", c.IdleTimeout)
	}
	if c.DisableFailingAfter < 0 {
		bad("HOOKD_DISABLE_FAILING_AFTER", "must be 0 (never) or a duration such as 120h")
	}
	if c.BreakerThreshold < 1 || c.BreakerThreshold > 1000 {
		bad("HOOKD_BREAKER_THRESHOLD", "must be between 1 and 1000, not %d", c.BreakerThreshold)
	}
	if c.BreakerCooldown < 100*time.Millisecond || c.BreakerCooldown > time.Hour {
		bad("HOOKD_BREAKER_COOLDOWN", "must be between 100ms and 1h, not %s", c.BreakerCooldown)
	}
	if c.BreakerMaxCooldown < c.BreakerCooldown || c.BreakerMaxCooldown > 24*time.Hour {
		bad("HOOKD_BREAKER_MAX_COOLDOWN", "must be between HOOKD_BREAKER_COOLDOWN (%s) and 24h, not %s",
			c.BreakerCooldown, c.BreakerMaxCooldown)
	}
	if c.Retention != 0 && c.Retention < time.Hour {
		bad("HOOKD_RETENTION", "must be 0 (keep forever) or at least 1h, not %s", c.Retention)
	}
	if c.DBMaxConns < 0 || c.DBMaxConns > 1000 {
		bad("HOOKD_DB_MAX_CONNS", "must be between 0 and 1000")
	}
	if c.LeaseDuration < time.Second || c.LeaseDuration > time.Hour {
		bad("HOOKD_LEASE_DURATION", "must be between 1s and 1h, not %s", c.LeaseDuration)
	}
	if c.MaxInFlight < 1 {
		bad("HOOKD_MAX_IN_FLIGHT", "must be at least 1")
	}
	if c.EndpointConcurrency < 1 {
		bad("HOOKD_ENDPOINT_CONCURRENCY", "must be at least 1")
	}
	if c.CommitGather < 0 || c.CommitGather > 10*time.Millisecond {
		bad("HOOKD_COMMIT_GATHER", "must be between 0 and 10ms, not %s", c.CommitGather)
	}
	if c.CommitGatherMax < c.CommitGather || c.CommitGatherMax > 50*time.Millisecond || c.CommitGatherMax <= 0 {
		bad("HOOKD_COMMIT_GATHER_MAX", "must be at least HOOKD_COMMIT_GATHER, above 0 and at most 50ms, not %s", c.CommitGatherMax)
	}
	if c.MaxHeld < 1 {
		bad("HOOKD_MAX_HELD", "must be at least 1")
	}
	if c.MaxHeldBytes < c.MaxBodyBytes {
		bad("HOOKD_MAX_HELD_BYTES", "must be at least HOOKD_MAX_BODY_BYTES")
	}
	if c.JQWorkers < 0 || c.JQWorkers > 256 {
		bad("HOOKD_JQ_WORKERS", "must be between 0 (automatic) and 256, not %d", c.JQWorkers)
	}
	if c.JQMemory < 16<<20 || c.JQMemory > 16<<30 {
		bad("HOOKD_JQ_MEMORY", "must be between 16777216 (16 MiB) and 17179869184 (16 GiB), not %d", c.JQMemory)
	}
	if c.JQTimeout < 10*time.Millisecond || c.JQTimeout > 10*time.Second {
		bad("HOOKD_JQ_TIMEOUT", "must be between 10ms and 10s, not %s", c.JQTimeout)
	}
	if c.FilterBudget < 0 || c.FilterBudget > 10*time.Second {
		bad("HOOKD_FILTER_BUDGET", "must be between 0 (every filter evaluated by the dispatcher) and 10s, not %s", c.FilterBudget)
	}
	if _, err := ParseFrameAncestors(c.PortalFrameAncestors); err != nil {
		bad("HOOKD_PORTAL_FRAME_ANCESTORS", "%v", err)
	}
	if c.PublicURL != "" {
		if err := checkPublicURL(c.PublicURL); err != nil {
			bad("HOOKD_PUBLIC_URL", "%v", err)
		}
	}
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("HOOKD_LOG_LEVEL", "must be debug, info, warn or error")
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		bad("HOOKD_LOG_FORMAT", "must be text or json")
	}
	return errors.Join(errs...)
}

// PortalFrameAncestorList returns PortalFrameAncestors as a list (nil
// when it is not valid: Validate says why).
func (c *Config) PortalFrameAncestorList() []string {
	list, err := ParseFrameAncestors(c.PortalFrameAncestors)
	if err != nil {
		return nil
	}
	return list
}

// frameAncestorHost is the host of a frame-ancestors origin: a DNS name,
// optionally "*." and a name, an IPv4 address or a bracketed IPv6 one,
// then an optional port.
var frameAncestorHost = regexp.MustCompile(`^(\*\.)?([a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(:[0-9]{1,5})?$|^\[[0-9a-fA-F:.]+\](:[0-9]{1,5})?$`)

// ParseFrameAncestors parses a space- or comma-separated list of origins
// for CSP frame-ancestors: each scheme://host[:port], the scheme http or
// https, the host possibly starting with "*." (its subdomains), no path,
// no query. Keywords ('self', 'none', *) are refused: hookd adds 'self'.
func ParseFrameAncestors(s string) ([]string, error) {
	var list []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		scheme, host, ok := strings.Cut(f, "://")
		if !ok || (scheme != "https" && scheme != "http") {
			return nil, fmt.Errorf("%q is not an origin: want https://host or https://host:port", f)
		}
		host = strings.TrimSuffix(host, "/")
		if !frameAncestorHost.MatchString(host) {
			return nil, fmt.Errorf("%q is not an origin: want https://host or https://host:port (no path, no query)", f)
		}
		list = append(list, scheme+"://"+strings.ToLower(host))
	}
	return list, nil
}

// checkListenAddr checks a host:port to listen on: the host may be empty
// (every interface), the port must be a number from 0 to 65535.
func checkListenAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("must be host:port, such as 127.0.0.1:6060: %v", err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q must be a number from 0 to 65535", port)
	}
	return nil
}

// checkPublicURL checks HOOKD_PUBLIC_URL: an absolute http(s) URL with a
// host, and no user, query or fragment (the API's ParsePublicURL takes
// the same).
func checkPublicURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("must be an absolute http:// or https:// URL, such as https://hooks.example.com, not %q", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return fmt.Errorf("must be a scheme, a host and perhaps a path (no user, query or fragment), such as https://hooks.example.com, not %q", raw)
	}
	return nil
}

// IsPostgres reports whether DB names a PostgreSQL database.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}
