package netguard

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestIsBlocked(t *testing.T) {
	t.Parallel()
	tests := []struct {
		addr    string
		blocked bool
	}{
		// Public.
		{"8.8.8.8", false},
		{"1.1.1.1", false},
		{"93.184.216.34", false},
		{"2606:4700::1111", false},
		{"2001:4860:4860::8888", false},
		{"9.255.255.255", false},
		{"11.0.0.0", false},
		{"100.63.255.255", false},
		{"100.128.0.0", false},
		{"126.255.255.255", false},
		{"128.0.0.0", false},
		{"169.253.255.255", false},
		{"169.255.0.0", false},
		{"172.15.255.255", false},
		{"172.32.0.0", false},
		{"192.0.1.1", false},
		{"192.167.255.255", false},
		{"192.169.0.0", false},
		{"198.17.255.255", false},
		{"198.20.0.0", false},
		{"223.255.255.255", false},
		{"::ffff:8.8.8.8", false},
		{"64:ff9b::808:808", false},     // NAT64 of 8.8.8.8
		{"2002:808:808::1", false},      // 6to4 of 8.8.8.8
		{"::8.8.8.8", false},            // IPv4-compatible 8.8.8.8
		{"64:ff9b:1::a00:1", true},      // local-use NAT64 prefix (RFC 8215), not globally reachable
		{"64:ff9b:1::808:808", true},    // even of a public address
		{"2001:db8::1", true},           // documentation
		{"3fff:1000::1", false},         // just after the 3fff::/20 documentation block
		{"fbff:ffff::1", true},          // just below fc00::/7: outside global unicast 2000::/3
		{"fe7f:ffff::1", true},          // just below fe80::/10: likewise
		{"feff:ffff::1", true},          // site-local fec0::/10
		{"2606:4700::1111%eth0", false}, // zone ignored

		// Unspecified and "this network".
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"::", true},
		// Loopback.
		{"127.0.0.1", true},
		{"127.255.255.254", true},
		{"::1", true},
		// Private.
		{"10.0.0.1", true},
		{"10.255.255.255", true},
		{"172.16.0.1", true},
		{"172.31.255.255", true},
		{"192.168.0.1", true},
		{"192.168.255.255", true},
		{"fc00::1", true},
		{"fd12:3456:789a::1", true},
		// Link-local, including cloud metadata.
		{"169.254.169.254", true},
		{"169.254.0.1", true},
		{"fe80::1", true},
		{"fe80::1%eth0", true},
		{"febf:ffff::1", true},
		// CGNAT.
		{"100.64.0.1", true},
		{"100.127.255.255", true},
		// Multicast.
		{"224.0.0.1", true},
		{"239.255.255.250", true},
		{"ff02::1", true},
		{"ff0e::1", true},
		// Broadcast and reserved.
		{"255.255.255.255", true},
		{"240.0.0.1", true},
		{"250.1.2.3", true},
		// Benchmarking.
		{"198.18.0.1", true},
		{"198.19.255.255", true},
		// IETF protocol assignments.
		{"192.0.0.1", true},
		{"192.0.0.255", true},
		// IPv4-mapped IPv6.
		{"::ffff:127.0.0.1", true},
		{"::ffff:10.0.0.1", true},
		{"::ffff:169.254.169.254", true},
		{"::ffff:0.0.0.0", true},
		{"::ffff:7f00:1", true},
		// NAT64.
		{"64:ff9b::127.0.0.1", true},
		{"64:ff9b::a00:1", true},
		{"64:ff9b::a9fe:a9fe", true},
		// 6to4.
		{"2002:7f00:1::", true},
		{"2002:a00:1::1", true},
		{"2002:a9fe:a9fe::", true},
		{"2002:c0a8:101::1", true},
		// Deprecated IPv4-compatible.
		{"::127.0.0.1", true},
		{"::10.0.0.1", true},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			t.Parallel()
			ip := netip.MustParseAddr(tt.addr)
			if got := IsBlocked(ip); got != tt.blocked {
				t.Errorf("IsBlocked(%s) = %v, want %v", tt.addr, got, tt.blocked)
			}
		})
	}
	if !IsBlocked(netip.Addr{}) {
		t.Error("IsBlocked(invalid Addr) = false, want true")
	}
}

