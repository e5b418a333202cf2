package models_test

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// The hot reads skip GORM on Postgres; they must return exactly what GORM
// reads from the same row, NULLs included.
func TestHotReadsMatchGORM(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Microsecond)
	full := models.Login{OpenID: "ofull", UnionID: "ufull", Scope: "snsapi_userinfo",
		Profile:        &models.Profile{Nickname: "小明🐱", Sex: 2, Province: "上海", City: "浦东新区", Country: "中国", AvatarURL: "https://x/132", Privilege: `["a"]`, Language: "zh_CN"},
		AccessTokenEnc: []byte{1, 2, 3}, AccessTokenExpiresAt: now.Add(time.Hour), RefreshTokenEnc: []byte{4, 5}, RefreshTokenExpiresAt: now.Add(48 * time.Hour), At: now}
	bare := models.Login{OpenID: "obare", At: now} // snsapi_base: no profile, no unionid, no tokens
	for _, l := range []models.Login{full, bare} {
		t.Run("user "+l.OpenID, func(t *testing.T) {
			id, _, err := db.RecordLogin(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			got, err := db.UserByID(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			var want models.User
			if err := db.Gorm.Where("id = ?", id).Take(&want).Error; err != nil {
				t.Fatal(err)
			}
			if !sameRow(got, &want) {
				t.Fatalf("UserByID\n got %+v\nwant %+v", *got, want)
			}
		})
	}
	if _, err := db.UserByID(ctx, 1<<40); err != models.ErrNotFound {
		t.Fatalf("unknown user: %v, want ErrNotFound", err)
	}

	uid, _, _ := db.RecordLogin(ctx, bare)
	for _, finish := range []string{"pending", "done", "failed"} {
		t.Run("exchange "+finish, func(t *testing.T) {
			h := "code-" + finish
			row := &models.CodeExchange{CodeHash: h, StateHash: "state-" + finish, BrowserHash: "b", NextPath: "/profile", Scope: "snsapi_userinfo",
				Status: models.StatusPending, Owner: "a", LeaseUntil: now.Add(time.Minute), Attempts: 1, CreatedAt: now, UpdatedAt: now}
			if ok, _, err := db.ClaimExchange(ctx, row, time.Minute); err != nil || !ok {
				t.Fatal(ok, err)
			}
			switch finish {
			case "done":
				if err := db.CompleteExchange(ctx, h, models.Fence{Owner: "a", Attempt: 1}, uid, "obare"); err != nil {
					t.Fatal(err)
				}
			case "failed":
				if err := db.FailExchange(ctx, h, models.Fence{Owner: "a", Attempt: 1}, 40029, "rejected"); err != nil {
					t.Fatal(err)
				}
			}
			var want models.CodeExchange
			if err := db.Gorm.Where("code_hash = ?", h).Take(&want).Error; err != nil {
				t.Fatal(err)
			}
			got, err := db.ExchangeByCode(ctx, h)
			if err != nil || !sameRow(got, &want) {
				t.Fatalf("ExchangeByCode %v\n got %+v\nwant %+v", err, got, want)
			}
			if got.LeaseExpired || got.Age < 0 || got.Age > time.Minute {
				t.Fatalf("computed on the database's clock: lease expired %v, age %v", got.LeaseExpired, got.Age)
			}
			all, err := db.ExchangesByState(ctx, "state-"+finish)
			if err != nil || len(all) != 1 || !sameRow(&all[0], &want) {
				t.Fatalf("ExchangesByState %v\n got %+v\nwant %+v", err, all, want)
			}
		})
	}
	if _, err := db.ExchangeByCode(ctx, "no-such-code"); err != models.ErrNotFound {
		t.Fatalf("unknown code: %v, want ErrNotFound", err)
	}
	for name, userID := range map[string]*int64{"with user": &uid, "anonymous": nil} {
		t.Run("session "+name, func(t *testing.T) {
			s := &models.Session{IDHash: "h-" + name, Kind: "user", UserID: userID, Data: []byte{9, 8, 7}, IP: "127.0.0.1", UserAgent: "ua",
				CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
			if err := db.InsertSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.SessionByHash(ctx, s.IDHash, "user")
			if err != nil {
				t.Fatal(err)
			}
			var want models.Session
			if err := db.Gorm.Where("id_hash = ?", s.IDHash).Take(&want).Error; err != nil {
				t.Fatal(err)
			}
			if !sameRow(got, &want) {
				t.Fatalf("SessionByHash\n got %+v\nwant %+v", *got, want)
			}
			if _, err := db.SessionByHash(ctx, s.IDHash, "admin"); err != models.ErrNotFound {
				t.Fatalf("other kind: %v, want ErrNotFound", err)
			}
		})
	}
}

// sameRow compares two structs field by field, times as instants.
func sameRow(a, b any) bool {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for i := range va.NumField() {
		if va.Type().Field(i).Tag.Get("gorm") == "-" {
			continue // computed by the query, not stored
		}
		fa, fb := va.Field(i).Interface(), vb.Field(i).Interface()
		switch x := fa.(type) {
		case time.Time:
			if !x.Equal(fb.(time.Time)) {
				return false
			}
		case *time.Time:
			y := fb.(*time.Time)
			if (x == nil) != (y == nil) || (x != nil && !x.Equal(*y)) {
				return false
			}
		default:
			if !reflect.DeepEqual(fa, fb) {
				return false
			}
		}
	}
	return true
}

// UserByID and UserByOpenID are one hand-scanned statement on both dialects:
// on each they must return exactly what GORM reads from the same row, NULLs
// included, and ErrNotFound for a missing user.
func TestUserReadsMatchGORMOnBothDialects(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		full := models.Login{OpenID: "ofull", UnionID: "ufull", Scope: "snsapi_userinfo",
			Profile:        &models.Profile{Nickname: "小明🐱", Sex: 2, Province: "上海", City: "浦东新区", Country: "中国", AvatarURL: "https://x/132", Privilege: `["a"]`, Language: "zh_CN"},
			AccessTokenEnc: []byte{1, 2, 3}, AccessTokenExpiresAt: now.Add(time.Hour), RefreshTokenEnc: []byte{4, 5}, RefreshTokenExpiresAt: now.Add(48 * time.Hour), At: now}
		bare := models.Login{OpenID: "obare", At: now}
		for _, l := range []models.Login{full, bare} {
			id, _, err := db.RecordLogin(ctx, l)
			if err != nil {
				t.Fatal(err)
			}
			var want models.User
			if err := db.Gorm.Where("id = ?", id).Take(&want).Error; err != nil {
				t.Fatal(err)
			}
			byID, err := db.UserByID(ctx, id)
			if err != nil || !sameRow(byID, &want) {
				t.Fatalf("UserByID(%s) (%v)\n got %+v\nwant %+v", l.OpenID, err, byID, want)
			}
			byOpenID, err := db.UserByOpenID(ctx, l.OpenID)
			if err != nil || !sameRow(byOpenID, &want) {
				t.Fatalf("UserByOpenID(%s) (%v)\n got %+v\nwant %+v", l.OpenID, err, byOpenID, want)
			}
		}
		if _, err := db.UserByID(ctx, 1<<40); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("missing id: %v, want ErrNotFound", err)
		}
		if _, err := db.UserByOpenID(ctx, "nobody"); !errors.Is(err, models.ErrNotFound) {
			t.Fatalf("missing openid: %v, want ErrNotFound", err)
		}
	})
}
