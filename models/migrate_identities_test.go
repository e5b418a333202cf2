package models_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"wxlogin/migrations"
	"wxlogin/models"
	"wxlogin/testdb"
)

// identitiesVersion is the migration that brought identities.
const identitiesVersion = 8

// Migration 00008 on a database with users, their live sessions and their
// exchanges made by the previous migrations: nobody is lost, every session
// still opens, and the people log in again as the same users — on the web
// by openid, in the mini program by unionid.
func TestIdentitiesMigrationKeepsUsersAndSessions(t *testing.T) {
	for _, dialect := range []string{"postgres", "sqlite"} {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			url := "sqlite:" + filepath.Join(t.TempDir(), "old.db")
			if dialect == "postgres" {
				url = testdb.NewEmpty(t)
			}
			db, err := models.Open(ctx, url, "", models.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = db.Close() })
			if err := migrations.UpTo(ctx, db.SQL, db.Dialect, identitiesVersion-1); err != nil {
				t.Fatal(err)
			}
			// Rows as the previous schema held them, written in plain SQL.
			now := time.Now().UTC().Truncate(time.Second)
			people := []struct {
				openid  string
				unionid any
			}{{"oOA-with-union", "uPerson1"}, {"oOA-without-union", nil}}
			ids := map[string]int64{}
			for i, p := range people {
				if err := db.Gorm.Exec(`INSERT INTO users (openid, unionid, nickname, created_at, updated_at, last_login_at, login_count)
				    VALUES (?, ?, ?, ?, ?, ?, 3)`, p.openid, p.unionid, "人"+p.openid, now, now, now).Error; err != nil {
					t.Fatal(err)
				}
				var id int64
				if err := db.Gorm.Raw(`SELECT id FROM users WHERE openid = ?`, p.openid).Scan(&id).Error; err != nil {
					t.Fatal(err)
				}
				ids[p.openid] = id
				if err := db.Gorm.Exec(`INSERT INTO sessions (id_hash, kind, user_id, data, created_at, last_seen_at, expires_at)
				    VALUES (?, 'user', ?, ?, ?, ?, ?)`, "hash"+string(rune('a'+i)), id, []byte{1}, now, now, now.Add(time.Hour)).Error; err != nil {
					t.Fatal(err)
				}
				if err := db.Gorm.Exec(`INSERT INTO code_exchanges (code_hash, state_hash, browser_hash, status, owner, lease_until, user_id, openid, created_at, updated_at)
				    VALUES (?, ?, 'b', 'done', 'x', ?, ?, ?, ?, ?)`, "code"+p.openid, "state"+p.openid, now, id, p.openid, now, now).Error; err != nil {
					t.Fatal(err)
				}
			}

			if err := db.Migrate(ctx); err != nil {
				t.Fatalf("migrating on: %v", err)
			}

			for i, p := range people {
				s, err := db.SessionByHash(ctx, "hash"+string(rune('a'+i)), models.SessionUser)
				if err != nil || s.UserID == nil || *s.UserID != ids[p.openid] {
					t.Fatalf("%s's session after the migration: %+v, %v", p.openid, s, err)
				}
				u, err := db.UserByID(ctx, ids[p.openid])
				if err != nil || u.OpenID != p.openid || u.LoginCount != 3 {
					t.Fatalf("%s after the migration: %+v, %v", p.openid, u, err)
				}
				idents, err := db.UserIdentities(ctx, u.ID)
				if err != nil || len(idents) != 1 || idents[0].App != models.AppOA || idents[0].OpenID != p.openid ||
					idents[0].LinkedBy != models.LinkedMigrated {
					t.Fatalf("%s's identities: %+v, %v", p.openid, idents, err)
				}
				// The web login finds the same user by its openid.
				id, _, err := db.RecordLogin(ctx, models.Login{OpenID: p.openid, At: now})
				if err != nil || id != u.ID {
					t.Fatalf("%s's web login: user %d, want %d (%v)", p.openid, id, u.ID, err)
				}
			}
			// The person with a unionid logs in with the mini program: the
			// same user, a second identity linked by unionid.
			id, _, err := db.RecordLogin(ctx, models.Login{App: models.AppMini, OpenID: "oMini-1", UnionID: "uPerson1", At: now})
			if err != nil || id != ids["oOA-with-union"] {
				t.Fatalf("mini login: user %d, want %d (%v)", id, ids["oOA-with-union"], err)
			}
			idents, _ := db.UserIdentities(ctx, id)
			if len(idents) != 2 || idents[1].App != models.AppMini || idents[1].LinkedBy != models.LinkedUnionID {
				t.Fatalf("identities %+v", idents)
			}
			// A mini program person without unionid is a user of their own,
			// with no Official Account openid, and a miniprogram session.
			id2, _, err := db.RecordLogin(ctx, models.Login{App: models.AppMini, OpenID: "oMini-2", At: now})
			if err != nil || id2 == id || id2 == ids["oOA-without-union"] {
				t.Fatalf("mini login without unionid: user %d (%v)", id2, err)
			}
			if u, err := db.UserByID(ctx, id2); err != nil || u.OpenID != "" {
				t.Fatalf("mini-only user: %+v, %v", u, err)
			}
			uid := id2
			if err := db.InsertSession(ctx, &models.Session{IDHash: "mini", Kind: models.SessionMiniProgram, UserID: &uid, Data: []byte("oMini-2"),
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
				t.Fatalf("a miniprogram session: %v", err)
			}
			if rows, _, err := db.SearchUsers(ctx, "", 0, 10, now); err != nil || len(rows) != 3 {
				t.Fatalf("user list: %d rows, %v", len(rows), err)
			}
		})
	}
}

// A person's first web login and first mini program login at the same
// moment make one user, not two: the unionid's lock serialises them.
func TestConcurrentFirstLoginsOfOnePersonMakeOneUser(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	const people = 16
	start := make(chan struct{})
	errs := make(chan error, 2*people)
	for i := range people {
		union := "u-" + string(rune('A'+i))
		for _, l := range []models.Login{
			{App: models.AppOA, OpenID: "oOA-" + union, UnionID: union, At: time.Now()},
			{App: models.AppMini, OpenID: "oMini-" + union, UnionID: union, At: time.Now()},
		} {
			go func() {
				<-start
				_, _, err := db.RecordLogin(ctx, l)
				errs <- err
			}()
		}
	}
	close(start)
	for range 2 * people {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	var users, idents int64
	db.Gorm.Raw(`SELECT COUNT(*) FROM users`).Scan(&users)
	db.Gorm.Raw(`SELECT COUNT(DISTINCT user_id) FROM identities`).Scan(&idents)
	if users != people || idents != people {
		t.Fatalf("%d users (%d with identities) for %d people", users, idents, people)
	}
}
