package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// SecretGracePeriod is how long a rotated-out secret still signs
// deliveries when neither the rotation nor its app says otherwise
// (hook.DefaultSecretOverlapSeconds).
const SecretGracePeriod = hook.DefaultSecretOverlapSeconds * time.Second

// EndpointParam is the {app} and {ep} path parameters.
type EndpointParam struct {
	AppParam
	Endpoint string `path:"ep" doc:"The endpoint's id (ep_...) or its uid."`
}

type endpointOutput struct {
	Body *hook.Endpoint
}

type endpointCreateRequest struct {
	URL            string            `json:"url" doc:"Where to deliver: an absolute http or https URL." example:"https://example.com/webhooks"`
	Description    string            `json:"description,omitempty" maxLength:"4096"`
	EventTypes     []string          `json:"event_types,omitempty" doc:"Event types to receive: names, or patterns such as order.* or *. Empty receives every type."`
	Disabled       bool              `json:"disabled,omitempty" doc:"A disabled endpoint receives nothing."`
	Headers        map[string]string `json:"headers,omitempty" doc:"Extra headers sent with every delivery, e.g. the receiver's credentials: names are tokens (not hop-by-hop or framing headers such as Connection, Upgrade, TE, Expect, Content-Encoding, nor those hookd sets), each once whatever its case; values are visible ASCII, spaces and tabs, at most 4096 bytes. Sealed at rest; answers show each value as ********."`
	Metadata       map[string]string `json:"metadata,omitempty"`
	Secret         string            `json:"secret,omitempty" doc:"The signing secret (whsec_ and base64 of 24 to 64 bytes); generated when absent. An app with an hmac signature scheme keyed by the secret's bytes also takes a provider's existing secret: 16 to 256 printable characters."`
	UID            string            `json:"uid,omitempty" maxLength:"255" doc:"Your own id for the endpoint, unique in the app; usable instead of its id in paths and filters; envelopes see it. Must not start with ep_."`
	Profile        string            `json:"profile,omitempty" enum:"hookd,reflow,opentiendas,flo,flexprice" doc:"The body shape for this endpoint; empty uses the app's."`
	Envelope       string            `json:"envelope,omitempty" maxLength:"16384" doc:"A jq program rendering this endpoint's bodies; wins over every profile and the app's envelope."`
	Filter         string            `json:"filter,omitempty" maxLength:"4096" doc:"A jq expression over the event (the envelope input); events for which it is false or null get no delivery here. E.g. .type == \"order.updated\" and .data.payment_status == \"paid\""`
	MaxConcurrency int               `json:"max_concurrency,omitempty" minimum:"0" doc:"Attempts in flight to this endpoint at once, across all nodes; 0 (the default) is the deployment's HOOKD_ENDPOINT_CONCURRENCY, which it cannot exceed."`
	RateLimit      float64           `json:"rate_limit,omitempty" minimum:"0" maximum:"100000" doc:"Deliveries per second to this endpoint, across all nodes; 0 (the default) is no limit."`
	Ordering       string            `json:"ordering,omitempty" enum:"fifo" doc:"fifo: deliveries go out one at a time in event order, each waiting until the one before succeeded or finally failed. Absent: in parallel, no order."`
}

type endpointPatchRequest struct {
	URL            *string            `json:"url,omitempty"`
	Description    *string            `json:"description,omitempty" maxLength:"4096"`
	EventTypes     *[]string          `json:"event_types,omitempty" doc:"Replaces the list; [] receives every type."`
	Disabled       *bool              `json:"disabled,omitempty"`
	Headers        *map[string]string `json:"headers,omitempty" doc:"Replaces the headers. A value of ******** (the mask answers show) keeps the value stored for that header, so an endpoint read and sent back keeps its header values; ******** for a header the endpoint lacks is refused."`
	Metadata       *map[string]string `json:"metadata,omitempty" doc:"Replaces the metadata."`
	UID            *string            `json:"uid,omitempty" maxLength:"255" doc:"An empty string removes the uid."`
	Profile        *string            `json:"profile,omitempty" doc:"hookd, reflow, opentiendas, flo or flexprice; an empty string goes back to the app's."`
	Envelope       *string            `json:"envelope,omitempty" maxLength:"16384" doc:"An empty string removes the program."`
	Filter         *string            `json:"filter,omitempty" maxLength:"4096" doc:"An empty string removes the filter."`
	MaxConcurrency *int               `json:"max_concurrency,omitempty" minimum:"0" doc:"0 goes back to the deployment's limit."`
	RateLimit      *float64           `json:"rate_limit,omitempty" minimum:"0" maximum:"100000" doc:"0 removes the limit."`
	Ordering       *string            `json:"ordering,omitempty" doc:"fifo, or an empty string for parallel."`
}

