package dashboard_test

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/dashboard"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// noDispatch is a Dispatcher for tests that publish nothing.
type noDispatch struct{}

func (noDispatch) Publish(context.Context, *hook.App, *hook.Event) (*store.InsertEventResult, error) {
	return nil, nil
}
func (noDispatch) PublishBatch(context.Context, *hook.App, []*hook.Event) ([]*store.InsertEventResult, error) {
	return nil, nil
}
func (noDispatch) AppChanged(*hook.App)           {}
func (noDispatch) Emit(string, string, any)       {}
func (noDispatch) EndpointChanged(*hook.Endpoint) {}
func (noDispatch) EndpointDeleted(string)         {}
func (noDispatch) Wake()                          {}

// newDashboard serves the API and the dashboard (as hookd serve mounts
// them) on httptest, with a clock that stands still, and an admin key.
func newDashboard(t *testing.T, authFailureRate float64) string {
	t.Helper()
	srv := httptest.NewServer(newDashboardHandler(t, authFailureRate))
	t.Cleanup(srv.Close)
	return srv.URL
}

func newDashboardHandler(t *testing.T, authFailureRate float64) http.Handler {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	sum := sha256.Sum256([]byte(adminKey))
	if _, err := st.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{ID: hook.NewID("key"), Name: "admin", Hash: sum[:], Now: now}); err != nil {
		t.Fatal(err)
	}
	apiH, err := api.New(api.Config{Store: st, Dispatcher: noDispatch{}, Now: clock, Logger: slog.New(slog.DiscardHandler), AuthFailureRate: authFailureRate})
	if err != nil {
		t.Fatal(err)
	}
	dash, err := dashboard.New(dashboard.Config{API: apiH, Store: st, Now: clock, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/v1/", apiH)
	mux.Handle("/", dash)
	return mux
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

func postSignIn(t *testing.T, base string, form url.Values) *http.Response {
	t.Helper()
	resp, err := noRedirects.PostForm(base+"/signin", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// TestSignInThrottled: wrong keys count against the address like the
// API's: over the limit, sign-in answers 429 before looking at the key,
// even a right one.
func TestSignInThrottled(t *testing.T) {
	base := newDashboard(t, 1) // a burst of 2 failures, and the clock stands still
	for i := range 2 {
		if resp := postSignIn(t, base, url.Values{"key": {"sk_wrong"}}); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("wrong key %d: %d, want 401", i+1, resp.StatusCode)
		}
	}
	if resp := postSignIn(t, base, url.Values{"key": {adminKey}}); resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("right key after the burst of wrong ones: %d, want 429", resp.StatusCode)
	}
}

// TestSignInNext: after sign-in the browser goes back where it was sent
// from, but only to a path of this site, never to another site.
func TestSignInNext(t *testing.T) {
	base := newDashboard(t, 0)
	for next, want := range map[string]string{
		"/apps?cursor=x":       "/apps?cursor=x",
		"":                     "/",
		"//evil.example/x":     "/",
		"/\\evil.example":      "/",
		"https://evil.example": "/",
	} {
		resp := postSignIn(t, base, url.Values{"key": {adminKey}, "next": {next}})
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != want {
			t.Errorf("next %q: %d to %q, want 303 to %q", next, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if c := resp.Header.Get("Set-Cookie"); !strings.HasPrefix(c, dashboard.CookieName+"=") {
			t.Errorf("next %q: Set-Cookie %q", next, c)
		}
	}
}

// TestSessionCookieSecureOverTLS: over TLS the session cookie is Secure
// (and HttpOnly, SameSite=Lax, Path=/, with an expiry).
func TestSessionCookieSecureOverTLS(t *testing.T) {
	srv := httptest.NewTLSServer(newDashboardHandler(t, 0))
	t.Cleanup(srv.Close)
	client := srv.Client()
	client.CheckRedirect = noRedirects.CheckRedirect
	resp, err := client.PostForm(srv.URL+"/signin", url.Values{"key": {adminKey}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"; Secure", "; HttpOnly", "; SameSite=Lax", "; Path=/", "; Expires=", "; Max-Age=43200"} {
		if !strings.Contains(c, want) {
			t.Errorf("Set-Cookie over TLS %q lacks %q", c, want)
		}
	}
}
