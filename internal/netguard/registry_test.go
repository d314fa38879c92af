package netguard

import (
	"errors"
	"net"
	"net/netip"
	"testing"
)

// specRow is one address block as the registries give it, written out
// here independently of the guard's table (specialPurpose), which
// TestTableMatchesSpec holds to it.
type specRow struct {
	prefix netip.Prefix
	// global is the registry's "Globally Reachable": true is allowed,
	// false (also N/A and blank) refused.
	global bool
	// v4At, if not 0, is the offset in the 16-byte form of the IPv4
	// address the block carries, which decides instead of global.
	v4At int
}

func row(prefix string, global bool) specRow {
	return specRow{prefix: netip.MustParsePrefix(prefix), global: global}
}

func carrier(prefix string, v4At int) specRow {
	return specRow{prefix: netip.MustParsePrefix(prefix), v4At: v4At}
}

// registrySpec transcribes the IANA IPv4 and IPv6 Special-Purpose Address
// Registries (RFC 6890), one row per entry, then the blocks the guard takes
// from other IANA registries (multicast, IPv6 site-local, and the IPv6
// Address Space registry: only 2000::/3 is global unicast). The most
// specific row holding an address decides. The anycast service blocks
// (PCP, TURN, DNS-SD, AS112, AMT) are globally reachable in the registry
// but read false here: hookd refuses them, as their nearest instance is
// often the operator's own.
var registrySpec = []specRow{
	// IPv4 Special-Purpose Address Registry.
	row("0.0.0.0/8", false),          // "This network", RFC 791
	row("0.0.0.0/32", false),         // "This host on this network", RFC 1122
	row("10.0.0.0/8", false),         // Private-Use, RFC 1918
	row("100.64.0.0/10", false),      // Shared Address Space, RFC 6598
	row("127.0.0.0/8", false),        // Loopback, RFC 1122
	row("169.254.0.0/16", false),     // Link Local, RFC 3927
	row("172.16.0.0/12", false),      // Private-Use, RFC 1918
	row("192.0.0.0/24", false),       // IETF Protocol Assignments, RFC 6890
	row("192.0.0.0/29", false),       // IPv4 Service Continuity Prefix, RFC 7335
	row("192.0.0.8/32", false),       // IPv4 dummy address, RFC 7600
	row("192.0.0.9/32", false),       // Port Control Protocol Anycast, RFC 7723
	row("192.0.0.10/32", false),      // TURN Anycast, RFC 8155
	row("192.0.0.170/32", false),     // NAT64/DNS64 Discovery, RFC 8880
	row("192.0.0.171/32", false),     // NAT64/DNS64 Discovery, RFC 8880
	row("192.0.2.0/24", false),       // TEST-NET-1, RFC 5737
	row("192.31.196.0/24", false),    // AS112-v4, RFC 7535
	row("192.52.193.0/24", false),    // AMT, RFC 7450
	row("192.88.99.0/24", false),     // Deprecated 6to4 Relay Anycast, RFC 7526 (blank)
	row("192.88.99.2/32", false),     // 6a44-relay anycast, RFC 6751
	row("192.168.0.0/16", false),     // Private-Use, RFC 1918
	row("192.175.48.0/24", false),    // Direct Delegation AS112 Service, RFC 7534
	row("198.18.0.0/15", false),      // Benchmarking, RFC 2544
	row("198.51.100.0/24", false),    // TEST-NET-2, RFC 5737
	row("203.0.113.0/24", false),     // TEST-NET-3, RFC 5737
	row("240.0.0.0/4", false),        // Reserved, RFC 1112
	row("255.255.255.255/32", false), // Limited Broadcast, RFC 919
	row("::1/128", false),            // Loopback, RFC 4291
	row("::/128", false),             // Unspecified, RFC 4291
	carrier("::ffff:0:0/96", 12),     // IPv4-mapped, RFC 4291
	carrier("64:ff9b::/96", 12),      // NAT64 well-known prefix, RFC 6052 (true)
	row("64:ff9b:1::/48", false),     // local-use NAT64, RFC 8215
	row("100::/64", false),           // Discard-Only, RFC 6666
	row("100:0:0:1::/64", false),     // Dummy IPv6 Prefix, RFC 9780
	row("2001::/23", false),          // IETF Protocol Assignments, RFC 2928
	row("2001::/32", false),          // Teredo, RFC 4380 (N/A)
	row("2001:1::1/128", false),      // PCP Anycast, RFC 7723
	row("2001:1::2/128", false),      // TURN Anycast, RFC 8155
	row("2001:1::3/128", false),      // DNS-SD SRP Anycast, RFC 9665
	row("2001:2::/48", false),        // Benchmarking, RFC 5180
	row("2001:3::/32", false),        // AMT, RFC 7450
	row("2001:4:112::/48", false),    // AS112-v6, RFC 7535
	row("2001:10::/28", false),       // Deprecated ORCHID, RFC 4843 (blank)
	row("2001:20::/28", true),        // ORCHIDv2, RFC 7343
	row("2001:30::/28", true),        // DRIP DETs, RFC 9374
	row("2001:db8::/32", false),      // Documentation, RFC 3849
	carrier("2002::/16", 2),          // 6to4, RFC 3056 (N/A)
	row("2620:4f:8000::/48", false),  // Direct Delegation AS112 Service, RFC 7534
	row("3fff::/20", false),          // Documentation, RFC 9637
	row("5f00::/16", false),          // SRv6 SIDs, RFC 9602
	row("fc00::/7", false),           // Unique-Local, RFC 4193
	row("fe80::/10", false),          // Link-Local Unicast, RFC 4291
	row("224.0.0.0/4", false),        // IPv4 multicast, RFC 5771
	row("::/0", false),               // IPv6 outside global unicast, RFC 4291
	row("2000::/3", true),            // IPv6 global unicast, RFC 4291
	carrier("::/96", 12),             // IPv4-compatible (deprecated), RFC 4291
	row("fec0::/10", false),          // site-local (deprecated), RFC 3879
	row("ff00::/8", false),           // IPv6 multicast, RFC 4291
}

