#!/usr/bin/env bash
# Runs/s of register-actor through `host serve`, on SQLite (one host) and on PostgreSQL (1, 2, 3 hosts on one
# database), printed as a Markdown table. Every run takes the REGISTERED path (a fresh email each): three
# nodes, one registry insert, one event append, a durable commit, trace fsync, attestation.
#
#   scripts/bench-stores.sh [RUNS] [CLIENTS]      (defaults: 100 runs, 8 concurrent clients in all)
#
# HOST: the host binary (default target/release/host if built, else target/debug/host; say which you used).
# SEALED_TEST_PG: the PostgreSQL server (default: the one `cargo xtask pg start` started); each cell gets
# a fresh database on it. Needs `cargo xtask build-components` (the snapshot's components).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${1:-100}
CLIENTS=${2:-8}
if [[ -z "${HOST:-}" ]]; then
  if [[ -x target/release/host ]]; then HOST=target/release/host; else HOST=target/debug/host; fi
fi
PG=${SEALED_TEST_PG:-$(cat target/pg-test/url 2>/dev/null || true)}
[[ -n "$PG" ]] || { echo "no PostgreSQL: run \`cargo xtask pg start\` or set SEALED_TEST_PG" >&2; exit 2; }
SNAP=snapshots/register-actor/sealed
TRUST=snapshots/trust.json
WORK=$(mktemp -d)
CACHE=target/tmp/bench-stores-cache
mkdir -p "$CACHE"
PIDS=()
cleanup() { for p in "${PIDS[@]:-}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$WORK"; }
trap cleanup EXIT

# The admin URL's database replaced by $1.
db_url() { python3 -c 'import sys,re; u=sys.argv[1]; b,q=(u.split("?",1)+[""])[:2]; i=b.find("://")+3; j=b.find("/",i); j=len(b) if j<0 else j; print(b[:j]+"/"+sys.argv[2]+("?"+q if q else ""))' "$PG" "$1"; }
psql_admin() { psql -X -q "$PG" -c "$1"; }

start_host() { # data-root store: starts a host, sets PORT
  local log="$1.log"
  "$HOST" serve --snapshot "$SNAP" --trust "$TRUST" --data-root "$1" --store "$2" --cache-dir "$CACHE" \
      --listen 127.0.0.1:0 --queue 256 >"$log" 2>"$1.err" &
  PIDS+=($!)
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$log" 2>/dev/null; then PORT=$(grep -o "127.0.0.1:[0-9]*" "$log" | head -1 | cut -d: -f2); return; fi
    sleep 0.2
  done
  echo "host did not start: $(cat "$1.err")" >&2; exit 1
}

cell() { # label slug hosts store-kind
  local label=$1 name=$2 hosts=$3 kind=$4 store ports=() i
  if [[ $kind == postgres ]]; then
    local db="sealed_bench_$$_${hosts}_$RANDOM"
    psql_admin "CREATE DATABASE $db"
    store=$(db_url "$db")
  else
    store=data-root
  fi
  for i in $(seq 1 "$hosts"); do start_host "$WORK/$name-$i" "$store"; ports+=("$PORT"); done
  # Warm-up: one run per host (compiled-component cache, connections).
  for p in "${ports[@]}"; do
    curl -sf -o /dev/null -X POST --data "{\"actor\":{\"email\":\"warm-$p-$name@example.org\",\"first_name\":\"A\",\"last_name\":\"B\"}}" \
      "http://127.0.0.1:$p/v1/runs/register-actor/register_actor"
  done
  local list="$WORK/$name.reqs"
  : >"$list"
  for i in $(seq 1 "$RUNS"); do echo "${ports[$(( i % hosts ))]} $name-$i" >>"$list"; done
  local t0 t1 fails
  t0=$(date +%s.%N)
  fails=$(xargs -P "$CLIENTS" -L 1 sh -c 'curl -s -o /dev/null -w "%{http_code}\n" -X POST --data "{\"actor\":{\"email\":\"$1@example.org\",\"first_name\":\"A\",\"last_name\":\"B\"}}" "http://127.0.0.1:$0/v1/runs/register-actor/register_actor"' <"$list" | grep -vc '^200$' || true)
  t1=$(date +%s.%N)
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  PIDS=()
  [[ $kind == postgres ]] && psql_admin "DROP DATABASE $db WITH (FORCE)"
  python3 -c "import sys; n,s,f=int(sys.argv[1]),float(sys.argv[3])-float(sys.argv[2]),int(sys.argv[4]); print(f'| {sys.argv[5]} | {n} | {s:.2f} | {n/s:.1f} | {f} |')" "$RUNS" "$t0" "$t1" "$fails" "$label"
}

echo "host binary: $HOST; $RUNS registrations per cell, $CLIENTS concurrent clients in all; $(nproc) CPUs"
echo
echo "| store, hosts | runs | seconds | runs/s | non-200 |"
echo "|---|---|---|---|---|"
cell "SQLite, 1 host" sqlite1 1 sqlite
cell "PostgreSQL, 1 host" pg1 1 postgres
cell "PostgreSQL, 2 hosts" pg2 2 postgres
cell "PostgreSQL, 3 hosts" pg3 3 postgres
