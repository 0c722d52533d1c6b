"""A client written with plain Python requests, as many back ends are: discovery, the
authorization request (PKCE S256), the callback, the token request. MODE picks the mistake.

Usage: ISSUER=... DISCOVERY=openid|oauth python client_requests.py MODE
"""

import base64
import hashlib
import json
import os
import secrets
import sys
import time
from urllib.parse import parse_qs, urlencode, urlparse

import requests

from front import REDIRECT, front_channel, settings

ISSUER, MODE, CLIENT, SECRET, meta = settings()

s = requests.Session()


def pkce():
    v = secrets.token_urlsafe(48)
    c = base64.urlsafe_b64encode(hashlib.sha256(v.encode()).digest()).rstrip(b"=").decode()
    return v, c


verifier, challenge = pkce()
scope = "openid email"
if MODE == "bad_scope":
    scope = "openid admin:all"
q = {
    "response_type": "code",
    "client_id": CLIENT,
    "redirect_uri": REDIRECT,
    "scope": scope,
    "state": secrets.token_urlsafe(16),
    "code_challenge": challenge,
    "code_challenge_method": "S256",
}
if MODE == "unregistered_redirect":
    q["redirect_uri"] = REDIRECT + "/"
if MODE == "unknown_client":
    q["client_id"] = "nobody"
callback, last = front_channel(s, meta["authorization_endpoint"] + "?" + urlencode(q), REDIRECT)
if callback is None:
    print("no callback; last answer", last.status_code, file=sys.stderr)
    sys.exit(0)
params = parse_qs(urlparse(callback).query)
if "code" not in params:
    print("callback without code:", params, file=sys.stderr)
    sys.exit(0)
code = params["code"][0]

if MODE == "expired":
    time.sleep(12)

form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "code_verifier": verifier}
if MODE == "trailing_slash":
    form["redirect_uri"] = REDIRECT + "/"
if MODE == "pkce_mismatch":
    form["code_verifier"] = pkce()[0]
if MODE == "no_verifier":
    del form["code_verifier"]
if MODE == "no_redirect_uri":
    del form["redirect_uri"]
if MODE == "grant_typo":
    form["grant_type"] = "authorisation_code"
auth = (CLIENT, SECRET if MODE != "wrong_secret" else "corpus-wrong-secret-not-real")
if MODE == "other_client":
    # The code of one client redeemed by another (two apps sharing a callback handler).
    auth = ("poster", os.environ["OTHER_SECRET"])
if MODE == "basic_and_post":
    # The secret in the header and in the form: two methods at once.
    form.update(client_id=CLIENT, client_secret=SECRET)
url = meta["token_endpoint"]
if MODE == "wrong_endpoint":
    url = ISSUER + "/oauth/token"
if MODE == "endpoint_down":
    # A token endpoint configured by hand, on a port where nothing listens.
    url = "http://127.0.0.1:9199/token"
if MODE == "json_body":
    r = s.post(url, data=json.dumps(form), headers={"content-type": "application/json"}, auth=auth)
else:
    r = s.post(url, data=form, auth=auth)
print("token", r.status_code, file=sys.stderr)
if MODE == "reuse":
    r = s.post(url, data=form, auth=auth)
    print("token again", r.status_code, file=sys.stderr)