// specBlocked is the verdict registrySpec gives ip: that of the most
// specific row holding it (judged by the IPv4 address it carries for the
// rows that carry one), allowed if no row does.
func specBlocked(ip netip.Addr) bool {
	if !ip.IsValid() {
		return true
	}
	ip = ip.WithZone("")
	var best *specRow
	for i := range registrySpec {
		r := &registrySpec[i]
		if r.prefix.Contains(ip) && (best == nil || r.prefix.Bits() > best.prefix.Bits()) {
			best = r
		}
	}
	switch {
	case best == nil:
		return false
	case best.v4At != 0:
		b := ip.As16()
		return specBlocked(netip.AddrFrom4([4]byte(b[best.v4At : best.v4At+4])))
	}
	return !best.global
}

// withBits returns a with bits from (counted from the most significant)
// up to but not including to set.
func withBits(a netip.Addr, from, to int) netip.Addr {
	b := a.AsSlice()
	for i := from; i < to; i++ {
		b[i/8] |= 0x80 >> (i % 8)
	}
	out, _ := netip.AddrFromSlice(b)
	return out
}

// probe is an address to check and where it sits.
type probe struct {
	where string
	addr  netip.Addr
}

// probes returns the first, middle and last addresses of p, and the
// addresses just before and just after it when there are any.
func probes(p netip.Prefix) []probe {
	first := p.Masked().Addr()
	last := withBits(first, p.Bits(), first.BitLen())
	out := []probe{{"first", first}}
	if p.Bits() < first.BitLen() {
		out = append(out, probe{"middle", withBits(first, p.Bits(), p.Bits()+1)}, probe{"last", last})
	}
	if before := first.Prev(); before.IsValid() {
		out = append(out, probe{"just before", before})
	}
	if after := last.Next(); after.IsValid() {
		out = append(out, probe{"just after", after})
	}
	return out
}

// checkBothPaths checks that the save-time check (CheckHost on the
// literal, as the API calls it) and the dial-time one (Control on
// "ip:port", without dialing) both block ip, or both allow it, and that
// neither blocks anything with private networks allowed.
func checkBothPaths(t *testing.T, ip netip.Addr, blocked bool) {
	t.Helper()
	if got := IsBlocked(ip); got != blocked {
		t.Errorf("IsBlocked(%s) = %v, want %v", ip, got, blocked)
	}
	host := ip.String()
	addr := net.JoinHostPort(host, "443")
	for _, c := range []struct {
		path string
		err  error
	}{
		{"CheckHost(" + host + ")", CheckHost(host, false)},
		{"Control(tcp, " + addr + ")", Control(false)("tcp", addr, nil)},
	} {
		var be *BlockedError
		switch {
		case blocked && !errors.As(c.err, &be):
			t.Errorf("%s = %v, want a *BlockedError", c.path, c.err)
		case blocked && be.Addr != ip:
			t.Errorf("%s blocked %s, want %s", c.path, be.Addr, ip)
		case !blocked && c.err != nil:
			t.Errorf("%s = %v, want nil: %s is globally reachable", c.path, c.err, ip)
		}
	}
	if err := CheckHost(host, true); err != nil {
		t.Errorf("CheckHost(%s, allowPrivate) = %v", host, err)
	}
	if err := Control(true)("tcp", addr, nil); err != nil {
		t.Errorf("Control(allowPrivate)(tcp, %s) = %v", addr, err)
	}
}

