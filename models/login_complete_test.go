package models_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// RecordLoginCompleting stores the user as RecordLogin does and, on
// Postgres, finishes the owner's row in the same statement when the login
// links no identities; otherwise (SQLite, a unionid that may link) it leaves
// the row for CompleteExchange. Every case checks the user, the identity
// and the row, on both dialects.
func TestRecordLoginCompleting(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		pg := db.Dialect == "postgres"
		n := 0
		claim := func(t *testing.T) string {
			t.Helper()
			n++
			hash := "complete-" + t.Name()
			now := time.Now().UTC()
			ok, _, err := db.ClaimExchange(ctx, &models.CodeExchange{CodeHash: hash, StateHash: "s-" + hash, BrowserHash: "b",
				NextPath: "/profile", Owner: "a", CreatedAt: now}, time.Minute)
			if err != nil || !ok {
				t.Fatalf("claim: %v %v", ok, err)
			}
			return hash
		}
		owner := models.Fence{Owner: "a", Attempt: 1}
		// A mini-program-only person with a unionid, for the linking case.
		if _, _, err := db.RecordLogin(ctx, models.Login{App: models.AppMini, AppID: "wxmini", OpenID: "mini-lin", UnionID: "u-lin", At: time.Now()}); err != nil {
			t.Fatal(err)
		}
		// A user who is disabled before logging in again.
		offID, _, err := db.RecordLogin(ctx, models.Login{OpenID: "o-off", At: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.SetUserDisabled(ctx, offID, true); err != nil {
			t.Fatal(err)
		}
		cases := []struct {
			name      string
			login     models.Login
			fence     models.Fence
			completed bool // on Postgres; never on SQLite
			lost      bool
			disabled  bool
			count     int // the user's login count afterwards
		}{
			{"first login without unionid", models.Login{OpenID: "o-new"}, owner, true, false, false, 1},
			{"returning user", models.Login{OpenID: "o-new", Scope: "snsapi_base"}, owner, true, false, false, 2},
			{"disabled user", models.Login{OpenID: "o-off"}, owner, true, false, true, 1},
			{"lease lost", models.Login{OpenID: "o-lost"}, models.Fence{Owner: "b", Attempt: 1}, true, true, false, 1},
			{"stale attempt", models.Login{OpenID: "o-lost"}, models.Fence{Owner: "a", Attempt: 2}, true, true, false, 2},
			{"first login with unionid", models.Login{OpenID: "o-union", UnionID: "u-own"}, owner, false, false, false, 1},
			{"links to the mini program's user", models.Login{OpenID: "o-lin", UnionID: "u-lin"}, owner, false, false, false, 2},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				hash := claim(t)
				l := tc.login
				l.AppID, l.At = "wxoa", time.Now()
				now := time.Now().UTC()
				sess := &models.Session{IDHash: "sess-" + hash, Kind: models.SessionUser, Data: []byte{}, IP: "192.0.2.1", UserAgent: "ua",
					CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
				done, err := db.RecordLoginCompleting(ctx, l, hash, tc.fence, sess)
				id, disabled, completed := done.UserID, done.Disabled, done.Row
				wantCompleted := tc.completed && pg
				if tc.lost && wantCompleted {
					if !errors.Is(err, models.ErrLostLease) {
						t.Fatalf("err %v, want ErrLostLease", err)
					}
				} else if err != nil {
					t.Fatal(err)
				}
				if completed != wantCompleted || disabled != tc.disabled {
					t.Fatalf("completed %v disabled %v, want %v %v", completed, disabled, wantCompleted, tc.disabled)
				}
				// The session is written with the login exactly when the row is
				// finished for a user who may log in; else the caller saves it.
				wantSession := wantCompleted && !tc.lost && !tc.disabled
				got, serr := db.SessionByHash(ctx, sess.IDHash, models.SessionUser)
				if done.Session != wantSession || (serr == nil) != wantSession {
					t.Fatalf("session written %v (read: %v), want %v", done.Session, serr, wantSession)
				}
				if wantSession && (got.UserID == nil || *got.UserID != id || got.IP != sess.IP || !got.ExpiresAt.Equal(sess.ExpiresAt.Truncate(time.Microsecond))) {
					t.Fatalf("session %+v, want user %d's with the given fields", got, id)
				}
				u, err := db.UserByOpenID(ctx, l.OpenID)
				if err != nil || u.ID != id || u.LoginCount != tc.count {
					t.Fatalf("user %+v %v, want id %d with %d logins", u, err, id, tc.count)
				}
				ids, err := db.UserIdentities(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				oa := 0
				for _, i := range ids {
					if i.App == models.AppOA && i.OpenID == l.OpenID {
						oa++
					}
				}
				if oa != 1 {
					t.Fatalf("identities %+v, want the Official Account openid once", ids)
				}
				row, err := db.ExchangeByCode(ctx, hash)
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case wantCompleted && !tc.lost:
					if row.Status != models.StatusDone || row.UserID == nil || *row.UserID != id || row.OpenID == nil || *row.OpenID != l.OpenID {
						t.Fatalf("row %+v, want done for user %d", row, id)
					}
					if kind := row.ErrorKind; (kind != nil && *kind == models.KindDisabled) != tc.disabled {
						t.Fatalf("row error kind %v, want disabled=%v", kind, tc.disabled)
					}
				default:
					if row.Status != models.StatusPending || row.UserID != nil {
						t.Fatalf("row %+v, want untouched (pending)", row)
					}
				}
			})
		}
	})
}

// A duplicate request of the login that wrote the session row first leaves
// the statement nothing to write: it still logs in and finishes the row, and
// reports the session as not written by it.
func TestRecordLoginCompletingSessionExists(t *testing.T) {
	db := testdb.Open(t)
	ctx := context.Background()
	now := time.Now().UTC()
	hash := "complete-exists"
	if ok, _, err := db.ClaimExchange(ctx, &models.CodeExchange{CodeHash: hash, StateHash: "s-" + hash, BrowserHash: "b",
		NextPath: "/profile", Owner: "a", CreatedAt: now}, time.Minute); err != nil || !ok {
		t.Fatalf("claim: %v %v", ok, err)
	}
	first, _, err := db.RecordLogin(ctx, models.Login{AppID: "wxoa", OpenID: "o-exists", At: now})
	if err != nil {
		t.Fatal(err)
	}
	sess := &models.Session{IDHash: "sess-exists", Kind: models.SessionUser, UserID: &first, Data: []byte{}, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)}
	if err := db.InsertSession(ctx, sess); err != nil {
		t.Fatal(err)
	}
	done, err := db.RecordLoginCompleting(ctx, models.Login{AppID: "wxoa", OpenID: "o-exists", At: now}, hash, models.Fence{Owner: "a", Attempt: 1}, sess)
	if err != nil || !done.Row || done.Session || done.UserID != first {
		t.Fatalf("%+v %v: want the row finished, the session not written again", done, err)
	}
}
