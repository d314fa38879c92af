package hook

import (
	"slices"
	"strings"
)

// An endpoint's custom headers are sent with every delivery to it. They
// often carry the receiver's credentials (ValidateEndpointURL sends users
// there), so their values are treated as secrets: answers that show an
// endpoint show HeaderValueMask in place of each value, and only a route of
// their own reveals them.

// HeaderValueMask is shown in place of every custom header value in the
// answers that show an endpoint. It says nothing of the value, not even its
// length. An update that sends it back as a header's value keeps the value
// stored for that header (see UnmaskHeaders), so a client may send back
// what it read; it can therefore never be a header's real value.
const HeaderValueMask = "********"

// Limits on a custom header.
const (
	MaxHeaderNameLen  = 256
	MaxHeaderValueLen = 4096
)

// hopByHopHeaders are headers about the connection or the message's
// framing rather than the delivery (RFC 9110 sections 7.6.1, 10.1.1 and
// 8.4, RFC 9113 section 8.2.2): hookd frames each delivery itself, and an
// endpoint setting them could smuggle a second request, ask a proxy for
// its credentials, or make the receiver misread the body. Lower case.
// (Connection, Host, Content-Length and Transfer-Encoding are in
// reservedHeaders.)
var hopByHopHeaders = map[string]bool{
	"keep-alive": true, "proxy-authenticate": true, "proxy-authorization": true, "proxy-connection": true,
	"te": true, "trailer": true, "upgrade": true, "expect": true, "content-encoding": true,
	"http2-settings": true,
}

// headerNameProblem says what is wrong with a custom header name, or "".
// The checks are case-insensitive, as header names are.
func headerNameProblem(name string) string {
	switch lower := strings.ToLower(name); {
	case len(name) > MaxHeaderNameLen:
		return "is longer than 256 bytes"
	case !headerRe.MatchString(name):
		return "is not a valid header name (a token: letters, digits and !#$%&'*+-.^_`|~)"
	case reservedHeaders[lower]:
		return "is set by hookd and cannot be overridden"
	case hopByHopHeaders[lower]:
		return "is a hop-by-hop or framing header, which hookd sets itself for each delivery; an endpoint cannot set it"
	}
	return ""
}

// headerValueProblem says what is wrong with a custom header value, or "".
// A value is visible ASCII, with spaces and tabs only between visible
// characters (RFC 9110 section 5.5, without obs-text). The message never
// repeats the value: it may be a credential.
func headerValueProblem(v string) string {
	if len(v) > MaxHeaderValueLen {
		return "value is longer than 4096 bytes"
	}
	for i := 0; i < len(v); i++ {
		switch c := v[i]; {
		case c == ' ' || c == '\t':
			if i == 0 || i == len(v)-1 {
				return "value must not start or end with a space or a tab"
			}
		case c < 0x20 || c == 0x7f:
			return "value must not contain control characters (line breaks, NUL, ...); a tab only between other characters"
		case c >= 0x80:
			return "value must be ASCII: visible characters, spaces and tabs"
		}
	}
	return ""
}

// MaskHeaders returns a copy of h with every value HeaderValueMask: the
// headers as answers show them.
func MaskHeaders(h map[string]string) map[string]string {
	out := make(map[string]string, len(h))
	for k := range h {
		out[k] = HeaderValueMask
	}
	return out
}

// UnmaskHeaders returns the headers an update that sends next means, given
// the endpoint's current ones: a value that is HeaderValueMask stands for
// the value current holds for that header (names compared
// case-insensitively), as when a client sends back the headers it read.
// A mask for a header that current lacks is an EInvalid error naming
// field.<name>: hookd has no value to keep, and would otherwise store the
// mask. With current nil (a new endpoint) every mask is refused. next is
// not modified.
func UnmaskHeaders(field string, current, next map[string]string) (map[string]string, error) {
	out := make(map[string]string, len(next))
	names := make([]string, 0, len(next))
	for k := range next {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		v := next[k]
		if v == HeaderValueMask {
			cur, ok := current[k]
			if !ok {
				for ck, cv := range current {
					if strings.EqualFold(ck, k) {
						cur, ok = cv, true
						break
					}
				}
			}
			if !ok {
				return nil, Errorf(EInvalid, field+"."+k, "is %q, the mask that stands for a stored value, and the endpoint has no %s header to keep: send the value itself", HeaderValueMask, k)
			}
			v = cur
		}
		out[k] = v
	}
	return out, nil
}

// SendableHeader reports whether a delivery may carry an endpoint's custom
// header of this name: ValidateHeaders refuses the others, but an endpoint
// stored before it did may still hold one (Upgrade, Expect, ...), which
// the dispatcher then leaves out.
func SendableHeader(name string) bool {
	return headerNameProblem(name) == ""
}
