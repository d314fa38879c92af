package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/config"
)

// testConfig is the settings the tests run hookd with: a SQLite file in
// dir, any free port, the test's admin key, receivers on loopback allowed.
func testConfig(dir string) config.Config {
	cfg := config.Default()
	cfg.Addr = "127.0.0.1:0"
	cfg.DB = filepath.Join(dir, "hookd.db")
	cfg.APIKey = testAdminKey
	cfg.AllowPrivateNetworks = true
	cfg.ShutdownTimeout = 5 * time.Second
	return cfg
}

// startHookdWith runs hookd on a fresh SQLite file, with the settings mod
// changes, until the test ends, and returns it with its log.
func startHookdWith(t *testing.T, mod func(*config.Config)) (*hookd, *syncBuffer) {
	t.Helper()
	cfg := testConfig(t.TempDir())
	if mod != nil {
		mod(&cfg)
	}
	h, logs, _ := runHookd(t, cfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hookd log:\n%s", logs)
		}
	})
	return h, logs
}

// callWithKey makes one API request with the given key; body is marshalled
// to JSON unless nil.
func (h *hookd) callWithKey(t *testing.T, key, method, path string, body any) (int, []byte) {
	t.Helper()
	status, _, b := h.request(t, key, method, path, body)
	return status, b
}

// TestTenantCannotBecomeOperatorApp is the attack of issue 12, item 2:
// hookd starts with HOOKD_OPERATOR_APP=opsapp before any app has that uid,
// and a tenant's app key PATCHes its own app to uid opsapp, to receive
// every tenant's delivery.* and endpoint.* events. hookd warns at start
// and on /readyz that the operator app is missing, refuses the PATCH, and
// the operational events reach the operator's app once an admin creates
// it, never the tenant's.
func TestTenantCannotBecomeOperatorApp(t *testing.T) {
	t.Parallel()
	h, logs := startHookdWith(t, func(c *config.Config) { c.OperatorApp = "opsapp" })

	// Reported at start, and on /readyz.
	if l := logs.String(); !strings.Contains(l, "level=WARN") || !strings.Contains(l, `HOOKD_OPERATOR_APP is \"opsapp\", and no app has this id or uid`) {
		t.Fatalf("no warning at start about the missing operator app; log:\n%s", l)
	}
	var ready struct {
		Status   string
		Warnings []string
	}
	h.must(t, "GET", "/readyz", nil, http.StatusOK, &ready)
	if ready.Status != "ok" || len(ready.Warnings) != 1 || !strings.Contains(ready.Warnings[0], "opsapp") {
		t.Fatalf("/readyz = %+v, want ok with a warning about opsapp", ready)
	}

	// The tenant: an app, an app key, and an endpoint that takes every type.
	tenant := h.createApp(t, `{"name":"Tenant","uid":"tenant"}`)
	var key struct{ Key string }
	h.must(t, "POST", "/v1/api-keys", map[string]any{"name": "tenant", "app": "tenant"}, http.StatusCreated, &key)
	tenantRcv := newReceiver(t)
	if status, b := h.callWithKey(t, key.Key, "POST", "/v1/apps/tenant/endpoints", map[string]any{"url": tenantRcv.url("/tenant")}); status != http.StatusCreated {
		t.Fatalf("tenant creates its endpoint: %d %s", status, b)
	}

	// The attack: refused, and the uid stays free.
	for _, uid := range []string{"opsapp", "OPSAPP"} {
		status, b := h.callWithKey(t, key.Key, "PATCH", "/v1/apps/"+tenant.ID, map[string]any{"uid": uid})
		if status != http.StatusForbidden || !strings.Contains(string(b), "body.uid") {
			t.Fatalf("tenant PATCH uid %q: %d %s, want 403 on body.uid", uid, status, b)
		}
	}
	if status, _, b := h.call(t, "GET", "/v1/apps/opsapp", nil); status != http.StatusNotFound {
		t.Fatalf("GET /v1/apps/opsapp after the refused PATCH: %d %s", status, b)
	}

	// The operator creates its app; the warning goes.
	ops := h.createApp(t, `{"name":"Operator","uid":"opsapp"}`)
	opsRcv := newReceiver(t)
	h.createEndpoint(t, ops.ID, opsRcv, "/ops", `{}`)
	ready.Warnings = nil
	h.must(t, "GET", "/readyz", nil, http.StatusOK, &ready)
	if len(ready.Warnings) != 0 {
		t.Fatalf("/readyz once the operator app exists: %+v", ready)
	}

	// Another tenant's endpoint answers 410: hookd disables it and emits
	// endpoint.disabled, with its app, endpoint and URL.
	var gone atomic.Int64
	goneSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		gone.Add(1)
		w.WriteHeader(http.StatusGone)
	}))
	t.Cleanup(goneSrv.Close)
	victim := h.createApp(t, `{"name":"Victim","uid":"victim"}`)
	h.must(t, "POST", "/v1/apps/victim/endpoints", map[string]any{"url": goneSrv.URL + "/hook"}, http.StatusCreated, nil)
	h.publish(t, "victim", `{"type":"order.created","data":{}}`)

	got := opsRcv.waitFor(t, "/ops", "endpoint.disabled", func(r []received) bool { return len(r) > 0 })
	var ev struct {
		Type string
		Data struct {
			AppID string `json:"app_id"`
		}
	}
	if err := json.Unmarshal(got[0].Body, &ev); err != nil || ev.Type != "endpoint.disabled" || ev.Data.AppID != victim.ID {
		t.Fatalf("the operator app received %s (%v), want endpoint.disabled about %s", got[0].Body, err, victim.ID)
	}
	if n := len(tenantRcv.on("/tenant")); n != 0 {
		t.Fatalf("the tenant received %d requests, want none", n)
	}
	if gone.Load() == 0 {
		t.Fatal("the victim's endpoint was never called")
	}
}
