package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Table columns of endpoints and of the answers of their operations.
var (
	endpointColumns       = cols("ID=id", "UID=uid", "KIND=kind", "URL=url", "EVENT TYPES=event_types", "DISABLED=disabled", "CREATED=created_at")
	endpointDetailColumns = cols("ID=id", "UID=uid", "APP=app_id", "KIND=kind", "URL=url", "DESCRIPTION=description",
		"EVENT TYPES=event_types", "DISABLED=disabled", "FILTER=filter", "PROFILE=profile", "HEADERS=headers",
		"METADATA=metadata", "CIRCUIT OPEN UNTIL=circuit_open_until", "CREATED=created_at", "UPDATED=updated_at")
	secretColumns        = cols("SECRET=secret")
	headersColumns       = cols("HEADERS=headers")
	recoverColumns       = cols("RECOVERED=recovered")
	replayMissingColumns = cols("SENT=sent", "FILTERED=filtered", "TRUNCATED=truncated", "NEXT SINCE=next_since")
	testEventColumns     = cols("EVENT=event.id", "TYPE=event.type", "DELIVERY=delivery.id", "STATUS=delivery.status")
)

// newEndpointsCmd is `hookd endpoints`.
func newEndpointsCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list",
		Short: "List an app's endpoints",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			return listCmd(s, endpointColumns, func(limit *int64, cursor *string) (*client.ListEndpointsResponse, error) {
				return s.api.ListEndpointsWithResponse(s.cmd.Context(), s.app, &client.ListEndpointsParams{Limit: limit, Cursor: cursor})
			})
		}),
	}
	addLimitFlag(list)

	get := &cobra.Command{
		Use:               "get EP",
		Short:             "Show an endpoint (by id or uid)",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			return s.show(endpointDetailColumns)(call(s.api.GetEndpointWithResponse(s.cmd.Context(), s.app, a[0])))
		}),
	}

	create := &cobra.Command{
		Use:     "create URL [--event-type TYPE]... [--description TEXT] [--data JSON]",
		Short:   "Add an endpoint to an app",
		Example: "  hookd endpoints create https://example.com/webhooks --app acme --event-type 'order.*'",
		Args:    args(cobra.MaximumNArgs(1)),
		RunE: withSession(true, func(s *session, a []string) error {
			b, err := endpointBody(s.cmd)
			if err != nil {
				return err
			}
			if len(a) == 1 {
				b["url"] = a[0]
			}
			return s.show(endpointDetailColumns)(call(s.api.CreateEndpointWithBodyWithResponse(s.cmd.Context(), s.app, "application/json", b.reader())))
		}),
	}
	endpointFlags(create)
	create.Flags().String("secret", "", "the signing secret, whsec_... (default: generated)")

	update := &cobra.Command{
		Use:               "update EP [--endpoint-url URL] [--event-type TYPE]... [--disabled=true|false] [--data JSON]",
		Short:             "Change an endpoint (only the fields given)",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			b, err := endpointBody(s.cmd)
			if err != nil {
				return err
			}
			return s.show(endpointDetailColumns)(call(s.api.UpdateEndpointWithBodyWithResponse(s.cmd.Context(), s.app, a[0], "application/json", b.reader())))
		}),
	}
	endpointFlags(update)

	del := &cobra.Command{
		Use:               "delete EP",
		Short:             "Delete an endpoint with its deliveries",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			if _, err := call(s.api.DeleteEndpointWithResponse(s.cmd.Context(), s.app, a[0])); err != nil {
				return err
			}
			return printed(s, "deleted endpoint %s", a[0])
		}),
	}

	secret := &cobra.Command{
		Use:               "secret EP [--rotate [--secret whsec_...] [--previous-expires-in 24h]]",
		Short:             "Print an endpoint's signing secret, or rotate it",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			if rotate, _ := s.cmd.Flags().GetBool("rotate"); !rotate {
				if s.cmd.Flags().Changed("secret") || s.cmd.Flags().Changed("previous-expires-in") {
					return usageError(errors.New("--secret and --previous-expires-in go with --rotate"))
				}
				return s.show(secretColumns)(call(s.api.GetEndpointSecretWithResponse(s.cmd.Context(), s.app, a[0])))
			}
			b := body{}
			b.setString(s.cmd, "secret", "secret")
			if s.cmd.Flags().Changed("previous-expires-in") {
				d, _ := s.cmd.Flags().GetDuration("previous-expires-in")
				b["previous_expires_in"] = int64(d.Seconds())
			}
			return s.show(secretColumns)(call(s.api.RotateEndpointSecretWithBodyWithResponse(s.cmd.Context(), s.app, a[0], "application/json", b.reader())))
		}),
	}
	secret.Flags().Bool("rotate", false, "replace the secret (the old one keeps signing for the app's overlap)")
	secret.Flags().String("secret", "", "with --rotate: the new secret, whsec_... (default: generated)")
	secret.Flags().Duration("previous-expires-in", 0, "with --rotate: how long the old secret still signs (0s: not at all)")

	headers := &cobra.Command{
		Use:               "headers EP",
		Short:             "Print an endpoint's custom headers, values included",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			return s.show(headersColumns)(call(s.api.GetEndpointHeadersWithResponse(s.cmd.Context(), s.app, a[0])))
		}),
	}

	recover := &cobra.Command{
		Use:               "recover EP --since 2h",
		Short:             "Retry an endpoint's failed deliveries created since a time",
		Example:           "  hookd endpoints recover ep_01H... --app acme --since 2h\n  hookd endpoints recover ep_01H... --app acme --since 2026-01-02T15:04:05Z",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			since, err := timeFlag(s, "since")
			if err != nil {
				return err
			}
			b := body{"since": since}
			return s.show(recoverColumns)(call(s.api.RecoverEndpointWithBodyWithResponse(s.cmd.Context(), s.app, a[0], "application/json", b.reader())))
		}),
	}
	recover.Flags().String("since", "", "failed deliveries created at or after this time: a duration back from now (2h) or RFC 3339")
	_ = recover.MarkFlagRequired("since")

	replay := &cobra.Command{
		Use:               "replay-missing EP --since 24h [--until TIME]",
		Short:             "Deliver to an endpoint the events of its types it never got (created while it did not exist or match)",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			since, until, err := sinceUntil(s)
			if err != nil {
				return err
			}
			b := body{"since": since}
			if until != nil {
				b["until"] = until
			}
			return s.show(replayMissingColumns)(call(s.api.ReplayMissingWithBodyWithResponse(s.cmd.Context(), s.app, a[0], "application/json", b.reader())))
		}),
	}
	addSinceFlags(replay, "events created")
	_ = replay.MarkFlagRequired("since")

	test := &cobra.Command{
		Use:               "test EP --type TYPE [--data JSON]",
		Short:             "Send a test event to one endpoint",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEndpointArg,
		RunE: withSession(true, func(s *session, a []string) error {
			b := body{}
			b.setString(s.cmd, "type", "type")
			if err := b.setJSON(s.cmd, "data", "data"); err != nil {
				return err
			}
			return s.show(testEventColumns)(call(s.api.SendTestEventWithBodyWithResponse(s.cmd.Context(), s.app, a[0], "application/json", b.reader())))
		}),
	}
	test.Flags().String("type", "", "the test event's type")
	test.Flags().String("data", "", "the test event's data: JSON, @FILE or - (default: the type's example)")
	_ = test.MarkFlagRequired("type")
	_ = test.RegisterFlagCompletionFunc("type", completeEventTypes)

	for _, c := range []*cobra.Command{list, get, create, update, secret, headers, recover, replay, test} {
		addJSONFlag(c)
	}
	cmd := group("endpoints", "Add, list, change and delete an app's endpoints; their secrets; recover and test them",
		list, get, create, update, del, secret, headers, recover, replay, test)
	addConnFlags(cmd)
	addAppFlag(cmd)
	return cmd
}

