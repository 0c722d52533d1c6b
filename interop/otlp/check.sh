#!/usr/bin/env bash
# The call log's OTLP export read by the OpenTelemetry project's own protobuf definitions:
# `candor gateway` with [calls.otlp] pointed at receiver.py, some traffic, a shutdown, then
# every log record and span must have parsed strictly and say what the calls were.
#
#   CANDOR_BIN=target/debug/candor interop/otlp/check.sh [RESULTS_DIR]
#
# Exit 0 when every check passed, 1 otherwise (each check prints one line).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
RESULTS=${1:-$(mktemp -d)}
mkdir -p "$RESULTS"
: "${CANDOR_BIN:?set CANDOR_BIN to the candor binary}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PIDS=()
WORK=$(mktemp -d "${TMPDIR:-/tmp}/candor-otlp.XXXXXX")
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# The venv is rebuilt when requirements.txt changes (its copy inside the venv differs).
if ! cmp -s "$HERE/requirements.txt" "$HERE/.venv/requirements.txt" 2>/dev/null; then
  echo "[otlp] creating interop/otlp/.venv" >&2
  rm -rf "$HERE/.venv"
  python3 -m venv "$HERE/.venv"
  "$HERE/.venv/bin/pip" install --quiet --disable-pip-version-check -r "$HERE/requirements.txt"
  cp "$HERE/requirements.txt" "$HERE/.venv/requirements.txt"
fi

OTLP_PORT=$(free_port); UP_PORT=$(free_port); GW_PORT=$(free_port); ADMIN_PORT=$(free_port)
OUT="$RESULTS/otlp-received.jsonl"
: >"$OUT"
"$HERE/.venv/bin/python" "$HERE/receiver.py" "$OTLP_PORT" "$OUT" &
PIDS+=($!)
mkdir -p "$WORK/www/orders" && echo '{"id": 7}' >"$WORK/www/orders/7"
python3 -m http.server "$UP_PORT" --bind 127.0.0.1 --directory "$WORK/www" >/dev/null 2>&1 &
PIDS+=($!)
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$UP_PORT/orders/7" 2>/dev/null && break
  sleep 0.1
done

cat >"$WORK/gw.toml" <<TOML
[calls]
database = "sqlite://$WORK/calls.db"
node = "interop-gw"

[calls.otlp]
endpoint = "http://127.0.0.1:$OTLP_PORT"
headers = { "x-api-key" = "env:OTLP_TEST_KEY" }

[gateway]
listen = "127.0.0.1:$GW_PORT"
admin_listen = "127.0.0.1:$ADMIN_PORT"

[[gateway.routes]]
name = "orders"
match = { path_prefix = "/orders" }
upstreams = [{ url = "http://127.0.0.1:$UP_PORT" }]
auth = "none"
TOML
OTLP_TEST_KEY=interop-key-1 "$CANDOR_BIN" --data "$WORK/data" gateway --config "$WORK/gw.toml" \
  >"$RESULTS/otlp-gateway.stdout" 2>"$RESULTS/otlp-gateway.log" &
GW=$!
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "http://127.0.0.1:$ADMIN_PORT/healthz" 2>/dev/null && break
  sleep 0.1
done
for i in $(seq 1 10); do curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/orders/7"; done
curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/orders/7?access_token=SECRET-IN-QUERY"
curl -s -o /dev/null -H "traceparent: 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01" \
  "http://127.0.0.1:$GW_PORT/orders/7"
curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/orders/missing"
curl -s -o /dev/null "http://127.0.0.1:$GW_PORT/elsewhere"
# SIGTERM: the gateway writes and exports what it holds before it exits.
kill -TERM "$GW"
wait "$GW" || true

python3 - "$OUT" <<'PY'
import json, sys
entries = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
fails = 0
def check(ok, what):
    global fails
    print(("ok    " if ok else "FAIL  ") + what)
    fails += 0 if ok else 1
logs = [e for e in entries if e["path"] == "/v1/logs"]
traces = [e for e in entries if e["path"] == "/v1/traces"]
check(logs and traces, f"the collector was sent logs ({len(logs)} requests) and traces ({len(traces)})")
problems = [p for e in entries for p in e["problems"]]
check(not problems, "every request parsed strictly with opentelemetry-proto's definitions" + (f": {problems[:3]}" if problems else ""))
check(all(e["content_type"] == "application/json" for e in entries), "sent as application/json")
check(all(e["api_key"] == "interop-key-1" for e in entries), "with the configured header, read from the environment")
records = [i for e in logs for i in e.get("items", [])]
spans = [i for e in traces for i in e.get("items", [])]
check(len(records) == 14 and len(spans) == 14, f"14 calls, 14 log records ({len(records)}) and 14 spans ({len(spans)})")
statuses = sorted(int(r["attributes"]["http.response.status_code"]["intValue"]) for r in records)
check(statuses == [200] * 12 + [404, 404], f"statuses as the gateway answered: {statuses}")
routes = sorted(r["attributes"]["candor.route"]["stringValue"] for r in records)
check(routes.count("orders") == 13 and routes.count("-") == 1, "the route of each call ('-' for none)")
check(all(r["attributes"]["url.path"]["stringValue"].startswith("/") and "?" not in r["attributes"]["url.path"]["stringValue"] for r in records), "paths without their query")
check(not any("SECRET-IN-QUERY" in e["raw"] for e in entries), "the query string's token never left Candor")
check(all(logs[0]["resource"].get(k) == v for k, v in {"service.name": "candor", "service.instance.id": "interop-gw"}.items()), "the resource names the service and the node")
check(all(s["kind"] == 2 and s["end"] >= s["start"] > 0 for s in spans), "server spans that end after they start")
joined = [s for s in spans if s["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"]
check(len(joined) == 1 and joined[0]["parent_span_id"] == "00f067aa0ba902b7", "the call with a traceparent is a span of the caller's trace, its parent the caller's span")
check(len({s["trace_id"] for s in spans}) == 14 and sum(1 for s in spans if s["parent_span_id"]) == 1, "the others, a trace each, without a parent")
sys.exit(1 if fails else 0)
PY
