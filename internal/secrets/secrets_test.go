package secrets

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
)

func mustKeyring(t *testing.T, current []byte, old ...[]byte) *Keyring {
	t.Helper()
	kr, err := NewKeyring(current, old...)
	if err != nil {
		t.Fatal(err)
	}
	return kr
}

// fixedKey is a key whose id the tests know.
var fixedKey = bytes.Repeat([]byte{0x42}, KeySize)

func TestKeyID(t *testing.T) {
	// printf "B%.0s" $(seq 32) | sha256sum: 425ed4e4...
	if got := KeyID(fixedKey); got != "425ed4e4" {
		t.Fatalf("KeyID: got %q", got)
	}
	if a, b := GenerateKey(), GenerateKey(); KeyID(a) == KeyID(b) {
		t.Fatal("two random keys share an id")
	}
}

func TestRoundTrip(t *testing.T) {
	kr := mustKeyring(t, GenerateKey())
	for _, pt := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "", "x", "provider-secret:with:colons", "enc:v1:looks:sealed", strings.Repeat("é", 300)} {
		v := kr.Seal(pt, "ep_1")
		if !IsSealed(v) {
			t.Fatalf("Seal(%q) = %q: not sealed", pt, v)
		}
		if !strings.HasPrefix(v, "enc:v1:"+kr.KeyID()+":") {
			t.Fatalf("Seal(%q) = %q: want the prefix enc:v1:%s:", pt, v, kr.KeyID())
		}
		if len(pt) >= 8 && strings.Contains(v, pt) {
			t.Fatalf("Seal(%q) = %q holds the plaintext", pt, v)
		}
		if id, ok := SealedKeyID(v); !ok || id != kr.KeyID() {
			t.Fatalf("SealedKeyID(%q) = %q, %v", v, id, ok)
		}
		got, err := kr.Open(v, "ep_1")
		if err != nil {
			t.Fatalf("Open(Seal(%q)): %v", pt, err)
		}
		if got != pt {
			t.Fatalf("Open(Seal(%q)) = %q", pt, got)
		}
	}
}

func TestNonceUniqueness(t *testing.T) {
	kr := mustKeyring(t, GenerateKey())
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 2000 {
		v := kr.Seal("same plaintext", "ep_1")
		if seen[v] {
			t.Fatalf("Seal gave %q twice", v)
		}
		seen[v] = true
		p, err := parse(v)
		if err != nil {
			t.Fatal(err)
		}
		n := string(p.payload[:nonceSize])
		if nonces[n] {
			t.Fatalf("nonce %x used twice", n)
		}
		nonces[n] = true
	}
}

func TestTamperDetection(t *testing.T) {
	kr := mustKeyring(t, GenerateKey())
	v := kr.Seal("whsec_secret", "ep_1")
	hdr := "enc:v1:" + kr.KeyID() + ":"
	payload, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(v, hdr))
	if err != nil {
		t.Fatal(err)
	}
	// Every bit of nonce, ciphertext and tag is authenticated.
	for i := range payload {
		for bit := range 8 {
			p := bytes.Clone(payload)
			p[i] ^= 1 << bit
			_, err := kr.Open(hdr+base64.StdEncoding.EncodeToString(p), "ep_1")
			if !errors.Is(err, ErrAuth) {
				t.Fatalf("byte %d bit %d flipped: got %v, want ErrAuth", i, bit, err)
			}
		}
	}
	// Cut or lengthened.
	for _, p := range [][]byte{payload[:len(payload)-1], append(bytes.Clone(payload), 0)} {
		if _, err := kr.Open(hdr+base64.StdEncoding.EncodeToString(p), "ep_1"); !errors.Is(err, ErrAuth) {
			t.Fatalf("payload of %d bytes: got %v, want ErrAuth", len(p), err)
		}
	}
	// Another context: the value was moved to another row.
	if _, err := kr.Open(v, "ep_2"); !errors.Is(err, ErrAuth) {
		t.Fatalf("other context: got %v, want ErrAuth", err)
	}
	if _, err := kr.Open(v, ""); !errors.Is(err, ErrAuth) {
		t.Fatalf("empty context: got %v, want ErrAuth", err)
	}
	// The error says nothing of the value.
	_, err = kr.Open(v, "ep_2")
	if strings.Contains(err.Error(), strings.TrimPrefix(v, hdr)) {
		t.Fatalf("error %q repeats the value", err)
	}
}

