// Package secrets seals short strings (endpoint signing secrets and
// custom header values) for keeping at rest, with AES-256-GCM and the
// standard library only.
//
// # Format
//
// A sealed value is self-describing text:
//
//	enc:v1:<key id>:<base64(nonce | ciphertext and tag)>
//
// The key id is the first 8 hex digits of the SHA-256 of the key, so that
// Open can tell which key sealed a value, and say so when it is not in the
// Keyring. The nonce is 12 random bytes, fresh for every Seal. The
// additional data that GCM authenticates is the header ("enc:v1:<key
// id>:") followed by the caller's context (for endpoint secrets, the
// endpoint's id; for header values, the endpoint's id and the header's
// name): a value cannot be moved to another row, or have its header
// changed, without Open failing.
//
// A value that does not start with "enc:" is plaintext, kept from before
// encryption: Open returns it as it is, so that existing rows keep
// working until they are sealed.
//
// # Keys
//
// A Keyring holds the current key, with which Seal seals, and optionally
// older ones that Open still accepts (for key rotation: Open picks the key
// by the value's key id).
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// Prefix starts every sealed value; Version1 is the format's first and
// only version.
const (
	Prefix   = "enc:"
	Version1 = "v1"
)

const (
	nonceSize = 12
	tagSize   = 16
	idLen     = 8 // hex digits of a key id
	header1   = Prefix + Version1 + ":"
)

var b64 = base64.StdEncoding

// Errors of Open. Each is wrapped with detail; test with errors.Is.
var (
	// ErrMalformed: the value starts with "enc:" but is not a sealed
	// value this hookd can read.
	ErrMalformed = errors.New("secrets: malformed sealed value")
	// ErrWrongKey: the value was sealed with a key that the Keyring does
	// not hold (see WrongKeyError).
	ErrWrongKey = errors.New("secrets: sealed with another key")
	// ErrNoKey: the value is sealed and there is no Keyring (nil).
	ErrNoKey = errors.New("secrets: sealed, and no secret key is set")
	// ErrAuth: the key is right but the value does not authenticate: it
	// was altered, or sealed for another context (moved from another row).
	ErrAuth = errors.New("secrets: sealed value does not authenticate")
)

// WrongKeyError says which key sealed a value that the Keyring cannot
// open. errors.Is(err, ErrWrongKey) holds.
type WrongKeyError struct {
	// KeyID is the id of the key that sealed the value.
	KeyID string
	// Current is the id of the Keyring's current key.
	Current string
}

func (e *WrongKeyError) Error() string {
	return fmt.Sprintf("secrets: sealed with key %s, which HOOKD_SECRET_KEY is not (it is key %s)", e.KeyID, e.Current)
}

// Is makes errors.Is(err, ErrWrongKey) hold.
func (e *WrongKeyError) Is(target error) bool { return target == ErrWrongKey }

// KeyID returns the id of a key: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:])[:idLen]
}

// GenerateKey returns a new random key.
func GenerateKey() []byte {
	k := make([]byte, KeySize)
	_, _ = rand.Read(k) // never fails (crypto/rand since Go 1.24)
	return k
}

// EncodeKey returns a key as the settings and key files carry it:
// standard base64 with padding.
func EncodeKey(key []byte) string { return b64.EncodeToString(key) }

// ParseKey reads a key from its base64 form (standard or URL alphabet,
// padded or not; surrounding white space ignored). Anything but 32 bytes
// is an error, which never repeats the input.
func ParseKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("the key is empty: want the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")
	}
	var (
		k   []byte
		err error
	)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err = enc.DecodeString(s); err == nil {
			break
		}
	}
	if err != nil {
		return nil, errors.New("the key is not base64: want the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)")
	}
	if len(k) != KeySize {
		return nil, fmt.Errorf("the key is %d bytes, not %d: want the base64 of 32 random bytes (e.g. `openssl rand -base64 32`)", len(k), KeySize)
	}
	return k, nil
}

// Keyring seals with its current key and opens with any of its keys. It
// is safe for concurrent use. A nil *Keyring is valid and means no
// encryption: Seal returns its input, and Open returns plaintext as it is
// and fails (ErrNoKey) on sealed values.
type Keyring struct {
	current *key
	byID    map[string][]*key // several only if two keys' ids collide
	ids     []string          // current first
}

type key struct {
	id   string
	aead cipher.AEAD
}

