package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"html/template"
	"log"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

type config struct {
	BaseURL, AppID, Secret, OAuthURL, APIURL, Scope string
	// Transport carries the calls to WeChat; nil is a default transport
	// (the test holds the owner's exchange with it).
	Transport http.RoundTripper
	// StateBound turns on issue 17's per-state bound (BARE_STATE_BOUND=1,
	// bound.go): one code of a state in flight, none after a rejected one.
	StateBound bool
}

const (
	cookieName = "bare_sid"
	// exchangeTimeout bounds the owner's WeChat calls and its final write.
	exchangeTimeout = 10 * time.Second
	// dupWait bounds how long a duplicate waits for the owner's outcome.
	dupWait = 12 * time.Second
	// maxParam bounds code, state and next.
	maxParam = 256
)

const schema = `
CREATE TABLE IF NOT EXISTS bare_users (
	id bigserial PRIMARY KEY,
	openid text NOT NULL UNIQUE,
	unionid text NOT NULL DEFAULT '',
	nickname text NOT NULL DEFAULT '',
	avatar text NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS bare_sessions (
	id_hash text PRIMARY KEY,
	state text NOT NULL DEFAULT '',
	next text NOT NULL DEFAULT '/profile',
	user_id bigint REFERENCES bare_users(id),
	created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS bare_claims (
	code_hash text PRIMARY KEY,
	session_hash text NOT NULL,
	next text NOT NULL,
	user_id bigint,
	failed boolean NOT NULL DEFAULT false,
	created_at timestamptz NOT NULL DEFAULT now()
);`

type server struct {
	pool   *pgxpool.Pool
	cfg    config
	wechat *wechatClient
	secure bool
}

var profileTmpl = template.Must(template.New("profile").Parse(`<!doctype html>
<html lang="zh-CN"><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>我的资料</title>
<h1>{{.Nickname}}</h1>{{if .Avatar}}<img class="avatar" src="{{.Avatar}}" alt="">{{end}}
</html>`))

// newServer creates the schema if needed and returns the routes.
func newServer(ctx context.Context, pool *pgxpool.Pool, cfg config) (http.Handler, error) {
	if _, err := pool.Exec(ctx, schema); err != nil {
		return nil, err
	}
	bound := dropBoundSchema
	if cfg.StateBound {
		bound = boundSchema
	}
	if _, err := pool.Exec(ctx, bound); err != nil {
		return nil, err
	}
	tr := cfg.Transport
	if tr == nil {
		tr = &http.Transport{MaxIdleConnsPerHost: 256, IdleConnTimeout: time.Minute}
	}
	s := &server{pool: pool, cfg: cfg, secure: strings.HasPrefix(cfg.BaseURL, "https://"),
		wechat: &wechatClient{apiURL: cfg.APIURL, appID: cfg.AppID, secret: cfg.Secret,
			hc: &http.Client{Timeout: exchangeTimeout, Transport: tr}}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /wechat/entry", s.entry)
	mux.HandleFunc("GET /wechat/callback", s.callback)
	mux.HandleFunc("GET /profile", s.profile)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	return mux, nil
}

// newID returns a random token and the hash stored in its place, so a
// database read does not hand out live session ids.
func newID() (id, hash string) {
	id = rand.Text()
	return id, hashOf(id)
}

func hashOf(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func (s *server) setSession(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true,
		Secure: s.secure, SameSite: http.SameSiteLaxMode, MaxAge: 30 * 24 * 3600})
}

func sessionHash(r *http.Request) string {
	c, err := r.Cookie(cookieName)
	if err != nil || len(c.Value) == 0 || len(c.Value) > maxParam {
		return ""
	}
	return hashOf(c.Value)
}

// localNext accepts only a path on this site.
func localNext(next string) string {
	if len(next) > maxParam || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/profile"
	}
	return next
}

// entry makes a pre-login session holding a fresh state and sends the
// browser to WeChat's authorize page: one statement.
func (s *server) entry(w http.ResponseWriter, r *http.Request) {
	scope := s.cfg.Scope
	if q := r.URL.Query().Get("scope"); q == "snsapi_base" || q == "snsapi_userinfo" {
		scope = q
	}
	id, hash := newID()
	stateBytes := make([]byte, 16)
	_, _ = rand.Read(stateBytes)
	state := hex.EncodeToString(stateBytes) // WeChat allows only [a-zA-Z0-9] in a state
	if _, err := s.pool.Exec(r.Context(), `INSERT INTO bare_sessions (id_hash, state, next) VALUES ($1, $2, $3)`,
		hash, state, localNext(r.URL.Query().Get("next"))); err != nil {
		unavailable(w, r)
		return
	}
	s.setSession(w, id)
	http.Redirect(w, r, s.cfg.OAuthURL+"/connect/oauth2/authorize?appid="+url.QueryEscape(s.cfg.AppID)+
		"&redirect_uri="+url.QueryEscape(s.cfg.BaseURL+"/wechat/callback")+"&response_type=code&scope="+
		url.QueryEscape(scope)+"&state="+url.QueryEscape(state)+"#wechat_redirect", http.StatusFound)
}

