"""Makes the corpus: for each scenario, start the provider (node oidc-provider or Authlib),
run the client through mitmproxy's mitmdump (its HTTP proxy, with `hardump`),
stop the proxy (it writes the HAR on exit) and the provider. Browser scenarios record with
Playwright's recordHar instead (see browser.mjs).

Usage: /tmp/venv/bin/python run.py [NAME ...]   (no name: every scenario of scenarios.py)
Needs: a venv with mitmproxy, authlib, flask, requests, requests-oauthlib (its python runs the
Python clients too); `npm ci` here (oidc-provider, openid-client, oauth4webapi, playwright-core);
/usr/bin/chromium for the browser scenarios.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from scenarios import SCENARIOS

HERE = Path(__file__).resolve().parent
# CORPUS_OUT: write elsewhere (to try a script without replacing the corpus).
OUT = Path(os.environ.get("CORPUS_OUT", HERE.parent))
PY = sys.executable
MITMDUMP = str(Path(PY).parent / "mitmdump")
PROVIDER_PORT = 9101
PROXY_PORT = 9001

SECRETS = {
    ("op", "web"): "corpus-web-secret-0001-not-real",
    ("op", "poster"): "corpus-poster-secret-0002-not-real",
    ("authlib", "web"): "corpus-authlib-secret-0003-not-real",
    ("authlib", "poster"): "corpus-authlib-secret-0004-not-real",
}


def wait_for(url, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return
        except Exception:
            time.sleep(0.2)
    raise SystemExit(f"nothing answers at {url}")


def wait_port(port, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise SystemExit(f"nothing listens on {port}")


def provider(kind, issuer, env_extra):
    env = dict(os.environ, PORT=str(PROVIDER_PORT), ISSUER=issuer, **env_extra)
    if kind == "op":
        p = subprocess.Popen(["node", "op.mjs"], cwd=HERE, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"http://127.0.0.1:{PROVIDER_PORT}/.well-known/openid-configuration")
    else:
        p = subprocess.Popen([PY, "authlib_as.py"], cwd=HERE, env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(f"http://127.0.0.1:{PROVIDER_PORT}/.well-known/oauth-authorization-server")
    return p


def stop(p):
    p.send_signal(signal.SIGINT)
    try:
        p.wait(timeout=15)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def run(name, sc):
    kind = sc["provider"]
    client = sc.get("client_id", "web")
    out = OUT / sc["file"]
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    env = dict(os.environ)
    env.update(
        CLIENT=client,
        SECRET=SECRETS.get((kind, client), ""),
        OTHER_SECRET=SECRETS.get((kind, "poster"), ""),
        DISCOVERY="openid" if kind == "op" else "oauth",
    )
    issuer = f"http://127.0.0.1:{PROVIDER_PORT}"
    prov = provider(kind, issuer, sc.get("env", {}))
    if sc["via"] == "mitmproxy":
        # A forward proxy, as a developer points HTTP(S)_PROXY at mitmproxy: the capture holds
        # the real URLs (a reverse proxy would record the upstream's, not the issuer's).
        proxy = subprocess.Popen(
            [MITMDUMP, "-q", "--listen-host", "127.0.0.1", "-p", str(PROXY_PORT),
             "--set", f"hardump={out}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(PROXY_PORT)
        env["HTTP_PROXY"] = env["http_proxy"] = f"http://127.0.0.1:{PROXY_PORT}"
        env["NO_PROXY"] = env["no_proxy"] = ""
    else:
        proxy = None
    env["ISSUER"] = issuer
    env["HAR"] = str(out)
    try:
        cmd = [PY if c == "{python}" else c for c in sc["cmd"]]
        subprocess.run(cmd, cwd=HERE, env=env, timeout=120, check=False)
    finally:
        if proxy:
            stop(proxy)
        stop(prov)
    print(f"{name}: {out.relative_to(OUT)} ({out.stat().st_size if out.exists() else 0} bytes)")


if __name__ == "__main__":
    names = sys.argv[1:] or list(SCENARIOS)
    for n in names:
        run(n, SCENARIOS[n])
