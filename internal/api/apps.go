package api

import (
	"context"
	"net/http"
	"strings"

	"github.com/hookd/hookd/internal/envelope"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"

	"github.com/danielgtaylor/huma/v2"
)

// List is one page of a list, newest first (event types: by name).
type List[T any] struct {
	Data []T `json:"data" doc:"The objects of this page."`
	// NextCursor is null on the last page.
	NextCursor *string `json:"next_cursor" doc:"Pass as ?cursor= for the next page; null on the last page."`
}

func newList[T any](p *store.Page[T]) *List[T] {
	l := &List[T]{Data: p.Data}
	if l.Data == nil {
		l.Data = []T{}
	}
	if p.NextCursor != "" {
		c := p.NextCursor
		l.NextCursor = &c
	}
	return l
}

// listOutput is the answer of every list route.
type listOutput[T any] struct {
	Body *List[T]
}

// ListQuery holds the paging query parameters of every list route.
type ListQuery struct {
	Limit  int    `query:"limit" minimum:"1" maximum:"250" default:"50" doc:"Page size, 1 to 250."`
	Cursor string `query:"cursor" doc:"The next_cursor of the previous page."`
}

func (p ListQuery) params() store.ListParams {
	return store.ListParams{Limit: p.Limit, Cursor: p.Cursor}
}

// AppParam is the {app} path parameter.
type AppParam struct {
	App string `path:"app" doc:"The app's id (app_...) or uid."`
}

type appOutput struct {
	Body *hook.App
}

type appCreateRequest struct {
	Name       string                `json:"name" minLength:"1" maxLength:"255" doc:"Display name."`
	UID        string                `json:"uid,omitempty" maxLength:"255" doc:"Your own unique id for the app; usable instead of its id in paths. Must not start with app_."`
	Metadata   map[string]string     `json:"metadata,omitempty" doc:"Free key/value pairs."`
	Profile    string                `json:"profile,omitempty" enum:"hookd,reflow,opentiendas,flo,flexprice" doc:"The body shape of the app's deliveries (default hookd); an endpoint's own profile wins."`
	Envelope   string                `json:"envelope,omitempty" maxLength:"16384" doc:"A jq program that renders each delivery's body from the event and its context; overrides the profile. Checked when saved."`
	APIVersion string                `json:"api_version,omitempty" maxLength:"64" doc:"The api_version of the app's events when they give none."`
	Livemode   *bool                 `json:"livemode,omitempty" doc:"false makes a test app: its events are test events unless they say otherwise (default true)."`
	Signature  *hook.SignatureScheme `json:"signature,omitempty" doc:"How deliveries are signed: {\"scheme\":\"standard-webhooks\"} (the default) or a provider's own HMAC-SHA256 scheme."`
	Catalog    string                `json:"catalog,omitempty" enum:"inherit,open,strict" doc:"strict: events of a type the catalog does not define (or has archived) are refused (422 at body.type); open: any type is accepted; inherit (the default): the deployment's HOOKD_CATALOG."`
	// SecretOverlapSeconds is a pointer: absent is the default, 0 is a value.
	SecretOverlapSeconds *int          `json:"secret_overlap_seconds,omitempty" minimum:"0" maximum:"604800" doc:"How long, in seconds (0 to 604800, 7 days), a rotated-out secret of the app's endpoints still signs when a rotation does not say (previous_expires_in); default 86400 (24 h). 0: the new secret alone signs from the rotation on, for providers whose signature header must carry one signature."`
	Branding             *brandingBody `json:"branding,omitempty" doc:"How the app's consumer portal presents it: display_name, logo_url (https), accent_color (#rrggbb); each optional."`
}

