#!/usr/bin/env bash
# Candor vs node oidc-provider: client_credentials token issuance throughput, in one run on one
# machine. See bench/README.md. Writes bench/RESULTS.md (overwritten) and keeps logs, configs
# and raw wrk output in bench/out/ (git-ignored). Never part of `cargo test`.
#
# Settings (environment):
#   BENCH_THREADS      wrk threads               (default 1)
#   BENCH_CONNECTIONS  wrk connections           (default 16)
#   BENCH_DURATION     measured seconds / round  (default 10)
#   BENCH_WARMUP       warm-up seconds / round   (default 3)
#   BENCH_PG_URL       PostgreSQL server URL without a database name
#                      (default postgres://postgres@127.0.0.1:5432); a fresh database is
#                      created for each PostgreSQL round and dropped at exit.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT="$BENCH_DIR/out"
RESULTS="$BENCH_DIR/RESULTS.md"

THREADS=${BENCH_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
ALGS=(ES256 RS256)

for n in "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "[bench] BENCH_* settings must be positive integers (got '$n')" >&2; exit 2; }
done

log() { printf '[bench] %s\n' "$*" >&2; }
die() { printf '[bench] FAIL: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Cleanup: every server this script starts and every database it creates.
PIDS=()
DATABASES=()
cleanup() {
  local status=$?
  trap - EXIT
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for db in "${DATABASES[@]}"; do
    psql "$PG_URL/postgres" -qAtc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 \
      || log "could not drop database $db"
  done
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
# Prerequisites.
APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null || die "need $* but apt-get is not available; install it by hand"
  if [[ $APT_UPDATED == 0 ]]; then
    log "apt-get update"
    apt-get update -qq >/dev/null || die "apt-get update failed (are you root?)"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}
command -v wrk >/dev/null || apt_install wrk
command -v curl >/dev/null || apt_install curl
command -v psql >/dev/null || apt_install postgresql-client
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
command -v cargo >/dev/null || die "cargo is not on PATH"

if ! psql "$PG_URL/postgres" -qAtc 'select 1' >/dev/null 2>&1; then
  if [[ -x /etc/init.d/postgresql ]]; then
    log "PostgreSQL not reachable at $PG_URL; trying to start the local service"
    /etc/init.d/postgresql start >/dev/null 2>&1 || true
    sleep 2
  fi
  psql "$PG_URL/postgres" -qAtc 'select 1' >/dev/null 2>&1 \
    || die "PostgreSQL is not reachable at $PG_URL (set BENCH_PG_URL)"
fi

rm -rf "$OUT"
mkdir -p "$OUT"

log "npm ci in bench/node"
(cd "$BENCH_DIR/node" && npm ci --no-audit --no-fund --loglevel=error >"$OUT/npm-ci.log" 2>&1) \
  || { cat "$OUT/npm-ci.log" >&2; die "npm ci failed"; }

log "cargo build --release (waits if another build holds the lock)"
(cd "$ROOT" && cargo build --release) 2>"$OUT/cargo-build.log" \
  || { tail -30 "$OUT/cargo-build.log" >&2; die "cargo build --release failed"; }
CANDOR="${CARGO_TARGET_DIR:-$ROOT/target}/release/candor"
[[ -x $CANDOR ]] || die "no binary at $CANDOR"

# ---------------------------------------------------------------------------------------------
# Helpers.
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# basic_credentials ID SECRET -> base64(urlencode(id):urlencode(secret)) (RFC 6749 §2.3.1)
basic_credentials() {
  node -e 'const [i,s]=process.argv.slice(1);
    const e=v=>encodeURIComponent(v).replace(/%20/g,"+");
    console.log(Buffer.from(e(i)+":"+e(s)).toString("base64"))' "$1" "$2"
}

# wait_ready URL PID LOG: polls URL until it answers 200, failing if the process dies.
wait_ready() {
  local url=$1 pid=$2 logfile=$3 i
  for i in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -30 "$logfile" >&2
      die "server (pid $pid) exited before it was ready; log: $logfile"
    fi
    if [[ $(curl -s -o /dev/null -w '%{http_code}' "$url" || true) == 200 ]]; then
      return 0
    fi
    sleep 0.1
  done
  tail -30 "$logfile" >&2
  die "server (pid $pid) not ready at $url after 30 s; log: $logfile"
}

stop_server() {
  local pid=$1 keep=() p
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# verify NAME BASE_URL BASIC ALG: one token request must answer 200 with a JWT access token
# signed with ALG; fails the whole run otherwise.
verify() {
  local name=$1 base=$2 basic=$3 alg=$4 body="$OUT/verify-$1.json" code
  code=$(curl -sS -o "$body" -w '%{http_code}' -X POST "$base/token" \
    -H "Authorization: Basic $basic" \
    -H 'Content-Type: application/x-www-form-urlencoded' \
    -H 'Accept: application/json' \
    --data 'grant_type=client_credentials&scope=read') || die "$name: token request failed to connect"
  [[ $code == 200 ]] || { cat "$body" >&2; echo >&2; die "$name: token request answered $code, not 200"; }
  node -e '
    const fs=require("fs"); const [file,alg,name]=process.argv.slice(1);
    let r; try { r=JSON.parse(fs.readFileSync(file,"utf8")); } catch(e) { console.error(name+": response is not JSON"); process.exit(1); }
    if (typeof r.access_token!=="string" || !r.access_token) { console.error(name+": no access_token in "+JSON.stringify(r)); process.exit(1); }
    const parts=r.access_token.split(".");
    if (parts.length!==3) { console.error(name+": access_token is not a JWS"); process.exit(1); }
    const h=JSON.parse(Buffer.from(parts[0],"base64url")); const c=JSON.parse(Buffer.from(parts[1],"base64url"));
    if (h.alg!==alg) { console.error(name+": access_token alg is "+h.alg+", expected "+alg); process.exit(1); }
    if (c.scope!=="read") { console.error(name+": access_token scope is "+c.scope+", expected read"); process.exit(1); }
    console.log(JSON.stringify({header:h, claims:Object.keys(c).sort(), token_type:r.token_type, length:r.access_token.length}));
  ' "$body" "$alg" "$name" >"$OUT/verify-$name.txt" || die "$name: token response check failed"
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# total and idle jiffies of the whole machine
machine_ticks() { awk '/^cpu /{idle=$5+$6; t=0; for(i=2;i<=NF;i++) t+=$i; print t, idle}' /proc/stat; }

WRK_CMD_TEMPLATE="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/token.lua http://127.0.0.1:PORT/token"
CLK_TCK=$(getconf CLK_TCK)
declare -A RPS NON2XX SOCKERR P50 P99 REQS SRV_CPU MACHINE_BUSY PER_CPU TOKEN_LEN

# measure NAME PORT BASIC ALG PID
measure() {
  local name=$1 port=$2 basic=$3 alg=$4 pid=$5
  local url="http://127.0.0.1:$port/token" base="http://127.0.0.1:$port"
  verify "$name" "$base" "$basic" "$alg"
  log "$name: warm-up ${WARMUP}s"
  BENCH_BASIC=$basic wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH_DIR/token.lua" "$url" \
    >"$OUT/warmup-$name.txt" 2>&1 || die "$name: wrk warm-up failed"
  verify "$name" "$base" "$basic" "$alg"
  log "$name: measuring ${DURATION}s"
  local c0 c1 m0 m1 top_pid
  c0=$(cpu_ticks "$pid"); m0=$(machine_ticks)
  (sleep $(( (DURATION + 1) / 2 )); top -b -H -d 1 -n 2 -p "$pid" >"$OUT/top-$name.txt" 2>&1 || true) &
  top_pid=$!
  BENCH_BASIC=$basic wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$BENCH_DIR/token.lua" "$url" \
    >"$OUT/wrk-$name.txt" 2>&1 || { cat "$OUT/wrk-$name.txt" >&2; die "$name: wrk failed"; }
  c1=$(cpu_ticks "$pid"); m1=$(machine_ticks)
  wait "$top_pid" 2>/dev/null || true

  local line
  line=$(grep '^BENCH_RESULT ' "$OUT/wrk-$name.txt") || die "$name: no BENCH_RESULT line in wrk output"
  local -A r=()
  local kv
  for kv in ${line#BENCH_RESULT }; do r[${kv%%=*}]=${kv#*=}; done
  (( r[requests] > 0 )) || die "$name: wrk completed no requests"
  REQS[$name]=${r[requests]}
  RPS[$name]=$(awk -v n="${r[requests]}" -v us="${r[duration_us]}" 'BEGIN{printf "%.0f", n/(us/1e6)}')
  NON2XX[$name]=${r[status_errors]}
  SOCKERR[$name]=$(( r[connect_errors] + r[read_errors] + r[write_errors] + r[timeouts] ))
  P50[$name]=$(awk -v v="${r[lat_p50_us]}" 'BEGIN{printf "%.2f", v/1000}')
  P99[$name]=$(awk -v v="${r[lat_p99_us]}" 'BEGIN{printf "%.2f", v/1000}')
  # server CPU in % of one core over the measured interval; machine busy in % of all cores
  SRV_CPU[$name]=$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v us="${r[duration_us]}" 'BEGIN{printf "%.0f", 100*d/hz/(us/1e6)}')
  PER_CPU[$name]=$(awk -v n="${r[requests]}" -v d="$((c1 - c0))" -v hz="$CLK_TCK" 'BEGIN{ if (d>0) printf "%.0f", n/(d/hz); else print "n/a"}')
  MACHINE_BUSY[$name]=$(awk -v a="$m0" -v b="$m1" 'BEGIN{split(a,x," "); split(b,y," "); t=y[1]-x[1]; i=y[2]-x[2]; printf "%.0f", 100*(t-i)/t}')
  TOKEN_LEN[$name]=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).length)' "$OUT/verify-$name.txt")
  log "$name: ${RPS[$name]} req/s, non-2xx ${NON2XX[$name]}, socket errors ${SOCKERR[$name]}, server CPU ${SRV_CPU[$name]}%"
}

# run_candor BACKEND ALG
run_candor() {
  local backend=$1 alg=$2 name="candor-$1-$2"
  local dir="$OUT/$name" port url db
  mkdir -p "$dir"
  port=$(free_port)
  if [[ $backend == sqlite ]]; then
    url="sqlite://$dir/candor.db"
  else
    db="candor_bench_$$_${alg,,}"
    psql "$PG_URL/postgres" -qAtc "CREATE DATABASE \"$db\"" >/dev/null || die "cannot create database $db"
    DATABASES+=("$db")
    url="$PG_URL/$db"
  fi
  cat >"$dir/candor.toml" <<EOF
[server]
issuer = "http://127.0.0.1:$port"
listen = "127.0.0.1:$port"
[storage]
url = "$url"
[tokens]
access_token_alg = "$alg"
EOF
  log "$name: starting on port $port"
  "$CANDOR" serve --config "$dir/candor.toml" --data "$dir" >"$dir/server.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_ready "http://127.0.0.1:$port/healthz" "$pid" "$dir/server.log"
  "$CANDOR" client create --name bench --scope read --config "$dir/candor.toml" --data "$dir" \
    >"$dir/client.json" 2>"$dir/client.log" || { cat "$dir/client.log" >&2; die "$name: client create failed"; }
  local id secret
  id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).client_id)' "$dir/client.json")
  secret=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).client_secret)' "$dir/client.json")
  measure "$name" "$port" "$(basic_credentials "$id" "$secret")" "$alg" "$pid"
  stop_server "$pid"
}

