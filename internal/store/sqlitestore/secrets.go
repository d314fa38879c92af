package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

var _ store.SecretSealer = (*Store)(nil)

// SealPlaintextSecrets checks that the keyring opens the sealed endpoint
// secrets and header values (one per key id and column), then seals those
// still stored in plaintext, store.SealBatchSize endpoints per
// transaction, and returns how many values it sealed (each header value
// counts). A value is replaced only if it is still the plaintext that was
// read, so a concurrent rotation or update wins. With a nil keyring it
// does nothing.
func (s *Store) SealPlaintextSecrets(ctx context.Context) (int, error) {
	if s.keyring == nil {
		return 0, nil
	}
	if err := s.checkSealed(ctx); err != nil {
		return 0, err
	}
	if err := s.checkSealedHeaders(ctx); err != nil {
		return 0, err
	}
	type row struct {
		id, secret, prev string
	}
	total := 0
	var after int64
	for {
		rows, err := s.rdb.QueryContext(ctx, `SELECT seq, id, secret, prev_secret FROM endpoints
			WHERE seq > ? AND `+store.SQLPlaintextWhere+` ORDER BY seq LIMIT ?`, after, store.SealBatchSize)
		if err != nil {
			return total, dbErr("seal plaintext secrets", err)
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&after, &r.id, &r.secret, &r.prev); err != nil {
				rows.Close()
				return total, dbErr("seal plaintext secrets", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, dbErr("seal plaintext secrets", err)
		}
		if len(batch) == 0 {
			n, err := s.sealPlaintextHeaders(ctx)
			return total + n, err
		}
		var n int
		err = s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
			n = 0
			for _, r := range batch {
				for _, c := range []struct{ col, v string }{{"secret", r.secret}, {"prev_secret", r.prev}} {
					if c.v == "" || secrets.IsSealed(c.v) {
						continue
					}
					res, err := tx.ExecContext(ctx, `UPDATE endpoints SET `+c.col+` = ? WHERE id = ? AND `+c.col+` = ?`,
						store.SealSecret(s.keyring, r.id, c.v), r.id, c.v)
					if err != nil {
						return dbErr("seal plaintext secrets", err)
					}
					k, _ := res.RowsAffected()
					n += int(k)
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
	}
}

// checkSealed opens one stored secret per column and key id.
func (s *Store) checkSealed(ctx context.Context) error {
	rows, err := s.rdb.QueryContext(ctx, store.SQLSealedSamples)
	if err != nil {
		return dbErr("check sealed secrets", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, what, v string
		if err := rows.Scan(&id, &what, &v); err != nil {
			return dbErr("check sealed secrets", err)
		}
		if _, err := store.OpenSecret(s.keyring, id, what, v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr("check sealed secrets", err)
	}
	return nil
}

// sealPlaintextHeaders seals the custom header values of the endpoints
// that hold them in plaintext (headers_sealed 0), store.SealBatchSize
// endpoints per transaction, and returns how many values it sealed. A row
// is rewritten only if its headers are still those that were read.
func (s *Store) sealPlaintextHeaders(ctx context.Context) (int, error) {
	type row struct {
		id, raw string
		headers map[string]string
	}
	total := 0
	var after int64
	for {
		rows, err := s.rdb.QueryContext(ctx, `SELECT seq, id, headers FROM endpoints
			WHERE seq > ? AND `+store.SQLPlaintextHeadersWhere+` ORDER BY seq LIMIT ?`, after, store.SealBatchSize)
		if err != nil {
			return total, dbErr("seal plaintext headers", err)
		}
		var batch []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&after, &r.id, &r.raw); err != nil {
				rows.Close()
				return total, dbErr("seal plaintext headers", err)
			}
			if r.headers, err = unmarshalMap(r.raw); err != nil {
				rows.Close()
				return total, dbErr("seal plaintext headers of endpoint "+r.id, err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return total, dbErr("seal plaintext headers", err)
		}
		if len(batch) == 0 {
			return total, nil
		}
		var n int
		err = s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
			n = 0
			for _, r := range batch {
				sealed, _ := store.SealHeaders(s.keyring, r.id, r.headers)
				res, err := tx.ExecContext(ctx, `UPDATE endpoints SET headers = ?, headers_sealed = 1
					WHERE id = ? AND headers_sealed = 0 AND headers = ?`, marshalMap(sealed), r.id, r.raw)
				if err != nil {
					return dbErr("seal plaintext headers", err)
				}
				if k, _ := res.RowsAffected(); k > 0 {
					n += len(r.headers)
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		total += n
	}
}

// checkSealedHeaders opens one sealed header value per key id.
func (s *Store) checkSealedHeaders(ctx context.Context) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT e.id, h.key, h.value FROM endpoints e, json_each(e.headers) h
		WHERE e.headers_sealed = 1 GROUP BY substr(h.value, 1, 16)`)
	if err != nil {
		return dbErr("check sealed headers", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, name, v string
		if err := rows.Scan(&id, &name, &v); err != nil {
			return dbErr("check sealed headers", err)
		}
		if _, err := store.OpenHeader(s.keyring, id, name, v); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return dbErr("check sealed headers", err)
	}
	return nil
}
