-- +goose Up
-- Messages and events WeChat pushes to /wechat/notify (wechat-api.md §9).
-- dedupe_key is the SHA-256 of "m:" MsgId, or of "e:" FromUserName, CreateTime,
-- Event and EventKey: its UNIQUE constraint makes every retry of a push (to
-- any instance, during or after the first delivery) a no-op that only
-- counts itself in deliveries.
CREATE TABLE pushes (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    dedupe_key       TEXT        NOT NULL,
    openid           TEXT        NOT NULL,
    to_user          TEXT        NOT NULL DEFAULT '',
    msg_type         TEXT        NOT NULL,
    event            TEXT        NOT NULL DEFAULT '',
    event_key        TEXT        NOT NULL DEFAULT '',
    menu_id          TEXT        NOT NULL DEFAULT '',
    msg_id           TEXT        NOT NULL DEFAULT '',
    content          TEXT        NOT NULL DEFAULT '',
    mode             TEXT        NOT NULL DEFAULT '',
    instance         TEXT        NOT NULL DEFAULT '',
    create_time      DATETIME NOT NULL,
    received_at      DATETIME NOT NULL,
    deliveries       INTEGER     NOT NULL DEFAULT 1,
    last_delivery_at DATETIME NOT NULL,
    CONSTRAINT pushes_dedupe_key_key UNIQUE (dedupe_key)
);
CREATE INDEX pushes_received_at_idx ON pushes (received_at);
CREATE INDEX pushes_openid_idx ON pushes (openid, create_time);
CREATE INDEX pushes_event_idx ON pushes (event, create_time);

-- The (timestamp, nonce) of every verified delivery for a few minutes, with
-- the SHA-256 of its body: a plaintext push's signature covers only Token,
-- timestamp and nonce, so a captured delivery replayed with a changed body
-- would verify; here it finds its nonce bound to another body and is refused.
CREATE TABLE push_nonces (
    nonce_key  TEXT        PRIMARY KEY,
    body_hash  TEXT        NOT NULL,
    created_at DATETIME NOT NULL
);
CREATE INDEX push_nonces_created_at_idx ON push_nonces (created_at);

-- One row: when WeChat last verified the server configuration (GET check).
CREATE TABLE push_checks (
    id            INTEGER     PRIMARY KEY CHECK (id = 1),
    last_check_at DATETIME NOT NULL
);

-- Follow status, kept by subscribe/unsubscribe; NULL: never heard of. The
-- newest event by CreateTime wins (follow_changed_at), whatever order the
-- pushes arrive in.
ALTER TABLE users ADD COLUMN followed BOOLEAN;
ALTER TABLE users ADD COLUMN follow_changed_at DATETIME;
ALTER TABLE users ADD COLUMN followed_at DATETIME;
CREATE INDEX users_followed_idx ON users (followed) WHERE followed;

-- +goose Down
DROP INDEX IF EXISTS users_followed_idx;
ALTER TABLE users DROP COLUMN followed_at;
ALTER TABLE users DROP COLUMN follow_changed_at;
ALTER TABLE users DROP COLUMN followed;
DROP TABLE push_checks;
DROP TABLE push_nonces;
DROP TABLE pushes;
