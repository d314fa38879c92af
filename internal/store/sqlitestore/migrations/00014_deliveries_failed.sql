-- An app's failed deliveries, newest first (issue 15): the dashboard's
-- "failed" list and the bulk retry read them from this partial index
-- instead of walking every delivery of the app. A delivery enters it only
-- when its retries are used up, so the usual write path pays nothing.

-- +goose Up
CREATE INDEX deliveries_app_failed ON deliveries (app_id, seq) WHERE status = 'failed';

-- +goose Down
DROP INDEX deliveries_app_failed;