func TestWrongKey(t *testing.T) {
	k1, k2 := GenerateKey(), GenerateKey()
	kr1, kr2 := mustKeyring(t, k1), mustKeyring(t, k2)
	v := kr1.Seal("whsec_secret", "ep_1")
	_, err := kr2.Open(v, "ep_1")
	if !errors.Is(err, ErrWrongKey) {
		t.Fatalf("got %v, want ErrWrongKey", err)
	}
	var wk *WrongKeyError
	if !errors.As(err, &wk) || wk.KeyID != KeyID(k1) || wk.Current != KeyID(k2) {
		t.Fatalf("got %#v", err)
	}
	want := "sealed with key " + KeyID(k1) + ", which HOOKD_SECRET_KEY is not (it is key " + KeyID(k2) + ")"
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q does not say %q", err, want)
	}

	// A value whose key id was rewritten to the right key's id does not
	// authenticate: the header is part of the additional data.
	forged := strings.Replace(v, KeyID(k1), KeyID(k2), 1)
	if _, err := kr2.Open(forged, "ep_1"); !errors.Is(err, ErrAuth) {
		t.Fatalf("forged key id: got %v, want ErrAuth", err)
	}

	// No keyring at all.
	var none *Keyring
	if _, err := none.Open(v, "ep_1"); !errors.Is(err, ErrNoKey) || !strings.Contains(err.Error(), KeyID(k1)) {
		t.Fatalf("nil keyring: got %v, want ErrNoKey naming %s", err, KeyID(k1))
	}
}

func TestRotationKeyring(t *testing.T) {
	old, cur := GenerateKey(), GenerateKey()
	vOld := mustKeyring(t, old).Seal("old-secret", "ep_1")
	kr := mustKeyring(t, cur, old, cur) // a duplicate is ignored
	if kr.KeyID() != KeyID(cur) {
		t.Fatalf("KeyID: got %s, want the current key's %s", kr.KeyID(), KeyID(cur))
	}
	if ids := kr.KeyIDs(); len(ids) != 2 || ids[0] != KeyID(cur) || ids[1] != KeyID(old) {
		t.Fatalf("KeyIDs: %v", ids)
	}
	if got, err := kr.Open(vOld, "ep_1"); err != nil || got != "old-secret" {
		t.Fatalf("Open of an old key's value: %q, %v", got, err)
	}
	v := kr.Seal("new-secret", "ep_1")
	if id, _ := SealedKeyID(v); id != KeyID(cur) {
		t.Fatalf("Seal used key %s, want the current %s", id, KeyID(cur))
	}
	if _, err := mustKeyring(t, old).Open(v, "ep_1"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("old keyring opens a value of the new key: %v", err)
	}
}

func TestPlaintextPassthrough(t *testing.T) {
	kr := mustKeyring(t, GenerateKey())
	var none *Keyring
	for _, pt := range []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "", "ENC:v1:upper case is not the prefix", "en", "my-provider-secret-0123"} {
		if IsSealed(pt) {
			t.Fatalf("IsSealed(%q)", pt)
		}
		for _, k := range []*Keyring{kr, none} {
			got, err := k.Open(pt, "ep_1")
			if err != nil || got != pt {
				t.Fatalf("Open(%q) = %q, %v; want it as it is", pt, got, err)
			}
		}
		if _, ok := SealedKeyID(pt); ok {
			t.Fatalf("SealedKeyID(%q) ok", pt)
		}
	}
	// A nil keyring does not seal.
	if got := none.Seal("whsec_x", "ep_1"); got != "whsec_x" {
		t.Fatalf("nil Seal: %q", got)
	}
	if none.KeyID() != "" || none.KeyIDs() != nil {
		t.Fatal("nil keyring has key ids")
	}
}

