"""A client written with Authlib's requests integration (OAuth2Session): it builds the
authorization URL with PKCE, and fetch_token redeems the code. MODE picks the mistake.

Usage: ISSUER=... DISCOVERY=openid|oauth python client_authlib.py MODE
"""

import os
import sys
import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session

from front import REDIRECT, front_channel, settings

os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"
ISSUER, MODE, CLIENT, SECRET, meta = settings()
method = "client_secret_post" if CLIENT == "poster" else "client_secret_basic"
secret = SECRET if MODE != "wrong_secret" else "corpus-wrong-secret-not-real"
client = OAuth2Session(CLIENT, secret, scope="openid email", redirect_uri=REDIRECT,
                       code_challenge_method="S256", token_endpoint_auth_method=method)
verifier = generate_token(48)
url, state = client.create_authorization_url(meta["authorization_endpoint"],
                                             code_verifier=verifier)
# The browser's part: a plain session (OAuth2Session.request wants a token already).
callback, last = front_channel(requests.Session(), url, REDIRECT)
if callback is None:
    print("no callback; last answer", last.status_code, file=sys.stderr)
    sys.exit(0)
if MODE == "expired":
    time.sleep(12)
if MODE == "pkce_mismatch":
    verifier = generate_token(48)
token_url = meta["token_endpoint"] if MODE != "wrong_endpoint" else ISSUER + "/oauth/token"
kwargs = {}
if MODE == "trailing_slash":
    kwargs["redirect_uri"] = REDIRECT + "/"
for attempt in range(2 if MODE == "reuse" else 1):
    try:
        client.fetch_token(token_url, authorization_response=callback, code_verifier=verifier,
                           **kwargs)
        print("token ok", file=sys.stderr)
    except Exception as e:  # the error is the point of the capture
        print("token refused:", type(e).__name__, file=sys.stderr)
