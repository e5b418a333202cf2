package handlers

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"wxlogin/config"
	"wxlogin/dbsession"
	"wxlogin/exchange"
	"wxlogin/metrics"
	"wxlogin/models"
	"wxlogin/testdb"
	"wxlogin/tokencrypt"
	"wxlogin/wechat"
)

// The login's pages through the real router, middleware, sessions and gate
// on real Postgres; only WeChat is an in-process fake that answers at once,
// so the numbers are wxlogin's own cost per request.

const benchUA = "Mozilla/5.0 (Linux; Android 13; wv) AppleWebKit/537.36 Chrome/116.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64"

type benchWeChat struct{}

func (benchWeChat) ExchangeCode(_ context.Context, code string) (*wechat.Token, error) {
	return &wechat.Token{AccessToken: "at-" + code, RefreshToken: "rt-" + code, ExpiresIn: 7200,
		OpenID: "o" + code, Scope: "snsapi_userinfo", UnionID: "u" + code}, nil
}

func (benchWeChat) UserInfo(_ context.Context, _, openid, _ string) (*wechat.UserInfo, error) {
	return &wechat.UserInfo{OpenID: openid, Nickname: "张三", Sex: 1, Province: "广东", City: "广州", Country: "中国",
		HeadImgURL: "https://thirdwx.qlogo.cn/mmopen/x/132", Privilege: []string{}}, nil
}

type benchApp struct {
	router http.Handler
	codes  atomic.Int64
}

func newBenchApp(b *testing.B) *benchApp {
	b.Helper()
	db := testdb.Open(b)
	vars := map[string]string{
		"DATABASE_URL": db.URL, "BASE_URL": "http://127.0.0.1:8080", "WECHAT_APPID": "wxbench0000000001", "WECHAT_SECRET": "benchsecret",
		"WECHAT_OAUTH_URL": "http://127.0.0.1:9", "WECHAT_API_URL": "http://127.0.0.1:9", "INSTANCE_ID": "bench",
		"SESSION_KEYS": "0101010101010101010101010101010101010101010101010101010101010101",
		"TOKEN_KEY":    "0202020202020202020202020202020202020202020202020202020202020202", "DATA_DIR": b.TempDir(),
	}
	cfg, err := config.Load(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	sealer, err := tokencrypt.New(cfg.TokenKeys)
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	gate := exchange.New(db, benchWeChat{}, sealer, exchange.Config{Instance: "bench", Logger: log})
	sessions, err := dbsession.New(db, dbsession.Config{Kind: "user", CookieName: "wxl_session", Keys: cfg.SessionKeys,
		Idle: cfg.SessionIdle, MaxAge: cfg.SessionMaxAge})
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Deps{Config: cfg, Store: db, Gate: gate, Sessions: sessions, Metrics: metrics.New(db), Logger: log,
		WeChat: wechat.New(wechat.Config{AppID: cfg.WeChatAppID, Secret: cfg.WeChatSecret, OAuthURL: cfg.WeChatOAuthURL, APIURL: cfg.WeChatAPIURL})})
	if err != nil {
		b.Fatal(err)
	}
	return &benchApp{router: h.Router()}
}

// get serves one GET through the router as Android WeChat.
func (a *benchApp) get(b *testing.B, target string, cookies []*http.Cookie) *http.Response {
	req := httptest.NewRequestWithContext(context.Background(), http.MethodGet, "http://127.0.0.1:8080"+target, nil)
	req.Header.Set("User-Agent", benchUA)
	req.RemoteAddr = "127.0.0.1:40000"
	for _, c := range cookies {
		req.AddCookie(c)
	}
	rec := httptest.NewRecorder()
	a.router.ServeHTTP(rec, req)
	res := rec.Result()
	_, _ = io.Copy(io.Discard, res.Body)
	return res
}

// entry taps the menu: it returns the session cookie and the state.
func (a *benchApp) entry(b *testing.B) ([]*http.Cookie, string) {
	res := a.get(b, "/wechat/entry?next=%2Fprofile", nil)
	loc, err := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusFound || err != nil {
		b.Fatalf("entry: %d %v", res.StatusCode, err)
	}
	return res.Cookies(), loc.Query().Get("state")
}

// callback is WeChat sending the browser back with a fresh code.
func (a *benchApp) callback(b *testing.B, cookies []*http.Cookie, state string) []*http.Cookie {
	code := "code" + strconv.FormatInt(a.codes.Add(1), 10) + strconv.FormatInt(time.Now().UnixNano(), 36)
	res := a.get(b, "/wechat/callback?code="+code+"&state="+state, cookies)
	if res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/profile" {
		b.Fatalf("callback: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	return res.Cookies()
}

func BenchmarkEntry(b *testing.B) {
	a := newBenchApp(b)
	b.ReportAllocs()
	for b.Loop() {
		a.entry(b)
	}
}

// BenchmarkCallback is the callback alone (the entry before it is not
// timed): session load, state check, claim, exchange, user upsert, row
// completion, new session id, redirect.
func BenchmarkCallback(b *testing.B) {
	a := newBenchApp(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		cookies, state := a.entry(b)
		b.StartTimer()
		a.callback(b, cookies, state)
	}
}

func BenchmarkProfile(b *testing.B) {
	a := newBenchApp(b)
	cookies, state := a.entry(b)
	cookies = a.callback(b, cookies, state)
	b.ReportAllocs()
	for b.Loop() {
		if res := a.get(b, "/profile", cookies); res.StatusCode != http.StatusOK {
			b.Fatalf("profile: %d", res.StatusCode)
		}
	}
}

// BenchmarkLogin is the whole login as the server sees it: entry,
// callback, profile.
func BenchmarkLogin(b *testing.B) {
	a := newBenchApp(b)
	b.ReportAllocs()
	for b.Loop() {
		cookies, state := a.entry(b)
		cookies = a.callback(b, cookies, state)
		if res := a.get(b, "/profile", cookies); res.StatusCode != http.StatusOK {
			b.Fatalf("profile: %d", res.StatusCode)
		}
	}
}

// BenchmarkRender executes parsed templates only (no database): the profile
// page and a message page.
func BenchmarkRender(b *testing.B) {
	cfg, err := config.Load(func(k string) string { return map[string]string{"DATA_DIR": b.TempDir()}[k] })
	if err != nil {
		b.Fatal(err)
	}
	h, err := New(Deps{Config: cfg, Metrics: metrics.New(nil), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	seen := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	user := &models.User{ID: 1, OpenID: "o6_bmjrPTlm6_2sgVt7hMZOPfL2M", Nickname: "小明🐱🌸✨", Sex: 2, Province: "上海", City: "浦东新区",
		Country: "中国", AvatarURL: "https://thirdwx.qlogo.cn/mmopen/abc/132", Language: "zh_CN", Scope: "snsapi_userinfo",
		CreatedAt: seen, LastLoginAt: &seen, LoginCount: 3}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	for _, tc := range []struct {
		page string
		data templateData
	}{
		{"profile", templateData{User: user}},
		{"message", templateData{Message: messages[pageBadState]}},
	} {
		b.Run(tc.page, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				rec := httptest.NewRecorder()
				h.renderTo(rec, req, http.StatusOK, tc.page, tc.data)
				if rec.Code != http.StatusOK {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
