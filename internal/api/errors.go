package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// Every error leaves the API as an RFC 9457 problem (huma.ErrorModel, served
// as application/problem+json) with title, status and detail, and, where a
// field is at fault, an errors entry locating it ("body.url",
// "query.limit", "body.data.customer.email").

// maxEchoedValue bounds the string values echoed back in error details (huma
// echoes a whole malformed body).
const maxEchoedValue = 256

// requiredPrefix and requiredSuffix frame huma's message for a missing
// required property.
const (
	requiredPrefix = "expected required property "
	requiredSuffix = " to be present"
)

// tidyErrors is a huma transformer that polishes huma's own errors: a
// malformed body says so, a 413 states the configured limit, a missing
// property is located at the property ("body.url", not "body"), the value
// of an unexpected property is the property's, not the whole object, and
// long echoed values are cut.
func (s *server) tidyErrors(ctx huma.Context, _ string, v any) (any, error) {
	em, ok := v.(*huma.ErrorModel)
	if !ok {
		return v, nil
	}
	switch em.Status {
	case http.StatusBadRequest:
		if em.Detail == "validation failed" {
			em.Detail = "malformed JSON body"
		}
		if te := textErrorDetail(em.Errors); te != nil {
			em.Detail = te.Error()
			em.Errors = []*huma.ErrorDetail{te.detail()}
		}
	case http.StatusRequestEntityTooLarge:
		// huma states its own limit, which is one more than ours.
		em.Detail = s.tooLarge(ctx)
	}
	for _, d := range em.Errors {
		if d == nil {
			continue
		}
		if name, ok := strings.CutPrefix(d.Message, requiredPrefix); ok && strings.HasSuffix(name, requiredSuffix) {
			name = strings.TrimSuffix(name, requiredSuffix)
			d.Location = joinLoc(d.Location, name)
			d.Message = "is required"
			d.Value = nil
			continue
		}
		if m, ok := d.Value.(map[string]any); ok && d.Message == "unexpected property" {
			key := d.Location[strings.LastIndexByte(d.Location, '.')+1:]
			d.Value = m[key]
		}
		if s, ok := d.Value.(string); ok && len(s) > maxEchoedValue {
			d.Value = s[:maxEchoedValue] + "…"
		}
	}
	return em, nil
}

// textErrorDetail returns the checkJSONText error behind a detail of
// huma's 400 for a body unmarshalJSON refused, or nil. huma keeps only
// the error's message, located at "body", with the body as its value: the
// body is checked again, on this error path only, to locate the error.
func textErrorDetail(ds []*huma.ErrorDetail) *textError {
	for _, d := range ds {
		if d == nil || d.Location != "body" {
			continue
		}
		if body, ok := d.Value.(string); ok {
			if te := checkJSONText([]byte(body), "body"); te != nil && te.Error() == d.Message {
				return te
			}
		}
	}
	return nil
}

func (s *server) tooLarge(ctx huma.Context) string {
	return "request body is too large: the limit is " + strconv.FormatInt(s.bodyLimit(ctx), 10) + " bytes"
}

// bodyLimit is the body limit of ctx's operation (see operation: huma's
// MaxBodyBytes is one more), or MaxBodyBytes when it has none.
func (s *server) bodyLimit(ctx huma.Context) int64 {
	if ctx != nil {
		if op := ctx.Operation(); op != nil && op.MaxBodyBytes > 0 {
			return op.MaxBodyBytes - 1
		}
	}
	return s.maxBody
}

func joinLoc(loc, name string) string {
	if loc == "" {
		return name
	}
	return loc + "." + name
}

// writeProblem writes a problem outside huma (unmatched routes).
func writeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(&huma.ErrorModel{
		Title:  http.StatusText(status),
		Status: status,
		Detail: detail,
	})
}

// invalid returns a 422 problem locating one field.
func invalid(loc, msg string, value any) error {
	return huma.Error422UnprocessableEntity(loc+": "+msg, &huma.ErrorDetail{Location: loc, Message: msg, Value: value})
}

