#!/usr/bin/env python3
"""Revocation-to-refusal latency: how long after `POST /revoke` answers does Candor's gateway
refuse the token? One real `candor serve --dev` (the issuer) and `candor gateway` following its
revocation feed, on loopback; ROUNDS rounds of: mint a token, see it accepted, revoke it,
then ask the gateway every millisecond until it answers 401. Prints the distribution and
appends a section to bench/gateway/RESULTS.md (never part of the tests).

    CANDOR_BIN=target/release/candor python3 bench/gateway/revocation.py [ROUNDS]
"""
import base64, json, os, socket, statistics, subprocess, sys, tempfile, time, urllib.request, urllib.error, http.server, threading

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("CANDOR_BIN", os.path.join(ROOT, "target", "release", "candor"))
ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 100

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def candor(data, *args, **kw):
    return subprocess.run([BIN, "--data", data, *args], check=True, capture_output=True, text=True, **kw)

def request(url, method="GET", data=None, headers=None):
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()

class Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length", "3"); self.end_headers(); self.wfile.write(b"ok\n")
    def log_message(self, *a): pass

def main():
    work = tempfile.mkdtemp(prefix="candor-revocation-")
    data = os.path.join(work, "data")
    sp, gp, ap, up = free_port(), free_port(), free_port(), free_port()
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", up), Ok)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    client = json.loads(candor(data, "client", "create", "--name", "bench", "--scope", "orders:read",
                               "--audience", "https://api.example").stdout)
    feed = json.loads(candor(data, "client", "create", "--name", "gateway", "--client-id", "gateway",
                             "--scope", "candor:revocations").stdout)
    secret_file = os.path.join(work, "feed.secret")
    with open(secret_file, "w") as f:
        f.write(feed["client_secret"])
    config = os.path.join(work, "candor.toml")
    with open(config, "w") as f:
        f.write(f'''[gateway]
listen = "127.0.0.1:{gp}"
admin_listen = "127.0.0.1:{ap}"
[[gateway.issuers]]
issuer = "http://127.0.0.1:{sp}"
audiences = ["https://api.example"]
revocation_feed = {{ client_id = "gateway", client_secret_file = "{secret_file}" }}
[[gateway.routes]]
name = "orders"
upstreams = [{{ url = "http://127.0.0.1:{up}" }}]
scopes = ["orders:read"]
''')
    server = subprocess.Popen([BIN, "--data", data, "serve", "--dev", "--listen", f"127.0.0.1:{sp}", "--config", config],
                              stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "serve.log"), "w"))
    try:
        for _ in range(200):
            try:
                if request(f"http://127.0.0.1:{ap}/readyz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.05)
        basic = "Basic " + base64.b64encode(f'{client["client_id"]}:{client["client_secret"]}'.encode()).decode()
        form = {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"}
        latencies = []
        for _ in range(ROUNDS):
            status, body = request(f"http://127.0.0.1:{sp}/token", "POST", b"grant_type=client_credentials&scope=orders:read", form)
            token = json.loads(body)["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            assert request(f"http://127.0.0.1:{gp}/x", headers=bearer)[0] == 200
            status, _ = request(f"http://127.0.0.1:{sp}/revoke", "POST", f"token={token}".encode(), form)
            assert status == 200
            revoked = time.monotonic()
            while True:
                if request(f"http://127.0.0.1:{gp}/x", headers=bearer)[0] == 401:
                    latencies.append((time.monotonic() - revoked) * 1000)
                    break
                if time.monotonic() - revoked > 10:
                    raise SystemExit("a revoked token was still accepted after 10 s")
                time.sleep(0.001)
        latencies.sort()
        q = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))]
        summary = {"rounds": ROUNDS, "p50_ms": round(q(0.50), 1), "p90_ms": round(q(0.90), 1),
                   "p99_ms": round(q(0.99), 1), "max_ms": round(latencies[-1], 1),
                   "mean_ms": round(statistics.mean(latencies), 1)}
        print(json.dumps(summary))
        results = os.path.join(ROOT, "bench", "gateway", "RESULTS.md")
        marker = "\n## Revocation to refusal\n"
        text = open(results).read().split(marker)[0] if os.path.exists(results) else ""
        with open(results, "w") as f:
            f.write(text.rstrip("\n") + "\n" + marker + f"""
`bench/gateway/revocation.py` ({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}): {ROUNDS} rounds of
mint a token, see the gateway accept it, `POST /revoke` it at the issuer, then ask the gateway
every millisecond until it answers 401 `token.revoked` (the gateway follows the issuer's
revocation feed by long poll; both on this machine's loopback, SQLite store).

| p50 | p90 | p99 | max | mean | goal |
|---:|---:|---:|---:|---:|---|
| {summary['p50_ms']} ms | {summary['p90_ms']} ms | {summary['p99_ms']} ms | {summary['max_ms']} ms | {summary['mean_ms']} ms | p99 ≤ 1 s (aim 250 ms): **{'met' if summary['p99_ms'] <= 1000 else 'not met'}**{' (aim met)' if summary['p99_ms'] <= 250 else ''} |
""")
    finally:
        server.terminate(); server.wait(timeout=10); upstream.shutdown()

main()
