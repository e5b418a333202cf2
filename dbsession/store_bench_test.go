package dbsession_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/testdb"
)

// What a login does to its session, on real Postgres: load it from the
// cookie (every request), start one (the menu entry), and replace it with a
// fresh id carrying the user (the callback).

// benchStates is one login state as handlers stores it (handlers/loginstates.go,
// 67 bytes): the store keeps bytes, not handlers' type.
var benchStates = append(append([]byte{1, 1, 32}, "0123456789abcdef0123456789abcdef"...),
	append(append([]byte{8}, "/profile"...), append([]byte{15}, "snsapi_userinfo\xc0\xb0\xd3\xa4\x0d\x01\x00"...)...)...)

func benchStore(b *testing.B) (*dbsession.Store, *models.DB) {
	db := testdb.Open(b)
	s, err := dbsession.New(db, dbsession.Config{
		Kind: "user", CookieName: "wxl_session", Keys: [][]byte{make([]byte, 32)},
		Idle: 7 * 24 * time.Hour, MaxAge: 30 * 24 * time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	return s, db
}

func benchRequest(cookie *http.Cookie) *http.Request {
	r := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "http://127.0.0.1/wechat/callback", nil)
	r.Header.Set("User-Agent", "Mozilla/5.0 (Linux; Android 13; wv) MicroMessenger/8.0.47")
	if cookie != nil {
		r.AddCookie(cookie)
	}
	return r
}

// benchStart is the menu entry: a new session holding a login state.
func benchStart(b *testing.B, s *dbsession.Store) *http.Cookie {
	r, w := benchRequest(nil), httptest.NewRecorder()
	sess, err := s.Get(r, "")
	if err != nil {
		b.Fatal(err)
	}
	sess.Values["login"] = benchStates
	if err := sess.Save(r, w); err != nil {
		b.Fatal(err)
	}
	cs := w.Result().Cookies()
	if len(cs) != 1 {
		b.Fatalf("%d cookies", len(cs))
	}
	return cs[0]
}

func BenchmarkSession(b *testing.B) {
	s, db := benchStore(b)
	uid, _, err := db.RecordLogin(context.Background(), models.Login{OpenID: "obench", At: time.Now()})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("start", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			benchStart(b, s)
		}
	})
	b.Run("load", func(b *testing.B) {
		c := benchStart(b, s)
		b.ReportAllocs()
		for b.Loop() {
			sess, err := s.Get(benchRequest(c), "")
			if err != nil || sess.IsNew {
				b.Fatal(err)
			}
		}
	})
	// load-user is a logged-in page: the session row, and the user for
	// a user session, from the cookie.
	b.Run("load-user", func(b *testing.B) {
		r, w := benchRequest(nil), httptest.NewRecorder()
		sess, err := s.Get(r, "")
		if err != nil {
			b.Fatal(err)
		}
		sess.Values[dbsession.UserIDKey] = uid
		if err := sess.Save(r, w); err != nil {
			b.Fatal(err)
		}
		c := w.Result().Cookies()[0]
		var data []byte
		if err := db.Gorm.Raw("SELECT data FROM sessions WHERE id_hash = ?", dbsession.HashID(s.PresentedID(benchRequest(c)))).Row().Scan(&data); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			sess, err := s.Get(benchRequest(c), "")
			if err != nil || sess.IsNew {
				b.Fatal(err)
			}
		}
		// After the loop: b.Loop's first call drops metrics reported before.
		b.ReportMetric(float64(len(data)), "data-bytes/session")
	})
	// login is what the callback does (SaveRenewed: one round trip);
	// renew-then-save is the same with Renew and Save (two).
	for _, mode := range []string{"login", "renew-then-save"} {
		b.Run(mode, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				c := benchStart(b, s)
				b.StartTimer()
				r, w := benchRequest(c), httptest.NewRecorder()
				sess, err := s.Get(r, "")
				if err != nil || sess.IsNew {
					b.Fatal(err)
				}
				sess.Values[dbsession.UserIDKey] = uid
				delete(sess.Values, "login")
				if mode == "login" {
					err = s.SaveRenewed(r, w, sess)
				} else if err = s.Renew(r, sess); err == nil {
					err = sess.Save(r, w)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
