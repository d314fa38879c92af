package dispatch

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/api"
	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// rotationAPI serves hookd's API over e's store and dispatcher, on e's
// clock, with an admin key; call makes one request with it.
type rotationAPI struct {
	t   *testing.T
	srv *httptest.Server
}

const rotationKey = "sk_test_rotation_0123456789"

func newRotationAPI(t *testing.T, e *env) *rotationAPI {
	t.Helper()
	sum := sha256.Sum256([]byte(rotationKey))
	if _, err := e.st.CreateAPIKey(context.Background(), &store.CreateAPIKeyParams{
		ID: hook.NewID("key"), Name: "admin", Hash: sum[:], Now: e.clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Config{Store: e.st, Dispatcher: e.d, Now: e.clock.Now, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &rotationAPI{t: t, srv: srv}
}

func (a *rotationAPI) call(method, path, body string, status int) []byte {
	a.t.Helper()
	req, err := http.NewRequest(method, a.srv.URL+path, strings.NewReader(body))
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+rotationKey)
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.srv.Client().Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != status {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, status, b)
	}
	return b
}

// TestRotationOverlapOnTheWire rotates an endpoint's secret through the
// API, for an app signing with a provider's own scheme (one
// "sha256=<hex>" per signing secret, space-separated), and checks what
// the next deliveries carry: with previous_expires_in 0 only the new
// secret's signature; with 3600 both, until the injected clock has moved
// 3600 s, then only the new one; with the app's secret_overlap_seconds 0
// and no previous_expires_in, only the new one.
func TestRotationOverlapOnTheWire(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	a := newRotationAPI(t, e)
	ctx := context.Background()
	scheme := &hook.SignatureScheme{Scheme: hook.SchemeHMAC, Header: "X-Shop-Signature", TimestampHeader: "X-Shop-Timestamp",
		Encoding: hook.SignatureHex, Payload: hook.SignTimestampBody, Prefix: "sha256=", Key: hook.KeySecretBytes}
	app, err := e.st.CreateApp(ctx, &store.CreateAppParams{ID: hook.NewID("app"), Name: "Shop", Signature: scheme, Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rcv := newReceiver(t, nil)
	ep, err := e.st.CreateEndpoint(ctx, &store.CreateEndpointParams{ID: hook.NewID("ep"), AppID: app.ID, URL: rcv.URL,
		Secret: "shop_secret_A_0123456789abcdef", Now: e.clock.Now()})
	if err != nil {
		t.Fatal(err)
	}
	rotate := func(secret, extra string) {
		t.Helper()
		a.call("POST", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID+"/secret/rotate", `{"secret":"`+secret+`"`+extra+`}`, http.StatusOK)
	}
	// deliver publishes an event and returns the signature header of its
	// delivery, checked to be one signature per secret given, in order.
	deliver := func(what string, secrets ...string) {
		t.Helper()
		b := a.call("POST", "/v1/apps/"+app.ID+"/events", `{"type":"order.created","data":{"n":1}}`, http.StatusAccepted)
		var ev hook.Event
		if err := json.Unmarshal(b, &ev); err != nil {
			t.Fatal(err)
		}
		var got recorded
		waitFor(t, what+": the delivery", func() bool {
			rcv.mu.Lock()
			defer rcv.mu.Unlock()
			for _, r := range rcv.reqs {
				if bytes.Contains(r.body, []byte(ev.ID)) {
					got = r
					return true
				}
			}
			return false
		})
		ts := got.header.Get("X-Shop-Timestamp")
		if _, err := strconv.ParseInt(ts, 10, 64); err != nil {
			t.Fatalf("%s: timestamp %q", what, ts)
		}
		var want []string
		for _, s := range secrets {
			mac := hmac.New(sha256.New, []byte(s))
			mac.Write([]byte(ts + "."))
			mac.Write(got.body)
			want = append(want, "sha256="+hex.EncodeToString(mac.Sum(nil)))
		}
		if sig := got.header.Get("X-Shop-Signature"); sig != strings.Join(want, " ") {
			t.Errorf("%s: X-Shop-Signature = %q, want %q (signed with %d secret(s))", what, sig, strings.Join(want, " "), len(secrets))
		}
	}

	deliver("before any rotation", "shop_secret_A_0123456789abcdef")
	rotate("shop_secret_B_0123456789abcdef", `,"previous_expires_in":0`)
	deliver("after a rotation with 0", "shop_secret_B_0123456789abcdef")

	rotate("shop_secret_C_0123456789abcdef", `,"previous_expires_in":3600`)
	deliver("within 3600 s", "shop_secret_C_0123456789abcdef", "shop_secret_B_0123456789abcdef")
	e.clock.Advance(3599 * time.Second)
	deliver("1 s before the end", "shop_secret_C_0123456789abcdef", "shop_secret_B_0123456789abcdef")
	e.clock.Advance(time.Second)
	deliver("3600 s on", "shop_secret_C_0123456789abcdef")

	// The app's default: 0 for such a provider, and a rotation that does
	// not say uses it.
	a.call("PATCH", "/v1/apps/"+app.ID, `{"secret_overlap_seconds":0}`, http.StatusOK)
	rotate("shop_secret_D_0123456789abcdef", "")
	deliver("after a rotation with the app's 0", "shop_secret_D_0123456789abcdef")

	// Without either, today's 24 h.
	a.call("PATCH", "/v1/apps/"+app.ID, `{"secret_overlap_seconds":86400}`, http.StatusOK)
	rotate("shop_secret_E_0123456789abcdef", "")
	e.clock.Advance(24*time.Hour - time.Second)
	deliver("within the default 24 h", "shop_secret_E_0123456789abcdef", "shop_secret_D_0123456789abcdef")
}

// TestReflowDeliveryNamesAnAPIVersion: an endpoint that chooses the
// reflow profile for an app with no api_version (and events with none)
// receives Reflow's "api-version", never null.
func TestReflowDeliveryNamesAnAPIVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rcv := newReceiver(t, nil)
	e.endpoint(rcv.URL, func(p *store.CreateEndpointParams) { p.Profile = hook.ProfileReflow })
	if e.app.APIVersion != "" {
		t.Fatalf("the app has api_version %q", e.app.APIVersion)
	}
	res := e.publish("order.created", `{"id":"o1"}`)
	waitFor(t, "the delivery", func() bool { return e.delivery(res.Deliveries[0].ID).Status == hook.DeliverySucceeded })
	var body map[string]any
	if err := json.Unmarshal(rcv.get(0).body, &body); err != nil {
		t.Fatal(err)
	}
	if body["api-version"] != "2023-01-30" {
		t.Errorf("api-version = %v, want 2023-01-30: %s", body["api-version"], rcv.get(0).body)
	}
}
