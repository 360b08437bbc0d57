#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md on this machine: the load
# scenarios (JSON reports in bench/results/), the chart, the per-step Go
# benchmarks and the million-credential scale check. It needs PostgreSQL on
# 127.0.0.1:5432 for the PostgreSQL scenarios (CONNCRED_TEST_POSTGRES_URL
# overrides the URL; each run uses a fresh schema and drops it).
# About 15 minutes, most of it the 1,000,000-credential prefill.
#
#   bench/run.sh [load] [chart] [steps] [scale] [hydra]   (default: the first four)
#
# hydra (opt-in, about 5 minutes the first time) builds Ory Hydra from its Go
# module in a scratch directory outside the repository, serves it on
# loopback over TLS on SQLite, and drives its token endpoint with the same
# generator as conncred on SQLite, right after it: results/hydra*.json and
# the side-by-side ratios in results/hydra.txt. It needs the module proxy
# (or a module cache that has Hydra's dependencies), cgo with a C compiler
# (Hydra's SQLite driver), openssl and curl. HYDRA_BIN=path skips the build;
# HYDRA_PUBLIC_PORT and HYDRA_ADMIN_PORT (14444, 14445) move its ports.
set -euo pipefail
parts="${*:-load chart steps scale}"
has() { [[ " $parts " == *" $1 "* ]]; }
# The bench module is bench/; the product's module is its parent.
cd "$(dirname "$0")"
out=results
pg="${CONNCRED_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test?sslmode=disable}"
bin=$(mktemp -d)
hydra_pid=
cleanup() {
  if [ -n "$hydra_pid" ]; then kill "$hydra_pid" 2>/dev/null || true; wait "$hydra_pid" 2>/dev/null || true; fi
  rm -rf "$bin"
}
trap cleanup EXIT
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

# Ory Hydra v2.3.0 beside conncred, same generator, same run. Hydra has no
# EdDSA: its clients authenticate by private_key_jwt with ES256 (what
# conncred-bench --hydra-admin registers and signs). Both serve HTTP/2 over
# TLS with a P-256 certificate on SQLite in WAL mode with synchronous=NORMAL
# and a 10 s busy timeout, the pragmas conncred's SQLite store sets. Hydra's
# "memory" DSN was tried first: at 16 workers it answered 10-15 % of token
# requests with 500 ("The error is unrecognizable"), its shared-cache
# in-memory SQLite reporting locks instead of waiting.
hydra_version=v2.3.0
build_hydra() { # build_hydra DIR: builds Hydra into DIR/hydra
  local dir=$1 src
  # go install refuses a module with replace directives, so the module is
  # downloaded and built in a writable copy of it.
  src=$(cd "$dir" && go mod download -json "github.com/ory/hydra/v2@$hydra_version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
  [ -d "$src" ] || { echo "hydra: go mod download gave no module directory" >&2; return 1; }
  cp -r "$src" "$dir/src"
  chmod -R u+w "$dir/src"
  # Its go.mod replaces hydra-client-go with ./internal/httpclient, a nested
  # module that module zips leave out: build against the published version
  # it requires instead (-mod=mod records that version's checksum).
  (cd "$dir/src" && go mod edit -dropreplace github.com/ory/hydra-client-go/v2 &&
    CGO_ENABLED=1 go build -mod=mod -tags sqlite,sqlite_omit_load_extension \
      -ldflags "-X github.com/ory/hydra/v2/driver/config.Version=$hydra_version" -o "$dir/hydra" .)
}

if has hydra; then
for tool in openssl curl; do
  command -v "$tool" >/dev/null || { echo "hydra: needs $tool" >&2; exit 1; }
done
scratch=$bin/hydra # a temp dir outside the repository, removed on exit
mkdir "$scratch"
hydra="${HYDRA_BIN:-}"
if [ -z "$hydra" ]; then
  echo "building Ory Hydra $hydra_version in $scratch..." >&2
  build_hydra "$scratch"
  hydra=$scratch/hydra
fi
public="${HYDRA_PUBLIC_PORT:-14444}"
admin="${HYDRA_ADMIN_PORT:-14445}"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$scratch/tls-key.pem" -out "$scratch/tls-cert.pem" 2>/dev/null
dsn="sqlite://$scratch/hydra.sqlite?_fk=true&_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000"
DSN=$dsn "$hydra" migrate sql -e --yes > "$scratch/migrate.log" 2>&1 || { cat "$scratch/migrate.log" >&2; exit 1; }
DSN=$dsn SECRETS_SYSTEM=$(openssl rand -hex 16) URLS_SELF_ISSUER="https://127.0.0.1:$public" \
  SERVE_PUBLIC_HOST=127.0.0.1 SERVE_PUBLIC_PORT="$public" SERVE_ADMIN_HOST=127.0.0.1 SERVE_ADMIN_PORT="$admin" \
  SERVE_TLS_ENABLED=true SERVE_TLS_CERT_PATH="$scratch/tls-cert.pem" SERVE_TLS_KEY_PATH="$scratch/tls-key.pem" \
  LOG_LEVEL=warn SQA_OPT_OUT=true "$hydra" serve all --sqa-opt-out > "$scratch/hydra.log" 2>&1 &
hydra_pid=$!
for i in $(seq 60); do
  curl -sf --cacert "$scratch/tls-cert.pem" "https://127.0.0.1:$admin/health/ready" >/dev/null && break
  if ! kill -0 "$hydra_pid" 2>/dev/null || [ "$i" = 60 ]; then
    echo "hydra did not start:" >&2; tail -20 "$scratch/hydra.log" >&2; exit 1
  fi
  sleep 1
done
"$bin/conncred-bench" --target "https://127.0.0.1:$public" --hydra-admin "https://127.0.0.1:$admin" \
  --ca "$scratch/tls-cert.pem" --server-pid "$hydra_pid" --json --sweep 16,64 -d 10s \
  --label "Ory Hydra $hydra_version, SQLite" > "$out/hydra.json"
kill "$hydra_pid"; wait "$hydra_pid" 2>/dev/null || true; hydra_pid=
b --sweep 16,64 -d 10s --label "conncred, SQLite" > "$out/hydra-conncred.json"
"$bin/conncred-bench" --compare "$out/hydra-conncred.json" --compare "$out/hydra.json" | tee "$out/hydra.txt"
fi
