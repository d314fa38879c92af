package hook

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/oklog/ulid/v2"
)

// Limits on names and collections.
const (
	MaxEventTypeNameLen = 128
	MaxEventIDLen       = 255
	MaxUIDLen           = 255
	MaxNameLen          = 255
	MaxURLLen           = 2048
	MaxDescriptionLen   = 4096
	MaxMetadataEntries  = 64
	MaxHeaders          = 32
	MaxEventTypeFilters = 256
)

var (
	eventTypeRe = regexp.MustCompile(`^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$`)
	patternRe   = regexp.MustCompile(`^(\*|[A-Za-z0-9_-]+)(\.(\*|[A-Za-z0-9_-]+))*$`)
	eventIDRe   = regexp.MustCompile(`^[A-Za-z0-9_.:~+=-]+$`)
	uidRe       = regexp.MustCompile(`^[A-Za-z0-9_.:~+=-]+$`)
	headerRe    = regexp.MustCompile(`^[A-Za-z0-9!#$%&'*+.^_` + "`" + `|~-]+$`)
)

// ValidateEventTypeName checks that name follows resource.action: segments of
// letters, digits, '_' and '-', separated by dots, at least two.
func ValidateEventTypeName(field, name string) error {
	if name == "" {
		return Errorf(EInvalid, field, "is required")
	}
	if len(name) > MaxEventTypeNameLen {
		return Errorf(EInvalid, field, "is longer than %d characters", MaxEventTypeNameLen)
	}
	if !eventTypeRe.MatchString(name) {
		return Errorf(EInvalid, field, "%q must look like resource.action (letters, digits, '_' and '-', separated by dots)", name)
	}
	return nil
}

// ValidateEventTypePatterns checks an endpoint's subscription list: exact
// names, or patterns with '*' segments.
func ValidateEventTypePatterns(field string, patterns []string) error {
	if len(patterns) > MaxEventTypeFilters {
		return Errorf(EInvalid, field, "has more than %d entries", MaxEventTypeFilters)
	}
	for i, p := range patterns {
		f := fmt.Sprintf("%s[%d]", field, i)
		if len(p) > MaxEventTypeNameLen {
			return Errorf(EInvalid, f, "is longer than %d characters", MaxEventTypeNameLen)
		}
		if !patternRe.MatchString(p) {
			return Errorf(EInvalid, f, "%q is not an event type or a pattern such as order.* or *", p)
		}
	}
	return nil
}

// MatchEventTypes reports whether eventType is matched by any of patterns. An
// empty list matches every type. In a pattern, '*' matches one segment, and a
// final '*' matches one or more: "order.*" matches "order.created" and
// "order.payment.failed", "*.created" matches "order.created", "*" matches all.
func MatchEventTypes(patterns []string, eventType string) bool {
	if len(patterns) == 0 {
		return true
	}
	for _, p := range patterns {
		if matchPattern(p, eventType) {
			return true
		}
	}
	return false
}

func matchPattern(pattern, name string) bool {
	for {
		pseg, prest, pmore := strings.Cut(pattern, ".")
		nseg, nrest, nmore := strings.Cut(name, ".")
		if pseg == "*" && !pmore {
			return nseg != ""
		}
		if pseg != "*" && pseg != nseg {
			return false
		}
		if !pmore || !nmore {
			return pmore == nmore
		}
		pattern, name = prest, nrest
	}
}

// ValidateEventID checks a provider-given event id (also the idempotency key
// and the webhook-id header): 1 to 255 characters of letters, digits and
// _ . : ~ + = -.
func ValidateEventID(field, id string) error {
	if id == "" {
		return Errorf(EInvalid, field, "must not be empty")
	}
	if len(id) > MaxEventIDLen {
		return Errorf(EInvalid, field, "is longer than %d characters", MaxEventIDLen)
	}
	if !eventIDRe.MatchString(id) {
		return Errorf(EInvalid, field, "may contain only letters, digits and _ . : ~ + = -")
	}
	return nil
}

