package wechatsim

import (
	"net/http"
	"net/url"
	"time"
)

// apiFunc processes one /sns call and returns the JSON answer: a struct for
// success or an apiError. Keeping it free of the ResponseWriter lets a
// ConsumeCode fault process a call and then throw the answer away.
type apiFunc func(r *http.Request, q url.Values) any

// api wraps an endpoint with counting, latency and fault injection.
func (s *Sim) api(endpoint string, fn apiFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		q := r.URL.Query()
		s.arrive(endpoint, q)
		ctx := r.Context()
		if !wait(ctx, s.currentLatency()) {
			return // the client is gone; like a dropped request, nothing happens
		}
		if f, ok := s.takeFault(endpoint); ok {
			if !wait(ctx, f.Delay) {
				return
			}
			if f.replaces() {
				if f.ConsumeCode && (endpoint == epAccessToken || endpoint == epJSCode2Session) {
					fn(r, q)
				}
				s.log.Debug("wechatsim fault", "endpoint", endpoint, "errcode", f.ErrCode,
					"status", f.HTTPStatus, "hang", f.Hang, "bad_json", f.BadJSON)
				s.writeFault(w, r, f)
				return
			}
		}
		res := fn(r, q)
		errcode := 0
		if e, ok := res.(apiError); ok {
			errcode = int(e)
		}
		s.log.Debug("wechatsim api", "endpoint", endpoint, "errcode", errcode, "duration", time.Since(start))
		s.writeAPI(w, res)
	})
}

// arrive counts a call before anything else can happen to it, so faulted
// and abandoned calls are counted too.
func (s *Sim) arrive(endpoint string, q url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.ByEndpoint[endpoint]++
	switch endpoint {
	case epAccessToken:
		s.countExchange(endpoint, q.Get("code"))
	case epJSCode2Session:
		s.countExchange(endpoint, q.Get("js_code"))
	case epUserInfo:
		s.stats.UserInfoCalls++
	}
}

func (s *Sim) writeFault(w http.ResponseWriter, r *http.Request, f Fault) {
	switch {
	case f.Hang:
		if wait(r.Context(), maxHang) {
			http.Error(w, "hang limit reached", http.StatusGatewayTimeout)
		}
	case f.HTTPStatus != 0 && f.HTTPStatus != http.StatusOK:
		body := "<html><head><title>" + http.StatusText(f.HTTPStatus) + "</title></head><body><center><h1>" +
			http.StatusText(f.HTTPStatus) + "</h1></center><hr><center>nginx</center></body></html>"
		s.writeRaw(w, f.HTTPStatus, "text/html", []byte(body))
	case f.BadJSON:
		s.writeRaw(w, http.StatusOK, s.nextContentType(), []byte(`{"access_token":"90_`))
	default:
		s.writeAPI(w, apiError(f.ErrCode))
	}
}

// tokenAnswer is the JSON of the exchange and of a refresh.
type tokenAnswer struct {
	AccessToken    string `json:"access_token"`
	ExpiresIn      int    `json:"expires_in"`
	RefreshToken   string `json:"refresh_token"`
	OpenID         string `json:"openid"`
	Scope          string `json:"scope"`
	IsSnapshotUser int    `json:"is_snapshotuser,omitempty"`
	UnionID        string `json:"unionid,omitempty"`
}

// checkApp validates appid and secret in WeChat's order.
func (s *Sim) checkApp(q url.Values, needSecret bool) (apiError, bool) {
	switch appid := q.Get("appid"); {
	case appid == "":
		return 41002, false
	case appid != s.o.AppID:
		return 40013, false
	}
	if needSecret {
		switch secret := q.Get("secret"); {
		case secret == "":
			return 41004, false
		case secret != s.o.Secret:
			return 40125, false
		}
	}
	return 0, true
}

