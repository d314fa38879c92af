-- Fewer indexes on the hot path (issue 6). Every delivery is inserted into,
-- and on completion removed from, each partial index on pending
-- deliveries; deliveries_due served only COUNT of pending deliveries, which
-- deliveries_claim (the same rows) covers as well.

-- +goose Up
DROP INDEX deliveries_due;

-- +goose Down
CREATE INDEX deliveries_due ON deliveries (available_at) WHERE status = 'pending';
