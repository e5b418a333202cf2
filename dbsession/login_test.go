package dbsession_test

import (
	"net/http/httptest"
	"sync"
	"testing"

	"wxlogin/dbsession"
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
			if errs[i] = s.SaveLogin(r, w, sess, "state-1"); errs[i] == nil {
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
	if err := s.SaveLogin(r, w, sess, "state-2"); err != nil {
		t.Fatal(err)
	}
	if c := w.Result().Cookies(); len(c) != 1 || "s="+c[0].Value == cookies[0] {
		t.Fatal("a second login reused the first login's session")
	}
	if n := count(); n != 2 {
		t.Fatalf("%d sessions after two logins, want 2", n)
	}
}
