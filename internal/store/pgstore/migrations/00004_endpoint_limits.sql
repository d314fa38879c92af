-- Per-endpoint concurrency, rate limit and ordering (issue 5).

-- +goose Up
ALTER TABLE endpoints ADD COLUMN max_concurrency integer NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN rate_limit double precision NOT NULL DEFAULT 0;
ALTER TABLE endpoints ADD COLUMN ordering text NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE endpoints DROP COLUMN ordering;
ALTER TABLE endpoints DROP COLUMN rate_limit;
ALTER TABLE endpoints DROP COLUMN max_concurrency;
