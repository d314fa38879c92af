package config

import (
	"strings"
	"testing"
)

func TestValidatePublicURL(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		url string
		ok  bool
	}{
		{"", true},
		{"https://hooks.example.com", true},
		{"https://hooks.example.com/", true},
		{"http://127.0.0.1:8080/hookd", true},
		{"hooks.example.com", false},
		{"/portal", false},
		{"ftp://hooks.example.com", false},
		{"https://", false},
		{"https://user:pw@hooks.example.com", false},
		{"https://hooks.example.com/?a=b", false},
		{"https://hooks.example.com/#x", false},
		{"https://hooks example.com", false},
	} {
		cfg := Default()
		cfg.PublicURL = c.url
		err := cfg.Validate()
		switch {
		case c.ok && err != nil:
			t.Errorf("%q refused: %v", c.url, err)
		case !c.ok && (err == nil || !strings.Contains(err.Error(), "HOOKD_PUBLIC_URL")):
			t.Errorf("%q: error %v, want one naming HOOKD_PUBLIC_URL", c.url, err)
		}
	}
}
