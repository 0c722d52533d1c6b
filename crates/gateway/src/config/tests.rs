//! The whole `[gateway]` table through `File::from_toml` and `File::validate`.

use http::Method;

use super::*;

const EXAMPLE: &str = r#"
[gateway]
listen = "127.0.0.1:8000"
admin_listen = "127.0.0.1:8001"

[[gateway.issuers]]
issuer = "http://127.0.0.1:8080"
audiences = ["https://api.example"]
algorithms = ["ES256", "RS256"]
token_types = ["at+jwt"]
revocation_feed = { client_id = "gateway", client_secret_env = "CANDOR_GATEWAY_SECRET" }

[[gateway.routes]]
name = "orders"
match = { host = "api.example", path_prefix = "/orders", methods = ["GET", "POST"] }
upstreams = [{ url = "http://127.0.0.1:9001", weight = 1 }, { url = "http://127.0.0.1:9002" }]
balance = "least_requests"
health = { path = "/healthz", interval = "5s", unhealthy_after = 3, healthy_after = 2 }
auth = "required"
scopes = { GET = ["orders:read"], POST = ["orders:write"] }
claims = { "groups" = { contains = "staff" } }
strip_prefix = false
timeouts = { connect = "2s", response = "30s" }
"#;

fn check(text: &str) -> Result<Config, ConfigError> {
    File::from_toml(text)?.validate()
}

#[test]
fn the_documented_example_validates() {
    let c = check(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(c.routes.len(), 1);
    let r = &c.routes[0];
    assert_eq!(r.scopes_for(&Method::GET), vec!["orders:read"]);
    assert_eq!(r.scopes_for(&Method::DELETE), Vec::<&str>::new());
    assert_eq!(r.balance, Balance::LeastRequests);
    assert_eq!(
        c.issuers[0].feed.as_ref().map(|f| f.on_stale),
        Some(OnStale::Refuse)
    );
}

#[test]
fn errors_name_the_key() {
    let cases = [
        (
            EXAMPLE.replace("ES256\", \"RS256", "HS256"),
            "gateway.issuers[0].algorithms",
        ),
        (
            EXAMPLE.replace("\"/orders\"", "\"orders\""),
            "gateway.routes[0].match.path_prefix",
        ),
        (
            EXAMPLE.replace("least_requests", "random"),
            "gateway.routes[0].balance",
        ),
        (
            EXAMPLE.replace("http://127.0.0.1:9002", "ftp://x"),
            "gateway.routes[0].upstreams[1].url",
        ),
        (
            EXAMPLE.replace("interval = \"5s\"", "interval = \"soon\""),
            "gateway.routes[0].health.interval",
        ),
        (
            EXAMPLE.replace("contains = \"staff\"", "contains = \"a\", equals = \"b\""),
            "gateway.routes[0].claims.groups",
        ),
        (
            EXAMPLE.replace("127.0.0.1:8001", "127.0.0.1:8000"),
            "gateway.admin_listen",
        ),
        (
            EXAMPLE.replace("auth = \"required\"", "auth = \"maybe\""),
            "gateway.routes[0].auth",
        ),
        (
            EXAMPLE.replace("strip_prefix = false", "strip_prefx = false"),
            "gateway",
        ),
    ];
    for (text, key) in cases {
        let e = check(&text)
            .err()
            .unwrap_or_else(|| panic!("accepted: {key}"));
        assert!(e.key.starts_with(key), "{key}: {e}");
    }
    assert!(check("[server]\n").is_err());
}
