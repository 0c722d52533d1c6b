"""A client written with requests-oauthlib (OAuth2Session, PKCE S256): authorization_url, then
fetch_token. MODE picks the mistake.

Usage: ISSUER=... DISCOVERY=openid|oauth python client_oauthlib.py MODE
"""

import os
import sys
import time

import requests
from requests_oauthlib import OAuth2Session

from front import REDIRECT, front_channel, settings

os.environ["OAUTHLIB_INSECURE_TRANSPORT"] = "1"
ISSUER, MODE, CLIENT, SECRET, meta = settings()
oauth = OAuth2Session(CLIENT, redirect_uri=REDIRECT, scope=["openid", "email"], pkce="S256")
url, state = oauth.authorization_url(meta["authorization_endpoint"])
callback, last = front_channel(oauth, url, REDIRECT)
if callback is None:
    print("no callback; last answer", last.status_code, file=sys.stderr)
    sys.exit(0)
if MODE == "expired":
    time.sleep(12)
if MODE == "pkce_mismatch":
    # A second login in another tab replaced the verifier this session keeps.
    OAuth2Session(CLIENT, redirect_uri=REDIRECT, pkce="S256").authorization_url(
        meta["authorization_endpoint"])
    oauth._code_verifier = oauth._client.create_code_verifier(64)
secret = SECRET if MODE != "wrong_secret" else "corpus-wrong-secret-not-real"
token_url = meta["token_endpoint"] if MODE != "wrong_endpoint" else ISSUER + "/oauth/token"
if MODE == "trailing_slash":
    oauth.redirect_uri = REDIRECT + "/"
extra = {}
if CLIENT == "poster":
    extra = dict(include_client_id=True, client_secret=secret)
else:
    extra = dict(auth=(CLIENT, secret))
for attempt in range(2 if MODE == "reuse" else 1):
    try:
        oauth.fetch_token(token_url, authorization_response=callback, **extra)
        print("token ok", file=sys.stderr)
    except Exception as e:  # the error is the point of the capture
        print("token refused:", type(e).__name__, file=sys.stderr)
