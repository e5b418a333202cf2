package wechatsim

import "strings"

// Synthetic followers for load tests. An Official Account's login storm is
// thousands of different people; with only the seven test users every
// login would update the same few database rows, and a benchmark would
// measure row-lock contention that production never sees. So headless
// authorize also accepts X-Sim-User "follower-N" (N: 1 to 7 digits): a
// plain follower with a stable openid and unionid of its own and no avatar.
// Followers are derived from their key on every use; nothing is stored.
const followerPrefix = "follower-"

// follower returns the synthetic follower with key, or nil.
func (s *Sim) follower(key string) *simUser {
	n, ok := strings.CutPrefix(key, followerPrefix)
	if !ok || n == "" || len(n) > 7 || strings.Trim(n, "0123456789") != "" {
		return nil
	}
	r := region{Province: "广东", City: "深圳", Country: "中国"}
	return &simUser{
		User: User{Key: key, OpenID: openID(s.o.AppID, key), MiniOpenID: openID(s.o.MiniAppID, key), UnionID: unionID(key), Nickname: "粉丝" + n,
			Sex: 1 + len(n)%2, Province: r.Province, City: r.City, Country: r.Country, Privilege: []string{}, Follower: true},
		regions: map[string]region{langCN: r, langTW: {"廣東", "深圳", "中國"}, langEN: {"Guangdong", "Shenzhen", "China"}},
	}
}

// user returns the test user or synthetic follower with key, or nil.
func (s *Sim) user(key string) *simUser {
	if u, ok := s.byKey[key]; ok {
		return u
	}
	return s.follower(key)
}
