#!/usr/bin/env python3
"""Turn bench/gateway/run.sh's raw results into RESULTS.md and throughput.svg (stdlib only).

    python3 bench/gateway/report.py [RESULTS_DIR] [--md FILE] [--svg FILE]

RESULTS_DIR defaults to bench/out/gateway (results.jsonl: one JSON object per target and
concurrency, or per skipped/failed target; meta.json: settings, versions, machine). The
outputs default to bench/gateway/RESULTS.md and bench/gateway/throughput.svg.
"""
import argparse
import html
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))

ORDER = ["direct", "nginx", "haproxy-es256", "haproxy-rs256", "apache-es256", "apache-rs256", "candor"]
LABEL = {
    "direct": "upstream alone",
    "nginx": "nginx proxy_pass (no auth)",
    "haproxy-es256": "HAProxy jwt_verify ES256",
    "haproxy-rs256": "HAProxy jwt_verify RS256",
    "apache-es256": "Apache mod_auth_openidc ES256",
    "apache-rs256": "Apache mod_auth_openidc RS256",
    "candor": "Candor gateway",
}
SHORT = {
    "direct": "upstream",
    "nginx": "nginx proxy",
    "haproxy-es256": "HAProxy ES256",
    "haproxy-rs256": "HAProxy RS256",
    "apache-es256": "Apache ES256",
    "apache-rs256": "Apache RS256",
    "candor": "Candor",
}
WHAT = {
    "direct": "the upstream itself: nginx, 1 worker, `return 200 \"ok\\n\"`; the floor every proxy adds to",
    "nginx": "nginx `proxy_pass`, `worker_processes auto`, upstream keepalive; no authentication (the cost of proxying alone)",
    "haproxy-es256": "HAProxy `jwt_verify` against a static P-256 public key (PEM): alg pinned, signature, exp, iss, aud, scope `orders:read`; 401/403",
    "haproxy-rs256": "the same with an RSA 2048 public key and RS256 tokens",
    "apache-es256": "httpd event MPM + mod_auth_openidc `AuthType oauth20`, P-256 key from a JWKS (`OIDCOAuthVerifyJwksUri`, https on loopback, fetched once and cached; an EC certificate in `OIDCOAuthVerifyCertFiles` crashes this mod_auth_openidc at start): signature, exp, `Require claim` iss, aud, scope; ProxyPass keepalive",
    "apache-rs256": "the same with the RSA key as an X.509 certificate (`OIDCOAuthVerifyCertFiles kid#cert.pem`) and RS256 tokens",
    "candor": "`candor gateway --config gateway.toml`: JWT from a real Candor issuer (`candor serve --dev`), keys from its JWKS; iss, aud, alg, exp, scope `orders:read`",
}
GOAL_NGINX, GOAL_HAPROXY, GOAL_APACHE, GOAL_P99_MS, GOAL_RSS_MB = 1.0, 2.0, 5.0, 1.0, 64.0


def load(results_dir):
    rows, skipped, failed = [], {}, {}
    with open(os.path.join(results_dir, "results.jsonl")) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if "skipped" in r:
                skipped[r["target"]] = r["skipped"]
            elif "failed" in r:
                failed[r["target"]] = r["failed"]
            else:
                rows.append(r)
    meta = {}
    mp = os.path.join(results_dir, "meta.json")
    if os.path.exists(mp):
        with open(mp) as f:
            meta = json.load(f)
    return rows, skipped, failed, meta


def fmt_int(v):
    return "–" if v is None else f"{v:,.0f}"


def fmt(v, digits=2):
    return "–" if v is None else f"{v:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "–" if r is None else f"{r:.2f}×"


def met(ok):
    if ok is None:
        return "not measured"
    return "**met**" if ok else "**not met**"


def order_key(t):
    return ORDER.index(t) if t in ORDER else len(ORDER)


def nice_step(vmax, n=5):
    raw = vmax / n
    mag = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


