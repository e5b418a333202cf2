package fault

import (
	"context"
	"time"

	"wxlogin/exchange"
	"wxlogin/models"
)

// Store is an exchange.Store whose calls pass through Hooks by method name
// ("ClaimExchange", "ExchangeByCode", ...).
type Store struct {
	Inner exchange.Store
	Hooks
}

var _ exchange.Store = (*Store)(nil)

func (s *Store) ClaimExchange(ctx context.Context, row *models.CodeExchange, lease time.Duration) (ok bool, prior string, err error) {
	err = s.run(ctx, "ClaimExchange", func(ctx context.Context) (err error) {
		ok, prior, err = s.Inner.ClaimExchange(ctx, row, lease)
		return err
	})
	if err != nil {
		return false, "", err
	}
	return ok, prior, nil
}

func (s *Store) ExchangeByCode(ctx context.Context, codeHash string) (row *models.CodeExchange, err error) {
	err = s.run(ctx, "ExchangeByCode", func(ctx context.Context) (err error) {
		row, err = s.Inner.ExchangeByCode(ctx, codeHash)
		return err
	})
	return row, err
}

func (s *Store) ExchangesByState(ctx context.Context, stateHash string) (rows []models.CodeExchange, err error) {
	err = s.run(ctx, "ExchangesByState", func(ctx context.Context) (err error) {
		rows, err = s.Inner.ExchangesByState(ctx, stateHash)
		return err
	})
	return rows, err
}

func (s *Store) CompleteExchange(ctx context.Context, codeHash string, f models.Fence, userID int64, openid string) error {
	return s.run(ctx, "CompleteExchange", func(ctx context.Context) error { return s.Inner.CompleteExchange(ctx, codeHash, f, userID, openid) })
}

func (s *Store) FailExchange(ctx context.Context, codeHash string, f models.Fence, errcode int, kind string) error {
	return s.run(ctx, "FailExchange", func(ctx context.Context) error { return s.Inner.FailExchange(ctx, codeHash, f, errcode, kind) })
}

func (s *Store) TakeOverExchange(ctx context.Context, codeHash, owner string, lease time.Duration) (f models.Fence, won bool, err error) {
	err = s.run(ctx, "TakeOverExchange", func(ctx context.Context) (err error) {
		f, won, err = s.Inner.TakeOverExchange(ctx, codeHash, owner, lease)
		return err
	})
	return f, won, err
}

func (s *Store) AbandonExchange(ctx context.Context, codeHash string) (ok bool, err error) {
	err = s.run(ctx, "AbandonExchange", func(ctx context.Context) (err error) {
		ok, err = s.Inner.AbandonExchange(ctx, codeHash)
		return err
	})
	return ok, err
}

func (s *Store) NoteDuplicate(ctx context.Context, codeHash string, waited bool) error {
	return s.run(ctx, "NoteDuplicate", func(ctx context.Context) error { return s.Inner.NoteDuplicate(ctx, codeHash, waited) })
}

func (s *Store) MarkRestarted(ctx context.Context, codeHash string) error {
	return s.run(ctx, "MarkRestarted", func(ctx context.Context) error { return s.Inner.MarkRestarted(ctx, codeHash) })
}

func (s *Store) RecordLogin(ctx context.Context, l models.Login) (id int64, disabled bool, err error) {
	err = s.run(ctx, "RecordLogin", func(ctx context.Context) (err error) {
		id, disabled, err = s.Inner.RecordLogin(ctx, l)
		return err
	})
	return id, disabled, err
}

// RecordLoginCompleting keeps the user's write and the row's completion
// apart (Row is always false, and no session is written): each can then be failed, delayed or
// cut short on its own, as the fault tests need. The one-statement form of
// models.DB has no moment between the two to inject a fault into: a failed
// statement wrote nothing and is retried whole.
func (s *Store) RecordLoginCompleting(ctx context.Context, l models.Login, _ string, _ models.Fence, _ *models.Session) (c models.Completed, err error) {
	c.UserID, c.Disabled, err = s.RecordLogin(ctx, l)
	return c, err
}
