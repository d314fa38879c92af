// Command hookd is a webhook delivery service: `hookd serve` runs the API
// and the dispatcher; the other subcommands are its command-line tools.
package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/hookd/hookd/internal/config"
	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/server"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	// A jq worker of this process's sandbox is this binary started again;
	// it never gets past here.
	envelope.WorkerMain()
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run runs hookd with these arguments and standard streams, and returns
// its exit code: an error is printed on stderr as "hookd: ..." unless the
// command has already said what it had to.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	root := newRootCmd()
	root.SetArgs(args)
	root.SetIn(stdin)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.Execute()
	if err == nil {
		return 0
	}
	var e *exitError
	if !errors.As(err, &e) || !e.silent {
		fmt.Fprintln(stderr, "hookd:", err)
	}
	return exitCode(err)
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "hookd",
		Short:         "hookd delivers webhooks: signed, retried, recorded",
		Long:          rootLong,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newServeCmd(), newMigrateCmd(), newCatalogCmd(), newVerifyCmd(time.Now), newListenCmd(), newVersionCmd())
	addResourceCmds(root)
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
	f.StringVar(&cfg.PprofAddr, "pprof-addr", cfg.PprofAddr, "where net/http/pprof listens, on a listener of its own (\"\": off; keep it on loopback)")
	f.StringVar(&cfg.DB, "db", cfg.DB, "SQLite database file, or a postgres:// URL for PostgreSQL (several nodes)")
	f.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "PostgreSQL connection pool size (0: the default)")
	f.BoolVar(&cfg.Migrate, "migrate", cfg.Migrate, "apply pending schema migrations at start (false: refuse to start on an old schema)")
	f.DurationVar(&cfg.LeaseDuration, "lease-duration", cfg.LeaseDuration, "how long a node's claim on a delivery lasts unrenewed; a dead node's work moves on after this")
	f.StringVar(&cfg.APIKey, "api-key", cfg.APIKey, "bootstrap admin API key (generated and printed once if unset and none exists)")
	f.StringVar(&cfg.SecretKey, "secret-key", cfg.SecretKey, "base64 of the 32-byte key that seals endpoint secrets at rest; the same on every node (prefer HOOKD_SECRET_KEY to the flag)")
	f.StringVar(&cfg.SecretKeyFile, "secret-key-file", cfg.SecretKeyFile, "file holding the secret key when --secret-key is unset (SQLite default: the database path + .secret-key, generated on first start)")
	f.BoolVar(&cfg.AllowPrivateNetworks, "allow-private-networks", cfg.AllowPrivateNetworks, "let endpoints reach loopback, private and link-local addresses")
	f.Var(retryScheduleFlag{&cfg.RetrySchedule}, "retry-schedule", "comma-separated waits before retry 1, 2, ...")
	f.DurationVar(&cfg.AttemptTimeout, "attempt-timeout", cfg.AttemptTimeout, "timeout of one delivery attempt")
	f.Int64Var(&cfg.MaxBodyBytes, "max-body-bytes", cfg.MaxBodyBytes, "largest API request body accepted")
	f.Int64Var(&cfg.MaxInflightBodyBytes, "max-inflight-body-bytes", cfg.MaxInflightBodyBytes, "API request body bytes held at once, all requests together; beyond, 503 (0: twice the largest body a route accepts, 32 MiB by default)")
	f.Float64Var(&cfg.APIRate, "api-rate", cfg.APIRate, "requests per second each API key may make to this node (0: no limit)")
	f.IntVar(&cfg.APIBurst, "api-burst", cfg.APIBurst, "requests an API key may make at once above --api-rate")
	f.Float64Var(&cfg.AuthFailureRate, "api-auth-failure-rate", cfg.AuthFailureRate, "failed authentications per second per client IP before its requests get 429 (0: no limit)")
	f.IntVar(&cfg.MaxEndpointsPerApp, "max-endpoints-per-app", cfg.MaxEndpointsPerApp, "endpoints one app may have")
	f.IntVar(&cfg.MaxEventTypes, "max-event-types", cfg.MaxEventTypes, "event types the catalog may hold, archived ones included")
	f.StringVar(&cfg.Catalog, "catalog", cfg.Catalog, "open: events of any type are accepted; strict: only of types the catalog defines and has not archived (an app's own catalog setting wins)")
	f.DurationVar(&cfg.ReadTimeout, "read-timeout", cfg.ReadTimeout, "time to read one API request, body included")
	f.DurationVar(&cfg.WriteTimeout, "write-timeout", cfg.WriteTimeout, "time from the end of a request's headers to the end of its answer")
	f.DurationVar(&cfg.IdleTimeout, "idle-timeout", cfg.IdleTimeout, "how long an idle keep-alive connection stays open")
	f.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "attempts running at once")
	f.IntVar(&cfg.EndpointConcurrency, "endpoint-concurrency", cfg.EndpointConcurrency, "attempts running at once to one endpoint")
	f.IntVar(&cfg.MaxHeld, "max-held", cfg.MaxHeld, "deliveries held in memory; the rest wait in the database")
	f.Int64Var(&cfg.MaxHeldBytes, "max-held-bytes", cfg.MaxHeldBytes, "payload bytes held in memory")
	f.DurationVar(&cfg.CommitGather, "commit-gather", cfg.CommitGather, "under load, how long a group commit waits for one more write before it commits (0: never waits); a lone write is never held")
	f.DurationVar(&cfg.CommitGatherMax, "commit-gather-max", cfg.CommitGatherMax, "the longest a group commit waits for more writes in all")
	f.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", cfg.ShutdownTimeout, "how long SIGTERM waits for attempts in flight")
	f.StringVar(&cfg.OperatorApp, "operator-app", cfg.OperatorApp, "app (id or uid) that receives hookd's operational events: endpoint.disabled, delivery.failing, ...")
	f.IntVar(&cfg.BreakerThreshold, "breaker-threshold", cfg.BreakerThreshold, "failures in a row that open an endpoint's circuit (no attempts until a probe)")
	f.DurationVar(&cfg.BreakerCooldown, "breaker-cooldown", cfg.BreakerCooldown, "how long an open circuit first waits before a probe attempt")
	f.DurationVar(&cfg.BreakerMaxCooldown, "breaker-max-cooldown", cfg.BreakerMaxCooldown, "the longest wait between probes, doubled from --breaker-cooldown after each failed one")
	f.DurationVar(&cfg.DisableFailingAfter, "disable-failing-after", cfg.DisableFailingAfter, "disable an endpoint that has failed this long with no success (0: never)")
	f.DurationVar(&cfg.Retention, "retention", cfg.Retention, "how long events, deliveries and attempts are kept (0: forever)")
	f.IntVar(&cfg.JQWorkers, "jq-workers", cfg.JQWorkers, "processes that run jq envelopes and filters (0: max(2, CPUs))")
	f.Int64Var(&cfg.JQMemory, "jq-memory", cfg.JQMemory, "bytes of memory one jq program may use; more fails it")
	f.DurationVar(&cfg.JQTimeout, "jq-timeout", cfg.JQTimeout, "time one run of a jq envelope or filter may take")
	f.DurationVar(&cfg.FilterBudget, "filter-budget", cfg.FilterBudget, "time one API request may spend on payload filters; the rest are evaluated by the dispatcher")
	f.StringVar(&cfg.PublicURL, "public-url", cfg.PublicURL, "where clients reach hookd, e.g. https://hooks.example.com: the base of consumer portal links (\"\": the host each request came to)")
	f.BoolVar(&cfg.Dashboard, "dashboard", cfg.Dashboard, "serve the operator dashboard at / on the API's listener (sign in with an API key)")
	f.StringVar(&cfg.PortalFrameAncestors, "portal-frame-ancestors", cfg.PortalFrameAncestors, "origins that may frame the consumer portal, space- or comma-separated (https://app.example.com); the operator dashboard is never framed")
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

