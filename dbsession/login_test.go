package dbsession_test

import (
	"net/http/httptest"
	"sync"
	"testing"

	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/testdb"
)

// TestSaveLoginOneSessionPerLogin: the duplicate requests of one login
// (same browser, same state), released together, write one session row and
// all send the same cookie; another state (another login) gets another
// session, and the pre-login id loads nothing. Before SaveLogin, each
// duplicate inserted a random session of its own.
func TestSaveLoginOneSessionPerLogin(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	anon := start(t, s, 0)
	uid := userRow(t, db, 9)
	const dups = 8
	var (
		wg      sync.WaitGroup
		release = make(chan struct{})
		cookies = make([]string, dups)
		errs    = make([]error, dups)
	)
	for i := range dups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := request(anon)
			sess, err := s.Get(r, "")
			if err != nil {
				errs[i] = err
				return
			}
			sess.Values[dbsession.UserIDKey] = uid
			sess.Values[mark] = int64(9)
			w := httptest.NewRecorder()
			<-release
			if errs[i] = s.SaveLogin(r, w, sess, "state-1", nil); errs[i] == nil {
				if c := w.Result().Cookies(); len(c) == 1 {
					cookies[i] = "s=" + c[0].Value
				}
			}
		}()
	}
	close(release)
	wg.Wait()
	for i := range dups {
		if errs[i] != nil || cookies[i] == "" || cookies[i] != cookies[0] {
			t.Fatalf("duplicate %d: err %v cookie %q, want the first's %q", i, errs[i], cookies[i], cookies[0])
		}
	}
	count := func() (n int64) {
		t.Helper()
		if err := db.Gorm.Raw("SELECT count(*) FROM sessions WHERE user_id = ?", uid).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := count(); n != 1 {
		t.Fatalf("%d live sessions after %d duplicates of one login, want 1", n, dups)
	}
	if uidOf(t, s, cookies[0]) != 9 {
		t.Fatal("the login's session does not load")
	}
	if s.PresentedID(request(anon)) == s.PresentedID(request(cookies[0])) {
		t.Fatal("the login kept the pre-login id")
	}

	// Another login of the same browser (a new state) is another session.
	r := request(anon)
	sess, err := s.Get(r, "")
	if err != nil {
		t.Fatal(err)
	}
	sess.Values[dbsession.UserIDKey] = uid
	w := httptest.NewRecorder()
	if err := s.SaveLogin(r, w, sess, "state-2", nil); err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies(); len(c) != 1 || "s="+c[0].Value == cookies[0] {
		t.Fatal("a second login reused the first login's session")
	}
	if n := count(); n != 2 {
		t.Fatalf("%d sessions after two logins, want 2", n)
	}
}

// TestLoginRowWrittenWithTheLogin: the row LoginRow gives is the row
// SaveLogin would have written, so when the login's statement has stored it
// (the exchange's owner) SaveLogin only sends the cookie: no write of its own,
// the same cookie as SaveLogin's own, and the session loads with its
// values. A browser with a session row of its own gets no row (SaveLogin
// replaces that row itself).
func TestLoginRowWrittenWithTheLogin(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	anon := start(t, s, 0)
	uid := userRow(t, db, 7)

	login := func(written bool) (cookie string, writes int64) {
		t.Helper()
		r := request(anon)
		sess, err := s.Get(r, "")
		if err != nil {
			t.Fatal(err)
		}
		sess.Values[mark] = int64(7)
		row, ok := s.LoginRow(r, sess, sess.Values, "state-row")
		if !ok {
			t.Fatal("no login row for an anonymous browser")
		}
		var before int64
		if err := db.Gorm.Raw("SELECT count(*) FROM sessions").Scan(&before).Error; err != nil {
			t.Fatal(err)
		}
		var done *models.Session
		if written {
			// The owner's statement stored the row (left out here, so that
			// a write by SaveLogin, which would ignore an existing row,
			// shows as a new row).
			done = row
		}
		sess.Values[dbsession.UserIDKey] = uid
		w := httptest.NewRecorder()
		if err := s.SaveLogin(r, w, sess, "state-row", done); err != nil {
			t.Fatal(err)
		}
		var after int64
		if err := db.Gorm.Raw("SELECT count(*) FROM sessions").Scan(&after).Error; err != nil {
			t.Fatal(err)
		}
		c := w.Result().Cookies()
		if len(c) != 1 {
			t.Fatalf("%d cookies, want 1", len(c))
		}
		if err := db.Gorm.Exec("DELETE FROM sessions").Error; err != nil {
			t.Fatal(err)
		}
		return "s=" + c[0].Value, after - before
	}
	own, ownWrites := login(false)
	adopted, adoptedWrites := login(true)
	if own != adopted || ownWrites != 1 || adoptedWrites != 0 {
		t.Fatalf("SaveLogin's own write: cookie %q, %d rows; with the row written: cookie %q, %d rows; want one cookie, 1 and 0", own, ownWrites, adopted, adoptedWrites)
	}

	// The adopted session loads, with its values.
	r := request(anon)
	sess, _ := s.Get(r, "")
	sess.Values[mark] = int64(7)
	row, _ := s.LoginRow(r, sess, sess.Values, "state-loads")
	stored := *row
	stored.UserID = &uid
	if err := db.InsertSession(t.Context(), &stored); err != nil {
		t.Fatal(err)
	}
	sess.Values[dbsession.UserIDKey] = uid
	w := httptest.NewRecorder()
	if err := s.SaveLogin(r, w, sess, "state-loads", row); err != nil {
		t.Fatal(err)
	}
	if uidOf(t, s, "s="+w.Result().Cookies()[0].Value) != 7 {
		t.Fatal("the session written with the login does not load")
	}

	// A logged-in browser logging in again: its row is replaced by SaveLogin.
	r = request("s=" + w.Result().Cookies()[0].Value)
	sess, _ = s.Get(r, "")
	if _, ok := s.LoginRow(r, sess, sess.Values, "state-again"); ok {
		t.Fatal("a login row for a browser whose own row the login must replace")
	}
}
