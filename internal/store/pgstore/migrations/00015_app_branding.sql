-- An app's branding for its consumer portal (issue 16): a JSON object
-- {display_name, logo_url, accent_color}, NULL when the app has none.

-- +goose Up
ALTER TABLE apps ADD COLUMN branding jsonb;

-- +goose Down
ALTER TABLE apps DROP COLUMN branding;