// invalidAll returns a 422 problem listing every detail.
func invalidAll(details []*huma.ErrorDetail) error {
	if len(details) == 1 {
		return huma.Error422UnprocessableEntity(details[0].Location+": "+details[0].Message, details[0])
	}
	errs := make([]error, len(details))
	for i, d := range details {
		errs[i] = d
	}
	return huma.Error422UnprocessableEntity("validation failed", errs...)
}

// fieldDetail turns a hook.Validate* error (code EInvalid, Field set) into
// an error detail under prefix ("body", "query"). value is echoed when the
// error is about the field as a whole (field == the error's Field).
func fieldDetail(err error, prefix, field string, value any) *huma.ErrorDetail {
	var he *hook.Error
	if !errors.As(err, &he) {
		return &huma.ErrorDetail{Location: joinLoc(prefix, field), Message: err.Error()}
	}
	d := &huma.ErrorDetail{Location: joinLoc(prefix, he.Field), Message: he.Message}
	if he.Field == "" {
		d.Location = joinLoc(prefix, field)
	}
	if he.Field == field {
		d.Value = value
	}
	return d
}

// check validates with a hook.Validate* result: nil stays nil, an error
// becomes a 422 problem at prefix.field.
func check(err error, prefix, field string, value any) error {
	if err == nil {
		return nil
	}
	return invalidAll([]*huma.ErrorDetail{fieldDetail(err, prefix, field, value)})
}

// collect appends the detail of a hook.Validate* error, if any.
func collect(details []*huma.ErrorDetail, err error, prefix, field string, value any) []*huma.ErrorDetail {
	if err == nil {
		return details
	}
	return append(details, fieldDetail(err, prefix, field, value))
}

// fail maps an error from the store or the dispatcher to a problem:
// EInvalid → 422 (its Field located under prefix), ENotFound → 404,
// EConflict → 409, a store that is unavailable (store.ErrUnavailable) →
// 503 with Retry-After, anything else → 500, logged and not shown.
func (s *server) fail(ctx context.Context, err error, prefix string) error {
	var em *huma.ErrorModel
	if errors.As(err, &em) {
		return err // already a problem (perhaps with headers)
	}
	if ue, ok := store.AsUnavailable(err); ok {
		return s.storeUnavailable(ctx, ue)
	}
	var he *hook.Error
	switch hook.ErrorCode(err) {
	case hook.EInvalid:
		errors.As(err, &he)
		if he.Field == "" {
			return huma.Error422UnprocessableEntity(he.Message)
		}
		return invalid(joinLoc(prefix, he.Field), he.Message, nil)
	case hook.ENotFound:
		errors.As(err, &he)
		return huma.Error404NotFound(he.Message)
	case hook.EConflict:
		errors.As(err, &he)
		if he.Field == "" {
			return huma.Error409Conflict(he.Message)
		}
		return huma.Error409Conflict(he.Message, &huma.ErrorDetail{Location: joinLoc(prefix, he.Field), Message: he.Message})
	}
	level := slog.LevelError
	if ctx.Err() != nil {
		// The client went away (or timed out): not hookd's failure.
		level = slog.LevelInfo
	}
	s.log.LogAttrs(ctx, level, "api: internal error", slog.String("err", err.Error()))
	return huma.Error500InternalServerError("internal error")
}

// storeRetryAfter is the Retry-After of a 503 for a store that is
// unavailable: long enough not to hammer a database in trouble, short
// enough that a publisher's retry lands soon after it is back.
const storeRetryAfter = 5 * time.Second

// storeUnavailable is the answer when the store cannot serve: 503 with
// Retry-After and the store's short reason ("the database is full"); the
// backend's own error is logged, not shown.
func (s *server) storeUnavailable(ctx context.Context, ue *store.UnavailableError) error {
	level := slog.LevelWarn
	if ctx.Err() != nil {
		level = slog.LevelInfo // the client went away (or timed out)
	}
	s.log.LogAttrs(ctx, level, "api: the store is unavailable", slog.String("err", ue.Error()))
	secs := strconv.Itoa(int(storeRetryAfter / time.Second))
	return huma.ErrorWithHeaders(
		huma.Error503ServiceUnavailable(store.ErrUnavailable.Error()+": "+ue.Reason+"; retry in "+secs+" s"),
		http.Header{"Retry-After": {secs}})
}
