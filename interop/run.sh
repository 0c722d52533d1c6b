#!/usr/bin/env bash
# The interoperability suite: third-party OAuth/OIDC clients against one real `candor serve
# --dev`. See interop/README.md (the runner contract) and docs/interop.md (the matrix, rewritten
# by every run).
#
#   interop/run.sh
#
# Environment (all optional):
#   CANDOR_BIN       use this candor binary instead of `cargo build --release -p candor`
#   RESULTS_DIR      where results, logs, screenshots and HARs go (default interop/results,
#                    emptied first)
#   INTEROP_CLIENTS  space-separated client directories to run (default: every
#                    interop/clients/*/run.sh), e.g. "node"
#   INTEROP_TIMEOUT  seconds a client runner may take before it counts as crashed (default 300)
#
# Exit status: 0 when every scenario passed (or is n/a), 1 when a scenario failed or a client
# runner crashed, 2 when the suite itself could not run (build, install or server start).
set -euo pipefail

INTEROP=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$INTEROP/.." && pwd)
RESULTS_DIR=${RESULTS_DIR:-$INTEROP/results}
TIMEOUT=${INTEROP_TIMEOUT:-300}
STARTED=$SECONDS

log() { printf '\n[interop] %s\n' "$*" >&2; }
die() { printf '[interop] FAIL: %s\n' "$*" >&2; exit 2; }

# --- cleanup: the server and the data directory, whatever happens --------------------------
CANDOR_PID=
DATA_DIR=
cleanup() {
  local status=$?
  trap - EXIT
  if [[ -n $CANDOR_PID ]] && kill -0 "$CANDOR_PID" 2>/dev/null; then
    kill -TERM "$CANDOR_PID" 2>/dev/null || true
    wait "$CANDOR_PID" 2>/dev/null || true
  fi
  [[ -n $DATA_DIR ]] && rm -rf "$DATA_DIR"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

rm -rf "$RESULTS_DIR"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)

# --- which client runners --------------------------------------------------------------------
RUNNERS=()
if [[ -n ${INTEROP_CLIENTS:-} ]]; then
  for name in $INTEROP_CLIENTS; do
    [[ -x $INTEROP/clients/$name/run.sh ]] || die "no executable interop/clients/$name/run.sh"
    RUNNERS+=("$name")
  done
else
  for runner in "$INTEROP"/clients/*/run.sh; do
    [[ -e $runner ]] && RUNNERS+=("$(basename "$(dirname "$runner")")")
  done
fi
((${#RUNNERS[@]})) || die "no client runners under interop/clients/*/run.sh"
log "client runners: ${RUNNERS[*]}"

