package models_test

import (
	"context"
	"testing"
	"time"

	"wxlogin/models"
)

func sessionRow(hash string, userID *int64, now time.Time) *models.Session {
	return &models.Session{IDHash: hash, Kind: models.SessionUser, UserID: userID, Data: []byte{}, IP: "127.0.0.1", UserAgent: "ua",
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
}

// The session queries are one code path for both dialects.
func TestSessionQueriesBothDialects(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		uid, _, err := db.RecordLogin(ctx, models.Login{OpenID: "osess", UnionID: "usess", Scope: "snsapi_userinfo",
			Profile: &models.Profile{Nickname: "小明", Sex: 1, City: "上海"}, At: now})
		if err != nil {
			t.Fatal(err)
		}
		t.Run("by hash, with user", func(t *testing.T) {
			s := sessionRow("h-user", &uid, now)
			if err := db.InsertSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.SessionByHash(ctx, s.IDHash, models.SessionUser)
			if err != nil || got.User != nil || got.UserID == nil || *got.UserID != uid || len(got.Data) != 0 || !got.ExpiresAt.Equal(s.ExpiresAt) {
				t.Fatalf("SessionByHash: %+v, %v", got, err)
			}
			joined, err := db.SessionWithUserByHash(ctx, s.IDHash)
			if err != nil {
				t.Fatal(err)
			}
			want, err := db.UserByID(ctx, uid)
			if err != nil {
				t.Fatal(err)
			}
			if joined.User == nil || !sameRow(joined.User, want) {
				t.Fatalf("joined user\n got %+v\nwant %+v", joined.User, want)
			}
			joined.User = nil
			if !sameRow(joined, got) {
				t.Fatalf("joined session\n got %+v\nwant %+v", joined, got)
			}
			if _, err := db.SessionByHash(ctx, s.IDHash, models.SessionAdmin); err != models.ErrNotFound {
				t.Fatalf("other kind: %v", err)
			}
		})
		t.Run("with user, no user", func(t *testing.T) {
			s := sessionRow("h-nouser", nil, now)
			if err := db.InsertSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.SessionWithUserByHash(ctx, s.IDHash)
			if err != nil || got.User != nil || got.UserID != nil {
				t.Fatalf("%+v, %v", got, err)
			}
			if _, err := db.SessionWithUserByHash(ctx, "nope"); err != models.ErrNotFound {
				t.Fatalf("unknown: %v", err)
			}
		})
		t.Run("with user, admin kind", func(t *testing.T) {
			s := sessionRow("h-admin", nil, now)
			s.Kind = models.SessionAdmin
			if err := db.InsertSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			if _, err := db.SessionWithUserByHash(ctx, s.IDHash); err != models.ErrNotFound {
				t.Fatalf("an admin session read as a user's: %v", err)
			}
		})
		t.Run("mini-program-only user", func(t *testing.T) {
			mid, _, err := db.RecordLogin(ctx, models.Login{App: models.AppMini, AppID: "wxmini", OpenID: "omini-sess", At: now})
			if err != nil {
				t.Fatal(err)
			}
			s := sessionRow("h-mini", &mid, now)
			if err := db.InsertSession(ctx, s); err != nil {
				t.Fatal(err)
			}
			got, err := db.SessionWithUserByHash(ctx, s.IDHash)
			if err != nil || got.User == nil || got.User.ID != mid || got.User.OpenID != "" {
				t.Fatalf("%+v, %v", got, err)
			}
		})
	})
}

func TestReplaceSessionBothDialects(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Second)
		uid, _, err := db.RecordLogin(ctx, models.Login{OpenID: "orepl", At: now})
		if err != nil {
			t.Fatal(err)
		}
		exists := func(h string) bool {
			_, err := db.SessionByHash(ctx, h, models.SessionUser)
			if err != nil && err != models.ErrNotFound {
				t.Fatal(err)
			}
			return err == nil
		}
		cases := []struct {
			name        string
			old, kept   bool // the old row exists; the new id exists already (a duplicate wrote it)
			wantNewData byte
		}{
			{name: "old row moves to the new id", old: true, wantNewData: 2},
			{name: "old row gone", wantNewData: 2},
			{name: "new id written first", old: true, kept: true, wantNewData: 1},
			{name: "both gone but new", kept: true, wantNewData: 1},
		}
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				oldH, newH := "old"+string(rune('a'+i)), "new"+string(rune('a'+i))
				if tc.old {
					if err := db.InsertSession(ctx, sessionRow(oldH, nil, now)); err != nil {
						t.Fatal(err)
					}
				}
				if tc.kept {
					first := sessionRow(newH, &uid, now)
					first.Data = []byte{1}
					if err := db.InsertSession(ctx, first); err != nil {
						t.Fatal(err)
					}
				}
				s := sessionRow(newH, &uid, now.Add(time.Second))
				s.Data = []byte{2}
				if err := db.ReplaceSession(ctx, oldH, s); err != nil {
					t.Fatal(err)
				}
				if exists(oldH) {
					t.Fatal("the old session lives on")
				}
				got, err := db.SessionByHash(ctx, newH, models.SessionUser)
				if err != nil || len(got.Data) != 1 || got.Data[0] != tc.wantNewData || got.UserID == nil || *got.UserID != uid {
					t.Fatalf("new row %+v, %v", got, err)
				}
			})
		}
	})
}
