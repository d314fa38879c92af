package pgstore

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const appCols = `seq, id, uid, name, metadata, profile, envelope, api_version, livemode, signature,
	catalog, secret_overlap_seconds, created_at, updated_at, branding`

func scanApp(row pgx.Row) (*hook.App, int64, error) {
	var (
		a   hook.App
		seq int64
		uid pgtype.Text
		mt  []byte
		sig []byte
		br  []byte
	)
	if err := row.Scan(&seq, &a.ID, &uid, &a.Name, &mt, &a.Profile, &a.Envelope, &a.APIVersion, &a.Livemode, &sig,
		&a.Catalog, &a.SecretOverlapSeconds, &a.CreatedAt, &a.UpdatedAt, &br); err != nil {
		return nil, 0, err
	}
	a.UID = uid.String
	var err error
	if a.Metadata, err = unmarshalMap(mt); err != nil {
		return nil, 0, err
	}
	if a.Signature, err = unmarshalSignature(sig); err != nil {
		return nil, 0, err
	}
	if a.Branding, err = unmarshalBranding(br); err != nil {
		return nil, 0, err
	}
	a.CreatedAt, a.UpdatedAt = utc(a.CreatedAt), utc(a.UpdatedAt)
	return &a, seq, nil
}

func uidConflict(uid string) error {
	return hook.Errorf(hook.EConflict, "uid", "an app with uid %q exists", uid)
}

// CreateApp stores a new app.
func (s *Store) CreateApp(ctx context.Context, p *store.CreateAppParams) (*hook.App, error) {
	now := ms(p.Now)
	app := p.NewApp(now)
	err := s.tx(ctx, "create app", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO apps (id, uid, name, metadata, profile, envelope, api_version, livemode, signature,
				catalog, secret_overlap_seconds, created_at, updated_at, branding)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12, $13)`,
			app.ID, nullString(app.UID), app.Name, marshalMap(app.Metadata), app.Profile, app.Envelope,
			app.APIVersion, app.Livemode, marshalSignature(app.Signature), app.Catalog, app.SecretOverlapSeconds, now,
			marshalBranding(app.Branding))
		switch {
		case err == nil:
			return nil
		case uniqueViolation(err, "apps_uid_key"):
			return uidConflict(app.UID)
		case uniqueViolation(err, "apps_id_key"):
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
	a, _, err := scanApp(q.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE `+col+` = $1`, idOrUID))
	if err != nil {
		return nil, notFound(err, "app", idOrUID, "get app")
	}
	return a, nil
}

// GetApp finds an app by id ("app_...") or by uid.
func (s *Store) GetApp(ctx context.Context, idOrUID string) (*hook.App, error) {
	return getApp(ctx, s.pool, idOrUID)
}

// ListApps lists apps, newest first.
func (s *Store) ListApps(ctx context.Context, p *store.ListAppsParams) (*store.Page[*hook.App], error) {
	return listSeq(ctx, s.pool, "list apps", p.ListParams, `SELECT `+appCols+` FROM apps`, nil, nil, scanApp)
}

// UpdateApp changes the fields of p that are not nil.
func (s *Store) UpdateApp(ctx context.Context, p *store.UpdateAppParams) (*hook.App, error) {
	var app *hook.App
	err := s.tx(ctx, "update app", func(tx pgx.Tx) error {
		a, _, err := scanApp(tx.QueryRow(ctx, `SELECT `+appCols+` FROM apps WHERE id = $1 FOR UPDATE`, p.AppID))
		if err != nil {
			return notFound(err, "app", p.AppID, "update app")
		}
		p.Apply(a)
		a.UpdatedAt = ms(p.Now)
		_, err = tx.Exec(ctx,
			`UPDATE apps SET uid = $1, name = $2, metadata = $3, profile = $4, envelope = $5, api_version = $6,
				livemode = $7, signature = $8, catalog = $9, secret_overlap_seconds = $10, updated_at = $11,
				branding = $13 WHERE id = $12`,
			nullString(a.UID), a.Name, marshalMap(a.Metadata), a.Profile, a.Envelope, a.APIVersion,
			a.Livemode, marshalSignature(a.Signature), a.Catalog, a.SecretOverlapSeconds, a.UpdatedAt, a.ID,
			marshalBranding(a.Branding))
		if uniqueViolation(err, "apps_uid_key") {
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
	return s.txEndpoints(ctx, "delete app", func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM apps WHERE id = $1`, appID)
		if err != nil {
			return dbErr("delete app", err)
		}
		if tag.RowsAffected() == 0 {
			return hook.NotFound("app", appID)
		}
		return nil
	})
}

// marshalSignature renders a scheme for the jsonb column: NULL for none.
func marshalSignature(s *hook.SignatureScheme) any {
	if s == nil {
		return nil
	}
	b, _ := json.Marshal(s) // a struct of strings always marshals
	return string(b)
}

func unmarshalSignature(b []byte) (*hook.SignatureScheme, error) {
	if isJSONNull(b) {
		return nil, nil
	}
	var sig hook.SignatureScheme
	if err := json.Unmarshal(b, &sig); err != nil {
		return nil, err
	}
	return &sig, nil
}

// marshalBranding renders an app's branding for the jsonb column: NULL
// for none.
func marshalBranding(b *hook.Branding) any {
	if b == nil {
		return nil
	}
	j, _ := json.Marshal(b) // a struct of strings always marshals
	return string(j)
}

func unmarshalBranding(b []byte) (*hook.Branding, error) {
	if isJSONNull(b) {
		return nil, nil
	}
	var br hook.Branding
	if err := json.Unmarshal(b, &br); err != nil {
		return nil, err
	}
	return &br, nil
}
