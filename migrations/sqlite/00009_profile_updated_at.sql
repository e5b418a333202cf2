-- +goose Up
-- When WeChat last told us the person's profile (nickname, avatar): the admin
-- page's 资料更新. updated_at is the row's own time, which disabling or
-- enabling the user moves too. Rows from before this migration start from
-- the best guess there is, their last write.
ALTER TABLE users ADD COLUMN profile_updated_at DATETIME;
UPDATE users SET profile_updated_at = updated_at WHERE nickname <> '' OR avatar_url <> '';

-- +goose Down
ALTER TABLE users DROP COLUMN profile_updated_at;
