package config

import (
	"slices"
	"strings"
	"testing"
)

func TestPortalFrameAncestors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		in   string
		want []string // nil: refused
	}{
		{"", []string{}},
		{"https://app.example.com", []string{"https://app.example.com"}},
		{"https://App.Example.com/, http://localhost:3000", []string{"https://app.example.com", "http://localhost:3000"}},
		{"https://a.example.com  https://*.b.example.com\thttps://[::1]:8443", []string{"https://a.example.com", "https://*.b.example.com", "https://[::1]:8443"}},
		{"'self'", nil},
		{"*", nil},
		{"'none'", nil},
		{"app.example.com", nil},
		{"ftp://app.example.com", nil},
		{"https://app.example.com/settings", nil},
		{"https://app.example.com?x=1", nil},
		{"https://app.example.com;script-src", nil},
		{"https://", nil},
		{"https://a.example.com:port", nil},
	} {
		got, err := ParseFrameAncestors(c.in)
		if c.want == nil {
			if err == nil {
				t.Errorf("ParseFrameAncestors(%q) = %q, want an error", c.in, got)
			}
			cfg := Default()
			cfg.PortalFrameAncestors = c.in
			if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "HOOKD_PORTAL_FRAME_ANCESTORS") {
				t.Errorf("Validate with %q: %v, want HOOKD_PORTAL_FRAME_ANCESTORS refused", c.in, err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) && len(got)+len(c.want) > 0 {
			t.Errorf("ParseFrameAncestors(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}
