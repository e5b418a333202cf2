package wechatsim

import (
	"net/http"
	"net/url"
	"strings"
)

// Android double-callback modes (wechat-api.md §2).
const (
	doubleOff = "off"
	doubleA   = "A" // the same code and state twice
	doubleB   = "B" // a second fresh code, same state
)

func normalizeDouble(v string) string {
	switch strings.ToUpper(strings.TrimSpace(v)) {
	case "", "OFF", "0", "FALSE", "NO":
		return doubleOff
	case doubleA:
		return doubleA
	case doubleB:
		return doubleB
	}
	return ""
}

// userCookie remembers the last test user picked on the consent page, so the
// silent snsapi_base hop logs in the same person.
const userCookie = "wxsim_user"

// authParams are the authorize parameters, carried from the GET to the
// consent form's hidden fields and back.
type authParams struct {
	AppID, RedirectURI, ResponseType, Scope, State string
}

// authError is a rejected authorize request, shown like WeChat's error page.
type authError struct {
	Code int
	Msg  string
}

// parseAuth validates authorize parameters as strictly as WeChat documents
// them, so an app that builds a wrong link finds out in development.
func (s *Sim) parseAuth(get func(string) string) (authParams, *authError) {
	p := authParams{
		AppID:        get("appid"),
		RedirectURI:  get("redirect_uri"),
		ResponseType: get("response_type"),
		Scope:        get("scope"),
		State:        get("state"),
	}
	switch {
	case p.AppID == "":
		return p, &authError{10012, "appid 不能为空"}
	case p.AppID != s.o.AppID:
		return p, &authError{40013, "appid 参数错误（invalid appid）"}
	case p.RedirectURI == "":
		return p, &authError{10011, "redirect_uri 不能为空"}
	case !validRedirect(p.RedirectURI):
		return p, &authError{10003, "redirect_uri 参数错误：须为 http(s) 绝对地址"}
	case p.ResponseType != "code":
		return p, &authError{10014, "response_type 参数错误：须为 code"}
	case p.Scope == "":
		return p, &authError{10010, "scope 不能为空"}
	case p.Scope != scopeBase && p.Scope != scopeUserInfo:
		return p, &authError{10005, "scope 参数错误或没有 scope 权限"}
	case !validState(p.State):
		return p, &authError{10013, "state 参数错误：只能是 a-zA-Z0-9，最多 128 字节"}
	}
	return p, nil
}

func validRedirect(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.User == nil
}

func validState(st string) bool {
	if len(st) > 128 {
		return false
	}
	for i := 0; i < len(st); i++ {
		c := st[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// callbackURL is redirect_uri with code (omitted when empty, i.e. denial)
// and state appended to any query it already has, fragment kept last.
func callbackURL(redirectURI, code, state string) string {
	base, frag, hasFrag := strings.Cut(redirectURI, "#")
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	var b strings.Builder
	b.WriteString(base)
	b.WriteString(sep)
	if code != "" {
		b.WriteString("code=")
		b.WriteString(url.QueryEscape(code))
		b.WriteString("&")
	}
	b.WriteString("state=")
	b.WriteString(url.QueryEscape(state))
	if hasFrag {
		b.WriteString("#")
		b.WriteString(frag)
	}
	return b.String()
}

// handleAuthorize is GET /connect/oauth2/authorize.
func (s *Sim) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	s.hit("authorize")
	q := r.URL.Query()
	p, aerr := s.parseAuth(q.Get)
	if aerr != nil {
		s.renderError(w, aerr)
		return
	}
	if r.Header.Get("X-Sim-User") != "" {
		s.headless(w, r, p)
		return
	}
	if p.Scope == scopeBase {
		s.finish(w, r, p, s.rememberedUser(r), true, s.o.DoubleCallback)
		return
	}
	s.renderConsent(w, r, p)
}

// headless answers a program's authorize request directly with the 302: the
// X-Sim-User header (key or openid) picks the user, X-Sim-Action allow|deny
// the answer, and the optional X-Sim-Double A|B puts the second callback of
// a double callback in the X-Sim-Second-Location header.
func (s *Sim) headless(w http.ResponseWriter, r *http.Request, p authParams) {
	u := s.findUser(r.Header.Get("X-Sim-User"))
	if u == nil {
		http.Error(w, "wechatsim: unknown X-Sim-User", http.StatusBadRequest)
		return
	}
	allow := true
	switch strings.ToLower(r.Header.Get("X-Sim-Action")) {
	case "", "allow":
	case "deny":
		allow = false
	default:
		http.Error(w, "wechatsim: X-Sim-Action must be allow or deny", http.StatusBadRequest)
		return
	}
	double := normalizeDouble(r.Header.Get("X-Sim-Double"))
	if double == "" {
		http.Error(w, "wechatsim: X-Sim-Double must be off, A or B", http.StatusBadRequest)
		return
	}
	if !allow {
		http.Redirect(w, r, callbackURL(p.RedirectURI, "", p.State), http.StatusFound)
		return
	}
	first, second := s.callbacks(u, p, double)
	if second != "" {
		w.Header().Set("X-Sim-Second-Location", second)
	}
	http.Redirect(w, r, first, http.StatusFound)
}

// callbacks mints the code(s) of one allowed authorization and returns the
// callback URL(s); second is "" unless double is A or B.
func (s *Sim) callbacks(u *simUser, p authParams, double string) (first, second string) {
	first = callbackURL(p.RedirectURI, s.issueCode(u, p.Scope), p.State)
	switch double {
	case doubleA:
		second = first
	case doubleB:
		second = callbackURL(p.RedirectURI, s.issueCode(u, p.Scope), p.State)
	}
	return first, second
}

// finish sends the browser back to the app: a 302, or for a double callback
// a page whose script navigates twice.
func (s *Sim) finish(w http.ResponseWriter, r *http.Request, p authParams, u *simUser, allow bool, double string) {
	if !allow {
		http.Redirect(w, r, callbackURL(p.RedirectURI, "", p.State), http.StatusFound)
		return
	}
	first, second := s.callbacks(u, p, double)
	if second == "" {
		http.Redirect(w, r, first, http.StatusFound)
		return
	}
	s.renderDouble(w, first, second, double)
}

// handleConfirm is the consent form's POST.
func (s *Sim) handleConfirm(w http.ResponseWriter, r *http.Request) {
	s.hit("confirm")
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		s.renderError(w, &authError{400, "表单无效"})
		return
	}
	p, aerr := s.parseAuth(r.PostForm.Get)
	if aerr != nil {
		s.renderError(w, aerr)
		return
	}
	allow := r.PostForm.Get("action") != "deny"
	u := s.findUser(r.PostForm.Get("user"))
	if u == nil {
		u = s.rememberedUser(r)
	}
	double := normalizeDouble(r.PostForm.Get("double"))
	if double == "" {
		double = doubleOff
	}
	if allow {
		http.SetCookie(w, &http.Cookie{
			Name: userCookie, Value: u.Key, Path: s.o.Prefix + "/",
			MaxAge: 30 * 24 * 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode,
		})
	}
	s.finish(w, r, p, u, allow, double)
}

// rememberedUser is the user picked last in this browser, else the first.
func (s *Sim) rememberedUser(r *http.Request) *simUser {
	if c, err := r.Cookie(userCookie); err == nil {
		if u := s.findUser(c.Value); u != nil {
			return u
		}
	}
	return &s.users[0]
}
