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

// chatButton is one button as the chat window draws it.
type chatButton struct {
	Name, Type, URL, Key string
	Subs                 []chatButton
}

type chatPage struct {
	pageBase
	Account string
	Buttons []chatButton
	// Cols is the number of top-level buttons, for the bar's layout class.
	Cols int
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

// handleChat is GET /chat.
func (s *Sim) handleChat(w http.ResponseWriter, _ *http.Request) {
	d := chatPage{pageBase: pageBase{Static: s.o.Prefix + "/static"}, Account: "公众号"}
	for _, b := range s.Menu() {
		d.Buttons = append(d.Buttons, toChat(b))
	}
	d.Cols = len(d.Buttons)
	s.render(w, http.StatusOK, "chat", d)
}
