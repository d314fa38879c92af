package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/client"
)

// Table columns of portal links and stats.
var (
	portalLinkColumns    = cols("URL=url", "EXPIRES=expires_at", "READ ONLY=read_only")
	revokeColumns        = cols("REVOKED=revoked")
	statsColumns         = cols("SINCE=since", "UNTIL=until", "BUCKET SECONDS=bucket_seconds", "PENDING=summary.backlog.pending", "DUE NOW=summary.backlog.due_now")
	statsBucketColumns   = cols("START=start", "SUCCEEDED=succeeded", "FAILED ATTEMPTS=failed_attempts", "EXHAUSTED=exhausted", "P50 MS=p50_ms", "P99 MS=p99_ms")
	statsEndpointColumns = cols("ENDPOINT=endpoint_id", "URL=url", "STATE=state", "LAST STATUS=last_response_status", "LAST ATTEMPT=last_attempt_at", "NEXT ATTEMPT=next_attempt_at")
)

// newPortalLinksCmd is `hookd portal-links`.
func newPortalLinksCmd() *cobra.Command {
	create := &cobra.Command{
		Use:   "create [--expires-in 1h] [--read-only]",
		Short: "Make a link that opens the app's consumer portal",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			b := body{}
			if s.cmd.Flags().Changed("expires-in") {
				d, _ := s.cmd.Flags().GetDuration("expires-in")
				b["expires_in"] = int64(d.Seconds())
			}
			b.setBool(s.cmd, "read-only", "read_only")
			return s.show(portalLinkColumns)(call(s.api.CreatePortalLinkWithBodyWithResponse(s.cmd.Context(), s.app, "application/json", b.reader())))
		}),
	}
	create.Flags().Duration("expires-in", 0, "how long the link works (default: the server's)")
	create.Flags().Bool("read-only", false, "the portal shows but changes nothing")

	revoke := &cobra.Command{
		Use:   "revoke",
		Short: "Revoke every portal link of the app, and end the portal sessions they opened",
		Args:  args(cobra.NoArgs),
		RunE: withSession(true, func(s *session, _ []string) error {
			return s.show(revokeColumns)(call(s.api.RevokePortalLinksWithResponse(s.cmd.Context(), s.app)))
		}),
	}
	for _, c := range []*cobra.Command{create, revoke} {
		addJSONFlag(c)
	}
	cmd := group("portal-links", "Links to an app's consumer portal", create, revoke)
	addConnFlags(cmd)
	addAppFlag(cmd)
	return cmd
}

// newStatsCmd is `hookd stats`: the deployment's, or an app's with --app.
func newStatsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "stats [--app APP] [--since 24h] [--bucket 1h] [--endpoint EP]",
		Short: "Delivery statistics: successes, failures and latency per bucket, backlog, endpoints' state",
		Args:  args(cobra.NoArgs),
		RunE: withSession(false, func(s *session, _ []string) error {
			since, until, err := sinceUntil(s)
			if err != nil {
				return err
			}
			bucket, endpoint := strFlag(s.cmd, "bucket"), strFlag(s.cmd, "endpoint")
			var raw []byte
			if app := connFlag(s.cmd, "app", envApp, ""); app != "" {
				raw, err = call(s.api.GetAppStatsWithResponse(s.cmd.Context(), app, &client.GetAppStatsParams{
					Since: since, Until: until, Bucket: bucket, Endpoint: endpoint}))
			} else {
				raw, err = call(s.api.GetStatsWithResponse(s.cmd.Context(), &client.GetStatsParams{
					Since: since, Until: until, Bucket: bucket, Endpoint: endpoint}))
			}
			if err != nil {
				return err
			}
			if wantJSON(s.cmd) {
				return printJSON(s.cmd.OutOrStdout(), raw)
			}
			return printStats(s, raw)
		}),
	}
	cmd.Flags().String("bucket", "", "bucket size: 1m, 5m, 1h, 24h, ...")
	cmd.Flags().String("endpoint", "", "only this endpoint")
	addSinceFlags(cmd, "the window: from")
	addJSONFlag(cmd)
	addConnFlags(cmd)
	addAppFlag(cmd)
	return cmd
}

// printStats prints a stats answer as its window, then a table of its
// buckets and one of its endpoints.
func printStats(s *session, raw []byte) error {
	out := s.cmd.OutOrStdout()
	if err := printDetail(out, raw, statsColumns); err != nil {
		return err
	}
	var st struct {
		Buckets []json.RawMessage `json:"buckets"`
		Summary struct {
			Endpoints []json.RawMessage `json:"endpoints"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("the server's stats answer: %w", err)
	}
	fmt.Fprintln(out)
	if err := printTable(out, st.Buckets, statsBucketColumns); err != nil {
		return err
	}
	if len(st.Summary.Endpoints) == 0 {
		return nil
	}
	fmt.Fprintln(out)
	return printTable(out, st.Summary.Endpoints, statsEndpointColumns)
}