// ValidateUID checks an app's provider-given uid. It must not look like a
// generated app id, so that {app} in a path is never ambiguous.
func ValidateUID(field, uid string) error {
	if uid == "" {
		return nil
	}
	if len(uid) > MaxUIDLen {
		return Errorf(EInvalid, field, "is longer than %d characters", MaxUIDLen)
	}
	if !uidRe.MatchString(uid) {
		return Errorf(EInvalid, field, "may contain only letters, digits and _ . : ~ + = -")
	}
	if strings.HasPrefix(uid, "app_") {
		return Errorf(EInvalid, field, "must not start with app_ (reserved for ids)")
	}
	return nil
}

// ValidateEndpointUID checks an endpoint's provider-given uid: as an app's
// (ValidateUID), and not starting with ep_, so that {ep} in a path, which
// takes an endpoint's id or its uid, is never ambiguous.
func ValidateEndpointUID(field, uid string) error {
	if err := ValidateUID(field, uid); err != nil {
		return err
	}
	if strings.HasPrefix(uid, "ep_") {
		return Errorf(EInvalid, field, "must not start with ep_ (reserved for ids)")
	}
	return nil
}

// ValidateName checks a required display name.
func ValidateName(field, name string) error {
	if strings.TrimSpace(name) == "" {
		return Errorf(EInvalid, field, "is required")
	}
	if utf8.RuneCountInString(name) > MaxNameLen {
		return Errorf(EInvalid, field, "is longer than %d characters", MaxNameLen)
	}
	return nil
}

// ValidateDescription checks a free-text description.
func ValidateDescription(field, s string) error {
	if utf8.RuneCountInString(s) > MaxDescriptionLen {
		return Errorf(EInvalid, field, "is longer than %d characters", MaxDescriptionLen)
	}
	return nil
}

// ValidateMetadata bounds a metadata map.
func ValidateMetadata(field string, m map[string]string) error {
	if len(m) > MaxMetadataEntries {
		return Errorf(EInvalid, field, "has more than %d entries", MaxMetadataEntries)
	}
	for k, v := range m {
		if k == "" || len(k) > 256 || len(v) > 4096 {
			return Errorf(EInvalid, field+"."+k, "keys must be 1 to 256 bytes and values at most 4096")
		}
	}
	return nil
}

// reservedHeaders are set by hookd on every delivery and cannot be
// overridden by an endpoint's custom headers.
var reservedHeaders = map[string]bool{
	"webhook-id": true, "webhook-timestamp": true, "webhook-signature": true,
	"content-type": true, "content-length": true, "host": true, "user-agent": true,
	"transfer-encoding": true, "connection": true,
}

// ValidateHeaders checks an endpoint's custom headers: at most MaxHeaders;
// names that are tokens of at most MaxHeaderNameLen bytes, not set by hookd
// (reservedHeaders) nor hop-by-hop or framing headers (Upgrade, TE,
// Expect, ...), each name once whatever its case; values of at most
// MaxHeaderValueLen bytes of visible ASCII, spaces and tabs, beginning and
// ending with a visible character. An error names the header at fault,
// field.<name>; with several at fault, the first in name order. Its
// message never repeats a value.
func ValidateHeaders(field string, h map[string]string) error {
	if len(h) > MaxHeaders {
		return Errorf(EInvalid, field, "has more than %d entries", MaxHeaders)
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	slices.Sort(names)
	seen := make(map[string]string, len(h))
	for _, k := range names {
		f := field + "." + k
		if p := headerNameProblem(k); p != "" {
			return Errorf(EInvalid, f, "%s", p)
		}
		if first, ok := seen[strings.ToLower(k)]; ok {
			return Errorf(EInvalid, f, "repeats the header %s: header names are case-insensitive", first)
		}
		seen[strings.ToLower(k)] = k
		if p := headerValueProblem(h[k]); p != "" {
			return Errorf(EInvalid, f, "%s", p)
		}
	}
	return nil
}

// ValidateEndpointURL checks the form of an endpoint URL: absolute http or
// https with a host and no credentials. Whether the host may be reached is
// decided by the network guard.
func ValidateEndpointURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, Errorf(EInvalid, field, "is required")
	}
	if len(raw) > MaxURLLen {
		return nil, Errorf(EInvalid, field, "is longer than %d characters", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, Errorf(EInvalid, field, "is not a valid URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, Errorf(EInvalid, field, "must use http or https")
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, Errorf(EInvalid, field, "must have a host")
	}
	if u.User != nil {
		return nil, Errorf(EInvalid, field, "must not contain credentials; use a custom header")
	}
	if u.Fragment != "" {
		return nil, Errorf(EInvalid, field, "must not contain a fragment")
	}
	return u, nil
}

// SecretPrefix starts every endpoint secret.
const SecretPrefix = "whsec_"

// NewSecret returns a fresh random endpoint secret: "whsec_" and 32 random
// bytes in base64.
func NewSecret() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b)
}

