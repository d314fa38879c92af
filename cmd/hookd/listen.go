package main

import (
	"errors"
	"fmt"
	"os/signal"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/internal/listen"
)

// newListenCmd is `hookd listen`: receive an app's deliveries on this
// machine, behind NAT, forwarded to a local URL.
func newListenCmd() *cobra.Command {
	var (
		forwardTo string
		events    []string
	)
	cmd := &cobra.Command{
		Use:   "listen --app APP --forward-to http://localhost:3000/webhooks [--events 'order.*']",
		Short: "Receive an app's deliveries locally: forward them to a local URL",
		Long: "Open a stream to hookd that registers a temporary endpoint (kind listen) for the app, and\n" +
			"forward each of its deliveries to a local URL, signed as for any endpoint (the signing\n" +
			"secret is printed at start). The local answer is recorded as the attempt: a 2xx succeeds,\n" +
			"anything else (or a local URL that does not answer) fails and is retried on the schedule.\n" +
			"One line is printed per delivery. The endpoint is removed when this command exits\n" +
			"(Ctrl-C), or 30 s after the connection is lost unless it reconnects in time.\n\n" +
			"hookd's URL, API key and the app come from --url, --api-key and --app, or HOOKD_URL,\n" +
			"HOOKD_API_KEY and HOOKD_APP, as for every command (the URL defaults to " + defaultURL + ").\n" +
			"--timeout bounds each opening of the stream. When hookd cannot be reached at start the\n" +
			"command exits with 3; when it refuses the stream (a key that is not valid, an unknown\n" +
			"app, a bad pattern) with 1 and the server's problem. A connection lost later is\n" +
			"reopened, with backoff, and resumes the same endpoint.",
		Example: "  HOOKD_URL=https://hooks.example.com HOOKD_API_KEY=hk_... \\\n" +
			"    hookd listen --app acme --events 'order.*' --forward-to http://localhost:3000/webhooks",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Errorf("listen takes no arguments, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			app, err := appFromFlags(cmd)
			if err != nil {
				return err
			}
			if forwardTo == "" {
				return usageError(errors.New("listen: --forward-to is required: the local URL deliveries are POSTed to"))
			}
			baseURL, apiKey, timeout, err := connFromFlags(cmd)
			if err != nil {
				return err
			}
			var types []string
			for _, e := range events {
				for t := range strings.SplitSeq(e, ",") {
					if t = strings.TrimSpace(t); t != "" {
						types = append(types, t)
					}
				}
			}
			c, err := listen.NewClient(listen.ClientConfig{
				URL: baseURL, APIKey: apiKey, App: app, Events: types, ForwardTo: forwardTo, Out: cmd.OutOrStdout(),
				DialTimeout: timeout,
			})
			if err != nil {
				return usageError(err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := c.Run(ctx); err != nil {
				return listenError(baseURL, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "\nStopped; the endpoint was removed.")
			return nil
		},
	}
	addConnFlags(cmd)
	addAppFlag(cmd)
	f := cmd.Flags()
	f.StringSliceVar(&events, "events", nil, "event types to receive: names or patterns such as 'order.*' (repeat or comma-separate; default: all)")
	f.StringVar(&forwardTo, "forward-to", "", "the local URL each delivery is POSTed to")
	return cmd
}

// listenError is the error `hookd listen` exits with, coded as for the
// resource commands: a refused stream is the server's problem (exit 1,
// its detail printed); hookd unreachable at start is exit 3; the
// endpoint deleted while listening is exit 1.
func listenError(base string, err error) error {
	var fe *listen.FatalError
	if errors.As(err, &fe) {
		if fe.Status != 0 {
			return problemError(fe.Status, fe.Body)
		}
		return &exitError{code: exitServer, err: err}
	}
	return requestError(base, err)
}
