#!/usr/bin/env python3
"""Authlib (requests integration) against a running Candor.

Environment (set by interop/run.sh): CANDOR_BIN, CANDOR_DATA, CANDOR_ISSUER, RESULTS_DIR.
Writes $RESULTS_DIR/python.json. Exits non-zero only when this script itself crashed; failed
scenarios are reported in the JSON.

Every protocol step goes through Authlib's own client API (OAuth2Session, CodeIDToken,
OAuthError); the login and consent pages are filled by a plain requests.Session standing in for
the browser, which never follows the final redirect to the client.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import traceback
from html.parser import HTMLParser
from importlib.metadata import version
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import requests
from authlib.common.security import generate_token
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken, UserInfo
from authlib.oidc.discovery import OpenIDProviderMetadata, get_well_known_url
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

CLIENT = "python"
SCENARIOS = [
    "discovery",
    "client_credentials",
    "authorization_code_pkce",
    "id_token_validation",
    "userinfo",
    "refresh_rotation",
    "introspection",
    "revocation",
    "rp_logout",
    "key_rotation",
    "error_replayed_code",
    "error_wrong_pkce_verifier",
    "error_wrong_client_secret",
]
WEB_SCOPE = "openid profile email offline_access"
CC_SCOPE = "python:read python:write"
REDIRECT_URI = "http://127.0.0.1:9/python/callback"  # never contacted: the Location is read
POST_LOGOUT_URI = "http://127.0.0.1:9/python/signed-out"
HTTP_TIMEOUT = 20
KEY_PICKUP_SECONDS = 11  # the server picks up rotated keys within 10 s
REUSE_GRACE_SECONDS = 2  # Candor's refresh_reuse_grace (crates/server/src/settings.rs)


def short(value, limit: int = 160) -> str:
    text = " ".join(str(value).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Fail(Exception):
    """A scenario failed: the message says what was expected and what came back."""


def expect(condition, message: str) -> None:
    if not condition:
        raise Fail(message)


# --- the browser: login and consent pages -------------------------------------------------------


class FormParser(HTMLParser):
    """Collects each <form>: action, method, inputs and submit buttons."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append(
                {"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                 "inputs": {}, "buttons": []}
            )
        elif not self.forms:
            return
        elif tag == "input" and a.get("name"):
            if a.get("type", "text").lower() == "submit":
                self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))
            else:
                self.forms[-1]["inputs"][a["name"]] = a.get("value", "")
        elif tag == "button" and a.get("name") and a.get("type", "submit").lower() == "submit":
            self.forms[-1]["buttons"].append((a["name"], a.get("value", "")))


def parse_forms(html: str) -> list[dict]:
    parser = FormParser()
    parser.feed(html)
    return parser.forms


def drive_browser(browser: requests.Session, url: str, username: str, password: str,
                  consent: str = "allow") -> tuple[str, list[str]]:
    """Walks from the authorization URL through login and consent; returns the Location of the
    redirect to REDIRECT_URI (not followed) and the pages seen."""
    method, data, seen = "GET", None, []
    for _ in range(12):
        resp = browser.request(method, url, data=data, allow_redirects=False, timeout=HTTP_TIMEOUT)
        where = f"{method} {urlsplit(url).path}"
        if resp.status_code in (301, 302, 303, 307, 308):
            location = urljoin(url, resp.headers.get("Location", ""))
            if location.startswith(REDIRECT_URI):
                return location, seen
            method, data, url = "GET", None, location
            continue
        if resp.status_code != 200:
            raise Fail(f"{where}: expected a page or a redirect, got {resp.status_code}: "
                       f"{short(resp.text, 120)}")
        forms = parse_forms(resp.text)
        login = next((f for f in forms if "username" in f["inputs"]), None)
        agree = next((f for f in forms if any(n == "consent" for n, _ in f["buttons"])), None)
        if login is not None:
            expect("login" not in seen, f"{where}: login page shown again (wrong password?)")
            seen.append("login")
            form = login
            data = dict(form["inputs"], username=username, password=password)
        elif agree is not None:
            seen.append("consent")
            form = agree
            data = dict(form["inputs"], consent=consent)
        else:
            raise Fail(f"{where}: expected a login or consent form, got: {short(resp.text, 100)}")
        expect(form["method"] == "post", f"{where}: form method {form['method']}, expected post")
        method, url = "POST", urljoin(resp.url, form["action"])
    raise Fail("no redirect to the client after 12 steps")


