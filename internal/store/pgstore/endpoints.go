package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const endpointCols = `seq, id, app_id, url, description, event_types, disabled, headers, metadata,
	secret, prev_secret, prev_secret_expires_at, uid, profile, envelope, filter, max_concurrency, rate_limit, ordering,
	created_at, updated_at, headers_sealed, circuit_open_until, kind`

// scanEndpoint reads an endpoint row and opens its secrets and header
// values.
func (s *Store) scanEndpoint(row pgx.Row) (*hook.Endpoint, int64, error) {
	e, seq, headersSealed, err := scanEndpointRow(row)
	if err != nil {
		return nil, 0, err
	}
	if err := store.OpenEndpointSecrets(s.keyring, e); err != nil {
		return nil, 0, err
	}
	if err := store.OpenEndpointHeaders(s.keyring, e, headersSealed); err != nil {
		return nil, 0, err
	}
	return e, seq, nil
}

// scanEndpointRow reads an endpoint row as stored: secrets and header
// values sealed. headersSealed is the row's headers_sealed.
func scanEndpointRow(row pgx.Row) (_ *hook.Endpoint, seq int64, headersSealed bool, _ error) {
	var (
		e                hook.Endpoint
		types, hdr, meta []byte
		prevExp, circuit pgtype.Timestamptz
		uid              pgtype.Text
	)
	if err := row.Scan(&seq, &e.ID, &e.AppID, &e.URL, &e.Description, &types, &e.Disabled, &hdr, &meta,
		&e.Secret, &e.PreviousSecret, &prevExp, &uid, &e.Profile, &e.Envelope, &e.Filter,
		&e.MaxConcurrency, &e.RateLimit, &e.Ordering, &e.CreatedAt, &e.UpdatedAt, &headersSealed, &circuit, &e.Kind); err != nil {
		return nil, 0, false, err
	}
	e.UID = uid.String
	var err error
	if e.EventTypes, err = unmarshalList(types); err != nil {
		return nil, 0, false, err
	}
	if e.Headers, err = unmarshalMap(hdr); err != nil {
		return nil, 0, false, err
	}
	if e.Metadata, err = unmarshalMap(meta); err != nil {
		return nil, 0, false, err
	}
	if prevExp.Valid {
		e.PreviousSecretExpiresAt = prevExp.Time.UTC()
	}
	e.CreatedAt, e.UpdatedAt = utc(e.CreatedAt), utc(e.UpdatedAt)
	e.CircuitOpenUntil = timePtr(circuit)
	return &e, seq, headersSealed, nil
}

