-- Delivery statistics (issue 15): one row per (endpoint, minute) and one
-- per (minute, app),
-- written with the attempts; see store.StatsParams. The minute is the
-- attempt's start truncated to the minute, Unix ms. latency is a
-- store.LatencyHistogram (uvarint counts). last_* is the minute's last
-- attempt, from which failing endpoints are found.

-- +goose Up
CREATE TABLE delivery_rollups (
    app_id          TEXT    NOT NULL,
    endpoint_id     TEXT    NOT NULL,
    minute          INTEGER NOT NULL,
    succeeded       INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL,
    exhausted       INTEGER NOT NULL,
    latency         BLOB    NOT NULL,
    last_at         INTEGER NOT NULL,
    last_ok         INTEGER NOT NULL,
    last_status     INTEGER NOT NULL,
    last_error_kind TEXT    NOT NULL,
    last_error      TEXT    NOT NULL,
    PRIMARY KEY (endpoint_id, minute)
) WITHOUT ROWID;
CREATE INDEX delivery_rollups_minute ON delivery_rollups (minute); -- retention

-- The same per (minute, app), without the last attempt: what an app's and
-- every app's stats read, so that their cost grows with apps, not
-- endpoints.
CREATE TABLE app_rollups (
    minute          INTEGER NOT NULL,
    app_id          TEXT    NOT NULL,
    succeeded       INTEGER NOT NULL,
    failed_attempts INTEGER NOT NULL,
    exhausted       INTEGER NOT NULL,
    latency         BLOB    NOT NULL,
    PRIMARY KEY (minute, app_id)
) WITHOUT ROWID;
CREATE INDEX app_rollups_app_minute ON app_rollups (app_id, minute);

-- +goose Down
DROP TABLE app_rollups;
DROP TABLE delivery_rollups;
