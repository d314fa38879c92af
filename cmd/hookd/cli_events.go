package main

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Table columns of events and deliveries.
var (
	eventColumns       = cols("ID=id", "TYPE=type", "LIVEMODE=livemode", "CREATED=created_at")
	eventDetailColumns = cols("ID=id", "TYPE=type", "APP=app_id", "LIVEMODE=livemode", "API VERSION=api_version",
		"DATA=data:json", "EXPUNGED=expunged_at", "CREATED=created_at")
	batchColumns    = cols("ID=event.id", "TYPE=event.type", "REPLAYED=replayed", "CREATED=event.created_at")
	resendColumns   = cols("EVENT=event.id", "DELIVERIES=deliveries", "SKIPPED=skipped")
	deliveryColumns = cols("ID=id", "EVENT=event_id", "TYPE=event_type", "ENDPOINT=endpoint_id", "STATUS=status",
		"ATTEMPTS=attempt_count", "LAST STATUS=last_response_status", "NEXT ATTEMPT=next_attempt_at", "CREATED=created_at")
	deliveryDetailColumns = cols("ID=id", "EVENT=event_id", "TYPE=event_type", "ENDPOINT=endpoint_id", "STATUS=status",
		"ATTEMPTS=attempt_count", "LAST STATUS=last_response_status", "LAST ATTEMPT=last_attempt_at",
		"NEXT ATTEMPT=next_attempt_at", "LIVEMODE=livemode", "CREATED=created_at", "UPDATED=updated_at")
	attemptListColumns = cols("ID=id", "DELIVERY=delivery_id", "ENDPOINT=endpoint_id", "#=number", "STARTED=started_at",
		"STATUS=response_status", "MS=duration_ms", "ERROR KIND=error_kind")
	attemptColumns    = cols("#=number", "TRIGGER=trigger", "STARTED=started_at", "STATUS=response_status", "MS=duration_ms", "ERROR=error")
	retryAllColumns   = cols("RETRIED=retried", "SKIPPED DISABLED=skipped_disabled", "TRUNCATED=truncated")
	deliveryStatuses  = []string{"pending", "paused", "succeeded", "failed"}
	livemodeArguments = []string{"true", "false"}
)

