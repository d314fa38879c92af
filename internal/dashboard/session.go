package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// CookieName is the session cookie's name.
const CookieName = "hookd_session"

// session is a signed-in request's session, for the handlers.
type session struct {
	*store.DashboardSession
}

// authedHandler is a page handler for a signed-in request.
type authedHandler func(w http.ResponseWriter, r *http.Request, s *session)

// authed runs h for a request with a valid session; without one, a page
// read goes to the sign-in page (coming back afterwards) and anything
// else is answered 401.
func (d *Dashboard) authed(h authedHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := d.session(r)
		if err != nil {
			d.log.Error("dashboard: read session", "err", err)
			d.errorPage(w, r, nil, http.StatusServiceUnavailable, "The database did not answer; try again shortly.")
			return
		}
		if s == nil {
			if hasPortalCookie(r) { // a portal link's session, ended
				d.portalGone(w, r, http.StatusUnauthorized)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			d.render(w, r, nil, http.StatusUnauthorized, "signin", signInData{Error: "Your session has ended. Sign in again."})
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		if s.Key.Portal && !d.portalAllows(w, r, s) {
			return
		}
		h(w, r, s)
	})
}

// session returns the request's valid session, nil when it has none:
// the operator's (CookieName), else a consumer portal's
// (PortalCookieName).
func (d *Dashboard) session(r *http.Request) (*session, error) {
	s, err := d.sessionOf(r, CookieName)
	if s != nil || err != nil {
		return s, err
	}
	return d.sessionOf(r, PortalCookieName)
}

// sessionOf returns the valid session of the cookie name, nil when none.
func (d *Dashboard) sessionOf(r *http.Request, name string) (*session, error) {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(c.Value))
	s, err := d.store.GetDashboardSession(r.Context(), &store.GetDashboardSessionParams{Hash: sum[:], Now: d.now().UTC()})
	if hook.ErrorCode(err) == hook.ENotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &session{s}, nil
}

type signInData struct {
	Error string
	Next  string
}

func (d *Dashboard) signInPage(w http.ResponseWriter, r *http.Request) {
	if s, err := d.session(r); err == nil && s != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	d.render(w, r, nil, http.StatusOK, "signin", signInData{Next: safeNext(r.URL.Query().Get("next"))})
}

// signIn checks the key through the API (so that its limit on failed
// authentications per address applies here too), then opens a session.
func (d *Dashboard) signIn(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimSpace(r.PostFormValue("key"))
	next := safeNext(r.PostFormValue("next"))
	if key == "" {
		d.render(w, r, nil, http.StatusUnprocessableEntity, "signin", signInData{Error: "Enter an API key.", Next: next})
		return
	}
	ans := d.callAPI(r.Context(), r, nil, http.MethodGet, "/v1/event-types?limit=1", nil, http.Header{"Authorization": {"Bearer " + key}})
	switch {
	case ans.Status == http.StatusUnauthorized:
		d.render(w, r, nil, http.StatusUnauthorized, "signin", signInData{Error: "This API key is not valid (unknown, deleted or expired).", Next: next})
		return
	case ans.Status == http.StatusTooManyRequests:
		d.render(w, r, nil, http.StatusTooManyRequests, "signin", signInData{Error: "Too many keys that are not valid came from your address; wait a moment and try again.", Next: next})
		return
	case !ans.OK():
		d.render(w, r, nil, ans.Status, "signin", signInData{Error: ans.problem().Detail, Next: next})
		return
	}
	sum := sha256.Sum256([]byte(key))
	k, err := d.store.GetAPIKeyByHash(r.Context(), sum[:])
	if err != nil {
		d.failSignIn(w, r, err, next)
		return
	}
	now := d.now().UTC()
	token, expires, err := d.newSession(r.Context(), k, now)
	if err != nil {
		d.failSignIn(w, r, err, next)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     CookieName,
		Value:    token,
		Path:     "/",
		Expires:  expires,
		MaxAge:   int(expires.Sub(now).Seconds()),
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteLaxMode,
	})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// newSession stores a new session for the key, lasting the session TTL
// but never beyond the key's expiry, and returns its token (the cookie's
// value; only its hash is stored) and when it ends.
func (d *Dashboard) newSession(ctx context.Context, k *store.APIKey, now time.Time) (string, time.Time, error) {
	token := newToken()
	sum := sha256.Sum256([]byte(token))
	expires := now.Add(d.sessionTTL)
	if k.ExpiresAt != nil && k.ExpiresAt.Before(expires) {
		expires = *k.ExpiresAt
	}
	_, err := d.store.CreateDashboardSession(ctx, &store.CreateDashboardSessionParams{
		Hash: sum[:], KeyID: k.ID, ExpiresAt: expires, Now: now,
	})
	return token, expires, err
}

func (d *Dashboard) failSignIn(w http.ResponseWriter, r *http.Request, err error, next string) {
	if hook.ErrorCode(err) == hook.ENotFound { // deleted just now
		d.render(w, r, nil, http.StatusUnauthorized, "signin", signInData{Error: "This API key is not valid (unknown, deleted or expired).", Next: next})
		return
	}
	d.log.Error("dashboard: sign in", "err", err)
	d.render(w, r, nil, http.StatusServiceUnavailable, "signin", signInData{Error: "The database did not answer; try again shortly.", Next: next})
}

// signOut ends the session and clears the cookie.
func (d *Dashboard) signOut(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		sum := sha256.Sum256([]byte(c.Value))
		if err := d.store.DeleteDashboardSession(r.Context(), sum[:]); err != nil && hook.ErrorCode(err) != hook.ENotFound {
			d.log.Error("dashboard: sign out", "err", err)
			d.errorPage(w, r, nil, http.StatusServiceUnavailable, "The database did not answer; you are still signed in. Try again shortly.")
			return
		}
	}
	clearCookie(w, r)
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

func clearCookie(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// newToken returns a random session token: 256 bits, URL-safe.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// safeNext keeps a post-sign-in destination only when it is a path on
// this site ("/apps?x"), never another site ("//evil", "https://...").
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") || strings.ContainsAny(next, "\r\n") {
		return "/"
	}
	return next
}
