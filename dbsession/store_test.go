package dbsession_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/testdb"
)

var (
	key1 = bytes.Repeat([]byte{1}, 32)
	key2 = bytes.Repeat([]byte{2}, 32)
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newStore(t *testing.T, db *models.DB, cfg dbsession.Config) *dbsession.Store {
	t.Helper()
	if cfg.Kind == "" {
		cfg.Kind = "user"
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "s"
	}
	if cfg.Idle == 0 {
		cfg.Idle, cfg.MaxAge = time.Hour, 3*time.Hour
	}
	if cfg.Keys == nil {
		cfg.Keys = [][]byte{key1}
	}
	s, err := dbsession.New(db, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// request builds a request carrying cookie (name=value) or none.
func request(cookie string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	if cookie != "" {
		r.Header.Set("Cookie", cookie)
	}
	return r
}

// mark is a value the tests store in sessions, to tell them apart.
const mark = "n"

// start saves an anonymous session (a sealed cookie, no row) holding mark
// uid and returns its cookie (name=value).
func start(t *testing.T, s *dbsession.Store, uid int64) string {
	t.Helper()
	return startWith(t, s, map[any]any{mark: uid})
}

// startUser saves a logged-in session (a row) holding mark n and returns
// its cookie (name=value).
func startUser(t *testing.T, db *models.DB, s *dbsession.Store, n int64) string {
	t.Helper()
	return startWith(t, s, map[any]any{mark: n, dbsession.UserIDKey: userRow(t, db, n)})
}

// userRow stores the user numbered n (sessions.user_id is a foreign key)
// and returns its id.
func userRow(t *testing.T, db *models.DB, n int64) int64 {
	t.Helper()
	id, _, err := db.RecordLogin(t.Context(), models.Login{OpenID: "o" + strconv.FormatInt(n, 10), At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func startWith(t *testing.T, s *dbsession.Store, values map[any]any) string {
	t.Helper()
	r := request("")
	sess, err := s.Get(r, "")
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range values {
		sess.Values[k] = v
	}
	w := httptest.NewRecorder()
	if err := sess.Save(r, w); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()
	if len(c) != 1 {
		t.Fatalf("%d cookies", len(c))
	}
	return c[0].Name + "=" + c[0].Value
}

// uidOf loads the session named by cookie; 0 means anonymous.
func uidOf(t *testing.T, s *dbsession.Store, cookie string) int64 {
	t.Helper()
	sess, err := s.Get(request(cookie), "")
	if err != nil {
		t.Fatalf("Get: %v (a bad cookie must be anonymous, not an error)", err)
	}
	uid, _ := sess.Values[mark].(int64)
	if uid != 0 && sess.IsNew {
		t.Fatal("new session with a value")
	}
	return uid
}

func TestBadCookiesAreAnonymous(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	good := startUser(t, db, s, 7)
	if uidOf(t, s, good) != 7 {
		t.Fatal("the genuine cookie does not load")
	}
	value := strings.TrimPrefix(good, "s=")
	sign := func(k []byte, name, id string) string {
		v, err := securecookie.New(k, nil).SetSerializer(securecookie.NopEncoder{}).Encode(name, []byte(id))
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	admin := newStore(t, db, dbsession.Config{Kind: "admin", CookieName: "s"})
	adminCookie := start(t, admin, 0)
	tests := []struct{ name, cookie string }{
		{"none", ""},
		{"truncated", "s=" + value[:len(value)-2]},
		{"flipped", "s=" + strings.Replace(value, value[5:6], string(rune(value[5]^1)), 1)},
		{"garbage", "s=%%%"},
		{"oversized", "s=" + strings.Repeat("A", 4000)},
		{"unknown key", "s=" + sign(key2, "s", "id-that-does-not-matter")},
		{"other cookie name in the MAC", "s=" + sign(key1, "t", "x")},
		{"signed but unknown id", "s=" + sign(key1, "s", "unknown-id")},
		{"signed overlong id", "s=" + sign(key1, "s", strings.Repeat("i", 65))},
		{"an admin session presented as a user session", adminCookie},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if uid := uidOf(t, s, tt.cookie); uid != 0 {
				t.Fatalf("loaded user %d", uid)
			}
		})
	}
}

func TestRenewEndsTheOldID(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	old := startUser(t, db, s, 1)
	r := request(old)
	sess, _ := s.Get(r, "")
	if err := s.Renew(r, sess); err != nil {
		t.Fatal(err)
	}
	sess.Values[mark] = int64(9)
	sess.Values[dbsession.UserIDKey] = userRow(t, db, 9)
	w := httptest.NewRecorder()
	if err := sess.Save(r, w); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()
	if len(c) != 1 || "s="+c[0].Value == old {
		t.Fatal("no new cookie at renewal")
	}
	if uidOf(t, s, old) != 0 {
		t.Fatal("the pre-renewal id still loads a session")
	}
	if uidOf(t, s, "s="+c[0].Value) != 9 {
		t.Fatal("the renewed session does not load")
	}
}

func TestIdleAndAbsoluteTimeouts(t *testing.T) {
	db := testdb.Open(t)
	clk := &testClock{now: time.Now()}
	s := newStore(t, db, dbsession.Config{Now: clk.Now})
	idle := startUser(t, db, s, 1)
	busy := startUser(t, db, s, 2)
	for range 5 { // 2h50m of activity every 34 minutes
		clk.Advance(34 * time.Minute)
		if uidOf(t, s, busy) != 2 {
			t.Fatal("an active session ended early")
		}
	}
	if uidOf(t, s, idle) != 0 {
		t.Fatal("a session idle for 2h50m still loads")
	}
	clk.Advance(11 * time.Minute)
	if uidOf(t, s, busy) != 0 {
		t.Fatal("a session older than MaxAge still loads")
	}
}

// A cookie signed with an older key loads, and Reissue re-signs it with the
// newest key, once; cookies of the newest key are never re-issued.
func TestReissueAfterKeyRotation(t *testing.T) {
	db := testdb.Open(t)
	old := newStore(t, db, dbsession.Config{Keys: [][]byte{key1}})
	rotated := newStore(t, db, dbsession.Config{Keys: [][]byte{key2, key1}})
	cookie := startUser(t, db, old, 5)

	r := request(cookie)
	w := httptest.NewRecorder()
	if uid := uidOf(t, rotated, cookie); uid != 5 {
		t.Fatalf("old-key cookie after rotation: uid %d", uid)
	}
	if err := rotated.Reissue(r, w); err != nil {
		t.Fatal(err)
	}
	c := w.Result().Cookies()
	if len(c) != 1 || !c[0].HttpOnly || c[0].SameSite != http.SameSiteLaxMode {
		t.Fatalf("re-issued cookies: %v", c)
	}
	fresh := "s=" + c[0].Value
	if uidOf(t, newStore(t, db, dbsession.Config{Keys: [][]byte{key2}}), fresh) != 5 {
		t.Fatal("the re-issued cookie does not verify with the newest key alone")
	}
	w2 := httptest.NewRecorder()
	if err := rotated.Reissue(r, w2); err != nil || len(w2.Result().Cookies()) != 0 {
		t.Fatal("re-issued twice in one request")
	}
	r3, w3 := request(fresh), httptest.NewRecorder()
	if err := rotated.Reissue(r3, w3); err != nil || len(w3.Result().Cookies()) != 0 {
		t.Fatal("a newest-key cookie was re-issued")
	}
}

func TestSecureCookieNames(t *testing.T) {
	db := testdb.Open(t)
	tests := []struct {
		path, want string
	}{
		{"/", "__Host-s"},
		{"/admin", "__Secure-s"},
	}
	for _, tt := range tests {
		s := newStore(t, db, dbsession.Config{Secure: true, Path: tt.path})
		cookie := startUser(t, db, s, 1)
		if !strings.HasPrefix(cookie, tt.want+"=") || s.CookieName() != tt.want {
			t.Fatalf("path %s: cookie %s, want %s", tt.path, cookie[:10], tt.want)
		}
		if uidOf(t, s, "s="+strings.TrimPrefix(cookie, tt.want+"=")) != 0 {
			t.Fatal("the unprefixed name is accepted under https")
		}
	}
}
