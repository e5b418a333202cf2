package models

import (
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// Merging users. Identities with the same unionid are one person, whichever
// app came first (issue 15). With WECHAT_SCOPE=auto a person's first web
// login is a silent snsapi_base one, which carries no unionid (wechat-api.md
// §3, §10): someone who used the mini program first (user M, no Official
// Account openid) then opens the Official Account gets a second user W, and
// nothing yet says they are one person. When WeChat later gives W's openid
// the unionid — a snsapi_userinfo login, 分享昵称和头像, an admin's 刷新资料 —
// or a mini program login first brings a unionid another user already
// holds, the two users become one here, inside the transaction that holds
// the unionid's advisory lock (lockUnionID), so concurrent logins of the
// person in both apps end in one user.
//
// Which id survives: the user with the Official Account openid (W above);
// of two users without one, the lower id. A web session's cookie row holds
// the user id inside its encoded data as well as in sessions.user_id, while
// a mini program bearer token's row holds it only in sessions.user_id,
// which the merge moves. Keeping the web user's id therefore keeps every
// live session of both working without rewriting any session's contents
// (the user without an Official Account openid can have no web session: a
// web login or a computer's QR login always has the openid). The person's
// first-seen date is kept anyway (created_at is the earlier of the two).
// The disappearing id is deleted; its admin page is a 404 afterwards, and
// the audit log's merge entry names both ids.

// SystemActor is the audit log's admin name for what wxlogin did by itself
// (a merge): admin usernames are ASCII only (cmd/wxlogin validUsername), so
// no admin can be confused with it.
const SystemActor = "系统"

// maxMergesPerLogin bounds how many users one login may fold into its user
// (legacy duplicates from before merging existed); there is normally one.
const maxMergesPerLogin = 8

// mergeRow is what a merge reads of each of the two users.
type mergeRow struct {
	ID               int64      `gorm:"column:id"`
	OpenID           *string    `gorm:"column:openid"`
	UnionID          *string    `gorm:"column:unionid"`
	Nickname         string     `gorm:"column:nickname"`
	Sex              int        `gorm:"column:sex"`
	Province         string     `gorm:"column:province"`
	City             string     `gorm:"column:city"`
	Country          string     `gorm:"column:country"`
	AvatarURL        string     `gorm:"column:avatar_url"`
	Privilege        string     `gorm:"column:privilege"`
	Language         string     `gorm:"column:language"`
	Disabled         bool       `gorm:"column:disabled"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	LastLoginAt      *time.Time `gorm:"column:last_login_at"`
	LoginCount       int        `gorm:"column:login_count"`
	ProfileUpdatedAt *time.Time `gorm:"column:profile_updated_at"`
	Followed         *bool      `gorm:"column:followed"`
	FollowChangedAt  *time.Time `gorm:"column:follow_changed_at"`
	FollowedAt       *time.Time `gorm:"column:followed_at"`
}

// errBothOA: two users who both have an Official Account openid cannot be
// one user (an Official Account has one openid per person); such a pair is
// left alone.
var errBothOA = errors.New("models: both users have an Official Account openid")

// mergeUsers makes users a and b one user inside tx (which must hold the
// unionid's lock) and returns the survivor's id (see the package comment
// above for which one). Everything that references the other moves to the
// survivor: identities (linked_by becomes LinkedUnionID), web and mini
// program sessions, computer QR logins and code exchanges (the exactly-once
// gate's duplicates read user_id from the claim row). Login counts add up,
// the last login is the later one, created_at the earlier; the newer
// profile (by profile_updated_at) and the newer follow status are kept; the
// Official Account tokens are the survivor's (they are sealed with its
// openid). If either was disabled the merged user is disabled and every
// session of it ends, as disabling does: a merge never re-enables a person
// an admin disabled. The merge is recorded in the audit log by SystemActor.
func (db *DB) mergeUsers(tx *gorm.DB, a, b int64, unionid string, at time.Time) (keep int64, err error) {
	if a == b {
		return a, nil
	}
	q := `SELECT id, openid, unionid, nickname, sex, province, city, country, avatar_url, privilege, language,
	    disabled, created_at, last_login_at, login_count, profile_updated_at, followed, follow_changed_at, followed_at
	    FROM users WHERE id IN (?, ?) ORDER BY id`
	if db.Dialect == "postgres" {
		// Row locks in id order: a concurrent one-statement web login of
		// either user waits, and its login is not lost in the sums.
		q += ` FOR UPDATE`
	}
	var rows []mergeRow
	if err := rawScan(tx, &rows, q, a, b); err != nil {
		return 0, err
	}
	if len(rows) != 2 {
		return 0, fmt.Errorf("models: merging users %d and %d: %d of them exist", a, b, len(rows))
	}
	k, g := rows[0], rows[1] // lower id first
	switch {
	case k.OpenID != nil && g.OpenID != nil:
		return 0, errBothOA
	case g.OpenID != nil:
		k, g = g, k
	}
	m := map[string]any{
		"unionid":     firstNonNil(k.UnionID, g.UnionID, &unionid),
		"disabled":    k.Disabled || g.Disabled,
		"created_at":  minTime(k.CreatedAt, g.CreatedAt),
		"login_count": k.LoginCount + g.LoginCount,
		"updated_at":  at.UTC(),
	}
	if later(g.LastLoginAt, k.LastLoginAt) {
		m["last_login_at"] = g.LastLoginAt
	}
	if later(g.ProfileUpdatedAt, k.ProfileUpdatedAt) {
		m["nickname"], m["sex"], m["province"], m["city"], m["country"] = g.Nickname, g.Sex, g.Province, g.City, g.Country
		m["avatar_url"], m["privilege"], m["language"], m["profile_updated_at"] = g.AvatarURL, g.Privilege, g.Language, g.ProfileUpdatedAt
	}
	if later(g.FollowChangedAt, k.FollowChangedAt) {
		m["followed"], m["follow_changed_at"], m["followed_at"] = g.Followed, g.FollowChangedAt, g.FollowedAt
	}
	if err := tx.Table("users").Where("id = ?", k.ID).Updates(m).Error; err != nil {
		return 0, err
	}
	moved := map[string]int64{}
	for _, mv := range []struct{ table, set string }{
		{"identities", "user_id = ?, linked_by = '" + LinkedUnionID + "'"},
		{"sessions", "user_id = ?"},
		{"qr_logins", "user_id = ?"},
		{"code_exchanges", "user_id = ?"},
	} {
		res := tx.Exec(`UPDATE `+mv.table+` SET `+mv.set+` WHERE user_id = ?`, k.ID, g.ID)
		if res.Error != nil {
			return 0, res.Error
		}
		moved[mv.table] = res.RowsAffected
	}
	if err := tx.Exec(`DELETE FROM users WHERE id = ?`, g.ID).Error; err != nil {
		return 0, err
	}
	disabled := k.Disabled || g.Disabled
	if disabled {
		if err := tx.Exec(`DELETE FROM sessions WHERE user_id = ?`, k.ID).Error; err != nil {
			return 0, err
		}
	}
	detail := fmt.Sprintf("用户 %d 与此用户是同一人（unionid 相同），已并入此用户：身份 %d 个，会话 %d 个，登录记录 %d 条",
		g.ID, moved["identities"], moved["sessions"], moved["code_exchanges"])
	if disabled {
		detail += "；其中一方已停用，合并后的用户保持停用"
	}
	openid := ""
	if k.OpenID != nil {
		openid = *k.OpenID
	}
	err = tx.Exec(`INSERT INTO audit_log (admin_id, admin_name, action, target, detail, ip, created_at) VALUES (NULL, ?, ?, ?, ?, '', ?)`,
		SystemActor, AuditUserMerge, fmt.Sprintf("user:%d %s", k.ID, openid), detail, at.UTC()).Error
	return k.ID, err
}

// AuditUserMerge is the audit log's action for a merge of two users.
const AuditUserMerge = "user_merge"

// unionHoldersWithoutOA lists the users other than except, without an
// Official Account openid, who carry this unionid or have an identity with
// it: the users a web identity with the unionid absorbs.
func unionHoldersWithoutOA(tx *gorm.DB, unionid string, except int64) ([]int64, error) {
	if unionid == "" {
		return nil, nil
	}
	var ids []int64
	err := rawScan(tx, &ids, `SELECT id FROM (
	      SELECT u.id FROM users u WHERE u.unionid = ? AND u.openid IS NULL
	      UNION SELECT u.id FROM identities i JOIN users u ON u.id = i.user_id WHERE i.unionid = ? AND u.openid IS NULL
	    ) c WHERE id <> ? ORDER BY id LIMIT ?`, unionid, unionid, except, maxMergesPerLogin)
	return ids, err
}

// absorbUnionHolders merges into user id every user without an Official
// Account openid who holds the unionid: id's Official Account identity has
// just been given it (id survives: it has the openid).
func (db *DB) absorbUnionHolders(tx *gorm.DB, id int64, unionid string, at time.Time) error {
	others, err := unionHoldersWithoutOA(tx, unionid, id)
	if err != nil {
		return err
	}
	for _, o := range others {
		keep, err := db.mergeUsers(tx, id, o, unionid, at)
		if err != nil {
			return err
		}
		if keep != id {
			return fmt.Errorf("models: merging user %d into %d kept %d", o, id, keep)
		}
	}
	return nil
}

// firstNonNil is the first set, non-empty string.
func firstNonNil(ss ...*string) *string {
	for _, s := range ss {
		if s != nil && *s != "" {
			return s
		}
	}
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// later reports whether a is set and after b (or b is unset).
func later(a, b *time.Time) bool {
	return a != nil && (b == nil || a.After(*b))
}
