package models_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"wxlogin/models"
	"wxlogin/testdb"
)

// Finishing an exchange wakes waiters on other instances through NOTIFY,
// and only when it really finished the row (the owner still held it).
func TestFinishingAnExchangeNotifies(t *testing.T) {
	db := testdb.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	got := make(chan string, 16)
	go models.NewListener(db.URL, slog.New(slog.DiscardHandler), func(k string) { got <- k }).Run(ctx)
	// The listener is connected once it hears a NOTIFY of its own.
	deadline := time.Now().Add(10 * time.Second)
	for heard := false; !heard; {
		if time.Now().After(deadline) {
			t.Fatal("listener did not start in 10s")
		}
		if err := db.Gorm.Exec("SELECT pg_notify('wxlogin_exchange', 'probe')").Error; err != nil {
			t.Fatal(err)
		}
		select {
		case k := <-got:
			heard = k == "probe"
		case <-time.After(50 * time.Millisecond):
		}
	}
	uid, _, err := db.RecordLogin(ctx, models.Login{OpenID: "onotify", At: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	claim := func(hash string) {
		now := time.Now().UTC()
		ok, _, err := db.ClaimExchange(ctx, &models.CodeExchange{CodeHash: hash, StateHash: "s" + hash, BrowserHash: "b", NextPath: "/profile",
			Owner: "a", CreatedAt: now}, time.Minute)
		if err != nil || !ok {
			t.Fatal(ok, err)
		}
	}
	cases := []struct {
		name   string
		finish func(hash string) error
		lost   bool
	}{
		{"completed", func(h string) error {
			return db.CompleteExchange(ctx, h, models.Fence{Owner: "a", Attempt: 1}, uid, "onotify")
		}, false},
		{"failed", func(h string) error {
			return db.FailExchange(ctx, h, models.Fence{Owner: "a", Attempt: 1}, 40029, "rejected")
		}, false},
		{"login completing", func(h string) error {
			done, err := db.RecordLoginCompleting(ctx, models.Login{OpenID: "onotify", At: time.Now()}, h, models.Fence{Owner: "a", Attempt: 1}, nil)
			if err == nil && !done.Row {
				err = errors.New("a returning user's login was not completed in its statement")
			}
			return err
		}, false},
		{"login completing, lease lost", func(h string) error {
			_, err := db.RecordLoginCompleting(ctx, models.Login{OpenID: "onotify", At: time.Now()}, h, models.Fence{Owner: "b", Attempt: 1}, nil)
			return err
		}, true},
		{"lease lost", func(h string) error {
			return db.CompleteExchange(ctx, h, models.Fence{Owner: "b", Attempt: 1}, uid, "onotify")
		}, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			hash := "h-" + tc.name
			claim(hash)
			err := tc.finish(hash)
			if tc.lost {
				if !errors.Is(err, models.ErrLostLease) {
					t.Fatalf("finishing another owner's row: %v, want ErrLostLease", err)
				}
				row, _ := db.ExchangeByCode(ctx, hash)
				if row.Status != models.StatusPending {
					t.Fatalf("row %s, want still pending", row.Status)
				}
				// A NOTIFY would arrive before this probe, which is sent after.
				if err := db.Gorm.Exec("SELECT pg_notify('wxlogin_exchange', 'after')").Error; err != nil {
					t.Fatal(err)
				}
				select {
				case k := <-got:
					if k != "after" {
						t.Fatalf("heard %q for a row that did not finish", k)
					}
				case <-time.After(10 * time.Second):
					t.Fatal("the probe NOTIFY sent after the lost finish was not heard in 10s (listener down?)")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case k := <-got:
				if k != hash {
					t.Fatalf("heard %q, want %q", k, hash)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no NOTIFY in 10s")
			}
			row, err := db.ExchangeByCode(ctx, hash)
			if err != nil || row.Status == models.StatusPending {
				t.Fatalf("row %+v %v, want finished", row, err)
			}
		})
	}
}
