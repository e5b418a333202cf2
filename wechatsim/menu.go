package wechatsim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
)

// The custom menu APIs (wechat-api.md §8) with WeChat's limits and
// errcodes, checked in WeChat's order: the count of top-level buttons, then
// each button and its sub-buttons in turn.

// MenuButton is a button as menu/create takes it.
type MenuButton struct {
	Type       string       `json:"type,omitempty"`
	Name       string       `json:"name"`
	Key        string       `json:"key,omitempty"`
	URL        string       `json:"url,omitempty"`
	AppID      string       `json:"appid,omitempty"`
	PagePath   string       `json:"pagepath,omitempty"`
	SubButtons []MenuButton `json:"sub_button,omitempty"`
}

type menuBody struct {
	Button []MenuButton `json:"button"`
}

// menuTypes are the button types WeChat accepts.
var menuTypes = map[string]bool{
	"click": true, "view": true, "miniprogram": true, "scancode_push": true, "scancode_waitmsg": true,
	"pic_sysphoto": true, "pic_photo_or_album": true, "pic_weixin": true, "location_select": true,
	"media_id": true, "article_id": true, "article_view_limited": true,
}

// validMenuURL: http or https with a host.
func validMenuURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkButton applies the limits to one button; sub selects the
// sub-button errcodes (40024–40027, 40054; a top-level url's domain is 40055).
func checkButton(b MenuButton, sub bool) apiError {
	typ, name, key, urlLen, domain := apiError(40017), apiError(40018), apiError(40019), apiError(40020), apiError(40055)
	maxName := 16
	if sub {
		typ, name, key, urlLen, domain = 40024, 40025, 40026, 40027, 40054
		maxName = 60
	}
	if b.Name == "" || len(b.Name) > maxName {
		return name
	}
	if !menuTypes[b.Type] {
		return typ
	}
	switch b.Type {
	case "click":
		if b.Key == "" || len(b.Key) > 128 {
			return key
		}
	case "view":
		if b.URL == "" || len(b.URL) > 1024 {
			return urlLen
		}
		if !validMenuURL(b.URL) {
			return domain
		}
	case "miniprogram":
		if b.URL == "" || len(b.URL) > 1024 {
			return urlLen
		}
		if !validMenuURL(b.URL) {
			return domain
		}
		if b.AppID == "" || b.PagePath == "" {
			return 47001
		}
	default:
		if len(b.Key) > 128 {
			return key
		}
	}
	return 0
}

// menuCreate is POST /cgi-bin/menu/create.
func (s *Sim) menuCreate(r *http.Request, _ url.Values) any {
	raw, err := io.ReadAll(io.LimitReader(r.Body, maxAPIBody+1))
	if err != nil || len(raw) > maxAPIBody {
		return apiError(47001)
	}
	var m menuBody
	if json.Unmarshal(raw, &m) != nil {
		return apiError(47001)
	}
	if len(m.Button) == 0 || len(m.Button) > 3 {
		return apiError(40016)
	}
	for _, b := range m.Button {
		if len(b.SubButtons) > 0 {
			if len(b.SubButtons) > 5 {
				return apiError(40023)
			}
			if b.Name == "" || len(b.Name) > 16 {
				return apiError(40018)
			}
			for _, sb := range b.SubButtons {
				if len(sb.SubButtons) > 0 {
					return apiError(40024)
				}
				if e := checkButton(sb, true); e != 0 {
					return e
				}
			}
			continue
		}
		if e := checkButton(b, false); e != 0 {
			return e
		}
	}
	norm, _ := json.Marshal(m)
	rm := json.RawMessage(norm)
	s.mu.Lock()
	s.acct.menu = &rm
	s.acct.counts.MenuCreates++
	s.mu.Unlock()
	return okAnswer()
}

func okAnswer() any {
	return struct {
		ErrCode int    `json:"errcode"`
		ErrMsg  string `json:"errmsg"`
	}{0, "ok"}
}

// selfMenuButton is a button as get_current_selfmenu_info shows it: sub
// buttons nested in {"list": [...]}.
type selfMenuButton struct {
	Type      string `json:"type,omitempty"`
	Name      string `json:"name"`
	Key       string `json:"key,omitempty"`
	URL       string `json:"url,omitempty"`
	AppID     string `json:"appid,omitempty"`
	PagePath  string `json:"pagepath,omitempty"`
	SubButton *struct {
		List []selfMenuButton `json:"list"`
	} `json:"sub_button,omitempty"`
}

func toSelfMenu(b MenuButton) selfMenuButton {
	out := selfMenuButton{Type: b.Type, Name: b.Name, Key: b.Key, URL: b.URL, AppID: b.AppID, PagePath: b.PagePath}
	if len(b.SubButtons) > 0 {
		out.Type, out.Key, out.URL, out.AppID, out.PagePath = "", "", "", "", ""
		out.SubButton = &struct {
			List []selfMenuButton `json:"list"`
		}{}
		for _, sb := range b.SubButtons {
			out.SubButton.List = append(out.SubButton.List, toSelfMenu(sb))
		}
	}
	return out
}

// Menu returns the published menu's buttons (nil: none).
func (s *Sim) Menu() []MenuButton {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.acct.menu == nil {
		return nil
	}
	var m menuBody
	_ = json.Unmarshal(*s.acct.menu, &m)
	return m.Button
}

// SetMenu sets the live menu as the MP backend would (no API call, no
// checks): get_current_selfmenu_info returns it like any other.
func (s *Sim) SetMenu(buttons []MenuButton) {
	norm, _ := json.Marshal(menuBody{Button: buttons})
	rm := json.RawMessage(norm)
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(buttons) == 0 {
		s.acct.menu = nil
		return
	}
	s.acct.menu = &rm
}

// menuGet is GET /cgi-bin/get_current_selfmenu_info.
func (s *Sim) menuGet(_ *http.Request, _ url.Values) any {
	type answer struct {
		IsMenuOpen   int `json:"is_menu_open"`
		SelfMenuInfo struct {
			Button []selfMenuButton `json:"button"`
		} `json:"selfmenu_info"`
	}
	var a answer
	a.SelfMenuInfo.Button = []selfMenuButton{}
	for _, b := range s.Menu() {
		a.IsMenuOpen = 1
		a.SelfMenuInfo.Button = append(a.SelfMenuInfo.Button, toSelfMenu(b))
	}
	return a
}

// menuDelete is GET /cgi-bin/menu/delete.
func (s *Sim) menuDelete(_ *http.Request, _ url.Values) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acct.menu = nil
	return okAnswer()
}
