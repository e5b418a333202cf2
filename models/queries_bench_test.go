package models_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// The queries one login makes, one by one, on real Postgres (testdb). Each
// is a round trip; their sum bounds how many logins a database connection
// carries, and their allocations are what the ORM costs per query.

var benchSeq atomic.Int64

func benchUniq(prefix string) string {
	sum := sha256.Sum256([]byte(prefix + strconv.FormatInt(benchSeq.Add(1), 10) + strconv.FormatInt(time.Now().UnixNano(), 10)))
	return hex.EncodeToString(sum[:])
}

func benchLogin(openid string) models.Login {
	now := time.Now().UTC()
	return models.Login{
		OpenID: openid, UnionID: "u" + openid, Scope: "snsapi_userinfo",
		Profile:        &models.Profile{Nickname: "张三", Sex: 1, Province: "广东", City: "广州", Country: "中国", AvatarURL: "https://thirdwx.qlogo.cn/x/132", Privilege: "[]", Language: "zh_CN"},
		AccessTokenEnc: make([]byte, 130), AccessTokenExpiresAt: now.Add(2 * time.Hour),
		RefreshTokenEnc: make([]byte, 130), RefreshTokenExpiresAt: now.Add(30 * 24 * time.Hour), At: now,
	}
}

func benchSession(userID *int64) *models.Session {
	now := time.Now().UTC()
	return &models.Session{IDHash: benchUniq("s"), Kind: "user", UserID: userID, Data: make([]byte, 180), IP: "127.0.0.1",
		UserAgent: "Mozilla/5.0 (Linux; Android 13; wv) MicroMessenger/8.0.47", CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(30 * 24 * time.Hour)}
}

func BenchmarkRecordLogin(b *testing.B) {
	db := testdb.Open(b)
	ctx := context.Background()
	b.Run("first-login", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := db.RecordLogin(ctx, benchLogin(benchUniq("o")[:28])); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("returning-user", func(b *testing.B) {
		l := benchLogin(benchUniq("o")[:28])
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := db.RecordLogin(ctx, l); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkUserByID(b *testing.B) {
	db := testdb.Open(b)
	ctx := context.Background()
	id, _, err := db.RecordLogin(ctx, benchLogin(benchUniq("o")[:28]))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := db.UserByID(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionQueries: the session row is read on every request and
// written at entry and at login.
func BenchmarkSessionQueries(b *testing.B) {
	db := testdb.Open(b)
	ctx := context.Background()
	uid, _, err := db.RecordLogin(ctx, benchLogin(benchUniq("o")[:28]))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("insert", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := db.InsertSession(ctx, benchSession(&uid)); err != nil {
				b.Fatal(err)
			}
		}
	})
	s := benchSession(&uid)
	if err := db.InsertSession(ctx, s); err != nil {
		b.Fatal(err)
	}
	b.Run("by-hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.SessionByHash(ctx, s.IDHash, "user"); err != nil {
				b.Fatal(err)
			}
		}
	})
	// A logged-in page: the session and its user, read apart (before
	// issue 12) or in one statement.
	b.Run("session-then-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			row, err := db.SessionByHash(ctx, s.IDHash, "user")
			if err != nil {
				b.Fatal(err)
			}
			if _, err := db.UserByID(ctx, *row.UserID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("session-with-user", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if row, err := db.SessionWithUserByHash(ctx, s.IDHash); err != nil || row.User == nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("update", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := db.UpdateSession(ctx, s); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("delete", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := db.DeleteSession(ctx, benchUniq("gone")); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkExchangeRow: a follower's read of the row and the owner's
// completion (an UPDATE and its NOTIFY).
func BenchmarkExchangeRow(b *testing.B) {
	db := testdb.Open(b)
	ctx := context.Background()
	uid, _, err := db.RecordLogin(ctx, benchLogin(benchUniq("o")[:28]))
	if err != nil {
		b.Fatal(err)
	}
	claim := func() string {
		now := time.Now().UTC()
		h := benchUniq("c")
		row := &models.CodeExchange{CodeHash: h, StateHash: benchUniq("st"), BrowserHash: benchUniq("b"), NextPath: "/profile", Scope: "snsapi_userinfo",
			Status: models.StatusPending, Owner: "bench", LeaseUntil: now.Add(15 * time.Second), Attempts: 1, CreatedAt: now, UpdatedAt: now}
		if ok, _, err := db.ClaimExchange(ctx, row, 15*time.Second); err != nil || !ok {
			b.Fatal(ok, err)
		}
		return h
	}
	b.Run("by-code", func(b *testing.B) {
		h := claim()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := db.ExchangeByCode(ctx, h); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("complete", func(b *testing.B) {
		hashes := make([]string, 0, 1024)
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			if len(hashes) == 0 {
				for range cap(hashes) {
					hashes = append(hashes, claim())
				}
			}
			h := hashes[len(hashes)-1]
			hashes = hashes[:len(hashes)-1]
			b.StartTimer()
			if err := db.CompleteExchange(ctx, h, models.Fence{Owner: "bench", Attempt: 1}, uid, "openid"); err != nil {
				b.Fatal(err)
			}
		}
	})
}
