package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// A consumer portal link (issue 16) is an API key of a kind
// (store.APIKey.Portal): bound to one app, short-lived, and narrower than
// an app key. Its token opens the portal's pages (GET /portal/{token}, in
// the dashboard) and is also a bearer key for the operations of
// portalOperations, on its own app's paths only.

// portalTokenPrefix starts every portal link's token, so that one found
// in a log or a URL is recognised as such (an API key starts with hk_).
const portalTokenPrefix = "hkp_"

// PortalTokenPrefix is portalTokenPrefix, for the dashboard's portal
// pages: a path segment without it is no token.
const PortalTokenPrefix = portalTokenPrefix

// portalPath is where the dashboard serves a portal link: the token
// follows.
const portalPath = "/portal/"

// Bounds of a portal link's lifetime (expires_in, in seconds).
const (
	portalMinExpiresIn     = 60
	portalDefaultExpiresIn = 3600
	portalMaxExpiresIn     = 7 * 24 * 3600
)

// portalLinkName is the name of every portal link's key.
const portalLinkName = "portal link"

// portalOperations is the allow-list of a portal link's token: the
// operations (by id) it may call, on its own app's paths. Every other
// operation, including one added later and not listed here, is refused to
// it with 403 (deny by default): admin routes, app changes, publishing,
// expunging, portal links and API keys. TestPortalTokenRouteWalk walks
// every operation of the OpenAPI document against this list.
//
// A read-only link is further limited to GET and HEAD.
var portalOperations = map[string]bool{
	// Its app, to read (branding, name).
	"get-app":       true,
	"get-app-stats": true,
	// Its app's endpoints.
	"list-endpoints":         true,
	"create-endpoint":        true,
	"get-endpoint":           true,
	"update-endpoint":        true,
	"delete-endpoint":        true,
	"get-endpoint-headers":   true,
	"get-endpoint-secret":    true,
	"rotate-endpoint-secret": true,
	"send-test-event":        true,
	"recover-endpoint":       true,
	"replay-missing":         true,
	// Deliveries and attempts.
	"list-deliveries":  true,
	"get-delivery":     true,
	"retry-delivery":   true,
	"retry-deliveries": true,
	"list-attempts":    true,
	// Events, to read and resend (not to publish or expunge).
	"list-events":  true,
	"get-event":    true,
	"resend-event": true,
	// The catalog, to read (the portal's event-type picker).
	"list-event-types": true,
	"get-event-type":   true,
}

// authorizePortal checks a portal link's token against the allow-list,
// and a read-only one against the method, answering 403 when refused. The
// app scope is checked after it (authorize).
func (s *server) authorizePortal(ctx huma.Context, key *store.APIKey) bool {
	op := ctx.Operation()
	if !portalOperations[op.OperationID] {
		s.writeErr(ctx, http.StatusForbidden, fmt.Sprintf(
			"a portal link cannot %s (%s): it manages its app's endpoints and reads its deliveries and events",
			lowerFirst(op.Summary), op.OperationID))
		return false
	}
	if key.ReadOnly && op.Method != http.MethodGet && op.Method != http.MethodHead {
		s.writeErr(ctx, http.StatusForbidden, fmt.Sprintf(
			"this portal link is read-only: it cannot %s (%s)", lowerFirst(op.Summary), op.OperationID))
		return false
	}
	return true
}

// lowerFirst lowers the first letter of an operation's summary, to use it
// within a sentence.
func lowerFirst(s string) string {
	if s == "" {
		return "call this route"
	}
	return strings.ToLower(s[:1]) + s[1:]
}

// newPortalToken returns a fresh portal link token: hkp_ and the
// base64url of 32 random bytes.
func newPortalToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return portalTokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// ParsePublicURL checks a public base URL (HOOKD_PUBLIC_URL): absolute,
// http or https, with a host and without query or fragment. It returns it
// without a trailing slash.
func ParsePublicURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("is not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("must be an absolute http:// or https:// URL, such as https://hooks.example.com, not %q", raw)
	}
	if u.Host == "" || u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return "", fmt.Errorf("must be a scheme, a host and perhaps a path (no user, query or fragment), such as https://hooks.example.com, not %q", raw)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

type portalLinkRequest struct {
	ExpiresIn *int `json:"expires_in,omitempty" minimum:"60" maximum:"604800" doc:"How long the link works, in seconds: 60 to 604800 (7 days); default 3600 (1 h)."`
	ReadOnly  bool `json:"read_only,omitempty" doc:"true: the portal shows the app's endpoints and deliveries but changes nothing (its token may only GET)."`
}

// PortalLink is the answer that creates a portal link: the only one that
// shows its token.
type PortalLink struct {
	URL       string    `json:"url" doc:"The portal's address, to open or to frame: HOOKD_PUBLIC_URL (else this request's host) + /portal/ + the token. Relative (/portal/...) when neither is known." example:"https://hooks.example.com/portal/hkp_Jx3oQ2wWq8zU1b3Yc4nE0fVd7sK9pL2mR6tA5hG1iXo"`
	Token     string    `json:"token" doc:"The link's token: also a bearer key (Authorization: Bearer <token>) for the app's endpoint, delivery and event routes, narrower than an app key. Shown only in this answer; hookd keeps only its SHA-256." example:"hkp_Jx3oQ2wWq8zU1b3Yc4nE0fVd7sK9pL2mR6tA5hG1iXo"`
	ExpiresAt time.Time `json:"expires_at" doc:"When the link stops working (401 as a bearer key, an \"expired\" page in the portal)."`
	ReadOnly  bool      `json:"read_only" doc:"Whether the link may only read."`
}

