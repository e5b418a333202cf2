package dbsession_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/testdb"
)

func sessionRows(t *testing.T, db *models.DB) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Raw("SELECT count(*) FROM sessions").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// resave loads the session named by cookie, stores mark n in it and saves
// it; it returns the new cookie (name=value) and the response.
func resave(t *testing.T, s *dbsession.Store, cookie string, n int64) (string, *http.Response) {
	t.Helper()
	r := request(cookie)
	sess, err := s.Get(r, "")
	if err != nil {
		t.Fatal(err)
	}
	sess.Values[mark] = n
	w := httptest.NewRecorder()
	if err := sess.Save(r, w); err != nil {
		t.Fatal(err)
	}
	res := w.Result()
	c := res.Cookies()
	if len(c) != 1 {
		t.Fatalf("%d cookies", len(c))
	}
	return c[0].Name + "=" + c[0].Value, res
}

// An anonymous session (no user, no admin) is sealed into its cookie: no
// row, for either kind, however often it is saved; it keeps its browser id
// from save to save and lives AnonymousMaxAge.
func TestAnonymousSessionsWriteNoRows(t *testing.T) {
	for _, kind := range []string{"user", "admin"} {
		t.Run(kind, func(t *testing.T) {
			db := testdb.Open(t)
			s := newStore(t, db, dbsession.Config{Kind: kind})
			first := start(t, s, 3)
			browser := s.PresentedID(request(first))
			if browser == "" {
				t.Fatal("a sealed anonymous cookie presents no browser id")
			}
			cookie := first
			for i := range 20 {
				var res *http.Response
				cookie, res = resave(t, s, cookie, int64(i+4))
				if c := res.Cookies()[0]; c.MaxAge != int(dbsession.AnonymousMaxAge/time.Second) || !c.HttpOnly {
					t.Fatalf("sealed cookie attributes: %+v", c)
				}
			}
			if n := sessionRows(t, db); n != 0 {
				t.Fatalf("%d rows for anonymous sessions, want none", n)
			}
			if uidOf(t, s, cookie) != 23 || s.PresentedID(request(cookie)) != browser {
				t.Fatal("the sealed session lost its values or its browser id")
			}
			if uidOf(t, s, first) != 3 {
				t.Fatal("an earlier sealed cookie no longer opens")
			}
		})
	}
}

// A tampered, expired, misdirected or foreign sealed cookie is anonymous:
// no values, no browser id, and never an error.
func TestSealedCookieTamperedOrExpiredIsAnonymous(t *testing.T) {
	db := testdb.Open(t)
	clk := &testClock{now: time.Now()}
	s := newStore(t, db, dbsession.Config{Now: clk.Now})
	good := strings.TrimPrefix(start(t, s, 7), "s=")
	flip := func(i int) string {
		b := []byte(good)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	sealedBy := func(cfg dbsession.Config) string {
		cfg.Now = clk.Now
		return strings.TrimPrefix(start(t, newStore(t, db, cfg), 7), cfg.CookieName+"=")
	}
	tests := []struct {
		name, value string
		advance     time.Duration
	}{
		{"prefix flipped", flip(0), 0},
		{"nonce flipped", flip(5), 0},
		{"middle flipped", flip(len(good) / 2), 0},
		{"tag flipped", flip(len(good) - 1), 0},
		{"truncated", good[:len(good)-1], 0},
		{"only the prefix", good[:3], 0},
		{"not base64", good[:3] + "%%%***", 0},
		{"oversized", good[:3] + strings.Repeat("A", 4000), 0},
		{"another key", sealedBy(dbsession.Config{Keys: [][]byte{key2}}), 0},
		{"another cookie name", sealedBy(dbsession.Config{CookieName: "t"}), 0},
		{"the admin kind", sealedBy(dbsession.Config{Kind: "admin"}), 0},
		{"expired", good, dbsession.AnonymousMaxAge + time.Second},
		{"sealed in the future", good, -2 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk.Advance(tt.advance)
			defer clk.Advance(-tt.advance)
			r := request("s=" + tt.value)
			sess, err := s.Get(r, "")
			if err != nil {
				t.Fatalf("Get: %v", err)
			}
			if len(sess.Values) != 0 || !sess.IsNew || s.PresentedID(r) != "" {
				t.Fatalf("values %v, new %v, browser id %q: want an empty anonymous session", sess.Values, sess.IsNew, s.PresentedID(r))
			}
		})
	}
	clk.Advance(dbsession.AnonymousMaxAge - time.Second)
	if uidOf(t, s, "s="+good) != 7 {
		t.Fatal("the genuine sealed cookie does not open within its lifetime")
	}
}

