package models

import "context"

// SealedTokens is one user's stored WeChat tokens as sealed by tokencrypt;
// the TOKEN_KEY rotation reads and re-seals them.
type SealedTokens struct {
	ID      int64  `gorm:"column:id"`
	OpenID  string `gorm:"column:openid"`
	Access  []byte `gorm:"column:access_token_enc"`
	Refresh []byte `gorm:"column:refresh_token_enc"`
}

// SealedTokensAfter returns up to limit users holding tokens whose id is
// greater than afterID, by id: a batch of a keyset-paged walk over users.
func (db *DB) SealedTokensAfter(ctx context.Context, afterID int64, limit int) ([]SealedTokens, error) {
	var out []SealedTokens
	err := db.Gorm.WithContext(ctx).Raw(`SELECT id, openid, access_token_enc, refresh_token_enc FROM users
	  WHERE id > ? AND (access_token_enc IS NOT NULL OR refresh_token_enc IS NOT NULL)
	  ORDER BY id LIMIT ?`, afterID, limit).Scan(&out).Error
	return out, err
}

// ResealTokens stores re-sealed tokens for old.ID, but only if the row still
// holds exactly old's ciphertexts: a login that stored fresh tokens in the
// meantime wins (they are sealed with the newest key already). It reports
// whether the row was updated.
func (db *DB) ResealTokens(ctx context.Context, old SealedTokens, access, refresh []byte) (bool, error) {
	q := db.Gorm.WithContext(ctx).Model(&User{}).Where("id = ?", old.ID)
	// No token may be stored as NULL or, by the SQLite driver, as an empty
	// value that reads back as nil.
	if len(old.Access) == 0 {
		q = q.Where("(access_token_enc IS NULL OR length(access_token_enc) = 0)")
	} else {
		q = q.Where("access_token_enc = ?", old.Access)
	}
	if len(old.Refresh) == 0 {
		q = q.Where("(refresh_token_enc IS NULL OR length(refresh_token_enc) = 0)")
	} else {
		q = q.Where("refresh_token_enc = ?", old.Refresh)
	}
	res := q.UpdateColumns(map[string]any{"access_token_enc": access, "refresh_token_enc": refresh})
	return res.RowsAffected == 1, res.Error
}
