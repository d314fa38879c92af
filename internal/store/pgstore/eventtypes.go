package pgstore

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const eventTypeCols = `name, description, schema, example, archived, created_at, updated_at`

func scanEventType(row pgx.Row) (*hook.EventType, error) {
	var (
		et              hook.EventType
		schema, example []byte
	)
	if err := row.Scan(&et.Name, &et.Description, &schema, &example, &et.Archived, &et.CreatedAt, &et.UpdatedAt); err != nil {
		return nil, err
	}
	et.Schema, et.Example = rawJSON(schema), rawJSON(example)
	et.CreatedAt, et.UpdatedAt = utc(et.CreatedAt), utc(et.UpdatedAt)
	return &et, nil
}

// invalidJSON maps PostgreSQL's refusal of a json value to EInvalid on
// field, and wraps anything else.
func invalidJSON(err error, field, what string) error {
	if code, _ := pgCode(err); code == codeInvalidJSON {
		return hook.Errorf(hook.EInvalid, field, "is not valid JSON")
	}
	return dbErr(what, err)
}

// CreateEventType adds a type to the catalog.
func (s *Store) CreateEventType(ctx context.Context, p *store.CreateEventTypeParams) (*hook.EventType, error) {
	now := ms(p.Now)
	et := &hook.EventType{
		Name: p.Name, Description: p.Description,
		Schema: cloneRaw(p.Schema), Example: cloneRaw(p.Example),
		CreatedAt: now, UpdatedAt: now,
	}
	err := s.tx(ctx, "create event type", func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx,
			`INSERT INTO event_types (name, description, schema, example, archived, created_at, updated_at)
			 VALUES ($1, $2, $3, $4, false, $5, $5)`,
			et.Name, et.Description, nullJSON(et.Schema), nullJSON(et.Example), now)
		if uniqueViolation(err, "event_types_name_key") {
			return hook.Errorf(hook.EConflict, "name", "event type %q exists", et.Name)
		}
		if err != nil {
			return invalidJSON(err, "schema", "create event type")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return et, nil
}

func getEventType(ctx context.Context, q querier, name string, lock bool) (*hook.EventType, error) {
	sql := `SELECT ` + eventTypeCols + ` FROM event_types WHERE name = $1`
	if lock {
		sql += ` FOR UPDATE`
	}
	et, err := scanEventType(q.QueryRow(ctx, sql, name))
	if err != nil {
		return nil, notFound(err, "event type", name, "get event type")
	}
	return et, nil
}

// GetEventType returns the type, archived or not.
func (s *Store) GetEventType(ctx context.Context, name string) (*hook.EventType, error) {
	return getEventType(ctx, s.pool, name, false)
}

// ListEventTypes lists the catalog in name order (bytewise).
func (s *Store) ListEventTypes(ctx context.Context, p *store.ListEventTypesParams) (*store.Page[*hook.EventType], error) {
	after, err := store.DecodeNameCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	limit := p.NormalizedLimit()
	q := `SELECT ` + eventTypeCols + ` FROM event_types WHERE name > $1`
	if !p.IncludeArchived {
		q += ` AND NOT archived`
	}
	q += ` ORDER BY name LIMIT $2`
	rows, err := s.pool.Query(ctx, q, after, limit+1)
	if err != nil {
		return nil, dbErr("list event types", err)
	}
	defer rows.Close()
	page := &store.Page[*hook.EventType]{Data: []*hook.EventType{}}
	for rows.Next() {
		if len(page.Data) == limit {
			page.NextCursor = store.EncodeNameCursor(page.Data[limit-1].Name)
			break
		}
		et, err := scanEventType(rows)
		if err != nil {
			return nil, dbErr("list event types", err)
		}
		page.Data = append(page.Data, et)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, dbErr("list event types", err)
	}
	return page, nil
}

// UpdateEventType changes the fields of p that are not nil; a Schema or
// Example of JSON null removes it.
func (s *Store) UpdateEventType(ctx context.Context, p *store.UpdateEventTypeParams) (*hook.EventType, error) {
	var out *hook.EventType
	err := s.tx(ctx, "update event type", func(tx pgx.Tx) error {
		et, err := getEventType(ctx, tx, p.Name, true)
		if err != nil {
			return err
		}
		if p.Description != nil {
			et.Description = *p.Description
		}
		if p.Schema != nil {
			et.Schema = cloneRaw(*p.Schema)
		}
		if p.Example != nil {
			et.Example = cloneRaw(*p.Example)
		}
		if p.Archived != nil {
			et.Archived = *p.Archived
		}
		et.UpdatedAt = ms(p.Now)
		_, err = tx.Exec(ctx,
			`UPDATE event_types SET description = $1, schema = $2, example = $3, archived = $4, updated_at = $5 WHERE name = $6`,
			et.Description, nullJSON(et.Schema), nullJSON(et.Example), et.Archived, et.UpdatedAt, et.Name)
		if err != nil {
			return invalidJSON(err, "schema", "update event type")
		}
		out = et
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
