package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	"github.com/hookd/hookd/client"
)

// Exit codes of the resource commands, beside exitInvalid (1) and
// exitUsage (2) in verify.go.
const (
	exitServer      = 1 // the server answered with a problem (4xx, 5xx)
	exitUnreachable = 3 // no answer: connection refused, DNS, timeout
)

// exitCodesHelp is the part of `hookd --help` that documents them.
const exitCodesHelp = `Exit codes:
  0  success
  1  the server answered with an error (the problem's detail and field are printed);
     hookd verify: the webhook is invalid
  2  usage: unknown command or flag, wrong arguments, unreadable input file
  3  the server could not be reached (connection refused, DNS, timeout)`

// describeProblem is the message of a problem answer:
// "422 Unprocessable Entity: url: must be https (body.url)", one line per
// field at fault, or the detail when none is named.
func describeProblem(status int, title, detail string, fields []client.FieldError) string {
	if title == "" {
		title = http.StatusText(status)
	}
	head := fmt.Sprintf("%d %s", status, title)
	if len(fields) == 0 {
		if detail == "" {
			return head
		}
		return head + ": " + detail
	}
	lines := make([]string, len(fields))
	for i, f := range fields {
		switch {
		case f.Location == "":
			lines[i] = f.Message
		case f.Field == "":
			lines[i] = fmt.Sprintf("%s: %s", f.Location, f.Message)
		default:
			lines[i] = fmt.Sprintf("%s: %s (%s)", f.Field, f.Message, f.Location)
		}
	}
	if len(lines) == 1 {
		return head + ": " + lines[0]
	}
	return head + ": " + detail + "\n  " + strings.Join(lines, "\n  ")
}

// problemError is the error of an answer that is not 2xx: the client's
// *client.Error (read from the body the generated layer kept), exit
// code 1, and the message describeProblem gives.
func problemError(status int, body []byte) error {
	e := client.ErrorFromResponse(&http.Response{
		StatusCode: status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body)),
	})
	return &exitError{code: exitServer, err: &serverError{e}}
}

// serverError is a problem answer as the CLI prints it.
type serverError struct{ e *client.Error }

func (s *serverError) Error() string {
	detail := s.e.Detail
	if detail == "" && s.e.Type == "" && len(s.e.Body) > 0 && !json.Valid(s.e.Body) {
		detail = strings.TrimSpace(oneLine(string(s.e.Body)))
	}
	return describeProblem(s.e.StatusCode, s.e.Title, detail, s.e.Errors)
}

func (s *serverError) Unwrap() error { return s.e }

// requestError classifies the error of a request that got no answer:
// exit code 3 when the server could not be reached, in time or at all.
func requestError(base string, err error) error {
	if err == nil {
		return nil
	}
	var e *exitError
	if errors.As(err, &e) {
		return err
	}
	if unreachable(err) {
		return &exitError{code: exitUnreachable, err: fmt.Errorf("cannot reach hookd at %s: %w", base, err)}
	}
	return err
}

// unreachable reports whether err says the server gave no answer.
func unreachable(err error) bool {
	var ne net.Error
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) || errors.As(err, &dns) ||
		errors.As(err, &ne) && ne.Timeout() ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// cobraUsage reports whether err is one of cobra's own usage errors that
// do not pass through a flag error function: an unknown command, a
// required flag left out.
func cobraUsage(err error) bool {
	msg := err.Error()
	return strings.HasPrefix(msg, "unknown command ") ||
		strings.HasPrefix(msg, "required flag(s) ") ||
		strings.HasPrefix(msg, "if any flags in the group ")
}
