package pgstore

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leases without an index (issue 18). Migration 00018 drops
// deliveries_lease, the index on (lease_owner, id) that every delivery
// entered when leased (at insert on the publish fast path, or at claim)
// and left when its attempt was recorded: ~130 B of WAL per delivery and
// the index's upkeep. It served only the operations on "all of an owner's
// leases", RenewLeases and ReleaseDeliveries without ids. Claims of the
// expired leases of other (dead) nodes go through deliveries_claim, whose
// available_at is the lease's expiry; everything else finds deliveries by
// id.
//
// Instead, each Store remembers, per owner, the ids of the deliveries it
// leased (Store.leases, a store.LeaseSet), and those two operations update
// them by id (deliveries_id_key), checking the owner as before. Several
// processes share a database, each with owners of its own (a dispatcher's
// owner is a fresh id): a Store needs only the leases it granted. A lease
// granted by another Store, or by an earlier process, is not renewed by
// this one: it runs out and is claimed again through deliveries_claim, as
// after a crash.
//
// The set is a superset of the Store's leases in the database. Ids are
// added once the transaction that leased them has committed (InsertEvent's
// and InsertEvents' claimed deliveries, ClaimDeliveries), and removed once
// a committed transaction ended their leases or found them no longer held
// (RecordAttempt, whether or not it still held the lease; ReleaseDeliveries;
// DiscardDeliveries, those it deleted; ReleaseAllLeases; a renewal, those
// it did not find leased to the owner, e.g. retried by hand, deleted, or
// run out and claimed by another owner). Transactions run concurrently, so
// each removal uses the set's stamp taken before its transaction began: a
// claim that leased an id again meanwhile keeps it (see store.LeaseSet). A
// lease granted by a transaction still committing is not yet in the set: a
// renewal or a release of all racing with it leaves it as if the claim had
// come just after (a new lease needs no renewal yet, and the dispatcher
// releases all only once it has stopped claiming).

// leaseChunk bounds the ids of one renewal or release statement.
const leaseChunk = 1000

// sqlRenewLeases extends owner $2's leases among the ids $3 to $1, finding
// them by id, and returns the ids it extended.
//
// The status is checked as "(status = 'pending') IS TRUE" (the same, as
// status is never NULL) so that the planner cannot use it to match the
// partial indexes on pending deliveries: given the plain condition, it
// ANDs a scan of the whole of deliveries_claim (every pending delivery,
// the backlog) with the lookups by id, when its statistics say the backlog
// is small (TestRenewLeasesPlan).
const sqlRenewLeases = `UPDATE deliveries SET available_at = $1
	WHERE id = ANY ($3::text[]) AND lease_owner = $2 AND (status = 'pending') IS TRUE
	RETURNING id`

// sqlReleaseLeases ends owner $2's leases among the ids $3, making those
// deliveries due at $1. The status is checked as in sqlRenewLeases.
const sqlReleaseLeases = `UPDATE deliveries SET lease_owner = NULL, available_at = $1
	WHERE id = ANY ($3::text[]) AND lease_owner = $2 AND (status = 'pending') IS TRUE`

// renewLeaseIDs runs sqlRenewLeases on ids, a chunk at a time, and
// returns those it did not find leased to owner.
func renewLeaseIDs(ctx context.Context, tx pgx.Tx, until time.Time, owner string, ids []string) ([]string, error) {
	var lost []string
	for chunk := range slices.Chunk(ids, leaseChunk) {
		rows, err := tx.Query(ctx, sqlRenewLeases, until, owner, chunk)
		if err != nil {
			return nil, err
		}
		held, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return nil, err
		}
		if len(held) == len(chunk) {
			continue
		}
		found := make(map[string]bool, len(held))
		for _, id := range held {
			found[id] = true
		}
		for _, id := range chunk {
			if !found[id] {
				lost = append(lost, id)
			}
		}
	}
	return lost, nil
}

// releaseLeaseIDs runs sqlReleaseLeases on ids, a chunk at a time, and
// returns how many leases it ended.
func releaseLeaseIDs(ctx context.Context, tx pgx.Tx, now time.Time, owner string, ids []string) (int64, error) {
	var n int64
	for chunk := range slices.Chunk(ids, leaseChunk) {
		tag, err := tx.Exec(ctx, sqlReleaseLeases, now, owner, chunk)
		if err != nil {
			return 0, err
		}
		n += tag.RowsAffected()
	}
	return n, nil
}

// committed does what follows the commit of op, which succeeded: the
// leases it granted or ended, and the rollup of a recorded attempt.
func (s *Store) committed(op groupOp) {
	switch op := op.(type) {
	case *insertEventOp:
		if op.inserted {
			s.leases.Add(op.owner, op.claimedIDs())
		}
	case *recordAttemptOp:
		// Whatever it decided, the owner's lease is over (or was
		// already lost).
		s.leases.Remove(op.owner, []string{op.a.DeliveryID}, op.stamp)
		if ar, ok := op.rollup(); ok {
			s.rollups.Add(ar)
		}
	}
}
