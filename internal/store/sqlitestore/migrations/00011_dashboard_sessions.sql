-- The dashboard's sign-in sessions (issue 15): the SHA-256 of the cookie's
-- token, the API key the session acts as (deleted with it), and when it ends.

-- +goose Up
CREATE TABLE dashboard_sessions (
    hash       BLOB    PRIMARY KEY,
    key_id     TEXT    NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL, -- unix ms
    expires_at INTEGER NOT NULL  -- unix ms
) WITHOUT ROWID;
CREATE INDEX dashboard_sessions_key ON dashboard_sessions (key_id);
CREATE INDEX dashboard_sessions_expiry ON dashboard_sessions (expires_at);

-- +goose Down
DROP TABLE dashboard_sessions;
