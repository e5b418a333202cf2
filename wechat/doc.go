// Package wechat is wxlogin's client for WeChat Official Account web
// authorization (网页授权): the authorize URL, the code exchange, token
// refresh and check, userinfo, and the Mini Program jscode2session call.
//
// The client exists, rather than a third-party SDK, because wxlogin's
// promise (every code exchanged exactly once) needs guarantees no SDK gives:
//
//   - ExchangeCode makes exactly one HTTP attempt. A code is single use, so
//     re-sending it after a lost answer can only produce 40163 and hide the
//     real outcome; the retry policy belongs to the caller, which knows
//     whether the code was already claimed.
//   - UserInfo, which is idempotent, is retried with jittered backoff on
//     temporary failures only.
//   - Failures are typed: *APIError for WeChat's {"errcode":N} answers (branch
//     on Code, never on the errmsg, which carries a per-request rid), and
//     *UnavailableError for anything that is not a WeChat answer at all.
//   - No error text ever contains the app secret, a code, a token or a
//     request URL (which carries the secret and the code), so errors can be
//     logged and shown on admin pages without leaking credentials.
//
// The package imports nothing of wxlogin, so it can be tested on its own
// against the simulator in package wechatsim.
package wechat