// newEventsCmd is `hookd events`.
func newEventsCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list [--type 'order.*'] [--since 2h] [--until TIME]",
		Short: "List an app's events, newest first",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			since, until, err := sinceUntil(s)
			if err != nil {
				return err
			}
			p := client.ListEventsParams{Type: strFlag(s.cmd, "type"), Since: since, Until: until,
				Livemode: (*client.ListEventsParamsLivemode)(strFlag(s.cmd, "livemode"))}
			return listCmd(s, eventColumns, func(limit *int64, cursor *string) (*client.ListEventsResponse, error) {
				p.Limit, p.Cursor = limit, cursor
				return s.api.ListEventsWithResponse(s.cmd.Context(), s.app, &p)
			})
		}),
	}
	list.Flags().String("type", "", "only events of these types (comma-separated names or patterns: order.*)")
	list.Flags().String("livemode", "", "true: live events only; false: test events only")
	addSinceFlags(list, "events created")
	addLimitFlag(list)
	_ = list.RegisterFlagCompletionFunc("type", completeEventTypes)
	_ = list.RegisterFlagCompletionFunc("livemode", completeWords(livemodeArguments...))

	get := &cobra.Command{
		Use:   "get ID",
		Short: "Show an event",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(true, func(s *session, a []string) error {
			return s.show(eventDetailColumns)(call(s.api.GetEventWithResponse(s.cmd.Context(), s.app, a[0])))
		}),
	}

	send := &cobra.Command{
		Use:   "send TYPE --data JSON|@FILE|-",
		Short: "Publish an event: hookd delivers it to the app's endpoints that take its type",
		Example: "  hookd events send order.created --app acme --data '{\"id\":\"ord_1\",\"total\":42}'\n" +
			"  hookd events send order.created --app acme --data @order.json\n" +
			"  jq -n '{id:\"ord_2\"}' | hookd events send order.created --app acme --data -",
		Args:              args(cobra.ExactArgs(1)),
		ValidArgsFunction: completeEventTypes,
		RunE: withSession(true, func(s *session, a []string) error {
			raw, err := readData(s.cmd, "data", mustString(s.cmd, "data"))
			if err != nil {
				return err
			}
			b := body{"type": a[0], "data": raw}
			b.setString(s.cmd, "id", "id")
			b.setBool(s.cmd, "livemode", "livemode")
			p := &client.CreateEventParams{IdempotencyKey: strFlag(s.cmd, "idempotency-key")}
			return s.show(eventDetailColumns)(call(s.api.CreateEventWithBodyWithResponse(s.cmd.Context(), s.app, p, "application/json", b.reader())))
		}),
	}
	send.Flags().String("data", "", "the event's data, a JSON object: inline, @FILE, or - for standard input")
	send.Flags().String("id", "", "the event's id (sending the same id again is a no-op)")
	send.Flags().String("idempotency-key", "", "Idempotency-Key header: used as the event id when --id is not given")
	send.Flags().Bool("livemode", true, "false: a test event")
	_ = send.MarkFlagRequired("data")

	sendBatch := &cobra.Command{
		Use:   "send-batch --data JSON|@FILE|-",
		Short: "Publish up to 1,000 events in one request: a JSON array of events (each as events send's body), or {\"events\": [...]}",
		Example: "  echo '[{\"type\":\"order.created\",\"data\":{\"id\":\"ord_1\"}},{\"type\":\"order.paid\",\"data\":{\"id\":\"ord_1\"}}]' |\n" +
			"    hookd events send-batch --app acme --data -",
		Args: args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			raw, err := readData(s.cmd, "data", mustString(s.cmd, "data"))
			if err != nil {
				return err
			}
			if raw[0] == '[' { // the events alone: wrap them as the API takes them
				raw = append(append([]byte(`{"events":`), raw...), '}')
			}
			out, err := call(s.api.CreateEventBatchWithBodyWithResponse(s.cmd.Context(), s.app, "application/json", bytes.NewReader(raw)))
			if err != nil {
				return err
			}
			var answer struct {
				Data []json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(out, &answer); err != nil {
				return fmt.Errorf("the server's answer: %w", err)
			}
			return showList(s.cmd, answer.Data, batchColumns)
		}),
	}
	sendBatch.Flags().String("data", "", "the events: a JSON array (or {\"events\": [...]}), inline, @FILE, or - for standard input")
	_ = sendBatch.MarkFlagRequired("data")

	resend := &cobra.Command{
		Use:   "resend ID [--endpoint EP]...",
		Short: "Deliver an event again, to all its endpoints or the ones given",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(true, func(s *session, a []string) error {
			b := body{}
			b.setStrings(s.cmd, "endpoint", "endpoints")
			return s.show(resendColumns)(call(s.api.ResendEventWithBodyWithResponse(s.cmd.Context(), s.app, a[0], "application/json", b.reader())))
		}),
	}
	resend.Flags().StringSlice("endpoint", nil, "only to these endpoints (id or uid; repeat or comma-separate)")
	_ = resend.RegisterFlagCompletionFunc("endpoint", completeEndpoints)

	expunge := &cobra.Command{
		Use:   "expunge ID",
		Short: "Remove an event's payload (its record stays)",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(true, func(s *session, a []string) error {
			return s.show(eventDetailColumns)(call(s.api.ExpungeEventWithResponse(s.cmd.Context(), s.app, a[0])))
		}),
	}

	for _, c := range []*cobra.Command{list, get, send, sendBatch, resend, expunge} {
		addJSONFlag(c)
	}
	cmd := group("events", "Publish, list, resend and expunge an app's events", list, get, send, sendBatch, resend, expunge)
	addConnFlags(cmd)
	addAppFlag(cmd)
	return cmd
}