func newMigrateCmd() *cobra.Command {
	db := config.Default().DB
	cmd := &cobra.Command{
		Use:   "migrate",
		Short: "Show or apply the database schema migrations",
		Long: "hookd serve applies pending migrations at start (under a lock, so nodes starting together\n" +
			"do not race). Operators who apply them by hand run `hookd migrate up` and serve with --migrate=false.",
	}
	cmd.PersistentFlags().StringVar(&db, "db", db, "SQLite database file or postgres:// URL (HOOKD_DB)")
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd.Flags()) }
	show := func(cmd *cobra.Command, ms []store.MigrationState, applying bool) {
		w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
		if applying {
			if len(ms) == 0 {
				fmt.Fprintln(w, "nothing to apply: the schema is current")
			}
			for _, m := range ms {
				fmt.Fprintf(w, "applied\t%d\t%s\n", m.Version, m.Name)
			}
		} else {
			fmt.Fprintln(w, "VERSION\tNAME\tSTATE\tAPPLIED AT")
			for _, m := range ms {
				state, at := "pending", ""
				if m.Applied {
					state, at = "applied", m.AppliedAt.UTC().Format(time.RFC3339)
				}
				fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", m.Version, m.Name, state, at)
			}
		}
		_ = w.Flush()
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "List the migrations and whether each is applied",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, err := server.MigrationStatus(cmd.Context(), db)
			if err != nil {
				return err
			}
			show(cmd, ms, false)
			return nil
		},
	}, &cobra.Command{
		Use:   "up",
		Short: "Apply the pending migrations",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ms, err := server.MigrateUp(cmd.Context(), db)
			if err != nil {
				return err
			}
			show(cmd, ms, true)
			return nil
		},
	}, &cobra.Command{
		Use:   "page-size [BYTES]",
		Short: "Rewrite a SQLite file with smaller pages (hookd stopped)",
		Long: "New SQLite files get 1 KiB pages, which write less than half the bytes per delivery of SQLite's\n" +
			"default 4 KiB; a file made by an older hookd keeps its pages until this command rewrites it\n" +
			"(a VACUUM: it needs as much free disk as the file, and hookd must not be running on it).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			size := sqlitestore.DefaultPageSize
			if len(args) == 1 {
				n, err := strconv.Atoi(args[0])
				if err != nil || n < 512 || n > 65536 || n&(n-1) != 0 {
					return usageError(fmt.Errorf("page size %q: want a power of two from 512 to 65536", args[0]))
				}
				size = n
			}
			was, err := server.SetPageSize(cmd.Context(), db, size)
			if err != nil {
				return err
			}
			if was == size {
				fmt.Fprintf(cmd.OutOrStdout(), "%s already has %d-byte pages\n", db, size)
				return nil
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s rewritten: %d-byte pages (were %d)\n", db, size, was)
			return nil
		},
	})
	return cmd
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
