#!/usr/bin/env bash
# Console runner of the interop suite (see interop/README.md): the console (/admin) of the shared
# `candor serve --dev` in headless Chromium (Debian's, through playwright-core) with axe-core ->
# $RESULTS_DIR/console.json, artifacts (screenshots, axe reports) in $RESULTS_DIR/console/. Needs
# CANDOR_BIN, CANDOR_DATA, CANDOR_ISSUER and RESULTS_DIR from interop/run.sh. Exits non-zero only
# when the script crashed; failed scenarios are in the result file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${CANDOR_BIN:?CANDOR_BIN is not set: run through interop/run.sh (see interop/README.md)}"
: "${RESULTS_DIR:?RESULTS_DIR is not set: run through interop/run.sh (see interop/README.md)}"
# node_modules is reinstalled when package-lock.json changes (npm keeps its copy inside).
if ! cmp -s package-lock.json node_modules/.package-lock.json.installed 2>/dev/null; then
  npm ci --no-audit --no-fund --loglevel=error
  cp package-lock.json node_modules/.package-lock.json.installed
fi
if [[ ! -x ${CHROMIUM_PATH:-/usr/bin/chromium} ]]; then
  echo "[console] installing Debian's chromium" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }
fi
STARTED=$SECONDS
status=0
node console.mjs || { echo "[console] console.mjs crashed (exit $?)" >&2; status=1; }
echo "[console] done in $((SECONDS - STARTED)) s"
exit "$status"
