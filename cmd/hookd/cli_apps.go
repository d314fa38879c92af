package main

import (
	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Table columns of apps: the list, then one app alone.
var (
	appColumns       = cols("ID=id", "UID=uid", "NAME=name", "CREATED=created_at")
	appDetailColumns = cols("ID=id", "UID=uid", "NAME=name", "PROFILE=profile", "CATALOG=catalog",
		"LIVEMODE=livemode", "API VERSION=api_version", "METADATA=metadata", "CREATED=created_at", "UPDATED=updated_at")
)

// newAppsCmd is `hookd apps`.
func newAppsCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the apps (admin key)",
		Args:  args(cobra.NoArgs),
		RunE: withSession(false, func(s *session, _ []string) error {
			return listCmd(s, appColumns, func(limit *int64, cursor *string) (*client.ListAppsResponse, error) {
				return s.api.ListAppsWithResponse(s.cmd.Context(), &client.ListAppsParams{Limit: limit, Cursor: cursor})
			})
		}),
	}
	addLimitFlag(list)

	get := &cobra.Command{
		Use:               "get APP",
		Short:             "Show an app (by id or uid)",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeAppArg,
		RunE: withSession(false, func(s *session, a []string) error {
			return s.show(appDetailColumns)(call(s.api.GetAppWithResponse(s.cmd.Context(), a[0])))
		}),
	}

	create := &cobra.Command{
		Use:     "create --name NAME [--uid UID] [--data JSON]",
		Short:   "Create an app (admin key)",
		Example: "  hookd apps create --name Acme --uid acme\n  hookd apps create --data '{\"name\":\"Acme\",\"catalog\":\"strict\"}'",
		Args:    args(cobra.NoArgs),
		RunE: withSession(false, func(s *session, _ []string) error {
			b, err := appBody(s.cmd)
			if err != nil {
				return err
			}
			return s.show(appDetailColumns)(call(s.api.CreateAppWithBodyWithResponse(s.cmd.Context(), "application/json", b.reader())))
		}),
	}
	appFlags(create)

	update := &cobra.Command{
		Use:               "update APP [--name NAME] [--uid UID] [--data JSON]",
		Short:             "Change an app's settings (only the fields given)",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeAppArg,
		RunE: withSession(false, func(s *session, a []string) error {
			b, err := appBody(s.cmd)
			if err != nil {
				return err
			}
			return s.show(appDetailColumns)(call(s.api.UpdateAppWithBodyWithResponse(s.cmd.Context(), a[0], "application/json", b.reader())))
		}),
	}
	appFlags(update)

	del := &cobra.Command{
		Use:               "delete APP",
		Short:             "Delete an app with its endpoints, events and deliveries",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeAppArg,
		RunE: withSession(false, func(s *session, a []string) error {
			if _, err := call(s.api.DeleteAppWithResponse(s.cmd.Context(), a[0])); err != nil {
				return err
			}
			return printed(s, "deleted app %s", a[0])
		}),
	}

	for _, c := range []*cobra.Command{list, get, create, update} {
		addJSONFlag(c)
	}
	cmd := group("apps", "Create, list, change and delete apps", list, get, create, update, del)
	addConnFlags(cmd)
	return cmd
}

// appFlags adds the flags of an app's create and update.
func appFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("name", "", "display name")
	f.String("uid", "", "your own unique id for the app, usable instead of its id")
	f.String("catalog", "", "inherit, open or strict")
	f.StringArray("metadata", nil, "KEY=VALUE metadata (repeat it; replaces all metadata)")
	addDataFlag(cmd, "the request body (every field the API takes)")
	_ = cmd.RegisterFlagCompletionFunc("catalog", completeWords("inherit", "open", "strict"))
}

// appBody is the request body of an app's create or update.
func appBody(cmd *cobra.Command) (body, error) {
	b, err := baseBody(cmd)
	if err != nil {
		return nil, err
	}
	b.setString(cmd, "name", "name")
	b.setString(cmd, "uid", "uid")
	b.setString(cmd, "catalog", "catalog")
	return b, b.setMap(cmd, "metadata", "metadata")
}
