#!/usr/bin/env bash
# Node runner of the interop suite (see interop/README.md): openid-client 6 -> node.json,
# headless Chromium (issue 3) -> chromium.json. Needs CANDOR_BIN, CANDOR_DATA, CANDOR_ISSUER
# and RESULTS_DIR from interop/run.sh. Exits non-zero only when a script crashed; failed
# scenarios are in the result files.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
[[ -d node_modules ]] || npm ci --no-audit --no-fund
status=0
node openid-client.mjs || { echo "[node] openid-client.mjs crashed (exit $?)" >&2; status=1; }
node chromium.mjs || { echo "[node] chromium.mjs crashed (exit $?)" >&2; status=1; }
exit "$status"
