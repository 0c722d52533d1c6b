#!/usr/bin/env bash
# The gateway in front of a foreign issuer: node oidc-provider 9 (bench/node/server.mjs) issues
# RFC 9068 JWT access tokens; `candor gateway` must accept them through oidc-provider's
# discovery and JWKS, forward the caller's identity, and refuse the rest with named codes.
#
#   CANDOR_BIN=target/debug/candor interop/gateway/foreign.sh [RESULTS_DIR]
#
# Exit 0 when every check passed, 1 otherwise (each check prints one line).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
RESULTS=${1:-$(mktemp -d)}
mkdir -p "$RESULTS"
: "${CANDOR_BIN:?set CANDOR_BIN to the candor binary}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/candor-gateway-foreign.XXXXXX")
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

if [[ ! -d $ROOT/bench/node/node_modules ]]; then
  (cd "$ROOT/bench/node" && npm ci --no-audit --no-fund --loglevel=error) >&2
fi

OP_PORT=$(free_port); UP_PORT=$(free_port); GW_PORT=$(free_port); ADMIN_PORT=$(free_port)
SECRET=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
node "$ROOT/bench/node/server.mjs" --port "$OP_PORT" --alg ES256 --client-id shop \
  --client-secret "$SECRET" >"$RESULTS/gateway-foreign-op.log" 2>&1 &
PIDS+=($!)

# An upstream that answers with the request's headers, as JSON.
cat >"$WORK/upstream.py" <<'PY'
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class Echo(BaseHTTPRequestHandler):
    def do_GET(self):
        body = json.dumps({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", int(sys.argv[1])), Echo).serve_forever()
PY
python3 "$WORK/upstream.py" "$UP_PORT" &
PIDS+=($!)

cat >"$WORK/gateway.toml" <<TOML
[gateway]
listen = "127.0.0.1:$GW_PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"

[[gateway.issuers]]
issuer = "http://127.0.0.1:$OP_PORT"
audiences = ["https://api.bench.invalid/"]
algorithms = ["ES256"]

[[gateway.routes]]
name = "api"
upstreams = [{ url = "http://127.0.0.1:$UP_PORT" }]
scopes = ["read"]
TOML

for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$OP_PORT/.well-known/openid-configuration" 2>/dev/null && break
  sleep 0.1
done
"$CANDOR_BIN" gateway --config "$WORK/gateway.toml" >"$RESULTS/gateway-foreign.stdout" 2>"$RESULTS/gateway-foreign.log" &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" 2>/dev/null && break
  sleep 0.1
done

status=0
check() { # name, expected, actual
  if [[ $2 == "$3" ]]; then
    echo "[gateway foreign] ok   $1"
  else
    echo "[gateway foreign] FAIL $1: expected '$2', got '$3'"
    status=1
  fi
}
TOKEN=$(curl -fsS -u "shop:$SECRET" -d grant_type=client_credentials -d scope=read \
  "http://127.0.0.1:$OP_PORT/token" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
GW="http://127.0.0.1:$GW_PORT"
body=$(curl -sS -H "Authorization: Bearer $TOKEN" "$GW/things/1")
check "an oidc-provider JWT access token is accepted" "shop" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["headers"].get("x-candor-client-id"))' "$body")"
check "its issuer is forwarded" "http://127.0.0.1:$OP_PORT" \
  "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["headers"].get("x-candor-issuer"))' "$body")"
diag() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("diagnosis"))' "$1"; }
check "no token: token.missing" "token.missing" "$(diag "$(curl -sS "$GW/things/1")")"
TAMPERED=$(python3 - "$TOKEN" <<'PY'
import base64, json, sys
h, p, s = sys.argv[1].split(".")
claims = json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))
claims["scope"] = "read admin"
p = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
print(".".join([h, p, s]))
PY
)
check "altered claims: token.signature" "token.signature" \
  "$(diag "$(curl -sS -H "Authorization: Bearer $TAMPERED" "$GW/things/1")")"
check "the metrics count the accepted request" "1" \
  "$(curl -sS "http://127.0.0.1:$ADMIN_PORT/metrics" | grep -c 'candor_gateway_requests_total{route="api",status="200",diagnosis=""} 1' || true)"
exit $status
