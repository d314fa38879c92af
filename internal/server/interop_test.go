package server_test

import (
	"errors"
	"net/http"
	"testing"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// TestDeliveriesVerifyWithTheStandardWebhooksReference checks hookd's real
// deliveries with the Standard Webhooks reference Go library, the code a
// provider's customer may run instead of hookd's webhook package: a
// delivery verifies with the endpoint's secret; a tampered body, another
// secret or a stale id does not; after a rotation, the delivery carries
// two signatures and verifies with either secret.
func TestDeliveriesVerifyWithTheStandardWebhooksReference(t *testing.T) {
	t.Parallel()
	h := startHookd(t)
	rcv := newReceiver(t)
	app := h.createApp(t, `{"name":"interop"}`)
	ep := h.createEndpoint(t, app.ID, rcv, "/hook", `{}`)

	reference := func(t *testing.T, secret string) *standardwebhooks.Webhook {
		t.Helper()
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatalf("the reference library refuses hookd's secret %q: %v", secret, err)
		}
		return wh
	}

	ev := h.publish(t, app.ID, `{"type":"order.created","data":{"order_id":"ord_1","total":12.5,"note":"naïve ✓"}}`)
	got := rcv.await(t, "/hook", ev.ID)
	if err := reference(t, ep.secret).Verify(got.Body, got.Header); err != nil {
		t.Fatalf("the reference library rejects hookd's delivery: %v\nheaders: %v\nbody: %s", err, got.Header, got.Body)
	}

	tampered := append([]byte(nil), got.Body...)
	tampered[len(tampered)/2] ^= 1
	for _, c := range []struct {
		name   string
		secret string
		body   []byte
		header http.Header
		want   error
	}{
		{"tampered body", ep.secret, tampered, got.Header, standardwebhooks.ErrNoMatchingSignature},
		{"another secret", "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", got.Body, got.Header, standardwebhooks.ErrNoMatchingSignature},
		{"another id", ep.secret, got.Body, withHeader(got.Header, "webhook-id", "msg_other"), standardwebhooks.ErrNoMatchingSignature},
		{"no signature", ep.secret, got.Body, withHeader(got.Header, "webhook-signature", ""), standardwebhooks.ErrRequiredHeaders},
	} {
		if err := reference(t, c.secret).Verify(c.body, c.header); !errors.Is(err, c.want) {
			t.Errorf("%s: the reference library says %v, want %v", c.name, err, c.want)
		}
	}

	// A rotation keeps the previous secret signing for the overlap: the
	// header carries both signatures, space-separated, as the spec allows.
	var rotated struct{ Secret string }
	h.must(t, "POST", "/v1/apps/"+app.ID+"/endpoints/"+ep.ID+"/secret/rotate", `{}`, http.StatusOK, &rotated)
	if rotated.Secret == "" || rotated.Secret == ep.secret {
		t.Fatalf("rotation answered secret %q (was %q)", rotated.Secret, ep.secret)
	}
	ev2 := h.publish(t, app.ID, `{"type":"order.updated","data":{"order_id":"ord_1"}}`)
	got2 := rcv.await(t, "/hook", ev2.ID)
	for name, secret := range map[string]string{"previous": ep.secret, "new": rotated.Secret} {
		if err := reference(t, secret).Verify(got2.Body, got2.Header); err != nil {
			t.Errorf("after a rotation, the reference library rejects the delivery with the %s secret: %v (webhook-signature %q)",
				name, err, got2.Header.Get("webhook-signature"))
		}
	}
}

// withHeader returns a copy of h with name set to value (deleted when
// value is empty).
func withHeader(h http.Header, name, value string) http.Header {
	c := h.Clone()
	if value == "" {
		c.Del(name)
	} else {
		c.Set(name, value)
	}
	return c
}