// CreateEndpoint stores a new endpoint of an existing app, if the app has
// fewer than p.MaxPerApp (when set).
func (s *Store) CreateEndpoint(ctx context.Context, p *store.CreateEndpointParams) (*hook.Endpoint, error) {
	now := ms(p.Now)
	e := &hook.Endpoint{
		ID: p.ID, AppID: p.AppID, URL: p.URL, Description: p.Description,
		EventTypes: store.CopyList(p.EventTypes), Disabled: p.Disabled,
		Headers: store.CopyMap(p.Headers), Metadata: store.CopyMap(p.Metadata),
		UID: p.UID, Profile: p.Profile, Envelope: p.Envelope, Filter: p.Filter,
		MaxConcurrency: p.MaxConcurrency, RateLimit: p.RateLimit, Ordering: p.Ordering,
		Secret: p.Secret, CreatedAt: now, UpdatedAt: now, Kind: p.Kind,
	}
	if e.Kind == "" {
		e.Kind = hook.EndpointKindHTTP
	}
	sealed := store.SealSecret(s.keyring, e.ID, e.Secret)
	hdr, hdrSealed := store.SealHeaders(s.keyring, e.ID, e.Headers)
	err := s.txEndpoints(ctx, "create endpoint", func(tx pgx.Tx) error {
		if p.MaxPerApp > 0 {
			if err := lockAppForEndpointCount(ctx, tx, e.AppID, p.MaxPerApp); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx,
			`INSERT INTO endpoints (id, app_id, url, description, event_types, disabled, headers, metadata,
				secret, uid, profile, envelope, filter, max_concurrency, rate_limit, ordering, created_at, updated_at,
				headers_sealed, kind, listen_seen_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18, $19, $20)`,
			e.ID, e.AppID, e.URL, e.Description, marshalList(e.EventTypes), e.Disabled,
			marshalMap(hdr), marshalMap(e.Metadata), sealed, nullString(e.UID), e.Profile, e.Envelope,
			e.Filter, e.MaxConcurrency, e.RateLimit, e.Ordering, now, hdrSealed, e.Kind, listenSeenAt(e, now))
		switch {
		case err == nil:
			return nil
		case foreignKeyViolation(err, "endpoints_app_id_fkey"):
			return hook.NotFound("app", e.AppID)
		case uniqueViolation(err, "endpoints_app_uid"):
			return store.EndpointUIDConflict(e.UID)
		case uniqueViolation(err, "endpoints_id_key"):
			return hook.Errorf(hook.EConflict, "id", "an endpoint with id %q exists", e.ID)
		}
		return dbErr("create endpoint", err)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// lockAppForEndpointCount locks the app's row, then refuses a new endpoint
// if the app has limit of them. The lock (FOR NO KEY UPDATE) serializes the
// app's endpoint creates, so that each one's count, made after it holds
// the lock, sees every create committed before it: concurrent creates
// cannot pass the limit. It does not conflict with the key-share locks of
// inserts that reference the app (its events), so ingest does not wait.
func lockAppForEndpointCount(ctx context.Context, tx pgx.Tx, appID string, limit int) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM apps WHERE id = $1 FOR NO KEY UPDATE`, appID).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return hook.NotFound("app", appID)
	}
	if err != nil {
		return dbErr("create endpoint: lock app", err)
	}
	var n int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE app_id = $1`, appID).Scan(&n); err != nil {
		return dbErr("create endpoint: count", err)
	}
	if n >= limit {
		return store.EndpointLimitConflict(limit)
	}
	return nil
}

// getEndpoint finds one of the app's endpoints by id ("ep_...") or by uid
// (see store.EndpointRefColumn).
func (s *Store) getEndpoint(ctx context.Context, q querier, appID, endpointID string, lock bool) (*hook.Endpoint, error) {
	if endpointID == "" {
		return nil, hook.NotFound("endpoint", endpointID)
	}
	sql := `SELECT ` + endpointCols + ` FROM endpoints WHERE ` + store.EndpointRefColumn(endpointID) + ` = $1 AND app_id = $2`
	if lock {
		sql += ` FOR UPDATE`
	}
	e, _, err := s.scanEndpoint(q.QueryRow(ctx, sql, endpointID, appID))
	if err != nil {
		return nil, notFound(err, "endpoint", endpointID, "get endpoint")
	}
	return e, nil
}

// GetEndpoint returns one of the app's endpoints, by id or by uid.
func (s *Store) GetEndpoint(ctx context.Context, appID, endpointID string) (*hook.Endpoint, error) {
	return s.getEndpoint(ctx, s.pool, appID, endpointID, false)
}

// ListEndpoints lists the app's endpoints, newest first.
func (s *Store) ListEndpoints(ctx context.Context, p *store.ListEndpointsParams) (*store.Page[*hook.Endpoint], error) {
	return listSeq(ctx, s.pool, "list endpoints", p.ListParams, `SELECT `+endpointCols+` FROM endpoints`,
		[]string{"app_id = $1"}, []any{p.AppID}, s.scanEndpoint)
}

// ListEnabledEndpoints returns the app's endpoints that are not disabled,
// oldest first.
func (s *Store) ListEnabledEndpoints(ctx context.Context, appID string) ([]*hook.Endpoint, error) {
	return s.listAppEndpoints(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE app_id = $1 AND NOT disabled ORDER BY seq`, appID)
}

// ListFanoutEndpoints returns all the app's endpoints, disabled ones too,
// oldest first. The list comes from the store's fan-out cache (see store.FanoutCache):
// it is shared and must not be modified.
func (s *Store) ListFanoutEndpoints(ctx context.Context, appID string) ([]*hook.Endpoint, error) {
	return s.fanout.Load(ctx, appID, func(ctx context.Context) ([]*hook.Endpoint, error) {
		return s.listAppEndpoints(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE app_id = $1 ORDER BY seq`, appID)
	})
}

