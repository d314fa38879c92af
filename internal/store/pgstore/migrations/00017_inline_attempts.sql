-- A first-try success in one write (issue 18). The attempt that succeeds
-- at once, the common case, is kept on its delivery's row instead of as a
-- row of attempts: the success update writes the delivery's new tuple
-- anyway (it is not HOT), so the attempt costs one more index entry
-- (deliveries_app_first, for the app's attempts list) instead of a heap
-- tuple, four index entries and a foreign-key lock on the delivery.
-- Failures and retries are attempt rows as before. first_attempt_seq is
-- the attempt's place in the attempts' order, taken from the attempts' own
-- sequence, so that an app's attempts, rows and inline ones, list in one
-- order.

-- +goose Up
ALTER TABLE deliveries
    ADD COLUMN first_attempt_id      text,
    ADD COLUMN first_attempt_seq     bigint,
    ADD COLUMN first_trigger         text,
    ADD COLUMN first_started_at      timestamptz,
    ADD COLUMN first_duration_ms     bigint,
    ADD COLUMN first_response_status integer,
    ADD COLUMN first_response_body   text;
CREATE INDEX deliveries_app_first ON deliveries (app_id, first_attempt_seq) WHERE first_attempt_seq IS NOT NULL;

-- +goose Down
-- The inline attempts become rows again, in their places, before their
-- columns go.
INSERT INTO attempts (seq, id, delivery_id, app_id, number, trigger_kind, started_at, duration_ms,
        response_status, response_body, error_kind, error)
    OVERRIDING SYSTEM VALUE
    SELECT first_attempt_seq, first_attempt_id, id, app_id, 1, first_trigger, first_started_at, first_duration_ms,
        first_response_status, first_response_body, '', ''
    FROM deliveries WHERE first_attempt_seq IS NOT NULL;
DROP INDEX deliveries_app_first;
ALTER TABLE deliveries
    DROP COLUMN first_attempt_id,
    DROP COLUMN first_attempt_seq,
    DROP COLUMN first_trigger,
    DROP COLUMN first_started_at,
    DROP COLUMN first_duration_ms,
    DROP COLUMN first_response_status,
    DROP COLUMN first_response_body;