def write_svg(path, by, concs, targets, skipped, failed, meta, goal=None):
    w, h = 960, 460
    left, right, top, bottom = 80, 20, 60, 90
    pw, ph = w - left - right, h - top - bottom
    goal = goal or {}
    vmax = max([r["rps"] for r in by.values()] + [v for v in goal.values() if v] + [1])
    step = nice_step(vmax)
    ymax = step * math.ceil(vmax / step)
    colors = ["#3b6fb6", "#e08a2c", "#5aa469", "#b64a3b"]
    out = []
    out.append(f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" font-family="DejaVu Sans, Arial, sans-serif" font-size="12">')
    out.append(f'<rect width="{w}" height="{h}" fill="#ffffff"/>')
    title = "Gateway benchmark: requests/s per target (higher is better)"
    sub = f"wrk -t{meta.get('threads', 1)}, {meta.get('seconds', '?')} s per point, one run {html.escape(str(meta.get('started', '')))}; {meta.get('nproc', '?')} cores shared with wrk"
    out.append(f'<text x="{w/2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">{html.escape(title)}</text>')
    out.append(f'<text x="{w/2}" y="44" text-anchor="middle" fill="#555">{html.escape(sub)}</text>')
    # grid and y axis
    y = 0.0
    while y <= ymax + 1e-9:
        py = top + ph - ph * y / ymax
        out.append(f'<line x1="{left}" y1="{py:.1f}" x2="{left + pw}" y2="{py:.1f}" stroke="#e3e3e3"/>')
        out.append(f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end" fill="#333">{y:,.0f}</text>')
        y += step
    out.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<line x1="{left}" y1="{top + ph}" x2="{left + pw}" y2="{top + ph}" stroke="#333"/>')
    out.append(f'<text x="18" y="{top + ph/2}" text-anchor="middle" transform="rotate(-90 18 {top + ph/2})" fill="#333">requests per second</text>')
    n = max(len(targets), 1)
    gw = pw / n
    bw = min(34.0, gw * 0.8 / max(len(concs), 1))
    for i, t in enumerate(targets):
        gx = left + gw * i + gw / 2
        total = bw * len(concs)
        for j, c in enumerate(concs):
            r = by.get((t, c))
            bx = gx - total / 2 + j * bw
            if r is None:
                continue
            bh = ph * r["rps"] / ymax
            by_ = top + ph - bh
            bad = r.get("non_2xx", 0) or r.get("socket_errors", 0)
            fill = colors[j % len(colors)]
            stroke = ' stroke="#c00" stroke-width="2"' if bad else ""
            tip = html.escape(f'{LABEL.get(t, t)} -c{c}: {r["rps"]:,.0f} req/s, p99 {r["p99_ms"]} ms')
            out.append(f'<rect x="{bx:.1f}" y="{by_:.1f}" width="{bw - 2:.1f}" height="{bh:.1f}" fill="{fill}"{stroke}><title>{tip}</title></rect>')
            lbl = f'{r["rps"]/1000:.1f}k'
            out.append(f'<text x="{bx + (bw - 2)/2:.1f}" y="{by_ - 4:.1f}" text-anchor="middle" font-size="10" fill="#222">{lbl}</text>')
        if t == "candor":
            for j, c in enumerate(concs):
                g = goal.get(c)
                if not g:
                    continue
                bx = gx - total / 2 + j * bw
                gy = top + ph - ph * g / ymax
                out.append(f'<line x1="{bx - 3:.1f}" y1="{gy:.1f}" x2="{bx + bw + 1:.1f}" y2="{gy:.1f}" stroke="{colors[j % len(colors)]}" stroke-width="2" stroke-dasharray="4 2"><title>goal at -c{c}: {g:,.0f} req/s</title></line>')
                out.append(f'<text x="{bx + (bw - 2)/2:.1f}" y="{gy - 4:.1f}" text-anchor="middle" font-size="10" fill="#555">goal {g/1000:.1f}k</text>')
        if not any((t, c) in by for c in concs):
            why = "skipped" if t in skipped else ("FAILED" if t in failed else "no data")
            out.append(f'<text x="{gx:.1f}" y="{top + ph - 8}" text-anchor="middle" fill="#999" font-style="italic">{why}</text>')
        out.append(f'<text x="{gx:.1f}" y="{top + ph + 18}" text-anchor="middle" fill="#222">{html.escape(SHORT.get(t, t))}</text>')
    # legend
    lx = left + 10
    ly = h - 30
    for j, c in enumerate(concs):
        out.append(f'<rect x="{lx}" y="{ly - 10}" width="12" height="12" fill="{colors[j % len(colors)]}"/>')
        out.append(f'<text x="{lx + 18}" y="{ly}" fill="#222">-c{c} connections</text>')
        lx += 160
    out.append(f'<text x="{w - right}" y="{ly}" text-anchor="end" fill="#777" font-size="11">compare within this run only; dashed = req/s Candor needs for all goals; red outline = errors</text>')
    out.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(out) + "\n")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("results_dir", nargs="?", default=os.path.join(ROOT, "bench", "out", "gateway"))
    ap.add_argument("--md", default=os.path.join(HERE, "RESULTS.md"))
    ap.add_argument("--svg", default=os.path.join(HERE, "throughput.svg"))
    a = ap.parse_args()
    rows, skipped, failed, meta = load(a.results_dir)
    by = {(r["target"], r["concurrency"]): r for r in rows}
    concs = meta.get("concurrencies") or sorted({r["concurrency"] for r in rows})
    targets = sorted({r["target"] for r in rows} | set(skipped) | set(failed), key=order_key)
    max_other = meta.get("max_other", 15)

    def get(t, c, k):
        r = by.get((t, c))
        return None if r is None else r.get(k)

    L = []
    L.append("# Gateway benchmark: Candor gateway vs nginx, HAProxy jwt_verify, Apache mod_auth_openidc")
    L.append("")
    L.append(f"Generated by `bench/gateway/run.sh` (then `report.py`); overwritten on every run. Run started {meta.get('started', '?')}, finished {meta.get('finished', '?')}; git {meta.get('git', '?')}.")
    L.append("")
    warn = []
    for t in sorted(failed, key=order_key):
        warn.append(f"**FAILED: {LABEL.get(t, t)}: {failed[t]}.** Not measured.")
    for t in sorted(skipped, key=order_key):
        warn.append(f"SKIPPED: {LABEL.get(t, t)}: {skipped[t]}.")
    bad = [r for r in rows if r.get("non_2xx") or r.get("socket_errors")]
    for r in bad:
        warn.append(f"**WARNING: {LABEL.get(r['target'], r['target'])} at -c{r['concurrency']}: {r.get('non_2xx')} non-2xx responses, {r.get('socket_errors')} socket errors ({r.get('socket_errors_detail')}). Its figures are not valid.**")
    noisy = [r for r in rows if (r.get("other_cpu_pct") or 0) > max_other]
    for r in noisy:
        warn.append(f"Note: other processes used {r['other_cpu_pct']} % of a core during {r['target']} -c{r['concurrency']} (limit {max_other} %, the quietest of {len(r.get('discarded') or []) + 1} attempts): its figures are probably low; re-run on a quiet machine.")
    for r in rows:
        for d in r.get("discarded") or []:
            warn.append(f"Discarded attempt of {r['target']} -c{r['concurrency']}: {d['rps']:,.0f} req/s while other processes used {d['other_cpu_pct']} % of a core ({d['wrk_file']}).")
    if warn:
        for w_ in warn:
            L.append("- " + w_)
        L.append("")

    # Goals.
    cand_alg = get("candor", concs[0], "alg") if concs else None
    hap = "haproxy-rs256" if cand_alg == "RS256" else "haproxy-es256"
    apa = "apache-rs256" if cand_alg == "RS256" else "apache-es256"
    if not any((apa, c) in by for c in concs):
        apa = "apache-rs256" if apa == "apache-es256" else "apache-es256"
    L.append("## The issue's targets")
    L.append("")
    if "candor" not in {r["target"] for r in rows}:
        L.append("Candor's gateway was not measured in this run (" + (skipped.get("candor") or failed.get("candor") or "not selected") + "), so every goal below reads *not measured*; the last column says what the Candor gateway would need to reach **in this run** (the peers' figures from the same run).")
        L.append("")
    L.append(f"Comparisons use the peer configured for the algorithm of Candor's token ({cand_alg or 'ES256, Candor’s default'}): HAProxy = `{hap}`, Apache = `{apa}`; the RS256 variants are in the tables below for reference (both peers verify RS256 for less CPU than ES256).")
    L.append("")
    L.append("| goal | concurrency | Candor | peer | ratio | goal | needed in this run |")
    L.append("|---|---:|---:|---:|---:|---|---:|")
    for c in concs:
        crps = get("candor", c, "rps")
        for name, peer, factor in (("≥ 1.0× nginx proxy (req/s)", "nginx", GOAL_NGINX),
                                   ("≥ 2× HAProxy jwt_verify (req/s)", hap, GOAL_HAPROXY),
                                   ("≥ 5× Apache mod_auth_openidc (req/s)", apa, GOAL_APACHE)):
            prps = get(peer, c, "rps")
            r = ratio(crps, prps)
            need = None if prps is None else prps * factor
            L.append(f"| {name} | -c{c} | {fmt_int(crps)} | {fmt_int(prps)} ({peer}) | {fmt_ratio(r)} | {met(None if r is None else r >= factor)} | {fmt_int(need)} req/s |")
    c32 = 32 if 32 in concs else (concs[0] if concs else None)
    if c32 is not None:
        dp99, cp99 = get("direct", c32, "p99_ms"), get("candor", c32, "p99_ms")
        added = None if dp99 is None or cp99 is None else cp99 - dp99
        L.append(f"| p99 added over the direct upstream ≤ {GOAL_P99_MS:g} ms | -c{c32} | {fmt(cp99)} ms | {fmt(dp99)} ms (direct) | +{fmt(added)} ms | {met(None if added is None else added <= GOAL_P99_MS)} | p99 ≤ {fmt(None if dp99 is None else dp99 + GOAL_P99_MS)} ms |")
    rss = [get("candor", c, "rss_mb") for c in concs if get("candor", c, "rss_mb") is not None]
    mx = max(rss) if rss else None
    L.append(f"| RSS ≤ {GOAL_RSS_MB:g} MB (largest sample) | all | {fmt(mx, 1)} MB | | | {met(None if mx is None else mx <= GOAL_RSS_MB)} | ≤ {GOAL_RSS_MB:g} MB |")
    L.append("")
    def needed(c):
        vals = []
        for peer, factor in (("nginx", GOAL_NGINX), (hap, GOAL_HAPROXY), (apa, GOAL_APACHE)):
            v = get(peer, c, "rps")
            if v is not None:
                vals.append(v * factor)
        return max(vals) if vals else None

    L.append("To meet all three throughput goals at once, Candor's gateway must reach in this run: " +
             ", ".join(f"**{fmt_int(needed(c))} req/s** at -c{c}" for c in concs) + ".")
    L.append("")

    for c in concs:
        L.append(f"## -c{c} (wrk -t{meta.get('threads', 1)} -c{c} -d{meta.get('seconds', '?')}s --latency)")
        L.append("")
        L.append("| target | alg | req/s | ÷ nginx proxy | ÷ direct | p50 ms | p99 ms | p99 added over direct | target CPU s | target CPU % | CPU µs / request | RSS MB | PSS MB | processes | non-2xx | socket errors | upstream CPU % | other CPU % |")
        L.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        n_rps, d_rps, d_p99 = get("nginx", c, "rps"), get("direct", c, "rps"), get("direct", c, "p99_ms")
        for t in targets:
            r = by.get((t, c))
            if r is None:
                why = "skipped" if t in skipped else ("FAILED" if t in failed else "not measured")
                L.append(f"| {LABEL.get(t, t)} | | *{why}* | | | | | | | | | | | | | | | |")
                continue
            up_pct = None if r.get("upstream_cpu_s") is None else 100 * r["upstream_cpu_s"] / r["duration_s"]
            added = None if d_p99 is None or t == "direct" else r["p99_ms"] - d_p99
            L.append("| " + " | ".join([
                LABEL.get(t, t) + (f" (attempt {r.get('attempt')} of {len(r.get('discarded') or []) + 1})" if r.get("discarded") else ""), r.get("alg") if r.get("alg") not in (None, "-") else "–",
                fmt_int(r["rps"]), fmt_ratio(ratio(r["rps"], n_rps)), fmt_ratio(ratio(r["rps"], d_rps)),
                fmt(r["p50_ms"]), fmt(r["p99_ms"]), "–" if added is None else f"{added:+.2f} ms",
                fmt(r["cpu_s"]), fmt(r["cpu_pct"], 0), fmt(r["cpu_us_per_req"], 1),
                fmt(r.get("rss_mb"), 1), fmt(r.get("pss_mb"), 1), str(r.get("nproc", "–")),
                str(r.get("non_2xx")), str(r.get("socket_errors")),
                "–" if up_pct is None or t == "direct" else f"{up_pct:.0f}", fmt(r.get("other_cpu_pct"), 0),
            ]) + " |")
        L.append("")

    L.append("## Reading the tables")
    L.append("")
    L.append("- **req/s** = completed requests ÷ measured duration (wrk). **÷ nginx proxy** and **÷ direct**: this target's req/s over the plain nginx proxy's and over the upstream alone, at the same concurrency in the same run.")
    L.append("- **p50/p99**: wrk `--latency` percentiles (wrk's coordinated-omission-prone closed loop: latency under saturation, not at a fixed rate). **p99 added over direct**: this target's p99 minus the upstream-alone p99 at the same concurrency.")
    L.append("- **target CPU**: user+system time of the target's processes (the process run.sh started and all its descendants: nginx master and workers, httpd parent and children; `utime+stime+cutime+cstime` from /proc/PID/stat) over the measured interval; % is of one core (200 % = both cores). **CPU µs / request** = target CPU seconds × 10⁶ ÷ requests: the cost per request, which depends less on how the two cores were shared than req/s does.")
    L.append("- **upstream CPU %**: the upstream nginx's own CPU during that measurement (not included in the target's). The issuer (Candor's `serve`, or the JWKS server for Apache ES256) is not included either; its CPU is in results.jsonl (`aux_cpu_s`, with `jwks_fetches` for Apache).")
    L.append("- **RSS MB**: VmRSS summed over the target's processes right after the measurement (shared pages are counted once per process, so multi-process servers read high); **PSS** shares them out and is the fairer sum for nginx and httpd. MB = 2²⁰ bytes.")
    L.append("- **non-2xx** (wrk's status ≥ 400 count) and **socket errors** must be 0: a target that answers errors is not fast. **other CPU %**: everything else busy on the machine during the measurement (processes other than the target, upstream, issuer and wrk, plus kernel work charged to none), in % of a core. run.sh waits for a quiet machine before each measurement and measures again (at most twice, within a time budget) when others used more than " + str(max_other) + " %; the quietest attempt is kept.")
    L.append("- The machine has **" + str(meta.get("nproc", "?")) + " cores and wrk runs on it too**: a target that uses both cores competes with wrk and with the upstream for them. This machine's speed varies 2–5× between days: compare targets within this run only, never with another day's figures.")
    L.append("- Every target gets the same request, `GET /` with `Authorization: Bearer <JWT>` on keep-alive connections, the same token on every request (one per target: Candor's from its issuer, the peers' minted by run.sh with the same claims). A gateway that caches validation results per token benefits from that.")
    L.append("")
    L.append("## What each target is")
    L.append("")
    for t in targets:
        L.append(f"- **{LABEL.get(t, t)}** (`{t}`): {WHAT.get(t, '')}")
    L.append("")
    L.append("Before each target is measured run.sh checks it (a failure stops that target and makes the run exit non-zero); the checks and their answers are in `bench/out/gateway/checks.txt`:")
    L.append("")
    L.append("- JWT-validating peers: no token → 401; valid token → 200 with the upstream's `ok`; valid token with three scopes → 200; tampered signature → 401; expired → 401; the other algorithm's valid token (alg pinned) → 401; token without `orders:read` → 403; wrong `aud` or wrong `iss` → 401 (HAProxy) / 403 (Apache: a failed `Require claim`).")
    L.append("- Candor: no token → 401; Candor's token → 200 `ok`; tampered signature → 401; same claims signed by a key Candor never published → 401; a token of a second client without `orders:read` → 403; a peer token (other issuer) → 401.")
    L.append("- After each measurement the valid token must still answer 200 `ok`.")
    L.append("")
    L.append("## Machine and software")
    L.append("")
    v = meta.get("versions", {})
    L.append(f"- CPU: {meta.get('cpu', '?')}, `nproc` = {meta.get('nproc', '?')}; memory {meta.get('mem', '?')}; {meta.get('os', '?')}, kernel {meta.get('kernel', '?')}; load average before the run {meta.get('load_before', '?')}")
    L.append(f"- {v.get('wrk', 'wrk ?')}; {v.get('nginx', 'nginx ?')}; HAProxy {v.get('haproxy', '?')}; {v.get('apache', '?')} with mod_auth_openidc {v.get('mod_auth_openidc', '?')} (Debian packages); {v.get('openssl', '?')}")
    L.append(f"- Candor: {v.get('candor', '?')} (`CANDOR_BIN={meta.get('candor_bin', '?')}`)")
    L.append("")
    L.append("## Exact commands")
    L.append("")
    L.append("```sh")
    L.append(f"BENCH_SECONDS={meta.get('seconds', 8)} bash bench/gateway/run.sh    # BENCH_WARMUP={meta.get('warmup', 2)}, targets: {meta.get('targets', '')}")
    L.append("# per target and concurrency C (BENCH_TOKEN = that target's JWT):")
    L.append(f"BENCH_TOKEN=... wrk -t{meta.get('threads', 1)} -cC -d{meta.get('warmup', 2)}s -s bench/gateway/bearer.lua http://127.0.0.1:PORT/              # warm-up")
    L.append(f"BENCH_TOKEN=... wrk -t{meta.get('threads', 1)} -cC -d{meta.get('seconds', 8)}s --latency -s bench/gateway/bearer.lua http://127.0.0.1:PORT/    # measured")
    L.append("nginx -p DIR/ -e DIR/error.log -c DIR/nginx.conf                    # upstream and nginx proxy (daemon off)")
    L.append("haproxy -f DIR/haproxy.cfg -db")
    L.append(". /etc/apache2/envvars && apache2 -f DIR/httpd.conf -DFOREGROUND")
    cmds = meta.get("candor_commands") or [
        "$CANDOR_BIN serve --dev --data DIR/data --listen 127.0.0.1:ISSUERPORT",
        "$CANDOR_BIN client create --data DIR/data --name bench --scope orders:read --audience https://api.example",
        "curl -u CLIENT_ID:CLIENT_SECRET -d grant_type=client_credentials -d scope=orders:read http://127.0.0.1:ISSUERPORT/token",
        "$CANDOR_BIN gateway check --config DIR/gateway.toml    # when the build has `gateway check`",
        "$CANDOR_BIN gateway --config DIR/gateway.toml",
    ]
    cmds = [c.replace(ROOT + "/", "") for c in cmds]
    L.append("# Candor" + ("" if meta.get("candor_commands") else " (not run this time; what run.sh will run)"))
    L.extend(cmds)
    L.append("```")
    L.append("")
    L.append("Configs: `bench/gateway/conf/` (templates; the rendered ones and every log and wrk output are in `bench/out/gateway/`, not committed).")
    L.append("")
    L.append("![requests per second](throughput.svg)")
    L.append("")
    # Sections other scripts append (the machine's limits, revocation.py's distribution) are
    # kept: they are measured separately and say when.
    kept = ""
    if os.path.exists(a.md):
        old = open(a.md).read()
        cut = min((i for i in (old.find("\n## The limits of this machine"), old.find("\n## Revocation to refusal")) if i >= 0), default=-1)
        if cut >= 0:
            kept = old[cut:]
    with open(a.md, "w") as f:
        f.write("\n".join(L).rstrip("\n") + "\n" + kept)
    if "candor" not in targets:
        targets.append("candor")
    write_svg(a.svg, by, concs, targets, skipped, failed, meta, {c: needed(c) for c in concs})
    print(f"wrote {a.md} and {a.svg}", file=sys.stderr)


if __name__ == "__main__":
    main()
