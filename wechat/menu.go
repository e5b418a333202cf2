package wechat

import "context"

// The custom menu (wechat-api.md §8).

// Button is one button of a menu as menu/create takes it. A top-level
// button has either a Type or SubButtons.
type Button struct {
	Type       string   `json:"type,omitempty"`
	Name       string   `json:"name"`
	Key        string   `json:"key,omitempty"`
	URL        string   `json:"url,omitempty"`
	AppID      string   `json:"appid,omitempty"`
	PagePath   string   `json:"pagepath,omitempty"`
	SubButtons []Button `json:"sub_button,omitempty"`
}

// Menu is the body of menu/create.
type Menu struct {
	Buttons []Button `json:"button"`
}

// CurrentMenu is the answer of get_current_selfmenu_info: the live menu
// however it was set (API or MP backend). WeChat nests sub-buttons as
// {"sub_button":{"list":[...]}}; Menu converts it to menu/create's shape.
type CurrentMenu struct {
	IsMenuOpen   int `json:"is_menu_open"`
	SelfMenuInfo struct {
		Buttons []selfMenuButton `json:"button"`
	} `json:"selfmenu_info"`
}

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

// Menu returns the live menu in menu/create's shape.
func (m *CurrentMenu) Menu() Menu {
	var conv func(b selfMenuButton) Button
	conv = func(b selfMenuButton) Button {
		out := Button{Type: b.Type, Name: b.Name, Key: b.Key, URL: b.URL, AppID: b.AppID, PagePath: b.PagePath}
		if b.SubButton != nil {
			for _, s := range b.SubButton.List {
				out.SubButtons = append(out.SubButtons, conv(s))
			}
		}
		return out
	}
	var menu Menu
	for _, b := range m.SelfMenuInfo.Buttons {
		menu.Buttons = append(menu.Buttons, conv(b))
	}
	return menu
}

// CreateMenu publishes menu (menu/create) with the account's access token.
// Errors: 40016–40027 and 40054/40055 (the menu breaks a limit), 48001 (no
// menu permission), the token errors (IsTokenInvalid).
func (c *Client) CreateMenu(ctx context.Context, token string, menu Menu) error {
	return c.CallAPI(ctx, token, "/cgi-bin/menu/create", nil, menu, nil)
}

// CurrentMenu reads the live menu (get_current_selfmenu_info).
func (c *Client) CurrentMenu(ctx context.Context, token string) (*CurrentMenu, error) {
	var m CurrentMenu
	if err := c.CallAPI(ctx, token, "/cgi-bin/get_current_selfmenu_info", nil, nil, &m); err != nil {
		return nil, err
	}
	return &m, nil
}

// DeleteMenu removes the menu (menu/delete).
func (c *Client) DeleteMenu(ctx context.Context, token string) error {
	return c.CallAPI(ctx, token, "/cgi-bin/menu/delete", nil, nil, nil)
}

// JSON is the body menu/create sends for m, byte for byte (UTF-8 as is, no
// \u escapes), for previews and the audit log.
func (m Menu) JSON() string {
	b, err := marshalNoEscape(m)
	if err != nil {
		return ""
	}
	return string(b)
}
