package store

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/hookd/hookd/internal/hook"
)

// Apply sets the fields of p that are not nil on a (copies, so a keeps
// nothing of p's). Backends call it on the stored app before writing it
// back.
func (p *UpdateAppParams) Apply(a *hook.App) {
	if p.UID != nil {
		a.UID = *p.UID
	}
	if p.Name != nil {
		a.Name = *p.Name
	}
	if p.Metadata != nil {
		a.Metadata = CopyMap(*p.Metadata)
	}
	if p.Profile != nil {
		a.Profile = *p.Profile
	}
	if p.Envelope != nil {
		a.Envelope = *p.Envelope
	}
	if p.APIVersion != nil {
		a.APIVersion = *p.APIVersion
	}
	if p.Livemode != nil {
		a.Livemode = *p.Livemode
	}
	if p.Signature != nil {
		a.Signature = CopySignature(*p.Signature)
	}
	if p.Catalog != nil {
		a.Catalog = *p.Catalog
	}
	if p.SecretOverlapSeconds != nil {
		a.SecretOverlapSeconds = *p.SecretOverlapSeconds
	}
	if p.Branding != nil {
		a.Branding = CopyBranding(*p.Branding)
	}
}

// Apply sets the fields of p that are not nil on e (copies, so e keeps
// nothing of p's). Backends call it on the stored endpoint, in the
// transaction that writes it back. A header value hook.HeaderValueMask in
// p.Headers keeps the value e holds for that header (hook.UnmaskHeaders),
// read in that same transaction; for a header e lacks it is an EInvalid
// error naming headers.<name>, and e is left as it was.
func (p *UpdateEndpointParams) Apply(e *hook.Endpoint) error {
	if p.Headers != nil {
		h, err := hook.UnmaskHeaders("headers", e.Headers, *p.Headers)
		if err != nil {
			return err
		}
		e.Headers = h
	}
	if p.URL != nil {
		e.URL = *p.URL
	}
	if p.Description != nil {
		e.Description = *p.Description
	}
	if p.EventTypes != nil {
		e.EventTypes = CopyList(*p.EventTypes)
	}
	if p.Disabled != nil {
		e.Disabled = *p.Disabled
	}
	if p.Metadata != nil {
		e.Metadata = CopyMap(*p.Metadata)
	}
	if p.UID != nil {
		e.UID = *p.UID
	}
	if p.Profile != nil {
		e.Profile = *p.Profile
	}
	if p.Envelope != nil {
		e.Envelope = *p.Envelope
	}
	if p.Filter != nil {
		e.Filter = *p.Filter
	}
	if p.MaxConcurrency != nil {
		e.MaxConcurrency = *p.MaxConcurrency
	}
	if p.RateLimit != nil {
		e.RateLimit = *p.RateLimit
	}
	if p.Ordering != nil {
		e.Ordering = *p.Ordering
	}
	return nil
}

// CopyMap returns a copy of m, empty (not nil) for nil.
func CopyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return maps.Clone(m)
}

// CopyList returns a copy of l, empty (not nil) for nil.
func CopyList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return slices.Clone(l)
}

// CopyBranding returns a copy of b (nil for nil).
func CopyBranding(b *hook.Branding) *hook.Branding {
	if b == nil {
		return nil
	}
	c := *b
	return &c
}

// CopySignature returns a copy of s (nil for nil).
func CopySignature(s *hook.SignatureScheme) *hook.SignatureScheme {
	if s == nil {
		return nil
	}
	c := *s
	return &c
}

// EndpointUIDConflict is the error of a uid already taken in the app.
func EndpointUIDConflict(uid string) error {
	return hook.Errorf(hook.EConflict, "uid", "an endpoint with uid %q exists in this app", uid)
}

// EndpointDisabledConflict is the error of RetryDelivery and RecoverEndpoint
// for a delivery or an endpoint of a disabled endpoint: nothing is made due,
// since a disabled endpoint is sent nothing.
func EndpointDisabledConflict(endpointID string) error {
	return hook.Errorf(hook.EConflict, "", "endpoint %q is disabled: enable it before retrying its deliveries", endpointID)
}

// ErrEndpointLimit is in the chain of the error of a CreateEndpoint refused
// because the app has CreateEndpointParams.MaxPerApp endpoints.
var ErrEndpointLimit = errors.New("endpoint limit")

// EndpointLimitConflict is CreateEndpoint's error when the app has limit
// endpoints: a conflict (hook.EConflict), with ErrEndpointLimit in its chain.
func EndpointLimitConflict(limit int) error {
	return fmt.Errorf("%w: %w", ErrEndpointLimit,
		hook.Errorf(hook.EConflict, "", "the app has %d endpoints, the most it may have", limit))
}

// LastAdminKeyConflict is DeleteAPIKey's error for the last admin key that
// never expires.
func LastAdminKeyConflict(id string) error {
	return hook.Errorf(hook.EConflict, "",
		"%s is the last admin key that never expires; create another admin key without expires_at before deleting it", id)
}

// NewApp returns the app p creates, as a backend stores it (copies, so
// the app keeps nothing of p's); timestamps are now, already rounded by
// the backend.
func (p *CreateAppParams) NewApp(now time.Time) *hook.App {
	overlap := hook.DefaultSecretOverlapSeconds
	if p.SecretOverlapSeconds != nil {
		overlap = *p.SecretOverlapSeconds
	}
	return &hook.App{
		ID: p.ID, UID: p.UID, Name: p.Name, Metadata: CopyMap(p.Metadata),
		Profile: p.Profile, Envelope: p.Envelope, APIVersion: p.APIVersion, Livemode: p.Livemode,
		Signature: CopySignature(p.Signature), Catalog: p.Catalog, SecretOverlapSeconds: overlap,
		Branding:  CopyBranding(p.Branding),
		CreatedAt: now, UpdatedAt: now,
	}
}
