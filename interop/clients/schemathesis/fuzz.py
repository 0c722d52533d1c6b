#!/usr/bin/env python3
"""Property-based fuzzing of Candor's admin API from its OpenAPI document, with schemathesis.

Called by run.sh (which installs the venv). Starts a Candor of its own (`serve --dev`, fresh data
directory, free loopback port) so that the suite's shared server is left alone, registers two
service clients through the CLI (scope `candor:admin` and `candor:admin:read`), and runs
`st run` three times against /admin/api/v1/openapi.json: without a token, with the viewer's
client_credentials token, with the admin's (in that order: only the last one changes things).

Checks: not_a_server_error, response_schema_conformance and content_type_conformance (where the
document describes the status), and hooks.py's candor_error_shape, candor_role and candor_routed
(candor_rules.py). After each `st run`, a few edge probes schemathesis does not make (a path
parameter that is not UTF-8, a body over the limit, another Content-Type, broken JSON) are held
to the same rules.

Writes $RESULTS_DIR/schemathesis.json (scenarios admin-api-fuzz-anonymous, -viewer, -admin) and,
under $RESULTS_DIR/schemathesis/, per scenario the schemathesis output, its JSON report and VCR
cassette (Authorization filtered) and the request log; plus the OpenAPI document, the parsed
catalogue, the undocumented statuses seen and Candor's log.

Environment: CANDOR_BIN, RESULTS_DIR (the contract's); FUZZ_MAX_EXAMPLES_ADMIN, _VIEWER,
_ANONYMOUS (examples per operation and phase; defaults below), FUZZ_SEED.
"""

import base64
import collections
import hashlib
from http.client import HTTPConnection, HTTPException
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

import candor_rules as rules

HERE = os.path.dirname(os.path.abspath(__file__))
CANDOR_BIN = os.environ["CANDOR_BIN"]
RESULTS_DIR = os.path.abspath(os.environ["RESULTS_DIR"])
OUT = os.path.join(RESULTS_DIR, "schemathesis.json")
ART = os.path.join(RESULTS_DIR, "schemathesis")
SEED = os.environ.get("FUZZ_SEED", "21")
ST = os.path.join(HERE, ".venv", "bin", "st")
OPENAPI_PATH = "/admin/api/v1/openapi.json"
# (scenario, role, scope, examples per operation): about 70 s on 2 cores altogether (idle).
SCENARIOS = [
    ("admin-api-fuzz-anonymous", "anonymous", None, int(os.environ.get("FUZZ_MAX_EXAMPLES_ANONYMOUS", "20"))),
    ("admin-api-fuzz-viewer", "viewer", "candor:admin:read", int(os.environ.get("FUZZ_MAX_EXAMPLES_VIEWER", "40"))),
    ("admin-api-fuzz-admin", "admin", "candor:admin", int(os.environ.get("FUZZ_MAX_EXAMPLES_ADMIN", "100"))),
]
CHECKS = ("not_a_server_error,response_schema_conformance,content_type_conformance,"
          "candor_error_shape,candor_role,candor_routed")
ST_TIMEOUT = 150  # seconds for one `st run` at most
BUDGET = 240  # seconds for every `st run` together: the suite kills the runner at 300 (INTEROP_TIMEOUT)
DEADLINE = time.monotonic() + BUDGET

results = []
client_label = "schemathesis"


def log(msg):
    print(f"[schemathesis] {msg}", flush=True)


def one_line(text, limit=2000):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def write_results(pending_reason="not run: the runner stopped before this scenario"):
    rows = list(results)
    if pending_reason:
        done = {r["scenario"] for r in rows}
        rows += [{"scenario": s, "status": "fail", "detail": one_line(pending_reason)} for s, *_ in SCENARIOS if s not in done]
    tmp = OUT + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump({"client": client_label, "results": rows}, f, indent=1)
        f.write("\n")
    os.replace(tmp, OUT)


def result(scenario, status, detail):
    results.append({"scenario": scenario, "status": status, "detail": one_line(detail)})
    log(f"{'ok  ' if status == 'pass' else 'FAIL'} {scenario}: {one_line(detail)}")
    write_results()


class Abort(Exception):
    pass


