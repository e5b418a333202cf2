package wechatsim

import (
	"crypto/sha256"
	"encoding/base64"
)

// User is one of the simulator's fixed test users. Keys never change:
// wxlogin's tests pick users by key. Region fields are the zh_CN names.
type User struct {
	Key, OpenID, UnionID, Nickname string
	MiniOpenID                     string // the same person's openid in the mini program
	Sex                            int    // 0 unknown, 1 male, 2 female
	Province, City, Country        string
	HeadImgURL                     string // "" when the user has no avatar
	Privilege                      []string
	Snapshot                       bool // Moments snapshot mode: exchange answers is_snapshotuser:1
	Follower                       bool // follows the Official Account
}

// region is a user's province, city and country in one language.
type region struct{ Province, City, Country string }

// simUser is a User plus what only the simulator needs.
type simUser struct {
	User
	avatar  bool
	regions map[string]region // by lang: zh_CN, zh_TW, en
}

// Languages /sns/userinfo understands; anything else falls back to zh_CN.
const (
	langCN = "zh_CN"
	langTW = "zh_TW"
	langEN = "en"
)

// testUsers returns the fixed users with openids for appid. Each covers a
// case the app must handle: a plain follower, emoji, HTML metacharacters, no
// avatar, a snapshot (virtual) account, English region names, no unionid.
func testUsers(appid, miniAppID string) []simUser {
	cn := func(p, c, co, tp, tc, tco, ep, ec, eco string) map[string]region {
		return map[string]region{
			langCN: {p, c, co},
			langTW: {tp, tc, tco},
			langEN: {ep, ec, eco},
		}
	}
	same := func(p, c, co string) map[string]region { return cn(p, c, co, p, c, co, p, c, co) }
	users := []simUser{
		{User: User{Key: "zhangsan", Nickname: "张三", Sex: 1, Follower: true}, avatar: true,
			regions: cn("广东", "广州", "中国", "廣東", "廣州", "中國", "Guangdong", "Guangzhou", "China")},
		{User: User{Key: "emoji", Nickname: "小明🐱🌸✨", Sex: 2}, avatar: true,
			regions: cn("上海", "浦东新区", "中国", "上海", "浦東新區", "中國", "Shanghai", "Pudong New District", "China")},
		{User: User{Key: "xss", Nickname: `<script>alert("x")</script> & "Tom" 's`}, avatar: true,
			regions: cn("北京", "<b>City</b>", "中国", "北京", "<b>City</b>", "中國", "Beijing", "<b>City</b>", "China")},
		{User: User{Key: "noavatar", Nickname: "无头像用户"}, avatar: false,
			regions: same("", "", "")},
		{User: User{Key: "snapshot", Nickname: "微信用户", Snapshot: true}, avatar: true,
			regions: same("", "", "")},
		{User: User{Key: "english", Nickname: "Alice", Sex: 2}, avatar: true,
			regions: cn("加利福尼亚", "旧金山", "美国", "加利福尼亞", "舊金山", "美國", "California", "San Francisco", "United States")},
		{User: User{Key: "nounion", Nickname: "李四", Sex: 1}, avatar: true,
			regions: cn("四川", "成都", "中国", "四川", "成都", "中國", "Sichuan", "Chengdu", "China")},
	}
	for i := range users {
		u := &users[i]
		u.OpenID = openID(appid, u.Key)
		u.MiniOpenID = openID(miniAppID, u.Key)
		if u.Key != "nounion" && !u.Snapshot {
			u.UnionID = unionID(u.Key)
		}
		u.Privilege = []string{}
		r := u.regions[langCN]
		u.Province, u.City, u.Country = r.Province, r.City, r.Country
	}
	return users
}

// openID derives a stable 28-character openid from appid and key. Like
// WeChat's, openids of one appid share a prefix and differ per appid, so a
// test that mixes up apps sees different users.
func openID(appid, key string) string {
	return "o" + hash64("openid-prefix|" + appid)[:5] + hash64("openid|" + appid + "|" + key)[:22]
}

// unionID derives a stable 28-character unionid from key alone: unionids
// are the same for one person across all apps of an Open Platform account.
func unionID(key string) string {
	return "o" + hash64("unionid-prefix")[:5] + hash64("unionid|" + key)[:22]
}

func hash64(s string) string {
	sum := sha256.Sum256([]byte(s))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Users returns copies of the test users, first the default one. HeadImgURL
// is absolute when Options.PublicURL is set, else a path under Prefix.
func (s *Sim) Users() []User {
	out := make([]User, len(s.users))
	for i := range s.users {
		out[i] = s.publicUser(&s.users[i], s.publicBase(nil), langCN)
	}
	return out
}

// publicUser is u as the API shows it for base (the URL of Prefix) and lang.
func (s *Sim) publicUser(u *simUser, base, lang string) User {
	pu := u.User
	pu.Privilege = append([]string{}, u.Privilege...)
	if u.avatar {
		pu.HeadImgURL = base + "/avatar/" + u.Key + "/132"
	}
	r, ok := u.regions[lang]
	if !ok {
		r = u.regions[langCN]
	}
	pu.Province, pu.City, pu.Country = r.Province, r.City, r.Country
	return pu
}

// findUser looks a user up by key or openid.
func (s *Sim) findUser(keyOrOpenID string) *simUser {
	if u, ok := s.byKey[keyOrOpenID]; ok {
		return u
	}
	if u, ok := s.byOpen[keyOrOpenID]; ok {
		return u
	}
	return s.follower(keyOrOpenID)
}
