-- +goose Up
-- The same diet as on Postgres, so both dialects have one set of queries.
-- Index diet (issue 12): every index is written on every login that touches
-- its table, so an index no query reads is pure cost. Each one below was
-- checked against every query that could read it (EXPLAIN on a seeded Postgres table;
-- the plans are asserted in models/index_plans_test.go); the unique indexes
-- that enforce a guarantee (users openid, identities (app, openid),
-- code_exchanges code_hash and pending-state) and the foreign-key indexes
-- that make merges and ON DELETE fast all stay. code_exchanges.created_at
-- stays too: the retention purge, the login log's date filter and the
-- dashboard's 24-hour counts and charts range on it (a day out of 90 kept).
--
-- users.created_at / users.last_login_at: no query can use them. The admin
-- list sorts with "NULLs last" (a CASE before the column), which no plain
-- index serves, and the dashboard counts every user anyway (one pass now
-- counts today's and this week's too). last_login_at being indexed also made
-- every returning login's UPDATE a non-HOT one (a new entry in every index).
DROP INDEX IF EXISTS users_created_at_idx;
DROP INDEX IF EXISTS users_last_login_at_idx;

-- The pending lease index: the only reader (housekeeping's abandon of stale
-- pending rows) is served by the pending-state unique index, which holds
-- exactly the few pending rows.
DROP INDEX IF EXISTS code_exchanges_pending_idx;

-- A claim is inserted without a user: leave those out of the user index (one
-- index write less per login). (user_id, id) serves a user's login log,
-- newest first, and the merge's and ON DELETE SET NULL's lookups.
DROP INDEX IF EXISTS code_exchanges_user_id_idx;
CREATE INDEX code_exchanges_user_id_idx ON code_exchanges (user_id, id) WHERE user_id IS NOT NULL;

-- sessions.expires_at: housekeeping's purge is an OR with unindexed
-- last_seen_at (a sequential scan whatever this index), and the per-user
-- reads go through sessions_user_id_idx. Without it a session's touch that
-- moves expires_at can be a HOT update.
DROP INDEX IF EXISTS sessions_expires_at_idx;

-- +goose Down
CREATE INDEX IF NOT EXISTS sessions_expires_at_idx ON sessions (expires_at);
DROP INDEX IF EXISTS code_exchanges_user_id_idx;
CREATE INDEX code_exchanges_user_id_idx ON code_exchanges (user_id, created_at);
CREATE INDEX IF NOT EXISTS code_exchanges_pending_idx ON code_exchanges (lease_until) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS users_last_login_at_idx ON users (last_login_at);
CREATE INDEX IF NOT EXISTS users_created_at_idx ON users (created_at);
