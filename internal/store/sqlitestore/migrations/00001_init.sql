-- hookd's SQLite schema. Every table has "seq INTEGER PRIMARY KEY" (the
-- rowid) for ordering and list cursors. Times are INTEGER unix milliseconds
-- (UTC); JSON-ish values are TEXT.

-- +goose Up
CREATE TABLE apps (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    uid        TEXT    UNIQUE,            -- NULL when the app has none
    name       TEXT    NOT NULL,
    metadata   TEXT    NOT NULL DEFAULT '{}',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE event_types (
    seq         INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL DEFAULT '',
    schema      TEXT,
    example     TEXT,
    archived    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

CREATE TABLE endpoints (
    seq                    INTEGER PRIMARY KEY,
    id                     TEXT    NOT NULL UNIQUE,
    app_id                 TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    url                    TEXT    NOT NULL,
    description            TEXT    NOT NULL DEFAULT '',
    event_types            TEXT    NOT NULL DEFAULT '[]',
    disabled               INTEGER NOT NULL DEFAULT 0,
    headers                TEXT    NOT NULL DEFAULT '{}',
    metadata               TEXT    NOT NULL DEFAULT '{}',
    secret                 TEXT    NOT NULL,
    prev_secret            TEXT    NOT NULL DEFAULT '',
    prev_secret_expires_at INTEGER,
    created_at             INTEGER NOT NULL,
    updated_at             INTEGER NOT NULL
);
CREATE INDEX endpoints_app_seq ON endpoints (app_id, seq);

CREATE TABLE events (
    seq        INTEGER PRIMARY KEY,
    app_id     TEXT    NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id         TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    data       TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (app_id, id)
);
CREATE INDEX events_app_seq ON events (app_id, seq);
CREATE INDEX events_app_type_seq ON events (app_id, type, seq);

-- available_at is the one claim column: a pending delivery can be claimed
-- when available_at <= now. Unleased, it equals next_attempt_at; leased, it
-- is the lease's expiry and lease_owner is the dispatcher holding it.
CREATE TABLE deliveries (
    seq                  INTEGER PRIMARY KEY,
    id                   TEXT    NOT NULL UNIQUE,
    app_id               TEXT    NOT NULL,
    event_seq            INTEGER NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    event_id             TEXT    NOT NULL, -- the event's provider id (denormalised)
    event_type           TEXT    NOT NULL, -- denormalised
    endpoint_id          TEXT    NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    status               TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count        INTEGER NOT NULL DEFAULT 0,
    scheduled_attempts   INTEGER NOT NULL DEFAULT 0,
    manual               INTEGER NOT NULL DEFAULT 0,
    next_attempt_at      INTEGER,
    available_at         INTEGER,
    lease_owner          TEXT,
    last_attempt_at      INTEGER,
    last_response_status INTEGER NOT NULL DEFAULT 0,
    created_at           INTEGER NOT NULL,
    updated_at           INTEGER NOT NULL
);
CREATE INDEX deliveries_claim ON deliveries (endpoint_id, available_at) WHERE status = 'pending';
CREATE INDEX deliveries_due ON deliveries (available_at) WHERE status = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_owner) WHERE lease_owner IS NOT NULL;
CREATE INDEX deliveries_app_seq ON deliveries (app_id, seq);
CREATE INDEX deliveries_endpoint_seq ON deliveries (endpoint_id, seq);
CREATE INDEX deliveries_event ON deliveries (event_seq);

CREATE TABLE attempts (
    seq             INTEGER PRIMARY KEY,
    id              TEXT    NOT NULL UNIQUE,
    delivery_id     TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number          INTEGER NOT NULL,
    trigger_kind    TEXT    NOT NULL,
    started_at      INTEGER NOT NULL,
    duration_ms     INTEGER NOT NULL,
    response_status INTEGER NOT NULL,
    response_body   TEXT    NOT NULL,
    error_kind      TEXT    NOT NULL,
    error           TEXT    NOT NULL
);
CREATE INDEX attempts_delivery_seq ON attempts (delivery_id, seq);

CREATE TABLE api_keys (
    seq        INTEGER PRIMARY KEY,
    id         TEXT    NOT NULL UNIQUE,
    name       TEXT    NOT NULL,
    hash       BLOB    NOT NULL UNIQUE,
    app_id     TEXT    REFERENCES apps (id) ON DELETE CASCADE, -- NULL: admin key
    created_at INTEGER NOT NULL
);
CREATE INDEX api_keys_app ON api_keys (app_id);

-- +goose Down
DROP TABLE api_keys;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE endpoints;
DROP TABLE event_types;
DROP TABLE apps;
