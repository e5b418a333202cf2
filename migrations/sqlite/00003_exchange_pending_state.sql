-- +goose Up
-- A state no longer shares one live exchange between its codes: every code is
-- exchanged on its own (a second code of an Android "variant B" callback is
-- verified by WeChat instead of inheriting the first code's login, which let a
-- planted pre-login cookie log in with a made-up code). What stays unique per
-- state is the code in flight: one pending exchange per state at a time, so
-- the codes of one state are tried one after another, never side by side.
DROP INDEX IF EXISTS code_exchanges_live_state_idx;
CREATE UNIQUE INDEX code_exchanges_pending_state_idx ON code_exchanges (state_hash) WHERE status = 'pending';

-- +goose Down
DROP INDEX IF EXISTS code_exchanges_pending_state_idx;
CREATE UNIQUE INDEX code_exchanges_live_state_idx ON code_exchanges (state_hash) WHERE status <> 'failed';
