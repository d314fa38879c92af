package api

import (
	"bytes"
	"encoding/json"
	"net/url"
	"reflect"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd/internal/hook"
)

// brandingBody is an app's branding in a request (create-app,
// update-app): how its consumer portal presents it.
type brandingBody struct {
	DisplayName string `json:"display_name,omitempty" maxLength:"100" doc:"The name the portal's header shows, on one line (at most 100 characters); absent: the app's name." example:"Acme Webhooks"`
	LogoURL     string `json:"logo_url,omitempty" maxLength:"2048" doc:"An absolute https URL of an image shown next to the name (at most 2048 characters)." example:"https://cdn.example.com/acme.png"`
	AccentColor string `json:"accent_color,omitempty" maxLength:"7" doc:"The portal's accent colour, #rrggbb." example:"#0a7cff"`
}

// brandingPatch is the branding of update-app: absent keeps the app's, null
// removes it, an object replaces it.
type brandingPatch struct {
	// Set is whether the body has the member (null included).
	Set bool
	// Value is nil for null.
	Value *brandingBody
}

// UnmarshalJSON notes that the member is present.
func (b *brandingPatch) UnmarshalJSON(data []byte) error {
	b.Set = true
	if bytes.Equal(bytes.TrimSpace(data), []byte("null")) {
		b.Value = nil
		return nil
	}
	b.Value = &brandingBody{}
	return json.Unmarshal(data, b.Value)
}

// Schema is brandingBody's, nullable.
func (brandingPatch) Schema(r huma.Registry) *huma.Schema {
	s := r.Schema(reflect.TypeOf(brandingBody{}), false, "")
	c := *s
	c.Nullable = true
	c.Description = "Replaces the app's branding; null removes it."
	return &c
}

// checkBranding validates b, appending its problems (at body.branding.*),
// and returns what the app keeps: nil when b is nil or sets nothing.
func checkBranding(errs []*huma.ErrorDetail, b *brandingBody) (*hook.Branding, []*huma.ErrorDetail) {
	if b == nil {
		return nil, errs
	}
	const loc = "body.branding."
	if strings.ContainsFunc(b.DisplayName, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		errs = append(errs, &huma.ErrorDetail{Location: loc + "display_name", Message: "must be on one line, without control characters", Value: b.DisplayName})
	}
	if b.LogoURL != "" {
		if msg := checkLogoURL(b.LogoURL); msg != "" {
			errs = append(errs, &huma.ErrorDetail{Location: loc + "logo_url", Message: msg, Value: b.LogoURL})
		}
	}
	if b.AccentColor != "" && !isHexColor(b.AccentColor) {
		errs = append(errs, &huma.ErrorDetail{Location: loc + "accent_color", Message: "must be a colour as #rrggbb, such as #0a7cff", Value: b.AccentColor})
	}
	if *b == (brandingBody{}) {
		return nil, errs
	}
	return &hook.Branding{DisplayName: b.DisplayName, LogoURL: b.LogoURL, AccentColor: b.AccentColor}, errs
}

// checkLogoURL says what is wrong with a logo URL ("" for nothing): it
// must be an absolute https URL with a host and no user.
func checkLogoURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.Opaque != "" {
		return "must be an absolute https:// URL, such as https://cdn.example.com/logo.png"
	}
	if u.User != nil {
		return "must not hold a user or password"
	}
	if strings.ContainsAny(raw, " \t\r\n\"'<>\\") {
		return "must not hold spaces, quotes, angle brackets or backslashes"
	}
	return ""
}

// isHexColor reports whether s is #rrggbb.
func isHexColor(s string) bool {
	if len(s) != 7 || s[0] != '#' {
		return false
	}
	for _, c := range s[1:] {
		if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
			return false
		}
	}
	return true
}