// endpointFlags adds the flags of an endpoint's create and update.
func endpointFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("endpoint-url", "", "where deliveries are POSTed (create: the URL argument); --url is hookd's own")
	f.String("uid", "", "your own unique id for the endpoint, usable instead of its id")
	f.String("description", "", "what the endpoint is")
	f.StringSlice("event-type", nil, "event types (or patterns: order.*) it receives; repeat or comma-separate (default: all)")
	f.Bool("disabled", false, "no deliveries while set")
	f.String("filter", "", "a jq filter on the event: only events it is true for are delivered")
	f.StringArray("header", nil, "NAME=VALUE custom header sent with every delivery (repeat it; replaces all)")
	f.StringArray("metadata", nil, "KEY=VALUE metadata (repeat it; replaces all metadata)")
	addDataFlag(cmd, "the request body (every field the API takes)")
	_ = cmd.RegisterFlagCompletionFunc("event-type", completeEventTypes)
}

// endpointBody is the request body of an endpoint's create or update.
func endpointBody(cmd *cobra.Command) (body, error) {
	b, err := baseBody(cmd)
	if err != nil {
		return nil, err
	}
	for _, k := range []string{"uid", "description", "filter", "secret"} {
		b.setString(cmd, k, k)
	}
	b.setString(cmd, "endpoint-url", "url")
	b.setStrings(cmd, "event-type", "event_types")
	b.setBool(cmd, "disabled", "disabled")
	if err := b.setMap(cmd, "header", "headers"); err != nil {
		return nil, err
	}
	return b, b.setMap(cmd, "metadata", "metadata")
}
