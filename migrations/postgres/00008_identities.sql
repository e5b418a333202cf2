-- +goose Up
-- Users are people, identities are per app (DESIGN.md): an Official Account
-- openid and a mini program openid are two identities of one user when WeChat
-- gives them the same unionid; without a unionid they stay separate users.
-- users.openid stays the person's Official Account openid (NULL for a person
-- known only from the mini program), so the web login's upsert by openid and
-- anything else that finds a follower by openid keep working.
CREATE TABLE identities (
    id              BIGSERIAL PRIMARY KEY,
    user_id         BIGINT      NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    app             TEXT        NOT NULL CHECK (app IN ('oa', 'mini')),
    appid           TEXT        NOT NULL DEFAULT '',
    openid          TEXT        NOT NULL,
    unionid         TEXT,
    -- How this identity came to belong to its user: 'first' (it made the
    -- user), 'unionid' (it joined a user who had another identity with its
    -- unionid), 'migrated' (it was users.openid before identities existed).
    linked_by       TEXT        NOT NULL CHECK (linked_by IN ('first', 'unionid', 'migrated')),
    -- The mini program's session_key, sealed with TOKEN_KEY; never shown.
    session_key_enc BYTEA,
    created_at      TIMESTAMPTZ NOT NULL,
    last_login_at   TIMESTAMPTZ,
    login_count     INTEGER     NOT NULL DEFAULT 0,
    CONSTRAINT identities_app_openid_key UNIQUE (app, openid)
);
CREATE INDEX identities_user_id_idx ON identities (user_id);
CREATE INDEX identities_unionid_idx ON identities (unionid) WHERE unionid IS NOT NULL;

-- Every existing user keeps its id (and so its sessions and exchanges); its
-- openid becomes its Official Account identity.
INSERT INTO identities (user_id, app, openid, unionid, linked_by, created_at, last_login_at, login_count)
SELECT id, 'oa', openid, unionid, 'migrated', created_at, last_login_at, login_count FROM users;

ALTER TABLE users ALTER COLUMN openid DROP NOT NULL;

-- The mini program's bearer tokens are sessions of their own kind.
ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_kind_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_kind_check CHECK (kind IN ('user', 'admin', 'miniprogram'));

-- +goose Down
DELETE FROM sessions WHERE kind = 'miniprogram';
ALTER TABLE sessions DROP CONSTRAINT IF EXISTS sessions_kind_check;
ALTER TABLE sessions ADD CONSTRAINT sessions_kind_check CHECK (kind IN ('user', 'admin'));
DELETE FROM users WHERE openid IS NULL;
ALTER TABLE users ALTER COLUMN openid SET NOT NULL;
DROP TABLE identities;
