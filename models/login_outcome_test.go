package models_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"wxlogin/models"
)

// finishExchange claims a row for a code hash and finishes it the way the
// gate's owner does: RecordLogin, then CompleteExchange.
func finishExchange(t *testing.T, db *models.DB, code string, l models.Login) (uid int64, disabled bool) {
	t.Helper()
	ctx := context.Background()
	row := &models.CodeExchange{CodeHash: code, StateHash: "state-" + code, BrowserHash: "browser", NextPath: "/profile",
		Scope: l.Scope, Owner: "i1"}
	ok, _, err := db.ClaimExchange(ctx, row, 15*time.Second)
	if err != nil || !ok {
		t.Fatalf("claim %s: %v %v", code, ok, err)
	}
	uid, disabled, err = db.RecordLogin(ctx, l)
	if err != nil {
		t.Fatalf("record login: %v", err)
	}
	if err := db.CompleteExchange(ctx, code, models.Fence{Owner: "i1", Attempt: 1}, uid, l.OpenID); err != nil {
		t.Fatalf("complete: %v", err)
	}
	return uid, disabled
}

func login(openid string, at time.Time, profile *models.Profile) models.Login {
	return models.Login{OpenID: openid, Scope: "snsapi_base", Profile: profile, At: at,
		AccessTokenEnc: []byte("a"), AccessTokenExpiresAt: at.Add(time.Hour),
		RefreshTokenEnc: []byte("r"), RefreshTokenExpiresAt: at.Add(time.Hour)}
}

// TestRefusedLoginIsARefusalEverywhere: a disabled user's attempt moves
// neither 登录次数 nor 最近登录 nor the profile, its exchange row is a
// refusal (done, KindDisabled), and the login log's "成功" filter and the
// dashboard's login counts leave it out while counting it as refused. A
// profile refresh is no login either, but moves 资料更新; disabling does not.
func TestRefusedLoginIsARefusalEverywhere(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		uid, _ := finishExchange(t, db, "c1", login("o1", t0, &models.Profile{Nickname: "甲"}))

		// A refresh: profile stored, not a login.
		t1 := t0.Add(10 * time.Minute)
		l := login("o1", t1, &models.Profile{Nickname: "甲2"})
		l.Refresh = true
		finishExchange(t, db, "c2", l)
		u, err := db.UserByID(ctx, uid)
		if err != nil {
			t.Fatal(err)
		}
		if u.LoginCount != 1 || !u.LastLoginAt.Equal(t0) || u.Nickname != "甲2" || u.ProfileUpdatedAt == nil || !u.ProfileUpdatedAt.Equal(t1) {
			t.Fatalf("after refresh: count %d last %v nick %q profile at %v; want 1, %v, 甲2, %v",
				u.LoginCount, u.LastLoginAt, u.Nickname, u.ProfileUpdatedAt, t0, t1)
		}

		// A silent login counts, and keeps the profile and its time.
		t2 := t1.Add(10 * time.Minute)
		finishExchange(t, db, "c3", login("o1", t2, nil))
		u, _ = db.UserByID(ctx, uid)
		if u.LoginCount != 2 || !u.LastLoginAt.Equal(t2) || !u.ProfileUpdatedAt.Equal(t1) {
			t.Fatalf("after a silent login: count %d last %v profile at %v", u.LoginCount, u.LastLoginAt, u.ProfileUpdatedAt)
		}

		if err := db.SetUserDisabled(ctx, uid, true); err != nil {
			t.Fatal(err)
		}
		u, _ = db.UserByID(ctx, uid)
		if !u.ProfileUpdatedAt.Equal(t1) {
			t.Fatalf("disabling moved 资料更新 to %v", u.ProfileUpdatedAt)
		}

		// The disabled user's attempt.
		t3 := t2.Add(10 * time.Minute)
		_, disabled := finishExchange(t, db, "c4", login("o1", t3, &models.Profile{Nickname: "乙"}))
		if !disabled {
			t.Fatal("RecordLogin did not report the user disabled")
		}
		u, _ = db.UserByID(ctx, uid)
		if u.LoginCount != 2 || !u.LastLoginAt.Equal(t2) || u.Nickname != "甲2" {
			t.Fatalf("a refused login moved the user: count %d last %v nick %q", u.LoginCount, u.LastLoginAt, u.Nickname)
		}
		var identityLogins int
		if err := db.Gorm.Raw("SELECT login_count FROM identities WHERE openid = ?", "o1").Scan(&identityLogins).Error; err != nil || identityLogins != 2 {
			t.Fatalf("the identity counts %d logins (%v), want 2: a refresh and a refusal are none", identityLogins, err)
		}
		row, err := db.ExchangeByCode(ctx, "c4")
		if err != nil {
			t.Fatal(err)
		}
		if row.Status != models.StatusDone || row.ErrorKind == nil || *row.ErrorKind != models.KindDisabled {
			t.Fatalf("refused row: status %s kind %v", row.Status, row.ErrorKind)
		}
		if row, _ := db.ExchangeByCode(ctx, "c3"); row.ErrorKind != nil {
			t.Fatalf("a login's row has kind %q", *row.ErrorKind)
		}

		count := func(status string) (ids []string) {
			rows, total, err := db.ListExchanges(ctx, models.ExchangeFilter{Status: status}, 0, 50)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range rows {
				ids = append(ids, fmt.Sprint(r.ID, r.Outcome()))
			}
			if int(total) != len(rows) {
				t.Fatalf("%s: total %d rows %d", status, total, len(rows))
			}
			return ids
		}
		if got := count(models.StatusDone); len(got) != 3 {
			t.Fatalf("成功 lists %v, want the 3 logins", got)
		}
		if got := count(models.OutcomeRefused); len(got) != 1 || got[0] != "4refused" {
			t.Fatalf("已拒绝 lists %v", got)
		}
		d, err := db.DashboardCounts(ctx, t0.Add(-time.Hour), t0.Add(-time.Hour), t0.Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// The rows are stamped with the database's now, inside the window.
		if d.Logins24h != 3 || d.Refused24h != 1 {
			t.Fatalf("dashboard: %d logins, %d refused; want 3 and 1", d.Logins24h, d.Refused24h)
		}
		slots, err := db.LoginsPerSlot(ctx, t0.Add(-time.Hour), 24*time.Hour, 0)
		if err != nil {
			t.Fatal(err)
		}
		var hits int64
		for _, s := range slots {
			hits += s.Hits
		}
		if hits != 3 {
			t.Fatalf("login chart counts %d logins, want 3", hits)
		}
	})
}

