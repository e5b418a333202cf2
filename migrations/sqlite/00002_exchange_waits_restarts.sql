-- +goose Up
-- waits: duplicates that found the exchange still in progress and waited for it.
-- restarted: WeChat rejected this code and the login was restarted with a new one.
ALTER TABLE code_exchanges ADD COLUMN waits INTEGER NOT NULL DEFAULT 0;
ALTER TABLE code_exchanges ADD COLUMN restarted BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE code_exchanges DROP COLUMN restarted;
ALTER TABLE code_exchanges DROP COLUMN waits;
