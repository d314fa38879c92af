package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/hookd/hookd/webhook"
)

// Exit codes of hookd's command-line tools.
const (
	exitInvalid = 1 // the command ran and its answer is no (or it failed)
	exitUsage   = 2 // the command line or its input files are wrong
)

// exitError is an error that sets the process's exit code. With silent
// set, the command has already said what it had to and main prints nothing.
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// usageError marks err as a usage error (exit code 2).
func usageError(err error) error { return &exitError{code: exitUsage, err: err} }

// exitCode is the process exit code for an error returned by a command.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	if cobraUsage(err) {
		return exitUsage
	}
	return 1
}

// newVerifyCmd is `hookd verify`: checks a captured webhook request against
// one or more secrets with the webhook package. now is the clock the
// timestamp is checked against.
func newVerifyCmd(now func() time.Time) *cobra.Command {
	var (
		secrets     []string
		headersFile string
		bodyFile    string
		tolerance   = webhook.DefaultTolerance
	)
	cmd := &cobra.Command{
		Use:   "verify --secret whsec_... [--headers FILE --body FILE | < raw-request]",
		Short: "Check a captured webhook's Standard Webhooks signature",
		Long: "Check a captured webhook request: its webhook-id, webhook-timestamp and webhook-signature\n" +
			"headers, its timestamp against the tolerance, and its signature against the secrets.\n\n" +
			"Give the headers as `Name: value` lines (as `curl -D FILE` writes them; status lines are\n" +
			"skipped) and the body as a file (`--body -` reads it from standard input); or pipe a raw\n" +
			"HTTP request (request line, headers, blank line, body) on standard input.\n\n" +
			"Exit codes: 0 valid, 1 invalid (the check that failed is printed), 2 usage error.",
		Example: "  hookd verify --secret whsec_... --headers headers.txt --body body.json\n" +
			"  hookd verify --secret whsec_old... --secret whsec_new... < request.http",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError(fmt.Errorf("verify takes no arguments, got %q", args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(secrets) == 0 {
				return usageError(errors.New("verify: at least one --secret is needed"))
			}
			v, err := webhook.NewVerifier(secrets...)
			if err != nil {
				return usageError(fmt.Errorf("verify: --secret: %w", err))
			}
			v.Tolerance, v.Now = tolerance, now
			h, body, err := readCapturedRequest(cmd.InOrStdin(), headersFile, bodyFile)
			if err != nil {
				return usageError(fmt.Errorf("verify: %w", err))
			}
			out := cmd.OutOrStdout()
			if err := v.Verify(h, body); err != nil {
				fmt.Fprintln(out, "invalid:", explainVerifyError(err, h, now(), v.Tolerance))
				return &exitError{code: exitInvalid, err: err, silent: true}
			}
			ts := h.Get(webhook.HeaderTimestamp)
			sec, _ := strconv.ParseInt(ts, 10, 64) // Verify parsed it
			fmt.Fprintf(out, "valid: msg_id %s timestamp %s (%s)\n",
				h.Get(webhook.HeaderID), ts, time.Unix(sec, 0).UTC().Format(time.RFC3339))
			return nil
		},
	}
	cmd.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) })
	f := cmd.Flags()
	f.StringArrayVar(&secrets, "secret", nil, "endpoint secret, whsec_...; repeat it to accept any of several (during a rotation)")
	f.StringVar(&headersFile, "headers", "", "file of `Name: value` header lines, as curl -D writes them")
	f.StringVar(&bodyFile, "body", "", "file holding the raw body, byte for byte (-: standard input)")
	f.DurationVar(&tolerance, "tolerance", tolerance, "how far webhook-timestamp may be from now, either way")
	return cmd
}

