package pgstore

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// PutEventTypes creates or replaces p.Types in one transaction.
func (s *Store) PutEventTypes(ctx context.Context, p *store.PutEventTypesParams) ([]*hook.EventType, error) {
	now := ms(p.Now)
	out := make([]*hook.EventType, 0, len(p.Types))
	err := s.tx(ctx, "put event types", func(tx pgx.Tx) error {
		out = out[:0]
		for i, t := range p.Types {
			et, err := scanEventType(tx.QueryRow(ctx,
				`INSERT INTO event_types (name, description, schema, example, archived, created_at, updated_at)
				 VALUES ($1, $2, $3, $4, false, $5, $5)
				 ON CONFLICT (name) DO UPDATE SET description = excluded.description, schema = excluded.schema,
					example = excluded.example, archived = false, updated_at = excluded.updated_at
				 RETURNING `+eventTypeCols,
				t.Name, t.Description, nullJSON(cloneRaw(t.Schema)), nullJSON(cloneRaw(t.Example)), now))
			if err != nil {
				return invalidJSON(err, fmt.Sprintf("types[%d].schema", i), "put event types")
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
