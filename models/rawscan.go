package models

import (
	"strconv"
	"strings"
	"sync"

	"gorm.io/gorm"
)

// rawScan is tx.Raw(q, args...).Scan(dest) for the statements of a login,
// sent on tx's connection (its transaction, inside Transaction) without two
// costs GORM adds to every such call: Scan renders the statement with its
// arguments interpolated for a trace recorder (Dialector.Explain, regexp
// passes over the whole SQL) even when the logger discards it, and Raw
// rebuilds the SQL byte by byte to number its placeholders. Together they
// were a fifth of a login's allocations (BenchmarkCallback). The rows are
// mapped onto dest by GORM's ScanRows, as Scan does: the first row for a
// struct, every row for a slice; no row leaves dest as it was. q is written
// with ? placeholders for both dialects, and args are plain values (no
// slices expanded for IN).
func rawScan(tx *gorm.DB, dest any, q string, args ...any) error {
	if tx.Dialector.Name() == "postgres" {
		q = dollarPlaceholders(q)
	}
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if rows.Next() {
		if err := tx.ScanRows(rows, dest); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	return rows.Close()
}

// rebound caches dollarPlaceholders by query: the queries are constants,
// so the cache holds as many entries as there are statements in the code.
var rebound sync.Map // string → string

// dollarPlaceholders turns ? placeholders into Postgres's $n, once per query.
func dollarPlaceholders(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	out := b.String()
	rebound.Store(q, out)
	return out
}
