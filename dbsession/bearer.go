package dbsession

import (
	"context"
	"errors"
	"strings"
	"time"

	"wxlogin/models"
)

// Bearer keeps opaque bearer tokens as server-side sessions of one kind in
// the same table and through the same Repo as the cookie sessions: a random
// 256-bit token, of which only the SHA-256 is stored, with the same idle and
// absolute expiry. The mini program holds its token in its storage and sends
// it as "Authorization: Bearer ..."; there is no cookie to sign, so the
// token's length is its strength. Disabling a user or "end all sessions"
// ends these rows too (they carry the user's id).
type Bearer struct {
	repo Repo
	cfg  BearerConfig
}

// BearerConfig describes one kind of bearer session.
type BearerConfig struct {
	Kind   string // the sessions.kind, e.g. "miniprogram"
	Prefix string // what every token starts with, e.g. "wxm_" (tells tokens apart in a support request, never a secret)
	Idle   time.Duration
	MaxAge time.Duration
	Now    func() time.Time
}

// ErrNoSession means the token is malformed, unknown, expired or ended.
var ErrNoSession = errors.New("dbsession: no such session")

// NewBearer builds a Bearer.
func NewBearer(repo Repo, cfg BearerConfig) *Bearer {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Bearer{repo: repo, cfg: cfg}
}

// tokenLen is the prefix plus 32 random bytes in unpadded base64url.
func (b *Bearer) tokenLen() int { return len(b.cfg.Prefix) + 43 }

// wellFormed reports whether token can be one of ours, before any I/O.
func (b *Bearer) wellFormed(token string) bool {
	if len(token) != b.tokenLen() || !strings.HasPrefix(token, b.cfg.Prefix) {
		return false
	}
	for _, c := range token[len(b.cfg.Prefix):] {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// Issue starts a session for userID and returns its token and lifetime.
// data is stored with the row (not secret; e.g. the identity's openid).
func (b *Bearer) Issue(ctx context.Context, userID int64, data []byte, userAgent string) (string, time.Duration, error) {
	id, err := newID()
	if err != nil {
		return "", 0, err
	}
	token := b.cfg.Prefix + id
	now := b.cfg.Now().UTC()
	if data == nil {
		data = []byte{}
	}
	uid := userID
	ip, _ := ctx.Value(clientIPKey{}).(string)
	err = b.repo.InsertSession(ctx, &models.Session{
		IDHash: hashID(token), Kind: b.cfg.Kind, UserID: &uid, Data: data,
		IP: truncate(ip, 64), UserAgent: truncate(userAgent, 256),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(b.cfg.MaxAge),
	})
	if err != nil {
		return "", 0, err
	}
	return token, b.cfg.MaxAge, nil
}

// Check returns the live session of a token: ErrNoSession if it is
// malformed (no database read then), unknown, of another kind, past its
// idle or absolute expiry (the row is removed), or ended.
func (b *Bearer) Check(ctx context.Context, token string) (*models.Session, error) {
	if !b.wellFormed(token) {
		return nil, ErrNoSession
	}
	row, err := b.repo.SessionByHash(ctx, hashID(token), b.cfg.Kind)
	if errors.Is(err, models.ErrNotFound) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, err
	}
	now := b.cfg.Now().UTC()
	if !live(row, now, b.cfg.Idle) || row.UserID == nil {
		_ = b.repo.DeleteSession(ctx, row.IDHash)
		return nil, ErrNoSession
	}
	if now.Sub(row.LastSeenAt) > touchEvery {
		if err := b.repo.TouchSession(ctx, row.IDHash, now); err == nil {
			row.LastSeenAt = now
		}
	}
	return row, nil
}

// End ends a token's session; ending an unknown one is not an error.
func (b *Bearer) End(ctx context.Context, token string) error {
	if !b.wellFormed(token) {
		return ErrNoSession
	}
	return b.repo.DeleteSession(ctx, hashID(token))
}

// live reports whether a session row is within its absolute expiry and its
// idle timeout: one rule for cookie and bearer sessions.
func live(row *models.Session, now time.Time, idle time.Duration) bool {
	return !now.After(row.ExpiresAt) && now.Sub(row.LastSeenAt) <= idle
}
