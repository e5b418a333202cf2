package admin

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"wxlogin/wechat"
)

// The menu editor's form: 3 top-level slots with 5 sub-button slots each,
// checked exactly as WeChat counts (wechat-api.md §8): names, keys and urls
// in bytes of UTF-8 (a Chinese character is 3 bytes, most emoji 4), not in
// characters. Every error is attached to its field, in Chinese; a form with
// any error is never sent to WeChat.

const (
	menuTops        = 3
	menuSubs        = 5
	maxTopNameBytes = 16
	maxSubNameBytes = 60
	maxKeyBytes     = 128
	maxURLBytes     = 1024
	maxPathBytes    = 1024
	// maxFieldBytes bounds what is read of any one field before checking it.
	maxFieldBytes = 4096
	typeSub       = "sub" // a top-level button that only opens its sub-buttons
)

// menuSlot is one button's fields as typed, and their errors by field name.
type menuSlot struct {
	Prefix                                string // form-field prefix, e.g. "b0" or "b0s2"
	Name, Type, Key, URL, AppID, PagePath string
	Errs                                  map[string]string
	NameBytes                             int
}

func (s *menuSlot) used() bool {
	return s.Name != "" || s.Key != "" || s.URL != "" || s.AppID != "" || s.PagePath != "" || (s.Type != "" && s.Type != typeSub)
}

func (s *menuSlot) fail(field, msg string) {
	if s.Errs == nil {
		s.Errs = map[string]string{}
	}
	if _, ok := s.Errs[field]; !ok {
		s.Errs[field] = msg
	}
}

// Err returns the error of one field ("" none), for the template.
func (s menuSlot) Err(field string) string { return s.Errs[field] }

type menuTop struct {
	menuSlot
	Subs []menuSlot
}

// menuForm is the whole editor.
type menuForm struct {
	Tops []menuTop
	// FormErr is an error of the form as a whole (structure, no button).
	FormErr string
	errors  int
}

// Valid reports whether no field has an error.
func (f *menuForm) Valid() bool { return f.errors == 0 && f.FormErr == "" }

// Errors is the number of field errors.
func (f *menuForm) Errors() int { return f.errors }

func emptyMenuForm() *menuForm {
	f := &menuForm{}
	for i := range menuTops {
		t := menuTop{menuSlot: menuSlot{Prefix: "b" + strconv.Itoa(i)}}
		for j := range menuSubs {
			t.Subs = append(t.Subs, menuSlot{Prefix: t.Prefix + "s" + strconv.Itoa(j)})
		}
		f.Tops = append(f.Tops, t)
	}
	return f
}

// fieldName matches every field the editor has: b0..b2, optionally s0..s4,
// then _name, _type, _key, _url, _appid, _pagepath.
var fieldName = regexp.MustCompile(`^b([0-9]+)(?:s([0-9]+))?_(name|type|key|url|appid|pagepath)$`)

// parseMenuForm reads the editor's fields from a posted form. A field for
// a fourth top-level button or a sixth sub-button is a form error (WeChat's
// 40016 and 40023), so a crafted post cannot slip past the 3 × 5 limit.
func parseMenuForm(form url.Values) *menuForm {
	f := emptyMenuForm()
	for k, v := range form {
		m := fieldName.FindStringSubmatch(k)
		if m == nil {
			continue
		}
		top, _ := strconv.Atoi(m[1])
		if top >= menuTops || len(m[1]) > 1 {
			f.FormErr = "一级菜单最多 3 个"
			continue
		}
		slot := &f.Tops[top].menuSlot
		if m[2] != "" {
			sub, _ := strconv.Atoi(m[2])
			if sub >= menuSubs || len(m[2]) > 1 {
				f.FormErr = "每个一级菜单最多 5 个子菜单"
				continue
			}
			slot = &f.Tops[top].Subs[sub]
		}
		val := ""
		if len(v) > 0 {
			val = v[0]
		}
		if len(v) > 1 {
			f.FormErr = "表单字段重复"
		}
		if len(val) > maxFieldBytes {
			slot.fail(m[3], "内容过长")
			val = val[:maxFieldBytes]
		}
		val = strings.TrimSpace(val)
		switch m[3] {
		case "name":
			slot.Name = val
		case "type":
			slot.Type = val
		case "key":
			slot.Key = val
		case "url":
			slot.URL = val
		case "appid":
			slot.AppID = val
		case "pagepath":
			slot.PagePath = val
		}
	}
	return f
}

// urlRule is what a menu url must be: https and a domain name in
// production; the simulator (development) also takes http and localhost.
type urlRule struct{ dev bool }

