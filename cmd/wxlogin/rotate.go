package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"wxlogin/config"
	"wxlogin/models"
	"wxlogin/tokencrypt"
)

// rotateBatch is how many users one query reads.
const rotateBatch = 500

// rotateTokenKey re-seals every stored WeChat token with the first TOKEN_KEY.
//
// Rotating TOKEN_KEY: put the new key first and keep the old one after it
// (TOKEN_KEY=NEW,OLD) on every instance, run `wxlogin rotate-token-key`,
// then remove OLD. Until then both keys open tokens, new ones are sealed
// with NEW, and running the command again is harmless: values sealed with
// NEW already are skipped, and a row a login rewrote meanwhile is left to
// that login. It exits 1 if any value could not be opened (sealed with a key
// no longer listed, or damaged): those users' tokens stay as they are, and
// the users simply get new tokens at their next login.
func rotateTokenKey(ctx context.Context, cfg *config.Config, stdout, stderr io.Writer) int {
	sealer, err := tokencrypt.New(cfg.TokenKeys)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin rotate-token-key: TOKEN_KEY: %v\n", err)
		return 1
	}
	db, err := models.Open(ctx, cfg.DatabaseURL, cfg.DataDir, models.Options{MaxOpenConns: 2})
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin rotate-token-key: %v\n", err)
		return 1
	}
	defer func() { _ = db.Close() }()

	var users, resealed, current, changed, unreadable int
	for after := int64(0); ; {
		batch, err := db.SealedTokensAfter(ctx, after, rotateBatch)
		if err != nil {
			fmt.Fprintf(stderr, "wxlogin rotate-token-key: reading users: %v\n", err)
			return 1
		}
		if len(batch) == 0 {
			break
		}
		for _, row := range batch {
			after = row.ID
			users++
			if !sealer.NeedsReseal(row.Access) && !sealer.NeedsReseal(row.Refresh) {
				current++
				continue
			}
			access, err1 := reseal(sealer, row.Access, row.OpenID)
			refresh, err2 := reseal(sealer, row.Refresh, row.OpenID)
			if err := errors.Join(err1, err2); err != nil {
				// The error names no token: tokencrypt's errors carry no data.
				fmt.Fprintf(stderr, "user %d: %v\n", row.ID, err)
				unreadable++
				continue
			}
			ok, err := db.ResealTokens(ctx, row, access, refresh)
			if err != nil {
				fmt.Fprintf(stderr, "wxlogin rotate-token-key: user %d: %v\n", row.ID, err)
				return 1
			}
			if ok {
				resealed++
			} else {
				changed++
			}
		}
	}
	fmt.Fprintf(stdout, "users with tokens: %d; re-sealed with the newest key: %d; already on it: %d; changed by a login meanwhile: %d; unreadable: %d\n",
		users, resealed, current, changed, unreadable)
	lost, err := rotateSessionKeys(ctx, db, sealer, stdout, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "wxlogin rotate-token-key: %v\n", err)
		return 1
	}
	unreadable += lost
	if unreadable > 0 {
		fmt.Fprintln(stderr, "wxlogin rotate-token-key: some tokens were sealed with a key that is not in TOKEN_KEY (or are damaged); "+
			"add that key back after the newest one and run again, or leave them: those users get new tokens at their next login")
		return 1
	}
	return 0
}

// rotateSessionKeys re-seals the mini program's session keys the same way
// (bound to "mini:" + the identity's openid) and returns how many could not
// be opened; those are left as they are and renewed by the next login.
func rotateSessionKeys(ctx context.Context, db *models.DB, sealer *tokencrypt.Sealer, stdout, stderr io.Writer) (int, error) {
	var keys, resealed, current, changed, unreadable int
	for after := int64(0); ; {
		batch, err := db.SealedSessionKeysAfter(ctx, after, rotateBatch)
		if err != nil {
			return 0, fmt.Errorf("reading identities: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		for _, row := range batch {
			after = row.ID
			keys++
			if !sealer.NeedsReseal(row.Enc) {
				current++
				continue
			}
			enc, err := reseal(sealer, row.Enc, "mini:"+row.OpenID)
			if err != nil {
				fmt.Fprintf(stderr, "identity %d: %v\n", row.ID, err)
				unreadable++
				continue
			}
			ok, err := db.ResealSessionKey(ctx, row, enc)
			if err != nil {
				return 0, fmt.Errorf("identity %d: %w", row.ID, err)
			}
			if ok {
				resealed++
			} else {
				changed++
			}
		}
	}
	fmt.Fprintf(stdout, "mini program session keys: %d; re-sealed: %d; already on the newest key: %d; changed by a login meanwhile: %d; unreadable: %d\n",
		keys, resealed, current, changed, unreadable)
	return unreadable, nil
}

// reseal opens a value sealed with an older key and seals it with the
// newest; nil (no token) and values on the newest key are returned as they are.
func reseal(s *tokencrypt.Sealer, sealed []byte, openid string) ([]byte, error) {
	if sealed == nil || !s.NeedsReseal(sealed) {
		return sealed, nil
	}
	plain, err := s.Open(sealed, []byte(openid))
	if err != nil {
		return nil, err
	}
	return s.Seal(plain, []byte(openid))
}
