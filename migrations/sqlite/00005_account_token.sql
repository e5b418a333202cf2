-- +goose Up
-- The Official Account's basic access token (cgi-bin/stable_token), one row
-- per appid, shared by every instance (tokencenter/). The token is sealed
-- with TOKEN_KEY. lease_owner/lease_until let one instance at a time fetch
-- (a conditional UPDATE, nothing session-scoped, so it works behind a
-- transaction-mode pooler); force_day/force_count/last_force_at count the
-- forced refreshes against WeChat's limits (20 a day, 30 s apart);
-- dead_version marks a token WeChat refused while a force was not allowed;
-- retry_at holds off every instance after WeChat failed.
CREATE TABLE account_tokens (
    appid           TEXT        PRIMARY KEY,
    token_enc       BLOB,
    version         INTEGER      NOT NULL DEFAULT 0,
    expires_at      DATETIME,
    fetched_at      DATETIME,
    fetched_by      TEXT        NOT NULL DEFAULT '',
    fetch_mode      TEXT        NOT NULL DEFAULT '',
    lease_owner     TEXT        NOT NULL DEFAULT '',
    lease_until     DATETIME,
    force_day       TEXT        NOT NULL DEFAULT '',
    force_count     INTEGER     NOT NULL DEFAULT 0,
    last_force_at   DATETIME,
    dead_version    INTEGER      NOT NULL DEFAULT -1,
    failures        INTEGER     NOT NULL DEFAULT 0,
    retry_at        DATETIME,
    last_error_code INTEGER     NOT NULL DEFAULT 0,
    last_error      TEXT        NOT NULL DEFAULT '',
    last_error_at   DATETIME,
    updated_at      DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);

-- +goose Down
DROP TABLE account_tokens;
