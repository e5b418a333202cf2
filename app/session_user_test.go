package app

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The profile page reads the session and its user in one statement
// (dbsession.LoadedUser). A user found disabled there — the flag set while
// a session row of theirs still exists, as a page load racing the admin's
// "disable" sees it — is logged out on the spot and the row ends, as when
// the user was read on its own.
func TestDisabledUserSeenWithTheSessionIsLoggedOut(t *testing.T) {
	e := newEnv(t)
	a := e.start("a", nil, Options{})
	br := newBrowser(t)
	e.login(br, a, "english")
	cookie := br.jarCookie(a)
	if !loggedIn(t, a, cookie) {
		t.Fatal("not logged in")
	}
	uid := e.userIDOf(a, "english")
	db := a.App.DB.Gorm
	if err := db.Exec("UPDATE users SET disabled = ? WHERE id = ?", true, uid).Error; err != nil {
		t.Fatal(err)
	}
	if loggedIn(t, a, cookie) {
		t.Fatal("a disabled user's page was shown")
	}
	var rows int64
	if err := db.Raw("SELECT count(*) FROM sessions WHERE user_id = ?", uid).Scan(&rows).Error; err != nil || rows != 0 {
		t.Fatalf("%d session rows left (%v): the session was not ended", rows, err)
	}
	if err := db.Exec("UPDATE users SET disabled = ? WHERE id = ?", false, uid).Error; err != nil {
		t.Fatal(err)
	}
	if loggedIn(t, a, cookie) {
		t.Fatal("the ended session came back when the user was enabled again")
	}
}

// previousVersionRow is a logged-in session's data as the previous version
// wrote it (gob of Values: uid 1 and one login state of another tab,
// []handlers.loginState), produced by that version's code.
const previousVersionRow = "0d7f040102ff80000110011000004fff80000206737472696e670c05000375696405696e7436340402000206737472696e670c0700056c6f67696e155b5d68616e646c6572732e6c6f67696e5374617465ff83020102ff840001ff82000059ff810301010a6c6f67696e537461746501ff8200010601055374617465010c0001044e657874010c00010553636f7065010c000107437265617465640104000107417474656d7074010400010752656672657368010200000047ff844400010120303132333435363738396162636465663031323334353637383961626364656601082f70726f66696c65010b736e736170695f6261736501fcd24cbe40010200"

// A session row written by the previous version (gob) keeps working after
// the deploy: the page shows its user (the id comes from the user_id
// column), and a new login started from it (刷新资料: the entry saves the
// session, the callback replaces its row) works and writes the new format.
func TestSessionRowOfThePreviousVersionKeepsWorking(t *testing.T) {
	e := newEnv(t)
	a := e.start("a", nil, Options{})
	br := newBrowser(t)
	e.login(br, a, "english")
	uid := e.userIDOf(a, "english")
	old, err := hex.DecodeString(previousVersionRow)
	if err != nil {
		t.Fatal(err)
	}
	db := a.App.DB.Gorm
	if err := db.Exec("UPDATE sessions SET data = ? WHERE user_id = ?", old, uid).Error; err != nil {
		t.Fatal(err)
	}
	if !loggedIn(t, a, br.jarCookie(a)) {
		t.Fatal("the previous version's session no longer logs in")
	}
	p := br.get(a.URL + "/wechat/entry?next=%2Fprofile&refresh=1")
	if p.Status != http.StatusFound || !strings.Contains(p.Location, "state=") {
		t.Fatalf("refresh from the old session: %d %q", p.Status, p.Location)
	}
	var data []byte
	if err := db.Raw("SELECT data FROM sessions WHERE user_id = ?", uid).Row().Scan(&data); err != nil {
		t.Fatal(err)
	}
	if len(data) == 0 || data[0] != 0x81 {
		t.Fatalf("the session was saved as %x, not in the new format", data)
	}
	if p := br.get(e.authorize(p.Location, "english", "allow")); p.Status != http.StatusFound || p.Location != "/profile" {
		t.Fatalf("callback of the refresh: %d %q", p.Status, p.Location)
	}
	if !loggedIn(t, a, br.jarCookie(a)) {
		t.Fatal("not logged in after the refresh")
	}
}

// previousVersionPreLogin is a pre-login session's Values as the previous
// version sealed them into the cookie (gob: one login state,
// []handlers.loginState), produced by that version's code.
const previousVersionPreLogin = "0d7f040102ff800001100110000037ff80000106737472696e670c0700056c6f67696e155b5d68616e646c6572732e6c6f67696e5374617465ff83020102ff840001ff82000059ff810301010a6c6f67696e537461746501ff8200010601055374617465010c0001044e657874010c00010553636f7065010c000107437265617465640104000107417474656d7074010400010752656672657368010200000047ff844400010120303132333435363738396162636465663031323334353637383961626364656601082f70726f66696c65010b736e736170695f6261736501fcd24cbe40010200"

// sealPreviousVersion seals gob Values into a pre-login cookie as the
// previous version's dbsession did (sealed.go: AES-256-GCM under the HKDF
// of the first SESSION_KEYS entry; sealing time, browser id, gob).
func sealPreviousVersion(t *testing.T, gobHex string, at time.Time) string {
	t.Helper()
	key, _ := hex.DecodeString(testSessionKey)
	values, _ := hex.DecodeString(gobHex)
	dk, err := hkdf.Key(sha256.New, key, nil, "wxlogin dbsession anonymous session AES-256-GCM v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(dk)
	if err != nil {
		t.Fatal(err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	browser := make([]byte, 32)
	_, _ = rand.Read(browser)
	plain := binary.BigEndian.AppendUint64(nil, uint64(at.Unix()))
	plain = append(append(plain, browser...), values...)
	out := make([]byte, aead.NonceSize())
	_, _ = rand.Read(out)
	out = aead.Seal(out, out, plain, []byte("user\x00"+cookieName))
	return "a1." + base64.RawURLEncoding.EncodeToString(out)
}

// A pre-login cookie sealed by the previous version (gob, with handlers'
// old login state type) still opens, and a page that saves it without
// touching the login states (the computer's /login/qr, which seals it again
// to bind its code to this browser) stores it in the new format instead of
// failing on the old type.
func TestPreLoginCookieOfThePreviousVersionKeepsWorking(t *testing.T) {
	e := newEnv(t)
	a := e.start("a", nil, Options{})
	pc := newComputer(t)
	pc.jar.SetCookies(mustURL(t, a.URL), []*http.Cookie{{Name: cookieName, Value: sealPreviousVersion(t, previousVersionPreLogin, time.Now()), Path: "/"}})
	showCode(t, pc, a)
}
