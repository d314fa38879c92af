-- Fewer indexes per commit (issue 18, first cut). A SQLite commit rewrites
-- the right-edge leaf of every B-tree it touches, so each index costs a
-- page per commit, however few rows it gains. deliveries_lease goes: every
-- delivery entered it when leased and left it when done, yet only this
-- process writes the file, so the store remembers which deliveries it
-- leased and renews and releases them by id (sqlitestore/leases.go).
-- Taking back every lease at start reads the pending deliveries from
-- deliveries_pending_seq. The other indexes each serve a list that no other
-- index can (see plan_test.go).

-- +goose Up
DROP INDEX deliveries_lease;

-- +goose Down
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
