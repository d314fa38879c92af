package dispatch

import (
	"net/http"
	"testing"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// TestHopByHopHeadersStoredBeforeLeftOut: an endpoint stored before
// hop-by-hop and framing headers were refused still holds them; its
// deliveries go out without them, with its other headers.
func TestHopByHopHeadersStoredBeforeLeftOut(t *testing.T) {
	t.Parallel()
	e := newEnv(t, nil)
	rc := newReceiver(t, nil)
	e.endpoint(rc.URL, func(p *store.CreateEndpointParams) {
		p.Headers = map[string]string{
			"Authorization": "Bearer t", "Upgrade": "h2c", "Expect": "100-continue", "TE": "trailers",
			"Keep-Alive": "timeout=5", "Proxy-Authorization": "Basic eDp5", "Content-Encoding": "gzip",
		}
	})
	res := e.publish("order.created", `{}`)
	waitFor(t, "the delivery to succeed", func() bool { return e.delivery(res.Deliveries[0].ID).Status == hook.DeliverySucceeded })
	got := rc.get(0).header
	if got.Get("Authorization") != "Bearer t" {
		t.Errorf("Authorization = %q, want the endpoint's", got.Get("Authorization"))
	}
	for _, k := range []string{"Upgrade", "Expect", "Te", "Keep-Alive", "Proxy-Authorization", "Content-Encoding"} {
		if v, ok := got[http.CanonicalHeaderKey(k)]; ok {
			t.Errorf("the delivery carried %s: %q", k, v)
		}
	}
}
