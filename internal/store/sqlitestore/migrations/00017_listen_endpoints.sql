-- `hookd listen` (issue 17): an endpoint's kind, 'http' (POSTed to its
-- url) or 'listen' (a temporary endpoint whose deliveries go down a CLI's
-- stream), and, for listen endpoints, when the node holding the stream
-- last said it still does (ms since the epoch): the reaper deletes those
-- not seen for the grace period.

-- +goose Up
ALTER TABLE endpoints ADD COLUMN kind TEXT NOT NULL DEFAULT 'http' CHECK (kind IN ('http', 'listen'));
ALTER TABLE endpoints ADD COLUMN listen_seen_at INTEGER;
CREATE INDEX endpoints_listen_seen ON endpoints (listen_seen_at) WHERE kind = 'listen';

-- +goose Down
DROP INDEX endpoints_listen_seen;
ALTER TABLE endpoints DROP COLUMN listen_seen_at;
ALTER TABLE endpoints DROP COLUMN kind;
