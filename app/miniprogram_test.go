package app

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"wxlogin/dbsession"
	"wxlogin/wechatsim"
)

// miniVars configure the simulator's mini program.
func (e *env) miniVars(extra map[string]string) map[string]string {
	vars := map[string]string{"WECHAT_MINI_APPID": e.Sim.MiniAppID(), "WECHAT_MINI_SECRET": e.Sim.MiniSecret()}
	for k, v := range extra {
		vars[k] = v
	}
	return vars
}

// apiCall is one request to the JSON API, as the mini program makes it.
type apiCall struct {
	Method, Path, ContentType, Token string
	Body                             io.Reader
}

// apiAnswer is the API's answer, decoded.
type apiAnswer struct {
	page
	JSON map[string]any
}

func (a apiAnswer) str(k string) string { s, _ := a.JSON[k].(string); return s }

func (a apiAnswer) userID() float64 {
	u, _ := a.JSON["user"].(map[string]any)
	id, _ := u["id"].(float64)
	return id
}

func callAPI(t *testing.T, in *instance, c apiCall) apiAnswer {
	t.Helper()
	req, err := http.NewRequest(c.Method, in.URL+c.Path, c.Body)
	if err != nil {
		t.Fatal(err)
	}
	if c.ContentType != "" {
		req.Header.Set("Content-Type", c.ContentType)
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", c.Method, c.Path, err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	a := apiAnswer{page: page{Status: res.StatusCode, Body: string(data), Header: res.Header}}
	_ = json.Unmarshal(data, &a.JSON)
	return a
}

func miniLogin(t *testing.T, in *instance, code string) apiAnswer {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"code": code})
	return callAPI(t, in, apiCall{Method: http.MethodPost, Path: "/api/miniprogram/login", ContentType: "application/json", Body: bytes.NewReader(body)})
}

func me(t *testing.T, in *instance, token string) apiAnswer {
	t.Helper()
	return callAPI(t, in, apiCall{Method: http.MethodGet, Path: "/api/me", Token: token})
}

func (e *env) miniCode(user string) string {
	e.t.Helper()
	code, err := e.Sim.IssueMiniCode(user)
	if err != nil {
		e.t.Fatal(err)
	}
	return code
}

// wantAPIError checks an error answer: the status, JSON with an error code
// and a Chinese message, and no caching.
func wantAPIError(t *testing.T, a apiAnswer, status int, code string) {
	t.Helper()
	if a.Status != status || a.str("error") == "" || a.str("message") == "" ||
		!strings.HasPrefix(a.Header.Get("Content-Type"), "application/json") || a.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d (want %d), body %s, headers %v", a.Status, status, a.Body, a.Header)
	}
	if code != "" && a.str("error") != code {
		t.Fatalf("error %q, want %q (%s)", a.str("error"), code, a.Body)
	}
}

// 20 requests with one code spread over two instances: one jscode2session,
// 20 answers with tokens (each its own) for the same user; the same code
// ten minutes later is refused without a WeChat call.
func TestMiniLoginOneCodeTwoInstances(t *testing.T) {
	e := newEnv(t)
	e.Sim.SetLatency(30 * time.Millisecond)
	ins := []*instance{e.start("a", e.miniVars(nil), Options{}), e.start("b", e.miniVars(nil), Options{})}
	code := e.miniCode("zhangsan")
	answers := make([]apiAnswer, 20)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			answers[i] = miniLogin(t, ins[i%2], code)
		}()
	}
	close(start)
	wg.Wait()
	tokens := map[string]bool{}
	zs := e.user("zhangsan")
	for i, a := range answers {
		u, _ := a.JSON["user"].(map[string]any)
		if a.Status != 200 || a.str("token") == "" || a.userID() == 0 || a.userID() != answers[0].userID() ||
			u["openid"] != zs.MiniOpenID || u["unionid"] != zs.UnionID || a.JSON["expires_in"].(float64) <= 0 {
			t.Fatalf("answer %d: %d %s", i, a.Status, a.Body)
		}
		tokens[a.str("token")] = true
	}
	if len(tokens) != 20 {
		t.Fatalf("%d distinct tokens, want 20", len(tokens))
	}
	if n := e.Sim.ExchangeCount(code); n != 1 {
		t.Fatalf("jscode2session calls for the code: %d, want 1", n)
	}
	// Every token works on either instance.
	for i, a := range answers {
		if m := me(t, ins[(i+1)%2], a.str("token")); m.Status != 200 || m.JSON["id"] != a.userID() || m.str("openid") != zs.MiniOpenID {
			t.Fatalf("/api/me with token %d: %d %s", i, m.Status, m.Body)
		}
	}
	// Ten minutes later (the row made old in SQL): refused, no WeChat call.
	if err := ins[0].App.DB.Gorm.Exec(`UPDATE code_exchanges SET created_at = now() - interval '10 minutes'`).Error; err != nil {
		t.Fatal(err)
	}
	e.Sim.Reset()
	wantAPIError(t, miniLogin(t, ins[1], code), http.StatusUnauthorized, "code_expired")
	if n := e.Sim.Stats().ByEndpoint["jscode2session"]; n != 0 {
		t.Fatalf("the replay reached WeChat %d times", n)
	}
}

