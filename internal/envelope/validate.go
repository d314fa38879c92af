package envelope

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// Limits on the programs saved with apps and endpoints.
const (
	MaxEnvelopeBytes = 16 << 10
	MaxFilterBytes   = 4 << 10
)

// ValidateProfile checks a profile name given for field: "" (inherit) or
// one of hook.Profiles. The error is a *hook.Error with code hook.EInvalid.
func ValidateProfile(field, name string) error {
	if name == "" || slices.Contains(hook.Profiles, name) {
		return nil
	}
	return hook.Errorf(hook.EInvalid, field, "unknown profile %q: must be one of %s", name, strings.Join(hook.Profiles, ", "))
}

// ValidateEnvelope checks a jq envelope given for field: "" (inherit), or
// at most MaxEnvelopeBytes of jq that compiles and, run on a sample
// order.created event (in r's sandbox, like every run), ends within r's
// time limit and memory and, unless it fails on the sample's data (which
// need not look like the provider's), yields exactly one JSON value. The
// error is a *hook.Error with code hook.EInvalid whose message includes
// the jq compiler's or the run's; a sandbox that cannot run the program
// at all is an error of another kind.
//
// tenant names who the program is for (an app's id or uid), whose runs
// the sandbox keeps from taking every worker.
func (r *Renderer) ValidateEnvelope(ctx context.Context, tenant, field, src string) error {
	return r.validateProgram(ctx, kindEnvelope, tenant, field, src, MaxEnvelopeBytes)
}

// refusedOnSample tells the failures of a trial run that are the
// program's own (no value or several, no end, a panic, too much memory)
// from those that depend on the data (a type error on the sample's fields,
// error(...)), which the provider's real events may not cause.
func refusedOnSample(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, errNoValue) || errors.Is(err, errSeveralValues) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, ErrMemory) || errors.Is(err, ErrWorkerDied) ||
		strings.HasPrefix(err.Error(), "jq: panic")
}

// ValidateFilter checks a jq filter given for field: "" (none), or at most
// MaxFilterBytes of jq that compiles and ends within r's time limit and
// memory on a sample order.created event (an error on the sample's data is
// not refused: the provider's events may not cause it). The error is a
// *hook.Error with code hook.EInvalid whose message includes the jq
// compiler's or the run's.
// tenant is as for ValidateEnvelope.
func (r *Renderer) ValidateFilter(ctx context.Context, tenant, field, src string) error {
	return r.validateProgram(ctx, kindFilter, tenant, field, src, MaxFilterBytes)
}

// validateProgram is what ValidateEnvelope and ValidateFilter share: ""
// passes; otherwise src must be at most limit bytes, compile, and not be
// refused (refusedOnSample) by a run of kind on the sample event.
func (r *Renderer) validateProgram(ctx context.Context, kind byte, tenant, field, src string, limit int) error {
	if src == "" {
		return nil
	}
	if len(src) > limit {
		return hook.Errorf(hook.EInvalid, field, "must be at most %d bytes, not %d", limit, len(src))
	}
	// Compiling is bounded by the program's size: it is done here, for
	// the compiler's message; running is not, so it is done where runs are.
	if _, err := r.local.get(src); err != nil {
		return hook.Errorf(hook.EInvalid, field, "does not compile: %v", err)
	}
	_, err := r.runOne(ctx, kind, src, sampleContext(), tenant)
	if ctx.Err() != nil {
		return err
	}
	if refusedOnSample(err) {
		return hook.Errorf(hook.EInvalid, field, "fails on a sample order.created event: %v", err)
	}
	var se *SandboxError
	if errors.As(err, &se) {
		return err
	}
	return nil
}

// sampleContext is the delivery programs are tried on when saved.
func sampleContext() *Context {
	return &Context{
		Event: &hook.Event{
			ID:        "evt_01jdq2sample0000000000000000",
			AppID:     "app_01jdq2sample0000000000000000",
			Type:      "order.created",
			Data:      json.RawMessage(`{"order_id":"ord_1001","status":"created","payment_status":"pending","total":4200,"currency":"EUR","customer":{"id":"cus_1","email":"customer@example.com"},"items":[{"sku":"SKU-1","quantity":1,"price":4200}]}`),
			Livemode:  true,
			RequestID: "req_sample",
			CreatedAt: time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC),
		},
		App:         &hook.App{ID: "app_01jdq2sample0000000000000000", UID: "sample", Name: "Sample App", APIVersion: "2026-01-01"},
		EndpointID:  "ep_01jdq2sample0000000000000000",
		EndpointUID: "sample-endpoint",
		DeliveryID:  "dlv_01jdq2sample0000000000000000",
		Attempt:     1,
	}
}
