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
