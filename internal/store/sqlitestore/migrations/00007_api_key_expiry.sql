-- An API key may expire (issue 12, item 10d). (00006 is another change's.)

-- +goose Up
ALTER TABLE api_keys ADD COLUMN expires_at INTEGER; -- unix ms; NULL: never

-- +goose Down
ALTER TABLE api_keys DROP COLUMN expires_at;
