#!/bin/sh
# A client made of curl commands, as a developer tries a provider by hand: the front channel
# with a cookie jar, then the token request. MODE ($1) picks the mistake. Uses http_proxy from
# the environment (run.py points it at mitmdump).
set -eu
MODE=$1
REDIRECT=http://127.0.0.1:7001/cb
JAR=$(mktemp)
trap 'rm -f "$JAR"' EXIT
if [ "${DISCOVERY:-openid}" = openid ]; then WK=/.well-known/openid-configuration; else WK=/.well-known/oauth-authorization-server; fi
META=$(curl -s "$ISSUER$WK")
AUTHZ=$(printf '%s' "$META" | python3 -c 'import json,sys; print(json.load(sys.stdin)["authorization_endpoint"])')
TOKEN=$(printf '%s' "$META" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token_endpoint"])')
VERIFIER=corpus-curl-verifier-0123456789-abcdefghijklmnopqrstuvwxyz
CHALLENGE=$(printf '%s' "$VERIFIER" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=')
URL="$AUTHZ?response_type=code&client_id=$CLIENT&redirect_uri=$(printf '%s' "$REDIRECT" | python3 -c 'import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read(), safe=""))')&scope=openid&state=curlstate123&code_challenge=$CHALLENGE&code_challenge_method=S256"
CODE=
for i in 1 2 3 4 5 6 7 8; do
  LOC=$(curl -s -o /dev/null -b "$JAR" -c "$JAR" -w '%{redirect_url}' "$URL")
  case "$LOC" in
    "$REDIRECT"*) CODE=$(printf '%s' "$LOC" | python3 -c 'import sys,urllib.parse; print(urllib.parse.parse_qs(urllib.parse.urlparse(sys.stdin.read()).query).get("code",[""])[0])'); break ;;
    "") break ;;
    *) URL=$LOC ;;
  esac
done
[ -n "$CODE" ] || { echo "no code" >&2; exit 0; }
SEC=$SECRET
[ "$MODE" = wrong_secret ] && SEC=corpus-wrong-secret-not-real
RU=$REDIRECT
[ "$MODE" = trailing_slash ] && RU="$REDIRECT/"
[ "$MODE" = wrong_endpoint ] && TOKEN="$ISSUER/oauth/token"
[ "$MODE" = expired ] && sleep 12
V=$VERIFIER
[ "$MODE" = pkce_mismatch ] && V=corpus-curl-other-verifier-0123456789-abcdefghijklmnopqrstu
N=1
[ "$MODE" = reuse ] && N=2
# A scenario whose output ends in .txt keeps the last token response as `curl -i` prints it,
# for `candor doctor response`.
RAW=
case "${HAR:-}" in *.txt) RAW=$HAR ;; esac
for i in $(seq $N); do
  if [ -n "$RAW" ]; then
    if [ "$MODE" = json_body ]; then
      curl -s -i -o "$RAW" -u "$CLIENT:$SEC" -H 'content-type: application/json' \
        -d "{\"grant_type\":\"authorization_code\",\"code\":\"$CODE\",\"redirect_uri\":\"$RU\",\"code_verifier\":\"$V\"}" "$TOKEN"
    else
      curl -s -i -o "$RAW" -u "$CLIENT:$SEC" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
        --data-urlencode "redirect_uri=$RU" -d "code_verifier=$V" "$TOKEN"
    fi
    continue
  fi
  if [ "$MODE" = json_body ]; then
    curl -s -u "$CLIENT:$SEC" -H 'content-type: application/json' \
      -d "{\"grant_type\":\"authorization_code\",\"code\":\"$CODE\",\"redirect_uri\":\"$RU\",\"code_verifier\":\"$V\"}" "$TOKEN" >&2
  else
    curl -s -u "$CLIENT:$SEC" -d grant_type=authorization_code --data-urlencode "code=$CODE" \
      --data-urlencode "redirect_uri=$RU" -d "code_verifier=$V" "$TOKEN" >&2
  fi
  echo >&2
done
