package app

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"wxlogin/tokencrypt"
	"wxlogin/wechatsim"
)

// wiretap sits between wxlogin and the simulator and remembers every secret
// that crosses it: the app secret and codes wxlogin sends, and every access
// and refresh token WeChat hands out, including those of exchanges that
// failed afterwards and were never stored.
type wiretap struct {
	mu      sync.Mutex
	secrets map[string]bool
}

func (w *wiretap) add(vs ...string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range vs {
		if len(v) >= 8 {
			w.secrets[v] = true
		}
	}
}

func (w *wiretap) has(v string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.secrets[v]
}

func (w *wiretap) all() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for v := range w.secrets {
		out = append(out, v)
	}
	return out
}

func newWiretap(t *testing.T, sim http.Handler) (*wiretap, *httptest.Server) {
	tap := &wiretap{secrets: map[string]bool{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		tap.add(q.Get("secret"), q.Get("code"), q.Get("js_code"), q.Get("access_token"), q.Get("refresh_token"))
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, r)
		var tok struct {
			AccessToken  string `json:"access_token"`
			RefreshToken string `json:"refresh_token"`
			SessionKey   string `json:"session_key"`
		}
		if json.Unmarshal(rec.Body.Bytes(), &tok) == nil {
			tap.add(tok.AccessToken, tok.RefreshToken, tok.SessionKey)
		}
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(srv.Close)
	return tap, srv
}

// The app secret, every code, every access and refresh token and the keys
// never appear in the logs (debug level), in any page or header wxlogin
// sends, or in /metrics: checked over full logins, WeChat failures of every
// kind, a silent restart after 40029 and an unreachable WeChat.
func TestSecretsNeverInLogsOrPages(t *testing.T) {
	e := newEnv(t)
	tap, tapSrv := newWiretap(t, e.Sim.Handler())
	in := e.start("a", e.miniVars(map[string]string{"WECHAT_API_URL": tapSrv.URL, "WECHAT_TIMEOUT": "500ms"}), Options{})
	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedURL := "http://" + closed.Addr().String()
	closed.Close()
	down := e.start("down", map[string]string{"WECHAT_API_URL": closedURL, "WECHAT_TIMEOUT": "500ms"}, Options{})

	var mu sync.Mutex
	var answers []page
	keep := func(p page) page {
		mu.Lock()
		answers = append(answers, p)
		mu.Unlock()
		return p
	}
	// login walks the whole flow, following a silent restart, as user.
	login := func(t *testing.T, on *instance, user, scope string) {
		b := newBrowser(t)
		entry := on.URL + "/wechat/entry?next=/profile&scope=" + scope
		for range 2 {
			p := keep(b.get(entry))
			cb := e.authorize(p.Location, user, "allow")
			tap.add(codeOf(t, cb))
			p = keep(b.get(cb))
			if !strings.HasPrefix(p.Location, "/wechat/entry?attempt=2") {
				break
			}
			entry = on.URL + p.Location
		}
		keep(b.get(on.URL + "/profile"))
		keep(b.get(on.URL + "/"))
	}

	tests := []struct {
		name, endpoint string
		fault          wechatsim.Fault
		user, scope    string
	}{
		{"userinfo login", "", wechatsim.Fault{}, "zhangsan", "snsapi_userinfo"},
		{"base login", "", wechatsim.Fault{}, "emoji", "snsapi_base"},
		{"exchange -1", "access_token", wechatsim.Fault{ErrCode: -1}, "english", "snsapi_userinfo"},
		{"exchange 502", "access_token", wechatsim.Fault{HTTPStatus: 502}, "english", "snsapi_userinfo"},
		{"exchange bad JSON", "access_token", wechatsim.Fault{BadJSON: true}, "english", "snsapi_userinfo"},
		{"exchange 40029 then restart", "access_token", wechatsim.Fault{ErrCode: 40029, Count: 1}, "nounion", "snsapi_userinfo"},
		{"exchange consumed, answer lost", "access_token", wechatsim.Fault{HTTPStatus: 502, ConsumeCode: true}, "english", "snsapi_userinfo"},
		{"userinfo -1 after the token", "userinfo", wechatsim.Fault{ErrCode: -1}, "english", "snsapi_userinfo"},
		{"userinfo bad JSON after the token", "userinfo", wechatsim.Fault{BadJSON: true}, "english", "snsapi_userinfo"},
		{"userinfo 40001 after the token", "userinfo", wechatsim.Fault{ErrCode: 40001}, "english", "snsapi_userinfo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e.Sim.Reset()
			if tt.endpoint != "" {
				e.Sim.SetFault(tt.endpoint, tt.fault)
			}
			login(t, in, tt.user, tt.scope)
		})
	}
	// The mini program: logins that succeed, fail at WeChat or are
	// replayed, and the token's use; the session_key crosses the tap.
	miniTests := []struct {
		name  string
		fault wechatsim.Fault
	}{
		{"mini login", wechatsim.Fault{}},
		{"mini -1", wechatsim.Fault{ErrCode: -1, Count: 1}},
		{"mini 45011", wechatsim.Fault{ErrCode: 45011, Count: 1}},
		{"mini consumed, answer lost", wechatsim.Fault{HTTPStatus: 502, ConsumeCode: true, Count: 1}},
	}
	for _, tt := range miniTests {
		t.Run(tt.name, func(t *testing.T) {
			e.Sim.Reset()
			if tt.fault != (wechatsim.Fault{}) {
				e.Sim.SetFault("jscode2session", tt.fault)
			}
			code := e.miniCode("zhangsan")
			tap.add(code)
			for range 2 {
				a := miniLogin(t, in, code)
				keep(a.page)
				if tok := a.str("token"); tok != "" {
					keep(me(t, in, tok).page)
				}
			}
		})
	}
	t.Run("WeChat unreachable", func(t *testing.T) {
		e.Sim.Reset()
		login(t, down, "zhangsan", "snsapi_userinfo")
	})
	keep(newBrowser(t).get(in.URL + "/metrics"))

	// Tokens as stored, decrypted: the same ones the tap saw, if all is well.
	sealer, err := tokencrypt.New([][]byte{mustHex(t, testTokenKey)})
	if err != nil {
		t.Fatal(err)
	}
	var rows []struct {
		OpenID         string `gorm:"column:openid"`
		AccessTokenEnc []byte `gorm:"column:access_token_enc"`
		RefreshEnc     []byte `gorm:"column:refresh_token_enc"`
	}
	if err := in.App.DB.Gorm.Raw("SELECT openid, access_token_enc, refresh_token_enc FROM users").Scan(&rows).Error; err != nil || len(rows) < 2 {
		t.Fatalf("users: %d rows (%v)", len(rows), err)
	}
	for _, r := range rows {
		for _, ct := range [][]byte{r.AccessTokenEnc, r.RefreshEnc} {
			pt, err := sealer.Open(ct, []byte(r.OpenID))
			if err != nil {
				t.Fatalf("stored token does not open: %v", err)
			}
			tap.add(string(pt))
		}
	}

	// Session keys as stored, decrypted: sealed, and the ones the tap saw.
	var keys []struct {
		OpenID string `gorm:"column:openid"`
		Enc    []byte `gorm:"column:session_key_enc"`
	}
	if err := in.App.DB.Gorm.Raw("SELECT openid, session_key_enc FROM identities WHERE app = 'mini'").Scan(&keys).Error; err != nil || len(keys) == 0 {
		t.Fatalf("mini identities: %d rows (%v)", len(keys), err)
	}
	for _, k := range keys {
		pt, err := sealer.Open(k.Enc, []byte("mini:"+k.OpenID))
		if err != nil || len(pt) < 8 || !tap.has(string(pt)) {
			t.Fatalf("the stored session_key does not open to the one WeChat gave (%v)", err)
		}
	}
	secrets := append(tap.all(), e.Sim.Secret(), e.Sim.MiniSecret(), testTokenKey, testSessionKey)
	if len(secrets) < 20 {
		t.Fatalf("only %d secrets collected: the wiretap is not seeing the traffic", len(secrets))
	}
	logs := e.Logs.String()
	if !strings.Contains(logs, "code exchange failed") {
		t.Fatal("the logs hold no exchange failure: they are not being captured")
	}
	var pages strings.Builder
	for _, p := range answers {
		pages.WriteString(p.Body)
		for k, vs := range p.Header {
			pages.WriteString(k + ": " + strings.Join(vs, ", ") + "\n")
		}
	}
	for _, s := range secrets {
		for _, form := range []string{s, url.QueryEscape(s)} {
			if i := strings.Index(logs, form); i >= 0 {
				t.Errorf("a secret is in the logs: …%s…", excerpt(logs, i))
			}
			if i := strings.Index(pages.String(), form); i >= 0 {
				t.Errorf("a secret is in a page or header: …%s…", excerpt(pages.String(), i))
			}
		}
	}
}

