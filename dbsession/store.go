// Package dbsession is a gorilla/sessions Store whose data lives in the
// database. The cookie carries only a random id signed with SESSION_KEYS, so
// logout, disabling a user and "end all sessions" take effect at once on
// every instance, and rotating keys never logs anybody out.
package dbsession

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/gob"
	"encoding/hex"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"wxlogin/models"
)

// Repo is the part of the database the store needs.
type Repo interface {
	SessionByHash(ctx context.Context, idHash, kind string) (*models.Session, error)
	InsertSession(ctx context.Context, s *models.Session) error
	ReplaceSession(ctx context.Context, oldHash string, s *models.Session) error
	UpdateSession(ctx context.Context, s *models.Session) error
	TouchSession(ctx context.Context, idHash string, at time.Time) error
	DeleteSession(ctx context.Context, idHash string) error
}

// Well-known keys in Session.Values that the store maps to columns.
const (
	UserIDKey  = "uid"
	AdminIDKey = "aid"
)

// Config describes one kind of session (the user's or the admin's).
type Config struct {
	Kind       string // "user" or "admin"
	CookieName string // without the __Host- prefix; it is added under https
	Path       string
	Keys       [][]byte // newest first
	Secure     bool
	Idle       time.Duration
	MaxAge     time.Duration
	Now        func() time.Time
}

// Store implements sessions.Store on top of Repo.
type Store struct {
	repo   Repo
	cfg    Config
	codecs []*securecookie.SecureCookie
	name   string
}

// touchEvery bounds how often a read-only request writes last_seen_at: idle
// timeouts need minute precision, not a write per page view.
const touchEvery = time.Minute

// maxCookieValue bounds what we even try to decode.
const maxCookieValue = 512

// New builds a Store.
func New(repo Repo, cfg Config) (*Store, error) {
	if len(cfg.Keys) == 0 {
		return nil, errors.New("dbsession: no signing key")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Path == "" {
		cfg.Path = "/"
	}
	s := &Store{repo: repo, cfg: cfg, name: cfg.CookieName}
	switch {
	case cfg.Secure && cfg.Path == "/":
		// __Host- binds the cookie to this exact origin: no Domain, Path=/, Secure.
		s.name = "__Host-" + cfg.CookieName
	case cfg.Secure:
		s.name = "__Secure-" + cfg.CookieName
	}
	for _, k := range cfg.Keys {
		c := securecookie.New(k, nil).SetSerializer(securecookie.NopEncoder{})
		c.MaxAge(int(cfg.MaxAge / time.Second))
		c.MaxLength(maxCookieValue)
		s.codecs = append(s.codecs, c)
	}
	return s, nil
}

// CookieName is the name of the cookie as sent to browsers.
func (s *Store) CookieName() string { return s.name }

// Get returns the request's session, cached for the rest of the request.
func (s *Store) Get(r *http.Request, _ string) (*sessions.Session, error) {
	return sessions.GetRegistry(r).Get(s, s.name)
}

type ctxKey struct{ name string }

// meta is what the store remembers about a loaded session beyond Values.
type meta struct {
	presentedID string // verified id from the cookie, even if its row is gone
	reissue     bool   // signed with an older key: send a fresh cookie
	row         *models.Session
}

// New loads the session named by the request's cookie, or starts an empty one.
// A missing, tampered, expired or unknown cookie yields an anonymous session,
// never an error page.
func (s *Store) New(r *http.Request, _ string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, s.name)
	sess.Options = s.options(int(s.cfg.MaxAge / time.Second))
	sess.IsNew = true
	m := &meta{}
	*r = *r.WithContext(context.WithValue(r.Context(), ctxKey{s.name}, m))

	id, idx, ok := s.verifiedID(r)
	if !ok {
		return sess, nil
	}
	m.presentedID = id
	row, err := s.repo.SessionByHash(r.Context(), hashID(id), s.cfg.Kind)
	if errors.Is(err, models.ErrNotFound) {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	now := s.cfg.Now().UTC()
	if now.After(row.ExpiresAt) || now.Sub(row.LastSeenAt) > s.cfg.Idle {
		_ = s.repo.DeleteSession(r.Context(), row.IDHash)
		return sess, nil
	}
	if err := gob.NewDecoder(bytes.NewReader(row.Data)).Decode(&sess.Values); err != nil {
		// Data written by an incompatible version: start over rather than fail.
		sess.Values = map[interface{}]interface{}{}
		return sess, nil
	}
	sess.ID = id
	sess.IsNew = false
	m.row = row
	m.reissue = idx > 0
	if now.Sub(row.LastSeenAt) > touchEvery {
		if err := s.repo.TouchSession(r.Context(), row.IDHash, now); err == nil {
			row.LastSeenAt = now
		}
	}
	return sess, nil
}

// verifiedID returns the cookie's id if any key's signature verifies, and
// which key did (0 is the newest).
func (s *Store) verifiedID(r *http.Request) (string, int, bool) {
	c, err := r.Cookie(s.name)
	if err != nil || len(c.Value) > maxCookieValue {
		return "", 0, false
	}
	for i, codec := range s.codecs {
		var raw []byte
		if err := codec.Decode(s.name, c.Value, &raw); err == nil && len(raw) > 0 && len(raw) <= 64 {
			return string(raw), i, true
		}
	}
	return "", 0, false
}

// PresentedID is the verified session id the browser sent with this request,
// even when that session has since ended or been renewed. The login callback
// uses it to recognise the same browser's duplicate request.
func (s *Store) PresentedID(r *http.Request) string {
	if _, err := s.Get(r, s.name); err != nil {
		return ""
	}
	if m, ok := r.Context().Value(ctxKey{s.name}).(*meta); ok {
		return m.presentedID
	}
	return ""
}

// Reissue sends the browser a fresh cookie for the same session, signed
// with the newest key, when the request's cookie verified only with an older
// SESSION_KEYS entry. Read-only pages call it, so rotating the keys moves
// every active browser to the new key without logging anybody out, and the
// old key can be removed once the longest session has been seen again.
func (s *Store) Reissue(r *http.Request, w http.ResponseWriter) error {
	sess, err := s.Get(r, s.name)
	if err != nil {
		return err
	}
	m, ok := r.Context().Value(ctxKey{s.name}).(*meta)
	if !ok || !m.reissue || sess.ID == "" || m.row == nil {
		return nil
	}
	if err := s.writeCookie(w, sess.ID); err != nil {
		return err
	}
	m.reissue = false
	return nil
}

// HashID is how a session id is stored and compared: SHA-256, hex.
func HashID(id string) string { return hashID(id) }

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// Save writes the session row and, when needed, the cookie. MaxAge < 0
// deletes the session.
func (s *Store) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	return s.save(r, w, sess, "")
}

