"""What Candor's admin API answers must satisfy, as pure functions over (status, content type,
body): used by hooks.py (schemathesis's checks) and by fuzz.py's edge probes. Each returns None
when the answer is right, else one line saying what is wrong."""

import json
import re

CODE = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")


def short(content, limit=200):
    text = content[:limit].decode("utf-8", "replace")
    return " ".join(text.split()) or "(empty body)"


def body_json(content):
    try:
        return json.loads(content)
    except ValueError:
        return None


def diagnosis(content):
    body = body_json(content)
    return body.get("diagnosis") if isinstance(body, dict) else None


def error_shape(catalogue, status, content_type, content):
    """A 4xx is a JSON object with string error, error_description and diagnosis, the diagnosis a
    dotted code of the catalogue, with the status and error the catalogue gives that code."""
    if not 400 <= status < 500:
        return None
    if "json" not in (content_type or ""):
        return f"{status} with Content-Type {content_type or ''!r}, not JSON: {short(content)}"
    body = body_json(content)
    if not isinstance(body, dict):
        return f"{status} body is not a JSON object: {short(content)}"
    missing = [k for k in ("error", "error_description", "diagnosis") if not isinstance(body.get(k), str) or not body.get(k)]
    if missing:
        return f"{status} body lacks {', '.join(missing)} (a non-empty string): {short(content)}"
    if "error_uri" in body and not isinstance(body["error_uri"], str):
        return f"{status} body's error_uri is not a string: {short(content)}"
    code = body["diagnosis"]
    if not CODE.match(code):
        return f"{status} diagnosis {code!r} is not a dotted code"
    entry = catalogue.get(code)
    if entry is None:
        return f"{status} diagnosis {code!r} is not in `candor docs errors`"
    if entry.get("status") is not None and entry["status"] != status:
        return f"diagnosis {code} is {entry['status']} in the catalogue, answered {status}"
    if entry.get("error") and entry["error"] != body["error"]:
        return f"diagnosis {code} has error {entry['error']!r} in the catalogue, answered {body['error']!r}"
    return None


def role_rule(role, method, status, content, credential_sent=True):
    """admin: never refused; viewer: reads never refused, changes 403 admin.forbidden; anonymous
    (no credential, or not this run's): 401 admin.unauthorized."""
    method = method.upper()
    if role == "admin":
        if status in (401, 403):
            return f"the admin token was refused: {status} {short(content)}"
    elif role == "viewer":
        if method in ("GET", "HEAD", "OPTIONS"):
            if status in (401, 403):
                return f"a viewer's read was refused: {status} {short(content)}"
        elif status != 403 or diagnosis(content) != "admin.forbidden":
            return f"a viewer's {method} answered {status}, not 403 admin.forbidden: {short(content)}"
    elif status != 401 or diagnosis(content) != "admin.unauthorized":
        what = "with another Authorization" if credential_sent else "without a token"
        return f"{method} {what} answered {status}, not 401 admin.unauthorized: {short(content)}"
    return None


def routed(method, path_template, status, content):
    """An operation of the document is served: it never answers the server's own "no endpoint"."""
    if status == 404 and diagnosis(content) == "server.not_found":
        return f"{method.upper()} {path_template} is in the OpenAPI document but the server has no endpoint there: {short(content)}"
    return None
