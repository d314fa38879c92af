// Package config holds hookd's settings, their defaults, and the rules
// they must follow. Every setting is a command-line flag with an HOOKD_*
// environment twin (see cmd/hookd).
package config

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// Config is everything `hookd serve` can be told.
type Config struct {
	// Addr is where the API listens (HOOKD_ADDR).
	Addr string
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
	// AllowPrivateNetworks lets endpoints reach loopback, private and
	// link-local addresses (HOOKD_ALLOW_PRIVATE_NETWORKS).
	AllowPrivateNetworks bool
	// RetrySchedule is the wait before each retry (HOOKD_RETRY_SCHEDULE).
	RetrySchedule hook.RetrySchedule
	// AttemptTimeout bounds one delivery attempt (HOOKD_ATTEMPT_TIMEOUT).
	AttemptTimeout time.Duration
	// MaxBodyBytes bounds an API request body (HOOKD_MAX_BODY_BYTES).
	MaxBodyBytes int64
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
		MaxInFlight:         1024,
		EndpointConcurrency: 64,
		MaxHeld:             20000,
		MaxHeldBytes:        128 << 20,
		ShutdownTimeout:     20 * time.Second,
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
	if c.DB == "" {
		bad("HOOKD_DB", "must not be empty")
	}
	if c.APIKey != "" && len(c.APIKey) < 16 {
		bad("HOOKD_API_KEY", "must be at least 16 characters")
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
	if c.MaxHeld < 1 {
		bad("HOOKD_MAX_HELD", "must be at least 1")
	}
	if c.MaxHeldBytes < c.MaxBodyBytes {
		bad("HOOKD_MAX_HELD_BYTES", "must be at least HOOKD_MAX_BODY_BYTES")
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

// IsPostgres reports whether DB names a PostgreSQL database.
func (c *Config) IsPostgres() bool {
	return strings.HasPrefix(c.DB, "postgres://") || strings.HasPrefix(c.DB, "postgresql://")
}
