-- A first-try success in one write (issue 18). The attempt that succeeds
-- at once, the common case, is kept on its delivery's row instead of as a
-- row of attempts: one B-tree entry (deliveries_app_first, for the app's
-- attempts list) instead of four (the attempts row, its unique id,
-- attempts_delivery_seq, attempts_app_seq). Failures and retries are
-- attempt rows as before. first_attempt_seq is the attempt's place in the
-- attempts' order: taken from the same sequence as attempts.seq (the
-- store's writer counts it; see sqlitestore/seq.go), so that an app's
-- attempts, rows and inline ones, list in one order.

-- +goose Up
ALTER TABLE deliveries ADD COLUMN first_attempt_id TEXT;
ALTER TABLE deliveries ADD COLUMN first_attempt_seq INTEGER;
ALTER TABLE deliveries ADD COLUMN first_trigger TEXT;
ALTER TABLE deliveries ADD COLUMN first_started_at INTEGER;
ALTER TABLE deliveries ADD COLUMN first_duration_ms INTEGER;
ALTER TABLE deliveries ADD COLUMN first_response_status INTEGER;
ALTER TABLE deliveries ADD COLUMN first_response_body TEXT;
CREATE INDEX deliveries_app_first ON deliveries (app_id, first_attempt_seq) WHERE first_attempt_seq IS NOT NULL;

-- +goose Down
-- The inline attempts become rows again, in their places, before their
-- columns go.
INSERT INTO attempts (seq, id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
        response_status, response_body, error_kind, error)
    SELECT first_attempt_seq, first_attempt_id, id, app_id, 1, first_trigger, first_started_at, first_duration_ms,
        first_response_status, first_response_body, '', ''
    FROM deliveries WHERE first_attempt_seq IS NOT NULL;
DROP INDEX deliveries_app_first;
ALTER TABLE deliveries DROP COLUMN first_response_body;
ALTER TABLE deliveries DROP COLUMN first_response_status;
ALTER TABLE deliveries DROP COLUMN first_duration_ms;
ALTER TABLE deliveries DROP COLUMN first_started_at;
ALTER TABLE deliveries DROP COLUMN first_trigger;
ALTER TABLE deliveries DROP COLUMN first_attempt_seq;
ALTER TABLE deliveries DROP COLUMN first_attempt_id;
