package main

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Where the resource commands find hookd and their key: a flag wins over
// its environment variable, which wins over the default.
const (
	envURL    = "HOOKD_URL"
	envAPIKey = "HOOKD_API_KEY"
	envApp    = "HOOKD_APP"
	// defaultURL is where `hookd serve` listens by default (HOOKD_ADDR
	// 127.0.0.1:8080).
	defaultURL = "http://127.0.0.1:8080"
)

// addConnFlags adds --url, --api-key and --timeout, the flags that say
// which hookd a command talks to, as persistent flags of cmd.
func addConnFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("url", "", "hookd's base URL ("+envURL+"; default "+defaultURL+")")
	f.String("api-key", "", "API key, sent as a bearer token ("+envAPIKey+")")
	f.Duration("timeout", 30*time.Second, "how long one HTTP request to hookd may take")
}

// addAppFlag adds --app, the app (id or uid) a command works on, as a
// persistent flag of cmd, completed with the apps the server has.
func addAppFlag(cmd *cobra.Command) {
	cmd.PersistentFlags().String("app", "", "the app, by id (app_...) or uid ("+envApp+")")
	_ = cmd.RegisterFlagCompletionFunc("app", completeApps)
}

// connFlag is the value of the connection flag name: the flag when given,
// else the environment variable env, else def.
func connFlag(cmd *cobra.Command, name, env, def string) string {
	if f := cmd.Flags().Lookup(name); f != nil && f.Changed {
		return f.Value.String()
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// appFromFlags is the app a command works on: --app, else HOOKD_APP. Its
// absence is a usage error.
func appFromFlags(cmd *cobra.Command) (string, error) {
	app := connFlag(cmd, "app", envApp, "")
	if app == "" {
		return "", usageError(fmt.Errorf("%s: --app (or %s) is needed: the app's id or uid", cmd.CommandPath(), envApp))
	}
	return app, nil
}

// connFromFlags is the base URL, API key and timeout that cmd's --url,
// --api-key and --timeout (or HOOKD_URL and HOOKD_API_KEY) give. A missing
// key or a URL that is not http(s) is a usage error.
func connFromFlags(cmd *cobra.Command) (base, key string, timeout time.Duration, err error) {
	base = strings.TrimRight(connFlag(cmd, "url", envURL, defaultURL), "/")
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return "", "", 0, usageError(fmt.Errorf("--url %q: must start with http:// or https://", base))
	}
	key = connFlag(cmd, "api-key", envAPIKey, "")
	if key == "" {
		return "", "", 0, usageError(errors.New("an API key is needed: --api-key or " + envAPIKey))
	}
	timeout = 30 * time.Second
	if f := cmd.Flags().Lookup("timeout"); f != nil {
		if d, err := time.ParseDuration(f.Value.String()); err == nil {
			timeout = d
		}
	}
	return base, key, timeout, nil
}

// clientFromFlags is a hookd API client for the server and key that cmd's
// --url and --api-key (or HOOKD_URL and HOOKD_API_KEY) name, with
// --timeout as its http.Client's timeout.
func clientFromFlags(cmd *cobra.Command) (*client.Client, error) {
	base, key, timeout, err := connFromFlags(cmd)
	if err != nil {
		return nil, err
	}
	c, err := client.New(base, key,
		client.WithHTTPClient(&http.Client{Timeout: timeout}),
		client.WithUserAgent("hookd-cli/"+version))
	if err != nil {
		return nil, usageError(fmt.Errorf("--url: %w", err))
	}
	return c, nil
}