func TestBlockedErrorMessage(t *testing.T) {
	t.Parallel()
	err := error(&BlockedError{Addr: netip.MustParseAddr("10.0.0.1")})
	want := "netguard: connection to 10.0.0.1 is refused: private network addresses are not allowed (set HOOKD_ALLOW_PRIVATE_NETWORKS=true to allow)"
	if err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestCheckHost(t *testing.T) {
	t.Parallel()
	tests := []struct {
		host string
		want string // blocked address, "" if allowed
	}{
		{"example.com", ""},
		{"example.com:443", ""},
		{"hooks.example.com.", ""},
		{"8.8.8.8", ""},
		{"8.8.8.8:80", ""},
		{"2606:4700::1111", ""},
		{"[2606:4700::1111]", ""},
		{"[2606:4700::1111]:443", ""},
		{"localhost.example.com", ""},
		{"mylocalhost", ""},
		{"1.2.3.4.5", ""},               // not an address, just an odd name
		{"0x8.8.8.8", ""},               // legacy form of 8.8.8.8
		{"134744072", ""},               // 8.8.8.8 as one number
		{"4294967296", ""},              // too large to be an address: a name
		{"127.0.0.1", "127.0.0.1"},      //
		{"127.0.0.1:8080", "127.0.0.1"}, //
		{"10.1.2.3", "10.1.2.3"},        //
		{"169.254.169.254", "169.254.169.254"},
		{"0.0.0.0", "0.0.0.0"},
		{"::1", "::1"},
		{"::%]", "::%]"},   // a zone ending in "]", not brackets (a fuzzer's find)
		{"[::%]]", "::%]"}, // the same, bracketed
		{"::%", "::"},      // an empty zone netip refuses
		{"[::1]", "::1"},
		{"[::1]:8080", "::1"},
		{"::", "::"},
		{"fe80::1%eth0", "fe80::1%eth0"},
		{"[fe80::1%25eth0]:80", "fe80::1%25eth0"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
		{"[::ffff:10.0.0.1]", "::ffff:10.0.0.1"},
		{"64:ff9b::a00:1", "64:ff9b::a00:1"},
		{"2002:7f00:1::", "2002:7f00:1::"},
		{"localhost", "127.0.0.1"},
		{"LOCALHOST", "127.0.0.1"},
		{"localhost.", "127.0.0.1"},
		{"localhost:8080", "127.0.0.1"},
		{"api.localhost", "127.0.0.1"},
		{"a.b.Localhost", "127.0.0.1"},
		{"2130706433", "127.0.0.1"}, // legacy forms resolvers may accept
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"0177.0.0.1", "127.0.0.1"},
		{"10.1", "10.0.0.1"},
		{"0", "0.0.0.0"},
		{"", "0.0.0.0"},
		{"[]", "0.0.0.0"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			t.Parallel()
			err := CheckHost(tt.host, false)
			var be *BlockedError
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CheckHost(%q) = %v, want nil", tt.host, err)
			case tt.want != "" && !errors.As(err, &be):
				t.Errorf("CheckHost(%q) = %v, want *BlockedError", tt.host, err)
			case tt.want != "" && be.Addr.String() != tt.want:
				t.Errorf("CheckHost(%q) blocked %s, want %s", tt.host, be.Addr, tt.want)
			}
			if err := CheckHost(tt.host, true); err != nil {
				t.Errorf("CheckHost(%q, allowPrivate) = %v, want nil", tt.host, err)
			}
		})
	}
}

