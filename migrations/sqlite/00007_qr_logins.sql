-- +goose Up
-- Computer logins by QR code (issue 16). One row per ticket; the ticket
-- itself is never stored, only its SHA-256, and the row is bound to the
-- computer's browser (the SHA-256 of its session's browser id). The status
-- moves waiting -> scanned -> confirmed | cancelled | expired by conditional
-- UPDATEs only; consumed_at is set once, by the one status poll that logs
-- the computer in.
CREATE TABLE qr_logins (
    id                    INTEGER PRIMARY KEY AUTOINCREMENT,
    ticket_hash           TEXT        NOT NULL,
    browser_hash          TEXT        NOT NULL,
    status                TEXT        NOT NULL CHECK (status IN ('waiting', 'scanned', 'confirmed', 'cancelled', 'expired')),
    user_agent            TEXT        NOT NULL DEFAULT '',
    ip                    TEXT        NOT NULL DEFAULT '',
    user_id               INTEGER     REFERENCES users (id) ON DELETE CASCADE,
    approver_session_hash TEXT,
    approver_ip           TEXT        NOT NULL DEFAULT '',
    created_at            DATETIME    NOT NULL,
    expires_at            DATETIME    NOT NULL,
    scanned_at            DATETIME,
    finished_at           DATETIME,
    consumed_at           DATETIME,
    CONSTRAINT qr_logins_ticket_hash_key UNIQUE (ticket_hash)
);
CREATE INDEX qr_logins_created_at_idx ON qr_logins (created_at);
CREATE INDEX qr_logins_user_id_idx ON qr_logins (user_id) WHERE user_id IS NOT NULL;

-- +goose Down
DROP TABLE qr_logins;
