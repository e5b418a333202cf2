-- +goose Up
-- See the Postgres migration of the same number for the model. SQLite cannot
-- ALTER a column's NOT NULL or a CHECK constraint; its documented procedure
-- for removing or loosening such constraints (which change no stored data)
-- edits the table's schema text in place (writable_schema = RESET then
-- reloads the schema on this connection). Rebuilding users instead would
-- cascade-delete every session, and would drop columns other migrations add.
CREATE TABLE identities (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id         INTEGER     NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app             TEXT        NOT NULL CHECK (app IN ('oa', 'mini')),
    appid           TEXT        NOT NULL DEFAULT '',
    openid          TEXT        NOT NULL,
    unionid         TEXT,
    linked_by       TEXT        NOT NULL CHECK (linked_by IN ('first', 'unionid', 'migrated')),
    session_key_enc BLOB,
    created_at      DATETIME    NOT NULL,
    last_login_at   DATETIME,
    login_count     INTEGER     NOT NULL DEFAULT 0,
    CONSTRAINT identities_app_openid_key UNIQUE (app, openid)
);
CREATE INDEX identities_user_id_idx ON identities (user_id);
CREATE INDEX identities_unionid_idx ON identities (unionid) WHERE unionid IS NOT NULL;

INSERT INTO identities (user_id, app, openid, unionid, linked_by, created_at, last_login_at, login_count)
SELECT id, 'oa', openid, unionid, 'migrated', created_at, last_login_at, login_count FROM users;

PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'openid                   TEXT        NOT NULL,', 'openid                   TEXT,')
 WHERE type = 'table' AND name = 'users';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (kind IN (''user'', ''admin''))', 'CHECK (kind IN (''user'', ''admin'', ''miniprogram''))')
 WHERE type = 'table' AND name = 'sessions';
PRAGMA writable_schema = RESET;

-- +goose Down
DELETE FROM sessions WHERE kind = 'miniprogram';
DELETE FROM users WHERE openid IS NULL;
PRAGMA writable_schema = ON;
UPDATE sqlite_schema SET sql = replace(sql, 'openid                   TEXT,', 'openid                   TEXT        NOT NULL,')
 WHERE type = 'table' AND name = 'users';
UPDATE sqlite_schema SET sql = replace(sql, 'CHECK (kind IN (''user'', ''admin'', ''miniprogram''))', 'CHECK (kind IN (''user'', ''admin''))')
 WHERE type = 'table' AND name = 'sessions';
PRAGMA writable_schema = RESET;
DROP TABLE identities;
