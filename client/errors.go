package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Error is an answer of hookd other than 2xx: an RFC 9457 problem
// (application/problem+json), as hookd sends every error.
type Error struct {
	// StatusCode is the HTTP status, e.g. 422.
	StatusCode int
	// Type, Title, Detail and Instance are the problem's members; Title
	// defaults to the status text when the answer is not a problem.
	Type     string
	Title    string
	Detail   string
	Instance string
	// Errors locate what was wrong in the request, one entry per fault.
	Errors []FieldError
	// RetryAfter is the answer's Retry-After (429 and 503), 0 when none.
	RetryAfter time.Duration
	// Body is the answer's body, as received (cut at 64 KiB).
	Body []byte
}

// FieldError is one fault in a request, as hookd (huma) reports it.
type FieldError struct {
	// Location is where the fault is: body.url, query.limit,
	// header.Idempotency-Key, path.app, body.events[2].type, ...
	Location string
	// Field is Location without its first part (url, limit,
	// Idempotency-Key, events[2].type); "" when Location is just "body".
	Field string
	// Message says what is wrong, e.g. "is required".
	Message string
	// Value is the value at fault, when hookd echoes it.
	Value any
}

// Error returns the status, the detail, and each field at fault with its
// message, e.g.
//
//	hookd: 422 Unprocessable Entity: validation failed (body.url: must be an absolute http(s) URL)
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "hookd: %d %s", e.StatusCode, e.Title)
	if e.Detail != "" && e.Detail != e.Title {
		b.WriteString(": ")
		b.WriteString(e.Detail)
	}
	if len(e.Errors) > 0 {
		b.WriteString(" (")
		for i, f := range e.Errors {
			if i > 0 {
				b.WriteString("; ")
			}
			if f.Location != "" {
				b.WriteString(f.Location)
				b.WriteString(": ")
			}
			b.WriteString(f.Message)
		}
		b.WriteString(")")
	}
	return b.String()
}

// Field returns the first fault located at loc (e.g. "body.url"), or at a
// field named loc (e.g. "url"), and whether there is one.
func (e *Error) Field(loc string) (FieldError, bool) {
	for _, f := range e.Errors {
		if f.Location == loc || f.Field == loc {
			return f, true
		}
	}
	return FieldError{}, false
}

// maxErrorBody bounds the body an Error keeps.
const maxErrorBody = 64 << 10

// ErrorFromResponse reads resp (whose body it consumes, not closing it) as
// an [*Error]; it returns nil when resp is 2xx. It is for the answers of
// the generated methods that return an *http.Response
// (Client.Raw().ClientInterface); see [ResponseError] for the
// XxxWithResponse ones.
func ErrorFromResponse(resp *http.Response) *Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return newError(resp.StatusCode, resp.Header, body)
}

// ResponseError returns the answer of a generated XxxWithResponse method of
// [Client.Raw] as an [*Error], from its HTTPResponse and Body, or nil when
// it is 2xx:
//
//	r, err := c.Raw().GetAppWithResponse(ctx, "acme")
//	if err == nil {
//		if e := client.ResponseError(r.HTTPResponse, r.Body); e != nil { ... }
//	}
func ResponseError(resp *http.Response, body []byte) *Error {
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return newError(resp.StatusCode, resp.Header, body[:min(len(body), maxErrorBody)])
}

// newError builds the Error of an answer of this status, header and body.
func newError(status int, h http.Header, body []byte) *Error {
	e := &Error{StatusCode: status, Body: body}
	var p ErrorModel
	if json.Unmarshal(body, &p) == nil {
		e.Type = deref(p.Type)
		e.Title = deref(p.Title)
		e.Detail = deref(p.Detail)
		e.Instance = deref(p.Instance)
		if p.Errors != nil {
			for _, d := range *p.Errors {
				f := FieldError{Location: deref(d.Location), Message: deref(d.Message), Value: d.Value}
				if _, rest, ok := strings.Cut(f.Location, "."); ok {
					f.Field = rest
				}
				e.Errors = append(e.Errors, f)
			}
		}
	}
	if e.Title == "" {
		e.Title = http.StatusText(status)
	}
	if d, ok := (RetryPolicy{}).parseRetryAfter(h.Get("Retry-After")); ok {
		e.RetryAfter = d
	}
	return e
}

// deref returns *p, or the zero value when p is nil.
func deref[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}
