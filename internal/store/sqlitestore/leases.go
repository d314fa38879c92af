package sqlitestore

import (
	"context"
	"database/sql"
)

// Leases without an index (issue 18). Only this process writes the file
// (it holds a lock on it), so every lease in the database was granted by
// this Store, by ClaimDeliveries or by InsertEvent(s) with claimed
// deliveries, unless it was left by an earlier process (which
// ReleaseAllLeases takes back at start). The Store therefore remembers, per
// owner, the ids of the deliveries it leased, and RenewLeases and
// ReleaseDeliveries without ids update those rows by id (the unique index on
// deliveries.id) instead of finding them through an index on lease_owner,
// which every delivery entered and left again, costing a B-tree leaf per
// commit.
//
// The set is a superset of the owner's leases in the database: an id is
// added once the transaction that leased it has committed, and removed
// once a committed transaction ended the lease (RecordAttempt,
// ReleaseDeliveries, DiscardDeliveries, ReleaseAllLeases) or a renewal
// found it no longer leased to the owner (e.g. RetryDelivery ended it, or
// it ran out and another owner claimed it). An id left over costs only a
// lookup: every statement that uses the set also checks lease_owner. Only
// the writer goroutine touches the set: it is read by the operations' fn
// and changed by their committed hooks, both run by runTx. So a lease
// granted earlier in the same group commit is not yet in the set: a
// ReleaseDeliveries without ids or a RenewLeases racing with the claim
// that granted it leaves it as if the claim had come just after (the
// dispatcher releases all only once it has stopped claiming, and a new
// lease needs no renewal yet).

// forgetLeases forgets owner's leases on ids (store.LeaseSet, whose stamps
// matter only where transactions run side by side: here every change is
// made by the writer goroutine, one transaction after another, so the
// latest stamp is the right one).
func (s *Store) forgetLeases(owner string, ids []string) {
	s.leases.Remove(owner, ids, s.leases.Stamp())
}

// writeThen is write, and then, once fn's transaction has committed with
// fn's result nil, committed runs on the writer goroutine, before the
// result is reported and before the next transaction begins. fn must set
// afresh (on each run) whatever committed reads.
func (s *Store) writeThen(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, committed func()) error {
	return classify(s.submit(ctx, &writeOp{ctx: ctx, fn: fn, committed: committed, done: make(chan error, 1)}))
}
