"""An Authlib authorization server (Flask), the second provider of the corpus captures.

Configured as Authlib's documentation shows (AuthorizationServer, AuthorizationCodeGrant with
the PKCE extension, client_secret_basic / client_secret_post / none), with plain in-memory
objects instead of a database and a consent that "alice" gives at once: the doctor's subject is
the protocol, not the login page.

Environment: PORT (required); ISSUER (the URL clients see, default http://127.0.0.1:PORT);
CODE_TTL seconds an authorization code lives (default 300, Authlib's own; the expired-code
captures use 5). The secrets are throwaway test values: the doctor must never print them.
"""

import os
import secrets
import time

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import grants
from authlib.oauth2.rfc7636 import CodeChallenge
from flask import Flask, jsonify, request

PORT = int(os.environ["PORT"])
ISSUER = os.environ.get("ISSUER", f"http://127.0.0.1:{PORT}")
CODE_TTL = int(os.environ.get("CODE_TTL", "300"))

# Authlib refuses plain http unless told this is a development server.
os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"


class Client:
    def __init__(self, client_id, secret, redirect_uris, method, scope):
        self.client_id = client_id
        self.client_secret = secret
        self.redirect_uris = redirect_uris
        self.method = method
        self.scope = scope

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope):
        if not scope:
            return ""
        allowed = set(self.scope.split())
        return " ".join(s for s in scope.split() if s in allowed)

    def check_redirect_uri(self, redirect_uri):
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret):
        return self.client_secret is not None and secrets.compare_digest(
            self.client_secret, client_secret
        )

    def check_endpoint_auth_method(self, method, endpoint):
        return endpoint != "token" or method == self.method

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type in ("authorization_code", "refresh_token")


CLIENTS = {
    c.client_id: c
    for c in [
        Client("web", "corpus-authlib-secret-0003-not-real", ["http://127.0.0.1:7001/cb"],
               "client_secret_basic", "openid profile email"),
        Client("poster", "corpus-authlib-secret-0004-not-real", ["http://127.0.0.1:7001/cb"],
               "client_secret_post", "openid profile email"),
        Client("spa", None, ["http://127.0.0.1:7002/cb.html"], "none", "openid profile"),
    ]
}


class Code:
    def __init__(self, code, client_id, redirect_uri, scope, challenge, method):
        self.code = code
        self.client_id = client_id
        self.redirect_uri = redirect_uri
        self.scope = scope
        self.code_challenge = challenge
        self.code_challenge_method = method
        self.issued = time.time()

    def is_expired(self):
        return time.time() - self.issued > CODE_TTL

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope


CODES = {}
TOKENS = []


class User:
    def get_user_id(self):
        return "alice"


class AuthorizationCodeGrant(grants.AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "none"]

    def save_authorization_code(self, code, request):
        CODES[code] = Code(
            code,
            request.client.client_id,
            request.payload.redirect_uri,
            request.payload.scope,
            request.payload.data.get("code_challenge"),
            request.payload.data.get("code_challenge_method"),
        )

    def query_authorization_code(self, code, client):
        item = CODES.get(code)
        if item and item.client_id == client.client_id and not item.is_expired():
            return item
        return None

    def delete_authorization_code(self, authorization_code):
        CODES.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code):
        return User()


app = Flask(__name__)
# Scopes outside this list are refused with invalid_scope (Authlib's validate_requested_scope).
app.config["OAUTH2_SCOPES_SUPPORTED"] = ["openid", "profile", "email"]


def save_token(token, request):
    TOKENS.append(token)


server = AuthorizationServer(app, query_client=CLIENTS.get, save_token=save_token)
server.register_grant(AuthorizationCodeGrant, [CodeChallenge(required=False)])


@app.route("/.well-known/oauth-authorization-server")
def metadata():
    return jsonify(
        issuer=ISSUER,
        authorization_endpoint=f"{ISSUER}/authorize",
        token_endpoint=f"{ISSUER}/token",
        response_types_supported=["code"],
        grant_types_supported=["authorization_code"],
        token_endpoint_auth_methods_supported=["client_secret_basic", "client_secret_post", "none"],
        code_challenge_methods_supported=["S256"],
    )


@app.route("/authorize")
def authorize():
    # alice is signed in and consents at once.
    return server.create_authorization_response(grant_user=User())


@app.route("/token", methods=["POST"])
def token():
    return server.create_token_response()


if __name__ == "__main__":
    print('{"ready": true}', flush=True)
    app.run(host="127.0.0.1", port=PORT)
