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

// leaseSet is, per owner, the ids of the deliveries it may hold leases on.
type leaseSet map[string]map[string]struct{}

// add records that owner holds leases on ids.
func (l leaseSet) add(owner string, ids []string) {
	if len(ids) == 0 {
		return
	}
	m := l[owner]
	if m == nil {
		m = make(map[string]struct{}, len(ids))
		l[owner] = m
	}
	for _, id := range ids {
		m[id] = struct{}{}
	}
}

// remove forgets owner's leases on ids.
func (l leaseSet) remove(owner string, ids []string) {
	m := l[owner]
	for _, id := range ids {
		delete(m, id)
	}
	if len(m) == 0 {
		delete(l, owner)
	}
}

// ids returns the ids of owner's leases, in no particular order.
func (l leaseSet) ids(owner string) []string {
	m := l[owner]
	out := make([]string, 0, len(m))
	for id := range m {
		out = append(out, id)
	}
	return out
}

// writeThen is write, and then, once fn's transaction has committed with
// fn's result nil, committed runs on the writer goroutine, before the
// result is reported and before the next transaction begins. fn must set
// afresh (on each run) whatever committed reads.
func (s *Store) writeThen(ctx context.Context, fn func(ctx context.Context, tx *sql.Tx) error, committed func()) error {
	return classify(s.submit(ctx, &writeOp{ctx: ctx, fn: fn, committed: committed, done: make(chan error, 1)}))
}
