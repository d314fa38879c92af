package pgstore

import (
	"cmp"
	"context"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/internal/store"
)

// sqlLeaseSlot sets owner $2's slots of endpoint $1 at now $3: want $4 of
// limit $5, until $6. It runs under the endpoint's advisory lock, after
// its rows are locked, so that held (what other owners hold under
// unexpired leases) is exact: no other LeaseSlots of the endpoint runs
// meanwhile, and no RenewLeases can extend a lease this one counts as
// expired (it deletes those). With want 0, the owner's row goes. If the
// endpoint does not exist, nothing is stored and nothing is granted.
const sqlLeaseSlot = `WITH cur AS (
		SELECT coalesce(sum(slots) FILTER (WHERE owner <> $2 AND lease_until > $3), 0)::int AS held,
			count(*) FILTER (WHERE owner <> $2 AND lease_until > $3 AND want > slots)::int AS waiting,
			count(*) FILTER (WHERE owner <> $2 AND lease_until > $3 AND slots > 0)::int AS others
		FROM endpoint_slots WHERE endpoint_id = $1
	), g AS (
		SELECT greatest(0, least($4::int, $5::int - held)) AS granted, waiting, others FROM cur
	), up AS (
		INSERT INTO endpoint_slots (endpoint_id, owner, slots, want, lease_until)
		SELECT $1, $2, g.granted, $4::int, $6 FROM g
		WHERE $4::int > 0 AND EXISTS (SELECT 1 FROM endpoints WHERE id = $1)
		ON CONFLICT (endpoint_id, owner) DO UPDATE
			SET slots = excluded.slots, want = excluded.want, lease_until = excluded.lease_until
		RETURNING 1
	), del AS (
		DELETE FROM endpoint_slots
		WHERE endpoint_id = $1 AND ((owner <> $2 AND lease_until <= $3) OR (owner = $2 AND $4::int <= 0))
	)
	SELECT CASE WHEN EXISTS (SELECT 1 FROM up) THEN g.granted ELSE 0 END, g.waiting, g.others FROM g`

// LeaseSlots sets, for each request, how many of the endpoint's slots
// p.Owner holds until p.Until, in one transaction. The endpoints are taken
// in id order, each under a transaction-scoped advisory lock of its own
// (so that two owners' calls never deadlock), and each grant is exact
// under concurrency: min(Want, Limit - what other owners hold under
// unexpired leases), never below zero. Expired rows of the endpoint are
// deleted on the way. An endpoint that does not exist grants nothing.
func (s *Store) LeaseSlots(ctx context.Context, p *store.LeaseSlotsParams) (map[string]store.SlotGrant, error) {
	reqs := slices.Clone(p.Requests)
	slices.SortStableFunc(reqs, func(a, b store.SlotRequest) int { return cmp.Compare(a.EndpointID, b.EndpointID) })
	now, until := ms(p.Now), ms(p.Until)
	out := make(map[string]store.SlotGrant, len(reqs))
	if len(reqs) == 0 {
		if s.isClosed() {
			return nil, ErrClosed
		}
		return out, nil
	}
	err := s.tx(ctx, "lease slots", func(tx pgx.Tx) error {
		clear(out)
		b := &pgx.Batch{}
		for _, r := range reqs {
			b.Queue(`SELECT pg_advisory_xact_lock(hashtextextended('hookd-slots:' || $1, 0))`, r.EndpointID)
			b.Queue(`SELECT 1 FROM endpoint_slots WHERE endpoint_id = $1 FOR UPDATE`, r.EndpointID)
			b.Queue(sqlLeaseSlot, r.EndpointID, p.Owner, now, max(r.Want, 0), r.Limit, until)
		}
		br := tx.SendBatch(ctx, b)
		defer br.Close()
		for _, r := range reqs {
			if _, err := br.Exec(); err != nil {
				return dbErr("lease slots: lock", err)
			}
			if _, err := br.Exec(); err != nil {
				return dbErr("lease slots: lock", err)
			}
			var g store.SlotGrant
			if err := br.QueryRow().Scan(&g.Granted, &g.Waiting, &g.Others); err != nil {
				return dbErr("lease slots", err)
			}
			out[r.EndpointID] = g
		}
		if err := br.Close(); err != nil {
			return dbErr("lease slots", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