// txEndpoints is tx for a change to endpoints: the transaction signals the
// other nodes (endpointsChannel) to drop their fan-out caches, and this
// node's is dropped once it has committed, whatever the outcome.
func (s *Store) txEndpoints(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	defer s.fanout.Invalidate()
	return s.tx(ctx, what, func(tx pgx.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify('`+endpointsChannel+`', '')`); err != nil {
			return dbErr(what+": notify", err)
		}
		return nil
	})
}

func (s *Store) listAppEndpoints(ctx context.Context, query, appID string) ([]*hook.Endpoint, error) {
	rows, err := s.pool.Query(ctx, query, appID)
	if err != nil {
		return nil, dbErr("list enabled endpoints", err)
	}
	defer rows.Close()
	out := []*hook.Endpoint{}
	for rows.Next() {
		e, _, err := s.scanEndpoint(rows)
		if err != nil {
			return nil, dbErr("list enabled endpoints", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, dbErr("list enabled endpoints", err)
	}
	return out, nil
}

// UpdateEndpoint changes the fields of p that are not nil. Enabling an
// endpoint signals hookd_due: its deliveries become claimable.
func (s *Store) UpdateEndpoint(ctx context.Context, p *store.UpdateEndpointParams) (*hook.Endpoint, error) {
	var out *hook.Endpoint
	err := s.txEndpoints(ctx, "update endpoint", func(tx pgx.Tx) error {
		e, err := s.getEndpoint(ctx, tx, p.AppID, p.EndpointID, true)
		if err != nil {
			return err
		}
		wasDisabled := e.Disabled
		if err := p.Apply(e); err != nil {
			return err
		}
		e.UpdatedAt = ms(p.Now)
		hdr, hdrSealed := store.SealHeaders(s.keyring, e.ID, e.Headers)
		_, err = tx.Exec(ctx,
			`UPDATE endpoints SET url = $1, description = $2, event_types = $3, disabled = $4, headers = $5,
				metadata = $6, uid = $7, profile = $8, envelope = $9, filter = $10, max_concurrency = $11,
				rate_limit = $12, ordering = $13, updated_at = $14, headers_sealed = $16 WHERE id = $15`,
			e.URL, e.Description, marshalList(e.EventTypes), e.Disabled, marshalMap(hdr),
			marshalMap(e.Metadata), nullString(e.UID), e.Profile, e.Envelope, e.Filter, e.MaxConcurrency, e.RateLimit,
			e.Ordering, e.UpdatedAt, e.ID, hdrSealed)
		if uniqueViolation(err, "endpoints_app_uid") {
			return store.EndpointUIDConflict(e.UID)
		}
		if err != nil {
			return dbErr("update endpoint", err)
		}
		if wasDisabled && !e.Disabled {
			if err := notify(ctx, tx, ""); err != nil {
				return err
			}
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteEndpoint removes the endpoint with its deliveries, attempts and
// slot leases.
func (s *Store) DeleteEndpoint(ctx context.Context, appID, endpointID string) error {
	return s.txEndpoints(ctx, "delete endpoint", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM endpoints WHERE id = $1 AND app_id = $2`, endpointID, appID)
		if err != nil {
			return dbErr("delete endpoint", err)
		}
		if tag.RowsAffected() == 0 {
			return hook.NotFound("endpoint", endpointID)
		}
		return nil
	})
}

// SetEndpointCircuit records the endpoint's circuit state.
func (s *Store) SetEndpointCircuit(ctx context.Context, p *store.SetEndpointCircuitParams) error {
	until := pgtype.Timestamptz{} // closed
	if !p.OpenUntil.IsZero() {
		until = nullTime(ms(p.OpenUntil))
	}
	return s.tx(ctx, "set endpoint circuit", func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE endpoints SET circuit_open_until = $1 WHERE id = $2`,
			until, p.EndpointID); err != nil {
			return dbErr("set endpoint circuit", err)
		}
		return nil
	})
}

// RotateEndpointSecret makes p.Secret current and keeps the old secret
// until p.PreviousExpiresAt.
func (s *Store) RotateEndpointSecret(ctx context.Context, p *store.RotateEndpointSecretParams) (*hook.Endpoint, error) {
	var out *hook.Endpoint
	err := s.txEndpoints(ctx, "rotate endpoint secret", func(tx pgx.Tx) error {
		e, err := s.getEndpoint(ctx, tx, p.AppID, p.EndpointID, true)
		if err != nil {
			return err
		}
		e.PreviousSecret, e.Secret = e.Secret, p.Secret
		e.PreviousSecretExpiresAt = ms(p.PreviousExpiresAt)
		e.UpdatedAt = ms(p.Now)
		_, err = tx.Exec(ctx,
			`UPDATE endpoints SET secret = $1, prev_secret = $2, prev_secret_expires_at = $3, updated_at = $4 WHERE id = $5`,
			store.SealSecret(s.keyring, e.ID, e.Secret), store.SealSecret(s.keyring, e.ID, e.PreviousSecret),
			nullTime(e.PreviousSecretExpiresAt), e.UpdatedAt, e.ID)
		if err != nil {
			return dbErr("rotate endpoint secret", err)
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
