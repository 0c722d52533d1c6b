#!/usr/bin/env bash
# Interop runner: property-based fuzzing of Candor's admin API from its OpenAPI document with
# schemathesis (PyPI). Unlike the other runners it does not use the suite's shared server: it
# starts a Candor of its own (`serve --dev`, fresh data directory, free port), registers a service
# client with scope candor:admin and one with candor:admin:read through the CLI, and fuzzes
# /admin/api/v1 without a token, as the viewer and as the admin (fuzz.py, hooks.py).
#
# Environment (set by interop/run.sh; see interop/README.md): CANDOR_BIN, RESULTS_DIR.
# Writes $RESULTS_DIR/schemathesis.json, artifacts under $RESULTS_DIR/schemathesis/. Exits 0
# once the result file is written, whatever the outcomes.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${CANDOR_BIN:?CANDOR_BIN is not set: run through interop/run.sh (see interop/README.md)}"
: "${RESULTS_DIR:?RESULTS_DIR is not set: run through interop/run.sh (see interop/README.md)}"
mkdir -p "$RESULTS_DIR"
RESULTS_DIR=$(cd "$RESULTS_DIR" && pwd)
# The suite's CANDOR_ISSUER / CANDOR_DATA belong to the shared server: candor reads them as
# --issuer and --data, so this runner's own server and CLI calls must not see them.
unset CANDOR_ISSUER CANDOR_DATA
export CANDOR_BIN RESULTS_DIR
STARTED=$SECONDS

fallback() { # REASON: every scenario fails with it (used only when fuzz.py could not write the file)
  python3 - "$RESULTS_DIR/schemathesis.json" "$1" <<'PY'
import json, sys
reason = " ".join(sys.argv[2].split())
json.dump({"client": "schemathesis", "results": [
    {"scenario": s, "status": "fail", "detail": reason}
    for s in ("admin-api-fuzz-anonymous", "admin-api-fuzz-viewer", "admin-api-fuzz-admin")]},
    open(sys.argv[1], "w"))
PY
}

# The venv is rebuilt when requirements.txt changes (its copy inside the venv differs).
if ! cmp -s requirements.txt .venv/requirements.txt 2>/dev/null; then
  echo "[schemathesis] creating .venv and installing requirements.txt" >&2
  rm -rf .venv
  if ! { python3 -m venv .venv &&
    .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt; }; then
    fallback "could not install requirements.txt into interop/clients/schemathesis/.venv"
    exit 0
  fi
  cp requirements.txt .venv/requirements.txt
fi

rm -f "$RESULTS_DIR/schemathesis.json"
set +e
.venv/bin/python fuzz.py
rc=$?
set -e
if [[ ! -s $RESULTS_DIR/schemathesis.json ]]; then
  fallback "fuzz.py exited $rc without writing a result file (see schemathesis.log)"
  rc=1
fi
echo "[schemathesis] done in $((SECONDS - STARTED)) s"
exit "$rc"
