package netguard

import (
	"cmp"
	"net/netip"
	"slices"
)

// verdict is what the guard decides for the addresses of a table entry.
type verdict uint8

const (
	// refuse: not globally reachable ("Globally Reachable" False or N/A
	// in the registry), or not unicast.
	refuse verdict = iota
	// allow: globally reachable.
	allow
	// anycast: globally reachable in the registry, but an anycast
	// service address (PCP, TURN, DNS-SD, AS112, AMT) whose nearest
	// instance is often the operator's own router or resolver: refused,
	// like the blocks around it. No webhook receiver lives there.
	anycast
	// anycast: globally reachable in the registry, but an anycast
	// service address (PCP, TURN, DNS-SD, AS112, AMT) whose nearest
	// instance is often the operator's own router or resolver: refused,
	// like the blocks around it. No webhook receiver lives there.
	// embedded: the address carries an IPv4 address (at
	// addressRange.v4At in its 16 bytes), whose own verdict decides.
	embedded
)

// addressRange is one row of [specialPurpose].
type addressRange struct {
	prefix  netip.Prefix
	name    string // the registry's name for the block
	source  string // the RFC (and section) that defines it
	verdict verdict
	v4At    int // for embedded: offset of the IPv4 address in As16
}

func pfx(s string) netip.Prefix { return netip.MustParsePrefix(s) }

