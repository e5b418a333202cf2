package wechat_test

import (
	"net/url"
	"strings"
	"testing"

	"wxlogin/wechat"
)

// WeChat matches the authorize link strictly: the parameter order and the
// #wechat_redirect suffix are part of the contract, so compare whole strings.
func TestAuthorizeURL(t *testing.T) {
	tests := []struct {
		name                   string
		cfg                    wechat.Config
		redirect, scope, state string
		want                   string
	}{
		{
			name:     "production default",
			cfg:      wechat.Config{AppID: "wx1234567890abcdef"},
			redirect: "https://example.com/wechat/callback",
			scope:    "snsapi_userinfo",
			state:    "0123abcdef",
			want:     "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx1234567890abcdef&redirect_uri=https%3A%2F%2Fexample.com%2Fwechat%2Fcallback&response_type=code&scope=snsapi_userinfo&state=0123abcdef#wechat_redirect",
		},
		{
			name:     "simulator base, trailing slash trimmed, query in redirect",
			cfg:      wechat.Config{AppID: "wx5im0000000000001", OAuthURL: "http://localhost:8080/_sim/"},
			redirect: "http://localhost:8080/wechat/callback?next=/profile&x=a b",
			scope:    "snsapi_base",
			state:    "",
			want:     "http://localhost:8080/_sim/connect/oauth2/authorize?appid=wx5im0000000000001&redirect_uri=http%3A%2F%2Flocalhost%3A8080%2Fwechat%2Fcallback%3Fnext%3D%2Fprofile%26x%3Da+b&response_type=code&scope=snsapi_base&state=#wechat_redirect",
		},
		{
			name:     "values are escaped",
			cfg:      wechat.Config{AppID: "wx&1"},
			redirect: "https://a.example/cb#frag",
			scope:    "snsapi_userinfo",
			state:    "s&t=1",
			want:     "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wx%261&redirect_uri=https%3A%2F%2Fa.example%2Fcb%23frag&response_type=code&scope=snsapi_userinfo&state=s%26t%3D1#wechat_redirect",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wechat.New(tt.cfg).AuthorizeURL(tt.redirect, tt.scope, tt.state)
			if got != tt.want {
				t.Fatalf("AuthorizeURL =\n %s\nwant\n %s", got, tt.want)
			}
			// The query must round-trip to the inputs.
			u, err := url.Parse(got)
			if err != nil {
				t.Fatal(err)
			}
			q := u.Query()
			if q.Get("redirect_uri") != tt.redirect || q.Get("state") != tt.state || q.Get("scope") != tt.scope {
				t.Fatalf("query does not round-trip: %v", q)
			}
			if u.Fragment != "wechat_redirect" {
				t.Fatalf("fragment = %q", u.Fragment)
			}
			keys := []string{}
			for _, kv := range strings.Split(u.RawQuery, "&") {
				k, _, _ := strings.Cut(kv, "=")
				keys = append(keys, k)
			}
			if strings.Join(keys, ",") != "appid,redirect_uri,response_type,scope,state" {
				t.Fatalf("parameter order = %v", keys)
			}
		})
	}
}

func TestAppID(t *testing.T) {
	if got := wechat.New(wechat.Config{AppID: "wxabc"}).AppID(); got != "wxabc" {
		t.Fatalf("AppID = %q", got)
	}
}
