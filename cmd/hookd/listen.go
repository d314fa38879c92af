package main

import (
	"errors"
	"fmt"
	"os"
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
		app, forwardTo, baseURL, apiKey string
		events                          []string
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
			"hookd's URL and API key come from --url and --api-key, or HOOKD_URL and HOOKD_API_KEY.",
		Example: "  HOOKD_URL=https://hooks.example.com HOOKD_API_KEY=hk_... \\\n" +
			"    hookd listen --app acme --events 'order.*' --forward-to http://localhost:3000/webhooks",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Errorf("listen takes no arguments, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if baseURL == "" {
				baseURL = os.Getenv("HOOKD_URL")
			}
			if apiKey == "" {
				apiKey = os.Getenv("HOOKD_API_KEY")
			}
			switch {
			case app == "":
				return usageError(errors.New("listen: --app is required"))
			case forwardTo == "":
				return usageError(errors.New("listen: --forward-to is required"))
			case baseURL == "":
				return usageError(errors.New("listen: --url (or HOOKD_URL) is required"))
			case apiKey == "":
				return usageError(errors.New("listen: --api-key (or HOOKD_API_KEY) is required"))
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
			})
			if err != nil {
				return usageError(err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
			defer stop()
			if err := c.Run(ctx); err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), "\nStopped; the endpoint was removed.")
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&app, "app", "", "the app (id or uid) whose deliveries to receive")
	f.StringSliceVar(&events, "events", nil, "event types to receive: names or patterns such as 'order.*' (repeat or comma-separate; default: all)")
	f.StringVar(&forwardTo, "forward-to", "", "the local URL each delivery is POSTed to")
	f.StringVar(&baseURL, "url", "", "hookd's URL (default $HOOKD_URL)")
	f.StringVar(&apiKey, "api-key", "", "an API key for the app, or an admin key (default $HOOKD_API_KEY)")
	return cmd
}
