// Package netguard keeps hookd from connecting to the operator's own
// network (SSRF protection).
//
// hookd POSTs to URLs its users register. Unless the operator allows private
// networks (HOOKD_ALLOW_PRIVATE_NETWORKS=true), connections are refused to
// every address IANA's IPv4 and IPv6 Special-Purpose Address Registries
// (RFC 6890) mark as not globally reachable: loopback, private, link-local,
// CGNAT, documentation, benchmarking, reserved, discard, local-use NAT64,
// Teredo and the like. Multicast addresses and IPv6 addresses outside the
// global unicast space 2000::/3 are refused too. The globally reachable
// blocks the registries carve out of larger reserved ones (such as
// 192.0.0.9/32 or 2001:3::/32) are allowed: the most specific block holding
// an address decides. Addresses that carry an IPv4 address (IPv4-mapped,
// NAT64, 6to4, IPv4-compatible) are judged by it.
//
// The authoritative check is [Control], installed on the dialer by
// [NewDialer]: it runs after DNS resolution, on the IP actually being
// connected to, so a name that resolves (or later re-resolves, as in DNS
// rebinding) to a blocked address cannot get through. [CheckHost] is only a
// quick check for a friendlier error when an endpoint URL is saved.
//
// The guard only sees the address the dialer connects to: an HTTP proxy
// configured on the transport would connect on hookd's behalf and bypass it.
package netguard

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// envAllowPrivate is the setting that turns the guard off, named in errors.
const envAllowPrivate = "HOOKD_ALLOW_PRIVATE_NETWORKS"

// BlockedError reports a refused connection to, or endpoint host at, a
// blocked address. Use errors.As to detect it.
type BlockedError struct {
	// Addr is the refused address.
	Addr netip.Addr
}

// Error describes the refusal and how to allow it.
func (e *BlockedError) Error() string {
	return "netguard: connection to " + e.Addr.String() +
		" is refused: private network addresses are not allowed (set " +
		envAllowPrivate + "=true to allow)"
}

// IsBlocked reports whether connections to ip are refused when private
// networks are not allowed: the most specific block of the guard's table
// (IANA's special-purpose registries, multicast, and IPv6 outside
// 2000::/3) that holds ip decides. IPv4-mapped (::ffff:a.b.c.d), NAT64
// (64:ff9b::/96), IPv4-compatible (::a.b.c.d) and 6to4 (2002::/16)
// addresses are blocked if the IPv4 address they carry is. An IPv6 zone is
// ignored. The invalid (zero) Addr is blocked.
func IsBlocked(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	// Prefix.Contains never matches a zoned address.
	ip = ip.WithZone("")
	r, ok := mostSpecific(ip)
	if !ok {
		return false // an IPv4 address no block holds: global unicast
	}
	switch r.verdict {
	case allow:
		return false
	case embedded:
		b := ip.As16()
		return IsBlocked(netip.AddrFrom4([4]byte(b[r.v4At : r.v4At+4])))
	}
	return true
}

// Control returns a function for [net.Dialer.Control] that refuses, with a
// *BlockedError, connections to addresses for which [IsBlocked] is true.
// It sees the resolved "ip:port" being dialed, so it cannot be bypassed by
// DNS. An address it cannot parse as ip:port (for example a Unix socket
// path) is refused too. If allowPrivate is true the function allows
// everything.
func Control(allowPrivate bool) func(network, address string, c syscall.RawConn) error {
	if allowPrivate {
		return func(string, string, syscall.RawConn) error { return nil }
	}
	return func(network, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return fmt.Errorf("netguard: refusing %s connection to unrecognized address %q", network, address)
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return fmt.Errorf("netguard: refusing %s connection to unrecognized address %q", network, address)
		}
		if IsBlocked(ip) {
			return &BlockedError{Addr: ip}
		}
		return nil
	}
}

// NewDialer returns a dialer with the given connect timeout, 30s TCP
// keep-alive, and Control set to [Control](allowPrivate).
func NewDialer(allowPrivate bool, timeout time.Duration) *net.Dialer {
	return &net.Dialer{
		Timeout:   timeout,
		KeepAlive: 30 * time.Second,
		Control:   Control(allowPrivate),
	}
}

