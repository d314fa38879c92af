package main

import (
	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Table columns of event types and API keys.
var (
	eventTypeColumns       = cols("NAME=name", "DESCRIPTION=description", "ARCHIVED=archived", "UPDATED=updated_at")
	eventTypeDetailColumns = cols("NAME=name", "DESCRIPTION=description", "ARCHIVED=archived",
		"SCHEMA=schema:json", "EXAMPLE=example:json", "CREATED=created_at", "UPDATED=updated_at")
	apiKeyColumns    = cols("ID=id", "NAME=name", "APP=app_id", "EXPIRES=expires_at", "CREATED=created_at")
	apiKeyNewColumns = cols("ID=id", "NAME=name", "APP=app_id", "EXPIRES=expires_at", "CREATED=created_at", "KEY=key")
	importColumns    = cols("PACK=pack", "CREATED=created", "UPDATED=updated", "UNCHANGED=unchanged")
)

// newEventTypesCmd is `hookd event-types`, the catalog.
func newEventTypesCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list [--include-archived]",
		Short: "List the catalog's event types, in name order",
		Args:  args(cobra.NoArgs),
		RunE: withSession(false, func(s *session, _ []string) error {
			archived, _ := s.cmd.Flags().GetBool("include-archived")
			return listCmd(s, eventTypeColumns, func(limit *int64, cursor *string) (*client.ListEventTypesResponse, error) {
				return s.api.ListEventTypesWithResponse(s.cmd.Context(), &client.ListEventTypesParams{
					Limit: limit, Cursor: cursor, IncludeArchived: &archived})
			})
		}),
	}
	list.Flags().Bool("include-archived", false, "list archived types too")
	addLimitFlag(list)

	get := &cobra.Command{
		Use:   "get NAME",
		Short: "Show an event type",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(false, func(s *session, a []string) error {
			return s.show(eventTypeDetailColumns)(call(s.api.GetEventTypeWithResponse(s.cmd.Context(), a[0])))
		}),
	}

	create := &cobra.Command{
		Use:     "create NAME [--description TEXT] [--schema JSON] [--example JSON]",
		Short:   "Add an event type to the catalog (admin key)",
		Example: "  hookd event-types create order.created --description 'An order was placed' --schema @order.schema.json",
		Args:    args(cobra.ExactArgs(1)),
		RunE: withSession(false, func(s *session, a []string) error {
			b, err := eventTypeBody(s.cmd)
			if err != nil {
				return err
			}
			b["name"] = a[0]
			return s.show(eventTypeDetailColumns)(call(s.api.CreateEventTypeWithBodyWithResponse(s.cmd.Context(), "application/json", b.reader())))
		}),
	}
	eventTypeFlags(create)

	update := &cobra.Command{
		Use:   "update NAME [--description TEXT] [--schema JSON] [--example JSON] [--archived=false]",
		Short: "Change an event type (admin key)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(false, func(s *session, a []string) error {
			b, err := eventTypeBody(s.cmd)
			if err != nil {
				return err
			}
			b.setBool(s.cmd, "archived", "archived")
			return s.show(eventTypeDetailColumns)(call(s.api.UpdateEventTypeWithBodyWithResponse(s.cmd.Context(), a[0], "application/json", b.reader())))
		}),
	}
	eventTypeFlags(update)
	update.Flags().Bool("archived", false, "archive the type, or (=false) bring it back")

	del := &cobra.Command{
		Use:     "delete NAME",
		Aliases: []string{"archive"},
		Short:   "Archive an event type (update NAME --archived=false brings it back)",
		Args:    args(cobra.ExactArgs(1)),
		RunE: withSession(false, func(s *session, a []string) error {
			if _, err := call(s.api.ArchiveEventTypeWithResponse(s.cmd.Context(), a[0])); err != nil {
				return err
			}
			return printed(s, "archived event type %s", a[0])
		}),
	}

	imp := &cobra.Command{
		Use:       "import PACK [--replace]",
		Short:     "Load a provider's event types into the catalog: flexprice, flo, opentiendas or reflow",
		Args:      args(cobra.ExactArgs(1)),
		ValidArgs: []string{"flexprice", "flo", "opentiendas", "reflow"},
		RunE: withSession(false, func(s *session, a []string) error {
			b := body{"pack": a[0]}
			b.setBool(s.cmd, "replace", "replace")
			return s.show(importColumns)(call(s.api.ImportEventTypesWithBodyWithResponse(s.cmd.Context(), "application/json", b.reader())))
		}),
	}
	imp.Flags().Bool("replace", false, "overwrite the descriptions and schemas of types the catalog already has")

	for _, c := range []*cobra.Command{list, get, create, update, imp} {
		addJSONFlag(c)
	}
	cmd := group("event-types", "The catalog of event types", list, get, create, update, del, imp)
	addConnFlags(cmd)
	return cmd
}