type portalLinkOutput struct {
	Body *PortalLink
}

// portalLinkInput is the request of create-portal-link. origin is where
// the request was sent (scheme://host), for the link's url when
// HOOKD_PUBLIC_URL is not set.
type portalLinkInput struct {
	AppParam
	Body   *portalLinkRequest `required:"false"`
	origin string
}

// Resolve takes the request's origin (huma calls it before the handler).
func (in *portalLinkInput) Resolve(ctx huma.Context) []error {
	if h := ctx.Host(); h != "" {
		scheme := "http"
		if ctx.TLS() != nil {
			scheme = "https"
		}
		in.origin = scheme + "://" + h
	}
	return nil
}

func (s *server) registerPortalLinks() {
	create := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/portal-links", "create-portal-link", "Portal",
		"Create a consumer portal link", http.StatusCreated)
	create.Description = "A link to the app's consumer portal, to hand to the app's owner (the provider's customer) or to frame in the provider's own site: " +
		"there they manage the app's endpoints (add, edit, disable, rotate and reveal secrets, send test events) and see its deliveries (retry, recover). " +
		"The answer holds the link's token, shown this once: hookd keeps only its SHA-256. " +
		"The token works on every node until expires_at, and is also a bearer key for the app's endpoint, delivery and event routes " +
		"(not to publish events, change or delete the app, or reach any other app or admin route: 403). " +
		"A read_only link may only read (403 for any other method). " +
		"An admin key or the app's own key may create links; a portal link may not. " +
		"POST .../portal-links/revoke ends every link of the app at once."
	create.Errors = append(create.Errors, http.StatusUnprocessableEntity)
	huma.Register(s.api, create, s.createPortalLink)

	revoke := s.operation(scopeApp, http.MethodPost, "/v1/apps/{app}/portal-links/revoke", "revoke-portal-links", "Portal",
		"End every portal link of an app", http.StatusOK)
	revoke.Description = "Every portal link of the app stops working at once, on every node (hookd does not cache portal links' tokens): " +
		"as a bearer key it is answered 401, and the portal's pages opened with it are signed out. " +
		"Links created afterwards work. An admin key or the app's own key may revoke; a portal link may not."
	huma.Register(s.api, revoke, s.revokePortalLinks)
}

type revokePortalLinksOutput struct {
	Body struct {
		Revoked int64 `json:"revoked" doc:"How many links were ended (those already expired included)."`
	}
}

func (s *server) revokePortalLinks(ctx context.Context, in *AppParam) (*revokePortalLinksOutput, error) {
	appID, err := s.appID(ctx, in.App)
	if err != nil {
		return nil, err
	}
	n, err := s.store.DeletePortalKeys(ctx, appID)
	if err != nil {
		return nil, s.fail(ctx, err, "path")
	}
	// Portal keys are never cached (see authenticate); forget them
	// anyway, should that change.
	s.keys.forget(func(k *store.APIKey) bool { return k.Portal && k.AppID == appID })
	out := &revokePortalLinksOutput{}
	out.Body.Revoked = n
	return out, nil
}

func (s *server) createPortalLink(ctx context.Context, in *portalLinkInput) (*portalLinkOutput, error) {
	b := in.Body
	if b == nil {
		b = &portalLinkRequest{}
	}
	expiresIn := portalDefaultExpiresIn
	if b.ExpiresIn != nil {
		expiresIn = *b.ExpiresIn
	}
	// huma checks the bounds against the schema; this guards a change
	// of the tags.
	if expiresIn < portalMinExpiresIn || expiresIn > portalMaxExpiresIn {
		return nil, invalid("body.expires_in", fmt.Sprintf("must be between %d and %d seconds", portalMinExpiresIn, portalMaxExpiresIn), expiresIn)
	}
	appID, err := s.appID(ctx, in.App)
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	exp := now.Add(time.Duration(expiresIn) * time.Second)
	token := newPortalToken()
	sum := sha256.Sum256([]byte(token))
	k, err := s.store.CreateAPIKey(ctx, &store.CreateAPIKeyParams{
		ID: hook.NewID("key"), Name: portalLinkName, Hash: sum[:], AppID: appID, ExpiresAt: &exp,
		Portal: true, ReadOnly: b.ReadOnly, Now: now,
	})
	if err != nil {
		// ENotFound: the app was deleted meanwhile.
		return nil, s.fail(ctx, err, "path")
	}
	base := s.publicURL
	if base == "" {
		base = in.origin
	}
	return &portalLinkOutput{Body: &PortalLink{
		URL: base + portalPath + token, Token: token, ExpiresAt: *k.ExpiresAt, ReadOnly: k.ReadOnly,
	}}, nil
}
