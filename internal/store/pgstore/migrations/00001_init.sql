-- hookd's PostgreSQL schema: the same tables as SQLite's. Every table has a
-- "seq bigint generated always as identity" for ordering and list cursors.
-- Times are timestamptz (written at millisecond precision). Small maps and
-- lists are jsonb; the provider's own JSON (event data, schemas, examples)
-- is json, which keeps its exact bytes. Tables are created unqualified, in
-- the first schema of the connection's search_path.

-- +goose Up
CREATE TABLE apps (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text        NOT NULL UNIQUE,
    uid        text        UNIQUE,              -- NULL when the app has none
    name       text        NOT NULL,
    metadata   jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE event_types (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text        COLLATE "C" NOT NULL UNIQUE, -- byte order for lists, as in SQLite
    description text        NOT NULL DEFAULT '',
    schema      json,
    example     json,
    archived    boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE endpoints (
    seq                    bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                     text        NOT NULL UNIQUE,
    app_id                 text        NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    url                    text        NOT NULL,
    description            text        NOT NULL DEFAULT '',
    event_types            jsonb       NOT NULL DEFAULT '[]',
    disabled               boolean     NOT NULL DEFAULT false,
    headers                jsonb       NOT NULL DEFAULT '{}',
    metadata               jsonb       NOT NULL DEFAULT '{}',
    secret                 text        NOT NULL,
    prev_secret            text        NOT NULL DEFAULT '',
    prev_secret_expires_at timestamptz,
    created_at             timestamptz NOT NULL,
    updated_at             timestamptz NOT NULL
);
CREATE INDEX endpoints_app_seq ON endpoints (app_id, seq);
-- The claim visits enabled endpoints in seq order.
CREATE INDEX endpoints_enabled_seq ON endpoints (seq) WHERE NOT disabled;

CREATE TABLE events (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    app_id     text        NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    id         text        NOT NULL,
    type       text        NOT NULL,
    data       json        NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (app_id, id)
);
CREATE INDEX events_app_seq ON events (app_id, seq);
CREATE INDEX events_app_type_seq ON events (app_id, type, seq);

-- available_at is the one claim column: a pending delivery can be claimed
-- when available_at <= now. Unleased, it equals next_attempt_at; leased, it
-- is the lease's expiry and lease_owner is the dispatcher holding it.
CREATE TABLE deliveries (
    seq                  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id                   text        NOT NULL UNIQUE,
    app_id               text        NOT NULL,
    event_seq            bigint      NOT NULL REFERENCES events (seq) ON DELETE CASCADE,
    event_id             text        NOT NULL, -- the event's provider id (denormalised)
    event_type           text        NOT NULL, -- denormalised
    endpoint_id          text        NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    status               text        NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempt_count        integer     NOT NULL DEFAULT 0,
    scheduled_attempts   integer     NOT NULL DEFAULT 0,
    manual               boolean     NOT NULL DEFAULT false,
    next_attempt_at      timestamptz,
    available_at         timestamptz,
    lease_owner          text,
    last_attempt_at      timestamptz,
    last_response_status integer     NOT NULL DEFAULT 0,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL
);
CREATE INDEX deliveries_claim ON deliveries (endpoint_id, available_at) WHERE status = 'pending';
CREATE INDEX deliveries_lease ON deliveries (lease_owner, id) WHERE lease_owner IS NOT NULL;
CREATE INDEX deliveries_app_seq ON deliveries (app_id, seq);
CREATE INDEX deliveries_endpoint_seq ON deliveries (endpoint_id, seq);
CREATE INDEX deliveries_event ON deliveries (event_seq);

CREATE TABLE attempts (
    seq             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text        NOT NULL UNIQUE,
    delivery_id     text        NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    number          integer     NOT NULL,
    trigger_kind    text        NOT NULL,
    started_at      timestamptz NOT NULL,
    duration_ms     bigint      NOT NULL,
    response_status integer     NOT NULL,
    response_body   text        NOT NULL,
    error_kind      text        NOT NULL,
    error           text        NOT NULL
);
CREATE INDEX attempts_delivery_seq ON attempts (delivery_id, seq);

CREATE TABLE api_keys (
    seq        bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id         text        NOT NULL UNIQUE,
    name       text        NOT NULL,
    hash       bytea       NOT NULL UNIQUE,
    app_id     text        REFERENCES apps (id) ON DELETE CASCADE, -- NULL: admin key
    created_at timestamptz NOT NULL
);
CREATE INDEX api_keys_app ON api_keys (app_id);

-- An endpoint's concurrency slots held by each dispatcher (store.SlotLeaser).
CREATE TABLE endpoint_slots (
    endpoint_id text        NOT NULL REFERENCES endpoints (id) ON DELETE CASCADE,
    owner       text        NOT NULL,
    slots       integer     NOT NULL,
    want        integer     NOT NULL,
    lease_until timestamptz NOT NULL,
    PRIMARY KEY (endpoint_id, owner)
);
CREATE INDEX endpoint_slots_owner ON endpoint_slots (owner, endpoint_id);

-- +goose Down
DROP TABLE endpoint_slots;
DROP TABLE api_keys;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
DROP TABLE endpoints;
DROP TABLE event_types;
DROP TABLE apps;
