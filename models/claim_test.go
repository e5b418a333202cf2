package models_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"wxlogin/models"
)

// TestClaimExchangeHasOneWinner is the direct check that a second claim of a
// code loses: many claimers (as many instances' requests for one code would)
// are released together on the same code hash, each with its own state and
// owner, and the database's unique index on code_hash must let exactly one
// ClaimExchange return true; the others get false and no error. The row left
// behind is the winner's. It runs on real Postgres and on SQLite, whose
// ON CONFLICT paths differ. (Only the code_hash conflict: every claimer has a
// different state.)
func TestClaimExchangeHasOneWinner(t *testing.T) {
	bothDialects(t, func(t *testing.T, db *models.DB) {
		const claimers = 32
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		for round := range 3 {
			code := fmt.Sprintf("code-hash-%d", round)
			var (
				ready   sync.WaitGroup
				done    sync.WaitGroup
				release = make(chan struct{})
				mu      sync.Mutex
				winners []string
				errs    []error
			)
			ready.Add(claimers)
			done.Add(claimers)
			for i := range claimers {
				owner := fmt.Sprintf("instance-%d", i)
				go func() {
					defer done.Done()
					now := time.Now().UTC()
					row := &models.CodeExchange{CodeHash: code, StateHash: fmt.Sprintf("state-%d-%d", round, i),
						BrowserHash: "browser-" + owner, NextPath: "/profile", Scope: "snsapi_userinfo",
						Status: models.StatusPending, Owner: owner, LeaseUntil: now.Add(15 * time.Second),
						Attempts: 1, CreatedAt: now, UpdatedAt: now}
					ready.Done()
					<-release
					ok, _, err := db.ClaimExchange(ctx, row, 15*time.Second)
					mu.Lock()
					defer mu.Unlock()
					if err != nil {
						errs = append(errs, fmt.Errorf("%s: %w", owner, err))
					}
					if ok {
						winners = append(winners, owner)
					}
				}()
			}
			ready.Wait()
			close(release)
			done.Wait()
			if len(errs) > 0 {
				t.Fatalf("round %d: a losing claim must be false, not an error: %v", round, errs)
			}
			if len(winners) != 1 {
				t.Fatalf("round %d: %d of %d claims of one code won (%v), want exactly 1", round, len(winners), claimers, winners)
			}
			row, err := db.ExchangeByCode(ctx, code)
			if err != nil {
				t.Fatalf("round %d: reading the claimed row: %v", round, err)
			}
			if row.Owner != winners[0] || row.Status != models.StatusPending {
				t.Fatalf("round %d: row owner %q status %q, want the winner %q and pending", round, row.Owner, row.Status, winners[0])
			}
		}
	})
}
