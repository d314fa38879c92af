-- Indexes keyed on integers, not on 30-byte text ids (issue 18). An index
-- entry keyed on an app or endpoint id ("app_01K...") is about 40 bytes,
-- so a 1 KiB leaf fills every few commits, and an index leaf that
-- overflows is rebalanced with its siblings (several pages rewritten; the
-- cheap right-edge split is for table B-trees only). Keyed on the app's or
-- endpoint's seq (1-3 bytes), the entries are about 4 times smaller and
-- the splits about 4 times rarer. events and deliveries keep their text
-- ids (and the foreign keys and cascades on them); app_seq and
-- endpoint_seq are the owning row's seq in apps and endpoints, written
-- with every row, and the lists read them through
-- "app_seq = (SELECT seq FROM apps WHERE id = ?)". A seq freed by a delete
-- can be used again only once the cascades have removed every row that
-- held it. The UNIQUE constraints and the claim indexes stay as they are.

-- +goose Up
ALTER TABLE events ADD COLUMN app_seq INTEGER;
ALTER TABLE deliveries ADD COLUMN app_seq INTEGER;
ALTER TABLE deliveries ADD COLUMN endpoint_seq INTEGER;
UPDATE events SET app_seq = (SELECT a.seq FROM apps a WHERE a.id = events.app_id);
UPDATE deliveries SET app_seq = (SELECT a.seq FROM apps a WHERE a.id = deliveries.app_id),
    endpoint_seq = (SELECT e.seq FROM endpoints e WHERE e.id = deliveries.endpoint_id);

DROP INDEX events_app_seq;
DROP INDEX events_app_type_seq;
DROP INDEX events_app_created;
DROP INDEX deliveries_app_seq;
DROP INDEX deliveries_endpoint_seq;
DROP INDEX deliveries_app_failed;
DROP INDEX deliveries_app_first;
CREATE INDEX events_app_seq ON events (app_seq, seq);
CREATE INDEX events_app_type_seq ON events (app_seq, type, seq);
CREATE INDEX events_app_created ON events (app_seq, created_at);
CREATE INDEX deliveries_app_seq ON deliveries (app_seq, seq);
CREATE INDEX deliveries_endpoint_seq ON deliveries (endpoint_seq, seq);
CREATE INDEX deliveries_app_failed ON deliveries (app_seq, seq) WHERE status = 'failed';
CREATE INDEX deliveries_app_first ON deliveries (app_seq, first_attempt_seq) WHERE first_attempt_seq IS NOT NULL;

-- +goose Down
-- The columns go too, so that Up can run again (an older hookd would not
-- write them).
DROP INDEX events_app_seq;
DROP INDEX events_app_type_seq;
DROP INDEX events_app_created;
DROP INDEX deliveries_app_seq;
DROP INDEX deliveries_endpoint_seq;
DROP INDEX deliveries_app_failed;
DROP INDEX deliveries_app_first;
CREATE INDEX events_app_seq ON events (app_id, seq);
CREATE INDEX events_app_type_seq ON events (app_id, type, seq);
CREATE INDEX events_app_created ON events (app_id, created_at);
CREATE INDEX deliveries_app_seq ON deliveries (app_id, seq);
CREATE INDEX deliveries_endpoint_seq ON deliveries (endpoint_id, seq);
CREATE INDEX deliveries_app_failed ON deliveries (app_id, seq) WHERE status = 'failed';
CREATE INDEX deliveries_app_first ON deliveries (app_id, first_attempt_seq) WHERE first_attempt_seq IS NOT NULL;
ALTER TABLE deliveries DROP COLUMN endpoint_seq;
ALTER TABLE deliveries DROP COLUMN app_seq;
ALTER TABLE events DROP COLUMN app_seq;
