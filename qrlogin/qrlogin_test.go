package qrlogin_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/qrlogin"
	"wxlogin/testdb"
)

func bothDialects(t *testing.T, f func(t *testing.T, db *models.DB)) {
	t.Run("postgres", func(t *testing.T) { f(t, testdb.Open(t)) })
	t.Run("sqlite", func(t *testing.T) {
		ctx := context.Background()
		db, err := models.Open(ctx, "sqlite:"+filepath.Join(t.TempDir(), "t.db"), "", models.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		f(t, db)
	})
}

func newUser(t *testing.T, db *models.DB, openid string) int64 {
	t.Helper()
	now := time.Now().UTC()
	u := &models.User{OpenID: openid, CreatedAt: now, UpdatedAt: now}
	if err := db.Gorm.Create(u).Error; err != nil {
		t.Fatal(err)
	}
	return u.ID
}

// race releases n goroutines together on f and returns how many got true.
func race(t *testing.T, n int, f func(i int) (bool, error)) int {
	t.Helper()
	var (
		ready, done sync.WaitGroup
		release     = make(chan struct{})
		wins        atomic.Int32
		errs        = make(chan error, n)
	)
	ready.Add(n)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			ready.Done()
			<-release
			ok, err := f(i)
			if err != nil {
				errs <- err
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	ready.Wait()
	close(release)
	done.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return int(wins.Load())
}

// Many polls of the owning browser at once (as two tabs, or two instances
// behind a balancer, would send): exactly one is answered confirmed.
func TestConfirmedIsAnsweredOnce(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		svc := qrlogin.New(db, qrlogin.Config{})
		uid := newUser(t, db, "o-1")
		for round := range 3 {
			browser := fmt.Sprintf("browser-%d", round)
			tk, _, err := svc.Create(ctx, browser, "Mozilla/5.0 (Windows NT 10.0) Chrome/120.0", "192.0.2.1")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := svc.Scan(ctx, tk, uid); err != nil {
				t.Fatal(err)
			}
			if err := svc.Confirm(ctx, tk, uid, "phone-session", "192.0.2.2"); err != nil {
				t.Fatal(err)
			}
			wins := race(t, 16, func(i int) (bool, error) {
				st, got, err := svc.Status(ctx, tk, browser)
				if st == qrlogin.Confirmed && got != uid {
					return false, fmt.Errorf("confirmed for user %d, want %d", got, uid)
				}
				return st == qrlogin.Confirmed, err
			})
			if wins != 1 {
				t.Fatalf("round %d: %d polls answered confirmed, want exactly 1", round, wins)
			}
		}
	})
}

// A 确认登录 and a 取消 racing, or many confirms: one decision wins.
func TestOneDecisionWins(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		svc := qrlogin.New(db, qrlogin.Config{})
		uid := newUser(t, db, "o-2")
		tk, _, err := svc.Create(ctx, "browser", "", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Scan(ctx, tk, uid); err != nil {
			t.Fatal(err)
		}
		wins := race(t, 16, func(i int) (bool, error) {
			var err error
			if i%2 == 0 {
				err = svc.Confirm(ctx, tk, uid, "phone", "")
			} else {
				err = svc.Cancel(ctx, tk, uid)
			}
			var fe *qrlogin.FinalError
			if errors.As(err, &fe) {
				return false, nil
			}
			return err == nil, err
		})
		if wins != 1 {
			t.Fatalf("%d decisions won, want 1", wins)
		}
	})
}

// Several people scanning one code at once: at most one keeps it, and if a
// second scan got in, the code is void for everybody.
func TestScansBySeveralPeople(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		ctx := context.Background()
		svc := qrlogin.New(db, qrlogin.Config{})
		var users []int64
		for i := range 8 {
			users = append(users, newUser(t, db, fmt.Sprintf("s-%d", i)))
		}
		tk, _, err := svc.Create(ctx, "browser", "", "")
		if err != nil {
			t.Fatal(err)
		}
		race(t, len(users), func(i int) (bool, error) {
			_, err := svc.Scan(ctx, tk, users[i])
			var fe *qrlogin.FinalError
			if errors.As(err, &fe) {
				return false, nil
			}
			return err == nil, err
		})
		// However the scans interleaved, nobody can confirm it now.
		for _, u := range users {
			if err := svc.Confirm(ctx, tk, u, "phone", ""); err == nil {
				t.Fatalf("user %d confirmed a code that several people scanned", u)
			}
		}
		if st, _, _ := svc.Status(ctx, tk, "browser"); st != qrlogin.Cancelled {
			t.Fatalf("status %q, want cancelled", st)
		}
	})
}

// Tickets are stored hashed: the table never holds the ticket or the
// browser id as sent.
func TestTicketsStoredHashed(t *testing.T) {
	db := testdb.Open(t)
	svc := qrlogin.New(db, qrlogin.Config{})
	tk, _, err := svc.Create(context.Background(), "the-browser-id", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(tk) != qrlogin.TicketLen || !qrlogin.Valid(tk) {
		t.Fatalf("ticket %q", tk)
	}
	var n int64
	db.Gorm.Raw(`SELECT count(*) FROM qr_logins WHERE ticket_hash LIKE ? OR browser_hash LIKE ?`, "%"+tk+"%", "%the-browser-id%").Scan(&n)
	if n != 0 {
		t.Fatal("the ticket or browser id is stored in the clear")
	}
}