type appPatchRequest struct {
	Name                 *string               `json:"name,omitempty" minLength:"1" maxLength:"255"`
	UID                  *string               `json:"uid,omitempty" maxLength:"255" doc:"An empty string removes the uid. Only an admin key may change it (403 for a key bound to the app)."`
	Metadata             *map[string]string    `json:"metadata,omitempty" doc:"Replaces the metadata."`
	Profile              *string               `json:"profile,omitempty" enum:"hookd,reflow,opentiendas,flo,flexprice"`
	Envelope             *string               `json:"envelope,omitempty" maxLength:"16384" doc:"An empty string removes the program."`
	APIVersion           *string               `json:"api_version,omitempty" maxLength:"64"`
	Livemode             *bool                 `json:"livemode,omitempty"`
	Signature            *hook.SignatureScheme `json:"signature,omitempty" doc:"{\"scheme\":\"standard-webhooks\"} goes back to the default."`
	Catalog              *string               `json:"catalog,omitempty" enum:"inherit,open,strict" doc:"inherit goes back to the deployment's HOOKD_CATALOG."`
	SecretOverlapSeconds *int                  `json:"secret_overlap_seconds,omitempty" minimum:"0" maximum:"604800"`
	Branding             brandingPatch         `json:"branding,omitempty"`
}

// validateAppSettings checks the delivery settings an app request sets
// for app (its id or uid, as the path gives it). The error is a sandbox
// that could not check the envelope (503).
func (s *server) validateAppSettings(ctx context.Context, app string, errs []*huma.ErrorDetail, profile, env, version *string, sig *hook.SignatureScheme) ([]*huma.ErrorDetail, error) {
	if profile != nil {
		errs = collect(errs, envelope.ValidateProfile("profile", *profile), "body", "profile", *profile)
	}
	if env != nil {
		err := s.programs.ValidateEnvelope(ctx, app, "envelope", *env)
		if err != nil && hook.ErrorCode(err) != hook.EInvalid {
			return nil, s.programsUnavailable(err)
		}
		errs = collect(errs, err, "body", "envelope", nil)
	}
	if version != nil && strings.ContainsAny(*version, "\r\n\x00") {
		errs = append(errs, &huma.ErrorDetail{Location: "body.api_version", Message: "must be on one line", Value: *version})
	}
	errs = collect(errs, hook.ValidateSignatureScheme("signature", sig), "body", "signature", nil)
	return errs, nil
}

// storedScheme is what an app keeps of a requested scheme: nil for
// Standard Webhooks.
func storedScheme(sig *hook.SignatureScheme) *hook.SignatureScheme {
	if sig == nil || sig.Scheme == hook.SchemeStandard {
		return nil
	}
	return sig
}

// normApp returns a copy of a for an answer, with {} rather than null.
func normApp(a *hook.App) *hook.App {
	if a == nil {
		return nil
	}
	c := *a
	if c.Metadata == nil {
		c.Metadata = map[string]string{}
	}
	if c.Profile == "" {
		c.Profile = hook.ProfileHookd
	}
	if c.Signature == nil {
		c.Signature = &hook.SignatureScheme{Scheme: hook.SchemeStandard}
	}
	if c.Catalog == "" {
		c.Catalog = catalogInherit
	}
	return &c
}

// catalogInherit is how the API names an app's catalog setting that
// follows the deployment's (stored as "").
const catalogInherit = "inherit"

// storedCatalog is what an app keeps of a requested catalog setting.
func storedCatalog(c string) string {
	if c == catalogInherit {
		return ""
	}
	return c
}

// reflowVersion is the api_version an app keeps: Reflow's
// (envelope.ReflowAPIVersion) when its profile is reflow and it names
// none, since Reflow's events always carry one; version otherwise.
func reflowVersion(profile, version string) string {
	if profile == hook.ProfileReflow && version == "" {
		return envelope.ReflowAPIVersion
	}
	return version
}

