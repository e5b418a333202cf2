// Package wechatsim is a stand-in for WeChat's Official Account web
// authorization (网页授权): the authorize page with consent and denial, the
// /sns API with WeChat's JSON, errcodes and rid-suffixed errmsgs, single-use
// codes that expire after five minutes, scopes, unionid and snapshot users.
//
// It exists so that wxlogin can be developed with no WeChat account and
// tested without network, including the failures real WeChat produces but
// never on demand: latency, -1, 5xx, hangs and bad JSON (SetFault), and the
// Android in-app browser's double callback (variants A and B). Counters of
// exchanges per code (ExchangeCount, Stats) let tests prove that every code
// was exchanged exactly once.
//
// The simulator deliberately imports nothing of wxlogin, not even its WeChat
// client: it is written from wechat-api.md alone, so a client bug cannot be
// mirrored by a matching simulator bug and tests against it stay honest.
//
// Where it differs from WeChat on purpose, for the sake of demos and tests:
// the authorize page also works outside WeChat (with a notice); invalid
// authorize parameters answer HTTP 400 rather than 200; a request carrying
// X-Sim-User authorizes headlessly; and the consent page lets the person
// pick the test user.
package wechatsim