func (r urlRule) check(raw string) string {
	if raw == "" {
		return "请填写链接"
	}
	if n := len(raw); n > maxURLBytes {
		return fmt.Sprintf("链接最多 %d 字节，当前 %d 字节", maxURLBytes, n)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return "链接格式不对，应以 https:// 开头，例如 https://example.com/wechat/entry"
	}
	if u.Scheme != "https" && !(r.dev && u.Scheme == "http") {
		return "链接必须以 https:// 开头"
	}
	host := u.Hostname()
	switch {
	case net.ParseIP(host) != nil && !r.dev:
		return "链接的域名不能是 IP 地址，微信只接受已备案的域名"
	case (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !r.dev:
		return "链接指向 localhost，手机上的微信打不开"
	case !r.dev && !strings.Contains(host, "."):
		return "链接的域名不完整"
	}
	return ""
}

// miniAppID is a mini program's appid: "wx" and 16 hex digits.
var miniAppID = regexp.MustCompile(`^wx[0-9a-zA-Z]{16}$`)

func checkName(s *menuSlot, max int) {
	s.NameBytes = len(s.Name)
	switch {
	case s.Name == "":
		s.fail("name", "请填写名称")
	case len(s.Name) > max:
		s.fail("name", fmt.Sprintf("名称最多 %d 字节，当前 %d 字节（一个汉字 3 字节，一个表情 4 字节）", max, len(s.Name)))
	}
}

func checkAction(s *menuSlot, rule urlRule) {
	switch s.Type {
	case "view":
		if e := rule.check(s.URL); e != "" {
			s.fail("url", e)
		}
	case "click":
		switch {
		case s.Key == "":
			s.fail("key", "请填写 key（点击后推送给服务器的事件值）")
		case len(s.Key) > maxKeyBytes:
			s.fail("key", fmt.Sprintf("key 最多 %d 字节，当前 %d 字节", maxKeyBytes, len(s.Key)))
		}
	case "miniprogram":
		if !miniAppID.MatchString(s.AppID) {
			s.fail("appid", "请填写小程序的 appid（wx 开头，共 18 位）")
		}
		switch {
		case s.PagePath == "":
			s.fail("pagepath", "请填写小程序页面路径，例如 pages/index/index")
		case len(s.PagePath) > maxPathBytes:
			s.fail("pagepath", fmt.Sprintf("页面路径最多 %d 字节", maxPathBytes))
		}
		if e := rule.check(s.URL); e != "" {
			s.fail("url", "备用网页："+e)
		}
	case "":
		s.fail("type", "请选择类型")
	default:
		s.fail("type", "类型只能是跳转网页、点击事件或小程序")
	}
}

// validate checks every field and returns the menu to send.
func (f *menuForm) validate(rule urlRule) wechat.Menu {
	var menu wechat.Menu
	for i := range f.Tops {
		t := &f.Tops[i]
		subsUsed := 0
		for j := range t.Subs {
			if t.Subs[j].used() {
				subsUsed++
			}
		}
		if !t.used() && t.Type != typeSub && subsUsed == 0 {
			continue
		}
		checkName(&t.menuSlot, maxTopNameBytes)
		b := wechat.Button{Name: t.Name}
		if t.Type == typeSub {
			if subsUsed == 0 {
				t.fail("type", "选择了“子菜单”，请至少填写一个子菜单")
			}
			for j := range t.Subs {
				s := &t.Subs[j]
				if !s.used() {
					continue
				}
				checkName(s, maxSubNameBytes)
				checkAction(s, rule)
				b.SubButtons = append(b.SubButtons, toButton(s))
			}
		} else {
			checkAction(&t.menuSlot, rule)
			b = toButton(&t.menuSlot)
			for j := range t.Subs {
				if t.Subs[j].used() {
					t.Subs[j].fail("name", "一级菜单的类型不是“子菜单”，这个子菜单不会发布：请把一级菜单类型改为“子菜单”或清空这里")
				}
			}
		}
		menu.Buttons = append(menu.Buttons, b)
	}
	if len(menu.Buttons) == 0 && f.FormErr == "" {
		f.FormErr = "至少要有一个一级菜单"
	}
	f.errors = 0
	for i := range f.Tops {
		f.errors += len(f.Tops[i].Errs)
		for j := range f.Tops[i].Subs {
			f.errors += len(f.Tops[i].Subs[j].Errs)
		}
	}
	return menu
}

func toButton(s *menuSlot) wechat.Button {
	b := wechat.Button{Type: s.Type, Name: s.Name}
	switch s.Type {
	case "view":
		b.URL = s.URL
	case "click":
		b.Key = s.Key
	case "miniprogram":
		b.URL, b.AppID, b.PagePath = s.URL, s.AppID, s.PagePath
	}
	return b
}

// formFromMenu fills the editor from a menu (the live one read back).
// Buttons beyond the editor's 3 × 5 are dropped (WeChat allows no more).
func formFromMenu(m wechat.Menu) *menuForm {
	f := emptyMenuForm()
	for i, b := range m.Buttons {
		if i >= menuTops {
			break
		}
		t := &f.Tops[i]
		fill(&t.menuSlot, b)
		if len(b.SubButtons) > 0 {
			t.Type = typeSub
			for j, sb := range b.SubButtons {
				if j < menuSubs {
					fill(&t.Subs[j], sb)
				}
			}
		}
	}
	return f
}

func fill(s *menuSlot, b wechat.Button) {
	s.Name, s.Type, s.Key, s.URL, s.AppID, s.PagePath = b.Name, b.Type, b.Key, b.URL, b.AppID, b.PagePath
	s.NameBytes = len(b.Name)
}

// slotView is what the menu-slot template needs of one slot.
type slotView struct {
	Slot    menuSlot
	Types   []option
	MaxName int
}

func newSlotView(s menuSlot, types []option, maxName int) slotView {
	return slotView{Slot: s, Types: types, MaxName: maxName}
}

// Top is the top-level slot itself, for templates (the embedded field is
// unexported).
func (t menuTop) Top() menuSlot { return t.menuSlot }