func TestControl(t *testing.T) {
	t.Parallel()
	tests := []struct {
		network, address string
		blocked          bool // *BlockedError expected
		fails            bool // some error expected
	}{
		{"tcp4", "8.8.8.8:443", false, false},
		{"tcp6", "[2606:4700::1111]:443", false, false},
		{"tcp4", "127.0.0.1:80", true, true},
		{"tcp6", "[::1]:80", true, true},
		{"tcp6", "[::ffff:10.0.0.1]:80", true, true},
		{"tcp6", "[fe80::1%eth0]:80", true, true},
		{"udp4", "169.254.169.254:53", true, true},
		{"unix", "/var/run/docker.sock", false, true},
		{"tcp", "example.com:80", false, true},
	}
	deny, allow := Control(false), Control(true)
	for _, tt := range tests {
		t.Run(tt.address, func(t *testing.T) {
			t.Parallel()
			err := deny(tt.network, tt.address, nil)
			var be *BlockedError
			if errors.As(err, &be) != tt.blocked || (err != nil) != tt.fails {
				t.Errorf("Control(false)(%s, %s) = %v, want blocked=%v fails=%v", tt.network, tt.address, err, tt.blocked, tt.fails)
			}
			if err := allow(tt.network, tt.address, nil); err != nil {
				t.Errorf("Control(true)(%s, %s) = %v, want nil", tt.network, tt.address, err)
			}
		})
	}
}

func TestNewDialer(t *testing.T) {
	t.Parallel()
	d := NewDialer(false, 3*time.Second)
	if d.Timeout != 3*time.Second || d.KeepAlive != 30*time.Second || d.Control == nil {
		t.Errorf("NewDialer = %+v", d)
	}
	if d := NewDialer(true, time.Second); d.Control == nil {
		t.Error("NewDialer(true) has no Control")
	}
}

// TestDialerBlocksLoopback dials a real server on 127.0.0.1, both by IP and
// through the name "localhost" (resolved by the dialer, so only the
// dial-time check can catch it).
func TestDialerBlocksLoopback(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		io.WriteString(w, "ok")
	}))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}

	client := func(allowPrivate bool) *http.Client {
		tr := &http.Transport{
			Proxy:             nil,
			DialContext:       NewDialer(allowPrivate, 5*time.Second).DialContext,
			DisableKeepAlives: true,
		}
		t.Cleanup(tr.CloseIdleConnections)
		return &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	guarded, open := client(false), client(true)

	for _, host := range []string{"127.0.0.1", "localhost"} {
		url := "http://" + net.JoinHostPort(host, port) + "/"
		t.Run(host, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				t.Fatal(err)
			}

			resp, err := guarded.Do(req)
			if err == nil {
				resp.Body.Close()
				t.Fatalf("guarded GET %s succeeded, want *BlockedError", url)
			}
			var be *BlockedError
			if !errors.As(err, &be) {
				t.Fatalf("guarded GET %s error = %v, want a *BlockedError in the chain", url, err)
			}
			if !be.Addr.IsLoopback() {
				t.Errorf("blocked address %s, want a loopback address", be.Addr)
			}
			if !strings.Contains(err.Error(), "HOOKD_ALLOW_PRIVATE_NETWORKS") {
				t.Errorf("error %q does not say how to allow private networks", err)
			}

			resp, err = open.Do(req)
			if err != nil {
				t.Fatalf("unguarded GET %s: %v", url, err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK || string(body) != "ok" {
				t.Errorf("unguarded GET %s = %d %q, want 200 \"ok\"", url, resp.StatusCode, body)
			}
		})
	}
}

func FuzzIsBlocked(f *testing.F) {
	for _, s := range []string{
		"127.0.0.1", "::1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "2002:a00:1::",
		"fe80::1%eth0", "[::1]:80", "localhost", "2130706433", "0x7f.1", "8.8.8.8", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ip, err := netip.ParseAddr(s); err == nil {
			got := IsBlocked(ip)
			if ip.Is4In6() && got != IsBlocked(ip.Unmap()) {
				t.Errorf("IsBlocked(%s) = %v, but its IPv4 form gives %v", ip, got, !got)
			}
			if err := CheckHost(s, false); (err != nil) != got {
				t.Errorf("CheckHost(%q) = %v, IsBlocked = %v", s, err, got)
			}
		}
		_ = CheckHost(s, false)
		_ = Control(false)("tcp", s, nil)
	})
}
