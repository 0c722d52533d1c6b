#!/usr/bin/env python3
"""Helpers for bench/gateway/run.sh (python3 standard library only).

  helpers.py freeports N                 N distinct free loopback TCP ports, one a line
  helpers.py mint --alg ES256|RS256 --key KEY.pem --kid KID --iss ISS --aud AUD
                  [--scope S] [--exp-offset SECONDS] [--tamper]
                                         a signed RFC 9068-style JWT (typ at+jwt); signing is
                                         done by `openssl dgst -sha256 -sign`; for ES256 the DER
                                         ECDSA signature is converted to the JWS raw r||s form
  helpers.py ec-jwks PUB.pem KID         a JWK Set with the P-256 public key
  helpers.py procstat PID...             JSON: CPU ticks (utime+stime+cutime+cstime), RSS, PSS
                                         and peak RSS (VmHWM) summed over each PID and all of its
                                         descendants
  helpers.py get FILE.json KEY           one top-level field of a JSON file
  helpers.py tamper JWT                  the JWT with one bit of its signature's first byte flipped
  helpers.py jwtinfo JWT                 JSON: the JWT's header and claims (no verification)
  helpers.py https-serve PORT CERT KEY FILE
                                         serve FILE at every path over HTTPS on 127.0.0.1:PORT
  helpers.py record OUT.jsonl WRK.txt TIMES0 TIMES1 KEY=VALUE...
                                         append one measurement as a JSON line: the wrk
                                         BENCH_RESULT line, wrk's CPU (bash `times` before and
                                         after), the KEY=VALUE pairs, and derived figures
"""
import base64
import json
import os
import socket
import subprocess
import sys
import time


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def freeports(n: int) -> None:
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    for s in socks:
        print(s.getsockname()[1])
    for s in socks:
        s.close()


def der_ecdsa_to_raw(der: bytes, size: int = 32) -> bytes:
    """DER SEQUENCE { INTEGER r, INTEGER s } -> r||s, each left-padded to `size` bytes."""

    def read_len(buf, i):
        n = buf[i]
        i += 1
        if n & 0x80:
            k = n & 0x7F
            n = int.from_bytes(buf[i:i + k], "big")
            i += k
        return n, i

    if der[0] != 0x30:
        raise ValueError("not a DER SEQUENCE")
    _, i = read_len(der, 1)
    out = b""
    for _ in range(2):
        if der[i] != 0x02:
            raise ValueError("not a DER INTEGER")
        n, i = read_len(der, i + 1)
        v = der[i:i + n].lstrip(b"\x00")
        i += n
        if len(v) > size:
            raise ValueError("integer too long")
        out += v.rjust(size, b"\x00")
    return out


def mint(argv) -> None:
    import argparse

    p = argparse.ArgumentParser(prog="helpers.py mint")
    p.add_argument("--alg", required=True, choices=["ES256", "RS256"])
    p.add_argument("--key", required=True)
    p.add_argument("--kid", required=True)
    p.add_argument("--iss", required=True)
    p.add_argument("--aud", required=True)
    p.add_argument("--scope", default="orders:read")
    p.add_argument("--sub", default="bench-client")
    p.add_argument("--exp-offset", type=int, default=3600)
    p.add_argument("--tamper", action="store_true", help="flip one bit of the signature")
    a = p.parse_args(argv)
    now = int(time.time())
    header = {"alg": a.alg, "typ": "at+jwt", "kid": a.kid}
    claims = {
        "iss": a.iss,
        "sub": a.sub,
        "aud": a.aud,
        "client_id": a.sub,
        "iat": now,
        "nbf": now,
        "exp": now + a.exp_offset,
        "jti": b64url(os.urandom(12)),
        "scope": a.scope,
    }
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(claims, separators=(",", ":")).encode())
    )
    sig = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", a.key],
        input=signing_input.encode(),
        capture_output=True,
        check=True,
    ).stdout
    if a.alg == "ES256":
        sig = der_ecdsa_to_raw(sig, 32)
        if len(sig) != 64:
            raise SystemExit("ES256 signature is not 64 bytes")
    if a.tamper:
        sig = bytes([sig[0] ^ 0x01]) + sig[1:]
    print(signing_input + "." + b64url(sig))


def ec_jwks(pub_pem: str, kid: str) -> None:
    der = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", pub_pem, "-outform", "DER"],
        capture_output=True,
        check=True,
    ).stdout
    point = der[-65:]
    if point[0] != 0x04:
        raise SystemExit("not an uncompressed P-256 point")
    jwk = {"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256",
           "x": b64url(point[1:33]), "y": b64url(point[33:65])}
    print(json.dumps({"keys": [jwk]}))


def _children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        kids.setdefault(int(fields[1]), []).append(int(d))
    return kids


