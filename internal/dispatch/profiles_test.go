package dispatch

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
	"github.com/hookd/hookd/webhook"
)

// setApp changes the env's app and tells the dispatcher, as the API does.
func (e *env) setApp(p *store.UpdateAppParams) {
	e.t.Helper()
	p.AppID, p.Now = e.app.ID, e.clock.Now()
	a, err := e.st.UpdateApp(context.Background(), p)
	if err != nil {
		e.t.Fatal(err)
	}
	e.app = a
	e.d.AppChanged(a)
}

func TestPayloadFilterDecidesFanOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	paid := newReceiver(t, nil)
	all := newReceiver(t, nil)
	broken := newReceiver(t, nil)
	e.endpoint(paid.URL, func(p *store.CreateEndpointParams) {
		p.Filter = `.type == "order.updated" and .data.payment_status == "paid"`
	})
	e.endpoint(all.URL, nil)
	e.endpoint(broken.URL, func(p *store.CreateEndpointParams) { p.Filter = `error("boom")` })

	tests := []struct {
		typ, data string
		want      int // deliveries made
	}{
		{"order.updated", `{"payment_status":"paid"}`, 2},
		{"order.updated", `{"payment_status":"failed"}`, 1},
		{"order.created", `{"payment_status":"paid"}`, 1},
	}
	for _, tt := range tests {
		res := e.publish(tt.typ, tt.data)
		if len(res.Deliveries) != tt.want {
			t.Errorf("%s %s: %d deliveries, want %d", tt.typ, tt.data, len(res.Deliveries), tt.want)
		}
	}
	waitFor(t, "the unfiltered endpoint to get all 3", func() bool { return all.count() == 3 })
	waitFor(t, "the paid filter to pass 1", func() bool { return paid.count() == 1 })
	if n := broken.count(); n != 0 {
		t.Errorf("an endpoint whose filter fails got %d deliveries", n)
	}
	var body struct {
		Data struct {
			PaymentStatus string `json:"payment_status"`
		} `json:"data"`
	}
	_ = json.Unmarshal(paid.get(0).body, &body)
	if body.Data.PaymentStatus != "paid" {
		t.Errorf("filtered endpoint got %s", paid.get(0).body)
	}
}

func TestProfilesAndEnvelopesShapeTheBody(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	e.setApp(&store.UpdateAppParams{Profile: ptr(hook.ProfileReflow), APIVersion: ptr("2023-01-30")})
	reflow := newReceiver(t, nil)
	flexprice := newReceiver(t, nil)
	custom := newReceiver(t, nil)
	epReflow := e.endpoint(reflow.URL, nil)
	e.endpoint(flexprice.URL, func(p *store.CreateEndpointParams) { p.Profile = hook.ProfileFlexprice })
	e.endpoint(custom.URL, func(p *store.CreateEndpointParams) {
		p.UID = "wh-1"
		p.Envelope = `{kind: .type, who: .endpoint.uid, attempt: .delivery.attempt, total: .data.total}`
	})
	res := e.publish("order.updated", `{"id":"o1","total":4200}`)
	waitFor(t, "all three to receive", func() bool { return reflow.count() == 1 && flexprice.count() == 1 && custom.count() == 1 })

	var rb map[string]any
	if err := json.Unmarshal(reflow.get(0).body, &rb); err != nil {
		t.Fatal(err)
	}
	if rb["object"] != "event" || rb["api-version"] != "2023-01-30" || rb["type"] != "order.updated" ||
		rb["created"] != float64(t0.Unix()) || rb["id"] != res.Event.ID {
		t.Errorf("reflow body %s", reflow.get(0).body)
	}
	if d, _ := rb["data"].(map[string]any); d == nil || d["object"] == nil {
		t.Errorf("reflow body without data.object: %s", reflow.get(0).body)
	}
	// The signature covers exactly the bytes sent.
	v, err := webhook.NewVerifier(epReflow.Secret)
	if err != nil {
		t.Fatal(err)
	}
	v.Now = e.clock.Now
	if err := v.Verify(reflow.get(0).header, reflow.get(0).body); err != nil {
		t.Errorf("reflow body signature: %v", err)
	}
	var fb map[string]any
	_ = json.Unmarshal(flexprice.get(0).body, &fb)
	if fb["webhook_type"] != "order.updated" || fb["object_type"] != "order" {
		t.Errorf("flexprice body %s", flexprice.get(0).body)
	}
	if got := string(custom.get(0).body); got != `{"attempt":1,"kind":"order.updated","total":4200,"who":"wh-1"}` {
		t.Errorf("jq envelope body %s", got)
	}
}

