package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const endpointCols = `seq, id, app_id, url, description, event_types, disabled, headers, metadata,
	secret, prev_secret, prev_secret_expires_at, uid, profile, envelope, filter, max_concurrency, rate_limit, ordering,
	created_at, updated_at, headers_sealed, circuit_open_until, kind`

// scanEndpoint reads an endpoint row and opens its secrets and header
// values.
func (s *Store) scanEndpoint(sc scanner) (*hook.Endpoint, int64, error) {
	e, seq, headersSealed, err := scanEndpointRow(sc)
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
func scanEndpointRow(sc scanner) (_ *hook.Endpoint, seq int64, headersSealed bool, _ error) {
	var (
		e                hook.Endpoint
		types, hdr, meta string
		prevExp, circuit sql.NullInt64
		uid              sql.NullString
		cre, upd         int64
	)
	if err := sc.Scan(&seq, &e.ID, &e.AppID, &e.URL, &e.Description, &types, &e.Disabled, &hdr, &meta,
		&e.Secret, &e.PreviousSecret, &prevExp, &uid, &e.Profile, &e.Envelope, &e.Filter,
		&e.MaxConcurrency, &e.RateLimit, &e.Ordering, &cre, &upd, &headersSealed, &circuit, &e.Kind); err != nil {
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
		e.PreviousSecretExpiresAt = fromMS(prevExp.Int64)
	}
	e.CreatedAt, e.UpdatedAt = fromMS(cre), fromMS(upd)
	e.CircuitOpenUntil = timePtr(circuit)
	return &e, seq, headersSealed, nil
}

// CreateEndpoint stores a new endpoint of an existing app, if the app has
// fewer than p.MaxPerApp (when set).
func (s *Store) CreateEndpoint(ctx context.Context, p *store.CreateEndpointParams) (*hook.Endpoint, error) {
	now := msTime(p.Now)
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
	err := s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if p.MaxPerApp > 0 {
			// The writer is the only one, so the count and the insert
			// see the same rows, creates of the same batch included.
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE app_id = ?`, e.AppID).Scan(&n); err != nil {
				return dbErr("create endpoint: count", err)
			}
			if n >= p.MaxPerApp {
				return store.EndpointLimitConflict(p.MaxPerApp)
			}
		}
		_, err := tx.ExecContext(ctx,
			`INSERT INTO endpoints (id, app_id, url, description, event_types, disabled, headers, headers_sealed,
				metadata, secret, uid, profile, envelope, filter, max_concurrency, rate_limit, ordering, created_at,
				updated_at, kind, listen_seen_at)
			 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.AppID, e.URL, e.Description, marshalList(e.EventTypes), boolInt(e.Disabled),
			marshalMap(hdr), boolInt(hdrSealed), marshalMap(e.Metadata), sealed, nullString(e.UID), e.Profile,
			e.Envelope, e.Filter, e.MaxConcurrency, e.RateLimit, e.Ordering, ms(now), ms(now), e.Kind, listenSeenAt(e, now))
		switch {
		case err == nil:
			return nil
		case isForeignKeyViolation(err):
			return hook.NotFound("app", e.AppID)
		case uniqueViolation(err, "endpoints.uid"):
			return store.EndpointUIDConflict(e.UID)
		case uniqueViolation(err, "endpoints.id"):
			return hook.Errorf(hook.EConflict, "id", "an endpoint with id %q exists", e.ID)
		}
		return dbErr("create endpoint", err)
	})
	if err != nil {
		return nil, err
	}
	return e, nil
}

// getEndpoint finds one of the app's endpoints by id ("ep_...") or by uid
// (see store.EndpointRefColumn).
func (s *Store) getEndpoint(ctx context.Context, q querier, appID, endpointID string) (*hook.Endpoint, error) {
	if endpointID == "" {
		return nil, hook.NotFound("endpoint", endpointID)
	}
	e, _, err := s.scanEndpoint(q.QueryRowContext(ctx,
		`SELECT `+endpointCols+` FROM endpoints WHERE `+store.EndpointRefColumn(endpointID)+` = ? AND app_id = ?`,
		endpointID, appID))
	if err != nil {
		return nil, notFound(err, "endpoint", endpointID, "get endpoint")
	}
	return e, nil
}

// GetEndpoint returns one of the app's endpoints, by id or by uid.
func (s *Store) GetEndpoint(ctx context.Context, appID, endpointID string) (*hook.Endpoint, error) {
	return s.getEndpoint(ctx, s.rdb, appID, endpointID)
}

// ListEndpoints lists the app's endpoints, newest first.
func (s *Store) ListEndpoints(ctx context.Context, p *store.ListEndpointsParams) (*store.Page[*hook.Endpoint], error) {
	return listSeq(ctx, s.rdb, "list endpoints", p.ListParams, `SELECT `+endpointCols+` FROM endpoints`,
		[]string{"app_id = ?"}, []any{p.AppID}, s.scanEndpoint)
}

