package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/secrets"
	"github.com/hookd/hookd/internal/store"
)

var _ store.SecretSealer = (*Store)(nil)

// SealPlaintextSecrets checks that the keyring opens the sealed endpoint
// secrets and header values (one per key id and column), then seals those
// still stored in plaintext, store.SealBatchSize endpoints per
// transaction, and returns how many values it sealed (each header value
// counts). A value is replaced only if it is still the plaintext that was
// read, so that nodes starting together, or a rotation or update
// meanwhile, do not overwrite each other. With a nil keyring it does
// nothing.
func (s *Store) SealPlaintextSecrets(ctx context.Context) (int, error) {
	if s.keyring == nil {
		return 0, nil
	}
	if s.isClosed() {
		return 0, ErrClosed
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
		rows, err := s.pool.Query(ctx, `SELECT seq, id, secret, prev_secret FROM endpoints
			WHERE seq > $1 AND `+store.SQLPlaintextWhere+` ORDER BY seq LIMIT $2`, after, store.SealBatchSize)
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
		err = s.txEndpoints(ctx, "seal plaintext secrets", func(tx pgx.Tx) error {
			n = 0
			b := &pgx.Batch{}
			for _, r := range batch { // in seq order, as every node locks them
				for _, c := range []struct{ col, v string }{{"secret", r.secret}, {"prev_secret", r.prev}} {
					if c.v == "" || secrets.IsSealed(c.v) {
						continue
					}
					b.Queue(`UPDATE endpoints SET `+c.col+` = $1 WHERE id = $2 AND `+c.col+` = $3`,
						store.SealSecret(s.keyring, r.id, c.v), r.id, c.v)
				}
			}
			br := tx.SendBatch(ctx, b)
			for range b.Len() {
				tag, err := br.Exec()
				if err != nil {
					_ = br.Close()
					return dbErr("seal plaintext secrets", err)
				}
				n += int(tag.RowsAffected())
			}
			if err := br.Close(); err != nil {
				return dbErr("seal plaintext secrets", err)
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
	rows, err := s.pool.Query(ctx, store.SQLSealedSamples)
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
// that hold them in plaintext (headers_sealed false), store.SealBatchSize
// endpoints per transaction, and returns how many values it sealed. A row
// is rewritten only if its headers are still those that were read.
func (s *Store) sealPlaintextHeaders(ctx context.Context) (int, error) {
	type row struct {
		id      string
		raw     []byte
		headers map[string]string
	}
	total := 0
	var after int64
	for {
		rows, err := s.pool.Query(ctx, `SELECT seq, id, headers FROM endpoints
			WHERE seq > $1 AND `+store.SQLPlaintextHeadersWhere+` ORDER BY seq LIMIT $2`, after, store.SealBatchSize)
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
		err = s.txEndpoints(ctx, "seal plaintext headers", func(tx pgx.Tx) error {
			n = 0
			b := &pgx.Batch{}
			for _, r := range batch { // in seq order, as every node locks them
				sealed, _ := store.SealHeaders(s.keyring, r.id, r.headers)
				b.Queue(`UPDATE endpoints SET headers = $1, headers_sealed = true
					WHERE id = $2 AND NOT headers_sealed AND headers = $3::jsonb`, marshalMap(sealed), r.id, string(r.raw))
			}
			br := tx.SendBatch(ctx, b)
			for _, r := range batch {
				tag, err := br.Exec()
				if err != nil {
					_ = br.Close()
					return dbErr("seal plaintext headers", err)
				}
				if tag.RowsAffected() > 0 {
					n += len(r.headers)
				}
			}
			if err := br.Close(); err != nil {
				return dbErr("seal plaintext headers", err)
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
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (substr(h.value, 1, 16)) e.id, h.key, h.value
		FROM endpoints e CROSS JOIN LATERAL jsonb_each_text(e.headers) h WHERE e.headers_sealed`)
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
