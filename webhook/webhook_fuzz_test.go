package webhook_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd/webhook"
)

// FuzzSignatureVerify checks Verify against an oracle written from the
// Standard Webhooks specification, on arbitrary headers and bodies, and
// checks that what Sign produces always verifies while any one flipped byte
// of the body or of the signature makes verification fail.
//
// Inputs: key is the raw secret key (a secret is "whsec_" + base64(key));
// id, ts and sig are the three headers as received; body is the raw body;
// unix is the signing time of the round trip; flip picks the byte flipped
// (low 32 bits: position, high 32 bits: the XOR mask); lower stores the
// headers under their lower-case names instead of the canonical ones.
func FuzzSignatureVerify(f *testing.F) {
	vecKey, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(vecSecret, webhook.SecretPrefix))
	ts := strconv.Itoa(vecTS)
	// The official vector: verifies.
	f.Add(vecKey, vecID, ts, vecSig, []byte(vecBody), int64(vecTS), uint64(0), false)
	// Same, lower-case header names, several signatures and versions.
	f.Add(vecKey, vecID, ts, "v2,abc v1,AAAA "+vecSig+" v1a,x", []byte(vecBody), int64(vecTS), uint64(5)|1<<40, true)
	// Reformatted timestamps sign other bytes.
	f.Add(vecKey, vecID, "+"+ts, vecSig, []byte(vecBody), int64(0), uint64(1<<33), false)
	f.Add(vecKey, vecID, "0"+ts, vecSig, []byte(vecBody), int64(-1), uint64(7), false)
	// Edges: empty and blank headers, empty body, one-byte key.
	f.Add([]byte{0}, "", "", "", []byte(nil), int64(0), uint64(0), false)
	f.Add([]byte{0xff}, " ", "\t", " \n ", []byte{}, int64(1<<40), uint64(1<<63), true)
	f.Add([]byte("k"), "msg_1", "9223372036854775807", "v1,", []byte("x"), int64(-1<<40), uint64(1), false)
	f.Add([]byte("k"), "msg_1", "-9223372036854775808", "v1,,,, ,", []byte("\x00\xff"), int64(vecTS), uint64(0xff<<32|43), false)
	f.Add([]byte("k"), "msg\u00a0x", "99999999999999999999", "v1,"+strings.Repeat("A", 44), []byte(`{}`), int64(vecTS), uint64(2), false)

	f.Fuzz(func(t *testing.T, key []byte, id, ts, sig string, body []byte, unix int64, flip uint64, lower bool) {
		if len(key) == 0 {
			key = []byte{0} // an empty key is not a secret
		}
		secret := webhook.SecretPrefix + base64.StdEncoding.EncodeToString(key)
		checkVerifyOracle(t, key, secret, id, ts, sig, body, lower)
		checkRoundTrip(t, secret, id, body, unix, flip, lower)
	})
}

// checkVerifyOracle runs Verify on the headers as given and compares the
// outcome with the specification's.
func checkVerifyOracle(t *testing.T, key []byte, secret, id, ts, sig string, body []byte, lower bool) {
	t.Helper()
	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatalf("NewVerifier(%q): %v", secret, err)
	}
	v.Now = fixedNow(vecTime)
	h := headers(lower, id, ts, sig)
	got := v.Verify(h, body)

	var want error
	blank := func(s string) bool { return strings.TrimSpace(s) == "" }
	switch n, err := strconv.ParseInt(ts, 10, 64); {
	case blank(id) || blank(ts) || blank(sig):
		want = webhook.ErrMissingHeaders
	case err != nil:
		want = webhook.ErrInvalidTimestamp
	case n < vecTS-int64(webhook.DefaultTolerance/time.Second):
		want = webhook.ErrTimestampTooOld
	case n > vecTS+int64(webhook.DefaultTolerance/time.Second):
		want = webhook.ErrTimestampTooNew
	default:
		// HMAC-SHA256 over "id.ts.body", the timestamp as received.
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(id + "." + ts + "."))
		mac.Write(body)
		expected := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		want = webhook.ErrNoMatchingSignature
		for _, field := range strings.Fields(sig) {
			if field == expected {
				want = nil
			}
		}
	}
	if want == nil && got != nil || want != nil && !errors.Is(got, want) {
		t.Fatalf("Verify(id=%q ts=%q sig=%q, body=%q) = %v, want %v", id, ts, sig, body, got, want)
	}
}

// checkRoundTrip signs body as message id at time unix, verifies it, and
// verifies it again with one byte of the body or of the signature flipped.
func checkRoundTrip(t *testing.T, secret, id string, body []byte, unix int64, flip uint64, lower bool) {
	t.Helper()
	if strings.TrimSpace(id) == "" {
		id = "msg_" + strconv.Quote(id) // Verify needs an id
	}
	// Within ±2^40 s (±35,000 years) of the epoch: a real clock, so that
	// now ± the tolerance does not overflow.
	unix %= 1 << 40
	when := time.Unix(unix, 0)
	sig, err := webhook.Sign(secret, id, when, body)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	if !strings.HasPrefix(sig, "v1,") || len(sig) != 3+44 {
		t.Fatalf("Sign = %q, want v1, and 44 base64 characters", sig)
	}
	s, err := webhook.NewSigner(secret)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Sign(id, when, body); got != sig {
		t.Fatalf("Signer.Sign = %q, Sign = %q", got, sig)
	}
	if got := webhook.SignatureHeader([]*webhook.Signer{s, nil}, id, when, body); got != sig {
		t.Fatalf("SignatureHeader = %q, want %q", got, sig)
	}

	v, err := webhook.NewVerifier(secret)
	if err != nil {
		t.Fatal(err)
	}
	// Received up to the tolerance after, or before, it was sent.
	skew := time.Duration(int64(flip>>8)%int64(webhook.DefaultTolerance/time.Second)) * time.Second
	if flip&1 == 1 {
		skew = -skew
	}
	v.Now = fixedNow(when.Add(skew))
	ts := strconv.FormatInt(unix, 10)
	if err := v.Verify(headers(lower, id, ts, sig), body); err != nil {
		t.Fatalf("a message signed by Sign does not verify: id=%q ts=%s body=%q sig=%q skew=%v: %v", id, ts, body, sig, skew, err)
	}

	pos := int(uint32(flip))
	mask := byte(flip >> 32)
	if mask == 0 {
		mask = 1
	}
	if len(body) > 0 {
		bad := append([]byte(nil), body...)
		bad[pos%len(bad)] ^= mask
		if err := v.Verify(headers(lower, id, ts, sig), bad); !errors.Is(err, webhook.ErrNoMatchingSignature) {
			t.Fatalf("body byte %d flipped by %#x (%q): Verify = %v, want ErrNoMatchingSignature", pos%len(bad), mask, bad, err)
		}
	}
	badSig := []byte(sig)
	badSig[pos%len(badSig)] ^= mask
	if err := v.Verify(headers(lower, id, ts, string(badSig)), body); !errors.Is(err, webhook.ErrNoMatchingSignature) {
		t.Fatalf("signature byte %d flipped by %#x (%q): Verify = %v, want ErrNoMatchingSignature", pos%len(badSig), mask, badSig, err)
	}
}

func headers(lower bool, id, ts, sig string) http.Header {
	h := http.Header{}
	set := h.Set
	if lower {
		set = func(k, v string) { h[k] = []string{v} }
	}
	set(webhook.HeaderID, id)
	set(webhook.HeaderTimestamp, ts)
	set(webhook.HeaderSignature, sig)
	return h
}
