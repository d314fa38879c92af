package sqlitestore

import (
	"context"
	"database/sql"
	"slices"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

const eventTypeCols = `name, description, schema, example, archived, created_at, updated_at`

func scanEventType(sc scanner) (*hook.EventType, error) {
	var (
		et              hook.EventType
		schema, example sql.NullString
		cre, upd        int64
	)
	if err := sc.Scan(&et.Name, &et.Description, &schema, &example, &et.Archived, &cre, &upd); err != nil {
		return nil, err
	}
	et.Schema, et.Example = rawJSON(schema), rawJSON(example)
	et.CreatedAt, et.UpdatedAt = fromMS(cre), fromMS(upd)
	return &et, nil
}

func cloneRaw(raw []byte) []byte {
	if isJSONNull(raw) {
		return nil
	}
	return slices.Clone(raw)
}

// CreateEventType adds a type to the catalog.
func (s *Store) CreateEventType(ctx context.Context, p *store.CreateEventTypeParams) (*hook.EventType, error) {
	now := msTime(p.Now)
	et := &hook.EventType{
		Name: p.Name, Description: p.Description,
		Schema: cloneRaw(p.Schema), Example: cloneRaw(p.Example),
		CreatedAt: now, UpdatedAt: now,
	}
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx,
			`INSERT INTO event_types (name, description, schema, example, archived, created_at, updated_at)
			 VALUES (?, ?, ?, ?, 0, ?, ?)`,
			et.Name, et.Description, nullJSON(et.Schema), nullJSON(et.Example), ms(now), ms(now))
		if uniqueViolation(err, "event_types.name") {
			return hook.Errorf(hook.EConflict, "name", "event type %q exists", et.Name)
		}
		if err != nil {
			return dbErr("create event type", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return et, nil
}

func getEventType(ctx context.Context, q querier, name string) (*hook.EventType, error) {
	et, err := scanEventType(q.QueryRowContext(ctx, `SELECT `+eventTypeCols+` FROM event_types WHERE name = ?`, name))
	if err != nil {
		return nil, notFound(err, "event type", name, "get event type")
	}
	return et, nil
}

// GetEventType returns the type, archived or not.
func (s *Store) GetEventType(ctx context.Context, name string) (*hook.EventType, error) {
	return getEventType(ctx, s.rdb, name)
}

// ListEventTypes lists the catalog in name order.
func (s *Store) ListEventTypes(ctx context.Context, p *store.ListEventTypesParams) (*store.Page[*hook.EventType], error) {
	after, err := store.DecodeNameCursor(p.Cursor)
	if err != nil {
		return nil, err
	}
	limit := p.NormalizedLimit()
	q := `SELECT ` + eventTypeCols + ` FROM event_types WHERE name > ?`
	if !p.IncludeArchived {
		q += ` AND archived = 0`
	}
	q += ` ORDER BY name LIMIT ?`
	rows, err := s.rdb.QueryContext(ctx, q, after, limit+1)
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
	if err := rows.Err(); err != nil {
		return nil, dbErr("list event types", err)
	}
	return page, nil
}

// UpdateEventType changes the fields of p that are not nil; a Schema or
// Example of JSON null removes it.
func (s *Store) UpdateEventType(ctx context.Context, p *store.UpdateEventTypeParams) (*hook.EventType, error) {
	var out *hook.EventType
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		et, err := getEventType(ctx, tx, p.Name)
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
		et.UpdatedAt = msTime(p.Now)
		_, err = tx.ExecContext(ctx,
			`UPDATE event_types SET description = ?, schema = ?, example = ?, archived = ?, updated_at = ? WHERE name = ?`,
			et.Description, nullJSON(et.Schema), nullJSON(et.Example), boolInt(et.Archived), ms(et.UpdatedAt), et.Name)
		if err != nil {
			return dbErr("update event type", err)
		}
		out = et
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutEventTypes creates or replaces p.Types in one transaction.
func (s *Store) PutEventTypes(ctx context.Context, p *store.PutEventTypesParams) ([]*hook.EventType, error) {
	now := msTime(p.Now)
	out := make([]*hook.EventType, 0, len(p.Types))
	err := s.write(ctx, func(ctx context.Context, tx *sql.Tx) error {
		out = out[:0]
		for _, t := range p.Types {
			et, err := scanEventType(tx.QueryRowContext(ctx,
				`INSERT INTO event_types (name, description, schema, example, archived, created_at, updated_at)
				 VALUES (?, ?, ?, ?, 0, ?, ?)
				 ON CONFLICT (name) DO UPDATE SET description = excluded.description, schema = excluded.schema,
					example = excluded.example, archived = 0, updated_at = excluded.updated_at
				 RETURNING `+eventTypeCols,
				t.Name, t.Description, nullJSON(cloneRaw(t.Schema)), nullJSON(cloneRaw(t.Example)), ms(now), ms(now)))
			if err != nil {
				return dbErr("put event types", err)
			}
			out = append(out, et)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