func TestBrokenEnvelopeIsRecordedAndRetried(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, nil)
	ep := e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Envelope = `.data | error("no " + .what)` })
	res := e.publish("order.created", `{"what":"body"}`)
	id := res.Deliveries[0].ID
	waitFor(t, "the failed attempt to be recorded", func() bool { return e.delivery(id).AttemptCount == 1 })
	dl := e.delivery(id)
	a := dl.Attempts[0]
	if a.ErrorKind != hook.ErrorKindInternal || !strings.Contains(a.Error, "envelope") || !strings.Contains(a.Error, "no body") {
		t.Errorf("attempt %+v: want an internal error naming the envelope", a)
	}
	if dl.Status != hook.DeliveryPending || rc.count() != 0 {
		t.Fatalf("delivery %s, receiver %d: want pending, nothing sent", dl.Status, rc.count())
	}
	// Fixing the program lets the retry through.
	fixed := ""
	up, err := e.st.UpdateEndpoint(context.Background(), &store.UpdateEndpointParams{
		AppID: e.app.ID, EndpointID: ep.ID, Envelope: &fixed, Now: e.clock.Now(),
	})
	if err != nil {
		t.Fatal(err)
	}
	e.d.EndpointChanged(up)
	e.clock.Advance(5 * time.Second)
	waitFor(t, "the retry to succeed", func() bool { return e.delivery(id).Status == hook.DeliverySucceeded })
}

func TestProviderSignatureSchemes(t *testing.T) {
	t.Parallel()
	const secret = "shop_live_secret_0123456789"
	tests := []struct {
		name   string
		scheme hook.SignatureScheme
		want   func(ts, id string, body []byte) string
	}{
		{"hex over the body", hook.SignatureScheme{Header: "X-Shop-Signature", Encoding: hook.SignatureHex, Payload: hook.SignBody, Key: hook.KeySecretBytes},
			func(_, _ string, body []byte) string { return hexMAC([]byte(secret), body) }},
		{"prefixed hex over timestamp.body", hook.SignatureScheme{Header: "X-Shop-Signature", TimestampHeader: "X-Shop-Timestamp", Encoding: hook.SignatureHex, Payload: hook.SignTimestampBody, Prefix: "sha256=", Key: hook.KeySecretBytes},
			func(ts, _ string, body []byte) string {
				return "sha256=" + hexMAC([]byte(secret), []byte(ts+"."+string(body)))
			}},
		{"base64 over id.timestamp.body", hook.SignatureScheme{Header: "Shop-Sig", TimestampHeader: "Shop-Time", IDHeader: "Shop-Id", Encoding: hook.SignatureBase64, Payload: hook.SignIDTimestampBody, Key: hook.KeySecretBytes},
			func(ts, id string, body []byte) string {
				m := hmac.New(sha256.New, []byte(secret))
				m.Write([]byte(id + "." + ts + "." + string(body)))
				return base64.StdEncoding.EncodeToString(m.Sum(nil))
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, nil)
			s := tt.scheme
			s.Scheme = hook.SchemeHMAC
			sp := &s
			e.setApp(&store.UpdateAppParams{Signature: &sp})
			rc := newReceiver(t, nil)
			e.endpoint(rc.URL, func(p *store.CreateEndpointParams) { p.Secret = secret })
			res := e.publish("order.created", `{"n":1}`)
			waitFor(t, "the delivery", func() bool { return rc.count() == 1 })
			got := rc.get(0)
			ts := strconv.FormatInt(t0.Unix(), 10)
			if want := tt.want(ts, res.Event.ID, got.body); got.header.Get(s.Header) != want {
				t.Errorf("%s = %q, want %q", s.Header, got.header.Get(s.Header), want)
			}
			if s.TimestampHeader != "" && got.header.Get(s.TimestampHeader) != ts {
				t.Errorf("%s = %q, want %s", s.TimestampHeader, got.header.Get(s.TimestampHeader), ts)
			}
			if s.IDHeader != "" && got.header.Get(s.IDHeader) != res.Event.ID {
				t.Errorf("%s = %q, want the event id", s.IDHeader, got.header.Get(s.IDHeader))
			}
			if got.header.Get("webhook-signature") != "" {
				t.Errorf("a provider scheme also sent webhook-signature")
			}
			if got.header.Get("webhook-id") != res.Event.ID {
				t.Errorf("webhook-id = %q, want the event id", got.header.Get("webhook-id"))
			}
		})
	}
}

func hexMAC(key, msg []byte) string {
	m := hmac.New(sha256.New, key)
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

func ptr[T any](v T) *T { return &v }
