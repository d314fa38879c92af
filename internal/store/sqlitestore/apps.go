package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// querier is a *sql.DB or a *sql.Tx.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

const appCols = `seq, id, uid, name, metadata, profile, envelope, api_version, livemode, signature, catalog,
	secret_overlap_seconds, created_at, updated_at, branding`

func scanApp(sc scanner) (*hook.App, int64, error) {
	var (
		a        hook.App
		seq      int64
		uid      sql.NullString
		meta     string
		sig      sql.NullString
		brand    sql.NullString
		cre, upd int64
	)
	if err := sc.Scan(&seq, &a.ID, &uid, &a.Name, &meta, &a.Profile, &a.Envelope, &a.APIVersion, &a.Livemode, &sig,
		&a.Catalog, &a.SecretOverlapSeconds, &cre, &upd, &brand); err != nil {
		return nil, 0, err
	}
	a.UID = uid.String
	var err error
	if a.Metadata, err = unmarshalMap(meta); err != nil {
		return nil, 0, err
	}
	if a.Signature, err = unmarshalSignature(sig); err != nil {
		return nil, 0, err
	}
	if a.Branding, err = unmarshalBranding(brand); err != nil {
		return nil, 0, err
	}
	a.CreatedAt, a.UpdatedAt = fromMS(cre), fromMS(upd)
	return &a, seq, nil
}

func uidConflict(uid string) error {
	return hook.Errorf(hook.EConflict, "uid", "an app with uid %q exists", uid)
}

// CreateApp stores a new app.
func (s *Store) CreateApp(ctx context.Context, p *store.CreateAppParams) (*hook.App, error) {
	now := msTime(p.Now)
	app := p.NewApp(now)
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO apps (id, uid, name, metadata, profile, envelope, api_version, livemode, signature,
				catalog, secret_overlap_seconds, created_at, updated_at, branding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			app.ID, nullString(app.UID), app.Name, marshalMap(app.Metadata), app.Profile, app.Envelope,
			app.APIVersion, boolInt(app.Livemode), marshalSignature(app.Signature), app.Catalog,
			app.SecretOverlapSeconds, ms(now), ms(now), marshalBranding(app.Branding))
		switch {
		case err == nil:
			return nil
		case uniqueViolation(err, "apps.uid"):
			return uidConflict(app.UID)
		case uniqueViolation(err, "apps.id"):
			return hook.Errorf(hook.EConflict, "id", "an app with id %q exists", app.ID)
		}
		return dbErr("create app", err)
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

func getApp(ctx context.Context, q querier, idOrUID string) (*hook.App, error) {
	if idOrUID == "" {
		return nil, hook.NotFound("app", idOrUID)
	}
	col := "uid"
	if strings.HasPrefix(idOrUID, "app_") {
		col = "id"
	}
	a, _, err := scanApp(q.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE `+col+` = ?`, idOrUID))
	if err != nil {
		return nil, notFound(err, "app", idOrUID, "get app")
	}
	return a, nil
}

// GetApp finds an app by id ("app_...") or by uid.
func (s *Store) GetApp(ctx context.Context, idOrUID string) (*hook.App, error) {
	return getApp(ctx, s.rdb, idOrUID)
}

// ListApps lists apps, newest first.
func (s *Store) ListApps(ctx context.Context, p *store.ListAppsParams) (*store.Page[*hook.App], error) {
	return listSeq(ctx, s.rdb, "list apps", p.ListParams, `SELECT `+appCols+` FROM apps`, nil, nil, scanApp)
}

// UpdateApp changes the fields of p that are not nil.
func (s *Store) UpdateApp(ctx context.Context, p *store.UpdateAppParams) (*hook.App, error) {
	var app *hook.App
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		a, _, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, p.AppID))
		if err != nil {
			return notFound(err, "app", p.AppID, "update app")
		}
		p.Apply(a)
		a.UpdatedAt = msTime(p.Now)
		_, err = tx.ExecContext(ctx,
			`UPDATE apps SET uid = ?, name = ?, metadata = ?, profile = ?, envelope = ?, api_version = ?,
				livemode = ?, signature = ?, catalog = ?, secret_overlap_seconds = ?, updated_at = ?, branding = ? WHERE id = ?`,
			nullString(a.UID), a.Name, marshalMap(a.Metadata), a.Profile, a.Envelope, a.APIVersion,
			boolInt(a.Livemode), marshalSignature(a.Signature), a.Catalog, a.SecretOverlapSeconds,
			ms(a.UpdatedAt), marshalBranding(a.Branding), a.ID)
		if uniqueViolation(err, "apps.uid") {
			return uidConflict(a.UID)
		}
		if err != nil {
			return dbErr("update app", err)
		}
		app = a
		return nil
	})
	if err != nil {
		return nil, err
	}
	return app, nil
}

// DeleteApp removes the app; its endpoints, events, deliveries, attempts
// and app-scoped API keys go with it (ON DELETE CASCADE).
func (s *Store) DeleteApp(ctx context.Context, appID string) error {
	return s.writeEndpoints(ctx, func(ctx context.Context, tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM apps WHERE id = ?`, appID)
		if err != nil {
			return dbErr("delete app", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return hook.NotFound("app", appID)
		}
		return nil
	})
}

func marshalSignature(s *hook.SignatureScheme) sql.NullString {
	if s == nil {
		return sql.NullString{}
	}
	b, _ := json.Marshal(s)
	return sql.NullString{String: string(b), Valid: true}
}

func unmarshalSignature(s sql.NullString) (*hook.SignatureScheme, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var sig hook.SignatureScheme
	if err := json.Unmarshal([]byte(s.String), &sig); err != nil {
		return nil, err
	}
	return &sig, nil
}

// marshalBranding renders an app's branding for its column: NULL for none.
func marshalBranding(b *hook.Branding) sql.NullString {
	if b == nil {
		return sql.NullString{}
	}
	j, _ := json.Marshal(b)
	return sql.NullString{String: string(j), Valid: true}
}

func unmarshalBranding(s sql.NullString) (*hook.Branding, error) {
	if !s.Valid || s.String == "" {
		return nil, nil
	}
	var b hook.Branding
	if err := json.Unmarshal([]byte(s.String), &b); err != nil {
		return nil, err
	}
	return &b, nil
}