// SaveRenewed is Renew followed by Save in one database round trip: the
// session's Values get a new id and the old id ends in the same statement.
// The login callback uses it — the hottest write path of a login storm.
func (s *Store) SaveRenewed(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	old := ""
	if sess.ID != "" {
		old = hashID(sess.ID)
	}
	sess.ID = ""
	if m, ok := r.Context().Value(ctxKey{s.name}).(*meta); ok {
		m.row = nil
	}
	return s.save(r, w, sess, old)
}

// save is Save; a non-empty replace is the hash of a session row that the
// new row replaces (SaveRenewed).
func (s *Store) save(r *http.Request, w http.ResponseWriter, sess *sessions.Session, replace string) error {
	ctx := r.Context()
	if sess.Options != nil && sess.Options.MaxAge < 0 {
		gone := []string{replace}
		if sess.ID != "" {
			gone = append(gone, hashID(sess.ID))
		}
		for _, h := range gone {
			if h == "" {
				continue
			}
			if err := s.repo.DeleteSession(ctx, h); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(s.name, "", s.options(-1)))
		return nil
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(sess.Values); err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	row := &models.Session{
		Kind: s.cfg.Kind, Data: buf.Bytes(), LastSeenAt: now,
		UserID: int64Value(sess.Values[UserIDKey]), AdminID: int64Value(sess.Values[AdminIDKey]),
	}
	m, _ := ctx.Value(ctxKey{s.name}).(*meta)
	if sess.ID != "" && m != nil && m.row != nil {
		row.IDHash = m.row.IDHash
		err := s.repo.UpdateSession(ctx, row)
		if err == nil {
			if m.reissue {
				return s.writeCookie(w, sess.ID)
			}
			return nil
		}
		if !errors.Is(err, models.ErrNotFound) {
			return err
		}
		// The row vanished (logout elsewhere, purge): fall through to a new id.
	}
	id, err := newID()
	if err != nil {
		return err
	}
	row.IDHash = hashID(id)
	row.CreatedAt = now
	row.ExpiresAt = now.Add(s.cfg.MaxAge)
	row.IP = clientIP(r)
	row.UserAgent = truncate(r.UserAgent(), 256)
	insert := s.repo.InsertSession
	if replace != "" {
		insert = func(ctx context.Context, row *models.Session) error { return s.repo.ReplaceSession(ctx, replace, row) }
	}
	if err := insert(ctx, row); err != nil {
		return err
	}
	sess.ID = id
	sess.IsNew = false
	if m != nil {
		m.row = row
		m.reissue = false
	}
	return s.writeCookie(w, id)
}

// Renew gives the session a new id and ends the old one: called at every
// login so that an id planted before login is worthless afterwards.
func (s *Store) Renew(r *http.Request, sess *sessions.Session) error {
	if sess.ID != "" {
		if err := s.repo.DeleteSession(r.Context(), hashID(sess.ID)); err != nil {
			return err
		}
	}
	sess.ID = ""
	if m, ok := r.Context().Value(ctxKey{s.name}).(*meta); ok {
		m.row = nil
	}
	return nil
}

// Destroy ends the session server-side and clears the cookie.
func (s *Store) Destroy(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	sess.Options = s.options(-1)
	return s.Save(r, w, sess)
}

func (s *Store) writeCookie(w http.ResponseWriter, id string) error {
	v, err := s.codecs[0].Encode(s.name, []byte(id))
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(s.name, v, s.options(int(s.cfg.MaxAge/time.Second))))
	return nil
}

func (s *Store) options(maxAge int) *sessions.Options {
	return &sessions.Options{
		Path: s.cfg.Path, MaxAge: maxAge, HttpOnly: true, Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode,
	}
}

func newID() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func int64Value(v any) *int64 {
	if n, ok := v.(int64); ok && n > 0 {
		return &n
	}
	return nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// clientIP is set by the router's middleware (which knows the trusted
// proxies) through WithClientIP; RemoteAddr is the fallback.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(clientIPKey{}).(string); ok {
		return ip
	}
	return r.RemoteAddr
}

type clientIPKey struct{}

// WithClientIP records the client address for session rows.
func WithClientIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, clientIPKey{}, ip)
}