# run_node ALG
run_node() {
  local alg=$1 name="oidc-provider-$1"
  local dir="$OUT/$name" port secret
  mkdir -p "$dir"
  port=$(free_port)
  secret=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))')
  log "$name: starting on port $port"
  NODE_ENV=production PORT=$port ALG=$alg CLIENT_ID=bench CLIENT_SECRET=$secret \
    node "$BENCH_DIR/node/server.mjs" >"$dir/server.log" 2>&1 &
  local pid=$!
  PIDS+=("$pid")
  wait_ready "http://127.0.0.1:$port/.well-known/openid-configuration" "$pid" "$dir/server.log"
  measure "$name" "$port" "$(basic_credentials bench "$secret")" "$alg" "$pid"
  stop_server "$pid"
}

# ---------------------------------------------------------------------------------------------
# The rounds: for each algorithm, Candor on SQLite, Candor on PostgreSQL, oidc-provider. Each
# round starts its server fresh and stops it before the next one starts.
STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for alg in "${ALGS[@]}"; do
  run_candor sqlite "$alg"
  run_candor postgres "$alg"
  run_node "$alg"
done
FINISHED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# ---------------------------------------------------------------------------------------------
# RESULTS.md
CPU_MODEL=$( (lscpu 2>/dev/null | awk -F: '/^Model name/{sub(/^ +/,"",$2); print $2; exit}') || true)
[[ -n $CPU_MODEL ]] || CPU_MODEL=$(awk -F: '/^model name/{sub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
OS=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)
GIT_REV=$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ -n $(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null) ]]; then GIT_REV="$GIT_REV (with uncommitted changes)"; fi
CANDOR_VERSION=$("$CANDOR" --version)
RUSTC_VERSION=$(rustc --version 2>/dev/null || echo unknown)
WRK_VERSION=$(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')
NODE_VERSION=$(node --version)
OP_VERSION=$(node -p 'require(process.argv[1]).version' "$BENCH_DIR/node/node_modules/oidc-provider/package.json")
JOSE_VERSION=$(node -p 'require(process.argv[1]).version' "$BENCH_DIR/node/node_modules/jose/package.json")
PG_VERSION=$(psql "$PG_URL/postgres" -qAtc 'show server_version')
SQLITE_CRATE=$(awk '/^name = "libsqlite3-sys"/{getline; gsub(/[^0-9.]/,""); print; exit}' "$ROOT/Cargo.lock")

ratio() { awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'; }
meets() { awk -v r="$1" 'BEGIN{ print (r+0 >= 10) ? "yes" : "no" }'; }

INVALID=()
for name in "${!RPS[@]}"; do
  if (( NON2XX[$name] > 0 || SOCKERR[$name] > 0 )); then INVALID+=("$name"); fi
done

{
  echo "# Benchmark: client_credentials token issuance, Candor vs node oidc-provider"
  echo
  echo "Generated by \`bench/run.sh\`; overwritten on every run. Run started $STARTED, finished $FINISHED."
  echo
  if (( ${#INVALID[@]} > 0 )); then
    echo "**WARNING: rounds with non-2xx responses or socket errors: ${INVALID[*]}. Their numbers are not valid.**"
    echo
  fi
  echo "## Ratios (Candor req/s ÷ oidc-provider req/s)"
  echo
  echo "| algorithm | Candor SQLite / oidc-provider | Candor PostgreSQL / oidc-provider | goal ≥ 10× met (SQLite / PostgreSQL) |"
  echo "|---|---:|---:|---|"
  for alg in "${ALGS[@]}"; do
    rs=$(ratio "candor-sqlite-$alg" "oidc-provider-$alg")
    rp=$(ratio "candor-postgres-$alg" "oidc-provider-$alg")
    echo "| $alg | ${rs}× | ${rp}× | $(meets "$rs") / $(meets "$rp") |"
  done
  echo
  echo "## Raw numbers"
  echo
  echo "| target | alg | requests | req/s | non-2xx | socket errors | p50 ms | p99 ms | server CPU (% of one core) | machine busy (% of all cores) | req per server CPU-second | token length |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for alg in "${ALGS[@]}"; do
    for target in candor-sqlite candor-postgres oidc-provider; do
      n="$target-$alg"
      echo "| $target | $alg | ${REQS[$n]} | ${RPS[$n]} | ${NON2XX[$n]} | ${SOCKERR[$n]} | ${P50[$n]} | ${P99[$n]} | ${SRV_CPU[$n]} | ${MACHINE_BUSY[$n]} | ${PER_CPU[$n]} | ${TOKEN_LEN[$n]} |"
    done
  done
  echo
  echo "- req/s = completed requests ÷ measured duration (wrk's own \"Requests/sec\")."
  echo "- non-2xx = wrk's count of responses with status ≥ 400; socket errors = connect + read + write errors + timeouts."
  echo "- server CPU = user+system time of the server process during the measured interval (/proc/PID/stat), in % of one core; 200 % = both cores."
  echo "- machine busy = all non-idle CPU time on the machine during the interval (/proc/stat), in % of all cores; the rest of it is mostly wrk."
  echo "- req per server CPU-second = requests ÷ server CPU seconds: throughput per unit of server CPU, less sensitive to the load generator sharing the cores."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $CPU_MODEL, \`nproc\` = $(nproc)"
  echo "- Memory: $MEM; OS: $OS; kernel $(uname -r)"
  echo "- Load average before the run: $LOAD_BEFORE"
  echo "- **The load generator (wrk) runs on the same $(nproc)-core machine and competes with the server for CPU.** Its settings are identical for every target, so the comparison is fair in that sense, but absolute numbers are lower than on a machine where client and server have their own cores. node oidc-provider runs its request handling on one thread; Candor (tokio) uses every core, which here it shares with wrk."
  echo
  echo "## Software"
  echo
  echo "- Candor: $CANDOR_VERSION, git $GIT_REV, built with \`cargo build --release\` ($RUSTC_VERSION)"
  echo "- Candor storage: SQLite via sqlx (libsqlite3-sys $SQLITE_CRATE, bundled) in WAL mode; PostgreSQL $PG_VERSION on 127.0.0.1 (a fresh database per round, dropped afterwards)"
  echo "- node $NODE_VERSION, oidc-provider $OP_VERSION (jose $JOSE_VERSION), pinned in bench/node/package-lock.json, \`NODE_ENV=production\`, in-memory adapter (JWT access tokens are not stored by oidc-provider)"
  echo "- Load generator: $WRK_VERSION"
  echo
  echo "## What each round does"
  echo
  echo "Every round: start the server on a free loopback port, register one confidential client with scope \`read\` (client_secret_basic), check that one token request answers 200 with a JWT access token signed with the round's algorithm and scope \`read\` (the run fails otherwise), warm up ${WARMUP} s with the same wrk settings, check again, measure ${DURATION} s, stop the server. Rounds run one after the other, never two servers at once."
  echo
  echo "The request, identical for every target (bench/token.lua):"
  echo
  echo '```'
  echo "POST /token"
  echo "Authorization: Basic base64(client_id:client_secret)"
  echo "Content-Type: application/x-www-form-urlencoded"
  echo
  echo "grant_type=client_credentials&scope=read"
  echo '```'
  echo
  echo "Both servers answer with an RFC 9068 JWT access token (\`typ: at+jwt\`), 1 h lifetime, one signing key of the round's algorithm: P-256 for ES256, RSA 2048 for RS256. Candor looks the client up in its database on every request (SHA-256 digest of the secret, constant-time compare); oidc-provider holds its one static client in memory. Neither writes anything per JWT token."
  echo
  echo "## Exact commands"
  echo
  echo '```sh'
  echo "bash bench/run.sh    # BENCH_THREADS=$THREADS BENCH_CONNECTIONS=$CONNECTIONS BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP"
  echo
  echo "# Candor (per backend and algorithm; candor.toml below)"
  echo "target/release/candor serve --config bench/out/NAME/candor.toml --data bench/out/NAME"
  echo "target/release/candor client create --name bench --scope read --config bench/out/NAME/candor.toml --data bench/out/NAME"
  echo
  echo "# oidc-provider"
  echo "NODE_ENV=production PORT=PORT ALG=ES256|RS256 CLIENT_ID=bench CLIENT_SECRET=RANDOM node bench/node/server.mjs"
  echo
  echo "# load, per round (BENCH_BASIC = base64 of client_id:client_secret)"
  echo "BENCH_BASIC=... wrk -t$THREADS -c$CONNECTIONS -d${WARMUP}s -s bench/token.lua http://127.0.0.1:PORT/token    # warm-up"
  echo "BENCH_BASIC=... $WRK_CMD_TEMPLATE    # measured"
  echo '```'
  echo
  echo "Candor configuration (PostgreSQL rounds use \`url = \"$PG_URL/candor_bench_<pid>_<alg>\"\`):"
  echo
  echo '```toml'
  sed -e "s#$OUT#bench/out#g" "$OUT/candor-sqlite-ES256/candor.toml"
  echo '```'
  echo
  echo "## Raw wrk output"
  for alg in "${ALGS[@]}"; do
    for target in candor-sqlite candor-postgres oidc-provider; do
      n="$target-$alg"
      echo
      echo "### $n"
      echo
      echo '```'
      sed -e 's/[[:space:]]*$//' "$OUT/wrk-$n.txt"
      echo '```'
    done
  done
} >"$RESULTS"

log "wrote $RESULTS"
for alg in "${ALGS[@]}"; do
  log "$alg: Candor SQLite / oidc-provider = $(ratio "candor-sqlite-$alg" "oidc-provider-$alg")x, Candor PostgreSQL / oidc-provider = $(ratio "candor-postgres-$alg" "oidc-provider-$alg")x"
done
if (( ${#INVALID[@]} > 0 )); then
  die "rounds with non-2xx responses or socket errors: ${INVALID[*]} (see $RESULTS)"
fi
