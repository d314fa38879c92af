package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// authMiddleware authenticates operations that declare security: the bearer
// key's SHA-256 must be a stored key that has not expired at Config.Now
// (401 otherwise, with WWW-Authenticate),
// and a key bound to an app reaches only that app's routes and the
// event-type reads (403 otherwise); a portal link's token reaches fewer
// (portalOperations, and only GET when read-only). It also refuses a declared body larger
// than the limit before reading it (413).
//
// Rate limits come first (429 with Retry-After): a client address over its
// budget of failed authentications is refused before its key is looked at
// (otherwise a guesser would still learn which keys are valid), and a key
// over its request rate is refused before anything else is checked. A
// refused request is counted against neither.
//
// A request handed in-process with a context from AsKey is authenticated
// by that key instead of its Authorization header.
func (s *server) authMiddleware(ctx huma.Context, next func(huma.Context)) {
	op := ctx.Operation()
	if len(op.Security) == 0 {
		next(ctx)
		return
	}
	if s.authFails != nil {
		if wait := s.authFails.wait(clientAddr(ctx.RemoteAddr())); wait > 0 {
			s.tooManyRequests(ctx, wait, "too many requests with a key that is not valid came from this address")
			return
		}
	}
	key, ok := inProcessKey(ctx.Context())
	if ok && key.Expired(s.now()) {
		s.refuseKey(ctx)
		return
	}
	if !ok {
		if key, ok = s.authenticate(ctx); !ok {
			return
		}
	}
	if s.keyLimit != nil {
		if wait, ok := s.keyLimit.take(key.ID); !ok {
			s.tooManyRequests(ctx, wait, "this API key is over its request rate limit")
			return
		}
	}
	if key.Portal && !s.authorizePortal(ctx, key) {
		return
	}
	if (key.AppID != "" || key.Portal) && !s.authorize(ctx, key) {
		return
	}
	if cl := ctx.Header("Content-Length"); cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > s.bodyLimit(ctx) {
			s.writeErr(ctx, http.StatusRequestEntityTooLarge, s.tooLarge(ctx))
			return
		}
	}
	next(huma.WithValue(ctx, authKeyCtx{}, key))
}

// authKeyCtx is the context key under which authMiddleware leaves the
// request's API key for the handlers.
type authKeyCtx struct{}

// boundToApp reports whether the request was made with a key bound to an
// app (not an admin key). A context without a key (no authentication)
// counts as bound: the caller gets the narrower rights.
func boundToApp(ctx context.Context) bool {
	k, ok := ctx.Value(authKeyCtx{}).(*store.APIKey)
	return !ok || k.AppID != ""
}

func (s *server) authenticate(ctx huma.Context) (*store.APIKey, bool) {
	h := ctx.Header("Authorization")
	scheme, token, _ := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if h == "" || !strings.EqualFold(scheme, "Bearer") || token == "" {
		ctx.SetHeader("WWW-Authenticate", `Bearer`)
		s.writeErr(ctx, http.StatusUnauthorized, "an API key is required: Authorization: Bearer <key>")
		return nil, false
	}
	sum := sha256.Sum256([]byte(token))
	// An expired key is refused like an unknown one, whether cached or
	// read: the cache keeps the key's expiry, not a verdict.
	if k, ok := s.keys.get(sum[:]); ok {
		if k.Expired(s.now()) {
			return nil, s.refuseKey(ctx)
		}
		return k, true
	}
	epoch := s.keys.current()
	k, err := s.store.GetAPIKeyByHash(ctx.Context(), sum[:])
	if err != nil {
		if hook.ErrorCode(err) == hook.ENotFound {
			return nil, s.refuseKey(ctx)
		}
		s.writeError(ctx, s.fail(ctx.Context(), err, ""))
		return nil, false
	}
	if k.Expired(s.now()) {
		return nil, s.refuseKey(ctx)
	}
	// A portal link's token is read from the store on every request, so
	// that revoking links (or deleting one) ends them at once on every
	// node; its traffic is a person's, or a provider's own portal.
	if !k.Portal {
		s.keys.putIfCurrent(sum[:], k, epoch)
	}
	return k, true
}

// refuseKey answers a key that is not valid (unknown or expired) with 401,
// and counts it against the client's address. It returns false.
func (s *server) refuseKey(ctx huma.Context) bool {
	// Only a key that is not valid counts as a failure: a missing header
	// costs nothing and guesses nothing.
	if s.authFails != nil {
		s.authFails.take(clientAddr(ctx.RemoteAddr()))
	}
	ctx.SetHeader("WWW-Authenticate", `Bearer error="invalid_token"`)
	s.writeErr(ctx, http.StatusUnauthorized, "the API key is not valid")
	return false
}

// authorize checks an app-bound key against the operation's scope.
func (s *server) authorize(ctx huma.Context, key *store.APIKey) bool {
	sc, _ := ctx.Operation().Metadata[scopeKey].(scope)
	switch sc {
	case scopeAny:
		return true
	case scopeAdmin:
		s.writeErr(ctx, http.StatusForbidden, "this route needs an admin key; this API key is bound to one app")
		return false
	case scopeApp:
		ref := ctx.Param("app")
		if ref == key.AppID {
			return true
		}
		a, err := s.cachedApp(ctx.Context(), ref)
		if err == nil && a.ID == key.AppID {
			return true
		}
		if err != nil && hook.ErrorCode(err) != hook.ENotFound {
			s.writeError(ctx, s.fail(ctx.Context(), err, ""))
			return false
		}
	}
	// An unknown app is refused like another app's: a bound key learns
	// nothing of the others. (Nor does it through a uid taken: only admin
	// keys change uids, see update-app.)
	s.writeErr(ctx, http.StatusForbidden, "this API key is bound to another app")
	return false
}

func (s *server) writeErr(ctx huma.Context, status int, detail string) {
	_ = huma.WriteErr(s.api, ctx, status, detail)
}

// writeError writes an error made by fail (a huma.StatusError, perhaps
// with headers: see huma.ErrorWithHeaders).
func (s *server) writeError(ctx huma.Context, err error) {
	var he huma.HeadersError
	if errors.As(err, &he) {
		for k, vs := range he.GetHeaders() {
			for _, v := range vs {
				ctx.AppendHeader(k, v)
			}
		}
	}
	var em *huma.ErrorModel
	if !errors.As(err, &em) {
		var se huma.StatusError
		if !errors.As(err, &se) {
			s.writeErr(ctx, http.StatusInternalServerError, "internal error")
			return
		}
		s.writeErr(ctx, se.GetStatus(), se.Error())
		return
	}
	errs := make([]error, len(em.Errors))
	for i, d := range em.Errors {
		errs[i] = d
	}
	_ = huma.WriteErr(s.api, ctx, em.Status, em.Detail, errs...)
}
