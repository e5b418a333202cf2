// Package wechat is wxlogin's client for WeChat Official Account web
// authorization (网页授权): the authorize URL, the code exchange, token
// refresh and check, userinfo, and the Mini Program jscode2session call.
//
// The client exists, rather than a third-party SDK, because wxlogin's
// promise (every code exchanged exactly once) needs guarantees no SDK gives:
//
//   - A code reaches WeChat at most once per ExchangeCode (or
//     JSCode2Session) call. A code is single use, so re-sending it after a
//     lost answer can only produce 40163 and hide the real outcome; the
//     retry policy belongs to the caller, which knows whether the code was
//     already claimed. The client never retries these calls, and net/http
//     cannot either: its Transport silently re-sends an idempotent request
//     when a kept-alive connection dies between the request and the answer
//     (issue 19), so every endpoint not marked replayable is sent with an
//     empty, non-rewindable body, which net/http never replays but which
//     puts nothing on the wire (oneShotBody; TestCodeCallsAreNeverReplayed).
//     Kept-alive connections are still used for every call; the replayable
//     calls (auth, userinfo, refresh) are still re-sent by net/http
//     (TestReplayableCallsAreStillReplayed).
//   - UserInfo, which is idempotent, is retried with jittered backoff on
//     temporary failures only.
//   - Failures are typed: *APIError for WeChat's {"errcode":N} answers (branch
//     on Code, never on the errmsg, which carries a per-request rid), and
//     *UnavailableError for anything that is not a WeChat answer at all.
//   - The client's load on WeChat is bounded (issue 17): at most
//     Config.MaxInFlight attempts in flight (default 128) and
//     Config.MaxQueued callers waiting for one (default 256), each at most
//     until its context ends or Timeout passes; anyone beyond fails at once
//     with an *UnavailableError wrapping ErrOverloaded (no errcode, so
//     callers show their busy page with a retry link; the code never left
//     the process). The default transport also opens at most
//     Config.MaxConnsPerHost connections per WeChat host. Observe sees a
//     refusal as ErrCodeOverloaded (-3), and Client.Load reports in-flight,
//     waiting and refused calls for gauges.
//   - No error text ever contains the app secret, a code, a token or a
//     request URL (which carries the secret and the code), so errors can be
//     logged and shown on admin pages without leaking credentials.
//
// The package imports nothing of wxlogin, so it can be tested on its own
// against the simulator in package wechatsim.
package wechat
