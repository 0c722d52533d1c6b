#!/usr/bin/env bash
# Gateway benchmark: a JWT-validating reverse proxy in front of one fast upstream, Candor's
# gateway against nginx, HAProxy 2.6 jwt_verify and Apache mod_auth_openidc, in one run on one
# machine with identical wrk settings. See bench/gateway/README.md.
#
# Writes raw results to bench/out/gateway/ (git-ignored; replaced on every run), then runs
# report.py, which writes bench/gateway/RESULTS.md and bench/gateway/throughput.svg.
# Scripts and configs only: it never builds anything (Candor must already be built).
#
# Settings (environment):
#   BENCH_SECONDS      measured seconds per target and concurrency (default 8)
#   BENCH_WARMUP       warm-up seconds before each measurement, same wrk settings (default 2)
#   BENCH_CONCURRENCY  wrk connections, space-separated (default "32 256")
#   BENCH_TARGETS      which targets, space-separated (default: all of
#                      "direct nginx haproxy-es256 haproxy-rs256 apache-es256 apache-rs256 candor")
#   BENCH_MAX_OTHER    % of one core that other processes (a build, tests) may use: before each
#                      measurement run.sh waits while the machine is busier than that, and a
#                      measurement during which others used more is repeated, at most twice
#                      (default 15); the attempt with the least other CPU is kept, and flagged
#                      in RESULTS.md if it is still above
#   BENCH_NOISE_BUDGET seconds the run may spend in all on such waiting and re-measuring
#                      (default 120), so that a busy machine cannot stretch it much
#   CANDOR_BIN         the candor binary (default: target/release/candor under the repo root);
#                      the Candor target is skipped when `$CANDOR_BIN gateway --help` fails
set -Eeuo pipefail

