-- Delivery statistics (issue 15): one row per (endpoint, minute) and one
-- per (minute, app),
-- written with the attempts; see store.StatsParams. minute is the
-- attempt's start truncated to the minute. latency is a
-- store.LatencyHistogram (bucket counts, trailing empty ones left out),
-- added up by hookd_latency_add. last_* is the minute's last attempt, from
-- which failing endpoints are found.

-- +goose Up
CREATE TABLE delivery_rollups (
    app_id          text        NOT NULL,
    endpoint_id     text        NOT NULL,
    minute          timestamptz NOT NULL,
    succeeded       bigint      NOT NULL,
    failed_attempts bigint      NOT NULL,
    exhausted       bigint      NOT NULL,
    latency         bigint[]    NOT NULL,
    last_at         timestamptz NOT NULL,
    last_ok         boolean     NOT NULL,
    last_status     integer     NOT NULL,
    last_error_kind text        NOT NULL,
    last_error      text        NOT NULL,
    PRIMARY KEY (endpoint_id, minute)
);
CREATE INDEX delivery_rollups_minute ON delivery_rollups (minute); -- retention

-- The same per (minute, app), without the last attempt: what an app's and
-- every app's stats read, so that their cost grows with apps, not
-- endpoints.
CREATE TABLE app_rollups (
    minute          timestamptz NOT NULL,
    app_id          text        NOT NULL,
    succeeded       bigint      NOT NULL,
    failed_attempts bigint      NOT NULL,
    exhausted       bigint      NOT NULL,
    latency         bigint[]    NOT NULL,
    PRIMARY KEY (minute, app_id)
);
CREATE INDEX app_rollups_app_minute ON app_rollups (app_id, minute);

-- +goose StatementBegin
CREATE FUNCTION hookd_latency_add(a bigint[], b bigint[]) RETURNS bigint[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY n), '{}')
    FROM unnest(a, b) WITH ORDINALITY AS t (x, y, n)
$$;
-- +goose StatementEnd

-- +goose Down
DROP TABLE app_rollups;
DROP TABLE delivery_rollups;
DROP FUNCTION hookd_latency_add(bigint[], bigint[]);
