package models_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// webLogin is a web login of openid: snsapi_userinfo (with a profile) when
// unionid is given, a silent snsapi_base one (no unionid, WeChat gives
// none) otherwise. refresh marks 分享昵称和头像 by a logged-in person.
func webLogin(openid, unionid string, at time.Time, refresh bool) models.Login {
	l := login(openid, at, nil)
	if unionid != "" {
		l.Scope, l.UnionID = "snsapi_userinfo", unionid
		l.Profile = &models.Profile{Nickname: "网页" + openid, AvatarURL: "https://wx.qlogo.cn/x/0", Privilege: "[]"}
	}
	l.App, l.AppID, l.Refresh = models.AppOA, "wxoa", refresh
	return l
}

func miniAppLogin(openid, unionid string, at time.Time) models.Login {
	return models.Login{App: models.AppMini, AppID: "wxmini", OpenID: openid, UnionID: unionid, SessionKeyEnc: []byte("k"), At: at}
}

// mergeStep is one step of a person's history: a login, or an admin
// disabling the user who has the identity (app, openid).
type mergeStep struct {
	login   models.Login
	disable string // "oa" or "mini": disable that identity's user instead of logging in
	openid  string
}

func countRows(t *testing.T, db *models.DB, q string, args ...any) int64 {
	t.Helper()
	var n int64
	if err := db.Gorm.Raw(q, args...).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

func identityUser(t *testing.T, db *models.DB, app, openid string) int64 {
	t.Helper()
	var ids []int64
	if err := db.Gorm.Raw(`SELECT user_id FROM identities WHERE app = ? AND openid = ?`, app, openid).Scan(&ids).Error; err != nil {
		t.Fatal(err)
	}
	if len(ids) != 1 {
		t.Fatalf("no %s identity %s", app, openid)
	}
	return ids[0]
}

// Identities with the same unionid are one user, whichever came first and
// whenever WeChat first gives the unionid — also when the web identity's
// first login was silent (no unionid) and two users already existed.
func TestOnePersonOneUserInAnyOrder(t *testing.T) {
	const union = "uPerson"
	t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	tests := []struct {
		name        string
		steps       []mergeStep
		users       int64
		count       int  // the one user's login count (users == 1)
		disabled    bool // the last login's answer and the user's flag
		merges      int64
		oaLinked    string
		miniLinked  string
		webSurvives bool // the survivor is the web identity's first user
	}{
		{name: "mini, web base, web userinfo", steps: []mergeStep{
			{login: miniAppLogin("oMini", union, at(0))}, {login: webLogin("oWeb", "", at(1), false)}, {login: webLogin("oWeb", union, at(2), false)}},
			users: 1, count: 3, merges: 1, oaLinked: models.LinkedFirst, miniLinked: models.LinkedUnionID, webSurvives: true},
		{name: "mini, web base, share (refresh)", steps: []mergeStep{
			{login: miniAppLogin("oMini", union, at(0))}, {login: webLogin("oWeb", "", at(1), false)}, {login: webLogin("oWeb", union, at(2), true)}},
			users: 1, count: 2, merges: 1, oaLinked: models.LinkedFirst, miniLinked: models.LinkedUnionID, webSurvives: true},
		{name: "web userinfo, mini", steps: []mergeStep{
			{login: webLogin("oWeb", union, at(0), false)}, {login: miniAppLogin("oMini", union, at(1))}},
			users: 1, count: 2, oaLinked: models.LinkedFirst, miniLinked: models.LinkedUnionID, webSurvives: true},
		{name: "mini, web userinfo", steps: []mergeStep{
			{login: miniAppLogin("oMini", union, at(0))}, {login: webLogin("oWeb", union, at(1), false)}},
			users: 1, count: 2, oaLinked: models.LinkedUnionID, miniLinked: models.LinkedFirst},
		{name: "mini without unionid, web userinfo, mini with unionid", steps: []mergeStep{
			{login: miniAppLogin("oMini", "", at(0))}, {login: webLogin("oWeb", union, at(1), false)}, {login: miniAppLogin("oMini", union, at(2))}},
			users: 1, count: 3, merges: 1, oaLinked: models.LinkedFirst, miniLinked: models.LinkedUnionID, webSurvives: true},
		{name: "web base only, mini", steps: []mergeStep{
			{login: webLogin("oWeb", "", at(0), false)}, {login: miniAppLogin("oMini", union, at(1))}, {login: webLogin("oWeb", "", at(2), false)}},
			users: 2},
		{name: "no unionid anywhere", steps: []mergeStep{
			{login: miniAppLogin("oMini", "", at(0))}, {login: webLogin("oWeb", "", at(1), false)},
			{login: func() models.Login { l := webLogin("oWeb", "", at(2), false); l.Scope = "snsapi_userinfo"; return l }()}},
			users: 2},
		{name: "mini user disabled, then merged", steps: []mergeStep{
			{login: miniAppLogin("oMini", union, at(0))}, {login: webLogin("oWeb", "", at(1), false)},
			{disable: models.AppMini, openid: "oMini"}, {login: webLogin("oWeb", union, at(2), false)}},
			users: 1, count: 2, disabled: true, merges: 1, oaLinked: models.LinkedFirst, miniLinked: models.LinkedUnionID, webSurvives: true},
		{name: "web user disabled, then merged by the mini program", steps: []mergeStep{
			{login: miniAppLogin("oMini", "", at(0))}, {login: webLogin("oWeb", union, at(1), false)},
			{disable: models.AppOA, openid: "oWeb"}, {login: miniAppLogin("oMini", union, at(2))}},
			users: 1, count: 2, disabled: true, merges: 1, oaLinked: models.LinkedFirst, miniLinked: models.LinkedUnionID, webSurvives: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bothDialects(t, func(t *testing.T, db *models.DB) {
				ctx := context.Background()
				var firstWeb, firstMini int64
				var disabled bool
				for i, s := range tt.steps {
					if s.disable != "" {
						if err := db.SetUserDisabled(ctx, identityUser(t, db, s.disable, s.openid), true); err != nil {
							t.Fatal(err)
						}
						continue
					}
					id, dis, err := db.RecordLogin(ctx, s.login)
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					disabled = dis
					if s.login.App == models.AppOA && firstWeb == 0 {
						firstWeb = id
					}
					if s.login.App == models.AppMini && firstMini == 0 {
						firstMini = id
					}
					if got := identityUser(t, db, s.login.App, s.login.OpenID); got != id {
						t.Fatalf("step %d: RecordLogin said user %d, the identity is user %d's", i, id, got)
					}
				}
				if n := countRows(t, db, `SELECT COUNT(*) FROM users`); n != tt.users {
					t.Fatalf("%d users, want %d", n, tt.users)
				}
				if n := countRows(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = ? AND admin_name = ?`, models.AuditUserMerge, models.SystemActor); n != tt.merges {
					t.Fatalf("%d merges in the audit log, want %d", n, tt.merges)
				}
				if tt.users != 1 {
					if disabled {
						t.Fatal("a login was refused")
					}
					return
				}
				var u models.User
				if err := db.Gorm.Take(&u).Error; err != nil {
					t.Fatal(err)
				}
				if disabled != tt.disabled || u.Disabled != tt.disabled {
					t.Fatalf("disabled: the login said %v, the user %v; want %v", disabled, u.Disabled, tt.disabled)
				}
				if u.LoginCount != tt.count || u.OpenID != "oWeb" || u.UnionID == nil || *u.UnionID != union || !u.CreatedAt.Equal(t0) {
					t.Fatalf("user: count %d openid %q unionid %v created %v; want %d, oWeb, %s, %v",
						u.LoginCount, u.OpenID, u.UnionID, u.CreatedAt, tt.count, union, t0)
				}
				if tt.webSurvives && u.ID != firstWeb {
					t.Fatalf("user %d survived, want the web user %d", u.ID, firstWeb)
				}
				if tt.merges > 0 {
					if _, err := db.UserByID(ctx, firstMini); !errors.Is(err, models.ErrNotFound) {
						t.Fatalf("the merged-away user %d: %v, want not found", firstMini, err)
					}
				}
				idents, err := db.UserIdentities(ctx, u.ID)
				if err != nil || len(idents) != 2 {
					t.Fatalf("identities %+v, %v", idents, err)
				}
				for _, id := range idents {
					want := map[string]string{models.AppOA: tt.oaLinked, models.AppMini: tt.miniLinked}[id.App]
					if id.LinkedBy != want {
						t.Fatalf("%s identity linked by %q, want %q", id.App, id.LinkedBy, want)
					}
				}
				if tt.disabled {
					if n := countRows(t, db, `SELECT COUNT(*) FROM sessions WHERE user_id = ?`, u.ID); n != 0 {
						t.Fatalf("a disabled merged user has %d sessions", n)
					}
				}
			})
		})
	}
}

// A merge moves everything of the disappearing user: its mini program
// bearer sessions, its exchanges (the gate's duplicates read the user from
// the claim row), its QR logins; the web user's sessions stay. The web's
// fresh profile wins; the merge is in the audit log.
func TestMergeMovesSessionsExchangesAndQRLogins(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		mini, _ := finishExchange(t, db, "code-mini", miniAppLogin("oMini", "uP", t0))
		web, _ := finishExchange(t, db, "code-web", webLogin("oWeb", "", t0.Add(time.Minute), false))
		if mini == web {
			t.Fatal("one user before the unionid is known")
		}
		for _, s := range []struct {
			hash, kind string
			user       int64
		}{{"bearer-mini", models.SessionMiniProgram, mini}, {"cookie-web", models.SessionUser, web}} {
			uid := s.user
			if err := db.InsertSession(ctx, &models.Session{IDHash: s.hash, Kind: s.kind, UserID: &uid, Data: []byte{1},
				CreatedAt: t0, LastSeenAt: time.Now(), ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Gorm.Exec(`INSERT INTO qr_logins (ticket_hash, browser_hash, status, user_id, created_at, expires_at)
		    VALUES ('t', 'b', 'scanned', ?, ?, ?)`, mini, t0, t0.Add(time.Hour)).Error; err != nil {
			t.Fatal(err)
		}

		got, disabled := finishExchange(t, db, "code-share", webLogin("oWeb", "uP", t0.Add(2*time.Minute), true))
		if got != web || disabled {
			t.Fatalf("the share's login: user %d disabled %v, want %d", got, disabled, web)
		}
		for _, h := range []struct{ hash, kind string }{{"bearer-mini", models.SessionMiniProgram}, {"cookie-web", models.SessionUser}} {
			s, err := db.SessionByHash(ctx, h.hash, h.kind)
			if err != nil || s.UserID == nil || *s.UserID != web {
				t.Fatalf("session %s after the merge: %+v %v", h.hash, s, err)
			}
		}
		for _, code := range []string{"code-mini", "code-web", "code-share"} {
			x, err := db.ExchangeByCode(ctx, code)
			if err != nil || x.UserID == nil || *x.UserID != web {
				t.Fatalf("exchange %s after the merge: %+v %v", code, x, err)
			}
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM qr_logins WHERE user_id = ?`, web); n != 1 {
			t.Fatalf("the QR login was not moved (%d)", n)
		}
		u, err := db.UserByID(ctx, web)
		if err != nil {
			t.Fatal(err)
		}
		if u.Nickname != "网页oWeb" || u.LoginCount != 2 || !u.LastLoginAt.Equal(t0.Add(time.Minute)) || !u.CreatedAt.Equal(t0) {
			t.Fatalf("merged user: nick %q count %d last %v created %v", u.Nickname, u.LoginCount, u.LastLoginAt, u.CreatedAt)
		}
		if _, err := db.UserByID(ctx, mini); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("the mini program's user: %v", err)
		}
		entries, _, err := db.ListAudit(ctx, models.AuditUserMerge, 0, 10)
		if err != nil || len(entries) != 1 || entries[0].AdminName != models.SystemActor || entries[0].AdminID != nil ||
			entries[0].Target != fmt.Sprintf("user:%d oWeb", web) {
			t.Fatalf("audit: %+v %v", entries, err)
		}
	})
}

// An admin's 刷新资料 that brings the unionid merges too.
func TestProfileRefreshWithUnionIDMerges(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now()
		mini, _, err := db.RecordLogin(ctx, miniAppLogin("oMini", "uP", now))
		if err != nil {
			t.Fatal(err)
		}
		web, _, err := db.RecordLogin(ctx, webLogin("oWeb", "", now, false))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.UpdateProfile(ctx, web, models.Profile{Nickname: "刷新", Privilege: "[]"}, "uP", nil, time.Time{}, nil, time.Time{}); err != nil {
			t.Fatal(err)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM users`); n != 1 {
			t.Fatalf("%d users", n)
		}
		if got := identityUser(t, db, models.AppMini, "oMini"); got != web {
			t.Fatalf("the mini identity is user %d's, want %d (was %d)", got, web, mini)
		}
	})
}

// Logins of one person racing in both apps, with two users to merge:
// exactly one user with both identities, every login counted once.
func TestConcurrentLoginsMergeIntoOneUser(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	const people, each = 8, 3
	now := time.Now().UTC().Truncate(time.Second)
	webIDs := make([]int64, people)
	for p := range people {
		union, oa, mini := fmt.Sprintf("u%d", p), fmt.Sprintf("oWeb%d", p), fmt.Sprintf("oMini%d", p)
		if _, _, err := db.RecordLogin(ctx, miniAppLogin(mini, union, now)); err != nil {
			t.Fatal(err)
		}
		id, _, err := db.RecordLogin(ctx, webLogin(oa, "", now, false))
		if err != nil {
			t.Fatal(err)
		}
		webIDs[p] = id
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM users`); n != 2*people {
		t.Fatalf("%d users before the race", n)
	}
	start := make(chan struct{})
	errs := make(chan error, people*(3*each+1))
	var wg sync.WaitGroup
	run := func(f func() error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs <- f()
		}()
	}
	for p := range people {
		union, oa, mini := fmt.Sprintf("u%d", p), fmt.Sprintf("oWeb%d", p), fmt.Sprintf("oMini%d", p)
		for range each {
			run(func() error { _, _, err := db.RecordLogin(ctx, webLogin(oa, union, now, false)); return err })
			run(func() error { _, _, err := db.RecordLogin(ctx, miniAppLogin(mini, union, now)); return err })
			run(func() error { _, _, err := db.RecordLogin(ctx, webLogin(oa, "", now, false)); return err })
		}
		run(func() error {
			return db.UpdateProfile(ctx, webIDs[p], models.Profile{Nickname: "刷新", Privilege: "[]"}, union, nil, time.Time{}, nil, time.Time{})
		})
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM users`); n != people {
		t.Fatalf("%d users for %d people", n, people)
	}
	for p := range people {
		u, err := db.UserByID(ctx, webIDs[p])
		if err != nil {
			t.Fatalf("person %d's web user: %v", p, err)
		}
		if want := 2 + 3*each; u.LoginCount != want {
			t.Fatalf("person %d: %d logins, want %d", p, u.LoginCount, want)
		}
		idents, err := db.UserIdentities(ctx, u.ID)
		if err != nil || len(idents) != 2 {
			t.Fatalf("person %d's identities: %+v %v", p, idents, err)
		}
	}
	if n := countRows(t, db, `SELECT COUNT(*) FROM audit_log WHERE action = ?`, models.AuditUserMerge); n != people {
		t.Fatalf("%d merges for %d people", n, people)
	}
}

// Two users who already share a unionid (made before merging existed: the
// web user gained it through the fast path) become one at the web user's
// next login that carries it, though its unionid does not change.
func TestExistingDuplicatesMergeAtTheNextLogin(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		if err := db.Gorm.Exec(`INSERT INTO users (openid, unionid, created_at, updated_at, login_count) VALUES (NULL, 'uOld', ?, ?, 1)`, now, now).Error; err != nil {
			t.Fatal(err)
		}
		web, _, err := db.RecordLogin(ctx, webLogin("oWeb", "", now, false))
		if err != nil {
			t.Fatal(err)
		}
		if err := db.Gorm.Exec(`UPDATE users SET unionid = 'uOld' WHERE id = ?`, web).Error; err != nil {
			t.Fatal(err)
		}
		got, _, err := db.RecordLogin(ctx, webLogin("oWeb", "uOld", now.Add(time.Minute), false))
		if err != nil || got != web {
			t.Fatalf("login: user %d %v, want %d", got, err, web)
		}
		if n := countRows(t, db, `SELECT COUNT(*) FROM users`); n != 1 {
			t.Fatalf("%d users", n)
		}
		if u, err := db.UserByID(ctx, web); err != nil || u.LoginCount != 3 {
			t.Fatalf("merged user: %+v %v", u, err)
		}
	})
}
