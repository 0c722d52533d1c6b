"""The front channel for the scripted clients: follow the provider's redirects (login and consent
happen at once) until one points at the client's redirect_uri, and return that callback URL.
The callback itself is not fetched: no client listens there, and the capture shows it as the
provider's Location header, as a proxy capture of a real login does."""

import os
import sys
from urllib.parse import urljoin

import requests

# Where every scripted client's callback points (registered with both providers).
REDIRECT = "http://127.0.0.1:7001/cb"


def settings():
    """What run.py tells a client: the issuer, the mistake to make (argv[1]), the client_id and
    its secret, and the provider's metadata (OpenID Connect discovery or RFC 8414)."""
    issuer = os.environ["ISSUER"]
    well_known = (
        "/.well-known/openid-configuration"
        if os.environ.get("DISCOVERY", "openid") == "openid"
        else "/.well-known/oauth-authorization-server"
    )
    meta = requests.get(issuer + well_known).json()
    return issuer, sys.argv[1], os.environ.get("CLIENT", "web"), os.environ["SECRET"], meta


def front_channel(session, url, redirect_prefix, limit=10):
    for _ in range(limit):
        r = session.get(url, allow_redirects=False)
        loc = r.headers.get("location")
        if r.status_code not in (301, 302, 303, 307) or not loc:
            return None, r
        url = urljoin(url, loc)
        if url.startswith(redirect_prefix):
            return url, r
    return None, r