func (e *env) user(key string) wechatsim.User {
	e.t.Helper()
	for _, u := range e.Sim.Users() {
		if u.Key == key {
			return u
		}
	}
	e.t.Fatalf("no user %q", key)
	return wechatsim.User{}
}

// Bad input is a 4xx JSON answer and never reaches WeChat.
func TestMiniLoginBadInput(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", e.miniVars(nil), Options{})
	code := e.miniCode("zhangsan")
	const path = "/api/miniprogram/login"
	const ct = "application/json"
	post := func(body string) apiCall {
		return apiCall{Method: http.MethodPost, Path: path, ContentType: ct, Body: strings.NewReader(body)}
	}
	huge := `{"code": "` + strings.Repeat("a", 1<<20) + `"}`
	tests := []struct {
		name   string
		call   apiCall
		status int
	}{
		{"no body", apiCall{Method: http.MethodPost, Path: path, ContentType: ct}, 400},
		{"not JSON", post("code=" + code), 400},
		{"JSON array", post(`["` + code + `"]`), 400},
		{"extra field", post(`{"code": "` + code + `", "x": 1}`), 400},
		{"field twice", post(`{"code": "` + code + `", "code": "` + code + `"}`), 400},
		{"other field", post(`{"js_code": "` + code + `"}`), 400},
		{"trailing data", post(`{"code": "` + code + `"} {}`), 400},
		{"code not a string", post(`{"code": 12345678901}`), 400},
		{"1 MB body", post(huge), 413},
		{"1 MB body, chunked", apiCall{Method: http.MethodPost, Path: path, ContentType: ct, Body: io.MultiReader(strings.NewReader(huge))}, 413},
		{"empty code", post(`{"code": ""}`), 400},
		{"overlong code", post(`{"code": "` + strings.Repeat("a", 129) + `"}`), 400},
		{"odd code", post(`{"code": "abc/def?ghi=jkl"}`), 400},
		{"NUL in code", post(`{"code": "abcdefgh\u0000ij"}`), 400},
		{"CJK code", post(`{"code": "代码代码代码代码"}`), 400},
		{"wrong Content-Type", apiCall{Method: http.MethodPost, Path: path, ContentType: "text/plain", Body: strings.NewReader(`{"code": "` + code + `"}`)}, 415},
		{"form Content-Type", apiCall{Method: http.MethodPost, Path: path, ContentType: "application/x-www-form-urlencoded", Body: strings.NewReader("code=" + code)}, 415},
		{"no Content-Type", apiCall{Method: http.MethodPost, Path: path, Body: strings.NewReader(`{"code": "` + code + `"}`)}, 415},
		{"GET instead of POST", apiCall{Method: http.MethodGet, Path: path}, 405},
		{"PUT", post(`{"code": "` + code + `"}`), 0},
	}
	tests[len(tests)-1].call.Method, tests[len(tests)-1].status = http.MethodPut, 405
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantAPIError(t, callAPI(t, in, tt.call), tt.status, "")
		})
	}
	if n := e.Sim.Stats().ByEndpoint["jscode2session"]; n != 0 {
		t.Fatalf("bad input reached WeChat %d times", n)
	}
	// The code was never spent: it still logs in.
	if a := miniLogin(t, in, code); a.Status != 200 {
		t.Fatalf("the untouched code: %d %s", a.Status, a.Body)
	}
}

