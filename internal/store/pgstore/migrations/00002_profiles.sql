-- Provider profiles: how an app's deliveries look and are signed, endpoint
-- uids, payload filters, and the event fields profiles render (issue 4).
-- The same columns as SQLite's 00002_profiles.sql. An app's signature
-- scheme is jsonb (hookd's own small JSON); an event's previous attributes
-- are the provider's JSON, json as its data is.

-- +goose Up
ALTER TABLE apps ADD COLUMN profile     text    NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN envelope    text    NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN api_version text    NOT NULL DEFAULT '';
ALTER TABLE apps ADD COLUMN livemode    boolean NOT NULL DEFAULT true;
ALTER TABLE apps ADD COLUMN signature   jsonb; -- hook.SignatureScheme; NULL is Standard Webhooks

ALTER TABLE endpoints ADD COLUMN uid      text; -- NULL when the endpoint has none
ALTER TABLE endpoints ADD COLUMN profile  text NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN envelope text NOT NULL DEFAULT '';
ALTER TABLE endpoints ADD COLUMN filter   text NOT NULL DEFAULT '';
CREATE UNIQUE INDEX endpoints_app_uid ON endpoints (app_id, uid) WHERE uid IS NOT NULL;

ALTER TABLE events ADD COLUMN previous_attributes json; -- NULL when not given
ALTER TABLE events ADD COLUMN livemode            boolean NOT NULL DEFAULT true;
ALTER TABLE events ADD COLUMN request_id          text    NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN api_version         text    NOT NULL DEFAULT '';

ALTER TABLE deliveries ADD COLUMN livemode boolean NOT NULL DEFAULT true; -- the event's

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
