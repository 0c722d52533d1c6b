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
#   BENCH_REPEAT       measured runs / round     (default 3; the median is reported)
#   BENCH_MAX_OTHER    a run during which other processes (anything but the server and wrk,
#                      including kernel network work) used more than this % of one core is
#                      discarded and measured again (default 33)
#   BENCH_RETRIES      at most this many discarded runs per round (default 6); after that
#                      noisy runs are kept and flagged in RESULTS.md
#   BENCH_GIT_REV      build and measure this commit (a clean export of it) instead of the
#                      working tree, e.g. BENCH_GIT_REV=HEAD
#   BENCH_PG_URL       PostgreSQL server URL without a database name
#                      (default postgres://postgres@127.0.0.1:5432); a fresh database is
#                      created for each PostgreSQL round and dropped at exit.
set -Eeuo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT="$BENCH_DIR/out"
RESULTS="$BENCH_DIR/RESULTS.md"

THREADS=${BENCH_THREADS:-1}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
DURATION=${BENCH_DURATION:-10}
WARMUP=${BENCH_WARMUP:-3}
REPEAT=${BENCH_REPEAT:-3}
MAX_OTHER=${BENCH_MAX_OTHER:-33}
RETRIES=${BENCH_RETRIES:-6}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432}
ALGS=(ES256 RS256)

for n in "$THREADS" "$CONNECTIONS" "$DURATION" "$WARMUP" "$REPEAT"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] || { echo "[bench] BENCH_THREADS/CONNECTIONS/DURATION/WARMUP/REPEAT must be positive integers (got '$n')" >&2; exit 2; }
done
for n in "$MAX_OTHER" "$RETRIES"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "[bench] BENCH_MAX_OTHER/RETRIES must be integers >= 0 (got '$n')" >&2; exit 2; }
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
trap 'log "FAIL: command failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
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

if [[ -n ${BENCH_GIT_REV:-} ]]; then
  # Benchmark a commit, not the working tree: build a clean export of it (kept under target/,
  # which git ignores, so a re-run reuses the build).
  REV_FULL=$(git -C "$ROOT" rev-parse --verify "${BENCH_GIT_REV}^{commit}") \
    || die "BENCH_GIT_REV=$BENCH_GIT_REV is not a commit"
  SRC="$ROOT/target/bench-src/$REV_FULL"
  if [[ ! -f $SRC/Cargo.toml ]]; then
    rm -rf "$SRC" && mkdir -p "$SRC"
    git -C "$ROOT" archive "$REV_FULL" | tar -x -C "$SRC"
  fi
  BUILD_TARGET="$ROOT/target/bench-build"
  log "cargo build --release of commit ${REV_FULL:0:7} in $SRC (waits if another build holds the lock)"
  (cd "$SRC" && CARGO_TARGET_DIR="$BUILD_TARGET" cargo build --release) 2>"$OUT/cargo-build.log" \
    || { tail -30 "$OUT/cargo-build.log" >&2; die "cargo build --release failed"; }
  CANDOR="$BUILD_TARGET/release/candor"
  GIT_REV="${REV_FULL:0:7} (BENCH_GIT_REV=$BENCH_GIT_REV, built from a clean export of the commit)"
else
  log "cargo build --release (waits if another build holds the lock)"
  (cd "$ROOT" && cargo build --release) 2>"$OUT/cargo-build.log" \
    || { tail -30 "$OUT/cargo-build.log" >&2; die "cargo build --release failed"; }
  CANDOR="${CARGO_TARGET_DIR:-$ROOT/target}/release/candor"
  GIT_REV=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
  if [[ -n $(git -C "$ROOT" status --porcelain --untracked-files=no -- crates Cargo.toml Cargo.lock 2>/dev/null) ]]; then
    GIT_REV="$GIT_REV + uncommitted changes in the working tree"
  fi
fi
[[ -x $CANDOR ]] || die "no binary at $CANDOR"
# A private copy, so that a concurrent build cannot replace the binary between rounds.
cp "$CANDOR" "$OUT/candor"
CANDOR="$OUT/candor"