func (s *server) registerApps() {
	huma.Register(s.api, s.operation(scopeAdmin, http.MethodPost, "/v1/apps", "create-app", "Apps", "Create an app", http.StatusCreated),
		func(ctx context.Context, in *struct{ Body appCreateRequest }) (*appOutput, error) {
			b := &in.Body
			var errs []*huma.ErrorDetail
			errs = collect(errs, hook.ValidateName("name", b.Name), "body", "name", b.Name)
			errs = collect(errs, hook.ValidateUID("uid", b.UID), "body", "uid", b.UID)
			errs = collect(errs, hook.ValidateMetadata("metadata", b.Metadata), "body", "metadata", nil)
			errs, err := s.validateAppSettings(ctx, b.UID, errs, &b.Profile, &b.Envelope, &b.APIVersion, b.Signature)
			if err != nil {
				return nil, err
			}
			branding, errs := checkBranding(errs, b.Branding)
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			md := b.Metadata
			if md == nil {
				md = map[string]string{}
			}
			live := b.Livemode == nil || *b.Livemode
			a, err := s.store.CreateApp(ctx, &store.CreateAppParams{
				ID: hook.NewID("app"), UID: b.UID, Name: b.Name, Metadata: md,
				Profile: b.Profile, Envelope: b.Envelope, APIVersion: reflowVersion(b.Profile, b.APIVersion), Livemode: live,
				Signature: storedScheme(b.Signature), Catalog: storedCatalog(b.Catalog),
				SecretOverlapSeconds: b.SecretOverlapSeconds, Branding: branding, Now: s.now().UTC(),
			})
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			return &appOutput{Body: normApp(a)}, nil
		})

	huma.Register(s.api, s.operation(scopeAdmin, http.MethodGet, "/v1/apps", "list-apps", "Apps", "List apps", http.StatusOK),
		func(ctx context.Context, in *struct{ ListQuery }) (*listOutput[*hook.App], error) {
			p, err := s.store.ListApps(ctx, &store.ListAppsParams{ListParams: in.ListQuery.params()})
			if err != nil {
				return nil, s.fail(ctx, err, "query")
			}
			for i, a := range p.Data {
				p.Data[i] = normApp(a)
			}
			return &listOutput[*hook.App]{Body: newList(p)}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodGet, "/v1/apps/{app}", "get-app", "Apps", "Get an app", http.StatusOK),
		func(ctx context.Context, in *AppParam) (*appOutput, error) {
			a, err := s.store.GetApp(ctx, in.App)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			return &appOutput{Body: normApp(a)}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodPatch, "/v1/apps/{app}", "update-app", "Apps", "Update an app", http.StatusOK),
		func(ctx context.Context, in *struct {
			AppParam
			Body appPatchRequest
		}) (*appOutput, error) {
			b := &in.Body
			var errs []*huma.ErrorDetail
			if b.Name != nil {
				errs = collect(errs, hook.ValidateName("name", *b.Name), "body", "name", *b.Name)
			}
			if b.UID != nil {
				errs = collect(errs, hook.ValidateUID("uid", *b.UID), "body", "uid", *b.UID)
			}
			if b.Metadata != nil {
				if *b.Metadata == nil {
					*b.Metadata = map[string]string{}
				}
				errs = collect(errs, hook.ValidateMetadata("metadata", *b.Metadata), "body", "metadata", nil)
			}
			errs, err := s.validateAppSettings(ctx, in.App, errs, b.Profile, b.Envelope, b.APIVersion, b.Signature)
			if err != nil {
				return nil, err
			}
			branding, errs := checkBranding(errs, b.Branding.Value)
			if len(errs) > 0 {
				return nil, invalidAll(errs)
			}
			cur, err := s.store.GetApp(ctx, in.App)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			if b.UID != nil && *b.UID != cur.UID && boundToApp(ctx) {
				return nil, errUIDNeedsAdmin()
			}
			p := &store.UpdateAppParams{
				AppID: cur.ID, Name: b.Name, UID: b.UID, Metadata: b.Metadata,
				Profile: b.Profile, Envelope: b.Envelope, APIVersion: b.APIVersion, Livemode: b.Livemode,
				SecretOverlapSeconds: b.SecretOverlapSeconds, Now: s.now().UTC(),
			}
			if b.Catalog != nil {
				c := storedCatalog(*b.Catalog)
				p.Catalog = &c
			}
			if b.Branding.Set {
				p.Branding = &branding
			}
			// A reflow app always names an api_version: the one it is
			// given, else the one it had, else Reflow's.
			profile, version := cur.Profile, cur.APIVersion
			if b.Profile != nil {
				profile = *b.Profile
			}
			if b.APIVersion != nil {
				version = *b.APIVersion
			}
			if v := reflowVersion(profile, version); v != version {
				p.APIVersion = &v
			}
			if b.Signature != nil {
				sig := storedScheme(b.Signature)
				if err := s.checkSecretsFit(ctx, cur.ID, sig); err != nil {
					return nil, err
				}
				p.Signature = &sig
			}
			a, err := s.store.UpdateApp(ctx, p)
			s.apps.clear()
			if err != nil {
				return nil, s.fail(ctx, err, "body")
			}
			s.disp.AppChanged(a)
			return &appOutput{Body: normApp(a)}, nil
		})

	huma.Register(s.api, s.operation(scopeApp, http.MethodDelete, "/v1/apps/{app}", "delete-app", "Apps", "Delete an app with its endpoints, events and deliveries", http.StatusNoContent),
		func(ctx context.Context, in *AppParam) (*struct{}, error) {
			a, err := s.store.GetApp(ctx, in.App)
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			// Collect the endpoints first, to tell the dispatcher they went.
			var eps []string
			lp := store.ListEndpointsParams{AppID: a.ID, ListParams: store.ListParams{Limit: store.MaxLimit}}
			for {
				p, err := s.store.ListEndpoints(ctx, &lp)
				if err != nil {
					return nil, s.fail(ctx, err, "")
				}
				for _, ep := range p.Data {
					eps = append(eps, ep.ID)
				}
				if p.NextCursor == "" {
					break
				}
				lp.Cursor = p.NextCursor
			}
			err = s.store.DeleteApp(ctx, a.ID)
			s.apps.clear()
			if err != nil {
				return nil, s.fail(ctx, err, "path")
			}
			// The app's keys went with it (ON DELETE CASCADE).
			s.keys.forget(func(k *store.APIKey) bool { return k.AppID == a.ID })
			for _, id := range eps {
				s.disp.EndpointDeleted(id)
			}
			return nil, nil
		})
}

