package wechatsim

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The push page (GET /push) is the follower's side of the account in the
// simulator: follow and unfollow (subscribe/unsubscribe pushed to the app),
// tap a menu button (VIEW pushed, then the URL opened, as WeChat does),
// send a message; optionally each push delivered twice at once. The chat
// window (chat.go) may link here; this page works on its own.

const pushLogSize = 20

type pushLogLine struct{ What, Result string }

type pushUser struct {
	Key, Nickname, OpenID string
	Followed, Checked     bool
}

type pushPage struct {
	pageBase
	Action, User, Mode, EntryURL string
	On, Followed, TwoURLs        bool
	Users                        []pushUser
	Log                          []pushLogLine
}

func (s *Sim) pushUserFrom(r *http.Request) *simUser {
	if k := r.FormValue("user"); k != "" {
		if u, ok := s.byKey[k]; ok {
			return u
		}
	}
	return s.rememberedUser(r)
}

// handlePushPage is GET /push.
func (s *Sim) handlePushPage(w http.ResponseWriter, r *http.Request) {
	u := s.pushUserFrom(r)
	c, on := s.pushConfig()
	d := pushPage{pageBase: pageBase{Static: s.o.Prefix + "/static"}, Action: s.o.Prefix + "/push", User: u.Key,
		Mode: c.Mode, On: on, TwoURLs: len(c.URLs) > 1, EntryURL: s.appURL() + "/wechat/entry?next=/profile"}
	s.mu.Lock()
	for i := range s.users {
		su := &s.users[i]
		f := s.following[su.OpenID]
		d.Users = append(d.Users, pushUser{Key: su.Key, Nickname: su.Nickname, OpenID: su.OpenID, Followed: f, Checked: su == u})
	}
	d.Followed = s.following[u.OpenID]
	for i := len(s.pushLog) - 1; i >= 0; i-- {
		d.Log = append(d.Log, s.pushLog[i])
	}
	s.mu.Unlock()
	s.render(w, http.StatusOK, "pushes", d)
}

// appURL is the app's origin as the browser sees it: PublicURL without the
// simulator's prefix.
func (s *Sim) appURL() string {
	return strings.TrimSuffix(s.o.PublicURL, s.o.Prefix)
}

// handlePushFollow is POST /push/follow: subscribe or unsubscribe.
func (s *Sim) handlePushFollow(w http.ResponseWriter, r *http.Request) {
	u := s.pushUserFrom(r)
	follow := r.FormValue("follow") == "1"
	ev := PushEvent{OpenID: u.OpenID, Event: "unsubscribe", CreateTime: s.o.Now()}
	if follow {
		ev.Event = "subscribe"
	}
	if s.pushFromPage(r.Context(), ev, r.FormValue("dup") == "1") {
		s.mu.Lock()
		s.following[u.OpenID] = follow
		s.mu.Unlock()
	}
	back := s.o.Prefix + "/push?user=" + url.QueryEscape(u.Key)
	if r.FormValue("from") == "chat" {
		back = s.o.Prefix + "/chat?user=" + url.QueryEscape(u.Key)
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

// handlePushTap is POST /push/tap: a view button. WeChat pushes VIEW and
// opens the URL whatever the push's fate; so does this.
func (s *Sim) handlePushTap(w http.ResponseWriter, r *http.Request) {
	u := s.pushUserFrom(r)
	target := r.FormValue("url")
	p, err := url.Parse(target)
	if err != nil || (p.Scheme != "http" && p.Scheme != "https") || len(target) > 1024 {
		http.Error(w, "url: want an http(s) URL of at most 1024 bytes", http.StatusBadRequest)
		return
	}
	menu := r.FormValue("menu")
	if _, err := strconv.ParseUint(menu, 10, 32); err != nil {
		menu = ""
	}
	s.pushFromPage(r.Context(), PushEvent{OpenID: u.OpenID, Event: "VIEW", EventKey: target, MenuID: menu, CreateTime: s.o.Now()},
		r.FormValue("dup") == "1")
	http.Redirect(w, r, target, http.StatusFound)
}

// handlePushText is POST /push/text: a text message.
func (s *Sim) handlePushText(w http.ResponseWriter, r *http.Request) {
	u := s.pushUserFrom(r)
	content := r.FormValue("content")
	if content == "" || len(content) > 2048 {
		http.Error(w, "content: 1 to 2048 bytes", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.msgSeq++
	id := time.Now().UnixNano()/1000 + s.msgSeq
	s.mu.Unlock()
	s.pushFromPage(r.Context(), PushEvent{OpenID: u.OpenID, MsgType: "text", Content: content, MsgID: id, CreateTime: s.o.Now()},
		r.FormValue("dup") == "1")
	http.Redirect(w, r, s.o.Prefix+"/push?user="+url.QueryEscape(u.Key), http.StatusSeeOther)
}

// pushFromPage pushes ev (twice at once with dup) and logs the outcome.
func (s *Sim) pushFromPage(ctx context.Context, ev PushEvent, dup bool) bool {
	ctx = context.WithoutCancel(ctx) // WeChat's delivery does not end with the tap
	n := 1
	if dup {
		n = 2
	}
	results := make([]PushResult, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = s.Push(ctx, ev)
		}()
	}
	wg.Wait()
	ok := false
	var parts []string
	for i, res := range results {
		if errs[i] != nil {
			parts = append(parts, errs[i].Error())
			continue
		}
		ok = ok || res.Delivered
		for _, a := range res.Attempts {
			parts = append(parts, fmt.Sprintf("#%d→%d %s", a.Attempt, a.Status, a.Body))
		}
	}
	what := ev.Event
	if ev.MsgType != "" && ev.MsgType != "event" {
		what = ev.MsgType
	}
	line := pushLogLine{What: what + " · " + ev.OpenID, Result: strings.Join(parts, "，")}
	s.mu.Lock()
	s.pushLog = append(s.pushLog, line)
	if len(s.pushLog) > pushLogSize {
		s.pushLog = s.pushLog[len(s.pushLog)-pushLogSize:]
	}
	s.mu.Unlock()
	return ok
}
