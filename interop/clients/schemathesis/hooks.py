"""Schemathesis hooks of the admin API fuzzing runner (loaded through SCHEMATHESIS_HOOKS=hooks).

Environment, set by fuzz.py for each `st run`:
  FUZZ_ROLE       admin | viewer | anonymous: what the token in Authorization may do
  FUZZ_CATALOGUE  JSON file {code: {"error": RFC error or null, "status": int or null}} parsed
                  from `candor docs errors`
  FUZZ_REQUESTS   file that gets one JSON line per request sent: method, path template, status
  FUZZ_PROTECTED  space-separated client_ids the fuzzer must not change (its own credentials)
  FUZZ_AUTH_SHA256  hex SHA-256 of the Authorization header the run sends (empty for anonymous):
                  a request schemathesis sent without it or with another value (its coverage
                  phase tries a missing or wrong credential) is checked as anonymous

Checks (enabled with `-c ...,candor_error_shape,candor_role,candor_routed`):
  candor_error_shape  every 4xx body is a JSON object with string `error`, `error_description`
                      and `diagnosis`, `diagnosis` is a dotted code of Candor's catalogue, and the
                      status and `error` are the ones the catalogue gives that code
  candor_role         what the role may do: admin is never refused (401/403); a viewer's change
                      (any method but GET) is 403 `admin.forbidden`, its reads are never refused;
                      without the token (or with another value) every operation is 401
                      `admin.unauthorized` (methods the document does not list are left to
                      candor_error_shape)
  candor_routed       an operation of the document is served: it never answers `server.not_found`
                      (the server's "no endpoint here", as opposed to `admin.not_found`)
"""

import hashlib
import json
import os
import re

import schemathesis

ROLE = os.environ.get("FUZZ_ROLE", "admin")
AUTH_SHA256 = os.environ.get("FUZZ_AUTH_SHA256", "")
PROTECTED = set(os.environ.get("FUZZ_PROTECTED", "").split())
CODE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")

with open(os.environ["FUZZ_CATALOGUE"], encoding="utf-8") as f:
    CATALOGUE = json.load(f)

_requests_log = open(os.environ["FUZZ_REQUESTS"], "a", encoding="utf-8", buffering=1)


@schemathesis.hook
def before_call(context, case, kwargs):
    """Keeps the fuzzer off the clients whose tokens it uses (a DELETE, a secret rotation or a
    PATCH of their scope would turn the rest of the run into 401s): in a change, their ids become
    another (reads of them stay)."""
    if case.method.upper() == "GET":
        return
    client_id = case.path_parameters.get("client_id") if case.path_parameters else None
    if client_id in PROTECTED:
        case.path_parameters["client_id"] = f"{client_id}-not-this-one"


@schemathesis.hook
def after_call(context, case, response):
    _requests_log.write(
        json.dumps({"method": case.method.upper(), "path": case.path, "status": response.status_code}) + "\n"
    )


def _body(response):
    try:
        return json.loads(response.content)
    except ValueError:
        return None


def _short(response, limit=200):
    text = response.content[:limit].decode("utf-8", "replace")
    return " ".join(text.split()) or "(empty body)"


@schemathesis.check
def candor_error_shape(ctx, response, case):
    """Every 4xx answer is the catalogue's JSON body with a catalogued dotted diagnosis."""
    status = response.status_code
    if not 400 <= status < 500:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    if "json" not in content_type:
        raise AssertionError(f"{status} with Content-Type {content_type!r}, not JSON: {_short(response)}")
    body = _body(response)
    if not isinstance(body, dict):
        raise AssertionError(f"{status} body is not a JSON object: {_short(response)}")
    missing = [k for k in ("error", "error_description", "diagnosis") if not isinstance(body.get(k), str) or not body.get(k)]
    if missing:
        raise AssertionError(f"{status} body lacks {', '.join(missing)} (a non-empty string): {_short(response)}")
    if "error_uri" in body and not isinstance(body["error_uri"], str):
        raise AssertionError(f"{status} body's error_uri is not a string: {_short(response)}")
    code = body["diagnosis"]
    if not CODE.match(code):
        raise AssertionError(f"{status} diagnosis {code!r} is not a dotted code")
    entry = CATALOGUE.get(code)
    if entry is None:
        raise AssertionError(f"{status} diagnosis {code!r} is not in `candor docs errors`")
    if entry.get("status") is not None and entry["status"] != status:
        raise AssertionError(f"diagnosis {code} is {entry['status']} in the catalogue, answered {status}")
    if entry.get("error") and entry["error"] != body["error"]:
        raise AssertionError(f"diagnosis {code} has error {entry['error']!r} in the catalogue, answered {body['error']!r}")
    return None


def _diagnosis(response):
    body = _body(response)
    return body.get("diagnosis") if isinstance(body, dict) else None


@schemathesis.check
def candor_role(ctx, response, case):
    """What this run's credential may and may not do."""
    status = response.status_code
    method = case.method.upper()
    if method != case.operation.method.upper():
        return None  # a method the document does not list for this path (405): candor_error_shape's
    sent = response.request.headers.get("Authorization") if response.request is not None else None
    sent_sha256 = hashlib.sha256(sent.encode("utf-8", "surrogateescape")).hexdigest() if isinstance(sent, str) else None
    role = ROLE if AUTH_SHA256 and sent_sha256 == AUTH_SHA256 else "anonymous"
    if role == "admin":
        if status in (401, 403):
            raise AssertionError(f"the admin token was refused: {status} {_short(response)}")
    elif role == "viewer":
        if method in ("GET", "HEAD", "OPTIONS"):
            if status in (401, 403):
                raise AssertionError(f"a viewer's read was refused: {status} {_short(response)}")
        elif status != 403 or _diagnosis(response) != "admin.forbidden":
            raise AssertionError(f"a viewer's {method} answered {status}, not 403 admin.forbidden: {_short(response)}")
    else:
        if status != 401 or _diagnosis(response) != "admin.unauthorized":
            what = "without a token" if sent is None else "with another Authorization"
            raise AssertionError(f"{method} {what} answered {status}, not 401 admin.unauthorized: {_short(response)}")
    return None


@schemathesis.check
def candor_routed(ctx, response, case):
    """The document's operations exist: none answers the server's own "no endpoint" 404."""
    if response.status_code != 404 or case.method.upper() != case.operation.method.upper():
        return None
    values = [str(v) for v in (case.path_parameters or {}).values()]
    if any(v == "" or "/" in v for v in values):
        return None  # an empty or slashed path parameter can make another path: no route is right
    if _diagnosis(response) == "server.not_found":
        raise AssertionError(f"{case.method.upper()} {case.operation.path} is in the OpenAPI document but the server has "
                             f"no endpoint there: {_short(response)}")
    return None