// eventTypeFlags adds the flags of an event type's create and update.
func eventTypeFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("description", "", "what the event means")
	f.String("schema", "", "JSON Schema of the event's data: JSON, @FILE or -")
	f.String("example", "", "an example of the event's data: JSON, @FILE or -")
	addDataFlag(cmd, "the request body (every field the API takes)")
}

// eventTypeBody is the request body of an event type's create or update.
func eventTypeBody(cmd *cobra.Command) (body, error) {
	b, err := baseBody(cmd)
	if err != nil {
		return nil, err
	}
	b.setString(cmd, "description", "description")
	if err := b.setJSON(cmd, "schema", "schema"); err != nil {
		return nil, err
	}
	return b, b.setJSON(cmd, "example", "example")
}

// newAPIKeysCmd is `hookd api-keys`.
func newAPIKeysCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List the API keys, without their secrets (admin key)",
		Args:  args(cobra.NoArgs),
		RunE: withSession(false, func(s *session, _ []string) error {
			return listCmd(s, apiKeyColumns, func(limit *int64, cursor *string) (*client.ListAPIKeysResponse, error) {
				return s.api.ListAPIKeysWithResponse(s.cmd.Context(), &client.ListAPIKeysParams{Limit: limit, Cursor: cursor})
			})
		}),
	}
	addLimitFlag(list)

	create := &cobra.Command{
		Use:   "create --name NAME [--app APP] [--expires-in 720h]",
		Short: "Create an API key: an admin key, or one bound to an app with --app (the key is shown once)",
		Args:  args(cobra.NoArgs),
		RunE: withSession(false, func(s *session, _ []string) error {
			b, err := baseBody(s.cmd)
			if err != nil {
				return err
			}
			b.setString(s.cmd, "name", "name")
			b.setString(s.cmd, "app", "app")
			if f := s.cmd.Flags().Lookup("expires-in"); f.Changed {
				d, _ := s.cmd.Flags().GetDuration("expires-in")
				b["expires_at"] = s.now().Add(d).UTC()
			}
			return s.show(apiKeyNewColumns)(call(s.api.CreateAPIKeyWithBodyWithResponse(s.cmd.Context(), "application/json", b.reader())))
		}),
	}
	create.Flags().String("name", "", "what the key is for")
	create.Flags().String("app", "", "bind the key to this app (id or uid); without it, an admin key")
	create.Flags().Duration("expires-in", 0, "the key expires this long from now (720h: 30 days)")
	addDataFlag(create, "the request body (every field the API takes)")
	_ = create.RegisterFlagCompletionFunc("app", completeApps)

	del := &cobra.Command{
		Use:   "delete ID",
		Short: "Delete an API key",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(false, func(s *session, a []string) error {
			if _, err := call(s.api.DeleteAPIKeyWithResponse(s.cmd.Context(), a[0])); err != nil {
				return err
			}
			return printed(s, "deleted API key %s", a[0])
		}),
	}

	for _, c := range []*cobra.Command{list, create} {
		addJSONFlag(c)
	}
	cmd := group("api-keys", "Create, list and delete API keys", list, create, del)
	addConnFlags(cmd)
	return cmd
}