// validateEndpointSettings checks the uid, profile, envelope and filter an
// endpoint request of app (its id or uid, as the path gives it) sets. The
// error is a sandbox that could not check a program (503).
func (s *server) validateEndpointSettings(ctx context.Context, app string, errs []*huma.ErrorDetail, uid, profile, env, filter *string) ([]*huma.ErrorDetail, error) {
	if uid != nil {
		errs = collect(errs, hook.ValidateEndpointUID("uid", *uid), "body", "uid", *uid)
	}
	if profile != nil {
		errs = collect(errs, envelope.ValidateProfile("profile", *profile), "body", "profile", *profile)
	}
	for _, p := range []struct {
		field    string
		src      *string
		validate func(context.Context, string, string, string) error
	}{
		{"envelope", env, s.programs.ValidateEnvelope},
		{"filter", filter, s.programs.ValidateFilter},
	} {
		if p.src == nil {
			continue
		}
		err := p.validate(ctx, app, p.field, *p.src)
		if err != nil && hook.ErrorCode(err) != hook.EInvalid {
			return nil, s.programsUnavailable(err)
		}
		errs = collect(errs, err, "body", p.field, nil)
	}
	return errs, nil
}

// programsUnavailable is the answer to a request whose jq program could
// not be checked: the sandbox did not run it (no worker free in time, or
// it would not start). 503: the program may be fine, and a retry may pass.
func (s *server) programsUnavailable(err error) error {
	s.log.Warn("api: a jq program could not be checked", "err", err)
	return huma.ErrorWithHeaders(huma.Error503ServiceUnavailable("the jq program could not be checked now; try again"),
		http.Header{"Retry-After": []string{"1"}})
}

// checkSecret checks a secret given for one of app's endpoints: whsec_ and
// base64, or, when the app signs with the secret's own bytes, a provider's
// existing secret.
func checkSecret(app *hook.App, secret string) error {
	if !strings.HasPrefix(secret, hook.SecretPrefix) && app.Signature != nil &&
		app.Signature.Scheme == hook.SchemeHMAC && app.Signature.Key == hook.KeySecretBytes {
		return check(hook.ValidateProviderSecret("secret", secret), "body", "secret", nil)
	}
	return check(hook.ValidateSecret("secret", secret), "body", "secret", nil)
}

type secretBody struct {
	Secret string `json:"secret" doc:"The endpoint's signing secret." example:"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"`
}

type secretOutput struct {
	Body secretBody
}

type rotateRequest struct {
	Secret string `json:"secret,omitempty" doc:"The new secret; generated when absent."`
	// PreviousExpiresIn is a pointer: absent is the app's setting, 0 a value.
	PreviousExpiresIn *int `json:"previous_expires_in,omitempty" minimum:"0" maximum:"604800" doc:"How long, in seconds (0 to 604800, 7 days), the previous secret still signs alongside the new one; default: the app's secret_overlap_seconds (86400 unless set). 0: only the new secret signs from now on."`
}

type headersBody struct {
	Headers map[string]string `json:"headers" doc:"The endpoint's custom headers with their values." example:"{\"Authorization\":\"Bearer 7f3c...\"}"`
}

type headersOutput struct {
	Body headersBody
}

// normEndpoint returns a copy of ep for an answer, with [] and {} rather
// than null, and every custom header value masked (hook.HeaderValueMask):
// they are credentials, revealed only by GET .../headers. A copy: ep
// itself may be in the dispatcher's hands. Its circuit_open_until is
// shown only while it is after now: the circuit is open.
func normEndpoint(ep *hook.Endpoint, now time.Time) *hook.Endpoint {
	if ep == nil {
		return nil
	}
	c := *ep
	if c.CircuitOpenUntil != nil && !c.CircuitOpenUntil.After(now) {
		c.CircuitOpenUntil = nil
	}
	if c.EventTypes == nil {
		c.EventTypes = []string{}
	}
	c.Headers = hook.MaskHeaders(c.Headers)
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	return &c
}

