// Package tokencenter holds the Official Account's basic access token once
// for every instance (wechat-api.md §7; DESIGN.md "The Official Account
// around the login"). It knows no HTTP requests: handlers, admin pages and
// other packages call Token, Do and Force.
//
// Why: every cgi-bin API needs the account's access token, and two servers
// (or a test environment and production) that each fetch their own
// invalidate each other, so users see 40001 at random. Here the token is
// one row in the database (account_tokens, sealed with TOKEN_KEY), fetched
// with cgi-bin/stable_token only, never cgi-bin/token.
//
// The rules:
//
//   - One fetcher at a time across instances: a lease claimed with one
//     conditional UPDATE on the database's clock (nothing session-scoped,
//     so it works behind a transaction-mode pooler). Within a process one
//     goroutine does the work and the others wait for it. Instances that
//     lose the claim keep using the still-valid token, or wait (bounded by
//     Config.Wait) for the winner's.
//   - Renewed ahead of expiry (Config.Ahead, 4 minutes: WeChat renews a
//     stable token five minutes before it expires and returns the new one
//     in normal mode from then on).
//   - A call refused with 40001/40014/42001 (Invalid, Do): first the row is
//     re-read (another instance may have renewed it), then stable_token is
//     asked in normal mode (another server or environment may have forced a
//     new token: normal mode returns it). Only when WeChat hands back the
//     very token that just failed is one force_refresh made, counted in the
//     database against WeChat's limits (20 a day, 30 s apart) before it goes
//     out, so at most one is made across all instances; then the call is
//     retried once. A second death inside the 30 s is recorded on the row
//     (dead_version): every instance then fails fast with ErrForceTooSoon
//     instead of asking WeChat again — no loop, no storm — except one
//     normal-mode re-check every Config.DeadRecheck (5 s) across all
//     instances, which finds a token another server forced meanwhile.
//     Two deployments
//     sharing an appid never ping-pong: the second one's normal-mode ask
//     returns the first one's forced token.
//   - WeChat down, 45009, 40164 (IP not whitelisted; the error names the
//     IP), 40125: a few attempts with jittered backoff inside the lease,
//     then the error is stored on the row with a retry time that holds every
//     instance off (doubling, capped at a minute).
//
// The token never appears in an error, a log line or the row unsealed.
package tokencenter
