// Package dbsession is a gorilla/sessions Store whose data lives in the
// database. The cookie carries only a random id signed with SESSION_KEYS, so
// logout, disabling a user and "end all sessions" take effect at once on
// every instance, and rotating keys never logs anybody out.
//
// Only sessions that carry a user or an admin are rows. An anonymous session
// (logins in progress, nothing else) lives in a sealed cookie instead, for
// at most AnonymousMaxAge: see sealed.go. Logging in (SaveRenewed, or Renew
// and Save) turns it into a row with a new id.
package dbsession

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"

	"wxlogin/models"
)

// Repo is the part of the database the store needs.
type Repo interface {
	SessionByHash(ctx context.Context, idHash, kind string) (*models.Session, error)
	SessionWithUserByHash(ctx context.Context, idHash string) (*models.Session, error)
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
	sealer *sealer
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
	sl, err := newSealer(cfg.Keys, cfg.Kind, s.name)
	if err != nil {
		return nil, err
	}
	s.sealer = sl
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
	// browser is the id inside a sealed anonymous session: the one the
	// request presented, or the one a save in this request minted.
	browser string
	// userID and user: the row's user as read with it (a user session's
	// load joins users), user nil when user_id names no user any more.
	// Cleared when the session is saved or forgotten.
	userID int64
	user   *models.User
}

// forget drops what ties the request's session to its old identity: its
// row and its sealed browser id. The next save mints a new id.
func (m *meta) forget() {
	if m != nil {
		m.row, m.browser, m.reissue = nil, "", false
		m.userID, m.user = 0, nil
	}
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

	if c, err := r.Cookie(s.name); err == nil && strings.HasPrefix(c.Value, sealedPrefix) {
		// An anonymous session: no database read at all.
		if id, values, _, ok := s.sealer.open(c.Value, s.cfg.Now()); ok {
			sess.Values, sess.IsNew = values, false
			m.presentedID, m.browser = id, id
		}
		return sess, nil
	}
	id, idx, ok := s.verifiedID(r)
	if !ok {
		return sess, nil
	}
	m.presentedID = id
	var row *models.Session
	var err error
	if s.cfg.Kind == models.SessionUser {
		// A user's page needs the user: read it in the same statement.
		row, err = s.repo.SessionWithUserByHash(r.Context(), hashID(id))
	} else {
		row, err = s.repo.SessionByHash(r.Context(), hashID(id), s.cfg.Kind)
	}
	if errors.Is(err, models.ErrNotFound) {
		return sess, nil
	}
	if err != nil {
		return sess, err
	}
	now := s.cfg.Now().UTC()
	if !live(row, now, s.cfg.Idle) {
		_ = s.repo.DeleteSession(r.Context(), row.IDHash)
		return sess, nil
	}
	values, err := decodeValues(row.Data)
	if err != nil {
		// Data written by an incompatible version: start over rather than fail.
		return sess, nil
	}
	// The ids are the row's columns (format v1 leaves them out of data).
	if row.UserID != nil {
		values[UserIDKey] = *row.UserID
	}
	if row.AdminID != nil {
		values[AdminIDKey] = *row.AdminID
	}
	sess.Values = values
	sess.ID = id
	sess.IsNew = false
	m.row = row
	m.reissue = idx > 0
	if s.cfg.Kind == models.SessionUser && row.UserID != nil {
		m.userID, m.user = *row.UserID, row.User
	}
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

// LoadedUser returns the user that was read together with the request's
// session row (a user session is loaded with its user in one statement,
// see models.SessionWithUserByHash), when that row belongs to userID and
// has not been saved since. ok is false when there is no such read (no row,
// a session saved in this request, another kind of store): the caller reads
// the user itself then. ok with a nil user means the row's user no longer
// exists.
func (s *Store) LoadedUser(r *http.Request, userID int64) (u *models.User, ok bool) {
	if _, err := s.Get(r, s.name); err != nil || userID == 0 {
		return nil, false
	}
	m, _ := r.Context().Value(ctxKey{s.name}).(*meta)
	if m == nil || m.row == nil || m.userID != userID {
		return nil, false
	}
	return m.user, true
}

// PresentedID is the verified session id the browser sent with this request,
// even when that session has since ended or been renewed; for a sealed
// anonymous session, the random browser id sealed inside it. Empty when the
// request carried no valid cookie. The login callback uses it to recognise
// the same browser's duplicate request.
func (s *Store) PresentedID(r *http.Request) string {
	if _, err := s.Get(r, s.name); err != nil {
		return ""
	}
	if m, ok := r.Context().Value(ctxKey{s.name}).(*meta); ok {
		return m.presentedID
	}
	return ""
}

// BrowserID is PresentedID, or, when the request came without a session
// and a save in this request sealed a new anonymous one, the browser id
// minted for it: what a computer's first visit to /login/qr binds its
// ticket to. Empty when neither exists.
func (s *Store) BrowserID(r *http.Request) string {
	id := s.PresentedID(r)
	if m, ok := r.Context().Value(ctxKey{s.name}).(*meta); ok && m.browser != "" {
		return m.browser
	}
	return id
}

// Reissue sends the browser a fresh cookie for the same session, signed
// with the newest key, when the request's cookie verified only with an older
// SESSION_KEYS entry. Read-only pages call it, so rotating the keys moves
// every active browser to the new key without logging anybody out, and the
// old key can be removed once the longest session has been seen again.
// Sealed anonymous sessions are not re-issued: they live ten minutes, and
// every save seals them with the newest key anyway.
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
	return s.save(r, w, sess, "", "")
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
	m, _ := r.Context().Value(ctxKey{s.name}).(*meta)
	m.forget()
	return s.save(r, w, sess, old, "")
}