// useCode checks a code and marks it used, atomically, so that of two
// concurrent exchanges exactly one succeeds.
func (s *Sim) useCode(code, app string) (*simUser, string, apiError) {
	if code == "" {
		return nil, "", 41008
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.codes[code]
	switch {
	case !ok, rec.app != app:
		return nil, "", 40029
	case rec.used:
		return nil, "", 40163
	case s.o.Now().Sub(rec.issued) >= codeTTL:
		return nil, "", 42003
	}
	rec.used = true
	return s.user(rec.userKey), rec.scope, 0
}

// exchange is /sns/oauth2/access_token.
func (s *Sim) exchange(_ *http.Request, q url.Values) any {
	if e, ok := s.checkApp(q, true); !ok {
		return e
	}
	code := q.Get("code")
	if code == "" {
		return apiError(41008)
	}
	if q.Get("grant_type") != "authorization_code" {
		return apiError(40002)
	}
	u, scope, e := s.useCode(code, "")
	if e != 0 {
		return e
	}
	s.mu.Lock()
	access, refresh := s.mintTokens(u, scope, s.o.Now())
	s.mu.Unlock()
	a := tokenAnswer{AccessToken: access, ExpiresIn: int(accessTokenTTL / time.Second),
		RefreshToken: refresh, OpenID: u.OpenID, Scope: scope}
	if scope == scopeUserInfo {
		a.UnionID = u.UnionID
	}
	if u.Snapshot {
		a.IsSnapshotUser = 1
	}
	return a
}

// refreshToken is /sns/oauth2/refresh_token: a new access token, the same
// refresh token, the five documented fields.
func (s *Sim) refreshToken(_ *http.Request, q url.Values) any {
	if e, ok := s.checkApp(q, false); !ok {
		return e
	}
	if q.Get("grant_type") != "refresh_token" {
		return apiError(40002)
	}
	rt := q.Get("refresh_token")
	if rt == "" {
		return apiError(41003)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.o.Now()
	rec, ok := s.refresh[rt]
	switch {
	case !ok:
		return apiError(40030)
	case now.Sub(rec.issued) >= refreshTokenTTL:
		return apiError(42002)
	}
	u := s.user(rec.userKey)
	access := s.mintAccess(u, rec.scope, now)
	return tokenAnswer{AccessToken: access, ExpiresIn: int(accessTokenTTL / time.Second),
		RefreshToken: rt, OpenID: u.OpenID, Scope: rec.scope}
}

// checkAccess validates an access token for openid as /sns/auth and
// /sns/userinfo do.
func (s *Sim) checkAccess(q url.Values) (*accessRec, apiError) {
	at, openid := q.Get("access_token"), q.Get("openid")
	if at == "" {
		return nil, 41001
	}
	if openid == "" {
		return nil, 41009
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.access[at]
	switch {
	case !ok:
		return nil, 40001
	case s.o.Now().Sub(rec.issued) >= accessTokenTTL:
		return nil, 42001
	case rec.openid != openid:
		return nil, 40003
	}
	cp := *rec
	return &cp, 0
}

// auth is /sns/auth.
func (s *Sim) auth(_ *http.Request, q url.Values) any {
	if _, e := s.checkAccess(q); e != 0 {
		return e
	}
	return struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{0, "ok"}
}

// userInfoAnswer is the JSON of /sns/userinfo.
type userInfoAnswer struct {
	OpenID     string   `json:"openid"`
	Nickname   string   `json:"nickname"`
	Sex        int      `json:"sex"`
	Province   string   `json:"province"`
	City       string   `json:"city"`
	Country    string   `json:"country"`
	HeadImgURL string   `json:"headimgurl"`
	Privilege  []string `json:"privilege"`
	UnionID    string   `json:"unionid,omitempty"`
}

// userInfo is /sns/userinfo; a snsapi_base token gets 48001. Like WeChat
// since 2021-10-20 it answers sex 0 and an empty province, city and
// country for everyone (the users keep theirs for the simulator's own
// pages); lang only picks nothing any more.
func (s *Sim) userInfo(r *http.Request, q url.Values) any {
	rec, e := s.checkAccess(q)
	if e != 0 {
		return e
	}
	if rec.scope != scopeUserInfo {
		return apiError(48001)
	}
	u := s.publicUser(s.user(rec.userKey), s.publicBase(r), q.Get("lang"))
	return userInfoAnswer{OpenID: u.OpenID, Nickname: u.Nickname, HeadImgURL: u.HeadImgURL,
		Privilege: u.Privilege, UnionID: u.UnionID}
}