# --- the run ---------------------------------------------------------------------------------------


class Run:
    def __init__(self) -> None:
        self.bin = os.environ["CANDOR_BIN"]
        self.data = os.environ["CANDOR_DATA"]
        self.issuer = os.environ["CANDOR_ISSUER"].rstrip("/")
        self.results: dict[str, tuple[str, str]] = {}
        self.meta: dict = {}
        self.jwks: dict | None = None
        self.suffix = secrets.token_hex(3)
        self.web: dict = {}
        self.cc: dict = {}
        self.user = f"python-alice-{self.suffix}"
        self.password = secrets.token_urlsafe(18)
        self.browser = requests.Session()
        self.login: dict | None = None  # the main login: token, nonce, verifier, ...
        self.last_body: dict | None = None  # the last token endpoint answer (compliance hook)

    # -- candor CLI --
    def candor(self, *args: str, stdin: str | None = None) -> dict | list | None:
        proc = subprocess.run([self.bin, "--data", self.data, *args], input=stdin,
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            raise RuntimeError(f"candor {' '.join(args[:2])} exited {proc.returncode}: "
                               f"{short(proc.stderr)}")
        out = proc.stdout.strip()
        return json.loads(out) if out else None

    def register(self) -> None:
        name = f"python-web-{self.suffix}"
        self.web = self.candor(
            "client", "create", "--name", name, "--client-id", name,
            "--redirect-uri", REDIRECT_URI, "--post-logout-redirect-uri", POST_LOGOUT_URI,
            "--scope", WEB_SCOPE, "--auth-method", "client_secret_basic")
        name = f"python-cc-{self.suffix}"
        self.cc = self.candor(
            "client", "create", "--name", name, "--client-id", name,
            "--scope", CC_SCOPE, "--auth-method", "client_secret_post")
        self.candor("user", "create", "--username", self.user, "--password-stdin",
                    "--email", f"{self.user}@example.com", "--name", "Python Alice",
                    stdin=self.password + "\n")

    # -- helpers over Authlib --
    def _remember(self, resp):
        """Compliance hook: keeps the token endpoint's JSON body, whose `diagnosis` Authlib's
        OAuthError does not carry (it has error and description only)."""
        try:
            self.last_body = resp.json()
        except ValueError:
            self.last_body = None
        return resp

    def hooked(self, session: OAuth2Session) -> OAuth2Session:
        session.register_compliance_hook("access_token_response", self._remember)
        session.register_compliance_hook("refresh_token_response", self._remember)
        return session

    def web_session(self, **kwargs) -> OAuth2Session:
        kwargs.setdefault("client_secret", self.web["client_secret"])
        return self.hooked(OAuth2Session(
            client_id=self.web["client_id"], scope=WEB_SCOPE, redirect_uri=REDIRECT_URI,
            code_challenge_method="S256", token_endpoint_auth_method="client_secret_basic",
            revocation_endpoint_auth_method="client_secret_basic", default_timeout=HTTP_TIMEOUT,
            **kwargs))

    def cc_session(self, secret: str) -> OAuth2Session:
        return self.hooked(OAuth2Session(
            client_id=self.cc["client_id"], client_secret=secret,
            token_endpoint_auth_method="client_secret_post", scope="python:read",
            default_timeout=HTTP_TIMEOUT))

    def authorize(self, session: OAuth2Session) -> dict:
        """Builds the authorization URL with Authlib, walks the browser through it and checks
        the redirect (state, iss). Returns what the token exchange needs."""
        verifier = generate_token(64)
        nonce = generate_token(24)
        url, state = session.create_authorization_url(
            self.meta["authorization_endpoint"], code_verifier=verifier, nonce=nonce)
        location, pages = drive_browser(self.browser, url, self.user, self.password)
        query = parse_qs(urlsplit(location).query)
        if "error" in query:
            raise Fail(f"authorization refused: error={query['error'][0]} "
                       f"{short(query.get('error_description', [''])[0], 100)}")
        expect(query.get("state") == [state],
               f"redirect state: expected {state!r}, got {query.get('state')}")
        expect(query.get("iss") == [self.issuer],
               f"redirect iss (RFC 9207): expected {self.issuer!r}, got {query.get('iss')}")
        expect("code" in query, f"redirect without code: {short(location, 120)}")
        return {"location": location, "state": state, "verifier": verifier, "nonce": nonce,
                "pages": pages, "code": query["code"][0]}

    def login_and_exchange(self) -> tuple[OAuth2Session, dict, dict]:
        session = self.web_session()
        auth = self.authorize(session)
        token = session.fetch_token(
            self.meta["token_endpoint"], authorization_response=auth["location"],
            state=auth["state"], code_verifier=auth["verifier"])
        return session, token, auth

    def fetch_jwks(self) -> dict:
        resp = requests.get(self.meta["jwks_uri"], timeout=HTTP_TIMEOUT)
        resp.raise_for_status()
        self.jwks = resp.json()
        return self.jwks

    def validate_id_token(self, id_token: str, nonce: str | None, access_token: str | None):
        """Authlib's id_token validation, as its OpenIDMixin.parse_id_token does it: decode with
        the cached JWKS (re-fetched once on an unknown kid), then CodeIDToken.validate()."""
        algs = self.meta.get("id_token_signing_alg_values_supported")
        registry = JWSRegistry(algorithms=algs, strict_check_header=False)
        refetched = False
        if self.jwks is None:
            self.fetch_jwks()
        try:
            decoded = jwt.decode(id_token, KeySet.import_key_set(self.jwks), registry=registry)
        except InvalidKeyIdError:
            refetched = True
            decoded = jwt.decode(id_token, KeySet.import_key_set(self.fetch_jwks()),
                                 registry=registry)
        options = {"iss": {"essential": True, "value": self.issuer},
                   "aud": {"essential": True, "values": [self.web["client_id"]]}}
        params = {"nonce": nonce, "client_id": self.web["client_id"]}
        if access_token:
            params["access_token"] = access_token
        claims = CodeIDToken(decoded.claims, decoded.header, options, params)
        claims.validate(leeway=60)
        return claims, refetched

    def oauth_error(self, call, expected_error: str, diagnosis: str) -> str:
        """Runs a token request that must fail: Authlib must raise OAuthError with Candor's
        error and error_description; the diagnosis comes from the body (compliance hook)."""
        self.last_body = None
        try:
            got = call()
        except OAuthError as e:
            expect(e.error == expected_error,
                   f"expected error {expected_error!r}, got {e.error!r}: {short(e.description, 100)}")
            expect(bool(e.description),
                   f"error {e.error!r} surfaced without error_description")
            got_diagnosis = (self.last_body or {}).get("diagnosis")
            expect(got_diagnosis == diagnosis,
                   f"{e.error}: expected diagnosis {diagnosis!r}, got {got_diagnosis!r}: "
                   f"{short(e.description, 80)}")
            return f"OAuthError {e.error} [{got_diagnosis}]: {short(e.description, 110)}"
        raise Fail(f"expected OAuthError {expected_error!r}, got a token: {sorted(got)}")

    # -- scenarios --
    def s_discovery(self) -> str:
        # Authlib's requests client has no discovery of its own (its framework registries
        # fetch the document the same way): fetch it, then Authlib's OpenID Connect Discovery
        # model validates it (https checks waived by AUTHLIB_INSECURE_TRANSPORT, set in run.sh).
        url = get_well_known_url(self.issuer, external=True)
        resp = requests.get(url, timeout=HTTP_TIMEOUT)
        expect(resp.status_code == 200, f"expected 200, got {resp.status_code}")
        meta = resp.json()
        expect(meta.get("issuer") == self.issuer,
               f"issuer: expected {self.issuer!r}, got {meta.get('issuer')!r}")
        self.meta = meta  # the other scenarios can run even if the validation below fails
        try:
            OpenIDProviderMetadata(meta).validate()
        except ValueError as e:
            raise Fail(f"OpenIDProviderMetadata.validate() refused it: {e}") from None
        needed = ["authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint",
                  "introspection_endpoint", "revocation_endpoint", "end_session_endpoint"]
        missing = [k for k in needed if not self.meta.get(k)]
        expect(not missing, f"metadata lacks {missing}")
        expect("S256" in self.meta.get("code_challenge_methods_supported", []),
               f"S256 not in code_challenge_methods_supported: "
               f"{self.meta.get('code_challenge_methods_supported')}")
        keys = KeySet.import_key_set(self.fetch_jwks())
        algs = sorted({k.alg for k in keys if k.alg})
        return f"OpenIDProviderMetadata valid; JWKS has {len(keys.keys)} keys ({', '.join(algs)})"

    def s_client_credentials(self) -> str:
        session = self.cc_session(self.cc["client_secret"])
        token = session.fetch_token(self.meta["token_endpoint"], grant_type="client_credentials")
        expect(token.get("access_token"), f"no access_token in {sorted(token)}")
        expect(str(token.get("token_type", "")).lower() == "bearer",
               f"token_type: expected Bearer, got {token.get('token_type')!r}")
        expect(token.get("scope") == "python:read",
               f"scope: expected 'python:read', got {token.get('scope')!r}")
        expect("refresh_token" not in token, "client_credentials answered with a refresh_token")
        return f"client_secret_post; Bearer, expires_in={token.get('expires_in')}, scope python:read"

    def s_authorization_code_pkce(self) -> str:
        session, token, auth = self.login_and_exchange()
        for k in ("access_token", "id_token", "refresh_token"):
            expect(token.get(k), f"token response lacks {k}: has {sorted(token)}")
        self.login = {"session": session, "token": dict(token), **auth}
        return f"pages {'+'.join(auth['pages'])}; state and iss checked; got {sorted(token)}"

    def s_id_token_validation(self) -> str:
        expect(self.login, "needs authorization_code_pkce")
        tok = self.login["token"]
        claims, _ = self.validate_id_token(tok["id_token"], self.login["nonce"], tok["access_token"])
        self.login["claims"] = claims
        extra = "at_hash checked" if "at_hash" in claims else "no at_hash"
        return f"CodeIDToken valid: {claims.header.get('alg')} kid {claims.header.get('kid', '')[:8]}..., nonce, aud, iss; {extra}"

    def s_userinfo(self) -> str:
        expect(self.login, "needs authorization_code_pkce")
        resp = self.login["session"].get(self.meta["userinfo_endpoint"])
        expect(resp.status_code == 200, f"expected 200, got {resp.status_code}: {short(resp.text, 100)}")
        info = UserInfo(resp.json())
        sub = self.login.get("claims", {}).get("sub")
        if sub:
            expect(info.get("sub") == sub, f"sub: expected id_token's {sub!r}, got {info.get('sub')!r}")
        expect(info.get("email") == f"{self.user}@example.com",
               f"email: expected {self.user}@example.com, got {info.get('email')!r}")
        expect(info.get("name") == "Python Alice",
               f"name: expected 'Python Alice', got {info.get('name')!r}")
        return f"sub matches id_token; claims {sorted(info)}"

    def s_refresh_rotation(self) -> str:
        session, token, auth = self.login_and_exchange()
        rt1 = token["refresh_token"]
        new = dict(session.refresh_token(self.meta["token_endpoint"], refresh_token=rt1))
        rt2 = new.get("refresh_token")
        expect(new.get("access_token") and new["access_token"] != token["access_token"],
               "refresh gave no new access_token")
        expect(rt2 and rt2 != rt1, "expected a new refresh_token (rotation), got the same one back"
               if rt2 == rt1 else f"refresh response lacks refresh_token: {sorted(new)}")
        note = ""
        if new.get("id_token"):
            self.validate_id_token(new["id_token"], None, new["access_token"])
            note = "; refreshed id_token valid"
        replay = self.web_session().refresh_token
        self.oauth_error(lambda: replay(self.meta["token_endpoint"], refresh_token=rt1),
                         "invalid_grant", "refresh_token.reused")
        # RFC 9700 4.14: a reuse revokes the whole family, so rt2 must then fail too. Candor
        # keeps the family when the same client reuses within REUSE_GRACE_SECONDS (a race
        # between two of its own requests), so the reuse that must revoke comes later.
        time.sleep(REUSE_GRACE_SECONDS + 1.2)
        self.oauth_error(lambda: replay(self.meta["token_endpoint"], refresh_token=rt1),
                         "invalid_grant", "refresh_token.reused")
        try:
            self.oauth_error(lambda: replay(self.meta["token_endpoint"], refresh_token=rt2),
                             "invalid_grant", "refresh_token.revoked")
        except Fail as e:
            raise Fail(f"old token refused, but the family was not revoked: rt2 {e}") from None
        return f"rotated{note}; old token refused with invalid_grant; family revoked"

    def s_introspection(self) -> str:
        expect(self.login, "needs authorization_code_pkce")
        session, tok = self.login["session"], self.login["token"]
        resp = session.introspect_token(self.meta["introspection_endpoint"],
                                        token=tok["access_token"], token_type_hint="access_token")
        expect(resp.status_code == 200, f"expected 200, got {resp.status_code}: {short(resp.text, 100)}")
        body = resp.json()
        expect(body.get("active") is True, f"expected active=true, got {short(body, 100)}")
        expect(body.get("client_id") == self.web["client_id"],
               f"client_id: expected {self.web['client_id']!r}, got {body.get('client_id')!r}")
        sub = self.login.get("claims", {}).get("sub")
        if sub:
            expect(body.get("sub") == sub, f"sub: expected {sub!r}, got {body.get('sub')!r}")
        resp = session.introspect_token(self.meta["introspection_endpoint"],
                                        token=tok["refresh_token"], token_type_hint="refresh_token")
        rt = resp.json()
        expect(resp.status_code == 200 and rt.get("active") is True,
               f"refresh_token: expected 200 active=true, got {resp.status_code} {short(rt, 80)}")
        resp = session.introspect_token(self.meta["introspection_endpoint"], token="not-a-token")
        expect(resp.status_code == 200 and resp.json() == {"active": False},
               f"junk token: expected {{'active': false}}, got {resp.status_code} {short(resp.text, 80)}")
        return f"access and refresh tokens active (scope {body.get('scope')!r}); junk inactive"

    def s_revocation(self) -> str:
        # A login of its own: the main one is still needed for rp_logout.
        session, token, _ = self.login_and_exchange()
        url = self.meta["revocation_endpoint"]
        resp = session.revoke_token(url, token=token["refresh_token"], token_type_hint="refresh_token")
        expect(resp.status_code == 200, f"revoke refresh_token: expected 200, got {resp.status_code}: "
                                        f"{short(resp.text, 100)}")
        intro = session.introspect_token(self.meta["introspection_endpoint"],
                                         token=token["refresh_token"]).json()
        expect(intro.get("active") is False,
               f"revoked refresh_token: expected active=false, got {short(intro, 80)}")
        self.oauth_error(lambda: self.web_session().refresh_token(
            self.meta["token_endpoint"], refresh_token=token["refresh_token"]),
            "invalid_grant", "refresh_token.revoked")
        resp = session.revoke_token(url, token=token["access_token"], token_type_hint="access_token")
        expect(resp.status_code == 200, f"revoke access_token: expected 200, got {resp.status_code}")
        intro = session.introspect_token(self.meta["introspection_endpoint"],
                                         token=token["access_token"]).json()
        expect(intro.get("active") is False,
               f"revoked access_token: expected active=false, got {short(intro, 80)}")
        resp = session.revoke_token(url, token="never-issued")
        expect(resp.status_code == 200, f"unknown token: expected 200 (RFC 7009), got {resp.status_code}")
        return "refresh and access tokens revoked (introspection inactive, refresh refused); unknown token 200"

    def s_rp_logout(self) -> str:
        expect(self.login, "needs authorization_code_pkce")
        state = generate_token(16)
        url = self.meta["end_session_endpoint"] + "?" + urlencode({
            "id_token_hint": self.login["token"]["id_token"],
            "post_logout_redirect_uri": POST_LOGOUT_URI, "state": state})
        resp = self.browser.get(url, allow_redirects=False, timeout=HTTP_TIMEOUT)
        expect(resp.status_code == 303, f"expected 303, got {resp.status_code}: {short(resp.text, 100)}")
        location = resp.headers.get("Location", "")
        expected = f"{POST_LOGOUT_URI}?{urlencode({'state': state})}"
        expect(location == expected, f"Location: expected {expected!r}, got {location!r}")
        # The browser session is gone: a new authorization request shows the login page again.
        _, _, auth = self.login_and_exchange()
        expect("login" in auth["pages"], f"after logout, expected the login page, saw {auth['pages']}")
        return "303 to post_logout_redirect_uri with state; session ended"

    def s_key_rotation(self) -> str:
        session, old, old_auth = self.login_and_exchange()
        old_claims, _ = self.validate_id_token(old["id_token"], old_auth["nonce"], old["access_token"])
        old_kid = old_claims.header.get("kid")
        # At once, so that the new kid meets Authlib's cached JWKS (its refetch path).
        self.candor("keys", "rotate", "--immediately")
        active = [k["kid"] for k in self.candor("keys", "list")
                  if k.get("status") == "active" and k.get("alg") == old_claims.header.get("alg")]
        expect(active and old_kid not in active,
               f"after rotate, expected a new active key, got {active}")
        time.sleep(KEY_PICKUP_SECONDS)
        # New login; the id_token must carry the new kid and validate against the re-fetched
        # JWKS (the cached one does not know the kid: Authlib's refetch path).
        _, new, auth = self.login_and_exchange()
        claims, refetched = self.validate_id_token(new["id_token"], auth["nonce"], new["access_token"])
        new_kid = claims.header.get("kid")
        expect(new_kid in active, f"new id_token kid: expected {active}, got {new_kid!r}")
        expect(refetched, "expected the cached JWKS not to know the new kid")
        kids = {k["kid"] for k in self.jwks["keys"]}
        expect(old_kid in kids, f"retired kid {old_kid!r} dropped from the JWKS")
        # The old id_token still validates (retired keys stay published).
        self.validate_id_token(old["id_token"], old_auth["nonce"], old["access_token"])
        # The session from before the rotation can still refresh.
        refreshed = dict(session.refresh_token(self.meta["token_endpoint"],
                                               refresh_token=old["refresh_token"]))
        expect(refreshed.get("access_token"), "old session's refresh gave no access_token")
        note = ""
        if refreshed.get("id_token"):
            c, _ = self.validate_id_token(refreshed["id_token"], None, refreshed["access_token"])
            note = f"; refreshed id_token kid {'new' if c.header.get('kid') in active else 'old'}"
        return f"new kid {new_kid[:8]}... validated after JWKS refetch; old id_token valid; old session refreshed{note}"

    def s_error_replayed_code(self) -> str:
        session, token, auth = self.login_and_exchange()
        replay = self.web_session()
        detail = self.oauth_error(lambda: replay.fetch_token(
            self.meta["token_endpoint"], authorization_response=auth["location"],
            state=auth["state"], code_verifier=auth["verifier"]), "invalid_grant", "code.reused")
        # RFC 6749 4.1.2: tokens issued from a reused code are revoked.
        intro = session.introspect_token(self.meta["introspection_endpoint"],
                                         token=token["access_token"]).json()
        expect(intro.get("active") is False,
               f"{detail}; but the first exchange's access_token is still active")
        return detail

    def s_error_wrong_pkce_verifier(self) -> str:
        session = self.web_session()
        auth = self.authorize(session)
        wrong = generate_token(64)
        return self.oauth_error(lambda: session.fetch_token(
            self.meta["token_endpoint"], authorization_response=auth["location"],
            state=auth["state"], code_verifier=wrong), "invalid_grant", "pkce.verifier_mismatch")

    def s_error_wrong_client_secret(self) -> str:
        session = self.cc_session("wrong-" + secrets.token_urlsafe(16))
        return self.oauth_error(lambda: session.fetch_token(
            self.meta["token_endpoint"], grant_type="client_credentials"),
            "invalid_client", "client_auth.secret_mismatch")

    # -- driver --
    def run(self) -> None:
        try:
            self.register()
        except Exception as e:  # noqa: BLE001 - every scenario fails with the reason
            for sid in SCENARIOS:
                self.results[sid] = ("fail", f"setup: {short(e)}")
            return
        for sid in SCENARIOS:
            if sid != "discovery" and not self.meta:
                self.results[sid] = ("fail", "needs discovery")
                continue
            started = time.monotonic()
            try:
                detail = getattr(self, "s_" + sid)()
                status = "pass"
            except Fail as e:
                status, detail = "fail", str(e)
            except OAuthError as e:
                status, detail = "fail", f"unexpected OAuthError {e.error}: {e.description}"
            except Exception as e:  # noqa: BLE001 - a scenario's crash is its failure
                status, detail = "fail", f"{type(e).__name__}: {e}"
                traceback.print_exc(file=sys.stderr)
            took = time.monotonic() - started
            self.results[sid] = (status, short(detail, 200))
            print(f"[python] {sid}: {status} ({took:.1f}s) {short(detail, 200)}", file=sys.stderr)
            self.write()

    def write(self) -> None:
        """(Re)writes the result file: the scenarios run so far (a crash leaves them)."""
        out = {
            "client": f"python Authlib {version('authlib')}",
            "results": [{"scenario": sid, "status": st, "detail": d}
                        for sid, (st, d) in self.results.items()],
        }
        path = os.path.join(os.environ["RESULTS_DIR"], f"{CLIENT}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
            fh.write("\n")
        os.replace(path + ".tmp", path)


def main() -> int:
    for name in ("CANDOR_BIN", "CANDOR_DATA", "CANDOR_ISSUER", "RESULTS_DIR"):
        if not os.environ.get(name):
            print(f"[python] {name} is not set", file=sys.stderr)
            return 2
    run = Run()
    run.run()
    run.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