// excerpt shows where a secret was found, with the secret itself cut out.
func excerpt(s string, i int) string {
	return s[max(i-80, 0):i] + "[secret]"
}

func mustHex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hexKey(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Tokens are stored AES-GCM-sealed with TOKEN_KEY and bound to the row's
// openid: the columns hold no plaintext, open with the key (to tokens WeChat
// accepts), not with another key, and not when moved to another user.
func TestTokensEncryptedAtRest(t *testing.T) {
	e := newEnv(t)
	in := e.start("a", nil, Options{})
	e.login(newBrowser(t), in, "zhangsan")
	e.login(newBrowser(t), in, "english")
	type row struct {
		OpenID  string `gorm:"column:openid"`
		Access  []byte `gorm:"column:access_token_enc"`
		Refresh []byte `gorm:"column:refresh_token_enc"`
	}
	var rows []row
	if err := in.App.DB.Gorm.Raw("SELECT openid, access_token_enc, refresh_token_enc FROM users ORDER BY id").Scan(&rows).Error; err != nil || len(rows) != 2 {
		t.Fatalf("users: %v (%d rows)", err, len(rows))
	}
	right, _ := tokencrypt.New([][]byte{mustHex(t, testTokenKey)})
	wrong, _ := tokencrypt.New([][]byte{mustHex(t, otherSessionKey)})
	ctx := context.Background()
	for _, r := range rows {
		access, err := right.Open(r.Access, []byte(r.OpenID))
		if err != nil {
			t.Fatalf("access token does not open with TOKEN_KEY: %v", err)
		}
		refresh, err := right.Open(r.Refresh, []byte(r.OpenID))
		if err != nil {
			t.Fatalf("refresh token does not open with TOKEN_KEY: %v", err)
		}
		if bytes.Contains(r.Access, access) || bytes.Contains(r.Refresh, refresh) || bytes.Equal(r.Access, r.Refresh) {
			t.Fatal("a token column holds its plaintext")
		}
		if err := in.App.WeChat.CheckToken(ctx, string(access), r.OpenID); err != nil {
			t.Fatalf("decrypted access token is not the one WeChat issued: %v", err)
		}
		if _, err := in.App.WeChat.RefreshToken(ctx, string(refresh)); err != nil {
			t.Fatalf("decrypted refresh token is not the one WeChat issued: %v", err)
		}
		if _, err := wrong.Open(r.Access, []byte(r.OpenID)); err == nil {
			t.Fatal("a token opens with another key")
		}
	}
	if _, err := right.Open(rows[0].Access, []byte(rows[1].OpenID)); err == nil {
		t.Fatal("a token copied to another user's row still opens")
	}
}