def http(method, url, data=None, headers=None):
    """(status, headers, body bytes); never raises for an HTTP status."""
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def parse_catalogue():
    """`candor docs errors` -> {code: {"error": RFC error or None, "status": int or None}}."""
    text = subprocess.run([CANDOR_BIN, "docs", "errors"], check=True, capture_output=True, text=True, timeout=30).stdout
    catalogue = {}
    for line in text.splitlines():
        m = re.match(r"^\| \[`([^`]+)`\]\([^)]*\) \| ([^|]*?) \| ([^|]*?) \|", line)
        if m:
            code, error, status = m.groups()
            catalogue[code] = {
                "error": error.strip("`") if error.startswith("`") else None,
                "status": int(status) if status.isdigit() else None,
            }
    if not catalogue or "admin.forbidden" not in catalogue:
        raise Abort(f"could not read the catalogue from `candor docs errors` ({len(catalogue)} codes, no admin.forbidden)")
    return catalogue


class Candor:
    """This runner's own `candor serve --dev` on a free loopback port, fresh data directory."""

    def __init__(self):
        self.data = tempfile.mkdtemp(prefix="candor-schemathesis.")
        # The suite's CANDOR_ISSUER / CANDOR_DATA (and any other CANDOR_* setting) are the shared
        # server's: candor reads them as options, so this server and its CLI calls must not see them.
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("CANDOR_")}
        # stdout holds --dev's one-time admin token and demo password: it stays in the data directory.
        self.stdout = os.path.join(self.data, "serve.stdout")
        self.stderr = os.path.join(ART, "candor.log")
        self.proc = None
        self.issuer = None

    def start(self):
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.proc = subprocess.Popen(
                [CANDOR_BIN, "--data", self.data, "serve", "--dev", "--listen", "127.0.0.1:0"],
                stdout=out, stderr=err, stdin=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with open(self.stdout, encoding="utf-8", errors="replace") as f:
                for line in f:
                    m = re.match(r"^candor listening on \S+ \((?:issuer )?([^)]+)\)", line)
                    if m:
                        self.issuer = m.group(1)
                        break
            if self.issuer:
                break
            if self.proc.poll() is not None:
                raise Abort(f"candor serve --dev exited at start-up ({self.proc.returncode}): {self.tail()}")
            time.sleep(0.1)
        if not self.issuer:
            raise Abort("candor serve --dev did not print 'candor listening on …' within 30 s")
        for _ in range(100):
            try:
                if http("GET", self.issuer + "/healthz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise Abort(f"{self.issuer}/healthz does not answer 200")

    def tail(self, n=5):
        try:
            with open(self.stderr, encoding="utf-8", errors="replace") as f:
                return " | ".join(line.strip() for line in f.readlines()[-n:])
        except OSError:
            return ""

    def cli(self, *args):
        r = subprocess.run([CANDOR_BIN, "--data", self.data, *args], capture_output=True, text=True,
                           env=self.env, stdin=subprocess.DEVNULL, timeout=60)
        if r.returncode != 0:
            raise Abort(f"candor {' '.join(args[:2])} exited {r.returncode}: {one_line(r.stderr, 300)}")
        return r.stdout

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.data, ignore_errors=True)


def client_token(candor, token_endpoint, client_id, secret, scope):
    basic = base64.b64encode(f"{urllib.parse.quote(client_id, safe='')}:{urllib.parse.quote(secret, safe='')}".encode()).decode()
    body = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": scope}).encode()
    status, _, raw = http("POST", token_endpoint, body, {
        "Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"})
    try:
        doc = json.loads(raw)
    except ValueError:
        doc = {}
    if status != 200 or "access_token" not in doc:
        raise Abort(f"client_credentials for {client_id} (scope {scope}) answered {status} "
                    f"{doc.get('error')} {doc.get('diagnosis')}: {doc.get('error_description')}")
    if scope not in str(doc.get("scope", scope)).split():
        raise Abort(f"client_credentials for {client_id} granted scope {doc.get('scope')!r}, not {scope}")
    return doc["access_token"]


def failure_examples(st_output):
    """{check title: (message, curl)}: the first failure schemathesis printed for each check, with
    the curl that reproduces it (schemathesis filters the Authorization header)."""
    examples, pending = {}, []
    lines = st_output.splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^- (?:ST\d+ )?(.+)$", line)
        if m and i + 2 < len(lines) and not lines[i + 1].strip() and lines[i + 2].startswith("    "):
            pending.append((m.group(1).strip(), lines[i + 2].strip()))
        elif line.strip() == "Reproduce with:":
            curl = next((n.strip() for n in lines[i + 1:i + 4] if n.strip().startswith("curl")), "")
            for title, message in pending:
                examples.setdefault(title, (message, curl))
            pending = []
    return examples


def undocumented(requests_log, openapi):
    """{'METHOD path': sorted statuses the document does not describe for that operation}."""
    seen = collections.defaultdict(set)
    for r in requests_log:
        seen[(r["method"], r["path"])].add(r["status"])
    out = {}
    for (method, path), statuses in sorted(seen.items()):
        op = openapi.get("paths", {}).get(path, {}).get(method.lower())
        if op is None:
            continue
        documented = set(op.get("responses", {}))
        missing = sorted(s for s in statuses if str(s) not in documented and f"{str(s)[0]}XX" not in documented
                         and "default" not in documented)
        if missing:
            out[f"{method} {path}"] = missing
    return out


BODY_LIMIT_PROBE = 70_000  # bytes: over the admin API's 64 KiB body limit


def edge_probes(issuer, openapi, catalogue, role, auth):
    """Requests schemathesis does not make (it sends valid UTF-8 and bodies within reason), each
    held to the same rules: a path parameter that is not UTF-8 once percent-decoded, in every
    operation that has one; a body over the size limit; a body of another Content-Type; JSON that
    does not parse. -> (requests as dicts with method, path, status, problem)"""
    probes = []  # (method, path template, raw path, content type, body)
    for template, ops in openapi.get("paths", {}).items():
        params = re.findall(r"\{([^}]+)\}", template)
        for method, op in ops.items():
            if method not in ("get", "post", "put", "patch", "delete") or not params:
                continue
            body = b"{}" if op.get("requestBody") else None
            for bad in params:
                raw = template
                for p in params:
                    raw = raw.replace("{" + p + "}", "%FF%FE" if p == bad else "schemathesis-probe")
                probes.append((method.upper(), template, raw, "application/json" if body else None, body))
    clients = "/admin/api/v1/clients"
    big = b'{"client_name": "' + b"a" * BODY_LIMIT_PROBE + b'"}'
    probes += [
        ("POST", clients, clients, "application/json", big),
        ("POST", clients, clients, "text/plain", b'{"client_name": "schemathesis-probe"}'),
        ("POST", clients, clients, "application/json", b'{"client_name": '),
        ("PATCH", clients + "/{client_id}", clients + "/schemathesis-probe", "application/json", b"null"),
    ]
    host = urllib.parse.urlsplit(issuer)
    out = []
    for method, template, raw, content_type, body in probes:
        headers = {}
        if auth:
            headers["Authorization"] = auth
        if content_type:
            headers["Content-Type"] = content_type
        conn = HTTPConnection(host.hostname, host.port, timeout=10)
        try:
            conn.request(method, raw, body=body, headers=headers)
            r = conn.getresponse()
            status, ctype, content = r.status, r.getheader("Content-Type", ""), r.read()
        except (OSError, HTTPException) as e:
            out.append({"method": method, "path": raw, "status": None, "problem": f"no answer: {e!r}"})
            continue
        finally:
            conn.close()
        problem = (f"{status}: a server error" if status >= 500 else None) \
            or rules.error_shape(catalogue, status, ctype, content) \
            or rules.role_rule(role, method, status, content, credential_sent=bool(auth)) \
            or (None if "%FF" in raw else rules.routed(method, template, status, content))
        if problem:
            body_arg = ""
            if body is not None:
                body_arg = f" -H 'Content-Type: {content_type}' --data-binary " + (
                    f"@<({len(body)} bytes)>" if len(body) > 200 else f"'{body.decode()}'")
            token_arg = " -H 'Authorization: Bearer $TOKEN'" if auth else ""
            problem += f" — curl -X {method}{token_arg}{body_arg} '{issuer}{raw}'"
        out.append({"method": method, "path": raw, "status": status, "problem": problem})
    return out


def run_scenario(candor, openapi, catalogue, catalogue_path, scenario, role, token, examples):
    timeout = min(ST_TIMEOUT, DEADLINE - time.monotonic())
    if timeout < 10:
        return "fail", f"not run: the runner's {BUDGET} s budget was spent by the scenarios before it"
    out_dir = os.path.join(ART, scenario)
    os.makedirs(out_dir, exist_ok=True)
    requests_path = os.path.join(out_dir, "requests.ndjson")
    open(requests_path, "w").close()
    auth = f"Bearer {token}" if token else ""
    env = dict(candor.env)
    env.update({
        "SCHEMATHESIS_HOOKS": "hooks",
        "PYTHONPATH": HERE,
        "FUZZ_ROLE": role,
        "FUZZ_CATALOGUE": catalogue_path,
        "FUZZ_REQUESTS": requests_path,
        "FUZZ_PROTECTED": "schemathesis-admin schemathesis-viewer",
        "FUZZ_AUTH_SHA256": hashlib.sha256(auth.encode()).hexdigest() if auth else "",
        "NO_COLOR": "1",
        "COLUMNS": "120",
    })
    cmd = [ST, "run", candor.issuer + OPENAPI_PATH,
           "--checks", CHECKS,
           "--max-examples", str(examples),
           "--seed", SEED,
           "--generation-database", "none",
           "--workers", "1",
           "--request-timeout", "10",
           "--suppress-health-check", "all",
           "--report", "json,vcr",
           "--report-json-path", os.path.join(out_dir, "report.json"),
           "--report-vcr-path", os.path.join(out_dir, "cassette.yaml"),
           "--no-color"]
    if auth:
        cmd[3:3] = ["--header", f"Authorization: {auth}"]
    t0 = time.monotonic()
    scratch = tempfile.mkdtemp(prefix="schemathesis-cwd.")  # hypothesis's and schemathesis's own dot-directories
    try:
        r = subprocess.run(cmd, cwd=scratch, env=env, capture_output=True, text=True, timeout=timeout,
                           stdin=subprocess.DEVNULL)
        output, rc = r.stdout + r.stderr, r.returncode
    except subprocess.TimeoutExpired as e:
        output = (e.stdout or b"").decode("utf-8", "replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        rc = "timeout"
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    took = time.monotonic() - t0
    if token:
        output = output.replace(token, "[token]")
    with open(os.path.join(out_dir, "output.txt"), "w", encoding="utf-8") as f:
        f.write(output)

    requests_log = []
    with open(requests_path, encoding="utf-8") as f:
        for line in f:
            try:
                requests_log.append(json.loads(line))
            except ValueError:
                pass
    probes = edge_probes(candor.issuer, openapi, catalogue, role, auth)
    with open(os.path.join(out_dir, "edge-probes.json"), "w", encoding="utf-8") as f:
        json.dump(probes, f, indent=1)
    probe_problems = collections.OrderedDict()
    for p in probes:
        if p["problem"]:
            key = re.sub(r"https?://\S+|\{.*", "", p["problem"])[:60]  # one of each kind
            probe_problems.setdefault(key, []).append(p)
    statuses = collections.Counter(r["status"] for r in requests_log)
    statuses.update(p["status"] for p in probes if p["status"] is not None)
    histogram = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
    gaps = undocumented(requests_log, openapi)
    with open(os.path.join(out_dir, "undocumented-statuses.json"), "w", encoding="utf-8") as f:
        json.dump(gaps, f, indent=1)

    try:
        with open(os.path.join(out_dir, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        report = None
    server_errors = sum(n for s, n in statuses.items() if s >= 500)
    ops = f"{report['operations']['tested']}/{report['operations']['total']} operations" if report else "? operations"
    head = (f"{len(requests_log) + len(probes)} requests ({histogram}): schemathesis {len(requests_log)} to {ops}, "
            f"max {examples} examples per operation, seed {SEED}, {took:.0f} s, and {len(probes)} edge probes")
    if rc == "timeout" or report is None:
        why = f"timed out after {timeout:.0f} s" if rc == "timeout" else f"exited {rc} without a JSON report"
        return "fail", f"{head}; st run {why}: {one_line(output[-300:], 300)}"
    if not candor.alive():
        return "fail", f"{head}; candor exited during the run: {candor.tail()}"
    tc = report["test_cases"]
    failures = tc.get("unique_failures", 0)
    errors = report.get("errors") or []
    n_probe_failures = sum(len(v) for v in probe_problems.values())
    parts = []
    if failures or errors or tc.get("errored"):
        kinds = "; ".join(f"{f['title']} ×{f['count']} ({', '.join(f['operations'][:3])}"
                          f"{', …' if len(f['operations']) > 3 else ''})" for f in report.get("failures", []))
        shown = "; ".join(f"{title}: {one_line(message, 220)} — {curl}"
                          for title, (message, curl) in failure_examples(output).items())
        err = f"; {len(errors)} errors: {one_line(errors[0], 150)}" if errors else ""
        parts.append(f"schemathesis: {failures} unique failures ({tc.get('with_failures', 0)} failing test cases){err}: "
                     f"{kinds}. One of each: {shown} (all in schemathesis/{scenario}/output.txt)")
    if probe_problems:
        parts.append(f"edge probes: {n_probe_failures} failures, one of each kind: "
                     + "; ".join(f"{v[0]['problem']} (×{len(v)})" for v in probe_problems.values())
                     + f" (all in schemathesis/{scenario}/edge-probes.json)")
    if parts or server_errors:
        return "fail", (f"{head}; {failures + n_probe_failures} failures, {server_errors} 5xx — " + " | ".join(parts))
    gap = (f"; statuses the document does not list: {sum(len(v) for v in gaps.values())} "
           f"(operation, status) pairs, e.g. {next(iter(gaps))} {next(iter(gaps.values()))}") if gaps else ""
    what = {
        "anonymous": "every request 401 admin.unauthorized",
        "viewer": "reads answered, every change 403 admin.forbidden (a missing or other token 401)",
        "admin": "never refused (a missing or other token 401)",
    }[role]
    return "pass", (f"{head}; 0 failures: no 5xx, documented responses match their schema and content type, "
                    f"every 4xx is a catalogued {{error, error_description, diagnosis}} (also for the edge probes: non-UTF-8 "
                    f"path parameters, a body over the limit, another Content-Type, broken JSON), every operation routed, "
                    f"{what}{gap}")


def main():
    global client_label
    os.makedirs(ART, exist_ok=True)
    version = subprocess.run([ST, "--version"], capture_output=True, text=True).stdout.strip().split()[-1]
    client_label = f"schemathesis {version}"
    write_results()

    candor = Candor()

    def on_term(signum, _frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, on_term)
    try:
        catalogue = parse_catalogue()
        catalogue_path = os.path.join(ART, "catalogue.json")
        with open(catalogue_path, "w", encoding="utf-8") as f:
            json.dump(catalogue, f, indent=1)
        candor.start()
        log(f"own candor at {candor.issuer} (data {candor.data}); catalogue: {len(catalogue)} codes")

        status, headers, raw = http("GET", candor.issuer + OPENAPI_PATH)
        try:
            openapi = json.loads(raw)
        except ValueError:
            openapi = None
        if status != 200 or not isinstance(openapi, dict) or not str(openapi.get("openapi", "")).startswith("3.1"):
            raise Abort(f"GET {OPENAPI_PATH} without a token answered {status}, not an OpenAPI 3.1 document")
        with open(os.path.join(ART, "openapi.json"), "wb") as f:
            f.write(raw)
        n_ops = sum(1 for p in openapi["paths"].values() for m in p if m in ("get", "post", "put", "patch", "delete"))

        secrets = {}
        for role, scope in (("admin", "candor:admin"), ("viewer", "candor:admin:read")):
            created = json.loads(candor.cli("client", "create", "--name", f"schemathesis-{role}",
                                            "--client-id", f"schemathesis-{role}", "--scope", scope))
            secrets[role] = created["client_secret"]
        _, _, raw = http("GET", candor.issuer + "/.well-known/openid-configuration")
        token_endpoint = json.loads(raw)["token_endpoint"]

        for scenario, role, scope, examples in SCENARIOS:
            token = None
            if scope:
                try:
                    token = client_token(candor, token_endpoint, f"schemathesis-{role}", secrets[role], scope)
                except Abort as e:
                    result(scenario, "fail", str(e))
                    continue
            log(f"{scenario}: st run, {n_ops} operations, max {examples} examples each, seed {SEED}")
            status, detail = run_scenario(candor, openapi, catalogue, catalogue_path, scenario, role, token, examples)
            if role == "anonymous" and status == "pass":
                detail = f"GET {OPENAPI_PATH} 200 without a token (OpenAPI {openapi['openapi']}); " + detail
            result(scenario, status, detail)
            if not candor.alive():
                raise Abort(f"candor exited: {candor.tail()}")
        panics = [line for line in open(candor.stderr, encoding="utf-8", errors="replace") if "panicked" in line]
        if panics:
            results.append({"scenario": "admin-api-fuzz-server-log", "status": "fail",
                            "detail": one_line(f"candor's log has {len(panics)} panics: {panics[0]}")})
            write_results()
    except Abort as e:
        log(f"cannot run: {e}")
        write_results(str(e))
    except Exception as e:  # a bug of this runner: what ran is kept, the rest fails, exit 1
        log(f"runner error: {e!r}")
        write_results(f"not run: the runner failed ({type(e).__name__}: {e})")
        return 1
    finally:
        candor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
