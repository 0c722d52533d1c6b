#!/usr/bin/env bash
# Rust runner of the interop suite (see interop/run.sh): the openidconnect 4 and oauth2 5
# crates against the running Candor -> $RESULTS_DIR/rust.json. Needs CANDOR_BIN, CANDOR_DATA,
# CANDOR_ISSUER and RESULTS_DIR. Exits non-zero only when the runner itself crashed (or did not
# build); failed scenarios are in the result file.
#
# `run.sh --build-only` just compiles (a cold build of the crates takes a few minutes on two
# cores; later builds reuse target/interop-rust).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
HERE=$(pwd)
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HERE/../../../target/interop-rust}

if ! cargo build --locked --quiet --bin interop-rust; then
  echo "[rust] cargo build failed" >&2
  if [[ ${1:-} != --build-only && -n ${RESULTS_DIR:-} ]]; then
    python3 - "$RESULTS_DIR/rust.json" <<'PY'
import json, sys
ids = ["discovery", "client_credentials", "authorization_code_pkce", "id_token_validation",
       "userinfo", "refresh_rotation", "introspection", "revocation", "rp_logout", "key_rotation",
       "error_replayed_code", "error_wrong_pkce_verifier", "error_wrong_client_secret"]
doc = {"client": "openidconnect + oauth2 (did not build)",
       "results": [{"scenario": i, "status": "fail", "detail": "interop-rust did not build"} for i in ids]}
open(sys.argv[1], "w").write(json.dumps(doc, indent=2) + "\n")
PY
  fi
  exit 1
fi
[[ ${1:-} == --build-only ]] && exit 0
: "${CANDOR_BIN:?}" "${CANDOR_DATA:?}" "${CANDOR_ISSUER:?}" "${RESULTS_DIR:?}"
exec "$CARGO_TARGET_DIR/debug/interop-rust"