// specialPurpose is the guard's table of address blocks. An address gets
// the verdict of the MOST SPECIFIC block that holds it (longest prefix
// wins), as the registries' footnotes on 192.0.0.0/24 and 2001::/23 read
// them: not usable or reachable unless by virtue of a more specific
// reservation, such as 192.0.0.9/32 or 2001:3::/32. An IPv4 address no
// block holds is allowed; every IPv6 address is held at least by ::/0.
//
// Sources (RFC 6890, updated by RFC 8190, defines the registries):
//   - IANA IPv4 Special-Purpose Address Registry
//     (https://www.iana.org/assignments/iana-ipv4-special-registry), every
//     entry as of its 2024 revision; and
//   - IANA IPv6 Special-Purpose Address Registry
//     (https://www.iana.org/assignments/iana-ipv6-special-registry), every
//     entry as last updated 2024-10-22 (the 2024 additions being
//     2001:1::3/128, 3fff::/20 and 5f00::/16), plus the dummy prefix
//     100:0:0:1::/64 (RFC 9780), registered since.
//
// Each entry whose "Globally Reachable" is False, or N/A, or blank (the
// deprecated 192.88.99.0/24 6to4 relay anycast and 2001:10::/28 ORCHID
// blocks) is refused; True is allowed, except the anycast service blocks
// (verdict anycast), which are refused. Four blocks carry an IPv4 address
// and are judged by it instead: IPv4-mapped ::ffff:0:0/96 (False in the
// registry, but the kernel sends such a connection as IPv4 to the embedded
// address), NAT64 64:ff9b::/96 (True: the translator reaches the embedded
// address), 6to4 2002::/16 (N/A: its relays reach the embedded address)
// and the deprecated IPv4-compatible ::/96. Teredo 2001::/32 (N/A) is
// refused outright: its client address is obfuscated and it is reached
// through whichever relay the host has, so its real destination cannot be
// judged here.
//
// The rows after the registries' come from other IANA registries:
// multicast (224.0.0.0/4, ff00::/8), the deprecated IPv6 site-local
// fec0::/10, and the IPv6 Address Space registry, where only 2000::/3 is
// global unicast and the rest is reserved by the IETF, unique-local or
// link-local (so ::/0 is refused and 2000::/3 allowed, below the more
// specific rows).
//
// When the registries change, change this table and the copy of it the
// tests check it against (registrySpec in registry_test.go).
var specialPurpose = []addressRange{
	// IANA IPv4 Special-Purpose Address Registry.
	{pfx("0.0.0.0/8"), `"This network"`, "RFC 791, Section 3.2", refuse, 0},
	{pfx("0.0.0.0/32"), `"This host on this network"`, "RFC 1122, Section 3.2.1.3", refuse, 0},
	{pfx("10.0.0.0/8"), "Private-Use", "RFC 1918", refuse, 0},
	{pfx("100.64.0.0/10"), "Shared Address Space", "RFC 6598", refuse, 0},
	{pfx("127.0.0.0/8"), "Loopback", "RFC 1122, Section 3.2.1.3", refuse, 0},
	{pfx("169.254.0.0/16"), "Link Local", "RFC 3927", refuse, 0},
	{pfx("172.16.0.0/12"), "Private-Use", "RFC 1918", refuse, 0},
	{pfx("192.0.0.0/24"), "IETF Protocol Assignments", "RFC 6890, Section 2.1", refuse, 0},
	{pfx("192.0.0.0/29"), "IPv4 Service Continuity Prefix", "RFC 7335", refuse, 0},
	{pfx("192.0.0.8/32"), "IPv4 dummy address", "RFC 7600", refuse, 0},
	{pfx("192.0.0.9/32"), "Port Control Protocol Anycast", "RFC 7723", anycast, 0},
	{pfx("192.0.0.10/32"), "Traversal Using Relays around NAT Anycast", "RFC 8155", anycast, 0},
	{pfx("192.0.0.170/32"), "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, Section 2.2", refuse, 0},
	{pfx("192.0.0.171/32"), "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050, Section 2.2", refuse, 0},
	{pfx("192.0.2.0/24"), "Documentation (TEST-NET-1)", "RFC 5737", refuse, 0},
	{pfx("192.31.196.0/24"), "AS112-v4", "RFC 7535", anycast, 0},
	{pfx("192.52.193.0/24"), "AMT", "RFC 7450", anycast, 0},
	{pfx("192.88.99.0/24"), "Deprecated (6to4 Relay Anycast)", "RFC 7526", refuse, 0},
	{pfx("192.88.99.2/32"), "6a44-relay anycast address", "RFC 6751", refuse, 0},
	{pfx("192.168.0.0/16"), "Private-Use", "RFC 1918", refuse, 0},
	{pfx("192.175.48.0/24"), "Direct Delegation AS112 Service", "RFC 7534", anycast, 0},
	{pfx("198.18.0.0/15"), "Benchmarking", "RFC 2544", refuse, 0},
	{pfx("198.51.100.0/24"), "Documentation (TEST-NET-2)", "RFC 5737", refuse, 0},
	{pfx("203.0.113.0/24"), "Documentation (TEST-NET-3)", "RFC 5737", refuse, 0},
	{pfx("240.0.0.0/4"), "Reserved", "RFC 1112, Section 4", refuse, 0},
	{pfx("255.255.255.255/32"), "Limited Broadcast", "RFC 8190, RFC 919, Section 7", refuse, 0},

	// IANA IPv6 Special-Purpose Address Registry.
	{pfx("::1/128"), "Loopback Address", "RFC 4291", refuse, 0},
	{pfx("::/128"), "Unspecified Address", "RFC 4291", refuse, 0},
	{pfx("::ffff:0:0/96"), "IPv4-mapped Address", "RFC 4291", embedded, 12},
	{pfx("64:ff9b::/96"), "IPv4-IPv6 Translat.", "RFC 6052", embedded, 12},
	{pfx("64:ff9b:1::/48"), "IPv4-IPv6 Translat. (local use)", "RFC 8215", refuse, 0},
	{pfx("100::/64"), "Discard-Only Address Block", "RFC 6666", refuse, 0},
	{pfx("100:0:0:1::/64"), "Dummy IPv6 Prefix", "RFC 9780", refuse, 0},
	{pfx("2001::/23"), "IETF Protocol Assignments", "RFC 2928", refuse, 0},
	{pfx("2001::/32"), "TEREDO", "RFC 4380, RFC 8190", refuse, 0},
	{pfx("2001:1::1/128"), "Port Control Protocol Anycast", "RFC 7723", anycast, 0},
	{pfx("2001:1::2/128"), "Traversal Using Relays around NAT Anycast", "RFC 8155", anycast, 0},
	{pfx("2001:1::3/128"), "DNS-SD Service Registration Protocol Anycast", "RFC 9665", anycast, 0},
	{pfx("2001:2::/48"), "Benchmarking", "RFC 5180, RFC Errata 1752", refuse, 0},
	{pfx("2001:3::/32"), "AMT", "RFC 7450", anycast, 0},
	{pfx("2001:4:112::/48"), "AS112-v6", "RFC 7535", anycast, 0},
	{pfx("2001:10::/28"), "Deprecated (previously ORCHID)", "RFC 4843", refuse, 0},
	{pfx("2001:20::/28"), "ORCHIDv2", "RFC 7343", allow, 0},
	{pfx("2001:30::/28"), "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", allow, 0},
	{pfx("2001:db8::/32"), "Documentation", "RFC 3849", refuse, 0},
	{pfx("2002::/16"), "6to4", "RFC 3056", embedded, 2},
	{pfx("2620:4f:8000::/48"), "Direct Delegation AS112 Service", "RFC 7534", anycast, 0},
	{pfx("3fff::/20"), "Documentation", "RFC 9637", refuse, 0},
	{pfx("5f00::/16"), "Segment Routing (SRv6) SIDs", "RFC 9602", refuse, 0},
	{pfx("fc00::/7"), "Unique-Local", "RFC 4193, RFC 8190", refuse, 0},
	{pfx("fe80::/10"), "Link-Local Unicast", "RFC 4291", refuse, 0},

	// Other IANA registries.
	{pfx("224.0.0.0/4"), "Multicast (IPv4 Multicast Address Space)", "RFC 5771", refuse, 0},
	{pfx("::/0"), "Reserved by IETF, outside global unicast (IPv6 Address Space)", "RFC 4291, Section 2.4", refuse, 0},
	{pfx("2000::/3"), "Global Unicast (IPv6 Address Space)", "RFC 4291, Section 2.4", allow, 0},
	{pfx("::/96"), "IPv4-compatible (deprecated)", "RFC 4291, Section 2.5.5.1", embedded, 12},
	{pfx("fec0::/10"), "Site-local (deprecated)", "RFC 3879", refuse, 0},
	{pfx("ff00::/8"), "Multicast", "RFC 4291, Section 2.7", refuse, 0},
}

// bySpecificity is specialPurpose, longest prefix first, so that the first
// block holding an address is the most specific one.
var bySpecificity = func() []addressRange {
	s := slices.Clone(specialPurpose)
	slices.SortStableFunc(s, func(a, b addressRange) int { return cmp.Compare(b.prefix.Bits(), a.prefix.Bits()) })
	return s
}()

// mostSpecific returns the most specific block holding ip, which has no
// zone, and false if there is none.
func mostSpecific(ip netip.Addr) (addressRange, bool) {
	for _, r := range bySpecificity {
		if r.prefix.Contains(ip) {
			return r, true
		}
	}
	return addressRange{}, false
}
