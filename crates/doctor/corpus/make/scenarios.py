"""The corpus scenarios: which provider, which client, which mistake, and where the capture
goes. The truth of each (the cause the doctor should name) is in ../expected.toml."""

def py(script, mode):
    return ["{python}", script, mode]


SCENARIOS = {}


def add(name, provider, via, cmd, **kw):
    folder = "seen" if not kw.pop("held_out", False) else "held-out"
    ext = kw.pop("ext", "har")
    SCENARIOS[name] = dict(provider=provider, via=via, cmd=cmd,
                           file=f"{folder}/{name}.{ext}", **kw)


# --- The set the rules were written against ("seen").
for mode in ["clean", "trailing_slash", "wrong_secret", "reuse", "pkce_mismatch",
             "wrong_endpoint", "json_body", "unregistered_redirect"]:
    add(f"op-requests-{mode.replace('_', '-')}", "op", "mitmproxy",
        py("client_requests.py", mode))
add("op-requests-endpoint-down", "op", "mitmproxy", py("client_requests.py", "endpoint_down"))
add("op-requests-expired", "op", "mitmproxy", py("client_requests.py", "expired"),
    env={"CODE_TTL": "5"})
for mode in ["clean", "trailing_slash", "wrong_secret", "reuse", "pkce_mismatch", "json_body",
             "bad_scope", "unregistered_redirect"]:
    add(f"authlib-requests-{mode.replace('_', '-')}", "authlib", "mitmproxy",
        py("client_requests.py", mode))
add("authlib-requests-expired", "authlib", "mitmproxy", py("client_requests.py", "expired"),
    env={"CODE_TTL": "5"})
for mode in ["clean", "wrong_secret", "reuse", "pkce_mismatch", "wrong_endpoint"]:
    add(f"op-openid-client-{mode.replace('_', '-')}", "op", "mitmproxy",
        ["node", "client_openid.mjs", mode])
for mode in ["clean", "trailing_slash", "wrong_secret"]:
    add(f"op-curl-{mode.replace('_', '-')}", "op", "mitmproxy", ["sh", "client_curl.sh", mode])
for mode in ["clean", "pkce_mismatch", "reuse", "unregistered_redirect"]:
    add(f"op-browser-{mode.replace('_', '-')}", "op", "playwright",
        ["node", "browser.mjs", mode])
add("op-browser-zip-clean", "op", "playwright", ["node", "browser.mjs", "clean"], ext="zip")


# --- The held-out set: made after the rules were written, with other client/provider pairs
# (and the library clients), to measure the doctor on captures it was not tuned on.
for mode in ["clean", "wrong_secret", "pkce_mismatch", "reuse", "trailing_slash", "expired"]:
    add(f"op-authlib-client-{mode.replace('_', '-')}", "op", "mitmproxy",
        py("client_authlib.py", mode), held_out=True,
        **({"env": {"CODE_TTL": "5"}} if mode == "expired" else {}))
for mode in ["clean", "wrong_secret", "reuse", "trailing_slash", "wrong_endpoint",
             "pkce_mismatch"]:
    add(f"authlib-oauthlib-{mode.replace('_', '-')}", "authlib", "mitmproxy",
        py("client_oauthlib.py", mode), held_out=True)
for mode in ["clean", "json_body", "reuse", "pkce_mismatch", "expired", "wrong_endpoint"]:
    add(f"authlib-curl-{mode.replace('_', '-')}", "authlib", "mitmproxy",
        ["sh", "client_curl.sh", mode], held_out=True,
        **({"env": {"CODE_TTL": "5"}} if mode == "expired" else {}))
for mode in ["clean", "trailing_slash", "wrong_secret", "reuse"]:
    add(f"authlib-openid-client-{mode.replace('_', '-')}", "authlib", "mitmproxy",
        ["node", "client_openid.mjs", mode], held_out=True)
for mode in ["wrong_secret", "pkce_mismatch", "reuse"]:
    add(f"op-oauthlib-poster-{mode.replace('_', '-')}", "op", "mitmproxy",
        py("client_oauthlib.py", mode), held_out=True, client_id="poster")
for mode in ["expired", "trailing_slash"]:
    add(f"op-browser-{mode.replace('_', '-')}", "op", "playwright",
        ["node", "browser.mjs", mode], held_out=True,
        **({"env": {"CODE_TTL": "5"}} if mode == "expired" else {}))
add("op-browser-zip-pkce-mismatch", "op", "playwright", ["node", "browser.mjs", "pkce_mismatch"],
    held_out=True, ext="zip")

# --- Held-out, second batch: mistakes of kinds the seen set has none of, made after the first
# held-out measurement, with no rule changed since.
for mode in ["unknown_client", "no_verifier", "no_redirect_uri", "grant_typo", "other_client",
             "basic_and_post"]:
    for prov in ["op", "authlib"]:
        add(f"{prov}-requests-{mode.replace('_', '-')}", prov, "mitmproxy",
            py("client_requests.py", mode), held_out=True)
add("op-browser-secret-in-browser", "op", "playwright", ["node", "browser.mjs", "secret_in_browser"],
    held_out=True)


# --- Raw token responses, as `curl -i` prints them, for `candor doctor response` (made after
# the rules were written, like the held-out captures).
for prov in ["op", "authlib"]:
    for mode in ["clean", "wrong_secret", "pkce_mismatch", "trailing_slash", "json_body", "reuse"]:
        SCENARIOS[f"{prov}-curl-i-{mode.replace('_', '-')}"] = dict(
            provider=prov, via="curl", cmd=["sh", "client_curl.sh", mode],
            file=f"responses/{prov}-curl-i-{mode.replace('_', '-')}.txt")
