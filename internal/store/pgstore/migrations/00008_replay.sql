-- Test events, resend and replay-missing (issue 14, part 2). (00007 is
-- another change's.)

-- +goose Up
ALTER TABLE events ADD COLUMN test boolean NOT NULL DEFAULT false; -- sent by send-test-event
-- replay-missing reads an app's events by creation time.
CREATE INDEX events_app_created ON events (app_id, created_at);

-- +goose Down
DROP INDEX events_app_created;
ALTER TABLE events DROP COLUMN test;
