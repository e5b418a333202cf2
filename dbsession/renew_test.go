package dbsession_test

import (
	"net/http/httptest"
	"testing"

	"wxlogin/dbsession"
	"wxlogin/testdb"
)

// SaveRenewed (the login's renew + save in one round trip) must do what
// Renew followed by Save does: a new id carrying the values, the old id dead.
func TestSaveRenewedEndsTheOldID(t *testing.T) {
	cases := []struct {
		name      string
		existing  bool // the browser had a logged-in session (a row)
		rowGone   bool // ... whose row vanished meanwhile (logout elsewhere)
		anonymous bool // the browser had a sealed anonymous session
	}{
		{"live session", true, false, false},
		{"no session yet", false, false, false},
		{"row already gone", true, true, false},
		{"sealed anonymous session", false, false, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := testdb.Open(t)
			s := newStore(t, db, dbsession.Config{})
			old := ""
			switch {
			case tc.existing:
				old = startUser(t, db, s, 1)
			case tc.anonymous:
				old = start(t, s, 0)
			}
			if tc.rowGone {
				if err := db.Gorm.Exec("DELETE FROM sessions").Error; err != nil {
					t.Fatal(err)
				}
			}
			r := request(old)
			sess, err := s.Get(r, "")
			if err != nil {
				t.Fatal(err)
			}
			sess.Values[mark] = int64(9)
			sess.Values[dbsession.UserIDKey] = userRow(t, db, 9)
			w := httptest.NewRecorder()
			if err := s.SaveRenewed(r, w, sess); err != nil {
				t.Fatal(err)
			}
			c := w.Result().Cookies()
			if len(c) != 1 || "s="+c[0].Value == old {
				t.Fatal("no new cookie")
			}
			if old != "" && uidOf(t, s, old) != 0 {
				t.Fatal("the pre-login id still loads a session")
			}
			if tc.anonymous && s.PresentedID(request(old)) == s.PresentedID(request("s="+c[0].Value)) {
				t.Fatal("the login kept the pre-login browser id")
			}
			if uidOf(t, s, "s="+c[0].Value) != 9 {
				t.Fatal("the renewed session does not load")
			}
			var rows int64
			if err := db.Gorm.Raw("SELECT count(*) FROM sessions").Scan(&rows).Error; err != nil || rows != 1 {
				t.Fatalf("%d session rows (%v), want exactly the new one", rows, err)
			}
		})
	}
}