// readCapturedRequest reads the headers and body to verify: from the two
// files when headersFile is set, else a raw HTTP request from stdin.
func readCapturedRequest(stdin io.Reader, headersFile, bodyFile string) (http.Header, []byte, error) {
	switch {
	case headersFile == "" && bodyFile != "":
		return nil, nil, errors.New("--body needs --headers (or pipe a raw request on standard input instead)")
	case headersFile != "" && bodyFile == "":
		return nil, nil, errors.New("--headers needs --body (--body - reads it from standard input)")
	case headersFile == "":
		return readRawRequest(stdin)
	}
	raw, err := os.ReadFile(headersFile)
	if err != nil {
		return nil, nil, fmt.Errorf("--headers: %w", err)
	}
	h, err := parseHeaderLines(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("--headers %s: %w", headersFile, err)
	}
	var body []byte
	if bodyFile == "-" {
		body, err = io.ReadAll(stdin)
	} else {
		body, err = os.ReadFile(bodyFile)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("--body: %w", err)
	}
	return h, body, nil
}

// parseHeaderLines parses `Name: value` lines as curl -D writes them: CRLF
// or LF line ends, names in any case. A status line (HTTP/1.1 200 OK)
// starts a new block, so of several responses (a redirect followed, a 100
// Continue) the last one's headers count.
func parseHeaderLines(raw []byte) (http.Header, error) {
	h := http.Header{}
	for i, line := range strings.Split(string(raw), "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.TrimSpace(line) == "":
			continue
		case strings.HasPrefix(line, "HTTP/"):
			h = http.Header{}
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t") {
			return nil, fmt.Errorf("line %d: want a `Name: value` header line, got %q", i+1, line)
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// readRawRequest reads a raw HTTP/1.x request (request line, headers, blank
// line, body). Without Content-Length or Transfer-Encoding, the body is
// everything after the blank line.
func readRawRequest(stdin io.Reader) (http.Header, []byte, error) {
	br := bufio.NewReader(stdin)
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil, fmt.Errorf("reading a raw HTTP request from standard input: %w", err)
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, nil, fmt.Errorf("reading the request body from standard input: %w", err)
	}
	if req.Header.Get("Content-Length") == "" && len(req.TransferEncoding) == 0 {
		rest, err := io.ReadAll(br)
		if err != nil {
			return nil, nil, fmt.Errorf("reading the request body from standard input: %w", err)
		}
		body = append(body, rest...)
	}
	return req.Header, bytes.Clone(body), nil
}

// explainVerifyError says which check of Verify failed, in words for a
// person at a terminal.
func explainVerifyError(err error, h http.Header, now time.Time, tolerance time.Duration) string {
	ts := h.Get(webhook.HeaderTimestamp)
	sec, _ := strconv.ParseInt(ts, 10, 64)
	at := time.Unix(sec, 0).UTC()
	switch {
	case errors.Is(err, webhook.ErrMissingHeaders):
		return strings.TrimPrefix(err.Error(), "webhook: ")
	case errors.Is(err, webhook.ErrInvalidTimestamp):
		return fmt.Sprintf("webhook-timestamp %q is not a time in Unix seconds", ts)
	case errors.Is(err, webhook.ErrTimestampTooOld):
		age := now.Truncate(time.Second).Sub(at)
		return fmt.Sprintf("timestamp out of tolerance: %s (%s) is %s old, %s beyond the %s tolerance",
			ts, at.Format(time.RFC3339), age, age-tolerance, tolerance)
	case errors.Is(err, webhook.ErrTimestampTooNew):
		ahead := at.Sub(now.Truncate(time.Second))
		return fmt.Sprintf("timestamp out of tolerance: %s (%s) is %s in the future, %s beyond the %s tolerance",
			ts, at.Format(time.RFC3339), ahead, ahead-tolerance, tolerance)
	case errors.Is(err, webhook.ErrNoMatchingSignature):
		return "no matching signature: the body, webhook-id or webhook-timestamp differ from what was signed, or no --secret is the one that signed it"
	}
	return err.Error()
}
