package dbsession_test

import (
	"bytes"
	"encoding/gob"
	"net/http/httptest"
	"testing"
	"time"

	"wxlogin/dbsession"
	"wxlogin/models"
	"wxlogin/testdb"
)

// rowData is the data column of the session named by cookie.
func rowData(t *testing.T, db *models.DB, s *dbsession.Store, cookie string) []byte {
	t.Helper()
	var data []byte
	if err := db.Gorm.Raw("SELECT data FROM sessions WHERE id_hash = ?", dbsession.HashID(s.PresentedID(request(cookie)))).
		Row().Scan(&data); err != nil {
		t.Fatal(err)
	}
	return data
}

// A logged-in session holding only its user stores no data: the id is the
// user_id column, and comes back from it.
func TestLoggedInSessionStoresNoData(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	uid := userRow(t, db, 5)
	cookie := startWith(t, s, map[any]any{dbsession.UserIDKey: uid})
	if data := rowData(t, db, s, cookie); len(data) != 0 {
		t.Fatalf("%d bytes of data (%x) for a session holding only its user", len(data), data)
	}
	sess, err := s.Get(request(cookie), "")
	if err != nil || sess.IsNew {
		t.Fatal(err)
	}
	if got, _ := sess.Values[dbsession.UserIDKey].(int64); got != uid || len(sess.Values) != 1 {
		t.Fatalf("values %v, want only the user %d", sess.Values, uid)
	}
	// Other values stay in data.
	withMark := startWith(t, s, map[any]any{dbsession.UserIDKey: uid, mark: int64(5)})
	if data := rowData(t, db, s, withMark); len(data) == 0 || len(data) > 8 {
		t.Fatalf("%d bytes for one small value", len(data))
	}
	if got := uidOf(t, s, withMark); got != 5 {
		t.Fatalf("mark %d", got)
	}
}

// A row the previous version wrote (gob data, the user in it and in the
// column) still loads: sessions live during a deploy survive it.
func TestRowOfThePreviousVersionLoads(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	uid := userRow(t, db, 6)
	cookie := startWith(t, s, map[any]any{dbsession.UserIDKey: uid})
	var old bytes.Buffer
	if err := gob.NewEncoder(&old).Encode(map[any]any{dbsession.UserIDKey: uid, mark: int64(6)}); err != nil {
		t.Fatal(err)
	}
	if err := db.Gorm.Exec("UPDATE sessions SET data = ?", old.Bytes()).Error; err != nil {
		t.Fatal(err)
	}
	r := request(cookie)
	sess, err := s.Get(r, "")
	if err != nil || sess.IsNew {
		t.Fatal(err)
	}
	if got, _ := sess.Values[dbsession.UserIDKey].(int64); got != uid || sess.Values[mark] != int64(6) {
		t.Fatalf("values %v", sess.Values)
	}
	// Saving it again writes the new format.
	if err := sess.Save(r, httptest.NewRecorder()); err != nil {
		t.Fatal(err)
	}
	if data := rowData(t, db, s, cookie); bytes.Equal(data, old.Bytes()) || len(data) == 0 || data[0] != 0x81 {
		t.Fatalf("data after save: %x", data)
	}
	if got := uidOf(t, s, cookie); got != 6 {
		t.Fatalf("mark %d after the rewrite", got)
	}
}

// LoadedUser: a user session's row comes with its user (one statement),
// which the handlers use instead of reading the user again; nothing when
// the session was saved in the request, for another user id, or for
// another kind of store.
func TestLoadedUser(t *testing.T) {
	db := testdb.Open(t)
	s := newStore(t, db, dbsession.Config{})
	uid := userRow(t, db, 7)
	cookie := startWith(t, s, map[any]any{dbsession.UserIDKey: uid})

	r := request(cookie)
	if _, err := s.Get(r, ""); err != nil {
		t.Fatal(err)
	}
	u, ok := s.LoadedUser(r, uid)
	if !ok || u == nil || u.ID != uid || u.OpenID != "o7" || u.Disabled {
		t.Fatalf("LoadedUser %+v, %v", u, ok)
	}
	if _, ok := s.LoadedUser(r, uid+1); ok {
		t.Fatal("a loaded user for another id")
	}
	sess, _ := s.Get(r, "")
	if err := sess.Save(r, httptest.NewRecorder()); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.LoadedUser(r, uid); ok {
		t.Fatal("a loaded user after a save: the saved session may name another user")
	}

	// A disabled user comes back as such: the handlers end the session.
	// (Disabling ends the user's sessions too; a session read in between
	// sees the flag.)
	if err := db.Gorm.Exec("UPDATE users SET disabled = ? WHERE id = ?", true, uid).Error; err != nil {
		t.Fatal(err)
	}
	r = request(cookie)
	if _, err := s.Get(r, ""); err != nil {
		t.Fatal(err)
	}
	if u, ok := s.LoadedUser(r, uid); !ok || u == nil || !u.Disabled {
		t.Fatalf("disabled user: %+v, %v", u, ok)
	}

	// Anonymous: nothing.
	r = request(start(t, s, 1))
	if _, err := s.Get(r, ""); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.LoadedUser(r, uid); ok {
		t.Fatal("a loaded user for an anonymous session")
	}

	// Another kind of store reads no user.
	admins := newStore(t, db, dbsession.Config{Kind: "admin", CookieName: "a", Idle: time.Hour, MaxAge: 3 * time.Hour})
	r = request("")
	if _, ok := admins.LoadedUser(r, uid); ok {
		t.Fatal("admin store")
	}
}
