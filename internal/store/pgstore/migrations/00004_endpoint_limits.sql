-- Per-endpoint concurrency, rate limit and ordering (issue 5).

-- +goose Up
ALTER TABLE endpoints ADD COLUMN max_concurrency integer NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN rate_limit double precision NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN ordering text NOT NULL DEFAULT '';
-- A FIFO endpoint's oldest pending delivery, without scanning its history.
CREATE INDEX deliveries_pending_seq ON deliveries (endpoint_id, seq) WHERE status = 'pending';

-- +goose Down
DROP INDEX deliveries_pending_seq;
ALTER TABLE endpoints DROP COLUMN ordering;
ALTER TABLE endpoints DROP COLUMN rate_limit;
ALTER TABLE endpoints DROP COLUMN max_concurrency;