# ---------------------------------------------------------------------------------------------
# Helpers.
free_port() {
  node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# basic_credentials ID SECRET -> base64(urlencode(id):urlencode(secret)) (RFC 6749 §2.3.1)
basic_credentials() {
  node -e 'const [i,s]=process.argv.slice(1);
    const e=v=>encodeURIComponent(v).replace(/%20/g,"+");
    console.log(Buffer.from(e(i)+":"+e(s)).toString("base64"))' -- "$1" "$2"
}

# wait_ready URL PID LOG: polls URL until it answers 200; fails the run if the process dies,
# returns 1 (after writing what the process was doing to LOG) if it is not ready within 30 s.
wait_ready() {
  local url=$1 pid=$2 logfile=$3 i
  for i in $(seq 1 300); do
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -30 "$logfile" >&2
      die "server (pid $pid) exited before it was ready; log: $logfile"
    fi
    if [[ $(curl -s --max-time 2 -o /dev/null -w '%{http_code}' "$url" || true) == 200 ]]; then
      return 0
    fi
    sleep 0.1
  done
  {
    echo "--- bench/run.sh: not ready at $url after 30 s; process state:"
    grep -E '^(State|Threads)' "/proc/$pid/status" 2>/dev/null || true
    for t in /proc/"$pid"/task/*; do
      echo "thread ${t##*/} $(cat "$t/comm" 2>/dev/null) state $(awk '{print $3}' "$t/stat" 2>/dev/null) wchan $(cat "$t/wchan" 2>/dev/null)"
    done
  } >>"$logfile" 2>&1
  return 1
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
# per-thread "tid ticks comm" of a process
thread_ticks() {
  local t
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s\n' "${t##*/}" "$(awk '{print $14 + $15}' "$t/stat" 2>/dev/null || echo 0)" "$(cat "$t/comm" 2>/dev/null || echo '?')"
  done
}
# user+system seconds of this shell's finished children, from bash's `times` (second line)
children_seconds() {
  awk 'NR==2{t=0; for(i=1;i<=2;i++){split($i,a,/[ms]/); t+=a[1]*60+a[2]} printf "%.3f", t}' "$1"
}

WRK_CMD_TEMPLATE="wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s --latency -s bench/token.lua http://127.0.0.1:PORT/token"
CLK_TCK=$(getconf CLK_TCK)
declare -A RPS NON2XX SOCKERR P50 P99 REQS SRV_CPU WRK_CPU OTHER_CPU PER_CPU TOKEN_LEN ALL_RPS MEDIAN_REP DISCARDED

# measure NAME PORT BASIC ALG PID: warm-up, then BENCH_REPEAT measured runs; the run with the
# median req/s is reported, every run's req/s is kept.
measure() {
  local name=$1 port=$2 basic=$3 alg=$4 pid=$5
  local url="http://127.0.0.1:$port/token" base="http://127.0.0.1:$port"
  verify "$name" "$base" "$basic" "$alg"
  log "$name: warm-up ${WARMUP}s"
  BENCH_BASIC=$basic wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH_DIR/token.lua" "$url" \
    >"$OUT/warmup-$name.txt" 2>&1 || die "$name: wrk warm-up failed"

  local rep=0 line kv c0 c1 m0 m1 w0 w1 rows=() non2xx=0 sockerr=0 discarded=()
  while (( ${#rows[@]} < REPEAT )); do
    rep=$((rep + 1))
    verify "$name" "$base" "$basic" "$alg"
    local tag="$name.$rep"
    log "$tag: measuring ${DURATION}s"
    thread_ticks "$pid" >"$OUT/threads-$tag.before"
    c0=$(cpu_ticks "$pid"); m0=$(machine_ticks)
    times >"$OUT/.times0"
    BENCH_BASIC=$basic wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$BENCH_DIR/token.lua" "$url" \
      >"$OUT/wrk-$tag.txt" 2>&1 || { cat "$OUT/wrk-$tag.txt" >&2; die "$tag: wrk failed"; }
    times >"$OUT/.times1"
    c1=$(cpu_ticks "$pid"); m1=$(machine_ticks)
    thread_ticks "$pid" >"$OUT/threads-$tag.after"
    w0=$(children_seconds "$OUT/.times0"); w1=$(children_seconds "$OUT/.times1")

    line=$(grep '^BENCH_RESULT ' "$OUT/wrk-$tag.txt") || die "$tag: no BENCH_RESULT line in wrk output"
    local -A r=()
    for kv in ${line#BENCH_RESULT }; do r[${kv%%=*}]=${kv#*=}; done
    (( r[requests] > 0 )) || die "$tag: wrk completed no requests"
    local secs rps srv wrkc other
    secs=$(awk -v us="${r[duration_us]}" 'BEGIN{printf "%.6f", us/1e6}')
    rps=$(awk -v n="${r[requests]}" -v s="$secs" 'BEGIN{printf "%.0f", n/s}')
    # CPU in % of one core over the measured interval (200 % = both cores of this machine)
    srv=$(awk -v d="$((c1 - c0))" -v hz="$CLK_TCK" -v s="$secs" 'BEGIN{printf "%.0f", 100*d/hz/s}')
    wrkc=$(awk -v a="$w0" -v b="$w1" -v s="$secs" 'BEGIN{printf "%.0f", 100*(b-a)/s}')
    other=$(awk -v a="$m0" -v b="$m1" -v hz="$CLK_TCK" -v s="$secs" -v srv="$srv" -v w="$wrkc" \
      'BEGIN{split(a,x," "); split(b,y," "); busy=(y[1]-x[1])-(y[2]-x[2]); o=100*busy/hz/s - srv - w; printf "%.0f", (o < 0 ? 0 : o)}')
    non2xx=$(( non2xx + r[status_errors] ))
    sockerr=$(( sockerr + r[connect_errors] + r[read_errors] + r[write_errors] + r[timeouts] ))
    # per-thread CPU of the server during this run
    awk -v hz="$CLK_TCK" -v s="$secs" 'NR==FNR{b[$1]=$2; next} {d=$2-b[$1]; if (d>0) printf "%-20s tid %-8s %5.0f %%\n", $3, $1, 100*d/hz/s}' \
      "$OUT/threads-$tag.before" "$OUT/threads-$tag.after" | sort -k4 -rn >"$OUT/threads-$tag.txt"
    log "$tag: $rps req/s, non-2xx ${r[status_errors]}, server CPU $srv %, wrk CPU $wrkc %, other $other % (of one core)"
    if (( other > MAX_OTHER && ${#discarded[@]} < RETRIES )); then
      # Something else used the machine during this run: discard it and measure again.
      discarded+=("$rps (run $rep, other $other %)")
      log "$tag: discarded, other processes used $other % > $MAX_OTHER % of a core; measuring again in 5 s"
      sleep 5
      continue
    fi
    rows+=("$rps ${r[requests]} ${r[lat_p50_us]} ${r[lat_p99_us]} $srv $wrkc $other $((c1 - c0)) $rep")
  done
  DISCARDED[$name]=$(IFS=';'; echo "${discarded[*]:-}" | sed 's/;/; /g')

  local median _ticks
  median=$(printf '%s\n' "${rows[@]}" | sort -n -k1,1 | sed -n "$(( (REPEAT + 1) / 2 ))p")
  read -r RPS[$name] REQS[$name] P50[$name] P99[$name] SRV_CPU[$name] WRK_CPU[$name] OTHER_CPU[$name] _ticks MEDIAN_REP[$name] <<<"$median"
  P50[$name]=$(awk -v v="${P50[$name]}" 'BEGIN{printf "%.2f", v/1000}')
  P99[$name]=$(awk -v v="${P99[$name]}" 'BEGIN{printf "%.2f", v/1000}')
  PER_CPU[$name]=$(awk -v n="${REQS[$name]}" -v d="$_ticks" -v hz="$CLK_TCK" 'BEGIN{ if (d>0) printf "%.0f", n/(d/hz); else print "n/a"}')
  ALL_RPS[$name]=$(printf '%s\n' "${rows[@]}" | awk '{print $1}' | paste -sd' ' - | sed 's/ /, /g')
  NON2XX[$name]=$non2xx
  SOCKERR[$name]=$sockerr
  TOKEN_LEN[$name]=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).length)' "$OUT/verify-$name.txt")
  log "$name: median ${RPS[$name]} req/s (runs: ${ALL_RPS[$name]})"
}

# run_candor BACKEND ALG
run_candor() {
  local backend=$1 alg=$2 name="candor-$1-$2"
  local dir="$OUT/$name" port url db
  mkdir -p "$dir"
  if [[ $backend == sqlite ]]; then
    url="sqlite://$dir/candor.db"
  else
    db="candor_bench_$$_${alg,,}"
    psql "$PG_URL/postgres" -qAtc "CREATE DATABASE \"$db\"" >/dev/null || die "cannot create database $db"
    DATABASES+=("$db")
    url="$PG_URL/$db"
  fi
  local pid attempt
  for attempt in 1 2; do
    port=$(free_port)
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
    "$CANDOR" serve --config "$dir/candor.toml" --data "$dir" </dev/null >>"$dir/server.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "http://127.0.0.1:$port/healthz" "$pid" "$dir/server.log" && break
    stop_server "$pid"
    (( attempt < 2 )) || { tail -30 "$dir/server.log" >&2; die "$name: not ready after two starts; log: $dir/server.log"; }
    log "$name: not ready after 30 s (see $dir/server.log); starting it again"
  done
  "$CANDOR" client create --name bench --scope read --config "$dir/candor.toml" --data "$dir" \
    >"$dir/client.json" 2>"$dir/client.log" || { cat "$dir/client.log" >&2; die "$name: client create failed"; }
  local id secret
  id=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).client_id)' "$dir/client.json")
  secret=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1],"utf8")).client_secret)' "$dir/client.json")
  local basic
  basic=$(basic_credentials "$id" "$secret")
  measure "$name" "$port" "$basic" "$alg" "$pid"
  stop_server "$pid"
}

