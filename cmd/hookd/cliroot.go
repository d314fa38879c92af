package main

import (
	"github.com/spf13/cobra"
)

// rootLong is `hookd --help`'s text above the command list.
const rootLong = `hookd delivers webhooks: signed, retried, recorded.

hookd serve runs the service. The resource commands (apps, endpoints, event-types, events,
deliveries, api-keys, portal-links, stats) talk to a running hookd over its API:

  --url      hookd's base URL (HOOKD_URL; default ` + defaultURL + `)
  --api-key  an API key (HOOKD_API_KEY)
  --app      the app an app's resources belong to, by id or uid (HOOKD_APP)
  --json     print the API's JSON instead of a table (lists: one array, every page)

` + exitCodesHelp + `

Shell completion: hookd completion bash|zsh|fish|powershell --help`

// addResourceCmds adds the commands that work on hookd's resources over
// its API, and makes every flag error a usage error (exit 2).
func addResourceCmds(root *cobra.Command) {
	root.AddCommand(newAppsCmd(), newEndpointsCmd(), newEventTypesCmd(), newEventsCmd(),
		newDeliveriesCmd(), newAPIKeysCmd(), newPortalLinksCmd(), newStatsCmd())
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	root.CompletionOptions.HiddenDefaultCmd = false
}