// TestSnapshotVisitorIsNoFailure: a snapshot visitor's row is listed under
// its own outcome and left out of the failures, and a failure without an
// errcode keeps its kind (the page names it, never "0 · 成功").
func TestSnapshotVisitorIsNoFailure(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		for _, c := range []struct {
			code, kind string
			errcode    int
		}{{"s1", models.KindSnapshot, 0}, {"f1", "unavailable", 0}, {"f2", "rejected", 40163}} {
			row := &models.CodeExchange{CodeHash: c.code, StateHash: "st-" + c.code, BrowserHash: "b", NextPath: "/", Owner: "i1"}
			if ok, _, err := db.ClaimExchange(ctx, row, 15*time.Second); !ok || err != nil {
				t.Fatalf("claim: %v %v", ok, err)
			}
			if err := db.FailExchange(ctx, c.code, models.Fence{Owner: "i1", Attempt: 1}, c.errcode, c.kind); err != nil {
				t.Fatal(err)
			}
		}
		fails, err := db.FailuresByErrCode(ctx, time.Now().Add(-time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		kinds := map[string]int{}
		for _, f := range fails {
			kinds[f.Kind] = f.ErrCode
		}
		if _, ok := kinds[models.KindSnapshot]; ok || len(kinds) != 2 || kinds["unavailable"] != 0 || kinds["rejected"] != 40163 {
			t.Fatalf("failures %+v: want unavailable (no errcode) and 40163, no snapshot", fails)
		}
		rows, _, err := db.ListExchanges(ctx, models.ExchangeFilter{Status: models.StatusFailed}, 0, 10)
		if err != nil || len(rows) != 2 {
			t.Fatalf("failed filter: %d rows, %v", len(rows), err)
		}
		rows, _, err = db.ListExchanges(ctx, models.ExchangeFilter{Status: models.OutcomeSnapshot}, 0, 10)
		if err != nil || len(rows) != 1 || rows[0].Outcome() != models.OutcomeSnapshot {
			t.Fatalf("snapshot filter: %+v, %v", rows, err)
		}
		d, err := db.DashboardCounts(ctx, time.Now(), time.Now(), time.Now().Add(-time.Hour))
		if err != nil || d.Snapshot24 != 1 {
			t.Fatalf("dashboard snapshot count %+v %v", d, err)
		}
	})
}