// errUIDNeedsAdmin is the answer to a key bound to an app that tries to
// change (or remove) its app's uid. uids are one namespace for all apps, the
// provider's, and one of them may name the operator's app
// (HOOKD_OPERATOR_APP), which receives hookd's operational events about
// every app: a tenant able to pick its uid could take that name while it is
// free, and could learn from a 409 which uids other apps have. So only an
// admin key changes uids, and the refusal is the same whatever uid was
// asked for, taken or free.
func errUIDNeedsAdmin() error {
	const msg = "only an admin key may change an app's uid; this API key is bound to the app"
	return huma.Error403Forbidden("body.uid: "+msg, &huma.ErrorDetail{Location: "body.uid", Message: msg})
}

// checkSecretsFit refuses a signature scheme that cannot sign with the
// secrets the app's endpoints have: a scheme keyed by whsec_ secrets
// (Standard Webhooks, or hmac with key "whsec") when some endpoint keeps a
// provider's own secret.
func (s *server) checkSecretsFit(ctx context.Context, appID string, sig *hook.SignatureScheme) error {
	if sig != nil && sig.Key == hook.KeySecretBytes {
		return nil // any secret's bytes are a key
	}
	var misfits []string
	lp := store.ListEndpointsParams{AppID: appID, ListParams: store.ListParams{Limit: store.MaxLimit}}
	for {
		p, err := s.store.ListEndpoints(ctx, &lp)
		if err != nil {
			return s.fail(ctx, err, "")
		}
		for _, ep := range p.Data {
			for _, sec := range ep.SigningSecrets(s.now()) {
				if hook.ValidateSecret("secret", sec) != nil {
					misfits = append(misfits, ep.ID)
					break
				}
			}
		}
		if p.NextCursor == "" || len(misfits) >= 10 {
			break
		}
		lp.Cursor = p.NextCursor
	}
	if len(misfits) == 0 {
		return nil
	}
	return invalid("body.signature", "needs whsec_ secrets, and these endpoints have their own: "+
		strings.Join(misfits, ", ")+"; rotate their secrets first (POST .../secret/rotate)", nil)
}
