#!/usr/bin/env bash
# Python runner of the interop suite (see interop/run.sh): Authlib's requests client against
# the running Candor -> $RESULTS_DIR/python.json. Needs CANDOR_BIN, CANDOR_DATA, CANDOR_ISSUER
# and RESULTS_DIR. Exits non-zero only when the runner itself crashed; failed scenarios are in
# the result file.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
: "${CANDOR_BIN:?}" "${CANDOR_DATA:?}" "${CANDOR_ISSUER:?}" "${RESULTS_DIR:?}"

# The venv is rebuilt when requirements.txt changes (its copy inside the venv differs).
if ! cmp -s requirements.txt .venv/requirements.txt 2>/dev/null; then
  echo "[python] creating .venv and installing requirements.txt" >&2
  rm -rf .venv
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
  cp requirements.txt .venv/requirements.txt
fi
# Candor runs on plain http on loopback in this suite: Authlib's documented switch for that.
export AUTHLIB_INSECURE_TRANSPORT=1
exec .venv/bin/python interop.py
