package dispatch

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"

	"github.com/hookd/hookd/internal/hook"
)

// providerSignature computes the value of a provider scheme's signature
// header: one MAC per secret (two while a rotated-out secret still signs),
// separated by a space, each with the scheme's prefix.
func providerSignature(s *hook.SignatureScheme, secrets []string, id string, ts int64, body []byte) (string, error) {
	var b strings.Builder
	for i, secret := range secrets {
		key, err := schemeKey(s, secret)
		if err != nil {
			return "", err
		}
		mac := hmac.New(sha256.New, key)
		switch s.Payload {
		case hook.SignIDTimestampBody:
			mac.Write([]byte(id))
			mac.Write([]byte{'.'})
			fallthrough
		case hook.SignTimestampBody:
			mac.Write(strconv.AppendInt(nil, ts, 10))
			mac.Write([]byte{'.'})
		}
		mac.Write(body)
		sum := mac.Sum(nil)
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s.Prefix)
		if s.Encoding == hook.SignatureBase64 {
			b.WriteString(base64.StdEncoding.EncodeToString(sum))
		} else {
			b.WriteString(hex.EncodeToString(sum))
		}
	}
	return b.String(), nil
}

// schemeKey turns an endpoint secret into the scheme's HMAC key.
func schemeKey(s *hook.SignatureScheme, secret string) ([]byte, error) {
	if s.Key != hook.KeyWhsec {
		return []byte(secret), nil
	}
	raw, ok := strings.CutPrefix(secret, hook.SecretPrefix)
	if !ok {
		return nil, errors.New("the scheme is keyed by a whsec_ secret and the endpoint's secret is not one")
	}
	return base64.StdEncoding.DecodeString(raw)
}
