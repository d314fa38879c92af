package hook

import (
	"errors"
	"testing"
	"time"
)

func TestMatchEventTypes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		patterns []string
		typ      string
		want     bool
	}{
		{nil, "order.created", true},
		{[]string{}, "anything.at_all", true},
		{[]string{"order.created"}, "order.created", true},
		{[]string{"order.created"}, "order.updated", false},
		{[]string{"order.*"}, "order.created", true},
		{[]string{"order.*"}, "order.payment.failed", true},
		{[]string{"order.*"}, "order", false},
		{[]string{"order.*"}, "orders.created", false},
		{[]string{"*.created"}, "order.created", true},
		{[]string{"*.created"}, "order.updated", false},
		{[]string{"*.created"}, "order.item.created", false},
		{[]string{"*"}, "review.published", true},
		{[]string{"invoice.*.failed"}, "invoice.payment.failed", true},
		{[]string{"invoice.*.failed"}, "invoice.payment.ok", false},
		{[]string{"user.updated", "order.*"}, "order.paid", true},
		{[]string{"user.updated", "order.*"}, "review.created", false},
		{[]string{"order.created"}, "order.created.extra", false},
	}
	for _, tt := range tests {
		if got := MatchEventTypes(tt.patterns, tt.typ); got != tt.want {
			t.Errorf("MatchEventTypes(%q, %q) = %v, want %v", tt.patterns, tt.typ, got, tt.want)
		}
	}
}

func TestValidateEventTypeName(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"order.created", "billable_metric.archived", "customer.payment-provider.created", "a.b"} {
		if err := ValidateEventTypeName("type", ok); err != nil {
			t.Errorf("%q: unexpected error %v", ok, err)
		}
	}
	for _, bad := range []string{"", "order", "order.", ".created", "order..created", "order created", "order.*", "ördér.created"} {
		err := ValidateEventTypeName("type", bad)
		var e *Error
		if !errors.As(err, &e) || e.Code != EInvalid || e.Field != "type" {
			t.Errorf("%q: got %v, want an EInvalid error on field type", bad, err)
		}
	}
}

func TestValidateEventTypePatterns(t *testing.T) {
	t.Parallel()
	if err := ValidateEventTypePatterns("event_types", []string{"order.*", "*", "*.created", "user.updated"}); err != nil {
		t.Fatal(err)
	}
	err := ValidateEventTypePatterns("event_types", []string{"order.created", "order.**"})
	var e *Error
	if !errors.As(err, &e) || e.Field != "event_types[1]" {
		t.Fatalf("got %v, want an error on event_types[1]", err)
	}
}