# --- what the Node part needs ----------------------------------------------------------------
if [[ " ${RUNNERS[*]} " == *" node "* ]]; then
  log "npm ci (interop/clients/node)"
  (cd "$INTEROP/clients/node" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed"
  if [[ ! -x /usr/bin/chromium ]]; then
    log "installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq chromium >/dev/null \
      || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
      || die "could not install chromium"
  fi
fi

# The Rust client compiles before the clock of its runner starts.
if [[ " ${RUNNERS[*]} " == *" rust "* ]]; then
  log "building the Rust client (interop/clients/rust)"
  "$INTEROP/clients/rust/run.sh" --build-only || die "the Rust client does not build"
fi

# --- candor ----------------------------------------------------------------------------------
if [[ -z ${CANDOR_BIN:-} ]]; then
  log "cargo build --release -p candor"
  (cd "$ROOT" && cargo build --release -p candor) || die "cargo build failed"
  CANDOR_BIN=$ROOT/target/release/candor
fi
[[ -x $CANDOR_BIN ]] || die "CANDOR_BIN=$CANDOR_BIN is not executable"
CANDOR_BIN=$(cd "$(dirname "$CANDOR_BIN")" && pwd)/$(basename "$CANDOR_BIN")
BUILT=$SECONDS

DATA_DIR=$(mktemp -d "${TMPDIR:-/tmp}/candor-interop.XXXXXX")
log "starting candor serve --dev (data $DATA_DIR)"
"$CANDOR_BIN" --data "$DATA_DIR" serve --dev --listen 127.0.0.1:0 \
  >"$RESULTS_DIR/candor.stdout" 2>"$RESULTS_DIR/candor.log" &
CANDOR_PID=$!
ISSUER=
for _ in $(seq 1 300); do
  if line=$(grep -m1 '^candor listening on ' "$RESULTS_DIR/candor.stdout" 2>/dev/null); then
    # candor listening on http://ADDR (issuer URL)
    ISSUER=$(sed -E 's/.*\((issuer )?([^)]+)\).*/\2/' <<<"$line")
    break
  fi
  kill -0 "$CANDOR_PID" 2>/dev/null || { tail -20 "$RESULTS_DIR/candor.log" >&2; die "candor exited at start-up"; }
  sleep 0.1
done
[[ -n $ISSUER ]] || die "candor did not print 'candor listening on …' within 30 s"
for _ in $(seq 1 100); do
  curl -fsS -o /dev/null "$ISSUER/healthz" 2>/dev/null && break
  sleep 0.1
done
curl -fsS -o /dev/null "$ISSUER/healthz" || die "$ISSUER/healthz does not answer 200"
log "candor is ready at $ISSUER"

export CANDOR_BIN RESULTS_DIR
export CANDOR_DATA=$DATA_DIR
export CANDOR_ISSUER=$ISSUER

# --- the client runners, one after the other ---------------------------------------------------
RUNNER_ARGS=()
for name in "${RUNNERS[@]}"; do
  log "client runner: $name"
  t0=$SECONDS
  set +e
  timeout --kill-after=10 "$TIMEOUT" "$INTEROP/clients/$name/run.sh" 2>&1 | tee "$RESULTS_DIR/$name.log"
  rc=${PIPESTATUS[0]}
  set -e
  [[ $rc == 124 ]] && echo "[interop] $name: timed out after ${TIMEOUT}s" | tee -a "$RESULTS_DIR/$name.log" >&2
  log "$name: exit $rc after $((SECONDS - t0)) s"
  RUNNER_ARGS+=(--runner "$name=$rc")
done

log "stopping candor"
kill -TERM "$CANDOR_PID" 2>/dev/null || true
wait "$CANDOR_PID" 2>/dev/null || true
CANDOR_PID=

# --- the matrix ---------------------------------------------------------------------------------
set +e
# `candor --version` names the commit it was built from; the tree's state says whether the
# run's own outputs (this page, the captures) were being rewritten as it ran.
VERSION="$("$CANDOR_BIN" --version 2>/dev/null || echo candor)"
python3 "$INTEROP/aggregate.py" --results "$RESULTS_DIR" --doc "$ROOT/docs/interop.md" \
  --seconds "$((SECONDS - BUILT))" --candor "$VERSION" "${RUNNER_ARGS[@]}"
status=$?
# The doctor reads the capture Chromium just recorded: a healthy login must read as healthy.
if [[ -f $RESULTS_DIR/chromium/candor-login.har ]]; then
  log "candor doctor har on the fresh Chromium capture"
  "$CANDOR_BIN" doctor har "$RESULTS_DIR/chromium/candor-login.har" >"$RESULTS_DIR/doctor-har.txt" 2>&1
  doctor_rc=$?
  if [[ $doctor_rc != 0 ]]; then
    cat "$RESULTS_DIR/doctor-har.txt" >&2
    log "FAIL: candor doctor har exited $doctor_rc on a healthy Candor login"
    status=1
  else
    log "candor doctor: no problems in the fresh capture"
  fi
fi
# The gateway in front of a foreign issuer (node oidc-provider): its JWT access tokens must
# pass through candor gateway, and altered ones must not.
log "candor gateway in front of node oidc-provider"
if ! "$INTEROP/gateway/foreign.sh" "$RESULTS_DIR" 2>&1 | tee "$RESULTS_DIR/gateway-foreign.txt"; then
  log "FAIL: the gateway in front of node oidc-provider"
  status=1
fi
# The call log's OTLP export, read by the OpenTelemetry project's own protobuf definitions.
log "the call log's OTLP export (opentelemetry-proto)"
if ! "$INTEROP/otlp/check.sh" "$RESULTS_DIR" 2>&1 | tee "$RESULTS_DIR/otlp.txt"; then
  log "FAIL: the OTLP export"
  status=1
fi
set -e
log "done in $((SECONDS - STARTED)) s ($((SECONDS - BUILT)) s after the build); results in $RESULTS_DIR"
exit "$status"
