package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// FuzzBlockedRanges checks the guard against net/netip's own
// classification: with private networks off, no loopback, private,
// link-local, multicast or unspecified address (nor one carried inside an
// IPv4-mapped, IPv4-compatible, NAT64 or 6to4 address) is ever allowed, by
// IsBlocked, by Control on "ip:port", or by CheckHost on any of the forms a
// URL host can take (bare, bracketed, with a port, and for IPv4 the legacy
// numeric forms resolvers accept). Every address also gets the verdict
// the registries give it (registrySpec, the most specific block deciding).
// With private networks on, everything is allowed.
//
// Inputs: raw is an address as bytes (4 bytes or fewer: IPv4, else the
// first 16 bytes, zero-padded: IPv6), zone an IPv6 zone, and host any
// string handed to CheckHost and Control as a URL host.
func FuzzBlockedRanges(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "10.1.2.3", "172.31.255.255", "192.168.0.1", "169.254.169.254", "100.64.0.1",
		"0.0.0.0", "255.255.255.255", "224.0.0.1", "8.8.8.8", "1.1.1.1",
		"::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "ff02::1", "ff01::1", "fec0::1",
		"::ffff:127.0.0.1", "::ffff:8.8.8.8", "::127.0.0.1", "64:ff9b::a00:1", "64:ff9b::808:808",
		"2002:7f00:1::", "2002:808:808::", "2001:4860:4860::8888",
		// Special-purpose blocks, and the reachable ones carved out of them.
		"192.0.2.1", "198.51.100.1", "203.0.113.1", "240.0.0.1", "192.88.99.1", "192.0.0.9", "192.0.0.8",
		"192.31.196.1", "2001:db8::1", "100::1", "64:ff9b:1::808:808", "2001:0:4136:e378:8000:63bf:3fff:fdd2",
		"2001:1::1", "2001:1::4", "2001:3::1", "2001:4:112::1", "2001:20::1", "2620:4f:8000::1", "3fff::1",
		"5f00::1", "4000::1", "2002:c000:201::", "64:ff9b::c000:9",
	} {
		ip := netip.MustParseAddr(s)
		raw := ip.AsSlice()
		f.Add(raw, "", s)
		f.Add(raw, "eth0", "["+s+"]:443")
	}
	for _, s := range []string{"", "localhost", "LOCALHOST.", "a.localhost", "2130706433", "0x7f.1", "017700000001", "127.1", "0x7f000001",
		"[::1]", "[fe80::1%25eth0]:80", "example.com", "127.0.0.1.", "1.2.3.4.5", "0x", "08", "[::ffff:7f00:1]:0", "::1%", ":80"} {
		f.Add([]byte{}, "", s)
	}

	f.Fuzz(func(t *testing.T, raw []byte, zone, host string) {
		var ip netip.Addr
		if len(raw) <= 4 {
			var b [4]byte
			copy(b[:], raw)
			ip = netip.AddrFrom4(b)
		} else {
			var b [16]byte
			copy(b[:], raw)
			ip = netip.AddrFrom16(b)
			ip = ip.WithZone(zone)
		}
		if !saneZone(ip.Zone()) {
			// Interface names, not "]" or "%": a zone that cannot be
			// written in "[ip%zone]:port" is no dial address.
			ip = ip.WithZone("")
		}
		checkAddr(t, ip)
		if ip.Is4() {
			checkAddr(t, netip.AddrFrom16(ip.As16())) // the IPv4-mapped form
			checkLegacyForms(t, ip)
		}
		if parsed, err := netip.ParseAddr(host); err == nil {
			if !saneZone(parsed.Zone()) {
				parsed = parsed.WithZone("")
			}
			checkAddr(t, parsed)
		}
		checkHostString(t, host)
	})
}