// NewKeyring returns a Keyring that seals with current and also opens
// values sealed with any of old. Every key must be KeySize bytes.
func NewKeyring(current []byte, old ...[]byte) (*Keyring, error) {
	kr := &Keyring{byID: map[string][]*key{}}
	seen := map[string]bool{}
	for i, raw := range append([][]byte{current}, old...) {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("secrets: key %d is %d bytes, not %d", i, len(raw), KeySize)
		}
		if seen[string(raw)] {
			continue
		}
		seen[string(raw)] = true
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("secrets: %w", err)
		}
		k := &key{id: KeyID(raw), aead: aead}
		if i == 0 {
			kr.current = k
		}
		if len(kr.byID[k.id]) == 0 {
			kr.ids = append(kr.ids, k.id)
		}
		kr.byID[k.id] = append(kr.byID[k.id], k)
	}
	return kr, nil
}

// KeyID returns the id of the current key ("" for a nil Keyring).
func (kr *Keyring) KeyID() string {
	if kr == nil {
		return ""
	}
	return kr.current.id
}

// KeyIDs returns the ids of all the keys, the current one first.
func (kr *Keyring) KeyIDs() []string {
	if kr == nil {
		return nil
	}
	return append([]string(nil), kr.ids...)
}

// Seal seals plaintext with the current key, for the given context (the
// same context must be given to Open). Every call draws a fresh nonce, so
// sealing one plaintext twice gives two different values. A nil Keyring
// returns plaintext as it is.
func (kr *Keyring) Seal(plaintext, context string) string {
	if kr == nil {
		return plaintext
	}
	hdr := header1 + kr.current.id + ":"
	buf := make([]byte, nonceSize, nonceSize+len(plaintext)+tagSize)
	_, _ = rand.Read(buf) // never fails
	buf = kr.current.aead.Seal(buf, buf[:nonceSize], []byte(plaintext), []byte(hdr+context))
	return hdr + b64.EncodeToString(buf)
}

// IsSealed reports whether v is a sealed value (it starts with "enc:"),
// as opposed to plaintext kept from before encryption. It does not check
// that v is well formed: Open does.
func IsSealed(v string) bool { return strings.HasPrefix(v, Prefix) }

// SealedKeyID returns the key id of a sealed value, or ok false if v is
// plaintext or not of a known format.
func SealedKeyID(v string) (id string, ok bool) {
	p, err := parse(v)
	if err != nil {
		return "", false
	}
	return p.id, true
}

type parsed struct {
	hdr, id string
	payload []byte
}

func parse(v string) (parsed, error) {
	rest, ok := strings.CutPrefix(v, Prefix)
	if !ok {
		return parsed{}, fmt.Errorf("%w: no %q prefix", ErrMalformed, Prefix)
	}
	version, rest, ok := strings.Cut(rest, ":")
	if !ok {
		return parsed{}, fmt.Errorf("%w: no version", ErrMalformed)
	}
	if version != Version1 {
		return parsed{}, fmt.Errorf("%w: format %q is unknown to this hookd (sealed by a newer one?)", ErrMalformed, version)
	}
	id, data, ok := strings.Cut(rest, ":")
	if !ok {
		return parsed{}, fmt.Errorf("%w: no key id", ErrMalformed)
	}
	if len(id) != idLen || strings.Trim(id, "0123456789abcdef") != "" {
		return parsed{}, fmt.Errorf("%w: the key id is not %d lowercase hex digits", ErrMalformed, idLen)
	}
	payload, err := b64.Strict().DecodeString(data)
	if err != nil || strings.ContainsAny(data, "\r\n") { // the decoder skips newlines

		return parsed{}, fmt.Errorf("%w: the payload is not base64", ErrMalformed)
	}
	if len(payload) < nonceSize+tagSize {
		return parsed{}, fmt.Errorf("%w: the payload is %d bytes, too short for a nonce and a tag", ErrMalformed, len(payload))
	}
	return parsed{hdr: header1 + id + ":", id: id, payload: payload}, nil
}

// Open returns the plaintext of a value sealed for context. A value
// without the "enc:" prefix is plaintext from before encryption and is
// returned as it is. Errors wrap ErrMalformed, ErrWrongKey (a
// *WrongKeyError naming the key id), ErrNoKey or ErrAuth; none includes
// the value.
func (kr *Keyring) Open(v, context string) (string, error) {
	if !IsSealed(v) {
		return v, nil
	}
	p, err := parse(v)
	if err != nil {
		return "", err
	}
	if kr == nil {
		return "", fmt.Errorf("%w (the value was sealed with key %s)", ErrNoKey, p.id)
	}
	keys := kr.byID[p.id]
	if len(keys) == 0 {
		return "", &WrongKeyError{KeyID: p.id, Current: kr.current.id}
	}
	nonce, ct := p.payload[:nonceSize], p.payload[nonceSize:]
	ad := []byte(p.hdr + context)
	for _, k := range keys {
		if pt, err := k.aead.Open(nil, nonce, ct, ad); err == nil {
			return string(pt), nil
		}
	}
	return "", fmt.Errorf("%w with key %s: it was altered, or sealed for another row", ErrAuth, p.id)
}
