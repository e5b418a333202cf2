-- +goose Up
-- Visits to /wechat/entry that start a login, per Beijing day: the funnel's
-- "entries". A visit is anonymous and must not cost a row (issue 17.4), so
-- each instance counts in memory and adds its count here every 10 s with one
-- upsert: one row per day whatever the traffic. day is 'YYYY-MM-DD'.
CREATE TABLE entry_counts (
    day     DATE PRIMARY KEY,
    entries BIGINT NOT NULL
);

-- +goose Down
DROP TABLE entry_counts;