def procstat(pids) -> None:
    kids = _children_map()
    seen, stack = [], [int(p) for p in pids]
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.append(p)
        stack.extend(kids.get(p, []))
    ticks = rss = pss = hwm = 0
    alive = []
    for p in seen:
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
            fields = st[st.rindex(")") + 2:].split()
            # fields[0] is field 3 (state): utime=14, stime=15, cutime=16, cstime=17
            ticks += sum(int(x) for x in fields[11:15])
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        rss += int(line.split()[1])
                    elif line.startswith("VmHWM:"):
                        hwm += int(line.split()[1])
            try:
                with open(f"/proc/{p}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            pss += int(line.split()[1])
            except OSError:
                pass
            alive.append(p)
        except (OSError, ValueError):
            continue
    print(json.dumps({"ticks": ticks, "rss_kb": rss, "pss_kb": pss, "hwm_kb": hwm,
                      "nproc": len(alive), "pids": sorted(alive)}))


def jwtinfo(tok: str) -> None:
    parts = tok.strip().split(".")
    if len(parts) != 3:
        raise SystemExit("not a JWS compact serialization")
    print(json.dumps({"header": json.loads(b64url_decode(parts[0])),
                      "claims": json.loads(b64url_decode(parts[1])),
                      "length": len(tok.strip())}))


def https_serve(port: int, cert: str, key: str, path: str) -> None:
    import http.server
    import ssl

    with open(path, "rb") as f:
        body = f.read()

    class H(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, fmt, *args):
            sys.stderr.write("jwks: " + (fmt % args) + "\n")

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), H)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    srv.serve_forever()


def _times_children_seconds(path: str) -> float:
    """bash `times` prints two lines (shell, children) of 'XmY.YYYs XmY.YYYs'."""
    with open(path) as f:
        lines = f.read().split("\n")
    total = 0.0
    for part in lines[1].split():
        m, s = part.rstrip("s").split("m")
        total += int(m) * 60 + float(s)
    return total


def _num(v: str):
    for cast in (int, float):
        try:
            return cast(v)
        except ValueError:
            pass
    return v


def record(out: str, wrk_file: str, times0: str, times1: str, pairs) -> None:
    rec = {}
    for kv in pairs:
        k, _, v = kv.partition("=")
        rec[k] = _num(v) if v != "" else None
    line = None
    with open(wrk_file) as f:
        for ln in f:
            if ln.startswith("BENCH_RESULT "):
                line = ln
    if line is None:
        raise SystemExit(f"no BENCH_RESULT line in {wrk_file}")
    w = {k: _num(v) for k, v in (kv.split("=", 1) for kv in line.split()[1:])}
    hz = rec.pop("clk_tck")
    secs = w["duration_us"] / 1e6
    reqs = w["requests"]
    rec.update({
        "requests": reqs,
        "duration_s": round(secs, 3),
        "rps": round(reqs / secs, 1) if secs > 0 else 0,
        "non_2xx": w["status_errors"],
        "socket_errors": w["connect_errors"] + w["read_errors"] + w["write_errors"] + w["timeouts"],
        "socket_errors_detail": {k: w[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts")},
        "lat_mean_ms": round(w["lat_mean_us"] / 1000, 3),
        "p50_ms": round(w["lat_p50_us"] / 1000, 3),
        "p90_ms": round(w["lat_p90_us"] / 1000, 3),
        "p99_ms": round(w["lat_p99_us"] / 1000, 3),
        "max_ms": round(w["lat_max_us"] / 1000, 3),
    })
    cpu = rec.pop("target_ticks") / hz
    rec["cpu_s"] = round(cpu, 3)
    rec["cpu_pct"] = round(100 * cpu / secs, 1) if secs > 0 else None
    rec["cpu_us_per_req"] = round(cpu * 1e6 / reqs, 2) if reqs > 0 else None
    up = rec.pop("upstream_ticks", None)
    rec["upstream_cpu_s"] = round(up / hz, 3) if up is not None else None
    aux = rec.pop("aux_ticks", None)
    rec["aux_cpu_s"] = round(aux / hz, 3) if aux is not None else None
    wrk_cpu = _times_children_seconds(times1) - _times_children_seconds(times0)
    rec["wrk_cpu_s"] = round(wrk_cpu, 3)
    busy = rec.pop("machine_busy_ticks") / hz
    other = busy - cpu - (up or 0) / hz - (aux or 0) / hz - wrk_cpu
    rec["machine_cpu_pct"] = round(100 * busy / secs, 1) if secs > 0 else None
    rec["other_cpu_pct"] = round(max(0.0, 100 * other / secs), 1) if secs > 0 else None
    for k in ("rss_kb", "pss_kb", "hwm_kb"):
        if rec.get(k) is not None:
            rec[k.replace("_kb", "_mb")] = round(rec.pop(k) / 1024, 1)
    with open(out, "a") as f:
        f.write(json.dumps(rec, sort_keys=True) + "\n")
    print(json.dumps(rec, sort_keys=True))


def main() -> None:
    if len(sys.argv) < 2:
        raise SystemExit(__doc__)
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "freeports":
        freeports(int(args[0]) if args else 1)
    elif cmd == "mint":
        mint(args)
    elif cmd == "ec-jwks":
        ec_jwks(args[0], args[1])
    elif cmd == "procstat":
        procstat(args)
    elif cmd == "get":
        with open(args[0]) as f:
            v = json.load(f)[args[1]]
        print(v if isinstance(v, str) else json.dumps(v))
    elif cmd == "tamper":
        h, p, sig = args[0].strip().split(".")
        raw = b64url_decode(sig)
        print(h + "." + p + "." + b64url(bytes([raw[0] ^ 0x01]) + raw[1:]))
    elif cmd == "jwtinfo":
        jwtinfo(args[0])
    elif cmd == "record":
        record(args[0], args[1], args[2], args[3], args[4:])
    elif cmd == "https-serve":
        https_serve(int(args[0]), args[1], args[2], args[3])
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main()
