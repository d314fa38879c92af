package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Header names and the secret prefix defined by Standard Webhooks.
const (
	// HeaderID is the header carrying the message ID.
	HeaderID = "webhook-id"
	// HeaderTimestamp is the header carrying the send time in Unix seconds.
	HeaderTimestamp = "webhook-timestamp"
	// HeaderSignature is the header carrying space-separated signatures.
	HeaderSignature = "webhook-signature"
	// SecretPrefix is the prefix of an encoded secret: "whsec_" + base64(key).
	SecretPrefix = "whsec_"
)

// DefaultTolerance is how far a message timestamp may be from the
// verifier's clock, in either direction, when [Verifier.Tolerance] is zero.
const DefaultTolerance = 5 * time.Minute

// Errors returned by [NewSigner], [NewVerifier] and [Verifier.Verify].
// Returned errors may wrap them with detail; test with [errors.Is].
var (
	// ErrInvalidSecret means a secret is empty, is not valid base64, or
	// decodes to an empty key.
	ErrInvalidSecret = errors.New("webhook: invalid secret")
	// ErrMissingHeaders means webhook-id, webhook-timestamp or
	// webhook-signature is absent or empty.
	ErrMissingHeaders = errors.New("webhook: missing required headers")
	// ErrInvalidTimestamp means webhook-timestamp is not an integer.
	ErrInvalidTimestamp = errors.New("webhook: invalid timestamp header")
	// ErrTimestampTooOld means the message is older than the tolerance.
	ErrTimestampTooOld = errors.New("webhook: message timestamp too old")
	// ErrTimestampTooNew means the message is dated further in the future
	// than the tolerance.
	ErrTimestampTooNew = errors.New("webhook: message timestamp too new")
	// ErrNoMatchingSignature means no v1 signature in the header matches
	// any of the verifier's secrets.
	ErrNoMatchingSignature = errors.New("webhook: no matching signature")
)

const (
	versionV1 = "v1"
	// sigLen is the length of the base64 (padded) of a SHA-256 sum.
	sigLen = 44
)

// Signer produces v1 signatures for one secret. It decodes the secret once
// and reuses HMAC state between calls. A Signer is safe for concurrent use;
// create it with [NewSigner] (methods of the zero value panic) and do not
// copy it.
type Signer struct {
	key  []byte
	pool sync.Pool // of *macState
}

// macState is the per-call scratch space a Signer pools.
type macState struct {
	mac hash.Hash
	buf []byte           // signed prefix: msgID "." timestamp "."
	sum [32]byte         // HMAC-SHA256 output
	enc [sigLen]byte     // base64 of sum
	out [3 + sigLen]byte // "v1," + enc
}

// NewSigner decodes secret and returns a Signer for it. The secret is
// "whsec_" followed by standard base64 of the key; like the Svix libraries,
// NewSigner also accepts the bare base64 without the prefix. It returns an
// error wrapping [ErrInvalidSecret] if the base64 is invalid or the key is
// empty. The error never contains the secret.
func NewSigner(secret string) (*Signer, error) {
	key, err := decodeSecret(secret)
	if err != nil {
		return nil, err
	}
	s := &Signer{key: key}
	s.pool.New = func() any {
		return &macState{mac: hmac.New(sha256.New, s.key), buf: make([]byte, 0, 64)}
	}
	return s, nil
}

func decodeSecret(secret string) ([]byte, error) {
	b64 := strings.TrimPrefix(secret, SecretPrefix)
	if b64 == "" {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidSecret)
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("%w: key is not valid standard base64", ErrInvalidSecret)
	}
	if len(key) == 0 {
		return nil, fmt.Errorf("%w: empty key", ErrInvalidSecret)
	}
	return key, nil
}

// Sign returns the v1 signature, "v1,<base64>", of body sent as message
// msgID at time ts (truncated to Unix seconds, as in the
// webhook-timestamp header).
func (s *Signer) Sign(msgID string, ts time.Time, body []byte) string {
	st := s.get()
	st.buf = append(st.buf[:0], msgID...)
	st.buf = append(st.buf, '.')
	st.buf = strconv.AppendInt(st.buf, ts.Unix(), 10)
	st.buf = append(st.buf, '.')
	s.compute(st, body)
	copy(st.out[:], versionV1+",")
	copy(st.out[3:], st.enc[:])
	sig := string(st.out[:])
	s.pool.Put(st)
	return sig
}

func (s *Signer) get() *macState {
	if len(s.key) == 0 {
		panic("webhook: Signer used without NewSigner")
	}
	return s.pool.Get().(*macState)
}

// compute fills st.sum and st.enc with the signature of st.buf + body.
func (s *Signer) compute(st *macState, body []byte) {
	st.mac.Reset()
	st.mac.Write(st.buf)
	st.mac.Write(body)
	st.mac.Sum(st.sum[:0])
	base64.StdEncoding.Encode(st.enc[:], st.sum[:])
}

