package hook_test

import (
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/netguard"
)

// FuzzValidateEndpointURL checks the form check of endpoint URLs: it never
// panics; a refusal is an EInvalid *hook.Error on the field; an accepted URL
// is absolute http or https with a host, no userinfo and no fragment, at
// most MaxURLLen long, re-parses (as the dispatcher's http.NewRequest does)
// to the same scheme, host and port, and, when its String parses, that
// names the same host and is accepted again. With the network
// guard's save-time check (netguard.CheckHost on Hostname, as the server
// wires it): a host that is an IP literal net/netip classifies as loopback,
// private, link-local, multicast or unspecified is refused, and Host (port,
// brackets) gets the same answer as Hostname.
func FuzzValidateEndpointURL(f *testing.F) {
	for _, s := range []string{
		"https://example.com/hook", "http://example.com:8080/a?b=c", "HTTPS://EXAMPLE.COM", "https://example.com:/x",
		"http://127.0.0.1/", "http://[::1]:80/", "http://[fe80::1%25eth0]:8080/", "http://[::ffff:10.0.0.1]/",
		"http://169.254.169.254/latest/meta-data", "http://2130706433/", "http://0x7f.1/", "http://localhost./",
		"http://[64:ff9b::a00:1]/", "http://0/", "https://xn--bcher-kva.example/", "https://bücher.example/",
		"", "ftp://example.com", "example.com/hook", "https://", "https://user:pw@example.com", "https://@example.com",
		"https://example.com/#frag", "https://example.com/#", "javascript:alert(1)", "http:/example.com", "http:///x",
		"https://example.com:99999", "https://exa mple.com", "http://[::1", "http://%41.com", "//example.com/x",
		"https://example.com/" + strings.Repeat("a", hook.MaxURLLen),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := hook.ValidateEndpointURL("url", raw)
		if err != nil {
			var he *hook.Error
			if !errors.As(err, &he) || he.Code != hook.EInvalid || he.Field != "url" || he.Message == "" {
				t.Fatalf("ValidateEndpointURL(%q) = %#v, want an EInvalid *hook.Error on url", raw, err)
			}
			if u != nil {
				t.Fatalf("ValidateEndpointURL(%q) returned %v with an error", raw, u)
			}
			return
		}
		if u == nil {
			t.Fatalf("ValidateEndpointURL(%q) returned neither a URL nor an error", raw)
		}
		if len(raw) > hook.MaxURLLen {
			t.Fatalf("ValidateEndpointURL accepted %d bytes, more than %d", len(raw), hook.MaxURLLen)
		}
		if u.Scheme != "http" && u.Scheme != "https" {
			t.Fatalf("ValidateEndpointURL(%q): scheme %q accepted", raw, u.Scheme)
		}
		if u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
			t.Fatalf("ValidateEndpointURL(%q): accepted without a host (host %q, opaque %q)", raw, u.Host, u.Opaque)
		}
		if u.User != nil {
			t.Fatalf("ValidateEndpointURL(%q): userinfo %q accepted", raw, u.User)
		}
		if u.Fragment != "" {
			t.Fatalf("ValidateEndpointURL(%q): fragment %q accepted", raw, u.Fragment)
		}
		// hookd stores raw and the dispatcher re-parses it: the same URL.
		u2, err := url.Parse(raw)
		if err != nil || u2.Scheme != u.Scheme || u2.Host != u.Host || u2.Hostname() != u.Hostname() || u2.Port() != u.Port() || u2.User != nil {
			t.Fatalf("accepted %q (scheme %q host %q), but it re-parses to %+v (%v)", raw, u.Scheme, u.Host, u2, err)
		}
		req, err := http.NewRequest(http.MethodPost, raw, nil)
		if err != nil || req.URL.Scheme != u.Scheme || req.URL.Hostname() != u.Hostname() || req.URL.Port() != u.Port() || req.URL.User != nil {
			t.Fatalf("accepted %q (scheme %q host %q), but a request to it is %v (%v)", raw, u.Scheme, u.Host, req, err)
		}
		// Its String need not parse (net/url writes some IPv6 zones in a
		// form it refuses), but when it does it names the same host, and
		// passes again.
		if again := u.String(); len(again) <= hook.MaxURLLen {
			if u3, err := url.Parse(again); err == nil {
				if u3.Scheme != u.Scheme || u3.Host != u.Host || u3.User != nil {
					t.Fatalf("accepted %q (scheme %q host %q), but its String %q re-parses to scheme %q host %q user %v",
						raw, u.Scheme, u.Host, again, u3.Scheme, u3.Host, u3.User)
				}
				if _, err := hook.ValidateEndpointURL("url", again); err != nil {
					t.Fatalf("accepted %q, but not its String %q: %v", raw, again, err)
				}
			}
		}

		// The save-time SSRF check, as the server wires it, on Hostname;
		// on an IP literal, Host (with port and brackets) gets the same
		// answer.
		nameErr := netguard.CheckHost(u.Hostname(), false)
		if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
			if hostErr := netguard.CheckHost(u.Host, false); (hostErr == nil) != (nameErr == nil) {
				t.Fatalf("%q: CheckHost(Host %q) = %v, CheckHost(Hostname %q) = %v", raw, u.Host, hostErr, u.Hostname(), nameErr)
			}
			if nameErr == nil && (ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
				ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified()) {
				t.Fatalf("%q: the guard allows host %s, which is restricted", raw, ip)
			}
		}
	})
}
