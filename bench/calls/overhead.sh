#!/usr/bin/env bash
# The call log's cost on the gateway's throughput: the same gateway, the same route and upstream,
# with [calls] on (SQLite) and off, measured alternately (ABABAB) with wrk, on one machine in
# one run. Writes bench/out/calls/overhead.json (git-ignored) and prints a summary: the
# throughput cost (each "on" against the "off" runs either side of it, median) and the
# gateway's CPU time per request, on and off.
#
# Settings: BENCH_SECONDS (default 8), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (default 32),
# CANDOR_BIN (default target/release/candor). Needs wrk and nginx (Debian packages).
set -Eeuo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT="$ROOT/bench/out/calls"
BIN=${CANDOR_BIN:-$ROOT/target/release/candor}
SECONDS_EACH=${BENCH_SECONDS:-8}
ROUNDS=${BENCH_ROUNDS:-3}
CONNS=${BENCH_CONNECTIONS:-32}
UP=28101 GW=28102 ADMIN=28103
rm -rf "$OUT" && mkdir -p "$OUT/upstream/tmp"
sed -e "s|@DIR@|$OUT/upstream|g" -e "s|@PORT@|$UP|g" "$ROOT/bench/gateway/conf/upstream-nginx.conf" >"$OUT/upstream/nginx.conf"
nginx -c "$OUT/upstream/nginx.conf" &
NGINX=$!
trap 'kill $NGINX 2>/dev/null; kill $GWPID 2>/dev/null || true' EXIT
GWPID=
config() { # $1 = on|off
  cat <<TOML
[calls]
enabled = $([[ $1 == on ]] && echo true || echo false)
database = "sqlite://$OUT/calls.db"

[gateway]
listen = "127.0.0.1:$GW"
admin_listen = "127.0.0.1:$ADMIN"
# wrk's connections all come from one address: no per-address share here.
max_connections_per_address = 0

[[gateway.routes]]
name = "bench"
match = { path_prefix = "/" }
upstreams = [{ url = "http://127.0.0.1:$UP" }]
auth = "none"
TOML
}
run() { # $1 = on|off; prints req/s
  config "$1" >"$OUT/gw-$1.toml"
  "$BIN" --data "$OUT/data" gateway --config "$OUT/gw-$1.toml" >/dev/null 2>"$OUT/gw-$1.log" &
  GWPID=$!
  # run is a pipeline's subshell: its own trap stops its gateway when wrk fails.
  trap 'kill $GWPID 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$ADMIN/healthz" >/dev/null && break; sleep 0.1; done
  wrk -t1 -c"$CONNS" -d2s "http://127.0.0.1:$GW/" >/dev/null
  local rps cpu0 cpu1
  # The gateway's CPU time (user + system, clock ticks) around the measured run.
  cpu0=$(awk '{print $14 + $15}' "/proc/$GWPID/stat")
  rps=$(wrk -t1 -c"$CONNS" -d"${SECONDS_EACH}s" "http://127.0.0.1:$GW/" | awk '/Requests\/sec/ {print $2}')
  cpu1=$(awk '{print $14 + $15}' "/proc/$GWPID/stat")
  sleep 1.5
  local dropped written
  dropped=$(curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^candor_calls_dropped_total/ {print $2}')
  written=$(curl -s "http://127.0.0.1:$ADMIN/metrics" | awk '/^candor_calls_written_total/ {print $2}')
  kill "$GWPID"; wait "$GWPID" 2>/dev/null || true
  # CPU µs per request (ticks are 1/100 s on Linux; the run lasted SECONDS_EACH at rps).
  echo "$1 $rps ${dropped:-0} ${written:-0} $(( (cpu1 - cpu0) * 10000 )) $(awk -v r="$rps" -v s="$SECONDS_EACH" 'BEGIN {print r * s}')"
}
: >"$OUT/rounds.txt"
for _ in $(seq 1 "$ROUNDS"); do
  run off | tee -a "$OUT/rounds.txt"
  rm -f "$OUT"/calls.db*
  run on | tee -a "$OUT/rounds.txt"
done
run off | tee -a "$OUT/rounds.txt"
python3 - "$OUT/rounds.txt" "$OUT/overhead.json" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
off = [float(r[1]) for r in rows if r[0] == "off"]
on = [float(r[1]) for r in rows if r[0] == "on"]
drops = [int(float(r[2])) for r in rows if r[0] == "on"]
# Gateway CPU µs per request.
cpu = {m: [float(r[4]) / float(r[5]) for r in rows if r[0] == m] for m in ("off", "on")}
written = [int(float(r[3])) for r in rows if r[0] == "on"]
res = {"off_rps": off, "on_rps": on, "on_dropped": drops, "on_written": written,
       "median_off": statistics.median(off), "median_on": statistics.median(on)}
# The machine's speed drifts over a run (a shared host): each "on" is compared with the mean
# of the "off" runs either side of it, and the median of those costs is the result.
pairs = []
for i, v in enumerate(on):
    near = off[i:i + 2]
    pairs.append(1 - v / (sum(near) / len(near)))
res["paired_costs_percent"] = [round(100 * c, 1) for c in pairs]
res["cost_percent"] = round(100 * statistics.median(pairs), 1)
res["cpu_us_per_request_off"] = [round(c, 2) for c in cpu["off"]]
res["cpu_us_per_request_on"] = [round(c, 2) for c in cpu["on"]]
cpu_pairs = []
for i, v in enumerate(cpu["on"]):
    near = cpu["off"][i:i + 2]
    cpu_pairs.append(v / (sum(near) / len(near)) - 1)
res["cpu_cost_percent"] = round(100 * statistics.median(cpu_pairs), 1)
json.dump(res, open(sys.argv[2], "w"), indent=1)
print(json.dumps(res))
PY
