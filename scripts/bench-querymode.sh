#!/usr/bin/env bash
# bench-querymode.sh [ROUNDS] — BenchmarkQueryMode (models/querymode_bench_test.go) with the
# three query modes run alternately, ROUNDS (default 5) times each, against a throwaway
# Postgres and PgBouncer (scripts/with-postgres.sh), so that load from elsewhere on a shared
# machine falls on all modes alike. Prints the raw lines, then the median ns/op per mode and
# its ratio to direct/prepared. Results go into docs/BENCHMARKS.md by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${TEST_DATABASE_URL:-}" ]; then
  exec scripts/with-postgres.sh "$0" "$@"
fi
rounds=${1:-5}
go test -c -o /tmp/models-bench.$$ ./models/
trap 'rm -f /tmp/models-bench.$$' EXIT
out=$(for _ in $(seq 1 "$rounds"); do
  for mode in direct/prepared direct/describe pgbouncer/describe; do
    /tmp/models-bench.$$ -test.run '^$' -test.bench "^BenchmarkQueryMode/${mode}\$" -test.benchtime 2s -test.benchmem | grep '^Benchmark'
  done
done)
printf '%s\n' "$out"
printf '%s\n' "$out" | awk '{n=$1; sub(/-[0-9]+$/, "", n); v[n]=v[n] " " $3}
  END { for (n in v) print n, v[n] }' | python3 -c '
import sys, statistics
med = {}
for line in sys.stdin:
    name, *vals = line.split()
    med[name] = statistics.median(float(v) for v in vals)
base = med.get("BenchmarkQueryMode/direct/prepared")
for name in sorted(med):
    print(f"{name}: median {med[name]/1e6:.2f} ms/op, {1e9/med[name]:.0f} logins/s of DB work, x{med[name]/base:.2f} of direct/prepared")
'