GW_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_DIR=$(cd "$GW_DIR/.." && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
OUT="$BENCH_DIR/out/gateway"
HELPERS="$GW_DIR/helpers.py"
CONF="$GW_DIR/conf"
LUA="$GW_DIR/bearer.lua"

DURATION=${BENCH_SECONDS:-8}
WARMUP=${BENCH_WARMUP:-2}
read -r -a CONCURRENCIES <<<"${BENCH_CONCURRENCY:-32 256}"
ALL_TARGETS="direct nginx haproxy-es256 haproxy-rs256 apache-es256 apache-rs256 candor"
read -r -a TARGETS <<<"${BENCH_TARGETS:-$ALL_TARGETS}"
MAX_OTHER=${BENCH_MAX_OTHER:-15}
THREADS=1
AUD="https://api.example"
CANDOR_BIN=${CANDOR_BIN:-$ROOT/target/release/candor}
[[ $CANDOR_BIN == /* ]] || CANDOR_BIN="$PWD/$CANDOR_BIN"

for n in "$DURATION" "$WARMUP" "${CONCURRENCIES[@]}" "$MAX_OTHER"; do
  [[ $n =~ ^[0-9]+$ ]] || { echo "[gw] BENCH_SECONDS/WARMUP/CONCURRENCY/MAX_OTHER must be integers (got '$n')" >&2; exit 2; }
done
(( DURATION > 0 )) || { echo "[gw] BENCH_SECONDS must be > 0" >&2; exit 2; }
for t in "${TARGETS[@]}"; do
  [[ " $ALL_TARGETS " == *" $t "* ]] || { echo "[gw] unknown target '$t' (known: $ALL_TARGETS)" >&2; exit 2; }
done

shopt -u patsub_replacement 2>/dev/null || true

log() { printf '[gw] %s\n' "$*" >&2; }
die() { printf '[gw] FAIL: %s\n' "$*" >&2; exit 1; }

# ---------------------------------------------------------------------------------------------
# Cleanup: every process this script starts is in PIDS (each started in the foreground mode of
# its program, so it is a child of this shell and its workers are its children).
PIDS=()
cleanup() {
  local status=$? pid i
  trap - EXIT ERR
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for i in $(seq 1 50); do
    local alive=0
    for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    (( alive )) || break
    sleep 0.1
  done
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  exit "$status"
}
trap cleanup EXIT
trap 'log "FAIL: command failed (status $?) at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT
trap 'exit 143' TERM

# start_proc LOG CMD...: starts CMD in the background (stdin /dev/null, output to LOG); sets PID.
start_proc() {
  local logfile=$1; shift
  "$@" </dev/null >>"$logfile" 2>&1 &
  PID=$!
  PIDS+=("$PID")
}

# stop_proc PID: TERM, wait up to 5 s, then KILL; removes it from PIDS.
stop_proc() {
  local pid=$1 keep=() p i
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${PIDS[@]}"; do [[ $p == "$pid" ]] || keep+=("$p"); done
  PIDS=("${keep[@]}")
}

# ---------------------------------------------------------------------------------------------
# Prerequisites (Debian packages).
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
command -v python3 >/dev/null || apt_install python3
command -v openssl >/dev/null || apt_install openssl
command -v curl >/dev/null || apt_install curl
command -v wrk >/dev/null || apt_install wrk
command -v nginx >/dev/null || apt_install nginx
want() { [[ " ${TARGETS[*]} " == *" $1"* ]]; }
if want haproxy; then command -v haproxy >/dev/null || apt_install haproxy; fi
if want apache; then
  [[ -x /usr/sbin/apache2 ]] || apt_install apache2
  [[ -f /usr/lib/apache2/modules/mod_auth_openidc.so ]] || apt_install libapache2-mod-auth-openidc
fi
# HAProxy and nginx want more descriptors than 256 connections need; raise the soft limit.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

rm -rf "$OUT"
mkdir -p "$OUT"
chmod 755 "$OUT"
RESULTS_JSONL="$OUT/results.jsonl"
: >"$RESULTS_JSONL"
CHECKS="$OUT/checks.txt"
: >"$CHECKS"
CLK_TCK=$(getconf CLK_TCK)
FAILED=()

# ---------------------------------------------------------------------------------------------
# Helpers.
free_port() { python3 "$HELPERS" freeports 1; }

# render TEMPLATE OUTFILE KEY=VALUE...: replaces @KEY@ with VALUE.
render() {
  local tpl=$1 out=$2 kv k v content
  shift 2
  content=$(<"$tpl")
  for kv in "$@"; do
    k=${kv%%=*}; v=${kv#*=}
    content=${content//@$k@/$v}
  done
  [[ $content != *@[A-Z_]*@* ]] || { grep -o '@[A-Z_]*@' <<<"$content" | sort -u >&2; die "unrendered placeholders in $out"; }
  printf '%s\n' "$content" >"$out"
}

# wait_http URL PID LOGFILE: until URL answers any HTTP status (within 20 s) while PID lives.
wait_http() {
  local url=$1 pid=$2 logfile=$3 i code
  for i in $(seq 1 200); do
    kill -0 "$pid" 2>/dev/null || { log "process $pid exited before it was ready; last lines of $logfile:"; tail -20 "$logfile" >&2 || true; return 1; }
    code=$(curl -sk --max-time 2 -o /dev/null -w '%{http_code}' "$url" || true)
    [[ $code != 000 ]] && return 0
    sleep 0.1
  done
  log "not ready at $url after 20 s; last lines of $logfile:"; tail -20 "$logfile" >&2 || true
  return 1
}

# expect TARGET LABEL URL TOKEN CODES [BODY]: one request (Bearer TOKEN unless empty) must
# answer one of CODES (e.g. "401" or "401|403"), and BODY exactly when given. Returns 1 if not.
expect() {
  local target=$1 label=$2 url=$3 token=$4 codes=$5 want_body=${6-} code body f="$OUT/check-body.txt"
  local hdr=()
  [[ -z $token ]] || hdr=(-H "Authorization: Bearer $token")
  code=$(curl -s --max-time 5 -o "$f" -w '%{http_code}' "${hdr[@]}" "$url" || true)
  body=$(head -c 200 "$f" 2>/dev/null | tr -d '\r' | tr '\n' ' ' | sed 's/ *$//')
  if [[ ! $code =~ ^($codes)$ ]] || { [[ -n $want_body ]] && [[ $body != "$want_body" ]]; }; then
    printf '%-14s %-34s expected %-8s got %s  %s  FAIL\n' "$target" "$label" "$codes" "$code" "$body" | tee -a "$CHECKS" >&2
    return 1
  fi
  printf '%-14s %-34s expected %-8s got %s  %s\n' "$target" "$label" "$codes" "$code" "$body" >>"$CHECKS"
}

machine_busy_ticks() { awk '/^cpu /{t=0; for(i=2;i<=NF;i++) t+=$i; print t-$5-$6}' /proc/stat; }
# procstat PID... > FILE, then field FILE KEY
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# wait_quiet TAG: before a measurement, while everything started here is idle, sample the
# machine's busy CPU over 1 s; while it exceeds BENCH_MAX_OTHER (someone else is using the
# cores: a build, tests), wait, drawing on the run's noise budget (BENCH_NOISE_BUDGET seconds in
# all, shared with re-measurements) so that a busy machine cannot stretch the run much.
NOISE_LEFT=${BENCH_NOISE_BUDGET:-120}
wait_quiet() {
  local tag=$1 m0 m1 busy
  while :; do
    m0=$(machine_busy_ticks); sleep 1; m1=$(machine_busy_ticks)
    busy=$(( (m1 - m0) * 100 / CLK_TCK ))
    (( busy > MAX_OTHER )) || return 0
    if (( NOISE_LEFT <= 0 )); then
      log "$tag: machine busy with other work ($busy % of a core) and the noise budget is spent; measuring anyway"
      return 0
    fi
    log "$tag: machine busy with other work ($busy % of a core); waiting (noise budget ${NOISE_LEFT}s left)"
    NOISE_LEFT=$(( NOISE_LEFT - 2 ))
    sleep 1
  done
}

# measure TARGET ALG TOKEN URL ROOT_PID [AUX_PID]: for each concurrency, warm up, then measure
# with wrk and record req/s, latency, CPU of the target's process tree (and of the upstream's
# and the aux process's, e.g. the issuer, separately), RSS at the end.
measure() {
  local target=$1 alg=$2 token=$3 url=$4 pid=$5 aux=${6-} c attempt
  local tag wf t0 t1 u0 u1 a0 a1 m0 m1 ps1 other jf0 jf1
  for c in "${CONCURRENCIES[@]}"; do
    tag="$target.c$c"
    log "$tag: warm-up ${WARMUP}s"
    if (( WARMUP > 0 )); then
      BENCH_TOKEN=$token wrk -t"$THREADS" -c"$c" -d"${WARMUP}s" -s "$LUA" "$url" >"$OUT/warmup-$tag.txt" 2>&1 \
        || { cat "$OUT/warmup-$tag.txt" >&2; die "$tag: wrk warm-up failed"; }
    fi
    rm -f "$OUT"/.attempt.*.jsonl
    for attempt in 1 2 3; do
      wait_quiet "$tag"
      wf="$OUT/wrk-$tag.$attempt.txt"
      python3 "$HELPERS" procstat "$pid" >"$OUT/.ps0"; t0=$(field "$OUT/.ps0" ticks)
      if [[ $target != direct ]]; then python3 "$HELPERS" procstat "$UPSTREAM_PID" >"$OUT/.ups0"; u0=$(field "$OUT/.ups0" ticks); fi
      if [[ -n $aux ]]; then python3 "$HELPERS" procstat "$aux" >"$OUT/.aux0"; a0=$(field "$OUT/.aux0" ticks); fi
      jf0=$(grep -c 'GET ' "$OUT/jwks/jwks.log" 2>/dev/null || true)
      log "$tag: measuring ${DURATION}s (wrk -t$THREADS -c$c)"
      m0=$(machine_busy_ticks)
      times >"$OUT/.times0"
      BENCH_TOKEN=$token wrk -t"$THREADS" -c"$c" -d"${DURATION}s" --latency -s "$LUA" "$url" >"$wf" 2>&1 \
        || { cat "$wf" >&2; die "$tag: wrk failed"; }
      times >"$OUT/.times1"
      m1=$(machine_busy_ticks)
      python3 "$HELPERS" procstat "$pid" >"$OUT/.ps1"; t1=$(field "$OUT/.ps1" ticks)
      if [[ $target != direct ]]; then python3 "$HELPERS" procstat "$UPSTREAM_PID" >"$OUT/.ups1"; u1=$(field "$OUT/.ups1" ticks); fi
      if [[ -n $aux ]]; then python3 "$HELPERS" procstat "$aux" >"$OUT/.aux1"; a1=$(field "$OUT/.aux1" ticks); fi
      jf1=$(grep -c 'GET ' "$OUT/jwks/jwks.log" 2>/dev/null || true)
      ps1="$OUT/.ps1"
      python3 "$HELPERS" record "$OUT/.attempt.$attempt.jsonl" "$wf" "$OUT/.times0" "$OUT/.times1" \
        target="$target" alg="$alg" concurrency="$c" threads="$THREADS" seconds="$DURATION" \
        clk_tck="$CLK_TCK" target_ticks=$((t1 - t0)) \
        upstream_ticks=$([[ $target != direct ]] && echo $((u1 - u0)) || true) \
        aux_ticks=$([[ -n $aux ]] && echo $((a1 - a0)) || true) \
        machine_busy_ticks=$((m1 - m0)) \
        rss_kb="$(field "$ps1" rss_kb)" pss_kb="$(field "$ps1" pss_kb)" hwm_kb="$(field "$ps1" hwm_kb)" \
        nproc="$(field "$ps1" nproc)" token_bytes="${#token}" jwks_fetches=$(( ${jf1:-0} - ${jf0:-0} )) \
        attempt="$attempt" wrk_file="$(basename "$wf")" >"$OUT/.point.json"
      other=$(field "$OUT/.point.json" other_cpu_pct)
      log "$tag: $(field "$OUT/.point.json" rps) req/s, p99 $(field "$OUT/.point.json" p99_ms) ms, non-2xx $(field "$OUT/.point.json" non_2xx), target CPU $(field "$OUT/.point.json" cpu_pct) %, $(field "$OUT/.point.json" cpu_us_per_req) us/req, RSS $(field "$OUT/.point.json" rss_mb) MB, other $other %"
      awk -v o="$other" -v m="$MAX_OTHER" 'BEGIN{exit !(o > m)}' || break
      if (( attempt == 3 || NOISE_LEFT < DURATION + 3 )); then
        log "$tag: other processes used $other % > $MAX_OTHER % of a core; no more re-measurements (noise budget ${NOISE_LEFT}s left); flagged in RESULTS.md"
        break
      fi
      log "$tag: other processes used $other % > $MAX_OTHER % of a core; measuring again in 3 s"
      NOISE_LEFT=$(( NOISE_LEFT - DURATION - 3 ))
      sleep 3
    done
    # Keep the attempt during which other processes used the least CPU; list the others.
    python3 - "$RESULTS_JSONL" "$OUT"/.attempt.*.jsonl <<'PY'
import json, sys
recs = [json.loads(open(p).read()) for p in sys.argv[2:]]
best = min(recs, key=lambda r: r["other_cpu_pct"])
best["discarded"] = [{"rps": r["rps"], "other_cpu_pct": r["other_cpu_pct"], "wrk_file": r["wrk_file"]} for r in recs if r is not best]
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(best, sort_keys=True) + "\n")
PY
    rm -f "$OUT"/.attempt.*.jsonl
    # Still serving correctly after the load?
    expect "$target" "after $tag: token -> 200" "$url" "$token" 200 "ok" \
      || die "$tag: the target stopped answering 200 after the measurement"
  done
}

# record_skip TARGET REASON / record_fail TARGET REASON: a line in results.jsonl instead of figures.
record_skip() {
  python3 -c 'import json,sys; print(json.dumps({"target":sys.argv[1],"skipped":sys.argv[2]}))' "$1" "$2" >>"$RESULTS_JSONL"
}
record_fail() {
  python3 -c 'import json,sys; print(json.dumps({"target":sys.argv[1],"failed":sys.argv[2]}))' "$1" "$2" >>"$RESULTS_JSONL"
  FAILED+=("$1")
  log "FAIL: $1: $2"
}

# ---------------------------------------------------------------------------------------------
# Keys and tokens for the peers (HAProxy and Apache cannot fetch Candor's keys: they get static
# keys of our own, and JWTs minted here with the same claims Candor's tokens carry).
KEYS="$OUT/keys"
mkdir -p "$KEYS"
openssl ecparam -name prime256v1 -genkey -noout -out "$KEYS/ec.key" 2>/dev/null
openssl pkey -in "$KEYS/ec.key" -pubout -out "$KEYS/ec.pub"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$KEYS/rsa.key" 2>/dev/null
openssl pkey -in "$KEYS/rsa.key" -pubout -out "$KEYS/rsa.pub"
# mod_auth_openidc takes RSA keys as X.509 certificates (an EC certificate crashes it at start).
openssl req -new -x509 -key "$KEYS/rsa.key" -subj /CN=bench-rs -days 2 -out "$KEYS/rsa.crt" 2>/dev/null
# TLS certificate for the loopback JWKS server (mod_auth_openidc wants an https:// JWKS URI).
openssl req -new -x509 -key "$KEYS/rsa.key" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -days 2 -out "$KEYS/tls.crt" 2>/dev/null
chmod 644 "$KEYS"/*
python3 "$HELPERS" ec-jwks "$KEYS/ec.pub" bench-ec >"$KEYS/jwks.json"

# The JWKS server doubles as the issuer of the peers' tokens: iss = its URL.
mkdir -p "$OUT/jwks"
JWKS_PORT=$(free_port)
PEER_ISS="https://127.0.0.1:$JWKS_PORT"
start_proc "$OUT/jwks/jwks.log" python3 "$HELPERS" https-serve "$JWKS_PORT" "$KEYS/tls.crt" "$KEYS/rsa.key" "$KEYS/jwks.json"
JWKS_PID=$PID
wait_http "$PEER_ISS/jwks" "$JWKS_PID" "$OUT/jwks/jwks.log" || die "JWKS server did not start"
: >"$OUT/jwks/jwks.log"

declare -A TOK
mint() { python3 "$HELPERS" mint --iss "$PEER_ISS" --aud "$AUD" "$@"; }
for alg in ES256 RS256; do
  if [[ $alg == ES256 ]]; then key=(--alg ES256 --key "$KEYS/ec.key" --kid bench-ec)
  else key=(--alg RS256 --key "$KEYS/rsa.key" --kid bench-rs); fi
  TOK[$alg.good]=$(mint "${key[@]}")
  TOK[$alg.multiscope]=$(mint "${key[@]}" --scope "profile orders:read orders:write")
  TOK[$alg.tampered]=$(mint "${key[@]}" --tamper)
  TOK[$alg.expired]=$(mint "${key[@]}" --exp-offset -3600)
  TOK[$alg.noscope]=$(mint "${key[@]}" --scope "orders:write orders:readx")
  TOK[$alg.badaud]=$(python3 "$HELPERS" mint --iss "$PEER_ISS" --aud https://other.example "${key[@]}")
  TOK[$alg.badiss]=$(python3 "$HELPERS" mint --iss https://evil.example --aud "$AUD" "${key[@]}")
done
python3 "$HELPERS" jwtinfo "${TOK[ES256.good]}" >"$OUT/peer-token-ES256.json"
python3 "$HELPERS" jwtinfo "${TOK[RS256.good]}" >"$OUT/peer-token-RS256.json"

# peer_checks TARGET URL ALG BADAUD_CODES: what every JWT-validating peer must do.
peer_checks() {
  local t=$1 url=$2 alg=$3 badaud=$4 other
  [[ $alg == ES256 ]] && other=RS256 || other=ES256
  expect "$t" "no token -> 401" "$url" "" 401 &&
  expect "$t" "$alg token -> 200 ok" "$url" "${TOK[$alg.good]}" 200 "ok" &&
  expect "$t" "$alg token, 3 scopes -> 200" "$url" "${TOK[$alg.multiscope]}" 200 "ok" &&
  expect "$t" "tampered signature -> 401" "$url" "${TOK[$alg.tampered]}" 401 &&
  expect "$t" "expired -> 401" "$url" "${TOK[$alg.expired]}" 401 &&
  expect "$t" "$other token (alg pinned) -> 401" "$url" "${TOK[$other.good]}" 401 &&
  expect "$t" "no orders:read scope -> 403" "$url" "${TOK[$alg.noscope]}" 403 &&
  expect "$t" "wrong aud -> $badaud" "$url" "${TOK[$alg.badaud]}" "$badaud" &&
  expect "$t" "wrong iss -> $badaud" "$url" "${TOK[$alg.badiss]}" "$badaud"
}

STARTED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------------------------------------
# (a) The upstream: nginx, one worker, `return 200 "ok\n"`. Runs for the whole benchmark.
mkdir -p "$OUT/upstream/tmp"
UPSTREAM_PORT=$(free_port)
render "$CONF/upstream-nginx.conf" "$OUT/upstream/nginx.conf" DIR="$OUT/upstream" PORT="$UPSTREAM_PORT"
start_proc "$OUT/upstream/stderr.log" nginx -p "$OUT/upstream/" -e "$OUT/upstream/error.log" -c "$OUT/upstream/nginx.conf"
UPSTREAM_PID=$PID
wait_http "http://127.0.0.1:$UPSTREAM_PORT/" "$UPSTREAM_PID" "$OUT/upstream/error.log" || die "upstream nginx did not start"
UPSTREAM_URL="http://127.0.0.1:$UPSTREAM_PORT/"
expect upstream "GET / -> 200 ok" "$UPSTREAM_URL" "" 200 "ok" || die "upstream does not answer 200 ok"

run_direct() {
  measure direct - "${TOK[ES256.good]}" "$UPSTREAM_URL" "$UPSTREAM_PID"
}

# (b) nginx proxy_pass, upstream keepalive, no auth, worker_processes auto.
run_nginx() {
  local dir="$OUT/nginx" port pid
  mkdir -p "$dir/tmp"
  port=$(free_port)
  render "$CONF/nginx-proxy.conf" "$dir/nginx.conf" DIR="$dir" PORT="$port" UPSTREAM_PORT="$UPSTREAM_PORT"
  start_proc "$dir/stderr.log" nginx -p "$dir/" -e "$dir/error.log" -c "$dir/nginx.conf"; pid=$PID
  wait_http "http://127.0.0.1:$port/" "$pid" "$dir/error.log" || { record_fail nginx "did not start"; stop_proc "$pid"; return 0; }
  if expect nginx "token -> 200 ok" "http://127.0.0.1:$port/" "${TOK[ES256.good]}" 200 ok &&
     expect nginx "no token -> 200 ok (no auth)" "http://127.0.0.1:$port/" "" 200 ok; then
    measure nginx - "${TOK[ES256.good]}" "http://127.0.0.1:$port/" "$pid"
  else
    record_fail nginx "checks failed (see $CHECKS)"
  fi
  stop_proc "$pid"
}

# (c) HAProxy 2.6 jwt_verify, static PEM public key, alg pinned.
run_haproxy() {
  local alg=$1 t="haproxy-${1,,}" dir="$OUT/haproxy-${1,,}" port pid pub
  mkdir -p "$dir"
  [[ $alg == ES256 ]] && pub="$KEYS/ec.pub" || pub="$KEYS/rsa.pub"
  port=$(free_port)
  render "$CONF/haproxy.cfg" "$dir/haproxy.cfg" PORT="$port" UPSTREAM_PORT="$UPSTREAM_PORT" ALG="$alg" PUBKEY="$pub" ISSUER="$PEER_ISS"
  haproxy -c -f "$dir/haproxy.cfg" >"$dir/check.log" 2>&1 || { cat "$dir/check.log" >&2; record_fail "$t" "config check failed"; return 0; }
  start_proc "$dir/haproxy.log" haproxy -f "$dir/haproxy.cfg" -db; pid=$PID
  wait_http "http://127.0.0.1:$port/" "$pid" "$dir/haproxy.log" || { record_fail "$t" "did not start"; stop_proc "$pid"; return 0; }
  if peer_checks "$t" "http://127.0.0.1:$port/" "$alg" 401; then
    measure "$t" "$alg" "${TOK[$alg.good]}" "http://127.0.0.1:$port/" "$pid"
  else
    record_fail "$t" "checks failed (see $CHECKS)"
  fi
  stop_proc "$pid"
}

# (d) Apache httpd + mod_auth_openidc, AuthType oauth20, ProxyPass keepalive.
#   ES256: the EC key as a JWKS from the loopback https server (OIDCOAuthVerifyJwksUri; an EC
#          certificate in OIDCOAuthVerifyCertFiles crashes this mod_auth_openidc at start).
#   RS256: the RSA key as an X.509 certificate (OIDCOAuthVerifyCertFiles kid#cert.pem).
run_apache() {
  local alg=$1 t="apache-${1,,}" dir="$OUT/apache-${1,,}" port pid verify aux=""
  mkdir -p "$dir/run"
  chmod 755 "$dir" "$dir/run"
  if [[ $alg == ES256 ]]; then verify="OIDCOAuthVerifyJwksUri $PEER_ISS/jwks"; aux=$JWKS_PID
  else verify="OIDCOAuthVerifyCertFiles bench-rs#$KEYS/rsa.crt"; fi
  port=$(free_port)
  render "$CONF/apache-oidc.conf" "$dir/httpd.conf" DIR="$dir" PORT="$port" UPSTREAM_PORT="$UPSTREAM_PORT" \
    ISSUER="$PEER_ISS" OIDC_VERIFY="$verify" PASSPHRASE="$(openssl rand -hex 16)"
  start_proc "$dir/stderr.log" bash -c '. /etc/apache2/envvars && exec apache2 -f "$1" -DFOREGROUND' _ "$dir/httpd.conf"; pid=$PID
  wait_http "http://127.0.0.1:$port/" "$pid" "$dir/stderr.log" || { tail -20 "$dir/error.log" >&2 || true; record_fail "$t" "did not start"; stop_proc "$pid"; return 0; }
  # A failed Require (wrong iss or aud) answers 403 with AuthzSendForbiddenOnFailure On.
  if peer_checks "$t" "http://127.0.0.1:$port/" "$alg" "401|403"; then
    measure "$t" "$alg" "${TOK[$alg.good]}" "http://127.0.0.1:$port/" "$pid" "$aux"
  else
    record_fail "$t" "checks failed (see $CHECKS)"
  fi
  stop_proc "$pid"
}

# (e) Candor's gateway, tokens from a real Candor issuer (candor serve --dev).
CANDOR_CMDS=()
run_candor() {
  local t=candor dir="$OUT/candor" iss_port gw_port admin_port iss_pid gw_pid
  mkdir -p "$dir"
  if [[ ! -x $CANDOR_BIN ]] || ! "$CANDOR_BIN" gateway --help >"$dir/gateway-help.txt" 2>&1; then
    echo "SKIPPED: candor gateway not available ($CANDOR_BIN gateway --help failed or no such binary)"
    record_skip candor "candor gateway not available: \`$CANDOR_BIN gateway --help\` failed or no such binary"
    return 0
  fi
  # A private copy, so that a concurrent build cannot replace the binary during the run.
  local bin="$dir/candor"
  cp "$CANDOR_BIN" "$bin"
  iss_port=$(free_port)
  CANDOR_CMDS+=("$bin serve --dev --data $dir/data --listen 127.0.0.1:$iss_port")
  start_proc "$dir/issuer.log" "$bin" serve --dev --data "$dir/data" --listen "127.0.0.1:$iss_port"; iss_pid=$PID
  local iss="http://127.0.0.1:$iss_port"
  wait_http "$iss/.well-known/openid-configuration" "$iss_pid" "$dir/issuer.log" || { record_fail candor "issuer did not start"; stop_proc "$iss_pid"; return 0; }

  local id secret token token2
  CANDOR_CMDS+=("$bin client create --data $dir/data --name bench --scope orders:read --audience $AUD")
  "$bin" client create --data "$dir/data" --name bench --scope orders:read --audience "$AUD" \
    >"$dir/client.json" 2>"$dir/client.log" || { cat "$dir/client.log" >&2; record_fail candor "client create failed"; stop_proc "$iss_pid"; return 0; }
  id=$(field "$dir/client.json" client_id); secret=$(field "$dir/client.json" client_secret)
  CANDOR_CMDS+=("curl -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials -d scope=orders:read $iss/token")
  curl -sS -u "$id:$secret" -d grant_type=client_credentials -d scope=orders:read "$iss/token" >"$dir/token.json" 2>"$dir/token.log" \
    && token=$(field "$dir/token.json" access_token) \
    || { cat "$dir/token.json" "$dir/token.log" >&2; record_fail candor "token request failed"; stop_proc "$iss_pid"; return 0; }
  python3 "$HELPERS" jwtinfo "$token" >"$OUT/candor-token.json" || { record_fail candor "access_token is not a JWT"; stop_proc "$iss_pid"; return 0; }
  # A second client without orders:read, for the 403 check.
  "$bin" client create --data "$dir/data" --name bench-noscope --scope orders:write --audience "$AUD" \
    >"$dir/client2.json" 2>"$dir/client2.log" || { cat "$dir/client2.log" >&2; record_fail candor "client create (second client) failed"; stop_proc "$iss_pid"; return 0; }
  curl -sS -u "$(field "$dir/client2.json" client_id):$(field "$dir/client2.json" client_secret)" \
    -d grant_type=client_credentials -d scope=orders:write "$iss/token" >"$dir/token2.json" 2>>"$dir/token.log" \
    && token2=$(field "$dir/token2.json" access_token) \
    || { cat "$dir/token2.json" >&2; record_fail candor "token request (second client) failed"; stop_proc "$iss_pid"; return 0; }

  gw_port=$(free_port); admin_port=$(free_port)
  while [[ $admin_port == "$gw_port" ]]; do admin_port=$(free_port); done
  render "$CONF/candor-gateway.toml" "$dir/gateway.toml" PORT="$gw_port" ADMINPORT="$admin_port" \
    ISSUERPORT="$iss_port" UPSTREAMPORT="$UPSTREAM_PORT"
  # `candor gateway check` validates the configuration, when this build has it.
  if grep -qE '^ +check ' "$dir/gateway-help.txt"; then
    CANDOR_CMDS+=("$bin gateway check --config $dir/gateway.toml")
    "$bin" gateway check --config "$dir/gateway.toml" >"$dir/gateway-check.log" 2>&1 \
      || { cat "$dir/gateway-check.log" >&2; record_fail candor "candor gateway check rejected $dir/gateway.toml (see gateway-check.log)"; stop_proc "$iss_pid"; return 0; }
  fi
  CANDOR_CMDS+=("$bin gateway --config $dir/gateway.toml")
  start_proc "$dir/gateway.log" "$bin" gateway --config "$dir/gateway.toml"; gw_pid=$PID
  local url="http://127.0.0.1:$gw_port/"
  wait_http "$url" "$gw_pid" "$dir/gateway.log" || { record_fail candor "gateway did not start (see $dir/gateway.log)"; stop_proc "$gw_pid"; stop_proc "$iss_pid"; return 0; }
  # A token with Candor's claims but signed by a key Candor never published.
  local foreign tampered
  foreign=$(python3 "$HELPERS" mint --alg ES256 --key "$KEYS/ec.key" --kid "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["header"].get("kid","bench-ec"))' "$OUT/candor-token.json")" --iss "$iss" --aud "$AUD")
  tampered=$(python3 "$HELPERS" tamper "$token")
  if expect candor "no token -> 401" "$url" "" 401 &&
     expect candor "Candor ES256 token -> 200 ok" "$url" "$token" 200 ok &&
     expect candor "tampered signature -> 401" "$url" "$tampered" 401 &&
     expect candor "same claims, unknown key -> 401" "$url" "$foreign" 401 &&
     expect candor "no orders:read scope -> 403" "$url" "$token2" 403 &&
     expect candor "peer ES256 token (other iss) -> 401" "$url" "${TOK[ES256.good]}" 401; then
    measure candor "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["header"]["alg"])' "$OUT/candor-token.json")" \
      "$token" "$url" "$gw_pid" "$iss_pid"
  else
    record_fail candor "checks failed (see $CHECKS)"
  fi
  stop_proc "$gw_pid"
  stop_proc "$iss_pid"
}

for t in "${TARGETS[@]}"; do
  case $t in
    direct) run_direct ;;
    nginx) run_nginx ;;
    haproxy-es256) run_haproxy ES256 ;;
    haproxy-rs256) run_haproxy RS256 ;;
    apache-es256) run_apache ES256 ;;
    apache-rs256) run_apache RS256 ;;
    candor) run_candor ;;
  esac
done
FINISHED=$(date -u '+%Y-%m-%d %H:%M:%S UTC')

# ---------------------------------------------------------------------------------------------
# Metadata for the report.
CPU_MODEL=$(awk -F: '/^model name/{sub(/^ +/,"",$2); print $2; exit}' /proc/cpuinfo)
CANDOR_VERSION=$( [[ -x $CANDOR_BIN ]] && "$CANDOR_BIN" --version 2>/dev/null || echo "not available")
python3 - "$OUT/meta.json" <<EOF
import json, sys
meta = {
  "started": "$STARTED", "finished": "$FINISHED", "load_before": "$LOAD_BEFORE",
  "seconds": $DURATION, "warmup": $WARMUP, "threads": $THREADS,
  "concurrencies": [$(IFS=,; echo "${CONCURRENCIES[*]}")],
  "targets": "$(echo "${TARGETS[*]}")", "max_other": $MAX_OTHER,
  "cpu": """$CPU_MODEL""", "nproc": $(nproc), "kernel": "$(uname -r)",
  "os": """$( (. /etc/os-release && echo "$PRETTY_NAME") 2>/dev/null || uname -s)""",
  "mem": "$(awk '/^MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo)",
  "git": "$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)",
  "versions": {
    "wrk": """$( (wrk -v 2>&1 || true) | head -1 | awk '{print $1, $2}')""",
    "nginx": """$(nginx -v 2>&1 | sed 's/^nginx version: //')""",
    "haproxy": """$( (haproxy -v 2>/dev/null || true) | head -1 | awk '{print $3}')""",
    "apache": """$( (apache2 -v 2>/dev/null || true) | awk -F': ' '/^Server version/{print $2}')""",
    "mod_auth_openidc": """$(dpkg-query -W -f '${Version}' libapache2-mod-auth-openidc 2>/dev/null || echo unknown)""",
    "openssl": """$(openssl version)""",
    "candor": """$CANDOR_VERSION""",
  },
  "candor_bin": "$CANDOR_BIN",
  "candor_commands": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${CANDOR_CMDS[@]}"),
  "failed": $(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${FAILED[@]}"),
}
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF

python3 "$GW_DIR/report.py" "$OUT"
log "wrote $GW_DIR/RESULTS.md and $GW_DIR/throughput.svg (raw: $OUT)"
if (( ${#FAILED[@]} > 0 )); then
  die "targets that failed their checks or did not start: ${FAILED[*]} (see $CHECKS and $OUT/<target>/)"
fi
if grep -q '"non_2xx": [1-9]\|"socket_errors": [1-9]' "$RESULTS_JSONL"; then
  die "some measurements saw non-2xx responses or socket errors (see RESULTS.md)"
fi