var loopback4 = netip.AddrFrom4([4]byte{127, 0, 0, 1})

// CheckHost is a quick check of an endpoint's host when its URL is saved;
// it does no DNS lookup. host is a URL host, with or without a port and
// brackets (url.URL.Hostname or url.URL.Host). Unless allowPrivate is true,
// it returns a *BlockedError if host is
//   - an IP literal (IPv4, IPv6, bracketed or zoned) that [IsBlocked];
//   - a legacy numeric IPv4 form resolvers may accept, such as "2130706433",
//     "0x7f.1" or "127.1", whose address is blocked;
//   - "localhost" or a name under ".localhost" (reported as 127.0.0.1);
//   - empty, which dialers take to mean the local system (reported as
//     0.0.0.0).
//
// Other names pass; the addresses they resolve to are checked when dialing.
func CheckHost(host string, allowPrivate bool) error {
	if allowPrivate {
		return nil
	}
	// A bare address first (an IPv6 one may end in ':'); else a Host,
	// with a port or brackets, split as the dialer would, or, where it
	// cannot, as url.URL's Hostname does.
	if _, err := netip.ParseAddr(host); err != nil {
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h // ":80" is the local system's port 80
		} else {
			host = urlHostname(host)
		}
	}
	if host == "" {
		return &BlockedError{Addr: netip.IPv4Unspecified()}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if IsBlocked(ip) {
			return &BlockedError{Addr: ip}
		}
		return nil
	}
	// An address with a zone netip refuses ("::%", an empty zone) is
	// judged by its address: no DNS name has a '%'.
	if i := strings.IndexByte(host, '%'); i >= 0 {
		if ip, err := netip.ParseAddr(host[:i]); err == nil {
			if IsBlocked(ip) {
				return &BlockedError{Addr: ip}
			}
			return nil
		}
	}
	if ip, ok := parseLegacyIPv4(host); ok {
		if IsBlocked(ip) {
			return &BlockedError{Addr: ip}
		}
		return nil
	}
	// What is left is a name; one with a character no DNS name has
	// (a bracket, a zone, a colon: a mangled address) is refused rather
	// than guessed at.
	if strings.ContainsAny(host, "[]%:/\\@ \t") {
		return &BlockedError{Addr: netip.IPv4Unspecified()}
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return &BlockedError{Addr: loopback4}
	}
	return nil
}

// urlHostname is host without its port and brackets, as url.URL's
// Hostname reads a URL's Host: a trailing ":" and digits is the port, and
// brackets come off only as a pair ("::%]" is an address whose zone ends
// in "]"). So CheckHost judges a Host as it judges its Hostname.
func urlHostname(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && validOptionalPort(host[i:]) {
		host = host[:i]
	}
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return host
}

// validOptionalPort reports whether port is "" or ":" and digits.
func validOptionalPort(port string) bool {
	if port == "" {
		return true
	}
	if port[0] != ':' {
		return false
	}
	for _, b := range port[1:] {
		if b < '0' || b > '9' {
			return false
		}
	}
	return true
}

// parseLegacyIPv4 parses the inet_aton forms that netip rejects but some
// resolvers accept: one to four dot-separated parts, each decimal, octal
// (leading 0) or hex (0x), the last part filling the remaining bytes.
func parseLegacyIPv4(s string) (netip.Addr, bool) {
	s = strings.TrimSuffix(s, ".")
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return netip.Addr{}, false
	}
	var v uint64
	for i, p := range parts {
		n, ok := parseAtonPart(p)
		if !ok {
			return netip.Addr{}, false
		}
		if i < len(parts)-1 {
			if n > 0xff {
				return netip.Addr{}, false
			}
			v |= n << (8 * (3 - i))
			continue
		}
		// The last part fills the remaining 4-i bytes.
		if n >= 1<<(8*(4-i)) {
			return netip.Addr{}, false
		}
		v |= n
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), true
}

func parseAtonPart(p string) (uint64, bool) {
	base := 10
	switch {
	case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
		base, p = 16, p[2:]
	case len(p) > 1 && p[0] == '0':
		base, p = 8, p[1:]
	}
	if p == "" || p[0] == '+' || p[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 32)
	return n, err == nil
}
