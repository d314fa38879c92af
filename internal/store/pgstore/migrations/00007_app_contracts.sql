-- An app's catalog setting and its default secret overlap on rotation
-- (issue 14); reflow apps without an api_version get the one Reflow's
-- reference uses. (Other numbers are other changes'.)

-- +goose Up
ALTER TABLE apps ADD COLUMN catalog text NOT NULL DEFAULT ''; -- '' (the deployment's), open or strict
ALTER TABLE apps ADD COLUMN secret_overlap_seconds integer NOT NULL DEFAULT 86400;
UPDATE apps SET api_version = '2023-01-30' WHERE profile = 'reflow' AND api_version = '';

-- +goose Down
ALTER TABLE apps DROP COLUMN secret_overlap_seconds;
ALTER TABLE apps DROP COLUMN catalog;
