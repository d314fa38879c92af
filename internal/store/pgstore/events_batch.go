package pgstore

import (
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/hook"
	"github.com/hookd/hookd/internal/store"
)

// InsertEvents stores a batch of events with their deliveries in one
// transaction of its own (not a group one). The items go in one statement,
// the one group commits use (insertEventsBulk); if any item fails, that
// statement is undone and each item runs the statements InsertEvent runs
// alone (ON CONFLICT replay detection, claimed deliveries leased to their
// owner), in order, so that the first item that fails gets its exact
// error, and rolls the whole transaction back. Creating unclaimed deliveries signals
// hookd_due with their items' owners, once each, on commit.
func (s *Store) InsertEvents(ctx context.Context, p *store.InsertEventsParams) ([]*store.InsertEventResult, error) {
	ops := make([]*insertEventOp, len(p.Events))
	for i := range p.Events {
		op, err := newInsertEventOp(&p.Events[i])
		if err != nil {
			return nil, store.ItemError(i, err)
		}
		ops[i] = op
	}
	if len(ops) == 0 {
		return []*store.InsertEventResult{}, nil
	}
	err := s.tx(ctx, "insert events", func(tx pgx.Tx) error {
		// tx runs this again after a deadlock: bulk and alone reset
		// each op.
		done, err := s.insertEventsBulk(ctx, tx, ops)
		if err != nil {
			return err
		}
		if !done {
			for i, op := range ops {
				if err := op.alone(ctx, tx); err != nil {
					return store.ItemError(i, err)
				}
			}
		}
		var owners []string
		for _, op := range ops {
			if o, ok := op.notify(); ok && !slices.Contains(owners, o) {
				owners = append(owners, o)
			}
		}
		for _, o := range owners {
			if err := notify(ctx, tx, o); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*store.InsertEventResult, len(ops))
	for i, op := range ops {
		out[i] = op.res
		if op.inserted {
			s.leases.Add(op.owner, op.claimedIDs())
		}
	}
	return out, nil
}

// newInsertEventOp checks p and copies what it stores, for InsertEvent
// and InsertEvents.
func newInsertEventOp(p *store.InsertEventParams) (*insertEventOp, error) {
	if p.Event == nil {
		return nil, hook.Errorf(hook.EInvalid, "event", "is required")
	}
	ev := &hook.Event{
		ID: p.Event.ID, AppID: p.Event.AppID, Type: p.Event.Type,
		Data: slices.Clone(p.Event.Data), CreatedAt: ms(p.Event.CreatedAt),
		Livemode: p.Event.Livemode, RequestID: p.Event.RequestID, APIVersion: p.Event.APIVersion,
	}
	if len(ev.Data) == 0 {
		ev.Data = []byte("null")
	}
	if len(p.Event.PreviousAttributes) > 0 { // else nil: stored as NULL
		ev.PreviousAttributes = slices.Clone(p.Event.PreviousAttributes)
	}
	op := &insertEventOp{ev: ev, deliveries: slices.Clone(p.Deliveries), owner: p.Owner, leaseUntil: ms(p.LeaseUntil)}
	for _, d := range op.deliveries {
		if !d.Claimed {
			op.unowned = true
		}
	}
	return op, nil
}

// insertEventsBulk inserts ops in one statement, in a savepoint of tx,
// and reads back replays. It reports false, with the savepoint rolled
// back, when any op failed (or the statement did), so that the caller can
// run them one by one for exact errors.
func (s *Store) insertEventsBulk(ctx context.Context, tx pgx.Tx, ops []*insertEventOp) (bool, error) {
	if len(ops) < 2 || s.noBulk {
		return false, nil
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return false, dbErr("insert events: savepoint", err)
	}
	undo := func() (bool, error) {
		if err := sp.Rollback(ctx); err != nil {
			return false, dbErr("insert events: rollback to savepoint", err)
		}
		for _, op := range ops {
			op.res, op.inserted, op.err = nil, false, nil
		}
		return false, nil
	}
	b := &pgx.Batch{}
	queuePlanned(b, func(b *pgx.Batch) { queueInsertEvents(b, ops) })
	br := sp.SendBatch(ctx, b)
	err = readPlanned(br, func(br pgx.BatchResults) error { return readInsertEvents(br, ops) })
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return undo()
	}
	for _, op := range ops {
		op.err = nil
		if err := op.finish(ctx, sp); err != nil || op.err != nil {
			return undo()
		}
	}
	if err := sp.Commit(ctx); err != nil {
		return false, dbErr("insert events: release savepoint", err)
	}
	s.nBulk.Add(1)
	return true, nil
}
