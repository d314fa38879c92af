-- Consumer portal links (issue 16) are API keys of a kind: bound to an
-- app, short-lived, narrower than an app key, and possibly read-only.

-- +goose Up
ALTER TABLE api_keys ADD COLUMN portal boolean NOT NULL DEFAULT false;
ALTER TABLE api_keys ADD COLUMN read_only boolean NOT NULL DEFAULT false;

-- +goose Down
ALTER TABLE api_keys DROP COLUMN read_only;
ALTER TABLE api_keys DROP COLUMN portal;
