-- Retention: events whose payload was expunged on request (issue 5).

-- +goose Up
ALTER TABLE events ADD COLUMN expunged_at INTEGER;

-- +goose Down
ALTER TABLE events DROP COLUMN expunged_at;