// newDeliveriesCmd is `hookd deliveries`.
func newDeliveriesCmd() *cobra.Command {
	list := &cobra.Command{
		Use:   "list [--status failed] [--endpoint EP] [--event ID] [--since 2h]",
		Short: "List an app's deliveries, newest first",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			since, until, err := sinceUntil(s)
			if err != nil {
				return err
			}
			p := client.ListDeliveriesParams{
				Status:    (*client.ListDeliveriesParamsStatus)(strFlag(s.cmd, "status")),
				Endpoint:  strFlag(s.cmd, "endpoint"),
				Event:     strFlag(s.cmd, "event"),
				EventType: strFlag(s.cmd, "event-type"),
				Since:     since, Until: until,
				Livemode: (*client.ListDeliveriesParamsLivemode)(strFlag(s.cmd, "livemode")),
			}
			return listCmd(s, deliveryColumns, func(limit *int64, cursor *string) (*client.ListDeliveriesResponse, error) {
				p.Limit, p.Cursor = limit, cursor
				return s.api.ListDeliveriesWithResponse(s.cmd.Context(), s.app, &p)
			})
		}),
	}
	list.Flags().String("status", "", "only deliveries with this status: pending, paused, succeeded or failed")
	list.Flags().String("livemode", "", "true: of live events only; false: of test events only")
	deliveryFilterFlags(list)
	addLimitFlag(list)
	_ = list.RegisterFlagCompletionFunc("status", completeWords(deliveryStatuses...))
	_ = list.RegisterFlagCompletionFunc("livemode", completeWords(livemodeArguments...))

	get := &cobra.Command{
		Use:   "get DLV",
		Short: "Show a delivery with its attempts",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(true, func(s *session, a []string) error {
			raw, err := call(s.api.GetDeliveryWithResponse(s.cmd.Context(), s.app, a[0]))
			if err != nil {
				return err
			}
			if wantJSON(s.cmd) {
				return printJSON(s.cmd.OutOrStdout(), raw)
			}
			if err := printDetail(s.cmd.OutOrStdout(), raw, deliveryDetailColumns); err != nil {
				return err
			}
			var d struct {
				Attempts []json.RawMessage `json:"attempts"`
			}
			_ = json.Unmarshal(raw, &d) // printDetail has decoded it
			if len(d.Attempts) == 0 {
				return nil
			}
			if err := printed(s, ""); err != nil {
				return err
			}
			return printTable(s.cmd.OutOrStdout(), d.Attempts, attemptColumns)
		}),
	}

	retry := &cobra.Command{
		Use:   "retry DLV",
		Short: "Retry a delivery now",
		Args:  args(cobra.ExactArgs(1)),
		RunE: withSession(true, func(s *session, a []string) error {
			return s.show(deliveryDetailColumns)(call(s.api.RetryDeliveryWithResponse(s.cmd.Context(), s.app, a[0])))
		}),
	}

	retryAll := &cobra.Command{
		Use:   "retry-all-failed [--endpoint EP] [--event ID] [--event-type T] [--since 2h]",
		Short: "Retry an app's failed deliveries (those of disabled endpoints are skipped)",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			b := body{}
			b.setString(s.cmd, "endpoint", "endpoint")
			b.setString(s.cmd, "event", "event")
			b.setString(s.cmd, "event-type", "event_type")
			for _, f := range []string{"since", "until"} {
				t, err := timeFlag(s, f)
				if err != nil {
					return err
				}
				if t != nil {
					b[f] = t
				}
			}
			return s.show(retryAllColumns)(call(s.api.RetryDeliveriesWithBodyWithResponse(s.cmd.Context(), s.app, "application/json", b.reader())))
		}),
	}
	deliveryFilterFlags(retryAll)

	attempts := &cobra.Command{
		Use:   "attempts [--delivery DLV] [--endpoint EP] [--status 5xx] [--error-kind timeout] [--since 2h]",
		Short: "List an app's delivery attempts, newest first",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			since, until, err := sinceUntil(s)
			if err != nil {
				return err
			}
			p := client.ListAttemptsParams{
				Delivery:  strFlag(s.cmd, "delivery"),
				Endpoint:  strFlag(s.cmd, "endpoint"),
				Event:     strFlag(s.cmd, "event"),
				Status:    (*client.ListAttemptsParamsStatus)(strFlag(s.cmd, "status")),
				ErrorKind: (*client.ListAttemptsParamsErrorKind)(strFlag(s.cmd, "error-kind")),
				Since:     since, Until: until,
			}
			return listCmd(s, attemptListColumns, func(limit *int64, cursor *string) (*client.ListAttemptsResponse, error) {
				p.Limit, p.Cursor = limit, cursor
				return s.api.ListAttemptsWithResponse(s.cmd.Context(), s.app, &p)
			})
		}),
	}
	af := attempts.Flags()
	af.String("delivery", "", "only attempts of this delivery (id)")
	af.String("endpoint", "", "only attempts to this endpoint (id or uid)")
	af.String("event", "", "only attempts of this event's deliveries (id)")
	af.String("status", "", "only attempts whose answer was 2xx, 3xx, 4xx or 5xx; error: no HTTP answer")
	af.String("error-kind", "", "only attempts that failed this way: timeout, refused, dns, tls, status, network, blocked, internal")
	addSinceFlags(attempts, "attempts started")
	addLimitFlag(attempts)
	_ = attempts.RegisterFlagCompletionFunc("status", completeWords("2xx", "3xx", "4xx", "5xx", "error"))
	_ = attempts.RegisterFlagCompletionFunc("error-kind", completeWords("timeout", "refused", "dns", "tls", "status", "network", "blocked", "internal"))
	_ = attempts.RegisterFlagCompletionFunc("endpoint", completeEndpoints)

	for _, c := range []*cobra.Command{list, get, retry, retryAll, attempts} {
		addJSONFlag(c)
	}
	cmd := group("deliveries", "List, inspect and retry an app's deliveries and their attempts", list, get, retry, retryAll, attempts)
	addConnFlags(cmd)
	addAppFlag(cmd)
	return cmd
}

// deliveryFilterFlags adds the filters deliveries list and retry-all-failed
// share.
func deliveryFilterFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("endpoint", "", "only deliveries to this endpoint (id or uid)")
	f.String("event", "", "only deliveries of this event (id)")
	f.String("event-type", "", "only deliveries of events of these types (comma-separated names or patterns)")
	addSinceFlags(cmd, "deliveries created")
	_ = cmd.RegisterFlagCompletionFunc("endpoint", completeEndpoints)
	_ = cmd.RegisterFlagCompletionFunc("event-type", completeEventTypes)
}

// mustString is a string flag's value ("" when unset).
func mustString(cmd *cobra.Command, flag string) string {
	v, _ := cmd.Flags().GetString(flag)
	return v
}
