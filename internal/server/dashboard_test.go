package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/config"
)

// TestDashboardRouting: with the dashboard on (the default), / is the
// dashboard (which sends a browser to sign in) while /v1/..., /healthz and
// /readyz stay the API's; HOOKD_DASHBOARD=false answers / as before, a
// problem 404.
func TestDashboardRouting(t *testing.T) {
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(t *testing.T, h *hookd, path string) (*http.Response, string) {
		t.Helper()
		resp, err := noRedirect.Get(h.base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	t.Run("on", func(t *testing.T) {
		h, _ := startHookdWith(t, nil)
		resp, _ := get(t, h, "/")
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/signin") {
			t.Errorf("GET /: %d Location %q, want 303 to /signin", resp.StatusCode, resp.Header.Get("Location"))
		}
		resp, body := get(t, h, "/signin")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="key"`) || resp.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("GET /signin: %d, CSP %q, body %.200s", resp.StatusCode, resp.Header.Get("Content-Security-Policy"), body)
		}
		for path, want := range map[string]int{"/healthz": 200, "/readyz": 200, "/v1/apps": 401, "/v1/nope": 404} {
			resp, body := get(t, h, path)
			if resp.StatusCode != want || !strings.Contains(resp.Header.Get("Content-Type"), "json") {
				t.Errorf("GET %s: %d %s %.100s, want %d from the API", path, resp.StatusCode, resp.Header.Get("Content-Type"), body, want)
			}
		}
	})
	t.Run("off", func(t *testing.T) {
		h, _ := startHookdWith(t, func(c *config.Config) { c.Dashboard = false })
		for _, path := range []string{"/", "/signin", "/static/dashboard.css"} {
			resp, _ := get(t, h, path)
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("GET %s with the dashboard off: %d %s, want the API's problem 404", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			}
		}
	})
}
