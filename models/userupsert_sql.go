package models

import (
	"fmt"
	"strings"
)

// The web login's upsert of a user by Official Account openid, and of its
// Official Account identity, as SQL text.
//
// What differs between kinds of login (a profile fetched or not, a login
// that counts or an admin's refresh, a unionid or none, a new openid allowed
// or not) is in the text, never a parameter: a parameter the planner could
// fold (a boolean in a CASE or WHERE, a NULL compared with a column) makes
// each custom plan of the prepared statement look cheaper than the generic
// one, and Postgres then plans the statement again on every execution. It
// did for a sixth of its CPU per login at 200 browsers (docs/BENCHMARKS.md,
// "Generic plans"; TestLoginStatementSettlesOnGenericPlan). A dozen fixed
// texts, built once, are a dozen prepared statements per connection.

// userInsert is the upsert's INSERT, its values follow (userUpsertArgs).
const userInsert = `INSERT INTO users (openid, unionid, nickname, sex, province, city, country, avatar_url, privilege, language, scope,
	        access_token_enc, access_token_expires_at, refresh_token_enc, refresh_token_expires_at,
	        created_at, updated_at, last_login_at, login_count, profile_updated_at) `

// userProfileColumns are overwritten only by a login that fetched a
// profile (a silent snsapi_base login keeps what an earlier one stored);
// userTokenColumns by every login. Neither for a disabled user, whose row
// keeps its profile and tokens (the caller refuses the login).
var (
	userProfileColumns = []string{"nickname", "sex", "province", "city", "country", "avatar_url", "privilege", "language", "profile_updated_at"}
	userTokenColumns   = []string{"scope", "access_token_enc", "access_token_expires_at", "refresh_token_enc", "refresh_token_expires_at", "updated_at"}
)

// userOnConflicts holds userOnConflict's four texts, [profile][counts].
var userOnConflicts = func() (t [2][2]string) {
	for p := range 2 {
		for c := range 2 {
			t[p][c] = buildUserOnConflict(p == 1, c == 1)
		}
	}
	return t
}()

// userOnConflict is the upsert's conflict branch: profile when the login
// fetched a profile, counts when it counts as a login (not a refresh, which
// moves neither 登录次数 nor 最近登录).
func userOnConflict(profile, counts bool) string {
	return userOnConflicts[b2i(profile)][b2i(counts)]
}

func buildUserOnConflict(profile, counts bool) string {
	set := []string{"unionid = CASE WHEN users.disabled THEN users.unionid ELSE COALESCE(excluded.unionid, users.unionid) END"}
	keep := func(cols []string) {
		for _, c := range cols {
			set = append(set, fmt.Sprintf("%[1]s = CASE WHEN users.disabled THEN users.%[1]s ELSE excluded.%[1]s END", c))
		}
	}
	if profile {
		keep(userProfileColumns)
	}
	keep(userTokenColumns)
	if counts {
		keep([]string{"last_login_at"})
		set = append(set, "login_count = users.login_count + CASE WHEN users.disabled THEN 0 ELSE 1 END")
	}
	return " ON CONFLICT (openid) DO UPDATE SET\n\t        " + strings.Join(set, ",\n\t        ") + "\n\t      RETURNING id, disabled"
}

// webUpsertTexts holds webUpsertText's texts, [always][union][profile][counts].
var webUpsertTexts = func() (t [2][2][2][2]string) {
	for a := range 2 {
		for u := range 2 {
			for p := range 2 {
				for c := range 2 {
					t[a][u][p][c] = buildWebUpsert(a == 1, u == 1, p == 1, c == 1)
				}
			}
		}
	}
	return t
}()

// webUpsertText is webUpsertCTE's text. Unless always, a new openid is not
// inserted (the statement returns no row); with a unionid, neither is a
// login whose unionid a user without an Official Account openid holds (a
// merge, done under the unionid's lock).
func webUpsertText(always, union, profile, counts bool) string {
	return webUpsertTexts[b2i(always)][b2i(union)][b2i(profile)][b2i(counts)]
}

func buildWebUpsert(always, union, profile, counts bool) string {
	var where []string
	if !always {
		where = append(where, `EXISTS (SELECT 1 FROM users WHERE openid = ?::text)`)
	}
	if union {
		where = append(where, `NOT EXISTS (SELECT 1 FROM users WHERE unionid = ?::text AND openid IS NULL)`,
			`NOT EXISTS (SELECT 1 FROM identities hi JOIN users hu ON hu.id = hi.user_id WHERE hi.unionid = ?::text AND hu.openid IS NULL)`)
	}
	q := `WITH u AS (` + userInsert + `SELECT ?::text, ?::text, ?::text, ?::smallint, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text, ?::text,
	        ?::bytea, ?::timestamptz, ?::bytea, ?::timestamptz, ?::timestamptz, ?::timestamptz, ?::timestamptz, 1, ?::timestamptz`
	if len(where) > 0 {
		q += "\n\t      WHERE " + strings.Join(where, "\n\t        AND ")
	}
	q += userOnConflict(profile, counts) + `),
	    i AS (INSERT INTO identities (user_id, app, appid, openid, unionid, linked_by, created_at, last_login_at, login_count)
	      SELECT id, 'oa', ?::text, ?::text, ?::text, ?::text, ?::timestamptz, ?::timestamptz, 1 FROM u
	      ON CONFLICT (app, openid) DO UPDATE SET
	        unionid = COALESCE(excluded.unionid, identities.unionid),
	        appid = CASE WHEN excluded.appid <> '' THEN excluded.appid ELSE identities.appid END`
	if counts {
		q += `,
	        last_login_at = CASE WHEN (SELECT disabled FROM u) THEN identities.last_login_at ELSE excluded.last_login_at END,
	        login_count = identities.login_count + CASE WHEN (SELECT disabled FROM u) THEN 0 ELSE 1 END`
	}
	return q + `)`
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
