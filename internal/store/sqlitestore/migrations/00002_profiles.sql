-- Provider profiles: how an app's deliveries look and are signed, endpoint
-- uids, payload filters, and the event fields profiles render (issue 4).

-- +goose Up
ALTER TABLE apps ADD COLUMN profile TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN envelope TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN api_version TEXT NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN livemode INTEGER NOT NULL DEFAULT 1;
ALTER TABLE apps ADD COLUMN signature TEXT; -- JSON; NULL is Standard Webhooks

ALTER TABLE endpoints ADD COLUMN uid TEXT; -- NULL when the endpoint has none
ALTER TABLE endpoints ADD COLUMN profile TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN envelope TEXT NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN filter TEXT NOT NULL DEFAULT '';
CREATE UNIQUE INDEX endpoints_app_uid ON endpoints (app_id, uid) WHERE uid IS NOT NULL;

ALTER TABLE events ADD COLUMN previous_attributes TEXT; -- NULL when not given
ALTER TABLE events ADD COLUMN livemode INTEGER NOT NULL DEFAULT 1;
ALTER TABLE events ADD COLUMN request_id TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN api_version TEXT NOT NULL DEFAULT '';

ALTER TABLE deliveries ADD COLUMN livemode INTEGER NOT NULL DEFAULT 1; -- the event's

-- +goose Down
ALTER TABLE deliveries DROP COLUMN livemode;
ALTER TABLE events DROP COLUMN api_version;
ALTER TABLE events DROP COLUMN request_id;
ALTER TABLE events DROP COLUMN livemode;
ALTER TABLE events DROP COLUMN previous_attributes;
DROP INDEX endpoints_app_uid;
ALTER TABLE endpoints DROP COLUMN filter;
ALTER TABLE endpoints DROP COLUMN envelope;
ALTER TABLE endpoints DROP COLUMN profile;
ALTER TABLE endpoints DROP COLUMN uid;
ALTER TABLE apps DROP COLUMN signature;
ALTER TABLE apps DROP COLUMN livemode;
ALTER TABLE apps DROP COLUMN api_version;
ALTER TABLE apps DROP COLUMN envelope;
ALTER TABLE apps DROP COLUMN profile;
