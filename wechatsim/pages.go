package wechatsim

import (
	"bytes"
	"embed"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageCSP is what the simulator's pages are built to satisfy: everything
// from the simulator itself, no inline script or style.
const pageCSP = "default-src 'self'; base-uri 'none'; frame-ancestors 'none'"

// parsePages parses each page together with the layout; a broken embedded
// template is a programming error, hence Must.
func parsePages() map[string]*template.Template {
	pages := map[string]*template.Template{}
	for _, name := range []string{"consent", "double", "error", "scan", "pushes"} {
		pages[name] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

// staticHandler serves the CSS and JS the pages reference: the embedded
// files by exact name (the path after the mount's /static/) and nothing else.
// http.FileServer would list a directory ("/_sim/static/" showed every file,
// issue 17) and redirect index.html and trailing slashes; here any other path,
// a directory included, is 404.
func staticHandler() http.Handler {
	files := map[string][]byte{}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		files[strings.TrimPrefix(p, "static/")] = b
		return err
	})
	if err != nil {
		panic(err) // the embedded tree is part of the binary
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Content-Type-Options", "nosniff")
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		http.ServeContent(w, r, r.URL.Path, time.Time{}, bytes.NewReader(b))
	})
}

// render executes a page into a buffer first, so a template error never
// leaves a half-written page.
func (s *Sim) render(w http.ResponseWriter, status int, page string, data any) {
	var buf bytes.Buffer
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", data); err != nil {
		s.log.Error("wechatsim render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageBase carries what the layout needs.
type pageBase struct{ Static string }

type consentUser struct {
	Key, Nickname, Avatar, Meta string
	Checked                     bool
}

type doubleChoice struct {
	Value, Label, Hint string
	Checked            bool
}

type consentPage struct {
	pageBase
	P                   authParams
	Action              string
	InWeChat            bool
	AppHost, AppInitial string
	Users               []consentUser
	Doubles             []doubleChoice
}

// renderConsent shows the snsapi_userinfo consent page. It is shown outside
// WeChat too (real WeChat refuses there), with a notice, so anyone can demo
// the login in a desktop browser.
func (s *Sim) renderConsent(w http.ResponseWriter, r *http.Request, p authParams) {
	host := ""
	if u, err := url.Parse(p.RedirectURI); err == nil {
		host = u.Hostname()
	}
	initial := "?"
	if c, _ := utf8.DecodeRuneInString(host); c != utf8.RuneError {
		initial = string(unicode.ToUpper(c))
	}
	chosen := s.rememberedUser(r)
	data := consentPage{
		pageBase:   pageBase{Static: s.o.Prefix + "/static"},
		P:          p,
		Action:     s.o.Prefix + "/connect/oauth2/authorize/confirm",
		InWeChat:   strings.Contains(r.UserAgent(), "MicroMessenger"),
		AppHost:    host,
		AppInitial: initial,
	}
	for i := range s.users {
		u := &s.users[i]
		cu := consentUser{Key: u.Key, Nickname: u.Nickname, Meta: userMeta(u), Checked: u == chosen}
		if u.avatar {
			// A same-origin path, so the page satisfies img-src 'self'.
			cu.Avatar = s.o.Prefix + "/avatar/" + u.Key + "/64"
		}
		data.Users = append(data.Users, cu)
	}
	for _, d := range []doubleChoice{
		{Value: doubleOff, Label: "关闭", Hint: "正常回调一次"},
		{Value: doubleA, Label: "A：同一个 code 回调两次", Hint: "code 与 state 都相同"},
		{Value: doubleB, Label: "B：两个不同的 code", Hint: "state 相同，第二个 code 是新的"},
	} {
		d.Checked = d.Value == s.o.DoubleCallback
		data.Doubles = append(data.Doubles, d)
	}
	s.render(w, http.StatusOK, "consent", data)
}

// userMeta is the grey second line of a user cell: key, sex, region, flags.
func userMeta(u *simUser) string {
	parts := []string{u.Key}
	switch u.Sex {
	case 1:
		parts = append(parts, "男")
	case 2:
		parts = append(parts, "女")
	}
	if reg := strings.TrimSpace(u.Province + " " + u.City); reg != "" {
		parts = append(parts, reg)
	}
	if u.Follower {
		parts = append(parts, "已关注")
	}
	if u.Snapshot {
		parts = append(parts, "快照页模式")
	}
	if u.UnionID == "" {
		parts = append(parts, "无 unionid")
	}
	if !u.avatar {
		parts = append(parts, "无头像")
	}
	return strings.Join(parts, " · ")
}

type doublePage struct {
	pageBase
	First, Second, Mode string
}

// renderDouble answers with the page that reproduces the Android double
// callback; its external script navigates to first, then to second.
func (s *Sim) renderDouble(w http.ResponseWriter, first, second, mode string) {
	s.render(w, http.StatusOK, "double", doublePage{
		pageBase: pageBase{Static: s.o.Prefix + "/static"},
		First:    first, Second: second, Mode: mode,
	})
}

type errorPage struct {
	pageBase
	Code int
	Msg  string
}

// renderError shows a rejected authorize request. Real WeChat answers 200;
// the simulator answers 400 so programs notice.
func (s *Sim) renderError(w http.ResponseWriter, e *authError) {
	s.render(w, http.StatusBadRequest, "error", errorPage{
		pageBase: pageBase{Static: s.o.Prefix + "/static"},
		Code:     e.Code, Msg: e.Msg,
	})
}