// callback checks the state against the browser's session and claims the
// code in one statement. The claimant owns the exchange; anybody else of
// the same session waits for the claim row's outcome.
func (s *server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	code, state, sess := q.Get("code"), q.Get("state"), sessionHash(r)
	if code == "" || state == "" || sess == "" || len(code) > maxParam || len(state) > maxParam {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	codeHash := hashOf(code)
	// Detached: an aborted first callback must still finish what it claimed.
	ctx := context.WithoutCancel(r.Context())
	next, err := s.claim(ctx, codeHash, sess, state)
	switch {
	case err == nil:
		s.own(ctx, w, r, code, codeHash, next)
	case errors.Is(err, pgx.ErrNoRows):
		s.duplicate(r.Context(), w, r, code, codeHash, sess, state)
	default:
		unavailable(w, r)
	}
}

// claimSQL makes the claim row if the state is this session's and nobody
// claimed the code. With the per-state bound the conflict has no target,
// so the pending-state index (bound.go) refuses a second code of the state
// in the same statement.
const (
	claimSQL = `INSERT INTO bare_claims (code_hash, session_hash, next)
		SELECT $1, id_hash, next FROM bare_sessions WHERE id_hash = $2 AND state = $3 AND user_id IS NULL
		ON CONFLICT (code_hash) DO NOTHING RETURNING next`
	claimBoundSQL = `INSERT INTO bare_claims (code_hash, session_hash, next)
		SELECT $1, id_hash, next FROM bare_sessions WHERE id_hash = $2 AND state = $3 AND user_id IS NULL
		ON CONFLICT DO NOTHING RETURNING next`
)

// claim runs the claim statement; pgx.ErrNoRows means it made no row.
func (s *server) claim(ctx context.Context, codeHash, sess, state string) (next string, err error) {
	q := claimSQL
	if s.cfg.StateBound {
		q = claimBoundSQL
	}
	err = s.pool.QueryRow(ctx, q, codeHash, sess, state).Scan(&next)
	return next, err
}

// own exchanges the code, stores the person, finishes the claim and makes
// the logged-in session: two WeChat calls and one statement.
func (s *server) own(ctx context.Context, w http.ResponseWriter, r *http.Request, code, codeHash, next string) {
	ctx, cancel := context.WithTimeout(ctx, exchangeTimeout)
	defer cancel()
	p, err := s.wechat.exchange(ctx, code)
	if err != nil {
		log.Printf("bareapp: exchange failed: %v", err)
		if _, ferr := s.pool.Exec(ctx, `UPDATE bare_claims SET failed = true WHERE code_hash = $1`, codeHash); ferr != nil {
			log.Printf("bareapp: marking a failed claim: %v", ferr)
		}
		http.Error(w, "WeChat did not accept the login; try again", http.StatusBadGateway)
		return
	}
	id, hash := newID()
	_, err = s.pool.Exec(ctx, `WITH u AS (
			INSERT INTO bare_users (openid, unionid, nickname, avatar) VALUES ($1, $2, $3, $4)
			ON CONFLICT (openid) DO UPDATE SET
				unionid = CASE WHEN EXCLUDED.unionid <> '' THEN EXCLUDED.unionid ELSE bare_users.unionid END,
				nickname = CASE WHEN EXCLUDED.nickname <> '' THEN EXCLUDED.nickname ELSE bare_users.nickname END,
				avatar = CASE WHEN EXCLUDED.avatar <> '' THEN EXCLUDED.avatar ELSE bare_users.avatar END
			RETURNING id),
		c AS (UPDATE bare_claims SET user_id = (SELECT id FROM u) WHERE code_hash = $5)
		INSERT INTO bare_sessions (id_hash, user_id) SELECT $6, id FROM u`,
		p.OpenID, p.UnionID, p.Nickname, p.Avatar, codeHash, hash)
	if err != nil {
		log.Printf("bareapp: storing a login: %v", err)
		_, _ = s.pool.Exec(ctx, `UPDATE bare_claims SET failed = true WHERE code_hash = $1`, codeHash)
		unavailable(w, r)
		return
	}
	s.setSession(w, id)
	http.Redirect(w, r, next, http.StatusFound)
}

// duplicate answers a code somebody else claimed: only the browser session
// that claimed it, and only with the owner's outcome, polled from the row
// (a few milliseconds apart at first, backing off to 20 ms).
// With the per-state bound, a code without a row of this session may be
// the second code of a state whose first is in flight: waitTurn.
func (s *server) duplicate(ctx context.Context, w http.ResponseWriter, r *http.Request, code, codeHash, sess, state string) {
	ctx, cancel := context.WithTimeout(ctx, dupWait)
	defer cancel()
	wait := time.Millisecond
	for {
		var (
			userID *int64
			failed bool
			next   string
		)
		err := s.pool.QueryRow(ctx, `SELECT user_id, failed, next FROM bare_claims WHERE code_hash = $1 AND session_hash = $2`,
			codeHash, sess).Scan(&userID, &failed, &next)
		switch {
		case errors.Is(err, pgx.ErrNoRows) && s.cfg.StateBound:
			s.waitTurn(ctx, w, r, code, codeHash, sess, state)
			return
		case errors.Is(err, pgx.ErrNoRows):
			s.replay(ctx, w, r, codeHash, sess)
			return
		case err != nil:
			unavailable(w, r)
			return
		case failed:
			http.Error(w, "WeChat did not accept the login; try again", http.StatusBadGateway)
			return
		case userID != nil:
			id, hash := newID()
			if _, err := s.pool.Exec(ctx, `INSERT INTO bare_sessions (id_hash, user_id) VALUES ($1, $2)`, hash, *userID); err != nil {
				unavailable(w, r)
				return
			}
			s.setSession(w, id)
			http.Redirect(w, r, next, http.StatusFound)
			return
		}
		if !pause(ctx, &wait) {
			unavailable(w, r)
			return
		}
	}
}

// replay answers a code that is not this session's claim: the back button
// of a browser the code's login already logged in goes where the login went;
// anything else (a wrong state, a code claimed by another browser) gets 400.
// Only this error path pays the extra statement.
func (s *server) replay(ctx context.Context, w http.ResponseWriter, r *http.Request, codeHash, sess string) {
	var next string
	err := s.pool.QueryRow(ctx, `SELECT c.next FROM bare_claims c JOIN bare_sessions s ON s.user_id = c.user_id
		WHERE c.code_hash = $1 AND s.id_hash = $2`, codeHash, sess).Scan(&next)
	switch {
	case err == nil:
		http.Redirect(w, r, next, http.StatusFound)
	case errors.Is(err, pgx.ErrNoRows):
		http.Error(w, "this login link is not yours or has expired", http.StatusBadRequest)
	default:
		unavailable(w, r)
	}
}

// unavailable answers 503, except to a request its browser has already
// given up on (Android's aborted first callback): nobody reads that answer,
// and a 5xx in the counts would be noise.
func unavailable(w http.ResponseWriter, r *http.Request) {
	if r.Context().Err() != nil {
		return
	}
	http.Error(w, "unavailable, try again", http.StatusServiceUnavailable)
}

// profile shows the logged-in person: one statement.
func (s *server) profile(w http.ResponseWriter, r *http.Request) {
	sess := sessionHash(r)
	var nickname, avatar string
	err := pgx.ErrNoRows
	if sess != "" {
		err = s.pool.QueryRow(r.Context(), `SELECT u.nickname, u.avatar FROM bare_sessions s JOIN bare_users u ON u.id = s.user_id
			WHERE s.id_hash = $1 AND s.created_at > now() - interval '30 days'`, sess).Scan(&nickname, &avatar)
	}
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		http.Redirect(w, r, "/wechat/entry?next=%2Fprofile", http.StatusFound)
		return
	case err != nil:
		unavailable(w, r)
		return
	}
	if nickname == "" {
		nickname = "微信用户"
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = profileTmpl.Execute(w, struct{ Nickname, Avatar string }{nickname, avatar})
}

// pause waits *wait, or less if ctx ends first (false), and doubles *wait
// up to 20 ms: a duplicate's poll of the claim row.
func pause(ctx context.Context, wait *time.Duration) bool {
	t := time.NewTimer(*wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
	}
	*wait = min(*wait*2, 20*time.Millisecond)
	return true
}
