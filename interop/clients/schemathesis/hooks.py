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

import schemathesis

import candor_rules as rules

ROLE = os.environ.get("FUZZ_ROLE", "admin")
AUTH_SHA256 = os.environ.get("FUZZ_AUTH_SHA256", "")
PROTECTED = set(os.environ.get("FUZZ_PROTECTED", "").split())

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


def _content_type(response):
    return (response.headers.get("content-type") or [""])[0]


@schemathesis.check
def candor_error_shape(ctx, response, case):
    """Every 4xx answer is the catalogue's JSON body with a catalogued dotted diagnosis."""
    problem = rules.error_shape(CATALOGUE, response.status_code, _content_type(response), response.content)
    if problem:
        raise AssertionError(problem)


@schemathesis.check
def candor_role(ctx, response, case):
    """What this run's credential may and may not do."""
    if case.method.upper() != case.operation.method.upper():
        return  # a method the document does not list for this path (405): candor_error_shape's
    sent = response.request.headers.get("Authorization") if response.request is not None else None
    sent_sha256 = hashlib.sha256(sent.encode("utf-8", "surrogateescape")).hexdigest() if isinstance(sent, str) else None
    role = ROLE if AUTH_SHA256 and sent_sha256 == AUTH_SHA256 else "anonymous"
    problem = rules.role_rule(role, case.method, response.status_code, response.content, credential_sent=sent is not None)
    if problem:
        raise AssertionError(problem)


@schemathesis.check
def candor_routed(ctx, response, case):
    """The document's operations exist: none answers the server's own "no endpoint" 404."""
    if case.method.upper() != case.operation.method.upper():
        return
    values = [str(v) for v in (case.path_parameters or {}).values()]
    if any(v == "" or "/" in v for v in values):
        return  # an empty or slashed path parameter can make another path: no route is right
    problem = rules.routed(case.method, case.operation.path, response.status_code, response.content)
    if problem:
        raise AssertionError(problem)
