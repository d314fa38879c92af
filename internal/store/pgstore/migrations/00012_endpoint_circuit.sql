-- An endpoint's circuit state (issue 15): when the circuit breaker that
-- opened it lets attempts through again; NULL while closed. Written by the
-- dispatcher when a circuit opens or closes, so that every node's API can
-- say which endpoints are circuit-open.

-- +goose Up
ALTER TABLE endpoints ADD COLUMN circuit_open_until timestamptz;

-- +goose Down
ALTER TABLE endpoints DROP COLUMN circuit_open_until;
