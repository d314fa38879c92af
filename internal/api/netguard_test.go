package api_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/netguard"
	"github.com/hookd/hookd/internal/store/sqlitestore"
)

// newGuardedEnv is an API whose endpoint URL check is the real SSRF guard,
// wired as the server wires it (netguard.CheckHost on the URL's hostname,
// private networks not allowed).
func newGuardedEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "hookd.db"), nil)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	e := &env{t: t, store: st, pub: &testPublisher{st: st}, now: time.Now}
	h, err := api.New(api.Config{
		Store:      st,
		Dispatcher: e.pub,
		CheckURL: func(u *url.URL) error {
			return netguard.CheckHost(u.Hostname(), false)
		},
		Logger:  slog.New(slog.DiscardHandler),
		Version: "1.2.3-test",
	})
	if err != nil {
		t.Fatalf("api.New: %v", err)
	}
	e.srv = httptest.NewServer(h)
	t.Cleanup(e.srv.Close)
	t.Cleanup(e.pub.readers.Wait)
	e.addKey(adminKey, "")
	return e
}

// TestEndpointURLSpecialPurposeAddresses saves endpoint URLs whose host is
// an address of a block IANA's special-purpose registries call not
// globally reachable (issue 12, item 9): each is refused with a 422
// problem naming body.url, on create and on update, and nothing is stored.
// The globally reachable blocks carved out of reserved ones are accepted.
func TestEndpointURLSpecialPurposeAddresses(t *testing.T) {
	t.Parallel()
	e := newGuardedEnv(t)
	a := e.mkApp("A", "")
	epURL := "/v1/apps/" + a.ID + "/endpoints"
	ep := e.mkEndpoint(a.ID, map[string]any{"url": "https://example.com/hook"})
	epID, _ := ep["id"].(string)

	refused := []string{
		"http://192.0.2.1/hook",                // TEST-NET-1
		"http://198.51.100.7:8080/hook",        // TEST-NET-2
		"https://203.0.113.255/",               // TEST-NET-3
		"http://240.0.0.1/",                    // reserved
		"http://192.88.99.1/",                  // deprecated 6to4 relay anycast
		"http://[2001:db8::1]/hook",            // documentation
		"http://[3fff::1]/",                    // documentation (RFC 9637)
		"http://[100::1]/",                     // discard-only
		"http://[64:ff9b:1::808:808]/",         // local-use NAT64
		"http://[2001::1]/",                    // Teredo
		"http://[2001:2::1]/",                  // benchmarking
		"http://[5f00::1]/",                    // SRv6 SIDs
		"http://[2002:c000:201::]/",            // 6to4 of 192.0.2.1
		"http://[::ffff:c633:6401]/",           // IPv4-mapped 198.51.100.1
		"http://[4000::1]/",                    // outside global unicast 2000::/3
		"http://0xc0.0.2.1/",                   // legacy spelling of 192.0.2.1
		"http://[2001:db8::1%25eth0]:8443/x?y", // zoned
		"http://192.0.0.9/",                    // PCP anycast: the operator's own router
		"http://192.0.0.10/",                   // TURN anycast
		"http://192.31.196.1/",                 // AS112-v4
		"http://[2001:3::1]/",                  // AMT anycast
		"http://[2001:4:112::1]/",              // AS112-v6
		"http://[2620:4f:8000::1]/",            // AS112 direct delegation
	}
	for _, raw := range refused {
		t.Run("refused "+raw, func(t *testing.T) {
			t.Parallel()
			for _, r := range []*result{
				e.call("POST", epURL, map[string]any{"url": raw}),
				e.call("PATCH", epURL+"/"+epID, map[string]any{"url": raw}),
			} {
				p := wantProblem(t, r, http.StatusUnprocessableEntity, "body.url")
				if msgs := strings.Join(p.messages(), "; "); !strings.Contains(msgs, "is refused") || !strings.Contains(msgs, "HOOKD_ALLOW_PRIVATE_NETWORKS") {
					t.Errorf("messages %q do not say the address is refused and how to allow it", msgs)
				}
			}
		})
	}

	allowed := []string{
		"http://[2001:20::1]/",            // ORCHIDv2, inside 2001::/23
		"https://[2606:4700::1111]:8443/", // ordinary global unicast
		"https://8.8.8.8/hook",
	}
	for _, raw := range allowed {
		t.Run("allowed "+raw, func(t *testing.T) {
			t.Parallel()
			want[map[string]any](t, e.call("POST", epURL, map[string]any{"url": raw}), http.StatusCreated)
		})
	}

	t.Cleanup(func() {
		// The endpoint made first, and one for each allowed URL; the
		// update was refused every time.
		if n, wantN := e.count(epURL), 1+len(allowed); n != wantN {
			t.Errorf("%d endpoints stored, want %d", n, wantN)
		}
		got := want[map[string]any](t, e.call("GET", epURL+"/"+epID, nil), http.StatusOK)
		if got["url"] != "https://example.com/hook" {
			t.Errorf("endpoint URL %v after refused updates, want https://example.com/hook", got["url"])
		}
	})
}
