package webhook_test

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hookd/hookd/webhook"
)

// The official Standard Webhooks test vector.
const (
	vecSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vecID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vecTS     = 1614265330
	vecBody   = `{"test": 2432232314}`
	vecSig    = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

	otherSecret = "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk="
)

var vecTime = time.Unix(vecTS, 0)

func fixedNow(t time.Time) func() time.Time { return func() time.Time { return t } }

func vecHeader() http.Header {
	h := http.Header{}
	h.Set(webhook.HeaderID, vecID)
	h.Set(webhook.HeaderTimestamp, strconv.Itoa(vecTS))
	h.Set(webhook.HeaderSignature, vecSig)
	return h
}

func mustVerifier(t testing.TB, now time.Time, secrets ...string) *webhook.Verifier {
	t.Helper()
	v, err := webhook.NewVerifier(secrets...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	v.Now = fixedNow(now)
	return v
}

func mustSign(t testing.TB, secret, id string, ts time.Time, body string) string {
	t.Helper()
	sig, err := webhook.Sign(secret, id, ts, []byte(body))
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	return sig
}

func TestOfficialVector(t *testing.T) {
	t.Parallel()
	got, err := webhook.Sign(vecSecret, vecID, vecTime, []byte(vecBody))
	if err != nil {
		t.Fatal(err)
	}
	if got != vecSig {
		t.Errorf("Sign = %q, want %q", got, vecSig)
	}

	s, err := webhook.NewSigner(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 { // pooled state must not leak between calls
		if got := s.Sign(vecID, vecTime, []byte(vecBody)); got != vecSig {
			t.Errorf("Signer.Sign = %q, want %q", got, vecSig)
		}
	}

	// Sub-second precision is truncated, as in the header.
	if got := s.Sign(vecID, vecTime.Add(999*time.Millisecond), []byte(vecBody)); got != vecSig {
		t.Errorf("Signer.Sign with sub-second time = %q, want %q", got, vecSig)
	}

	if err := mustVerifier(t, vecTime, vecSecret).Verify(vecHeader(), []byte(vecBody)); err != nil {
		t.Errorf("Verify: %v", err)
	}
}

func TestVerify(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secrets []string // default: vecSecret
		now     time.Time
		tol     time.Duration
		edit    func(h http.Header)
		body    string // default: vecBody
		wantErr error
	}{
		{name: "valid"},
		{name: "tampered body", body: `{"test": 2432232315}`, wantErr: webhook.ErrNoMatchingSignature},
		{name: "empty body", body: "-", wantErr: webhook.ErrNoMatchingSignature},
		{name: "wrong secret", secrets: []string{otherSecret}, wantErr: webhook.ErrNoMatchingSignature},
		{name: "second verifier secret matches", secrets: []string{otherSecret, vecSecret}},
		{name: "wrong id", edit: set(webhook.HeaderID, "msg_other"), wantErr: webhook.ErrNoMatchingSignature},
		{name: "timestamp reformatted", edit: set(webhook.HeaderTimestamp, "0"+strconv.Itoa(vecTS)), wantErr: webhook.ErrNoMatchingSignature},
		{name: "missing id", edit: del(webhook.HeaderID), wantErr: webhook.ErrMissingHeaders},
		{name: "missing timestamp", edit: del(webhook.HeaderTimestamp), wantErr: webhook.ErrMissingHeaders},
		{name: "missing signature", edit: del(webhook.HeaderSignature), wantErr: webhook.ErrMissingHeaders},
		{name: "empty signature", edit: set(webhook.HeaderSignature, " "), wantErr: webhook.ErrMissingHeaders},
		{name: "no headers", edit: func(h http.Header) { clear(h) }, wantErr: webhook.ErrMissingHeaders},
		{name: "unparseable timestamp", edit: set(webhook.HeaderTimestamp, "yesterday"), wantErr: webhook.ErrInvalidTimestamp},
		{name: "fractional timestamp", edit: set(webhook.HeaderTimestamp, "1614265330.5"), wantErr: webhook.ErrInvalidTimestamp},
		{name: "overflowing timestamp", edit: set(webhook.HeaderTimestamp, "99999999999999999999"), wantErr: webhook.ErrInvalidTimestamp},
		{name: "min int64 timestamp", edit: set(webhook.HeaderTimestamp, "-9223372036854775808"), wantErr: webhook.ErrTimestampTooOld},
		{name: "max int64 timestamp", edit: set(webhook.HeaderTimestamp, "9223372036854775807"), wantErr: webhook.ErrTimestampTooNew},
		{name: "exactly at tolerance, old", now: vecTime.Add(5 * time.Minute)},
		{name: "exactly at tolerance, new", now: vecTime.Add(-5 * time.Minute)},
		{name: "too old", now: vecTime.Add(5*time.Minute + time.Second), wantErr: webhook.ErrTimestampTooOld},
		{name: "too new", now: vecTime.Add(-5*time.Minute - time.Second), wantErr: webhook.ErrTimestampTooNew},
		{name: "custom tolerance ok", now: vecTime.Add(time.Hour), tol: 2 * time.Hour},
		{name: "custom tolerance too old", now: vecTime.Add(time.Minute + time.Second), tol: time.Minute, wantErr: webhook.ErrTimestampTooOld},
		{
			name:    "stale message with valid signature is rejected before the signature check",
			now:     vecTime.Add(24 * time.Hour),
			wantErr: webhook.ErrTimestampTooOld,
		},
		{
			name: "second signature matches",
			edit: set(webhook.HeaderSignature, mustSign(t, otherSecret, vecID, vecTime, vecBody)+" "+vecSig),
		},
		{
			name: "extra spaces between signatures",
			edit: set(webhook.HeaderSignature, "v1,AAAA   "+vecSig+"  "),
		},
		{
			name: "unknown versions ignored",
			edit: set(webhook.HeaderSignature, "v1a,"+strings.TrimPrefix(vecSig, "v1,")+" v2,xyz "+vecSig),
		},
		{
			name:    "only unknown versions",
			edit:    set(webhook.HeaderSignature, "v1a,"+strings.TrimPrefix(vecSig, "v1,")+" v2,"+strings.TrimPrefix(vecSig, "v1,")),
			wantErr: webhook.ErrNoMatchingSignature,
		},
		{
			name:    "signature without version",
			edit:    set(webhook.HeaderSignature, strings.TrimPrefix(vecSig, "v1,")),
			wantErr: webhook.ErrNoMatchingSignature,
		},
		{
			name:    "truncated signature",
			edit:    set(webhook.HeaderSignature, vecSig[:len(vecSig)-1]),
			wantErr: webhook.ErrNoMatchingSignature,
		},
		{
			name:    "signature with different case",
			edit:    set(webhook.HeaderSignature, "V1,"+strings.TrimPrefix(vecSig, "v1,")),
			wantErr: webhook.ErrNoMatchingSignature,
		},
		{
			name: "signature in a second header line",
			edit: func(h http.Header) {
				h.Set(webhook.HeaderSignature, "v1,bogus")
				h.Add(webhook.HeaderSignature, vecSig)
			},
		},
		{
			name: "lower-case header keys, as set by map assignment",
			edit: func(h http.Header) {
				clear(h)
				h[webhook.HeaderID] = []string{vecID}
				h[webhook.HeaderTimestamp] = []string{strconv.Itoa(vecTS)}
				h[webhook.HeaderSignature] = []string{vecSig}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{vecSecret}
			}
			now := tt.now
			if now.IsZero() {
				now = vecTime
			}
			v := mustVerifier(t, now, secrets...)
			v.Tolerance = tt.tol
			h := vecHeader()
			if tt.edit != nil {
				tt.edit(h)
			}
			body := tt.body
			switch body {
			case "":
				body = vecBody
			case "-":
				body = ""
			}
			err := v.Verify(h, []byte(body))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (err == nil) {
				t.Errorf("Verify = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func set(k, v string) func(http.Header) { return func(h http.Header) { h.Set(k, v) } }
func del(k string) func(http.Header)    { return func(h http.Header) { h.Del(k) } }

func TestVerifyMissingHeadersNamesThem(t *testing.T) {
	t.Parallel()
	h := vecHeader()
	h.Del(webhook.HeaderTimestamp)
	h.Del(webhook.HeaderSignature)
	err := mustVerifier(t, vecTime, vecSecret).Verify(h, []byte(vecBody))
	if !errors.Is(err, webhook.ErrMissingHeaders) {
		t.Fatalf("Verify = %v, want ErrMissingHeaders", err)
	}
	for _, name := range []string{webhook.HeaderTimestamp, webhook.HeaderSignature} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	if strings.Contains(err.Error(), webhook.HeaderID) {
		t.Errorf("error %q names %s, which is present", err, webhook.HeaderID)
	}
}

func TestZeroVerifierRejects(t *testing.T) {
	t.Parallel()
	v := &webhook.Verifier{Now: fixedNow(vecTime)}
	if err := v.Verify(vecHeader(), []byte(vecBody)); !errors.Is(err, webhook.ErrNoMatchingSignature) {
		t.Errorf("Verify = %v, want ErrNoMatchingSignature", err)
	}
}

func TestSecrets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		secret string
		ok     bool
	}{
		{"prefixed", vecSecret, true},
		{"raw base64 without prefix", strings.TrimPrefix(vecSecret, webhook.SecretPrefix), true},
		{"padded", otherSecret, true},
		{"empty", "", false},
		{"prefix only", "whsec_", false},
		{"not base64", "whsec_not base64!", false},
		{"bad padding", "whsec_dGhpcyBpcyBhbm90aGVyIHNlY3JldCBrZXk", false},
		{"url-safe alphabet", "whsec_-_-_", false},
		{"padding only", "whsec_====", false},
		{"double prefix", "whsec_whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, err := webhook.NewSigner(tt.secret)
			if tt.ok != (err == nil) {
				t.Fatalf("NewSigner(%q) error = %v, want ok=%v", tt.secret, err, tt.ok)
			}
			_, verr := webhook.NewVerifier(tt.secret)
			_, serr := webhook.Sign(tt.secret, vecID, vecTime, nil)
			if tt.ok {
				if verr != nil || serr != nil {
					t.Errorf("NewVerifier error = %v, Sign error = %v, want nil", verr, serr)
				}
				if s == nil {
					t.Error("NewSigner returned nil Signer")
				}
				return
			}
			for _, e := range []error{err, verr, serr} {
				if !errors.Is(e, webhook.ErrInvalidSecret) {
					t.Errorf("error = %v, want ErrInvalidSecret", e)
				}
				if payload := strings.TrimPrefix(tt.secret, webhook.SecretPrefix); len(payload) > 4 && strings.Contains(e.Error(), payload) {
					t.Errorf("error %q leaks the secret", e)
				}
			}
		})
	}

	// With and without the prefix, the key is the same.
	raw := strings.TrimPrefix(vecSecret, webhook.SecretPrefix)
	if got := mustSign(t, raw, vecID, vecTime, vecBody); got != vecSig {
		t.Errorf("Sign with raw secret = %q, want %q", got, vecSig)
	}
}

func TestNewVerifierNeedsSecret(t *testing.T) {
	t.Parallel()
	if _, err := webhook.NewVerifier(); !errors.Is(err, webhook.ErrInvalidSecret) {
		t.Errorf("NewVerifier() error = %v, want ErrInvalidSecret", err)
	}
	if _, err := webhook.NewVerifier(vecSecret, "whsec_!"); !errors.Is(err, webhook.ErrInvalidSecret) {
		t.Errorf("NewVerifier(good, bad) error = %v, want ErrInvalidSecret", err)
	}
}

func TestSignatureHeader(t *testing.T) {
	t.Parallel()
	a, _ := webhook.NewSigner(otherSecret)
	b, _ := webhook.NewSigner(vecSecret)
	body := []byte(vecBody)
	sigA := a.Sign(vecID, vecTime, body)

	tests := []struct {
		name    string
		signers []*webhook.Signer
		want    string
	}{
		{"none", nil, ""},
		{"one", []*webhook.Signer{b}, vecSig},
		{"two", []*webhook.Signer{a, b}, sigA + " " + vecSig},
		{"nil skipped", []*webhook.Signer{nil, a, nil, b}, sigA + " " + vecSig},
		{"only nil", []*webhook.Signer{nil}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := webhook.SignatureHeader(tt.signers, vecID, vecTime, body); got != tt.want {
				t.Errorf("SignatureHeader = %q, want %q", got, tt.want)
			}
		})
	}

	// A receiver that knows only one of the secrets accepts the header.
	h := vecHeader()
	h.Set(webhook.HeaderSignature, webhook.SignatureHeader([]*webhook.Signer{a, b}, vecID, vecTime, body))
	for _, secret := range []string{vecSecret, otherSecret} {
		if err := mustVerifier(t, vecTime, secret).Verify(h, body); err != nil {
			t.Errorf("Verify with one of two secrets: %v", err)
		}
	}
}

func TestSignerConcurrent(t *testing.T) {
	t.Parallel()
	s, err := webhook.NewSigner(vecSecret)
	if err != nil {
		t.Fatal(err)
	}
	want := make([]string, 16)
	for i := range want {
		want[i] = mustSign(t, vecSecret, fmt.Sprintf("msg_%d", i), vecTime, strings.Repeat("x", i*100))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 200 {
				i := (g + n) % len(want)
				if got := s.Sign(fmt.Sprintf("msg_%d", i), vecTime, []byte(strings.Repeat("x", i*100))); got != want[i] {
					t.Errorf("concurrent Sign(%d) = %q, want %q", i, got, want[i])
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestZeroSignerPanics(t *testing.T) {
	t.Parallel()
	defer func() {
		if recover() == nil {
			t.Error("Sign on zero Signer did not panic")
		}
	}()
	var s webhook.Signer
	s.Sign(vecID, vecTime, nil)
}

func BenchmarkSign(b *testing.B) {
	s, err := webhook.NewSigner(vecSecret)
	if err != nil {
		b.Fatal(err)
	}
	for _, size := range []int{1 << 10, 64 << 10} {
		body := []byte(strings.Repeat("a", size))
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				s.Sign(vecID, vecTime, body)
			}
		})
	}
}

func BenchmarkVerify(b *testing.B) {
	v := mustVerifier(b, vecTime, vecSecret)
	body := []byte(strings.Repeat("a", 1<<10))
	h := vecHeader()
	h.Set(webhook.HeaderSignature, mustSign(b, vecSecret, vecID, vecTime, string(body)))
	b.ReportAllocs()
	b.SetBytes(int64(len(body)))
	for b.Loop() {
		if err := v.Verify(h, body); err != nil {
			b.Fatal(err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	f.Add(vecID, strconv.Itoa(vecTS), vecSig, []byte(vecBody))
	f.Add("", "", "", []byte(nil))
	f.Add("id", "-1", "v1, v1a,x v1,,,, ,", []byte("x"))
	v, err := webhook.NewVerifier(vecSecret, otherSecret)
	if err != nil {
		f.Fatal(err)
	}
	v.Now = fixedNow(vecTime)
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderID, id)
		h.Set(webhook.HeaderTimestamp, ts)
		h.Set(webhook.HeaderSignature, sig)
		err := v.Verify(h, body)
		for _, want := range []error{nil, webhook.ErrMissingHeaders, webhook.ErrInvalidTimestamp,
			webhook.ErrTimestampTooOld, webhook.ErrTimestampTooNew, webhook.ErrNoMatchingSignature} {
			if errors.Is(err, want) {
				return
			}
		}
		t.Errorf("Verify returned unexpected error %v", err)
	})
}
