package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
	"github.com/hookd/hookd/internal/catalog"
)

// newCatalogCmd is `hookd catalog`: the built-in provider packs of event
// types, loaded through a running hookd's API (so it works the same on
// SQLite, whose file a running hookd holds, and on PostgreSQL).
func newCatalogCmd() *cobra.Command {
	var (
		baseURL = "http://127.0.0.1:8080"
		apiKey  string
		replace bool
	)
	cmd := &cobra.Command{
		Use:   "catalog",
		Short: "Load a provider's event types (reflow, opentiendas, flo, flexprice) into the catalog",
	}
	cmd.PersistentFlags().StringVar(&baseURL, "url", baseURL, "base URL of the running hookd (HOOKD_URL)")
	cmd.PersistentFlags().StringVar(&apiKey, "api-key", "", "an admin API key (HOOKD_API_KEY)")
	cmd.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return bindEnv(cmd.Flags()) }

	packs := &cobra.Command{
		Use:   "packs",
		Short: "List the packs and their event types",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			for _, name := range catalog.Packs() {
				types, err := catalog.Pack(name)
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s (%d types)\n", name, len(types))
				for _, t := range types {
					fmt.Fprintf(cmd.OutOrStdout(), "  %-40s %s\n", t.Name, t.Description)
				}
			}
			return nil
		},
	}
	imp := &cobra.Command{
		Use:   "import PACK",
		Short: "Import a pack through the API (POST /v1/event-types/import); importing twice changes nothing",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if apiKey == "" {
				return usageError(fmt.Errorf("an admin API key is needed: --api-key or HOOKD_API_KEY"))
			}
			c, err := client.New(baseURL, apiKey, client.WithUserAgent("hookd-cli/"+version),
				client.WithHTTPClient(&http.Client{Timeout: 30 * time.Second}))
			if err != nil {
				return usageError(fmt.Errorf("--url: %w", err))
			}
			out, err := call(c.Raw().ImportEventTypesWithResponse(cmd.Context(),
				client.ImportEventTypesJSONRequestBody{Pack: client.CatalogImportRequestPack(args[0]), Replace: &replace}))
			if err != nil {
				return requestError(c.BaseURL(), err)
			}
			var res catalog.ImportResult
			if err := json.Unmarshal(out, &res); err != nil {
				return fmt.Errorf("import %s: unexpected answer: %s", args[0], out)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d created, %d replaced, %d unchanged\n",
				res.Pack, len(res.Created), len(res.Updated), len(res.Unchanged))
			return nil
		},
	}
	imp.Flags().BoolVar(&replace, "replace", false, "overwrite types the catalog defines differently")
	cmd.AddCommand(packs, imp)
	return cmd
}
