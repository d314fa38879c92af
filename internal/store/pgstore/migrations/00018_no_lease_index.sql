-- No index on the lease owner (issue 18). Every delivery entered
-- deliveries_lease when leased (at insert on the publish fast path, or at
-- claim) and left it when its attempt was recorded: about 130 B of WAL per
-- delivery, and the index's upkeep. It served only the operations on all
-- of an owner's leases (renew, release at stop). Each store now remembers
-- the deliveries it leased and renews and releases them by id
-- (pgstore/leases.go); expired leases of other nodes are claimed through
-- deliveries_claim, as before. A process running before this migration
-- holds leases the new one does not know: they run out and are claimed
-- again, as after a crash.

-- +goose Up
DROP INDEX deliveries_lease;

-- +goose Down
CREATE INDEX deliveries_lease ON deliveries (lease_owner, id) WHERE lease_owner IS NOT NULL;