// SaveLogin is SaveRenewed for a login, with one session per login: the
// new id is derived (HMAC under the newest key) from the id this browser
// presented and loginKey (the login's state), instead of drawn at random.
// Every request of one login — Android's second callback, variant B's second
// code, a load tool's retry — therefore writes the same row (the store's
// inserts ignore an existing id) and sends the same cookie, whichever of
// them the browser keeps: one login, one live session, never one per
// duplicate. The id is still unguessable (it needs the key and the
// browser's secret id) and still new at login (it depends on the state,
// which is single-use), so a planted pre-login id is worthless afterwards
// as with SaveRenewed.
//
// written, if not nil, is the row LoginRow gave for this login, which the
// login's own statement has already stored (exchange.Result.Session): then
// only the cookie is sent.
func (s *Store) SaveLogin(r *http.Request, w http.ResponseWriter, sess *sessions.Session, loginKey string, written *models.Session) error {
	derived := s.loginID(r, loginKey)
	old := ""
	if sess.ID != "" {
		old = hashID(sess.ID)
	}
	m, _ := r.Context().Value(ctxKey{s.name}).(*meta)
	if written != nil && old == "" && derived != "" && written.IDHash == hashID(derived) {
		sess.ID, sess.IsNew = derived, false
		written.UserID = int64Value(sess.Values[UserIDKey])
		m.forget()
		if m != nil {
			m.row = written
		}
		return s.writeCookie(w, derived)
	}
	sess.ID = ""
	m.forget()
	return s.save(r, w, sess, old, derived)
}

