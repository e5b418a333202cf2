package wechatsim

import (
	"html/template"
	"net/http"
)

// The chat window: a page that looks like the Official Account's chat in
// WeChat, with the published menu at the bottom as a phone shows it. A
// view button is a link to its URL (WeChat opens it in the in-app browser);
// a button with sub-buttons opens its list above the bar. Other parts of
// the simulator (follow switch, pushed VIEW events, a QR scanner stand-in)
// add to this page: its data is chatPage, its template templates/chat.html.

func parseChatPage() *template.Template {
	return template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/chat.html"))
}

// chatButton is one button as the chat window draws it. A view button is
// a form posting to the push page's tap handler (Tap), which pushes VIEW
// to the app as WeChat does and then opens the URL; User is the follower.
type chatButton struct {
	Name, Type, URL, Key string
	Tap, User, MenuID    string
	Subs                 []chatButton
}

type chatPage struct {
	pageBase
	Account string
	Buttons []chatButton
	// Cols is the number of top-level buttons, for the bar's layout class.
	Cols int
	// The follow switch: who is chatting, whether they follow (as far as
	// the simulator's pushes went), where the switch posts.
	User, Nickname, FollowAction string
	Followed                     bool
}

// chatMenuID is the MenuId the chat window's taps carry (the simulator
// publishes one default menu).
const chatMenuID = "100"

func (c *chatButton) wire(tap, user string) {
	c.Tap, c.User, c.MenuID = tap, user, chatMenuID
	for i := range c.Subs {
		c.Subs[i].wire(tap, user)
	}
}

func toChat(b MenuButton) chatButton {
	c := chatButton{Name: b.Name, Type: b.Type, URL: b.URL, Key: b.Key}
	if b.Type == "miniprogram" {
		c.Type = "view" // a phone without the mini program opens the fallback url
	}
	for _, sb := range b.SubButtons {
		c.Subs = append(c.Subs, toChat(sb))
	}
	return c
}

// handleChat is GET /chat (?user=KEY picks the follower; default the one
// the consent page last chose).
func (s *Sim) handleChat(w http.ResponseWriter, r *http.Request) {
	u := s.pushUserFrom(r)
	d := chatPage{pageBase: pageBase{Static: s.o.Prefix + "/static"}, Account: "公众号",
		User: u.Key, Nickname: u.Nickname, FollowAction: s.o.Prefix + "/push/follow"}
	s.mu.Lock()
	d.Followed = s.following[u.OpenID]
	s.mu.Unlock()
	for _, b := range s.Menu() {
		c := toChat(b)
		c.wire(s.o.Prefix+"/push/tap", u.Key)
		d.Buttons = append(d.Buttons, c)
	}
	d.Cols = len(d.Buttons)
	s.render(w, http.StatusOK, "chat", d)
}