// appID resolves {app} for the routes under it.
func (s *server) appID(ctx context.Context, ref string) (string, error) {
	a, err := s.cachedApp(ctx, ref)
	if err != nil {
		return "", s.fail(ctx, err, "path")
	}
	return a.ID, nil
}

// checkEndpointURL checks the form of the URL, then asks the SSRF guard.
func (s *server) checkEndpointURL(raw string) *huma.ErrorDetail {
	u, err := hook.ValidateEndpointURL("url", raw)
	if err != nil {
		return fieldDetail(err, "body", "url", raw)
	}
	if s.checkURL != nil {
		if err := s.checkURL(u); err != nil {
			return &huma.ErrorDetail{Location: "body.url", Message: "is not allowed: " + err.Error(), Value: raw}
		}
	}
	return nil
}

func (s *server) registerEndpoints() {
	huma.Register(s.api, s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/endpoints", "create-endpoint", "Endpoints", "Add an endpoint", http.StatusCreated),
		func(ctx context.Context, in *struct {
			AppParam
			Body endpointCreateRequest
		}) (*endpointOutput, error) {
			b := &in.Body
			var errs []*huma.ErrorDetail
			if d := s.checkEndpointURL(b.URL); d != nil {
				errs = append(errs, d)
			}
			errs = collect(errs, hook.ValidateDescription("description", b.Description), "body", "description", nil)
			errs = collect(errs, hook.ValidateEventTypePatterns("event_types", b.EventTypes), "body", "event_types", nil)
			if err := hook.ValidateHeaders("headers", b.Headers); err != nil {
				errs = collect(errs, err, "body", "headers", nil)
			} else {
				// A new endpoint has no value for a mask to keep.
				_, err := hook.UnmaskHeaders("headers", nil, b.Headers)
				errs = collect(errs, err, "body", "headers", nil)
			}
			errs = collect(errs, hook.ValidateMetadata("metadata", b.Metadata), "body", "metadata", nil)
			errs, err := s.validateEndpointSettings(ctx, in.App, errs, &b.UID, &b.Profile, &b.Envelope, &b.Filter)
			if err != nil {
				return nil, err
			}
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			app, err := s.cachedApp(ctx, in.App)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			secret := b.Secret
			if secret != "" {
				if err := checkSecret(app, secret); err != nil {
					return nil, err
				}
			} else {
				secret = hook.NewSecret()
			}
			p := &store.CreateEndpointParams{
				ID: hook.NewID("ep"), AppID: app.ID, URL: b.URL, Description: b.Description,
				EventTypes: b.EventTypes, Disabled: b.Disabled, Headers: b.Headers, Metadata: b.Metadata,
				UID: b.UID, Profile: b.Profile, Envelope: b.Envelope, Filter: b.Filter,
				MaxConcurrency: b.MaxConcurrency, RateLimit: b.RateLimit, Ordering: b.Ordering,
				Secret: secret, MaxPerApp: s.maxEndpoints, Now: s.now().UTC(),
			}
			if p.EventTypes == nil {
				p.EventTypes = []string{}
			}
			if p.Headers == nil {
				p.Headers = map[string]string{}
			}
			if p.Metadata == nil {
				p.Metadata = map[string]string{}
			}
			ep, err := s.store.CreateEndpoint(ctx, p)
			if errors.Is(err, store.ErrEndpointLimit) {
				return nil, s.tooManyEndpoints()
			}
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			s.disp.EndpointChanged(ep)
			return &endpointOutput{Body: normEndpoint(ep, s.now())}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/endpoints", "list-endpoints", "Endpoints", "List an app's endpoints", http.StatusOK),
		func(ctx context.Context, in *struct {
			AppParam
			ListQuery
		}) (*listOutput[*hook.Endpoint], error) {
			appID, err := s.appID(ctx, in.App)
			if err != nil {
				return nil, err
			}
			p, err := s.store.ListEndpoints(ctx, &store.ListEndpointsParams{ListParams: in.ListQuery.params(), AppID: appID})
			if err != nil {
				return nil, s.fail(ctx, err, "query")
			}
			for i, ep := range p.Data {
				p.Data[i] = normEndpoint(ep, s.now())
			}
			return &listOutput[*hook.Endpoint]{Body: newList(p)}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/endpoints/{ep}", "get-endpoint", "Endpoints", "Get an endpoint", http.StatusOK),
		func(ctx context.Context, in *EndpointParam) (*endpointOutput, error) {
			ep, err := s.endpoint(ctx, in)
			if err != nil {
				return nil, err
			}
			return &endpointOutput{Body: normEndpoint(ep, s.now())}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodPatch, "/v1/apps/{app}/endpoints/{ep}", "update-endpoint", "Endpoints", "Update an endpoint", http.StatusOK),
		func(ctx context.Context, in *struct {
			EndpointParam
			Body endpointPatchRequest
		}) (*endpointOutput, error) {
			b := &in.Body
			var errs []*huma.ErrorDetail
			if b.URL != nil {
				if d := s.checkEndpointURL(*b.URL); d != nil {
					errs = append(errs, d)
				}
			}
			if b.Description != nil {
				errs = collect(errs, hook.ValidateDescription("description", *b.Description), "body", "description", nil)
			}
			if b.EventTypes != nil {
				if *b.EventTypes == nil {
					*b.EventTypes = []string{}
				}
				errs = collect(errs, hook.ValidateEventTypePatterns("event_types", *b.EventTypes), "body", "event_types", nil)
			}
			if b.Headers != nil {
				if *b.Headers == nil {
					*b.Headers = map[string]string{}
				}
				errs = collect(errs, hook.ValidateHeaders("headers", *b.Headers), "body", "headers", nil)
			}
			if b.Metadata != nil {
				if *b.Metadata == nil {
					*b.Metadata = map[string]string{}
				}
				errs = collect(errs, hook.ValidateMetadata("metadata", *b.Metadata), "body", "metadata", nil)
			}
			errs, err := s.validateEndpointSettings(ctx, in.App, errs, b.UID, b.Profile, b.Envelope, b.Filter)
			if err != nil {
				return nil, err
			}
			if b.Ordering != nil && *b.Ordering != "" && *b.Ordering != hook.OrderingFIFO {
				errs = append(errs, &huma.ErrorDetail{Location: "body.ordering", Message: `must be "fifo" or empty`, Value: *b.Ordering})
			}
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			cur, err := s.endpoint(ctx, &in.EndpointParam)
			if err != nil {
				return nil, err
			}
			appID, wasDisabled := cur.AppID, cur.Disabled
			ep, err := s.store.UpdateEndpoint(ctx, &store.UpdateEndpointParams{
				AppID: appID, EndpointID: cur.ID, URL: b.URL, Description: b.Description,
				EventTypes: b.EventTypes, Disabled: b.Disabled, Headers: b.Headers, Metadata: b.Metadata,
				UID: b.UID, Profile: b.Profile, Envelope: b.Envelope, Filter: b.Filter,
				MaxConcurrency: b.MaxConcurrency, RateLimit: b.RateLimit, Ordering: b.Ordering,
				Now: s.now().UTC(),
			})
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			s.disp.EndpointChanged(ep)
			if b.Disabled != nil && *b.Disabled != wasDisabled {
				typ, data := "endpoint.enabled", map[string]string{"endpoint_id": ep.ID, "app_id": appID, "url": ep.URL}
				if ep.Disabled {
					typ, data["reason"] = "endpoint.disabled", "api"
				}
				s.disp.Emit(appID, typ, data)
			}
			return &endpointOutput{Body: normEndpoint(ep, s.now())}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodDelete, "/v1/apps/{app}/endpoints/{ep}", "delete-endpoint", "Endpoints", "Delete an endpoint with its deliveries", http.StatusNoContent),
		func(ctx context.Context, in *EndpointParam) (*struct{}, error) {
			ep, err := s.endpoint(ctx, in)
			if err != nil {
				return nil, err
			}
			if err := s.store.DeleteEndpoint(ctx, ep.AppID, ep.ID); err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			s.disp.EndpointDeleted(ep.ID)
			return nil, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/endpoints/{ep}/secret", "get-endpoint-secret", "Endpoints", "Get an endpoint's signing secret", http.StatusOK),
		func(ctx context.Context, in *EndpointParam) (*secretOutput, error) {
			ep, err := s.endpoint(ctx, in)
			if err != nil {
				return nil, err
			}
			return &secretOutput{Body: secretBody{Secret: ep.Secret}}, nil
		})

	hdrs := s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}/endpoints/{ep}/headers", "get-endpoint-headers", "Endpoints", "Get an endpoint's custom headers", http.StatusOK)
	hdrs.Description = "The custom headers with their values, which every other answer masks as ******** (they often hold the receiver's credentials)."
	huma.Register(s.api, hdrs,
		func(ctx context.Context, in *EndpointParam) (*headersOutput, error) {
			ep, err := s.endpoint(ctx, in)
			if err != nil {
				return nil, err
			}
			h := make(map[string]string, len(ep.Headers))
			for k, v := range ep.Headers {
				h[k] = v
			}
			return &headersOutput{Body: headersBody{Headers: h}}, nil
		})

	rotate := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/endpoints/{ep}/secret/rotate", "rotate-endpoint-secret", "Endpoints", "Rotate an endpoint's signing secret", http.StatusOK)
	rotate.Description = "The new secret signs from now on; the previous one also signs for `previous_expires_in` seconds " +
		"(default: the app's `secret_overlap_seconds`, 24 hours unless set), so receivers can switch without missing a delivery. " +
		"0 stops the previous secret at once: with a provider's own scheme, whose header carries one signature per secret, " +
		"that keeps receivers that compare the whole header working."
	rotate.Errors = append(rotate.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, rotate,
		func(ctx context.Context, in *struct {
			EndpointParam
			Body *rotateRequest
		}) (*secretOutput, error) {
			secret := ""
			app, err := s.cachedApp(ctx, in.App)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			overlap := app.SecretOverlapSeconds
			if in.Body != nil {
				secret = in.Body.Secret
				if in.Body.PreviousExpiresIn != nil {
					overlap = *in.Body.PreviousExpiresIn
				}
			}
			if secret != "" {
				if err := checkSecret(app, secret); err != nil {
					return nil, err
				}
			} else {
				secret = hook.NewSecret()
			}
			cur, err := s.endpointByRef(ctx, app.ID, in.Endpoint)
			if err != nil {
				return nil, err
			}
			now := s.now().UTC()
			ep, err := s.store.RotateEndpointSecret(ctx, &store.RotateEndpointSecretParams{
				AppID: app.ID, EndpointID: cur.ID, Secret: secret,
				PreviousExpiresAt: now.Add(time.Duration(overlap) * time.Second), Now: now,
			})
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			s.disp.EndpointChanged(ep)
			return &secretOutput{Body: secretBody{Secret: secret}}, nil
		})
}

// endpoint reads the endpoint named by the path: {app} and {ep}, each an
// id or a uid.
func (s *server) endpoint(ctx context.Context, in *EndpointParam) (*hook.Endpoint, error) {
	appID, err := s.appID(ctx, in.App)
	if err != nil {
		return nil, err
	}
	return s.endpointByRef(ctx, appID, in.Endpoint)
}

// endpointByRef reads one of app's endpoints (app is the app's id) named
// by ref, its id ("ep_...") or its uid: every route with {ep} in its path
// resolves it here. An unknown endpoint is a 404.
func (s *server) endpointByRef(ctx context.Context, appID, ref string) (*hook.Endpoint, error) {
	ep, err := s.store.GetEndpoint(ctx, appID, ref)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	return ep, nil
}

// endpointFilter turns the endpoint query filter of a list (an
// endpoint's id or uid, "" for none) into the endpoint id to filter by.
// An unknown endpoint is not an error: it filters by ref itself, which no
// delivery or attempt has, so the list is empty, as it is for an unknown
// id.
func (s *server) endpointFilter(ctx context.Context, appID, ref string) (string, error) {
	if ref == "" {
		return "", nil
	}
	ep, err := s.store.GetEndpoint(ctx, appID, ref)
	switch {
	case err == nil:
		return ep.ID, nil
	case hook.ErrorCode(err) == hook.ENotFound:
		return ref, nil
	}
	return "", s.fail(ctx, err, "query")
}
