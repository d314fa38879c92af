-- Consumer portal links (issue 16) are API keys of a kind: bound to an
-- app, short-lived, narrower than an app key, and possibly read-only.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN portal INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_keys ADD COLUMN read_only INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN read_only;
ALTER TABLE api_keys DROP COLUMN portal;
