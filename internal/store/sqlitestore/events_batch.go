package sqlitestore

import (
	"context"
	"database/sql"

	"github.com/hookd/hookd/internal/store"
)

// InsertEvents stores a batch of events with their deliveries as one
// operation of the writer: the items run one after another in one
// function, so the group commit puts them all in one savepoint (see
// runBatch). If an item fails, the operation fails and its savepoint (or
// its transaction, when it ran alone) is rolled back: nothing of the batch
// stands, and the other operations of the group still commit.
func (s *Store) InsertEvents(ctx context.Context, p *store.InsertEventsParams) ([]*store.InsertEventResult, error) {
	ins := make([]*eventInsert, len(p.Events))
	for i := range p.Events {
		in, err := newEventInsert(&p.Events[i])
		if err != nil {
			return nil, store.ItemError(i, err)
		}
		ins[i] = in
	}
	if len(ins) == 0 {
		return []*store.InsertEventResult{}, nil
	}
	var out []*store.InsertEventResult
	err := s.writeThen(ctx, func(ctx context.Context, tx *sql.Tx) error {
		// The writer may run this twice: start afresh.
		out = make([]*store.InsertEventResult, len(ins))
		for i, in := range ins {
			res, err := s.insertEventTx(ctx, tx, in)
			if err != nil {
				return store.ItemError(i, err)
			}
			out[i] = res
		}
		return nil
	}, func() {
		for i, in := range ins {
			s.addClaimed(in, out[i])
		}
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
