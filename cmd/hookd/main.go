// Command hookd is a webhook delivery service: `hookd serve` runs the API
// and the dispatcher; the other subcommands are its command-line tools.
package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/server"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "hookd:", err)
		os.Exit(1)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hookd",
		Short:         "hookd delivers webhooks: signed, retried, recorded",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print hookd's version",
		Run: func(cmd *cobra.Command, _ []string) {
			fmt.Fprintln(cmd.OutOrStdout(), "hookd", version)
		},
	}
}

// retryScheduleFlag makes a hook.RetrySchedule a flag.
type retryScheduleFlag struct{ s *hook.RetrySchedule }

func (f retryScheduleFlag) String() string { return f.s.String() }
func (f retryScheduleFlag) Type() string   { return "durations" }
func (f retryScheduleFlag) Set(v string) error {
	s, err := hook.ParseRetrySchedule(v)
	if err != nil {
		return err
	}
	*f.s = s
	return nil
}

func newServeCmd() *cobra.Command {
	cfg := config.Default()
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the API and the dispatcher",
		Long: "Run hookd: the /v1 API, the dispatcher that delivers, and /metrics.\n\n" +
			"Every flag has an environment twin: --attempt-timeout is HOOKD_ATTEMPT_TIMEOUT, and so on.\n" +
			"A flag given on the command line wins over its environment variable.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log, err := newLogger(cfg.LogLevel, cfg.LogFormat)
			if err != nil {
				return err
			}
			slog.SetDefault(log)
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return server.Run(ctx, server.Options{Config: cfg, Logger: log, Version: version, Out: cmd.ErrOrStderr()})
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.Addr, "addr", cfg.Addr, "address the API listens on")
	f.StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file")
	f.StringVar(&cfg.APIKey, "api-key", cfg.APIKey, "bootstrap admin API key (generated and printed once if unset and none exists)")
	f.BoolVar(&cfg.AllowPrivateNetworks, "allow-private-networks", cfg.AllowPrivateNetworks, "let endpoints reach loopback, private and link-local addresses")
	f.Var(retryScheduleFlag{&cfg.RetrySchedule}, "retry-schedule", "comma-separated waits before retry 1, 2, ...")
	f.DurationVar(&cfg.AttemptTimeout, "attempt-timeout", cfg.AttemptTimeout, "timeout of one delivery attempt")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest API request body accepted")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "attempts running at once")
	f.IntVar(&cfg.EndpointConcurrency, "endpoint-concurrency", cfg.EndpointConcurrency, "attempts running at once to one endpoint")
	f.IntVar(&cfg.MaxHeld, "max-held", cfg.MaxHeld, "deliveries held in memory; the rest wait in the database")
	f.Int64Var(&cfg.MaxHeldBytes, "max-held-bytes", cfg.MaxHeldBytes, "payload bytes held in memory")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long SIGTERM waits for attempts in flight")
	f.StringVar(&cfg.LogLevel, "log-level", cfg.LogLevel, "debug, info, warn or error")
	f.StringVar(&cfg.LogFormat, "log-format", cfg.LogFormat, "text or json")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd.Flags()) }
	return cmd
}

// bindEnv sets every flag not given on the command line from its HOOKD_*
// environment variable.
func bindEnv(fs *pflag.FlagSet) error {
	var err error
	fs.VisitAll(func(f *pflag.Flag) {
		if err != nil || f.Changed {
			return
		}
		name := "HOOKD_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(name); ok {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", name, e)
			}
		}
	})
	return err
}

func newLogger(level, format string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("HOOKD_LOG_LEVEL: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
}
