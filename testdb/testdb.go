// Package testdb gives each test its own freshly migrated Postgres database
// in the throwaway cluster that `make test` starts (TEST_DATABASE_URL).
// Tests that touch the database never use a mock.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"wxlogin/models"
)

var (
	templateOnce sync.Once
	templateName string
	templateErr  error
)

// AdminURL is the cluster's superuser URL; tests fail (never skip) without it.
func AdminURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("TEST_DATABASE_URL is not set: run `make test`, which starts a throwaway Postgres " +
			"(or point TEST_DATABASE_URL at a Postgres superuser URL)")
	}
	return u
}

// New creates an empty, migrated database for one test and drops it when the
// test ends. It clones a template migrated once per test binary, which is
// much faster than migrating every database.
func New(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	templateOnce.Do(func() { templateName, templateErr = makeTemplate(admin) })
	if templateErr != nil {
		t.Fatalf("testdb: preparing the template database: %v", templateErr)
	}
	name := "t_" + randomHex(8)
	mustExec(t, admin, fmt.Sprintf("CREATE DATABASE %s TEMPLATE %s", name, templateName))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := execCtx(ctx, admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name)); err != nil {
			t.Logf("testdb: dropping %s: %v", name, err)
		}
	})
	return withDatabase(admin, name)
}

// NewEmpty creates an empty database with no schema (for migration tests).
func NewEmpty(t testing.TB) string {
	t.Helper()
	admin := AdminURL(t)
	name := "e_" + randomHex(8)
	mustExec(t, admin, "CREATE DATABASE "+name)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = execCtx(ctx, admin, fmt.Sprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", name))
	})
	return withDatabase(admin, name)
}

// Open is New plus an open handle, closed at the end of the test.
func Open(t testing.TB) *models.DB {
	t.Helper()
	db, err := models.Open(context.Background(), New(t), "", models.Options{})
	if err != nil {
		t.Fatalf("testdb: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func makeTemplate(admin string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	name := "tpl_" + randomHex(8)
	if err := execCtx(ctx, admin, "CREATE DATABASE "+name); err != nil {
		return "", err
	}
	db, err := models.Open(ctx, withDatabase(admin, name), "", models.Options{MaxOpenConns: 2})
	if err != nil {
		return "", err
	}
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return "", err
	}
	if err := db.Close(); err != nil {
		return "", err
	}
	return name, nil
}

func mustExec(t testing.TB, admin, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := execCtx(ctx, admin, sql); err != nil {
		t.Fatalf("testdb: %s: %v", sql, err)
	}
}

func execCtx(ctx context.Context, admin, sql string) error {
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(context.Background()) }()
	_, err = conn.Exec(ctx, sql)
	return err
}

func withDatabase(admin, name string) string {
	u, err := url.Parse(admin)
	if err != nil {
		return admin
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
