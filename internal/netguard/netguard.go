// Package netguard keeps hookd from connecting to the operator's own
// network (SSRF protection).
//
// hookd POSTs to URLs its users register. Unless the operator allows private
// networks (HOOKD_ALLOW_PRIVATE_NETWORKS=true), connections to loopback,
// private, link-local, CGNAT, multicast, reserved and similar addresses are
// refused.
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

// blocked4 lists the IPv4 ranges that are refused.
var blocked4 = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),          // "this network", includes unspecified
	netip.MustParsePrefix("10.0.0.0/8"),         // private
	netip.MustParsePrefix("100.64.0.0/10"),      // CGNAT shared address space
	netip.MustParsePrefix("127.0.0.0/8"),        // loopback
	netip.MustParsePrefix("169.254.0.0/16"),     // link-local, cloud metadata
	netip.MustParsePrefix("172.16.0.0/12"),      // private
	netip.MustParsePrefix("192.0.0.0/24"),       // IETF protocol assignments
	netip.MustParsePrefix("192.168.0.0/16"),     // private
	netip.MustParsePrefix("198.18.0.0/15"),      // benchmarking
	netip.MustParsePrefix("224.0.0.0/4"),        // multicast
	netip.MustParsePrefix("240.0.0.0/4"),        // reserved
	netip.MustParsePrefix("255.255.255.255/32"), // broadcast (also in 240/4)
}

// blocked6 lists the IPv6 ranges that are refused outright.
var blocked6 = []netip.Prefix{
	netip.MustParsePrefix("::/128"),    // unspecified
	netip.MustParsePrefix("::1/128"),   // loopback
	netip.MustParsePrefix("fc00::/7"),  // unique local (private)
	netip.MustParsePrefix("fe80::/10"), // link-local
	netip.MustParsePrefix("fec0::/10"), // site-local (deprecated, may still route locally)
	netip.MustParsePrefix("ff00::/8"),  // multicast
}

// IPv6 ranges that embed an IPv4 address, which is checked in turn.
var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96") // IPv4 in the last 32 bits
	sixToFour = netip.MustParsePrefix("2002::/16")    // IPv4 in bits 16-47
	v4Compat  = netip.MustParsePrefix("::/96")        // deprecated IPv4-compatible, last 32 bits
)

// IsBlocked reports whether connections to ip are refused when private
// networks are not allowed. IPv4-mapped (::ffff:a.b.c.d), NAT64
// (64:ff9b::/96), IPv4-compatible (::a.b.c.d) and 6to4 (2002::/16)
// addresses are blocked if the IPv4 address they carry is. An IPv6 zone is
// ignored. The invalid (zero) Addr is blocked.
func IsBlocked(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	// Prefix.Contains never matches a zoned address.
	ip = ip.WithZone("")
	if ip.Is4In6() {
		ip = ip.Unmap()
	}
	if ip.Is4() {
		for _, p := range blocked4 {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	}
	for _, p := range blocked6 {
		if p.Contains(ip) {
			return true
		}
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), v4Compat.Contains(ip):
		return IsBlocked(netip.AddrFrom4([4]byte(b[12:16])))
	case sixToFour.Contains(ip):
		return IsBlocked(netip.AddrFrom4([4]byte(b[2:6])))
	}
	return false
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
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if host == "" {
		return &BlockedError{Addr: netip.IPv4Unspecified()}
	}
	if ip, err := netip.ParseAddr(host); err == nil {
		if IsBlocked(ip) {
			return &BlockedError{Addr: ip}
		}
		return nil
	}
	if ip, ok := parseLegacyIPv4(host); ok {
		if IsBlocked(ip) {
			return &BlockedError{Addr: ip}
		}
		return nil
	}
	name := strings.ToLower(strings.TrimSuffix(host, "."))
	if name == "localhost" || strings.HasSuffix(name, ".localhost") {
		return &BlockedError{Addr: loopback4}
	}
	return nil
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
