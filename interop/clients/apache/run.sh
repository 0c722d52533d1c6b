#!/usr/bin/env bash
# Interop runner: Apache httpd 2.4 + mod_auth_openidc (Debian packages) against Candor.
#
# mod_auth_openidc only talks https to a provider, so this runner does not use the suite's plain
# http server (CANDOR_ISSUER / CANDOR_DATA): it starts its OWN Candor with TLS (test CA made
# here, issuer https://localhost:PORT, fresh data directory) and one Apache with three virtual
# hosts (httpd.conf.in):
#   - https RP port: OpenID Connect relying party protecting /protected/ (Chromium signs in,
#     browser.mjs) and OAuth 2.0 resource server protecting /api/ with JWT access tokens
#     validated locally against Candor's /jwks;
#   - http introspection port: resource server that introspects every token at Candor;
#   - http bad-secret port: the same with a wrong client secret.
# Short-lived extra Candor processes mint the odd tokens: an RS256 one and an expired one (extra
# nodes on the same data directory: access_token_alg = "RS256", access_token_ttl = "1s") and a
# foreign one (own data directory, so its own keys).
#
# Environment (set by interop/run.sh; see interop/README.md): CANDOR_BIN, RESULTS_DIR.
#   APACHE_INTEROP_KEEP=1 keeps the temporary directory (configs, logs) for debugging.
# Writes $RESULTS_DIR/apache.json, artifacts (screenshots, Apache and Candor logs) under
# $RESULTS_DIR/apache/. Exit 0 once the result file is written, whatever the outcomes.
set -uo pipefail
umask 022
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$HERE"
: "${CANDOR_BIN:?CANDOR_BIN is not set: run through interop/run.sh (see interop/README.md)}"
: "${RESULTS_DIR:?RESULTS_DIR is not set: run through interop/run.sh (see interop/README.md)}"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
OUT=$RESULTS_DIR/apache.json
ART=$RESULTS_DIR/apache
rm -rf "$ART"
mkdir -p "$ART"
STARTED=$SECONDS

SCENARIOS=(discovery client_credentials authorization_code_pkce id_token_validation userinfo
  refresh_rotation introspection revocation rp_logout key_rotation error_replayed_code
  error_wrong_pkce_verifier error_wrong_client_secret rp_protected_page rs_jwt_validation)

log() { printf '[apache] %s\n' "$*"; }
tailof() { tail -q -n "$1" "${@:2}" 2>/dev/null | sed $'s/\e\\[[0-9;]*m//g' | tr '\n' ' '; } # N FILE...: last lines, one line

WORK=
TSV=
CLIENT_LABEL="apache mod_auth_openidc"
STEP="start"
WRITTEN=
CANDOR_PID=
EXTRA_PIDS=()
APACHE_CONF=

write_results() { # REASON: why a scenario nobody reported was not run
  node "$HERE/tools.mjs" assemble "$OUT" "$CLIENT_LABEL" "${TSV:-/nonexistent}" "${WORK:-/nonexistent}/browser.json" "$1" "${SCENARIOS[@]}" &&
    WRITTEN=1
}

