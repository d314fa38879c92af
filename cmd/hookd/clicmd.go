package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

// session is what a resource command works with: the API client, the
// base URL (for messages), the app when the command takes --app, and the
// clock that relative times (--since 2h) count back from.
type session struct {
	cmd  *cobra.Command
	api  apiClient
	base string
	app  string
	now  func() time.Time
}

// cliClock is the clock of the resource commands; tests replace it.
var cliClock = time.Now

// runner is the body of a resource command.
type runner func(s *session, args []string) error

// withSession turns a runner into a RunE: it builds the client from the
// connection flags (and the app from --app when needsApp), and maps what
// the runner returns to the documented exit codes.
func withSession(needsApp bool, run runner) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		c, base, err := apiFromFlags(cmd)
		if err != nil {
			return err
		}
		s := &session{cmd: cmd, api: c, base: base, now: cliClock}
		if needsApp {
			if s.app, err = appFromFlags(cmd); err != nil {
				return err
			}
		}
		return requestError(base, run(s, args))
	}
}

// group is a command that only holds subcommands: run bare it prints its
// help; with an unknown subcommand it is a usage error (exit 2).
func group(use, short string, subs ...*cobra.Command) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				msg := fmt.Sprintf("unknown command %q for %q", args[0], cmd.CommandPath())
				if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
					msg += "; did you mean " + strings.Join(s, " or ") + "?"
				}
				return usageError(errors.New(msg))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.SuggestionsMinimumDistance = 2
	cmd.AddCommand(subs...)
	return cmd
}

// args wraps a cobra positional-argument check so its error is a usage
// error (exit 2).
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return usageError(fmt.Errorf("%s: %w", cmd.CommandPath(), err))
		}
		return nil
	}
}

// readData reads a JSON argument as curl's --data does: @FILE reads the
// file, @- or - standard input, anything else is the JSON itself. The
// result must be valid JSON; an unreadable file or bad JSON is a usage
// error naming flag.
func readData(cmd *cobra.Command, flag, v string) (json.RawMessage, error) {
	var raw []byte
	var err error
	switch {
	case v == "-" || v == "@-":
		raw, err = io.ReadAll(cmd.InOrStdin())
	case strings.HasPrefix(v, "@"):
		raw, err = os.ReadFile(v[1:])
	default:
		raw = []byte(v)
	}
	if err != nil {
		return nil, usageError(fmt.Errorf("--%s: %w", flag, err))
	}
	raw = bytes.TrimSpace(raw)
	if !json.Valid(raw) {
		return nil, usageError(fmt.Errorf("--%s: not valid JSON", flag))
	}
	return raw, nil
}

// body builds a request body: the JSON object --data gives (when the
// command has the flag and it is set), then every set flag of fields on
// top, under its JSON name.
type body map[string]any

// addDataFlag adds --data, a request body's JSON object (or @file, -).
func addDataFlag(cmd *cobra.Command, what string) {
	cmd.Flags().String("data", "", what+": JSON, @FILE, or - for standard input; other flags override its fields")
}

// baseBody starts a request body from --data.
func baseBody(cmd *cobra.Command) (body, error) {
	b := body{}
	v, _ := cmd.Flags().GetString("data")
	if v == "" {
		return b, nil
	}
	raw, err := readData(cmd, "data", v)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &b); err != nil || b == nil {
		return nil, usageError(errors.New("--data: must be a JSON object"))
	}
	return b, nil
}

// setString sets key from the string flag when it was given.
func (b body) setString(cmd *cobra.Command, flag, key string) {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		b[key] = f.Value.String()
	}
}

// setStrings sets key from the string-slice flag when it was given.
func (b body) setStrings(cmd *cobra.Command, flag, key string) {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		v, _ := cmd.Flags().GetStringSlice(flag)
		if v == nil {
			v = []string{}
		}
		b[key] = v
	}
}

// setBool sets key from the bool flag when it was given.
func (b body) setBool(cmd *cobra.Command, flag, key string) {
	if f := cmd.Flags().Lookup(flag); f != nil && f.Changed {
		v, _ := cmd.Flags().GetBool(flag)
		b[key] = v
	}
}

// setJSON sets key from a flag holding JSON (or @file, -) when given.
func (b body) setJSON(cmd *cobra.Command, flag, key string) error {
	f := cmd.Flags().Lookup(flag)
	if f == nil || !f.Changed {
		return nil
	}
	raw, err := readData(cmd, flag, f.Value.String())
	if err != nil {
		return err
	}
	b[key] = raw
	return nil
}

// setMap sets key from a KEY=VALUE string-array flag when given.
func (b body) setMap(cmd *cobra.Command, flag, key string) error {
	f := cmd.Flags().Lookup(flag)
	if f == nil || !f.Changed {
		return nil
	}
	pairs, _ := cmd.Flags().GetStringArray(flag)
	m := map[string]string{}
	for _, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usageError(fmt.Errorf("--%s %q: want KEY=VALUE", flag, p))
		}
		m[k] = v
	}
	b[key] = m
	return nil
}

// reader is b as a request body.
func (b body) reader() io.Reader {
	raw, _ := json.Marshal(b) // a map of JSON values always marshals
	return bytes.NewReader(raw)
}

// parseSince reads a --since/--until value: a Go duration counts back
// from now (2h, 90m), else an RFC 3339 time.
func parseSince(flag, v string, now func() time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		if d < 0 {
			return time.Time{}, usageError(fmt.Errorf("--%s %s: a duration back from now must be positive", flag, v))
		}
		return now().Add(-d).UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return time.Time{}, usageError(fmt.Errorf("--%s %q: want a duration back from now (2h, 30m) or an RFC 3339 time", flag, v))
	}
	return t, nil
}

// timeFlag is parseSince of flag when it was given, else nil.
func timeFlag(s *session, flag string) (*time.Time, error) {
	f := s.cmd.Flags().Lookup(flag)
	if f == nil || !f.Changed {
		return nil, nil
	}
	t, err := parseSince(flag, f.Value.String(), s.now)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// sinceUntil reads --since and --until (each nil when not given).
func sinceUntil(s *session) (since, until *time.Time, err error) {
	if since, err = timeFlag(s, "since"); err != nil {
		return nil, nil, err
	}
	if until, err = timeFlag(s, "until"); err != nil {
		return nil, nil, err
	}
	return since, until, nil
}

// strFlag is a string flag's value when it was given, else nil.
func strFlag(cmd *cobra.Command, flag string) *string {
	f := cmd.Flags().Lookup(flag)
	if f == nil || !f.Changed {
		return nil
	}
	v := f.Value.String()
	return &v
}

// addSinceFlags adds --since and --until.
func addSinceFlags(cmd *cobra.Command, what string) {
	cmd.Flags().String("since", "", what+" at or after this time: a duration back from now (2h) or RFC 3339")
	cmd.Flags().String("until", "", what+" before this time: a duration back from now or RFC 3339")
}

// addLimitFlag adds --limit, how many items a list prints at most.
func addLimitFlag(cmd *cobra.Command) {
	cmd.Flags().Int("limit", 0, "print at most this many (0: all, following every page)")
}

// printed is the message a command that changes something prints when it
// has no object to show.
func printed(s *session, format string, a ...any) error {
	_, err := fmt.Fprintf(s.cmd.OutOrStdout(), format+"\n", a...)
	return err
}

// completeWords completes a flag from a fixed list of values.
func completeWords(words ...string) func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	return func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return words, cobra.ShellCompDirectiveNoFileComp
	}
}