// saneZone reports whether z could name a network interface.
func saneZone(z string) bool {
	return strings.Trim(z, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == ""
}

// restricted reports whether net/netip classifies ip as an address of the
// operator's own network, or one that is not a unicast destination.
func restricted(ip netip.Addr) bool {
	return ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsGlobalUnicast()
}

// embedded4 returns the IPv4 addresses an IPv6 address carries in the
// forms IsBlocked documents (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
func embedded4(ip netip.Addr) []netip.Addr {
	if !ip.Is6() {
		return nil
	}
	b := ip.As16()
	var out []netip.Addr
	zero := func(bs []byte) bool {
		for _, c := range bs {
			if c != 0 {
				return false
			}
		}
		return true
	}
	last := netip.AddrFrom4([4]byte(b[12:16]))
	switch {
	case zero(b[:10]) && b[10] == 0xff && b[11] == 0xff: // ::ffff:a.b.c.d
		out = append(out, last)
	case zero(b[:12]): // ::a.b.c.d
		out = append(out, last)
	case b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && zero(b[4:12]): // 64:ff9b::a.b.c.d
		out = append(out, last)
	case b[0] == 0x20 && b[1] == 0x02: // 2002:aabb:ccdd::
		out = append(out, netip.AddrFrom4([4]byte(b[2:6])))
	}
	return out
}

// checkAddr checks every way the guard can be asked about ip.
func checkAddr(t *testing.T, ip netip.Addr) {
	t.Helper()
	got := IsBlocked(ip)
	if want := specBlocked(ip); got != want {
		t.Fatalf("IsBlocked(%s) = %v, but the registries (registrySpec) say %v", ip, got, want)
	}
	if restricted(ip) && !got {
		t.Fatalf("IsBlocked(%s) = false, but net/netip classifies it as loopback, private, link-local, multicast, unspecified or not global unicast", ip)
	}
	for _, v4 := range embedded4(ip) {
		if restricted(v4) && !got {
			t.Fatalf("IsBlocked(%s) = false, but it carries %s, which is restricted", ip, v4)
		}
		if IsBlocked(v4) && !got {
			t.Fatalf("IsBlocked(%s) = false, but it carries %s, which is blocked", ip, v4)
		}
	}
	if z := ip.WithZone(""); IsBlocked(z) != got {
		t.Fatalf("IsBlocked(%s) = %v, without its zone %v", ip, got, !got)
	}
	if ip.Is4In6() && IsBlocked(ip.Unmap()) != got {
		t.Fatalf("IsBlocked(%s) = %v, its IPv4 form %v", ip, got, !got)
	}

	// Control sees "ip:port" as the dialer does.
	addr := net.JoinHostPort(ip.String(), "443")
	err := Control(false)("tcp", addr, nil)
	var be *BlockedError
	switch {
	case got && !errors.As(err, &be):
		t.Fatalf("Control(false)(%q) = %v, want a *BlockedError", addr, err)
	case got && be.Addr != ip:
		t.Fatalf("Control(false)(%q) blocked %s, want %s", addr, be.Addr, ip)
	case !got && err != nil:
		t.Fatalf("Control(false)(%q) = %v, but IsBlocked is false", addr, err)
	}
	if err := Control(true)("tcp", addr, nil); err != nil {
		t.Fatalf("Control(true)(%q) = %v", addr, err)
	}

	// CheckHost on the forms url.URL.Host and Hostname take.
	s := ip.String()
	forms := []string{s, net.JoinHostPort(s, "8080"), net.JoinHostPort(s, "")}
	if ip.Is6() {
		forms = append(forms, "["+s+"]")
	}
	for _, h := range forms {
		checkHostAgrees(t, h, ip, got)
	}
}

// checkLegacyForms checks CheckHost on the inet_aton spellings of an IPv4
// address: one to four parts, each decimal, octal or hex.
func checkLegacyForms(t *testing.T, ip netip.Addr) {
	t.Helper()
	b := ip.As4()
	v := uint64(b[0])<<24 | uint64(b[1])<<16 | uint64(b[2])<<8 | uint64(b[3])
	spell := func(n uint64, base int) string {
		switch base {
		case 16:
			return "0x" + strconv.FormatUint(n, 16)
		case 8:
			return "0" + strconv.FormatUint(n, 8)
		}
		return strconv.FormatUint(n, 10)
	}
	got := IsBlocked(ip)
	for _, base := range []int{10, 8, 16} {
		forms := []string{
			spell(v, base), // a
			spell(v>>24, base) + "." + spell(v&0xffffff, base),                               // a.b (24 bits)
			spell(v>>24, base) + "." + spell(v>>16&0xff, base) + "." + spell(v&0xffff, base), // a.b.c (16 bits)
			fmt.Sprintf("%s.%s.%s.%s", spell(v>>24, base), spell(v>>16&0xff, base), spell(v>>8&0xff, base), spell(v&0xff, base)),
		}
		for _, h := range forms {
			checkHostAgrees(t, h, ip, got)
			checkHostAgrees(t, h+".", ip, got)
			checkHostAgrees(t, net.JoinHostPort(h, "80"), ip, got)
		}
	}
}

func checkHostAgrees(t *testing.T, host string, ip netip.Addr, blocked bool) {
	t.Helper()
	err := CheckHost(host, false)
	var be *BlockedError
	switch {
	case blocked && !errors.As(err, &be):
		t.Fatalf("CheckHost(%q, false) = %v, but %s is blocked", host, err, ip)
	case !blocked && err != nil:
		t.Fatalf("CheckHost(%q, false) = %v, but IsBlocked(%s) is false", host, err, ip)
	}
	if err := CheckHost(host, true); err != nil {
		t.Fatalf("CheckHost(%q, true) = %v", host, err)
	}
}

// checkHostString checks CheckHost and Control on an arbitrary host: no
// panic, only *BlockedError refusals from CheckHost, and no IP literal it
// allows is restricted.
func checkHostString(t *testing.T, host string) {
	t.Helper()
	err := CheckHost(host, false)
	var be *BlockedError
	if err != nil && !errors.As(err, &be) {
		t.Fatalf("CheckHost(%q, false) = %v, want nil or a *BlockedError", host, err)
	}
	if err := CheckHost(host, true); err != nil {
		t.Fatalf("CheckHost(%q, true) = %v", host, err)
	}
	if err == nil {
		h := host
		if hh, _, err := net.SplitHostPort(h); err == nil {
			h = hh
		}
		h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
		if ip, perr := netip.ParseAddr(h); perr == nil && restricted(ip) {
			t.Fatalf("CheckHost(%q, false) allowed %s, which is restricted", host, ip)
		}
		if h == "" || strings.EqualFold(strings.TrimSuffix(h, "."), "localhost") {
			t.Fatalf("CheckHost(%q, false) allowed the local system", host)
		}
	}
	_ = Control(false)("tcp", host, nil)
	_ = Control(false)("udp", net.JoinHostPort(host, "53"), nil)
}