func TestValidateHeadersRefusesReserved(t *testing.T) {
	t.Parallel()
	if err := ValidateHeaders("headers", map[string]string{"X-Tenant": "42"}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []map[string]string{
		{"webhook-signature": "x"}, {"Content-Type": "text/plain"}, {"bad header": "x"}, {"X-Ok": "a\r\nInjected: 1"},
	} {
		if err := ValidateHeaders("headers", h); err == nil {
			t.Errorf("%v: accepted, want refused", h)
		}
	}
}

func TestValidateEndpointURL(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://example.com/hook", "http://example.com:8080/a?b=c"} {
		if _, err := ValidateEndpointURL("url", ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "ftp://example.com", "example.com/hook", "https://", "https://user:pw@example.com", "https://example.com/#frag", "javascript:alert(1)"} {
		if _, err := ValidateEndpointURL("url", bad); err == nil {
			t.Errorf("%q: accepted, want refused", bad)
		}
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	a, b := NewSecret(), NewSecret()
	if a == b {
		t.Fatal("two secrets are equal")
	}
	if err := ValidateSecret("secret", a); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_!!!", "whsec_c2hvcnQ="} {
		if err := ValidateSecret("secret", bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if err := ValidateSecret("secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Errorf("the Standard Webhooks test secret was refused: %v", err)
	}
}

func TestSigningSecretsDuringRotation(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ep := &Endpoint{Secret: "new", PreviousSecret: "old", PreviousSecretExpiresAt: now.Add(time.Hour)}
	if got := ep.SigningSecrets(now); len(got) != 2 || got[0] != "new" || got[1] != "old" {
		t.Errorf("during grace: %v", got)
	}
	if got := ep.SigningSecrets(now.Add(time.Hour)); len(got) != 1 || got[0] != "new" {
		t.Errorf("after grace: %v", got)
	}
}

func TestParseRetrySchedule(t *testing.T) {
	t.Parallel()
	s, err := ParseRetrySchedule("5s,5m,30m,2h,5h,10h,10h")
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != DefaultRetrySchedule.String() || s.MaxAttempts() != 8 {
		t.Errorf("got %s (%d attempts)", s, s.MaxAttempts())
	}
	var total time.Duration
	for _, d := range s {
		total += d
	}
	if total < 27*time.Hour || total > 29*time.Hour {
		t.Errorf("default schedule spans %s, want about 28h", total)
	}
	for _, bad := range []string{"5", "5s,-1s", "5s,,6s", "0s"} {
		if _, err := ParseRetrySchedule(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if s, err := ParseRetrySchedule(""); err != nil || s.MaxAttempts() != 1 {
		t.Errorf("empty schedule: %v %v", s, err)
	}
}

func TestDecide(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := RetrySchedule{5 * time.Second, 5 * time.Minute}
	tests := []struct {
		name      string
		o         Outcome
		scheduled int
		manual    bool
		want      Decision
	}{
		{"2xx succeeds", Outcome{StatusCode: 204}, 1, false, Decision{Status: DeliverySucceeded}},
		{"first failure waits 5s", Outcome{StatusCode: 500, ErrorKind: ErrorKindStatus}, 1, false, Decision{Status: DeliveryPending, NextAttemptAt: now.Add(5 * time.Second)}},
		{"second failure waits 5m", Outcome{ErrorKind: ErrorKindTimeout}, 2, false, Decision{Status: DeliveryPending, NextAttemptAt: now.Add(5 * time.Minute)}},
		{"last attempt fails", Outcome{StatusCode: 500, ErrorKind: ErrorKindStatus}, 3, false, Decision{Status: DeliveryFailed}},
		{"3xx is a failure", Outcome{StatusCode: 302, ErrorKind: ErrorKindStatus}, 1, false, Decision{Status: DeliveryPending, NextAttemptAt: now.Add(5 * time.Second)}},
		{"410 disables", Outcome{StatusCode: 410, ErrorKind: ErrorKindStatus}, 1, false, Decision{Status: DeliveryFailed, DisableEndpoint: true}},
		{"429 honours Retry-After", Outcome{StatusCode: 429, ErrorKind: ErrorKindStatus, RetryAfter: 90 * time.Second}, 1, false, Decision{Status: DeliveryPending, NextAttemptAt: now.Add(90 * time.Second)}},
		{"503 Retry-After capped", Outcome{StatusCode: 503, ErrorKind: ErrorKindStatus, RetryAfter: 48 * time.Hour}, 1, false, Decision{Status: DeliveryPending, NextAttemptAt: now.Add(MaxRetryAfter)}},
		{"500 ignores Retry-After", Outcome{StatusCode: 500, ErrorKind: ErrorKindStatus, RetryAfter: time.Hour}, 1, false, Decision{Status: DeliveryPending, NextAttemptAt: now.Add(5 * time.Second)}},
		{"429 on last attempt fails", Outcome{StatusCode: 429, ErrorKind: ErrorKindStatus, RetryAfter: time.Second}, 3, false, Decision{Status: DeliveryFailed}},
		{"manual failure is final", Outcome{StatusCode: 500, ErrorKind: ErrorKindStatus}, 1, true, Decision{Status: DeliveryFailed}},
		{"manual success", Outcome{StatusCode: 200}, 3, true, Decision{Status: DeliverySucceeded}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := s.Decide(tt.o, tt.scheduled, tt.manual, now, NoJitter)
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDefaultJitterStaysWithinTenPercent(t *testing.T) {
	t.Parallel()
	for range 1000 {
		d := DefaultJitter(10 * time.Second)
		if d < 10*time.Second || d > 11*time.Second {
			t.Fatalf("jittered 10s to %s", d)
		}
	}
}

func TestNewIDSortsByTime(t *testing.T) {
	t.Parallel()
	a := NewID("dlv")
	time.Sleep(2 * time.Millisecond)
	b := NewID("dlv")
	if len(a) != len("dlv_")+26 || a >= b {
		t.Errorf("ids %q, %q: want fixed length and increasing", a, b)
	}
}