// /api/me and /api/logout take only a live mini program token.
func TestMiniTokens(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", e.miniVars(nil), Options{})
	login := func(user string) string {
		a := miniLogin(t, in, e.miniCode(user))
		if a.Status != 200 {
			t.Fatalf("login: %d %s", a.Status, a.Body)
		}
		return a.str("token")
	}
	live := login("emoji")
	loggedOut := login("emoji")
	if a := callAPI(t, in, apiCall{Method: http.MethodPost, Path: "/api/logout", Token: loggedOut}); a.Status != 200 {
		t.Fatalf("logout: %d %s", a.Status, a.Body)
	}
	expired := login("emoji")
	idle := login("emoji")
	db := in.App.DB.Gorm
	// Expire two tokens in SQL: one past its absolute expiry, one idle.
	hash := dbsession.HashID
	if err := db.Exec(`UPDATE sessions SET expires_at = now() - interval '1 minute' WHERE id_hash = ?`, hash(expired)).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`UPDATE sessions SET last_seen_at = now() - interval '8 days' WHERE id_hash = ?`, hash(idle)).Error; err != nil {
		t.Fatal(err)
	}
	// A web session's cookie presented as a token.
	b := newBrowser(t)
	e.login(b, in, "zhangsan")
	webCookie := ""
	for _, c := range b.jar.Cookies(mustURL(t, in.URL)) {
		webCookie = c.Value
	}
	if webCookie == "" {
		t.Fatal("no web session cookie")
	}
	disabled := login("english")
	if err := db.Exec(`UPDATE users SET disabled = true WHERE id = (SELECT user_id FROM sessions WHERE id_hash = ?)`, hash(disabled)).Error; err != nil {
		t.Fatal(err)
	}

	tests := []struct{ name, auth string }{
		{"no token", ""},
		{"malformed", "Bearer not-a-token"},
		{"wrong scheme", "Basic " + live},
		{"made up", "Bearer wxm_" + strings.Repeat("A", 43)},
		{"logged out", "Bearer " + loggedOut},
		{"expired", "Bearer " + expired},
		{"idle", "Bearer " + idle},
		{"web session cookie", "Bearer " + webCookie},
		{"disabled user", "Bearer " + disabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				path := map[string]string{http.MethodGet: "/api/me", http.MethodPost: "/api/logout"}[method]
				req, _ := http.NewRequest(method, in.URL+path, nil)
				if tt.auth != "" {
					req.Header.Set("Authorization", tt.auth)
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				data, _ := io.ReadAll(res.Body)
				res.Body.Close()
				a := apiAnswer{page: page{Status: res.StatusCode, Body: string(data), Header: res.Header}}
				_ = json.Unmarshal(data, &a.JSON)
				wantAPIError(t, a, http.StatusUnauthorized, "unauthorized")
			}
		})
	}
	if a := me(t, in, live); a.Status != 200 || a.str("openid") != e.user("emoji").MiniOpenID {
		t.Fatalf("the live token: %d %s", a.Status, a.Body)
	}
}

// WeChat's refusals map to statuses that say what to do; 45011 and -1 say
// when to retry.
func TestMiniLoginWeChatFailures(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", e.miniVars(nil), Options{})
	tests := []struct {
		name       string
		fault      wechatsim.Fault
		status     int
		code       string
		retryAfter string
	}{
		{"rate limited", wechatsim.Fault{ErrCode: 45011}, 429, "rate_limited", "60"},
		{"busy", wechatsim.Fault{ErrCode: -1}, 503, "wechat_busy", "5"},
		{"code used", wechatsim.Fault{ErrCode: 40163}, 401, "code_rejected", ""},
		{"invalid code", wechatsim.Fault{ErrCode: 40029}, 401, "code_rejected", ""},
		{"high risk", wechatsim.Fault{ErrCode: 40226}, 403, "user_refused", ""},
		{"bad gateway", wechatsim.Fault{HTTPStatus: 502}, 502, "wechat_unavailable", "5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Sim.Reset()
			f := tt.fault
			f.Count = 1
			e.Sim.SetFault("jscode2session", f)
			a := miniLogin(t, in, e.miniCode("zhangsan"))
			wantAPIError(t, a, tt.status, tt.code)
			if got := a.Header.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
		})
	}
}

// Without a mini program the routes do not exist.
func TestMiniRoutesNeedAMiniProgram(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	for _, c := range []apiCall{
		{Method: http.MethodPost, Path: "/api/miniprogram/login", ContentType: "application/json", Body: strings.NewReader(`{"code": "` + e.miniCode("zhangsan") + `"}`)},
		{Method: http.MethodGet, Path: "/api/me", Token: "wxm_" + strings.Repeat("A", 43)},
		{Method: http.MethodPost, Path: "/api/logout"},
	} {
		wantAPIError(t, callAPI(t, in, c), http.StatusNotFound, "not_found")
	}
}
