package dashboard

import (
	"testing"

	"github.com/hookd/hookd/internal/api"
)

// TestEndpointProblem: the last error of a troubled endpoint in plain
// words, not the dispatcher's message.
func TestEndpointProblem(t *testing.T) {
	for _, c := range []struct {
		ep   api.StatsEndpoint
		want string
	}{
		{api.StatsEndpoint{State: "failing", LastErrorKind: "status", LastResponseStatus: 503, LastError: "HTTP 503"}, "HTTP 503"},
		{api.StatsEndpoint{State: "failing", LastErrorKind: "refused", LastError: "dial tcp 10.0.0.1:443: connect: connection refused"}, "connection refused"},
		{api.StatsEndpoint{State: "failing", LastErrorKind: "timeout", LastError: "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}, "timed out"},
		{api.StatsEndpoint{State: "failing", LastErrorKind: "dns", LastError: "lookup nope.invalid: no such host"}, "host name not found (DNS)"},
		{api.StatsEndpoint{State: "disabled"}, "disabled"},
		{api.StatsEndpoint{State: "disabled", LastErrorKind: "tls", LastError: "x509: certificate has expired"}, "disabled; last attempt: TLS handshake failed"},
	} {
		if got := endpointProblem(c.ep); got != c.want {
			t.Errorf("%+v: %q, want %q", c.ep, got, c.want)
		}
	}
}

// TestNiceCeil: an axis tops at 1, 2, 2.5 or 5 × 10^n, never below the
// data.
func TestNiceCeil(t *testing.T) {
	for v, want := range map[float64]float64{0: 1, 1: 1, 3: 5, 7: 10, 11: 20, 21: 25, 240: 250, 251: 500, 0.3: 0.5} {
		if got := niceCeil(v); got != want {
			t.Errorf("niceCeil(%v) = %v, want %v", v, got, want)
		}
	}
}
