package models

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"
)

// UserRow is one line of the admin user list: the user without tokens, plus
// the number of live sessions, computed in the same query.
type UserRow struct {
	ID           int64      `gorm:"column:id"`
	OpenID       string     `gorm:"column:openid"`
	UnionID      *string    `gorm:"column:unionid"`
	Nickname     string     `gorm:"column:nickname"`
	AvatarURL    string     `gorm:"column:avatar_url"`
	Disabled     bool       `gorm:"column:disabled"`
	CreatedAt    time.Time  `gorm:"column:created_at"`
	LastLoginAt  *time.Time `gorm:"column:last_login_at"`
	LoginCount   int        `gorm:"column:login_count"`
	LiveSessions int64      `gorm:"column:live_sessions"`
	// The apps the user has identities in.
	InOA   bool `gorm:"column:in_oa"`
	InMini bool `gorm:"column:in_mini"`
}

// EscapeLike makes s match itself literally inside a LIKE pattern that uses
// ESCAPE '\': a search for "50%_off" must not match everything.
func EscapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// UserOrder is a sort of the user list: a column key and a direction.
// Keys: "id" (the default: newest first), "first" (first login), "last"
// (last login), "logins" (login count), "nickname".
type UserOrder struct {
	Key string
	Asc bool
}

// userOrderColumns maps the keys to columns: only these ever reach SQL.
var userOrderColumns = map[string]string{
	"id": "users.id", "first": "users.created_at", "last": "users.last_login_at",
	"logins": "users.login_count", "nickname": "users.nickname",
}

// ValidUserOrder says whether key names a sortable column.
func ValidUserOrder(key string) bool { _, ok := userOrderColumns[key]; return ok }

// orderBy is the ORDER BY of o: NULLs (never logged in) last either way,
// and the id to break ties, so pages never overlap.
func (o UserOrder) orderBy() string {
	col, ok := userOrderColumns[o.Key]
	if !ok {
		col = "users.id"
	}
	dir := " DESC"
	if o.Asc {
		dir = " ASC"
	}
	return "CASE WHEN " + col + " IS NULL THEN 1 ELSE 0 END, " + col + dir + ", users.id" + dir
}

// SearchUsers returns one page of users whose nickname (any case), openid or
// unionid contains q, in the given order (newest first by default), and
// how many match in all. The search text is a bound parameter with its
// wildcards escaped; the page is two statements whatever its size (no
// query per row).
func (db *DB) SearchUsers(ctx context.Context, q string, offset, limit int, now time.Time, order ...UserOrder) ([]UserRow, int64, error) {
	return db.SearchUsersIn(ctx, q, "", offset, limit, now, order...)
}

// SearchUsersIn is SearchUsers restricted to the users with an identity in
// app (AppOA, AppMini; "" for all). The text also matches the openids of
// every identity (a mini program openid finds its person).
func (db *DB) SearchUsersIn(ctx context.Context, q, app string, offset, limit int, now time.Time, order ...UserOrder) ([]UserRow, int64, error) {
	o := UserOrder{Key: "id"}
	if len(order) > 0 {
		o = order[0]
	}
	base := func() *gorm.DB {
		tx := db.Gorm.WithContext(ctx).Table("users")
		if q != "" {
			pat := "%" + EscapeLike(q) + "%"
			lower := "%" + EscapeLike(strings.ToLower(q)) + "%"
			tx = tx.Where(`LOWER(users.nickname) LIKE ? ESCAPE '\' OR users.openid LIKE ? ESCAPE '\' OR users.unionid LIKE ? ESCAPE '\'
			    OR EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id AND i.openid LIKE ? ESCAPE '\')`,
				lower, pat, pat, pat)
		}
		if app != "" {
			tx = tx.Where(`EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id AND i.app = ?)`, app)
		}
		return tx
	}
	var total int64
	if err := base().Count(&total).Error; err != nil {
		return nil, 0, err
	}
	var rows []UserRow
	err := base().Select(`users.id, users.openid, users.unionid, users.nickname, users.avatar_url, users.disabled,
	        users.created_at, users.last_login_at, users.login_count,
	        (SELECT COUNT(*) FROM sessions s WHERE s.user_id = users.id AND s.expires_at > ?) AS live_sessions,
	        EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id AND i.app = ?) AS in_oa,
	        EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id AND i.app = ?) AS in_mini`, now.UTC(), AppOA, AppMini).
		Order(o.orderBy()).Offset(offset).Limit(limit).Scan(&rows).Error
	return rows, total, err
}

// SetAdminLastLogin records a successful admin login.
func (db *DB) SetAdminLastLogin(ctx context.Context, id int64, at time.Time) error {
	return db.Gorm.WithContext(ctx).Model(&Admin{}).Where("id = ?", id).Update("last_login_at", at.UTC()).Error
}
