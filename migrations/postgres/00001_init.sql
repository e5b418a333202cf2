-- +goose Up
CREATE TABLE users (
    id                       BIGSERIAL PRIMARY KEY,
    openid                   TEXT        NOT NULL,
    unionid                  TEXT,
    nickname                 TEXT        NOT NULL DEFAULT '',
    sex                      SMALLINT    NOT NULL DEFAULT 0,
    province                 TEXT        NOT NULL DEFAULT '',
    city                     TEXT        NOT NULL DEFAULT '',
    country                  TEXT        NOT NULL DEFAULT '',
    avatar_url               TEXT        NOT NULL DEFAULT '',
    privilege                TEXT        NOT NULL DEFAULT '[]',
    language                 TEXT        NOT NULL DEFAULT '',
    scope                    TEXT        NOT NULL DEFAULT '',
    access_token_enc         BYTEA,
    access_token_expires_at  TIMESTAMPTZ,
    refresh_token_enc        BYTEA,
    refresh_token_expires_at TIMESTAMPTZ,
    disabled                 BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at               TIMESTAMPTZ NOT NULL,
    updated_at               TIMESTAMPTZ NOT NULL,
    last_login_at            TIMESTAMPTZ,
    login_count              INTEGER     NOT NULL DEFAULT 0,
    CONSTRAINT users_openid_key UNIQUE (openid)
);
CREATE INDEX users_unionid_idx ON users (unionid) WHERE unionid IS NOT NULL;
CREATE INDEX users_created_at_idx ON users (created_at);
CREATE INDEX users_last_login_at_idx ON users (last_login_at);

CREATE TABLE admins (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT        NOT NULL,
    password_hash TEXT        NOT NULL,
    disabled      BOOLEAN     NOT NULL DEFAULT FALSE,
    created_at    TIMESTAMPTZ NOT NULL,
    last_login_at TIMESTAMPTZ,
    CONSTRAINT admins_username_key UNIQUE (username)
);

-- One row per authorization code: the exactly-once gate and the audit trail.
-- The code itself is never stored, only its SHA-256.
CREATE TABLE code_exchanges (
    id           BIGSERIAL PRIMARY KEY,
    code_hash    TEXT        NOT NULL,
    state_hash   TEXT        NOT NULL,
    browser_hash TEXT        NOT NULL,
    next_path    TEXT        NOT NULL DEFAULT '/profile',
    scope        TEXT        NOT NULL DEFAULT '',
    status       TEXT        NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    owner        TEXT        NOT NULL,
    lease_until  TIMESTAMPTZ NOT NULL,
    attempts     INTEGER     NOT NULL DEFAULT 1,
    takeovers    INTEGER     NOT NULL DEFAULT 0,
    duplicates   INTEGER     NOT NULL DEFAULT 0,
    user_id      BIGINT      REFERENCES users (id) ON DELETE SET NULL,
    openid       TEXT,
    errcode      INTEGER,
    error_kind   TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL,
    finished_at  TIMESTAMPTZ,
    CONSTRAINT code_exchanges_code_hash_key UNIQUE (code_hash)
);
-- At most one live exchange per state: the second code of an Android double
-- callback (variant B) joins the first instead of being exchanged too.
CREATE UNIQUE INDEX code_exchanges_live_state_idx ON code_exchanges (state_hash) WHERE status <> 'failed';
CREATE INDEX code_exchanges_state_hash_idx ON code_exchanges (state_hash);
CREATE INDEX code_exchanges_created_at_idx ON code_exchanges (created_at);
CREATE INDEX code_exchanges_user_id_idx ON code_exchanges (user_id, created_at);
CREATE INDEX code_exchanges_pending_idx ON code_exchanges (lease_until) WHERE status = 'pending';

-- Server-side sessions; the cookie carries only a signed random id, stored here hashed.
CREATE TABLE sessions (
    id_hash      TEXT        PRIMARY KEY,
    kind         TEXT        NOT NULL CHECK (kind IN ('user', 'admin')),
    user_id      BIGINT      REFERENCES users (id) ON DELETE CASCADE,
    admin_id     BIGINT      REFERENCES admins (id) ON DELETE CASCADE,
    data         BYTEA       NOT NULL,
    ip           TEXT        NOT NULL DEFAULT '',
    user_agent   TEXT        NOT NULL DEFAULT '',
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX sessions_admin_id_idx ON sessions (admin_id) WHERE admin_id IS NOT NULL;
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

-- Failed admin logins, per account and per client address, for lockout.
CREATE TABLE login_throttle (
    key          TEXT        PRIMARY KEY,
    failures     INTEGER     NOT NULL DEFAULT 0,
    window_start TIMESTAMPTZ NOT NULL,
    locked_until TIMESTAMPTZ
);

CREATE TABLE audit_log (
    id         BIGSERIAL PRIMARY KEY,
    admin_id   BIGINT REFERENCES admins (id) ON DELETE SET NULL,
    admin_name TEXT        NOT NULL DEFAULT '',
    action     TEXT        NOT NULL,
    target     TEXT        NOT NULL DEFAULT '',
    detail     TEXT        NOT NULL DEFAULT '',
    ip         TEXT        NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX audit_log_created_at_idx ON audit_log (created_at);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE login_throttle;
DROP TABLE sessions;
DROP TABLE code_exchanges;
DROP TABLE admins;
DROP TABLE users;