// ListEnabledEndpoints returns the app's endpoints that are not disabled,
// oldest first.
func (s *Store) ListEnabledEndpoints(ctx context.Context, appID string) ([]*hook.Endpoint, error) {
	return s.listAppEndpoints(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE app_id = ? AND disabled = 0 ORDER BY seq`, appID)
}

// ListFanoutEndpoints returns all the app's endpoints, disabled ones too,
// oldest first. The list comes from the store's fan-out cache (see store.FanoutCache):
// it is shared and must not be modified.
func (s *Store) ListFanoutEndpoints(ctx context.Context, appID string) ([]*hook.Endpoint, error) {
	return s.fanout.Load(ctx, appID, func(ctx context.Context) ([]*hook.Endpoint, error) {
		return s.listAppEndpoints(ctx, `SELECT `+endpointCols+` FROM endpoints WHERE app_id = ? ORDER BY seq`, appID)
	})
}

// writeEndpoints is write for a change to endpoints: whatever its outcome,
// the fan-out cache is dropped once it has committed.
func (s *Store) writeEndpoints(ctx context.Context, fn func(context.Context, *sql.Tx) error) error {
	defer s.fanout.Invalidate()
	return s.write(ctx, fn)
}

func (s *Store) listAppEndpoints(ctx context.Context, query, appID string) ([]*hook.Endpoint, error) {
	rows, err := s.rdb.QueryContext(ctx, query, appID)
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

// UpdateEndpoint changes the fields of p that are not nil.
func (s *Store) UpdateEndpoint(ctx context.Context, p *store.UpdateEndpointParams) (*hook.Endpoint, error) {
	var out *hook.Endpoint
	err := s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
		e, err := s.getEndpoint(ctx, tx, p.AppID, p.EndpointID)
		if err != nil {
			return err
		}
		if err := p.Apply(e); err != nil {
			return err
		}
		e.UpdatedAt = msTime(p.Now)
		hdr, hdrSealed := store.SealHeaders(s.keyring, e.ID, e.Headers)
		_, err = tx.ExecContext(ctx,
			`UPDATE endpoints SET url = ?, description = ?, event_types = ?, disabled = ?, headers = ?,
				headers_sealed = ?, metadata = ?, uid = ?, profile = ?, envelope = ?, filter = ?, max_concurrency = ?,
				rate_limit = ?, ordering = ?, updated_at = ? WHERE id = ?`,
			e.URL, e.Description, marshalList(e.EventTypes), boolInt(e.Disabled), marshalMap(hdr), boolInt(hdrSealed),
			marshalMap(e.Metadata), nullString(e.UID), e.Profile, e.Envelope, e.Filter, e.MaxConcurrency, e.RateLimit,
			e.Ordering, ms(e.UpdatedAt), e.ID)
		if uniqueViolation(err, "endpoints.uid") {
			return store.EndpointUIDConflict(e.UID)
		}
		if err != nil {
			return dbErr("update endpoint", err)
		}
		out = e
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteEndpoint removes the endpoint with its deliveries and attempts.
func (s *Store) DeleteEndpoint(ctx context.Context, appID, endpointID string) error {
	return s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE id = ? AND app_id = ?`, endpointID, appID)
		if err != nil {
			return dbErr("delete endpoint", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hook.NotFound("endpoint", endpointID)
		}
		return nil
	})
}

// SetEndpointCircuit records the endpoint's circuit state.
func (s *Store) SetEndpointCircuit(ctx context.Context, p *store.SetEndpointCircuitParams) error {
	return s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET circuit_open_until = ? WHERE id = ?`,
			nullMS(p.OpenUntil), p.EndpointID); err != nil {
			return dbErr("set endpoint circuit", err)
		}
		return nil
	})
}

// RotateEndpointSecret makes p.Secret current and keeps the old secret
// until p.PreviousExpiresAt.
func (s *Store) RotateEndpointSecret(ctx context.Context, p *store.RotateEndpointSecretParams) (*hook.Endpoint, error) {
	var out *hook.Endpoint
	err := s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
		e, err := s.getEndpoint(ctx, tx, p.AppID, p.EndpointID)
		if err != nil {
			return err
		}
		e.PreviousSecret, e.Secret = e.Secret, p.Secret
		e.PreviousSecretExpiresAt = msTime(p.PreviousExpiresAt)
		e.UpdatedAt = msTime(p.Now)
		_, err = tx.ExecContext(ctx,
			`UPDATE endpoints SET secret = ?, prev_secret = ?, prev_secret_expires_at = ?, updated_at = ? WHERE id = ?`,
			store.SealSecret(s.keyring, e.ID, e.Secret), store.SealSecret(s.keyring, e.ID, e.PreviousSecret),
			nullMS(e.PreviousSecretExpiresAt), ms(e.UpdatedAt), e.ID)
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
