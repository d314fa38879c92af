package store

import (
	"context"
	"fmt"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/secrets"
)

// Endpoint secrets at rest. A backend given a *secrets.Keyring (in its
// Options) seals Endpoint.Secret and PreviousSecret when it writes them and
// opens them when it reads them, so that callers see plaintext and the
// database holds only sealed values. Each value is sealed for its
// endpoint's id (the GCM additional data), so a sealed value copied to
// another endpoint's row does not open. A nil Keyring stores plaintext.

// SecretSealer is implemented by the backends that seal endpoint secrets.
// hookd calls it at start, before serving.
type SecretSealer interface {
	// SealPlaintextSecrets first checks that the keyring opens the sealed
	// secrets already stored (one per key id and column: a wrong key is
	// an error naming the key id, and nothing is written), then seals
	// every secret still stored in plaintext (rows from before
	// encryption), a batch of endpoints per transaction. It returns how
	// many values it sealed. With a nil keyring it does nothing.
	SealPlaintextSecrets(ctx context.Context) (int, error)
}

// SealSecret returns v sealed for the endpoint; "" (no secret) stays "".
func SealSecret(kr *secrets.Keyring, endpointID, v string) string {
	if v == "" {
		return ""
	}
	return kr.Seal(v, endpointID)
}

// OpenSecret returns the plaintext of a stored secret column of the
// endpoint; what names the column in the error.
func OpenSecret(kr *secrets.Keyring, endpointID, what, v string) (string, error) {
	pt, err := kr.Open(v, endpointID)
	if err != nil {
		return "", fmt.Errorf("endpoint %s: %s: %w", endpointID, what, err)
	}
	return pt, nil
}

// OpenEndpointSecrets opens e.Secret and e.PreviousSecret, read as
// stored, in place.
func OpenEndpointSecrets(kr *secrets.Keyring, e *hook.Endpoint) error {
	var err error
	if e.Secret, err = OpenSecret(kr, e.ID, "secret", e.Secret); err != nil {
		return err
	}
	if e.PreviousSecret, err = OpenSecret(kr, e.ID, "previous secret", e.PreviousSecret); err != nil {
		return err
	}
	return nil
}

// SealBatchSize is how many endpoints SealPlaintextSecrets reads and
// seals per transaction.
const SealBatchSize = 100

// SQLSealedSamples selects (id, column, stored value) of one endpoint per
// distinct format-and-key-id prefix of each secret column, for
// SealPlaintextSecrets to check; it is the same in SQLite and PostgreSQL.
const SQLSealedSamples = `SELECT id, 'secret', secret FROM endpoints WHERE seq IN (
		SELECT min(seq) FROM endpoints WHERE substr(secret, 1, 4) = 'enc:' GROUP BY substr(secret, 1, 16))
	UNION ALL
	SELECT id, 'previous secret', prev_secret FROM endpoints WHERE seq IN (
		SELECT min(seq) FROM endpoints WHERE substr(prev_secret, 1, 4) = 'enc:' GROUP BY substr(prev_secret, 1, 16))`

// SQLPlaintextWhere is the condition of an endpoint row with a secret
// column in plaintext.
const SQLPlaintextWhere = `(substr(secret, 1, 4) <> 'enc:' OR (prev_secret <> '' AND substr(prev_secret, 1, 4) <> 'enc:'))`

// Endpoint custom headers at rest. Their values are often the receiver's
// credentials, so a backend given a Keyring seals each value as it seals
// the secrets, for the endpoint's id and the header's name (see
// headerContext): a sealed value moved to another endpoint, to another
// header of the same endpoint, or to a secret column, does not open.
// Names stay readable. A row says whether its values are sealed (the
// headers_sealed column), so that a plaintext value kept from before
// encryption is never mistaken for a sealed one, whatever it looks like;
// the start-up pass (SecretSealer) seals those rows.

// headerContext is what a header value is sealed for. An endpoint id and
// a header name (a token) contain no '/', and a secret's context is the
// bare endpoint id: no two contexts are equal.
func headerContext(endpointID, name string) string {
	return endpointID + "/headers/" + name
}

// SealHeaders returns h as a backend stores it: with a keyring, a new map
// with every value sealed for the endpoint and the header's name, and
// sealed true; with none, h itself and sealed false (plaintext, marked as
// such).
func SealHeaders(kr *secrets.Keyring, endpointID string, h map[string]string) (stored map[string]string, sealed bool) {
	if kr == nil {
		return h, false
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = kr.Seal(v, headerContext(endpointID, k))
	}
	return out, true
}

// OpenEndpointHeaders opens e.Headers, read as stored, in place; sealed is
// the row's headers_sealed. Values of a row not marked sealed are
// plaintext from before encryption and are kept as they are; in a row
// marked sealed, a value that is not sealed is an error (ErrMalformed), as
// is one that does not open. Errors name the endpoint and the header,
// never the value.
func OpenEndpointHeaders(kr *secrets.Keyring, e *hook.Endpoint, sealed bool) error {
	if !sealed {
		return nil
	}
	for k, v := range e.Headers {
		pt, err := OpenHeader(kr, e.ID, k, v)
		if err != nil {
			return err
		}
		e.Headers[k] = pt
	}
	return nil
}

// OpenHeader returns the plaintext of the endpoint's header value, stored
// sealed.
func OpenHeader(kr *secrets.Keyring, endpointID, name, v string) (string, error) {
	if !secrets.IsSealed(v) {
		return "", fmt.Errorf("endpoint %s: header %s: %w: the row says its header values are sealed, and this one is not", endpointID, name, secrets.ErrMalformed)
	}
	pt, err := kr.Open(v, headerContext(endpointID, name))
	if err != nil {
		return "", fmt.Errorf("endpoint %s: header %s: %w", endpointID, name, err)
	}
	return pt, nil
}

// SQLPlaintextHeadersWhere is the condition of an endpoint row with custom
// headers stored in plaintext; the same in SQLite and PostgreSQL.
const SQLPlaintextHeadersWhere = `(headers_sealed = false AND headers <> '{}')`