func TestMalformed(t *testing.T) {
	kr := mustKeyring(t, fixedKey)
	good := kr.Seal("whsec_x", "ep_1")
	payload := strings.TrimPrefix(good, "enc:v1:425ed4e4:")
	short := base64.StdEncoding.EncodeToString(make([]byte, nonceSize+tagSize-1))
	for _, v := range []string{
		"enc:",
		"enc:v1",
		"enc:v1:",
		"enc:v1:425ed4e4",
		"enc:v2:425ed4e4:" + payload,
		"enc:V1:425ed4e4:" + payload,
		"enc::425ed4e4:" + payload,
		"enc:v1::" + payload,
		"enc:v1:425ed4e:" + payload,
		"enc:v1:425ed4e4a:" + payload,
		"enc:v1:425ED4E4:" + payload,
		"enc:v1:425ed4ez:" + payload,
		"enc:v1:425ed4e4:",
		"enc:v1:425ed4e4:" + short,
		"enc:v1:425ed4e4:" + payload + "!",
		"enc:v1:425ed4e4:" + strings.TrimRight(payload, "="), // unpadded
		"enc:v1:425ed4e4:" + payload + ":",
		"enc:v1:425ed4e4: " + payload,
		"enc:v1:425ed4e4:" + payload + "\n",
	} {
		if !IsSealed(v) {
			t.Fatalf("IsSealed(%q) false", v)
		}
		got, err := kr.Open(v, "ep_1")
		if !errors.Is(err, ErrMalformed) {
			t.Fatalf("Open(%q) = %q, %v; want ErrMalformed", v, got, err)
		}
		if _, ok := SealedKeyID(v); ok {
			t.Fatalf("SealedKeyID(%q) ok", v)
		}
	}
	if _, err := kr.Open(good, "ep_1"); err != nil {
		t.Fatalf("the good value: %v", err)
	}
}

func TestParseKey(t *testing.T) {
	k := GenerateKey()
	for _, s := range []string{
		EncodeKey(k),
		base64.RawStdEncoding.EncodeToString(k),
		base64.URLEncoding.EncodeToString(k),
		base64.RawURLEncoding.EncodeToString(k),
		"  " + EncodeKey(k) + "\n",
	} {
		got, err := ParseKey(s)
		if err != nil || !bytes.Equal(got, k) {
			t.Fatalf("ParseKey(%q) = %x, %v", s, got, err)
		}
	}
	for s, want := range map[string]string{
		"":                                      "empty",
		"   \n":                                 "empty",
		"not base64 at all!":                    "not base64",
		EncodeKey(make([]byte, 16)):             "16 bytes, not 32",
		EncodeKey(make([]byte, 33)):             "33 bytes, not 32",
		EncodeKey(k)[:20]:                       "not 32",
		"whsec_" + EncodeKey(k):                 "not base64",
		"0123456789abcdef0123456789abcdef":      "24 bytes", // 32 characters decode to 24 bytes
		EncodeKey(k) + EncodeKey(k)[:4] + "===": "not base64",
	} {
		_, err := ParseKey(s)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Fatalf("ParseKey(%q): got %v, want an error saying %q", s, err, want)
		}
		if len(strings.TrimSpace(s)) > 8 && strings.Contains(err.Error(), strings.TrimSpace(s)) {
			t.Fatalf("ParseKey's error %q repeats the input", err)
		}
	}
	if _, err := NewKeyring(make([]byte, 16)); err == nil {
		t.Fatal("NewKeyring took a 16-byte key")
	}
	if _, err := NewKeyring(k, make([]byte, 31)); err == nil {
		t.Fatal("NewKeyring took a 31-byte old key")
	}
}

func BenchmarkOpen(b *testing.B) {
	kr, _ := NewKeyring(GenerateKey())
	v := kr.Seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ep_01jdq2abcdefgh")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := kr.Open(v, "ep_01jdq2abcdefgh"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSeal(b *testing.B) {
	kr, _ := NewKeyring(GenerateKey())
	b.ReportAllocs()
	for b.Loop() {
		kr.Seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "ep_01jdq2abcdefgh")
	}
}
