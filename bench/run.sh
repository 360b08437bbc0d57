#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md on this machine: the load
# scenarios (JSON reports in bench/results/), the chart, the per-step Go
# benchmarks and the million-credential scale check. It needs PostgreSQL on
# 127.0.0.1:5432 for the PostgreSQL scenarios (CONNCRED_TEST_POSTGRES_URL
# overrides the URL; each run uses a fresh schema and drops it).
# About 15 minutes, most of it the 1,000,000-credential prefill.
#
#   bench/run.sh [load] [chart] [steps] [scale]    (default: all four)
set -euo pipefail
parts="${*:-load chart steps scale}"
has() { [[ " $parts " == *" $1 "* ]]; }
# The bench module is bench/; the product's module is its parent.
cd "$(dirname "$0")"
out=results
pg="${CONNCRED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
(cd .. && go build -o "$bin/conncred" ./cmd/conncred)
go build -o "$bin/conncred-bench" ./cmd/conncred-bench
b() { "$bin/conncred-bench" --serve --conncred "$bin/conncred" --json "$@"; }

if has load; then
b --sweep 1,2,4,8,16,32,64 -d 5s --label "SQLite, 1 credential" > "$out/sqlite-sweep.json"
b --sweep 1,2,4,8,16,32,64 -d 5s --db "$pg" --label "PostgreSQL, 1 credential" > "$out/postgres-sweep.json"
b --sweep 1,2,4,8,16,32,64 -d 5s --db "$pg" --nodes 2 --label "PostgreSQL, 2 nodes" > "$out/postgres-2nodes-sweep.json"
b -c 16 -d 10s --creds 10000 --label "SQLite, 10,000 credentials" > "$out/sqlite-10k.json"
b -c 16 -d 10s --creds 10000 --db "$pg" --label "PostgreSQL, 10,000 credentials" > "$out/postgres-10k.json"
b -c 16 -d 10s --http 1.1 --label "SQLite, HTTP/1.1" > "$out/sqlite-http1.json"
b -c 16 -d 10s --http 1.1 --plain --label "SQLite, HTTP/1.1 without TLS" > "$out/sqlite-plain.json"
b -c 16 -d 10s --mode api --creds 100 --label "SQLite, API calls" > "$out/sqlite-api.json"
# The same server, driven by the raw HTTP/1.1 client, which costs the
# machine little more than its signatures.
b --sweep 16,64 -d 8s --http 1.1 --client raw --label "SQLite, raw client" > "$out/sqlite-raw.json"
b --sweep 16,64 -d 8s --http 1.1 --client raw --db "$pg" --label "PostgreSQL, raw client" > "$out/postgres-raw.json"
b --sweep 16,64 -d 8s --http 1.1 --client raw --db "$pg" --nodes 2 --label "PostgreSQL, 2 nodes, raw client" > "$out/postgres-2nodes-raw.json"
b -c 16 -d 10s --http 1.1 --client raw --mode api --creds 100 --label "SQLite, API calls, raw client" > "$out/sqlite-api-raw.json"
b -c 16 -d 10s --mode api --creds 100 --db "$pg" --label "PostgreSQL, API calls" > "$out/postgres-api.json"
fi

# The chart: token exchanges per second and ratio to the ceiling against
# concurrency, the three deployments on one figure.
if has chart; then
"$bin/conncred-bench" --chart-only --chart "$out/sweep.png" \
  --chart-with "$out/sqlite-sweep.json" --chart-with "$out/postgres-sweep.json" --chart-with "$out/postgres-2nodes-sweep.json"
fi

if has steps; then
(cd .. && go test ./authority ./server ./store/sqlite -run '^$' -bench . -benchmem -count 1) > "$out/go-bench.txt"
fi
if has scale; then
"$bin/conncred-bench" --serve --conncred "$bin/conncred" --scale 1000,1000000 > "$out/scale.txt"
fi
