package wechatsim_test

import (
	"regexp"
	"testing"

	"wxlogin/wechatsim"
)

var openidRE = regexp.MustCompile(`^o[A-Za-z0-9_-]{27}$`)

func TestUsers(t *testing.T) {
	a := wechatsim.New(wechatsim.Options{})
	b := wechatsim.New(wechatsim.Options{})
	other := wechatsim.New(wechatsim.Options{AppID: "wx5im0000000000002"})
	if a.AppID() != wechatsim.DefaultAppID || a.Secret() != wechatsim.DefaultSecret {
		t.Fatalf("defaults %q %q", a.AppID(), a.Secret())
	}
	ua, ub, uo := a.Users(), b.Users(), other.Users()
	wantKeys := []string{"zhangsan", "emoji", "xss", "noavatar", "snapshot", "english", "nounion"}
	if len(ua) != len(wantKeys) {
		t.Fatalf("%d users", len(ua))
	}
	seen := map[string]bool{}
	for i, u := range ua {
		if u.Key != wantKeys[i] {
			t.Fatalf("user %d is %q, want %q", i, u.Key, wantKeys[i])
		}
		if !openidRE.MatchString(u.OpenID) || seen[u.OpenID] {
			t.Fatalf("%s openid %q", u.Key, u.OpenID)
		}
		seen[u.OpenID] = true
		if u.OpenID != ub[i].OpenID {
			t.Fatalf("%s openid not stable", u.Key)
		}
		if u.OpenID == uo[i].OpenID {
			t.Fatalf("%s openid same across appids", u.Key)
		}
		if u.UnionID != uo[i].UnionID {
			t.Fatalf("%s unionid differs across appids", u.Key)
		}
		if u.UnionID != "" && !openidRE.MatchString(u.UnionID) {
			t.Fatalf("%s unionid %q", u.Key, u.UnionID)
		}
		if u.Privilege == nil {
			t.Fatalf("%s privilege nil", u.Key)
		}
	}
	byKey := map[string]wechatsim.User{}
	for _, u := range ua {
		byKey[u.Key] = u
	}
	checks := []struct {
		key string
		ok  bool
	}{
		{"zhangsan", byKey["zhangsan"].Nickname == "张三" && byKey["zhangsan"].Follower && byKey["zhangsan"].Sex == 1 &&
			byKey["zhangsan"].Province == "广东" && byKey["zhangsan"].City == "广州" && byKey["zhangsan"].Country == "中国" && byKey["zhangsan"].UnionID != ""},
		{"emoji", byKey["emoji"].Nickname == "小明🐱🌸✨" && byKey["emoji"].Sex == 2},
		{"xss", byKey["xss"].Nickname == `<script>alert("x")</script> & "Tom" 's` && byKey["xss"].City == "<b>City</b>"},
		{"noavatar", byKey["noavatar"].HeadImgURL == ""},
		{"snapshot", byKey["snapshot"].Snapshot},
		{"english", byKey["english"].Nickname == "Alice"},
		{"nounion", byKey["nounion"].UnionID == ""},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("user %s: %+v", c.key, byKey[c.key])
		}
	}
	// Users returns copies.
	ua[0].Privilege = append(ua[0].Privilege, "x")
	ua[0].Nickname = "changed"
	if u := a.Users()[0]; u.Nickname != "张三" || len(u.Privilege) != 0 {
		t.Fatal("Users exposes internal state")
	}
}
