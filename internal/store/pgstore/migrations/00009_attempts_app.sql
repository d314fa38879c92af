-- The attempts list across an app's deliveries (issue 14): each attempt
-- keeps its delivery's app, so that an app's attempts are read newest
-- first from an index instead of scanning everyone's.

-- +goose Up
ALTER TABLE attempts ADD COLUMN app_id text NOT NULL DEFAULT '';
UPDATE attempts a SET app_id = d.app_id FROM deliveries d WHERE d.id = a.delivery_id;
CREATE INDEX attempts_app_seq ON attempts (app_id, seq);

-- +goose Down
DROP INDEX attempts_app_seq;
ALTER TABLE attempts DROP COLUMN app_id;