// ValidateSecret checks a provider-given secret: "whsec_" and base64 of 24
// to 64 bytes.
func ValidateSecret(field, s string) error {
	raw, ok := strings.CutPrefix(s, SecretPrefix)
	if !ok {
		return Errorf(EInvalid, field, "must start with %s", SecretPrefix)
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return Errorf(EInvalid, field, "must be %s followed by base64", SecretPrefix)
	}
	if len(b) < 24 || len(b) > 64 {
		return Errorf(EInvalid, field, "must encode 24 to 64 bytes, not %d", len(b))
	}
	return nil
}

// NewID returns a new id with the given prefix ("app", "ep", "evt", "dlv",
// "att", "key"): the prefix, '_', and a lower-case ULID, so ids sort by time.
func NewID(prefix string) string {
	return prefix + "_" + strings.ToLower(ulid.Make().String())
}

// ValidateSignatureScheme checks a provider signature scheme; nil (Standard
// Webhooks) is valid. Errors name the field below field, e.g.
// "signature.encoding".
func ValidateSignatureScheme(field string, s *SignatureScheme) error {
	if s == nil {
		return nil
	}
	switch s.Scheme {
	case SchemeStandard:
		if *s != (SignatureScheme{Scheme: SchemeStandard}) {
			return Errorf(EInvalid, field, "takes no other fields with scheme %q", SchemeStandard)
		}
		return nil
	case SchemeHMAC:
	default:
		return Errorf(EInvalid, field+".scheme", "must be %q or %q", SchemeStandard, SchemeHMAC)
	}
	header := func(name, v string, required bool) error {
		f := field + "." + name
		switch {
		case v == "" && required:
			return Errorf(EInvalid, f, "is required")
		case v == "":
			return nil
		case len(v) > 64 || !headerRe.MatchString(v):
			return Errorf(EInvalid, f, "%q is not an HTTP header name", v)
		}
		if reservedHeaders[strings.ToLower(v)] {
			return Errorf(EInvalid, f, "%q is set by hookd and cannot carry the signature", v)
		}
		if hopByHopHeaders[strings.ToLower(v)] {
			return Errorf(EInvalid, f, "%q is a hop-by-hop or framing header and cannot carry the signature", v)
		}
		return nil
	}
	if err := header("header", s.Header, true); err != nil {
		return err
	}
	if err := header("timestamp_header", s.TimestampHeader, false); err != nil {
		return err
	}
	if err := header("id_header", s.IDHeader, false); err != nil {
		return err
	}
	switch s.Encoding {
	case SignatureHex, SignatureBase64:
	default:
		return Errorf(EInvalid, field+".encoding", "must be %q or %q", SignatureHex, SignatureBase64)
	}
	switch s.Payload {
	case SignBody, SignTimestampBody, SignIDTimestampBody:
	default:
		return Errorf(EInvalid, field+".payload", "must be %q, %q or %q", SignBody, SignTimestampBody, SignIDTimestampBody)
	}
	switch s.Key {
	case KeySecretBytes, KeyWhsec:
	default:
		return Errorf(EInvalid, field+".key", "must be %q (the secret's bytes) or %q (the base64 key after whsec_)", KeySecretBytes, KeyWhsec)
	}
	if len(s.Prefix) > 32 || strings.ContainsAny(s.Prefix, "\r\n") {
		return Errorf(EInvalid, field+".prefix", "must be at most 32 characters on one line")
	}
	return nil
}

// ValidateProviderSecret checks a provider's own secret, kept when it moves
// its endpoints to hookd with a signature scheme keyed by the secret's
// bytes: 16 to 256 printable ASCII characters, no spaces.
func ValidateProviderSecret(field, s string) error {
	if len(s) < 16 || len(s) > 256 {
		return Errorf(EInvalid, field, "must be 16 to 256 characters, not %d", len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return Errorf(EInvalid, field, "must be printable ASCII without spaces")
		}
	}
	return nil
}
