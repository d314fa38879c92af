package config

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestDefaultIsValid(t *testing.T) {
	t.Parallel()
	c := Default()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if c.APIRate != 10000 || c.APIBurst != 20000 || c.MaxEndpointsPerApp != 100 || c.MaxEventTypes != 1000 ||
		c.Catalog != "open" || c.ReadTimeout != 30*time.Second || c.WriteTimeout != 30*time.Second || c.IdleTimeout != 120*time.Second {
		t.Errorf("defaults %+v", c)
	}
}

func TestValidateAbuseLimits(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		set  func(*Config)
		bad  string // the variable named, "" for valid
	}{
		{"no rate limit", func(c *Config) { c.APIRate = 0; c.APIBurst = 0 }, ""},
		{"fractional rate", func(c *Config) { c.APIRate = 0.5; c.APIBurst = 1 }, ""},
		{"negative rate", func(c *Config) { c.APIRate = -1 }, "HOOKD_API_RATE"},
		{"NaN rate", func(c *Config) { c.APIRate = math.NaN() }, "HOOKD_API_RATE"},
		{"burst 0 with a rate", func(c *Config) { c.APIBurst = 0 }, "HOOKD_API_BURST"},
		{"no auth failure limit", func(c *Config) { c.AuthFailureRate = 0 }, ""},
		{"negative auth failure rate", func(c *Config) { c.AuthFailureRate = -2 }, "HOOKD_API_AUTH_FAILURE_RATE"},
		{"no endpoints", func(c *Config) { c.MaxEndpointsPerApp = 0 }, "HOOKD_MAX_ENDPOINTS_PER_APP"},
		{"no event types", func(c *Config) { c.MaxEventTypes = 0 }, "HOOKD_MAX_EVENT_TYPES"},
		{"strict catalog", func(c *Config) { c.Catalog = "strict" }, ""},
		{"closed catalog", func(c *Config) { c.Catalog = "closed" }, "HOOKD_CATALOG"},
		{"no catalog setting", func(c *Config) { c.Catalog = "" }, "HOOKD_CATALOG"},
		{"read timeout 0", func(c *Config) { c.ReadTimeout = 0 }, "HOOKD_READ_TIMEOUT"},
		{"write timeout 0", func(c *Config) { c.WriteTimeout = 0 }, "HOOKD_WRITE_TIMEOUT"},
		{"idle timeout too long", func(c *Config) { c.IdleTimeout = 2 * time.Hour }, "HOOKD_IDLE_TIMEOUT"},
		{"short timeouts", func(c *Config) { c.ReadTimeout, c.WriteTimeout, c.IdleTimeout = time.Second, time.Second, time.Second }, ""},
		{"breaker threshold 0", func(c *Config) { c.BreakerThreshold = 0 }, "HOOKD_BREAKER_THRESHOLD"},
		{"breaker cooldown 0", func(c *Config) { c.BreakerCooldown = 0 }, "HOOKD_BREAKER_COOLDOWN"},
		{"breaker max below cooldown", func(c *Config) { c.BreakerCooldown, c.BreakerMaxCooldown = time.Minute, time.Second }, "HOOKD_BREAKER_MAX_COOLDOWN"},
		{"breaker max over a day", func(c *Config) { c.BreakerMaxCooldown = 25 * time.Hour }, "HOOKD_BREAKER_MAX_COOLDOWN"},
		{"body budget by default", func(c *Config) { c.MaxInflightBodyBytes = 0 }, ""},
		{"body budget of one body", func(c *Config) { c.MaxInflightBodyBytes = c.MaxBodyBytes }, ""},
		{"body budget below one body", func(c *Config) { c.MaxInflightBodyBytes = c.MaxBodyBytes - 1 }, "HOOKD_MAX_INFLIGHT_BODY_BYTES"},
		{"negative body budget", func(c *Config) { c.MaxInflightBodyBytes = -1 }, "HOOKD_MAX_INFLIGHT_BODY_BYTES"},
		{"commit gather off", func(c *Config) { c.CommitGather = 0 }, ""},
		{"negative commit gather", func(c *Config) { c.CommitGather = -time.Microsecond }, "HOOKD_COMMIT_GATHER"},
		{"commit gather too long", func(c *Config) { c.CommitGather, c.CommitGatherMax = 11*time.Millisecond, 20*time.Millisecond }, "HOOKD_COMMIT_GATHER"},
		{"commit gather max below gather", func(c *Config) { c.CommitGather, c.CommitGatherMax = time.Millisecond, 500*time.Microsecond }, "HOOKD_COMMIT_GATHER_MAX"},
		{"commit gather max 0", func(c *Config) { c.CommitGather, c.CommitGatherMax = 0, 0 }, "HOOKD_COMMIT_GATHER_MAX"},
		{"short breaker", func(c *Config) {
			c.BreakerThreshold, c.BreakerCooldown, c.BreakerMaxCooldown = 1, time.Second, time.Second
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cfg := Default()
			c.set(&cfg)
			err := cfg.Validate()
			switch {
			case c.bad == "" && err != nil:
				t.Errorf("refused: %v", err)
			case c.bad != "" && (err == nil || !strings.Contains(err.Error(), c.bad)):
				t.Errorf("error %v, want one naming %s", err, c.bad)
			}
		})
	}
}

func TestValidatePprofAddr(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		addr string
		ok   bool
	}{
		{"", true},
		{"127.0.0.1:6060", true},
		{"localhost:0", true},
		{":6060", true},
		{"[::1]:6060", true},
		{"127.0.0.1", false},
		{"127.0.0.1:http", false},
		{"127.0.0.1:70000", false},
		{"127.0.0.1:8080", false}, // HOOKD_ADDR's default
	} {
		cfg := Default()
		cfg.PprofAddr = c.addr
		err := cfg.Validate()
		switch {
		case c.ok && err != nil:
			t.Errorf("%q refused: %v", c.addr, err)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "HOOKD_PPROF_ADDR")):
			t.Errorf("%q: error %v, want one naming HOOKD_PPROF_ADDR", c.addr, err)
		}
	}
}
