-- Endpoint custom header values sealed at rest (issue 12): headers_sealed
-- says whether a row's values are sealed ("enc:v1:..."), so that a
-- plaintext value from before, whatever it looks like, is never taken for
-- a sealed one. Existing rows are plaintext (false) until hookd's start-up
-- pass seals them.

-- +goose Up
ALTER TABLE endpoints ADD COLUMN headers_sealed boolean NOT NULL DEFAULT false;

-- +goose Down
-- An older hookd would send sealed values as they are stored: going down
-- is only safe for a database whose endpoints carry no custom headers.
ALTER TABLE endpoints DROP COLUMN headers_sealed;