// loginID is SaveLogin's derived id for the browser's presented id and
// loginKey, "" without either.
func (s *Store) loginID(r *http.Request, loginKey string) string {
	presented := s.PresentedID(r)
	if presented == "" || loginKey == "" {
		return ""
	}
	mac := hmac.New(sha256.New, s.cfg.Keys[0])
	mac.Write([]byte("wxlogin login session\x00" + s.cfg.Kind + "\x00" + presented + "\x00" + loginKey))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// LoginRow is the row SaveLogin would insert for a login of this request
// whose session holds values (the session's values as they will be once
// logged in, the user's id aside: a column, filled in by whoever writes the
// row), for the exchange's owner to write together with the user
// (models.DB.RecordLoginCompleting): one statement and one commit less per
// login. ok is false when SaveLogin must write the row itself: the browser
// has a session row the login replaces, or no id to derive the login's from.
func (s *Store) LoginRow(r *http.Request, sess *sessions.Session, values map[any]any, loginKey string) (row *models.Session, ok bool) {
	if sess.ID != "" {
		return nil, false
	}
	derived := s.loginID(r, loginKey)
	if derived == "" {
		return nil, false
	}
	data, err := encodeValues([]byte{}, values, true)
	if err != nil {
		return nil, false
	}
	now := s.cfg.Now().UTC()
	return &models.Session{
		IDHash: hashID(derived), Kind: s.cfg.Kind, Data: data,
		IP: clientIP(r), UserAgent: truncate(r.UserAgent(), 256),
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.cfg.MaxAge),
	}, true
}

// save is Save; a non-empty replace is the hash of a session row that the
// new row replaces (SaveRenewed), a non-empty id the id a new row gets
// (SaveLogin) instead of a random one.
func (s *Store) save(r *http.Request, w http.ResponseWriter, sess *sessions.Session, replace, newRowID string) error {
	ctx := r.Context()
	m, _ := ctx.Value(ctxKey{s.name}).(*meta)
	if m != nil {
		// What is saved may name another user: read it again if asked.
		m.userID, m.user = 0, nil
	}
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
		m.forget()
		s.setCookie(w, "", -1)
		return nil
	}
	userID, adminID := int64Value(sess.Values[UserIDKey]), int64Value(sess.Values[AdminIDKey])
	if userID == nil && adminID == nil {
		return s.saveAnonymous(r, w, sess, m, replace)
	}
	data, err := encodeValues([]byte{}, sess.Values, true)
	if err != nil {
		return err
	}
	now := s.cfg.Now().UTC()
	row := &models.Session{
		Kind: s.cfg.Kind, Data: data, LastSeenAt: now,
		UserID: userID, AdminID: adminID,
	}
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
	id := newRowID
	if id == "" {
		var err error
		if id, err = newID(); err != nil {
			return err
		}
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
		m.browser = ""
	}
	return s.writeCookie(w, id)
}

// saveAnonymous seals a session without user or admin into the cookie. A
// row the session had (replace, or its own: a row written by an older
// version, or a session whose user was taken out of Values) ends here:
// anonymous state is never kept in the database.
func (s *Store) saveAnonymous(r *http.Request, w http.ResponseWriter, sess *sessions.Session, m *meta, replace string) error {
	gone := []string{replace}
	if sess.ID != "" {
		gone = append(gone, hashID(sess.ID))
	}
	for _, h := range gone {
		if h == "" {
			continue
		}
		if err := s.repo.DeleteSession(r.Context(), h); err != nil {
			return err
		}
	}
	browser := ""
	if m != nil {
		browser = m.browser
	}
	if browser == "" {
		id, err := newID()
		if err != nil {
			return err
		}
		browser = id
	}
	v, err := s.sealer.seal(browser, sess.Values, s.cfg.Now())
	if err != nil {
		return err
	}
	sess.ID, sess.IsNew = "", false
	if m != nil {
		m.forget()
		m.browser = browser
	}
	s.setCookie(w, v, int(AnonymousMaxAge/time.Second))
	return nil
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
	m, _ := r.Context().Value(ctxKey{s.name}).(*meta)
	m.forget()
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
	s.setCookie(w, v, int(s.cfg.MaxAge/time.Second))
	return nil
}

// setCookie is the one place a session cookie is written or cleared. The
// response then says no-store: a cache between the browser and wxlogin
// (a CDN, a corporate proxy, WeChat's own) must never keep a response
// that hands out a session, whichever handler wrote it.
func (s *Store) setCookie(w http.ResponseWriter, value string, maxAge int) {
	w.Header().Set("Cache-Control", "no-store")
	http.SetCookie(w, sessions.NewCookie(s.name, value, s.options(maxAge)))
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