// Sign is a convenience that signs one message with secret. Use a [Signer]
// when signing repeatedly with the same secret.
func Sign(secret, msgID string, ts time.Time, body []byte) (string, error) {
	s, err := NewSigner(secret)
	if err != nil {
		return "", err
	}
	return s.Sign(msgID, ts, body), nil
}

// SignatureHeader returns the webhook-signature header value for a message:
// the signature from each signer, separated by single spaces. Sending one
// signature per active secret lets receivers verify throughout a secret
// rotation. Nil signers are skipped.
func SignatureHeader(signers []*Signer, msgID string, ts time.Time, body []byte) string {
	switch len(signers) {
	case 0:
		return ""
	case 1:
		if signers[0] != nil {
			return signers[0].Sign(msgID, ts, body)
		}
		return ""
	}
	var b strings.Builder
	b.Grow(len(signers) * (3 + sigLen + 1))
	for _, s := range signers {
		if s == nil {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Sign(msgID, ts, body))
	}
	return b.String()
}

// Verifier checks incoming webhooks against one or more secrets. Create it
// with [NewVerifier]; a Verifier without secrets rejects every message.
// Do not change its fields while Verify may be running.
type Verifier struct {
	// Tolerance is how far webhook-timestamp may be from Now, in either
	// direction. Zero or negative means DefaultTolerance (5 minutes).
	Tolerance time.Duration
	// Now returns the current time; nil means time.Now. Tests set it.
	Now func() time.Time

	signers []*Signer
}

// NewVerifier returns a Verifier accepting messages signed with any of the
// given secrets (several during the receiver's own secret rotation). Each
// secret has the form accepted by [NewSigner]. At least one is required.
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: no secret given", ErrInvalidSecret)
	}
	v := &Verifier{signers: make([]*Signer, 0, len(secrets))}
	for i, secret := range secrets {
		s, err := NewSigner(secret)
		if err != nil {
			return nil, fmt.Errorf("secret %d: %w", i, err)
		}
		v.signers = append(v.signers, s)
	}
	return v, nil
}

// Verify checks that h carries the three Standard Webhooks headers, that the
// timestamp is within the tolerance of the current time, and that at least
// one v1 signature in webhook-signature matches body under one of the
// verifier's secrets (compared in constant time). Signatures with other
// version prefixes are ignored. body must be the raw request body.
//
// It returns nil on success, or an error wrapping ErrMissingHeaders,
// ErrInvalidTimestamp, ErrTimestampTooOld, ErrTimestampTooNew or
// ErrNoMatchingSignature.
func (v *Verifier) Verify(h http.Header, body []byte) error {
	msgID := headerValue(h, HeaderID)
	tsRaw := headerValue(h, HeaderTimestamp)
	sigs := headerValues(h, HeaderSignature)
	var missing []string
	if msgID == "" {
		missing = append(missing, HeaderID)
	}
	if tsRaw == "" {
		missing = append(missing, HeaderTimestamp)
	}
	if len(sigs) == 0 {
		missing = append(missing, HeaderSignature)
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrMissingHeaders, strings.Join(missing, ", "))
	}

	ts, err := strconv.ParseInt(tsRaw, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tol := v.Tolerance
	if tol <= 0 {
		tol = DefaultTolerance
	}
	// Compare in whole seconds, as sent. nowSec±tolSec cannot overflow
	// (tolSec < 2^34), so any int64 in the header is handled.
	nowSec := now().Unix()
	tolSec := int64(tol / time.Second)
	if ts < nowSec-tolSec {
		return ErrTimestampTooOld
	}
	if ts > nowSec+tolSec {
		return ErrTimestampTooNew
	}

	for _, s := range v.signers {
		st := s.get()
		// Sign over the header bytes as received, not a re-formatted ts.
		st.buf = append(st.buf[:0], msgID...)
		st.buf = append(st.buf, '.')
		st.buf = append(st.buf, tsRaw...)
		st.buf = append(st.buf, '.')
		s.compute(st, body)
		ok := matchAny(sigs, st.enc[:])
		s.pool.Put(st)
		if ok {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// matchAny reports whether any "v1,<sig>" entry in headers equals want.
func matchAny(headers []string, want []byte) bool {
	found := 0
	for _, hv := range headers {
		for _, entry := range strings.Fields(hv) {
			version, sig, ok := strings.Cut(entry, ",")
			if !ok || version != versionV1 || len(sig) != len(want) {
				continue
			}
			found |= subtle.ConstantTimeCompare([]byte(sig), want)
		}
	}
	return found == 1
}

// headerValue returns the first value of name in h, looked up by its
// canonical form and then as written (for maps built with lower-case keys).
func headerValue(h http.Header, name string) string {
	if vs := headerValues(h, name); len(vs) > 0 {
		return vs[0]
	}
	return ""
}

// headerValues returns the non-empty values of name in h; see headerValue.
func headerValues(h http.Header, name string) []string {
	vs := h[textproto.CanonicalMIMEHeaderKey(name)]
	if len(vs) == 0 {
		vs = h[name]
	}
	for _, v := range vs {
		if strings.TrimSpace(v) == "" {
			return nonEmpty(vs)
		}
	}
	return vs
}

func nonEmpty(vs []string) []string {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}
