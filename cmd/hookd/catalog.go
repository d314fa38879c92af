package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

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
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if apiKey == "" {
				return fmt.Errorf("an admin API key is needed: --api-key or HOOKD_API_KEY")
			}
			body, _ := json.Marshal(map[string]any{"pack": args[0], "replace": replace})
			req, err := http.NewRequestWithContext(cmd.Context(), http.MethodPost,
				strings.TrimRight(baseURL, "/")+"/v1/event-types/import", bytes.NewReader(body))
			if err != nil {
				return err
			}
			req.Header.Set("Authorization", "Bearer "+apiKey)
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
			if err != nil {
				return fmt.Errorf("reaching hookd at %s: %w", baseURL, err)
			}
			defer resp.Body.Close()
			out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode != http.StatusOK {
				var p struct {
					Detail string `json:"detail"`
					Errors []struct {
						Message  string `json:"message"`
						Location string `json:"location"`
					} `json:"errors"`
				}
				if json.Unmarshal(out, &p) == nil && p.Detail != "" {
					msg := p.Detail
					for _, e := range p.Errors {
						if e.Message != p.Detail {
							msg += "; " + e.Location + ": " + e.Message
						}
					}
					return fmt.Errorf("import %s: %s (HTTP %d)", args[0], msg, resp.StatusCode)
				}
				return fmt.Errorf("import %s: HTTP %d: %s", args[0], resp.StatusCode, out)
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
