package main

import (
	"bytes"
	"context"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/tokencrypt"
)

// TestRotateTokenKey walks a TOKEN_KEY rotation: tokens sealed with the old
// key are re-sealed with the new one (same plaintext, bound to the same
// openid), tokens already on the new key and users without tokens are left
// alone, tokens of an unknown key are reported (exit 1) and kept, and a
// second run has nothing left to do. Afterwards the new key alone opens
// every token.
func TestRotateTokenKey(t *testing.T) {
	url := adminEnv(t)
	ctx := context.Background()
	oldKey, newKey, lostKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	sealer := func(keys ...[]byte) *tokencrypt.Sealer {
		s, err := tokencrypt.New(keys)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	db, err := models.Open(ctx, url, "", models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()

	type user struct {
		openid string
		key    []byte // nil: no tokens
	}
	users := []user{{"o-old-1", oldKey}, {"o-old-2", oldKey}, {"o-new", newKey}, {"o-lost", lostKey}, {"o-none", nil}}
	stored := map[string]models.SealedTokens{}
	for _, u := range users {
		l := models.Login{OpenID: u.openid, Scope: "snsapi_base", At: time.Now()}
		if u.key != nil {
			s := sealer(u.key)
			l.AccessTokenEnc, _ = s.Seal([]byte("AT-"+u.openid), []byte(u.openid))
			l.RefreshTokenEnc, _ = s.Seal([]byte("RT-"+u.openid), []byte(u.openid))
		}
		if _, _, err := db.RecordLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
		stored[u.openid] = models.SealedTokens{OpenID: u.openid, Access: l.AccessTokenEnc, Refresh: l.RefreshTokenEnc}
	}
	read := func(openid string) models.SealedTokens {
		u, err := db.UserByOpenID(ctx, openid)
		if err != nil {
			t.Fatal(err)
		}
		return models.SealedTokens{ID: u.ID, OpenID: openid, Access: u.AccessTokenEnc, Refresh: u.RefreshTokenEnc}
	}

	t.Setenv("TOKEN_KEY", hex.EncodeToString(newKey)+","+hex.EncodeToString(oldKey))
	code, out, errOut := runCmd("", "rotate-token-key")
	if code != 1 || !strings.Contains(out, "re-sealed with the newest key: 2;") || !strings.Contains(out, "unreadable: 1") {
		t.Fatalf("first run: exit %d\n%s%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "add that key back") {
		t.Fatalf("no advice for the unreadable tokens: %s", errOut)
	}
	newOnly := sealer(newKey)
	for _, u := range users {
		got := read(u.openid)
		switch {
		case u.key == nil:
			if got.Access != nil || got.Refresh != nil {
				t.Fatalf("%s: tokens appeared", u.openid)
			}
		case bytes.Equal(u.key, lostKey) || bytes.Equal(u.key, newKey):
			if !bytes.Equal(got.Access, stored[u.openid].Access) || !bytes.Equal(got.Refresh, stored[u.openid].Refresh) {
				t.Fatalf("%s: tokens rewritten", u.openid)
			}
		default:
			for name, ct := range map[string][]byte{"AT-": got.Access, "RT-": got.Refresh} {
				pt, err := newOnly.Open(ct, []byte(u.openid))
				if err != nil || string(pt) != name+u.openid {
					t.Fatalf("%s: re-sealed token does not open with the new key alone: %v", u.openid, err)
				}
				if _, err := newOnly.Open(ct, []byte("another-openid")); err == nil {
					t.Fatalf("%s: re-sealed token no longer bound to its openid", u.openid)
				}
			}
		}
	}

	// The lost key's tokens are dropped (those users log in again); the
	// second run has nothing left to do.
	if err := db.Gorm.Exec("UPDATE users SET access_token_enc = NULL, refresh_token_enc = NULL WHERE openid = 'o-lost'").Error; err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCmd("", "rotate-token-key")
	if code != 0 || !strings.Contains(out, "re-sealed with the newest key: 0;") || !strings.Contains(out, "already on it: 3;") {
		t.Fatalf("second run: exit %d\n%s%s", code, out, errOut)
	}

	// A row rewritten by a login between read and write is left alone.
	stale := read("o-new")
	fresh, _ := newOnly.Seal([]byte("AT-login"), []byte("o-new"))
	if err := db.Gorm.Exec("UPDATE users SET access_token_enc = ? WHERE id = ?", fresh, stale.ID).Error; err != nil {
		t.Fatal(err)
	}
	if ok, err := db.ResealTokens(ctx, stale, []byte("x"), []byte("y")); ok || err != nil {
		t.Fatalf("stale re-seal applied: %v %v", ok, err)
	}
	if got := read("o-new"); !bytes.Equal(got.Access, fresh) {
		t.Fatal("the login's fresh token was overwritten")
	}
}

// The rotation runs on the development SQLite database too.
func TestRotateTokenKeySQLite(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DATABASE_URL", "")
	t.Setenv("DATA_DIR", dir)
	t.Setenv("WECHAT_APPID", "")
	ctx := context.Background()
	oldKey, newKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	db, err := models.Open(ctx, "", dir, models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	old, _ := tokencrypt.New([][]byte{oldKey})
	at, _ := old.Seal([]byte("AT"), []byte("o1"))
	if _, _, err := db.RecordLogin(ctx, models.Login{OpenID: "o1", Scope: "snsapi_base", AccessTokenEnc: at, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TOKEN_KEY", hex.EncodeToString(newKey)+","+hex.EncodeToString(oldKey))
	if code, out, errOut := runCmd("", "rotate-token-key"); code != 0 || !strings.Contains(out, "re-sealed with the newest key: 1;") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	u, err := db.UserByOpenID(ctx, "o1")
	if err != nil {
		t.Fatal(err)
	}
	newOnly, _ := tokencrypt.New([][]byte{newKey})
	if pt, err := newOnly.Open(u.AccessTokenEnc, []byte("o1")); err != nil || string(pt) != "AT" || len(u.RefreshTokenEnc) != 0 {
		t.Fatalf("after rotation: %q %v (refresh %v)", pt, err, u.RefreshTokenEnc)
	}
}

// The rotation re-seals the mini program's session keys too, still bound
// to their identity; a key of an unknown TOKEN_KEY is reported and kept.
func TestRotateTokenKeyResealsSessionKeys(t *testing.T) {
	url := adminEnv(t)
	ctx := context.Background()
	oldKey, newKey, lostKey := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32), bytes.Repeat([]byte{3}, 32)
	db, err := models.Open(ctx, url, "", models.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	seal := func(key []byte, openid string) []byte {
		s, err := tokencrypt.New([][]byte{key})
		if err != nil {
			t.Fatal(err)
		}
		ct, _ := s.Seal([]byte("SK-"+openid), []byte("mini:"+openid))
		return ct
	}
	for openid, key := range map[string][]byte{"m-old": oldKey, "m-new": newKey, "m-lost": lostKey} {
		l := models.Login{App: models.AppMini, OpenID: openid, SessionKeyEnc: seal(key, openid), At: time.Now()}
		if _, _, err := db.RecordLogin(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("TOKEN_KEY", hex.EncodeToString(newKey)+","+hex.EncodeToString(oldKey))
	code, out, errOut := runCmd("", "rotate-token-key")
	if code != 1 || !strings.Contains(out, "mini program session keys: 3; re-sealed: 1; already on the newest key: 1;") ||
		!strings.Contains(out, "; unreadable: 1\n") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	keys, err := db.SealedSessionKeysAfter(ctx, 0, 10)
	if err != nil || len(keys) != 3 {
		t.Fatalf("%d keys, %v", len(keys), err)
	}
	newOnly, _ := tokencrypt.New([][]byte{newKey})
	for _, k := range keys {
		pt, err := newOnly.Open(k.Enc, []byte("mini:"+k.OpenID))
		if (err == nil) == (k.OpenID == "m-lost") || (err == nil && string(pt) != "SK-"+k.OpenID) {
			t.Fatalf("%s: opens with the new key alone: %v", k.OpenID, err)
		}
	}
}