# run_node ALG
run_node() {
  local alg=$1 name="oidc-provider-$1"
  local dir="$OUT/$name" port secret pid attempt
  mkdir -p "$dir"
  secret=$(node -e 'console.log(require("crypto").randomBytes(32).toString("base64url"))')
  for attempt in 1 2; do
    port=$(free_port)
    log "$name: starting on port $port"
    NODE_ENV=production PORT=$port ALG=$alg CLIENT_ID=bench CLIENT_SECRET=$secret \
      node "$BENCH_DIR/node/server.mjs" </dev/null >>"$dir/server.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_ready "http://127.0.0.1:$port/.well-known/openid-configuration" "$pid" "$dir/server.log" && break
    stop_server "$pid"
    (( attempt < 2 )) || { tail -30 "$dir/server.log" >&2; die "$name: not ready after two starts; log: $dir/server.log"; }
    log "$name: not ready after 30 s (see $dir/server.log); starting it again"
  done
  local basic
  basic=$(basic_credentials bench "$secret")
  measure "$name" "$port" "$basic" "$alg" "$pid"
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
CPU_DETAIL=$(awk -F': *' '/^cpu family/{f=$2} /^model\t/{m=$2} /^stepping/{st=$2} /^cpu MHz/{mhz=$2} f!="" && m!="" && st!="" && mhz!=""{printf "family %s model %s stepping %s, %.0f MHz", f, m, st, mhz; exit}' /proc/cpuinfo)
MEM=$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)
OS=$( (. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME") || uname -s)
CANDOR_VERSION=$("$CANDOR" --version)
RUSTC_VERSION=$(rustc --version 2>/dev/null || echo unknown)
WRK_VERSION=$( (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}')
NODE_VERSION=$(node --version)
OP_VERSION=$(node -p 'require(process.argv[1]).version' "$BENCH_DIR/node/node_modules/oidc-provider/package.json")
JOSE_VERSION=$(node -p 'require(process.argv[1]).version' "$BENCH_DIR/node/node_modules/jose/package.json")
PG_VERSION=$(psql "$PG_URL/postgres" -qAtc 'show server_version')
SQLITE_CRATE=$(awk '/^name = "libsqlite3-sys"/{getline; gsub(/[^0-9.]/,""); print; exit}' "${SRC:-$ROOT}/Cargo.lock")

ratio() { awk -v a="${RPS[$1]}" -v b="${RPS[$2]}" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'; }
ratio_of() { local -n arr=$1; awk -v a="${arr[$2]}" -v b="${arr[$3]}" 'BEGIN{ if (b>0) printf "%.2f", a/b; else print "n/a"}'; }
meets() { awk -v r="$1" 'BEGIN{ print (r+0 >= 10) ? "yes" : "no" }'; }

INVALID=()
for name in "${!RPS[@]}"; do
  if (( NON2XX[$name] > 0 || SOCKERR[$name] > 0 )); then INVALID+=("$name"); fi
done
# Other processes using more than MAX_OTHER % of a core during a median run: the machine was not quiet.
NOISY=()
for name in "${!RPS[@]}"; do
  if (( OTHER_CPU[$name] > MAX_OTHER )); then NOISY+=("$name"); fi
done

{
  echo "# Benchmark: client_credentials token issuance, Candor vs node oidc-provider"
  echo
  echo "Generated by \`bench/run.sh\`; overwritten on every run. Run started $STARTED, finished $FINISHED."
  echo
  if (( ${#INVALID[@]} > 0 )); then
    echo "**WARNING: rounds with non-2xx responses or socket errors: $(printf '%s\n' "${INVALID[@]}" | sort | paste -sd' ' -). Their numbers are not valid.**"
    echo
  fi
  if (( ${#NOISY[@]} > 0 )); then
    echo "**Note: other processes used noticeable CPU during: $(printf '%s\n' "${NOISY[@]}" | sort | paste -sd' ' -) (column \"other CPU\"). Those numbers are probably low; re-run on a quiet machine.**"
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
  echo "Per unit of server CPU (req per server CPU-second, Candor ÷ oidc-provider), which depends less on how the two cores are shared with wrk:"
  echo
  echo "| algorithm | Candor SQLite / oidc-provider | Candor PostgreSQL / oidc-provider |"
  echo "|---|---:|---:|"
  for alg in "${ALGS[@]}"; do
    echo "| $alg | $(ratio_of PER_CPU "candor-sqlite-$alg" "oidc-provider-$alg")× | $(ratio_of PER_CPU "candor-postgres-$alg" "oidc-provider-$alg")× |"
  done
  echo
  echo "## Raw numbers"
  echo
  echo "Each round: ${REPEAT} measured runs of ${DURATION} s; the table shows the run with the median req/s, and the last column every run's req/s in order."
  echo
  echo "| target | alg | requests | req/s | non-2xx | socket errors | p50 ms | p99 ms | server CPU | wrk CPU | other CPU | req per server CPU-second | token bytes | req/s of every run |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  for alg in "${ALGS[@]}"; do
    for target in candor-sqlite candor-postgres oidc-provider; do
      n="$target-$alg"
      echo "| $target | $alg | ${REQS[$n]} | ${RPS[$n]} | ${NON2XX[$n]} | ${SOCKERR[$n]} | ${P50[$n]} | ${P99[$n]} | ${SRV_CPU[$n]} % | ${WRK_CPU[$n]} % | ${OTHER_CPU[$n]} % | ${PER_CPU[$n]} | ${TOKEN_LEN[$n]} | ${ALL_RPS[$n]} |"
    done
  done
  echo
  echo "- req/s = completed requests ÷ measured duration (wrk's \"Requests/sec\")."
  echo "- non-2xx = wrk's count of responses with status ≥ 400, summed over all measured runs of the round; socket errors = connect + read + write errors + timeouts, summed likewise."
  echo "- CPU columns are in % of one core over the measured interval (200 % = both cores): server = user+system time of the server process (/proc/PID/stat); wrk = user+system time of the wrk process (bash \`times\`); other = all remaining non-idle time on the machine (/proc/stat): other processes, and kernel work charged to no process (clamped at 0: the three sources round differently)."
  echo "- req per server CPU-second = requests ÷ server CPU seconds."
  echo "- A run during which \"other\" exceeded ${MAX_OTHER} % of a core was discarded and measured again (at most ${RETRIES} times per round). Discarded runs:"
  for alg in "${ALGS[@]}"; do
    for target in candor-sqlite candor-postgres oidc-provider; do
      n="$target-$alg"
      echo "  - $n: ${DISCARDED[$n]:-none}"
    done
  done
  echo "- Per-thread CPU of each server during each run is in bench/out/threads-NAME.RUN.txt (not committed)."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $CPU_MODEL ($CPU_DETAIL), \`nproc\` = $(nproc)"
  echo "- Memory: $MEM; OS: $OS; kernel $(uname -r)"
  echo "- Load average before the run: $LOAD_BEFORE"
  echo "- **The load generator (wrk, one thread) runs on the same $(nproc)-core machine and competes with the server for CPU.** Its settings are identical for every target, so the comparison is like for like, but absolute numbers are lower than where client and server have their own cores. oidc-provider runs its JavaScript on one thread (node's libuv pool does the WebCrypto signing, which \`jose\` uses); Candor (tokio, one worker per core) uses every core, which here it shares with wrk."
  echo
  echo "## Software"
  echo
  echo "- Candor: $CANDOR_VERSION, git $GIT_REV, built with \`cargo build --release\` ($RUSTC_VERSION), profile.release as in the workspace Cargo.toml"
  echo "- Candor storage: SQLite via sqlx (libsqlite3-sys $SQLITE_CRATE, bundled) in WAL mode; PostgreSQL $PG_VERSION on 127.0.0.1 (a fresh database per round, dropped afterwards)"
  echo "- node $NODE_VERSION, oidc-provider $OP_VERSION (jose $JOSE_VERSION), pinned in bench/node/package-lock.json, \`NODE_ENV=production\`, in-memory adapter (oidc-provider does not store JWT access tokens)"
  echo "- Load generator: $WRK_VERSION"
  echo
  echo "## What each round does"
  echo
  echo "Every round: start the server on a free loopback port, register one confidential client with scope \`read\` (client_secret_basic), check that one token request answers 200 with a JWT access token signed with the round's algorithm and scope \`read\` (the run fails otherwise), warm up ${WARMUP} s with the same wrk settings, then ${REPEAT} times: check again and measure ${DURATION} s; stop the server. Rounds run one after the other, never two servers at once."
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
  echo "Both servers answer with an RFC 9068 JWT access token (\`typ: at+jwt\`), 1 h lifetime, one signing key of the round's algorithm: P-256 for ES256, RSA 2048 for RS256. Candor keeps client registrations in an in-memory cache for 5 s (\`client_cache_ttl\`), so it reads its database about once per 5 s during a round and checks the secret's SHA-256 digest in constant time; oidc-provider holds its one static client in memory. Neither writes anything per JWT access token, so these rounds measure HTTP handling, client authentication and JWT signing far more than the storage backend."
  echo
  echo "## Exact commands"
  echo
  echo '```sh'
  echo "${BENCH_GIT_REV:+BENCH_GIT_REV=$BENCH_GIT_REV }bash bench/run.sh    # BENCH_THREADS=$THREADS BENCH_CONNECTIONS=$CONNECTIONS BENCH_DURATION=$DURATION BENCH_WARMUP=$WARMUP BENCH_REPEAT=$REPEAT"
  echo
  echo "# Candor (per backend and algorithm; candor.toml below)"
  echo "# candor = the binary built above (copied to bench/out/candor for the run)"
  echo "candor serve --config bench/out/NAME/candor.toml --data bench/out/NAME"
  echo "candor client create --name bench --scope read --config bench/out/NAME/candor.toml --data bench/out/NAME"
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
      echo "### $n (run ${MEDIAN_REP[$n]}: the median of the kept runs)"
      echo
      echo '```'
      sed -e 's/[[:space:]]*$//' "$OUT/wrk-$n.${MEDIAN_REP[$n]}.txt"
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
