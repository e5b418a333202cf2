package testdb

import (
	"net/url"
	"os"
	"testing"
)

// PoolerURL is dbURL (a database of the shared cluster) reached through the
// PgBouncer in transaction mode that `make test` runs in front of the
// cluster (TEST_PGBOUNCER_URL). Tests fail, never skip, without it.
func PoolerURL(t testing.TB, dbURL string) string {
	t.Helper()
	return throughPooler(t, os.Getenv("TEST_PGBOUNCER_URL"), dbURL)
}

func throughPooler(t testing.TB, pooler, dbURL string) string {
	t.Helper()
	if pooler == "" {
		t.Fatal("TEST_PGBOUNCER_URL is not set: run `make test`, whose scripts/with-postgres.sh starts a PgBouncer " +
			"in transaction mode in front of the throwaway Postgres (it installs Debian's pgbouncer package when " +
			"run as root; otherwise install pgbouncer), or point TEST_PGBOUNCER_URL at one")
	}
	p, err := url.Parse(pooler)
	if err != nil {
		t.Fatalf("TEST_PGBOUNCER_URL: %v", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatalf("database URL: %v", err)
	}
	u.Host = p.Host
	return u.String()
}