# result SCENARIO STATUS DETAIL (one line; tabs and newlines flattened)
result() {
  local detail=${3//$'\t'/ }
  detail=${detail//$'\n'/ }
  printf '%s\t%s\t%s\n' "$1" "$2" "$detail" >>"$TSV"
  local mark=FAIL
  [[ $2 == pass ]] && mark='ok  '
  [[ $2 == n/a ]] && mark='n/a '
  log "$mark $1: $detail"
}

# The run cannot go on (install, start-up): every scenario not reported yet fails with REASON.
abort() {
  log "cannot run: $1"
  write_results "$1"
  exit 0
}

stop_pid() { # PID: TERM, then KILL after 5 s; only processes this script started
  local pid=$1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  return 0
}

stop_apache() {
  [[ -n $APACHE_CONF && -f $WORK/httpd/httpd.pid ]] || return 0
  local pid
  pid=$(cat "$WORK/httpd/httpd.pid" 2>/dev/null)
  (set +u && . /etc/apache2/envvars && apache2 -f "$APACHE_CONF" -k stop) >/dev/null 2>&1
  for _ in $(seq 1 50); do [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  return 0
}

cleanup() {
  local status=$?
  trap - EXIT
  stop_apache
  for pid in "${EXTRA_PIDS[@]}"; do stop_pid "$pid"; done
  stop_pid "$CANDOR_PID"
  if [[ -n $WORK && -d $WORK ]]; then
    cp "$WORK/httpd/logs/error.log" "$ART/apache-error.log" 2>/dev/null
    cp "$WORK/httpd/logs/access.log" "$ART/apache-access.log" 2>/dev/null
    cp "$WORK/candor.log" "$ART/candor.log" 2>/dev/null
  fi
  if [[ -z $WRITTEN ]]; then
    write_results "the runner stopped at step '$STEP' (exit status $status)"
    status=1
  fi
  if [[ -n $WORK && -d $WORK ]]; then
    if [[ -n ${APACHE_INTEROP_KEEP:-} ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
  fi
  log "done in $((SECONDS - STARTED)) s"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- dependencies -----------------------------------------------------------------------------
STEP=install
[[ $(id -u) == 0 ]] || abort "needs root: it installs Debian packages and starts apache2, which drops to www-data"
for tool in node npm curl openssl; do
  command -v "$tool" >/dev/null || abort "'$tool' is not installed"
done
PKGS=()
[[ -x /usr/sbin/apache2 ]] || PKGS+=(apache2)
[[ -f /usr/lib/apache2/modules/mod_auth_openidc.so ]] || PKGS+=(libapache2-mod-auth-openidc)
[[ -x /usr/bin/chromium ]] || PKGS+=(chromium)
if ((${#PKGS[@]})); then
  log "apt-get install ${PKGS[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${PKGS[@]}" >"$ART/apt.log" 2>&1 ||
    { apt-get update -qq >>"$ART/apt.log" 2>&1 && apt-get install -y -qq "${PKGS[@]}" >>"$ART/apt.log" 2>&1; } ||
    abort "apt-get install ${PKGS[*]} failed (see apache/apt.log)"
fi
if [[ ! -f node_modules/playwright-core/package.json ]]; then
  log "npm ci (interop/clients/apache)"
  npm ci --no-audit --no-fund --loglevel=error || abort "npm ci failed in interop/clients/apache"
fi
MOD_VERSION=$(dpkg-query -W -f='${Version}' libapache2-mod-auth-openidc 2>/dev/null)
HTTPD_VERSION=$(apache2 -v 2>/dev/null | sed -n 's/^Server version: Apache\/\([^ ]*\).*/\1/p')
CLIENT_LABEL="apache mod_auth_openidc ${MOD_VERSION:-?} (httpd ${HTTPD_VERSION:-?}, Chromium)"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/candor-apache.XXXXXX") || abort "mktemp failed"
chmod 755 "$WORK" # Apache's children run as www-data and read the CA and pages from here
TSV=$WORK/results.tsv
: >"$TSV"

# --- test CA and server certificate (localhost, 127.0.0.1) ---------------------------------------
STEP=certificates
TLS=$WORK/tls
mkdir -p "$TLS"
{
  openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TLS/ca.key" -out "$TLS/ca.pem" -days 2 \
    -subj "/CN=Candor interop test CA (apache)" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey rsa:2048 -nodes -keyout "$TLS/server.key" -out "$TLS/server.csr" -subj "/CN=localhost" &&
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
      "keyUsage=digitalSignature,keyEncipherment" "extendedKeyUsage=serverAuth" >"$TLS/ext.cnf" &&
    openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.pem" -CAkey "$TLS/ca.key" -CAcreateserial \
      -days 2 -extfile "$TLS/ext.cnf" -out "$TLS/server.pem"
} >"$WORK/openssl.log" 2>&1 || abort "openssl could not make the test certificates: $(tailof 3 "$WORK/openssl.log")"
chmod 600 "$TLS/ca.key" "$TLS/server.key" # read by root only (Candor; Apache loads keys before it drops privileges)
chmod 644 "$TLS/ca.pem" "$TLS/server.pem"
CA=$TLS/ca.pem

# --- Candor with TLS ---------------------------------------------------------------------------
STEP=candor
read -r P_CANDOR P_RP P_INTRO P_BAD P_FOREIGN P_SHORT P_RS256 < <(node tools.mjs ports 7) || abort "no free ports"
ISSUER=https://localhost:$P_CANDOR
DATA=$WORK/candor
mkdir -p "$DATA"
candor_config() { # FILE LISTEN_PORT [EXTRA TOML]
  cat >"$1" <<EOF
[server]
issuer = "$ISSUER"
listen = "127.0.0.1:$2"
tls_cert = "$TLS/server.pem"
tls_key = "$TLS/server.key"
${3:-}
EOF
}
wait_candor() { # PID PORT LOG -> 0 once /healthz answers 200 over TLS
  for _ in $(seq 1 150); do
    curl -fsS --cacert "$CA" -o /dev/null "https://localhost:$2/healthz" 2>/dev/null && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
candor() { "$CANDOR_BIN" --data "$DATA" "$@"; }
# The suite exports CANDOR_ISSUER and CANDOR_DATA for the shared http server; candor itself
# reads those names as --issuer and --data, so this runner's own servers must not see them.
unset CANDOR_ISSUER CANDOR_DATA

candor_config "$WORK/candor.toml" "$P_CANDOR"
"$CANDOR_BIN" --data "$DATA" serve --config "$WORK/candor.toml" >"$WORK/candor.out" 2>"$WORK/candor.log" &
CANDOR_PID=$!
wait_candor "$CANDOR_PID" "$P_CANDOR" ||
  abort "candor serve with TLS did not answer https://localhost:$P_CANDOR/healthz: $(tailof 5 "$WORK/candor.log" "$WORK/candor.out")"
log "$(grep -m1 '^candor listening on' "$WORK/candor.out")"

STEP=register
RP_URL=https://localhost:$P_RP
USERNAME=apache-alice
EMAIL=apache-alice@example.com
PASSWORD=$(openssl rand -base64 18)
candor client create --name apache-rp --client-id apache-rp \
  --redirect-uri "$RP_URL/oidc/callback" --post-logout-redirect-uri "$RP_URL/loggedout.html" \
  --scope "openid profile email offline_access" >"$WORK/rp.json" 2>>"$WORK/cli.log" &&
  candor client create --name apache-api --client-id apache-api --scope "api" >"$WORK/api.json" 2>>"$WORK/cli.log" &&
  candor client create --name apache-rs --client-id apache-rs >"$WORK/rs.json" 2>>"$WORK/cli.log" &&
  printf '%s\n' "$PASSWORD" | candor user create --username "$USERNAME" --password-stdin --email "$EMAIL" \
    --name "Apache Alice" >"$WORK/user.json" 2>>"$WORK/cli.log" ||
  abort "candor client/user create failed: $(tailof 3 "$WORK/cli.log")"
get() { node tools.mjs get "$@"; }
RP_SECRET=$(get "$WORK/rp.json" client_secret)
API_SECRET=$(get "$WORK/api.json" client_secret)
RS_SECRET=$(get "$WORK/rs.json" client_secret)
USER_SUB=$(get "$WORK/user.json" sub)

# --- Apache ------------------------------------------------------------------------------------
STEP=apache
H=$WORK/httpd
mkdir -p "$H/logs" "$H/run"
cp -r "$HERE/htdocs" "$H/htdocs"
chown www-data "$H/logs" "$H/run"
APACHE_CONF=$H/httpd.conf
sed -e "s#@WORK@#$H#g" -e "s#@PASSPHRASE@#$(openssl rand -hex 24)#" -e "s#@CA@#$CA#g" \
  -e "s#@CERT@#$TLS/server.pem#g" -e "s#@KEY@#$TLS/server.key#g" -e "s#@ISSUER@#$ISSUER#g" \
  -e "s#@RP_PORT@#$P_RP#g" -e "s#@INTROSPECT_PORT@#$P_INTRO#g" -e "s#@BADSECRET_PORT@#$P_BAD#g" \
  -e "s#@RP_CLIENT_ID@#apache-rp#g" -e "s#@RP_CLIENT_SECRET@#$RP_SECRET#g" \
  -e "s#@RS_CLIENT_ID@#apache-rs#g" -e "s#@RS_CLIENT_SECRET@#$RS_SECRET#g" \
  -e "s#@BAD_SECRET@#$(openssl rand -base64 32 | tr '+/' '-_' | tr -d '=')#g" \
  "$HERE/httpd.conf.in" >"$APACHE_CONF"
chmod 600 "$APACHE_CONF" # holds the client secrets; read by the root parent only
(set +u && . /etc/apache2/envvars && apache2 -f "$APACHE_CONF" -k start) >"$WORK/apache-start.log" 2>&1 ||
  abort "apache2 -k start failed: $(tailof 5 "$WORK/apache-start.log" "$H/logs/error.log")"
for _ in $(seq 1 100); do
  curl -fsS --cacert "$CA" -o /dev/null "$RP_URL/" 2>/dev/null && break
  sleep 0.1
done
curl -fsS --cacert "$CA" -o /dev/null "$RP_URL/" ||
  abort "Apache does not answer $RP_URL/: $(tailof 5 "$H/logs/error.log")"
log "Apache ${HTTPD_VERSION} + mod_auth_openidc ${MOD_VERSION}: RP and JWT resource server at $RP_URL, introspecting resource server at http://localhost:$P_INTRO, wrong-secret one at http://localhost:$P_BAD"

# --- helpers for the resource-server checks -----------------------------------------------------
token() { # [CANDOR_PORT [CLIENT_ID SECRET]] -> a client_credentials access token
  local port=${1:-$P_CANDOR} id=${2:-apache-api} secret=${3:-$API_SECRET}
  curl -sS --cacert "$CA" -u "$id:$secret" -d grant_type=client_credentials -d scope=api \
    "https://localhost:$port/token" >"$WORK/token.json" 2>>"$WORK/curl.log" &&
    get "$WORK/token.json" access_token
}
# call URL [TOKEN] -> sets CODE, WWW (WWW-Authenticate), BODY
call() {
  local args=(-sS --cacert "$CA" -o "$WORK/body" -D "$WORK/headers" -w '%{http_code}')
  [[ -n ${2:-} ]] && args+=(-H "Authorization: Bearer $2")
  CODE=$(curl "${args[@]}" "$1" 2>>"$WORK/curl.log")
  WWW=$(grep -i '^www-authenticate:' "$WORK/headers" | head -1 | cut -d' ' -f2- | tr -d '\r')
  BODY=$(tr '\n' ' ' <"$WORK/body" | cut -c1-200)
}
API=$RP_URL/api/
INTRO_API=http://localhost:$P_INTRO/api/
BAD_API=http://localhost:$P_BAD/api/

# --- (b) resource server: JWT access tokens validated against /jwks ---------------------------
STEP=rs_jwt_validation
T0=$(token) || abort "no client_credentials token from Candor: $(cat "$WORK/token.json" 2>/dev/null)"
T0_KID=$(node tools.mjs kid "$T0")
T0_ALG=$(node -e 'console.log(JSON.parse(Buffer.from(process.argv[1].split(".")[0],"base64url")).alg)' "$T0")

# An expired token: a second node on the same data directory (same keys) with a 1 s lifetime.
candor_config "$WORK/short.toml" "$P_SHORT" $'[tokens]\naccess_token_ttl = "1s"'
"$CANDOR_BIN" --data "$DATA" serve --config "$WORK/short.toml" >"$WORK/short.out" 2>"$WORK/short.log" &
SHORT_PID=$!
EXTRA_PIDS+=("$SHORT_PID")
T_EXP=
wait_candor "$SHORT_PID" "$P_SHORT" && T_EXP=$(token "$P_SHORT")
stop_pid "$SHORT_PID"
EXP_AT=$SECONDS

# An RS256 access token: a second node on the same data directory (same keys) configured with
# [tokens] access_token_alg = "RS256" (the main node signs with the default ES256).
candor_config "$WORK/rs256.toml" "$P_RS256" $'[tokens]\naccess_token_alg = "RS256"'
"$CANDOR_BIN" --data "$DATA" serve --config "$WORK/rs256.toml" >"$WORK/rs256.out" 2>"$WORK/rs256.log" &
RS256_PID=$!
EXTRA_PIDS+=("$RS256_PID")
T_RS256=
wait_candor "$RS256_PID" "$P_RS256" && T_RS256=$(token "$P_RS256")
stop_pid "$RS256_PID"

# A foreign token: another Candor with its own keys (same issuer name, same client_id).
FDATA=$WORK/foreign
mkdir -p "$FDATA"
T_FOREIGN=
if "$CANDOR_BIN" --data "$FDATA" client create --name apache-api --client-id apache-api --scope api >"$WORK/foreign-api.json" 2>>"$WORK/cli.log"; then
  candor_config "$WORK/foreign.toml" "$P_FOREIGN"
  "$CANDOR_BIN" --data "$FDATA" serve --config "$WORK/foreign.toml" >"$WORK/foreign.out" 2>"$WORK/foreign.log" &
  FOREIGN_PID=$!
  EXTRA_PIDS+=("$FOREIGN_PID")
  wait_candor "$FOREIGN_PID" "$P_FOREIGN" && T_FOREIGN=$(token "$P_FOREIGN" apache-api "$(get "$WORK/foreign-api.json" client_secret)")
  stop_pid "$FOREIGN_PID"
fi

RS_OK=1
RS_DETAIL=()
joined() { local out='' x; for x in "${RS_DETAIL[@]}"; do out+="${out:+; }$x"; done; printf '%s' "$out"; }
expect() { # LABEL WANT_CODE URL [TOKEN]: one check of the resource server
  local label=$1 want=$2
  call "$3" "${4:-}"
  local got="$label -> $CODE"
  [[ $CODE == 401 ]] && got+=" ($WWW)"
  [[ $CODE == 200 ]] && got+=" ('$(sed 's/ *$//' <<<"$BODY")')"
  if [[ $CODE != "$want" ]]; then
    RS_OK=
    got+=" [expected $want]"
  fi
  RS_DETAIL+=("$got")
}
expect "valid $T0_ALG token (kid ${T0_KID:0:8}…)" 200 "$API" "$T0"
if [[ -n $T_RS256 ]]; then
  expect "valid RS256 token (kid $(node tools.mjs kid "$T_RS256" | cut -c1-8)…)" 200 "$API" "$T_RS256"
else
  RS_OK=
  RS_DETAIL+=("could not mint an RS256 token: $(tailof 2 "$WORK/rs256.log")")
fi
expect "no token" 401 "$API"
expect "payload altered (sub=mallory), signature kept" 401 "$API" "$(node tools.mjs tamper "$T0")"
expect "alg=none, no signature" 401 "$API" "$(node tools.mjs alg-none "$T0")"
if [[ -n $T_FOREIGN ]]; then
  expect "foreign token (another Candor's key, unknown kid)" 401 "$API" "$T_FOREIGN"
  expect "foreign token relabelled with Candor's kid" 401 "$API" "$(node tools.mjs graft "$T0" "$T_FOREIGN")"
else
  RS_OK=
  RS_DETAIL+=("could not mint a foreign token: $(tailof 2 "$WORK/foreign.log")")
fi
if [[ -n $T_EXP ]]; then
  while ((SECONDS - EXP_AT < 3)); do sleep 0.5; done # exp = iat + 1 s; mod_auth_openidc allows no leeway on exp
  expect "expired token (access_token_ttl 1s, 3 s later)" 401 "$API" "$T_EXP"
else
  RS_OK=
  RS_DETAIL+=("could not mint a short-lived token: $(tailof 2 "$WORK/short.log")")
fi
result rs_jwt_validation "$([[ -n $RS_OK ]] && echo pass || echo fail)" \
  "AuthType oauth20 + OIDCOAuthVerifyJwksUri $ISSUER/jwks on $API: $(joined)"

# --- introspection: a resource server that introspects (RFC 7662) -----------------------------
STEP=introspection
RS_OK=1
RS_DETAIL=()
expect "valid token" 200 "$INTRO_API" "$T0"
expect "random string" 401 "$INTRO_API" "$(openssl rand -hex 24)"
expect "payload altered" 401 "$INTRO_API" "$(node tools.mjs tamper "$T0")"
result introspection "$([[ -n $RS_OK ]] && echo pass || echo fail)" \
  "AuthType oauth20 + OIDCOAuthIntrospectionEndpoint $ISSUER/introspect (client_secret_basic as apache-rs, no result cache) on $INTRO_API: $(joined)"

# --- revocation, seen by the introspecting resource server -----------------------------------
STEP=revocation
RS_OK=1
RS_DETAIL=()
T_REV=$(token)
expect "fresh token" 200 "$INTRO_API" "$T_REV"
REV_CODE=$(curl -sS --cacert "$CA" -o /dev/null -w '%{http_code}' -u "apache-api:$API_SECRET" -d token="$T_REV" "$ISSUER/revoke" 2>>"$WORK/curl.log")
[[ $REV_CODE == 200 ]] || RS_OK=
RS_DETAIL+=("POST /revoke -> $REV_CODE")
expect "the same token after revocation" 401 "$INTRO_API" "$T_REV"
call "$API" "$T_REV" # the JWT-validating host cannot know: expected, reported as a fact
RS_DETAIL+=("(the locally JWT-validating host still answers $CODE for it until it expires, as any offline validator)")
result revocation "$([[ -n $RS_OK ]] && echo pass || echo fail)" "introspecting resource server: $(joined)"

# --- wrong client secret: mod_auth_openidc authenticates to /introspect with a wrong one -----
STEP=error_wrong_client_secret
MARK=$(wc -l <"$H/logs/error.log")
call "$BAD_API" "$T0"
sleep 0.2
ERR=$(tail -n +"$((MARK + 1))" "$H/logs/error.log" | grep -o 'entry with value: ""[^"]*""' | sed 's/entry with value: ""//; s/""$//' | paste -sd' ' -)
if [[ $CODE == 401 && $ERR == *invalid_client* ]]; then
  result error_wrong_client_secret pass "resource server introspecting as apache-rs with a wrong OIDCOAuthClientSecret: Candor answered invalid_client (401) and mod_auth_openidc logged error='$(cut -d' ' -f1 <<<"$ERR")' with error_description '$(cut -d' ' -f2- <<<"$ERR")'; the bearer client got $CODE ($WWW)"
else
  result error_wrong_client_secret fail "wrong OIDCOAuthClientSecret for /introspect: the bearer client got $CODE ($WWW); mod_auth_openidc logged: '${ERR:-no error entry}'"
fi

# --- what mod_auth_openidc cannot do ---------------------------------------------------------
result client_credentials n/a "mod_auth_openidc has no client_credentials client: it is a relying party and a resource server (the resource-server rows use Candor client_credentials tokens fetched with curl)"
result error_replayed_code n/a "mod_auth_openidc redeems each code once; a replayed callback is refused by its own single-use state cookie before any code reaches Candor"
result error_wrong_pkce_verifier n/a "mod_auth_openidc makes and sends its own code_verifier; no setting makes it send another"

# --- (a) relying party in Chromium: sign-in, refresh, key rotation, logout ---------------------
STEP=browser
log "Chromium through Apache (browser.mjs)"
env RP_URL="$RP_URL" ISSUER="$ISSUER" CANDOR_BIN="$CANDOR_BIN" CANDOR_DATA="$DATA" \
  USERNAME="$USERNAME" PASSWORD="$PASSWORD" EXPECTED_SUB="$USER_SUB" EXPECTED_EMAIL="$EMAIL" \
  RP_CLIENT_ID=apache-rp RS_CLIENT_ID=apache-rs RS_CLIENT_SECRET="$RS_SECRET" \
  OUT="$WORK/browser.json" SHOTS="$ART" NODE_EXTRA_CA_CERTS="$CA" \
  timeout --kill-after=5 180 node "$HERE/browser.mjs"
BROWSER_RC=$?
((BROWSER_RC == 0)) || log "browser.mjs exited with status $BROWSER_RC"
CLIENT_LABEL="apache mod_auth_openidc ${MOD_VERSION:-?} (httpd ${HTTPD_VERSION:-?}, Chromium $(get "$WORK/browser.json" facts.chromium 2>/dev/null || echo ?))"

# --- key rotation, seen by the JWT-validating resource server -----------------------------------
STEP=key_rotation
RS_OK=1
RS_DETAIL=()
T_NEW=
for _ in $(seq 1 30); do # browser.mjs rotated the keys; wait until this server signs with the new one
  T_NEW=$(token)
  [[ -n $T_NEW && $(node tools.mjs kid "$T_NEW") != "$T0_KID" ]] && break
  sleep 0.5
done
T_NEW_KID=$(node tools.mjs kid "${T_NEW:-x.x.x}" 2>/dev/null)
if [[ -n $T_NEW_KID && $T_NEW_KID != "$T0_KID" ]]; then
  expect "new token (kid ${T_NEW_KID:0:8}…, after 'candor keys rotate')" 200 "$API" "$T_NEW"
  expect "pre-rotation token (kid ${T0_KID:0:8}…, retired key still published)" 200 "$API" "$T0"
else
  RS_OK=
  RS_DETAIL+=("Candor still signs access tokens with kid ${T0_KID:0:8}… (were the keys rotated? browser.mjs exit $BROWSER_RC)")
fi
result key_rotation "$([[ -n $RS_OK ]] && echo pass || echo fail)" "JWT resource server (JWKS cached by mod_auth_openidc, refetched on an unknown kid): $(joined)"

STEP=results
write_results "not reported (runner bug)"
log "wrote $OUT in $((SECONDS - STARTED)) s"