// TestSpecialPurposeRanges checks every block of the registries at its
// first, middle and last address and just outside it, through both the
// save-time and the dial-time check. An address a more specific block
// holds gets that block's verdict.
func TestSpecialPurposeRanges(t *testing.T) {
	t.Parallel()
	for _, r := range registrySpec {
		t.Run(r.prefix.String(), func(t *testing.T) {
			t.Parallel()
			for _, p := range probes(r.prefix) {
				blocked := specBlocked(p.addr)
				verdict := "allowed"
				if blocked {
					verdict = "refused"
				}
				t.Run(p.where+" "+p.addr.String()+" "+verdict, func(t *testing.T) {
					checkBothPaths(t, p.addr, blocked)
				})
			}
		})
	}
}

// TestIssue12Ranges checks, with literal addresses, the ranges hookd was
// found to dial (issue 12, item 9).
func TestIssue12Ranges(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"192.0.2.0", "192.0.2.1", "192.0.2.255", // TEST-NET-1
		"198.51.100.0", "198.51.100.7", "198.51.100.255", // TEST-NET-2
		"203.0.113.0", "203.0.113.9", "203.0.113.255", // TEST-NET-3
		"2001:db8::", "2001:db8::1", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", // documentation
		"100::", "100::1", "100::ffff:ffff:ffff:ffff", // discard-only
		"64:ff9b:1::", "64:ff9b:1::808:808", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", // local-use NAT64, even of a public address
		"2001::", "2001:0:4136:e378:8000:63bf:3fff:fdd2", "2001:0:ffff:ffff:ffff:ffff:ffff:ffff", // Teredo
		"240.0.0.0", "240.0.0.1", "254.255.255.255", // reserved
		"192.88.99.1", "2002:c058:6301::", // deprecated 6to4 relay anycast, and its 6to4 form
		"2002:c000:201::", "::ffff:192.0.2.1", "64:ff9b::c633:6401", // documentation, carried
		"3fff::1", "3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", "5f00::1", "2001:2::1", "2001:10::1",
		"192.0.0.8", "192.0.0.170", "192.0.0.171",
		"4000::1", "fbff:ffff::1", // outside global unicast 2000::/3
	} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			checkBothPaths(t, netip.MustParseAddr(s), true)
		})
	}
}

// TestGloballyReachableCarveOuts checks the globally reachable blocks the
// registries carve out of larger blocks that are not, and the addresses
// right next to them, which stay refused.
func TestGloballyReachableCarveOuts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		blocked bool
	}{
		{"192.0.0.8", true},
		{"192.0.0.9", true},  // PCP anycast
		{"192.0.0.10", true}, // TURN anycast
		{"192.0.0.11", true},
		{"192.0.0.7", true}, // service continuity /29
		{"192.31.196.1", true},
		{"192.52.193.1", true},
		{"192.175.48.1", true},
		{"192.88.99.1", true},
		{"2001:1::", true},
		{"2001:1::1", true}, // PCP anycast
		{"2001:1::2", true}, // TURN anycast
		{"2001:1::3", true}, // DNS-SD SRP anycast
		{"2001:1::4", true},
		{"2001:2:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"2001:3::", true}, // AMT
		{"2001:3:ffff:ffff:ffff:ffff:ffff:ffff", true},
		{"2001:4::1", true},
		{"2001:4:112::1", true}, // AS112-v6
		{"2001:4:113::", true},
		{"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", true}, // end of deprecated ORCHID
		{"2001:20::", false},                            // ORCHIDv2
		{"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", false},
		{"2001:30::", false}, // DRIP
		{"2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", false},
		{"2001:40::", true},
		{"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", true}, // end of 2001::/23
		{"2001:200::", false},                            // first address after it: regular global unicast
		{"2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", false},
		{"2620:4f:8000::1", true},   // AS112 direct delegation
		{"3fff:1000::", false},      // after the 3fff::/20 documentation block
		{"2002:808:808::", false},   // 6to4 of 8.8.8.8
		{"64:ff9b::808:808", false}, // NAT64 of 8.8.8.8
		{"64:ff9b::c000:9", true},   // NAT64 of 192.0.0.9
		{"64:ff9b::c000:8", true},   // NAT64 of 192.0.0.8
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			checkBothPaths(t, netip.MustParseAddr(tt.addr), tt.blocked)
		})
	}
}
