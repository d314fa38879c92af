package main

import (
	"encoding/json"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Shell completion of the resource commands' arguments asks the server
// (with the command line's --url and --api-key, or the environment) for a
// page of apps, endpoints or event types. Without an answer it completes
// nothing, quietly.

// completeApps completes an app: ids and uids.
func completeApps(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	c, err := clientFromFlags(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	limit := int64(250)
	raw, err := call(c.Raw().ListAppsWithResponse(cmd.Context(), &client.ListAppsParams{Limit: &limit}))
	return idsOf(raw, err, "id", "uid", "name")
}

// completeAppArg completes an app as the first positional argument.
func completeAppArg(cmd *cobra.Command, a []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(a) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeApps(cmd, a, toComplete)
}

// completeEndpointArg completes an endpoint of --app as the first
// positional argument.
func completeEndpointArg(cmd *cobra.Command, a []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(a) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return completeEndpoints(cmd, a, toComplete)
}

// completeEndpoints completes an endpoint of --app: ids and uids.
func completeEndpoints(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	app := connFlag(cmd, "app", envApp, "")
	c, err := clientFromFlags(cmd)
	if app == "" || err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	limit := int64(250)
	raw, err := call(c.Raw().ListEndpointsWithResponse(cmd.Context(), app, &client.ListEndpointsParams{Limit: &limit}))
	return idsOf(raw, err, "id", "uid", "url")
}

// completeEventTypes completes an event type name from the catalog.
func completeEventTypes(cmd *cobra.Command, _ []string, _ string) ([]string, cobra.ShellCompDirective) {
	c, err := clientFromFlags(cmd)
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	limit := int64(250)
	raw, err := call(c.Raw().ListEventTypesWithResponse(cmd.Context(), &client.ListEventTypesParams{Limit: &limit}))
	return idsOf(raw, err, "name", "", "description")
}

// idsOf is the completions of a list page: each item's id (and alt, when
// set) with desc as the description shells show beside it.
func idsOf(raw []byte, err error, id, alt, desc string) ([]string, cobra.ShellCompDirective) {
	if err != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var p struct {
		Data []map[string]any `json:"data"`
	}
	if json.Unmarshal(raw, &p) != nil {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, o := range p.Data {
		d, _ := o[desc].(string)
		d = clip(oneLine(d))
		for _, k := range []string{id, alt} {
			if v, _ := o[k].(string); k != "" && v != "" {
				out = append(out, v+"\t"+d)
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}