// SESSION_KEYS rotation: a sealed cookie of an older key still opens (same
// values, same browser id); the next save seals it with the newest key.
func TestSealedCookieKeyRotation(t *testing.T) {
	db := testdb.Open(t)
	old := newStore(t, db, dbsession.Config{Keys: [][]byte{key1}})
	rotated := newStore(t, db, dbsession.Config{Keys: [][]byte{key2, key1}})
	newest := newStore(t, db, dbsession.Config{Keys: [][]byte{key2}})
	cookie := start(t, old, 5)
	browser := old.PresentedID(request(cookie))
	if uidOf(t, rotated, cookie) != 5 || rotated.PresentedID(request(cookie)) != browser {
		t.Fatal("a cookie sealed with the older key does not open after rotation")
	}
	if uidOf(t, newest, cookie) != 0 {
		t.Fatal("a cookie sealed with a removed key opens")
	}
	resealed, _ := resave(t, rotated, cookie, 6)
	if uidOf(t, newest, resealed) != 6 || newest.PresentedID(request(resealed)) != browser {
		t.Fatal("the re-saved cookie is not sealed with the newest key, or lost its browser id")
	}
}

// At login the sealed session becomes a row with a new id; the sealed
// cookie, presented again, is anonymous and its browser id is not the
// logged-in session's.
func TestLoginTurnsTheSealedSessionIntoARow(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	sealed := start(t, s, 0)
	r := request(sealed)
	sess, err := s.Get(r, "")
	if err != nil {
		t.Fatal(err)
	}
	browser := s.PresentedID(r)
	uid := userRow(t, db, 4)
	sess.Values[dbsession.UserIDKey] = uid
	w := httptest.NewRecorder()
	if err := s.SaveRenewed(r, w, sess); err != nil {
		t.Fatal(err)
	}
	if s.PresentedID(r) != browser {
		t.Fatal("PresentedID changed within the request: the callback could not recognise the browser")
	}
	c := w.Result().Cookies()
	if len(c) != 1 {
		t.Fatalf("%d cookies", len(c))
	}
	fresh := c[0].Name + "=" + c[0].Value
	var rows int64
	db.Gorm.Raw("SELECT count(*) FROM sessions WHERE id_hash = ? AND user_id = ?",
		dbsession.HashID(s.PresentedID(request(fresh))), uid).Scan(&rows)
	if rows != 1 || sessionRows(t, db) != 1 {
		t.Fatal("the logged-in session is not exactly one row under the new cookie's id")
	}
	if s.PresentedID(request(fresh)) == browser {
		t.Fatal("the login kept the pre-login browser id")
	}
	old, err := s.Get(request(sealed), "")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := old.Values[dbsession.UserIDKey].(int64); got != 0 {
		t.Fatal("the pre-login sealed cookie opens the user's session")
	}
}

// Every response that writes or clears a session cookie says no-store.
func TestSessionCookieWritesAreNotCached(t *testing.T) {
	db := testdb.Open(t)
	old := newStore(t, db, dbsession.Config{Keys: [][]byte{key1}})
	s := newStore(t, db, dbsession.Config{Keys: [][]byte{key2, key1}})
	user := startUser(t, db, s, 1)
	tests := []struct {
		name   string
		cookie string
		do     func(r *http.Request, w http.ResponseWriter) error
	}{
		{"anonymous save", "", func(r *http.Request, w http.ResponseWriter) error {
			sess, _ := s.Get(r, "")
			sess.Values[mark] = int64(1)
			return sess.Save(r, w)
		}},
		{"user save", "", func(r *http.Request, w http.ResponseWriter) error {
			sess, _ := s.Get(r, "")
			sess.Values[dbsession.UserIDKey] = userRow(t, db, 2)
			return sess.Save(r, w)
		}},
		{"login", start(t, s, 0), func(r *http.Request, w http.ResponseWriter) error {
			sess, _ := s.Get(r, "")
			sess.Values[dbsession.UserIDKey] = userRow(t, db, 3)
			return s.SaveRenewed(r, w, sess)
		}},
		{"destroy", user, func(r *http.Request, w http.ResponseWriter) error {
			sess, _ := s.Get(r, "")
			return s.Destroy(r, w, sess)
		}},
		{"reissue", startUser(t, db, old, 4), func(r *http.Request, w http.ResponseWriter) error {
			return s.Reissue(r, w)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, w := request(tt.cookie), httptest.NewRecorder()
			if err := tt.do(r, w); err != nil {
				t.Fatal(err)
			}
			if len(w.Result().Cookies()) != 1 {
				t.Fatal("no session cookie written")
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Fatalf("Cache-Control %q, want no-store", got)
			}
		})
	}
}
