//! Which route a request takes: the longest path prefix (on a segment boundary), then a route
//! for the request's host over one for any host, then the method.

use http::Method;

use crate::config::Route;

/// Why no route takes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// Nothing matches the path and host.
    NotFound,
    /// A route matches the path and host but not the method; the methods it takes.
    Method(Vec<Method>),
    /// The path holds a dot segment or an encoded delimiter, which an upstream could resolve
    /// to a path outside the route's prefix.
    Ambiguous(&'static str),
}

fn prefix_matches(prefix: &str, path: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

/// Refuses paths an upstream might read differently from the gateway.
pub fn check_path(path: &str) -> Result<(), NoRoute> {
    if path.contains('\\') {
        return Err(NoRoute::Ambiguous("a backslash"));
    }
    let lower = path.to_ascii_lowercase();
    for (seq, what) in [
        ("%2e", "an encoded '.'"),
        ("%2f", "an encoded '/'"),
        ("%5c", "an encoded '\\\\'"),
        ("%00", "an encoded NUL"),
    ] {
        if lower.contains(seq) {
            return Err(NoRoute::Ambiguous(what));
        }
    }
    if path.split('/').any(|s| s == "." || s == "..") {
        return Err(NoRoute::Ambiguous("a '.' or '..' segment"));
    }
    if path.contains("//") {
        return Err(NoRoute::Ambiguous("an empty segment ('//')"));
    }
    Ok(())
}

/// The index of the route for a request, among `routes` (each read through `route`).
pub fn find<T>(
    routes: &[T],
    route: impl Fn(&T) -> &Route,
    host: Option<&str>,
    path: &str,
    method: &Method,
) -> Result<usize, NoRoute> {
    check_path(path)?;
    let host = host.map(|h| {
        let h = h
            .rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(h, |(h, _)| h);
        h.to_ascii_lowercase()
    });
    let mut best: Option<(usize, usize, bool)> = None; // (index, prefix length, host-specific)
    let mut allowed: Vec<Method> = Vec::new();
    for (i, r) in routes.iter().map(&route).enumerate() {
        if !prefix_matches(&r.path_prefix, path) {
            continue;
        }
        let specific = match &r.host {
            Some(h) if Some(h) == host.as_ref() => true,
            Some(_) => continue,
            None => false,
        };
        let len = r.path_prefix.trim_end_matches('/').len();
        if !r.methods.is_empty() && !r.methods.contains(method) {
            allowed.extend(r.methods.iter().cloned());
            continue;
        }
        let better = match best {
            None => true,
            Some((_, l, s)) => len > l || (len == l && specific && !s),
        };
        if better {
            best = Some((i, len, specific));
        }
    }
    match best {
        Some((i, _, _)) => Ok(i),
        None if !allowed.is_empty() => {
            allowed.sort_by(|a, b| a.as_str().cmp(b.as_str()));
            allowed.dedup();
            Err(NoRoute::Method(allowed))
        }
        None => Err(NoRoute::NotFound),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::File;

    fn routes() -> Vec<Route> {
        let text = r#"
[gateway]
[[gateway.routes]]
name = "all"
auth = "none"
upstreams = [{ url = "http://127.0.0.1:1" }]
[[gateway.routes]]
name = "orders"
auth = "none"
match = { path_prefix = "/orders" }
upstreams = [{ url = "http://127.0.0.1:1" }]
[[gateway.routes]]
name = "orders-example"
auth = "none"
match = { host = "api.example", path_prefix = "/orders", methods = ["GET"] }
upstreams = [{ url = "http://127.0.0.1:1" }]
[[gateway.routes]]
name = "admin"
auth = "none"
match = { path_prefix = "/admin/", methods = ["POST"] }
upstreams = [{ url = "http://127.0.0.1:1" }]
"#;
        File::from_toml(text)
            .and_then(|f| f.validate())
            .map(|c| c.routes)
            .unwrap_or_default()
    }

    #[test]
    fn longest_prefix_then_host_then_method() {
        let all = routes();
        let r: Vec<&Route> = all.iter().collect();
        let name = |host: Option<&str>, path: &str, m: Method| {
            find(&r, |x| x, host, path, &m).map(|i| r[i].name.as_str())
        };
        assert_eq!(name(None, "/", Method::GET), Ok("all"));
        assert_eq!(
            name(None, "/ordersx", Method::GET),
            Ok("all"),
            "a segment boundary"
        );
        assert_eq!(name(None, "/orders/1", Method::GET), Ok("orders"));
        assert_eq!(
            name(Some("API.example:8000"), "/orders/1", Method::GET),
            Ok("orders-example")
        );
        assert_eq!(
            name(Some("api.example"), "/orders", Method::POST),
            Ok("orders")
        );
        assert_eq!(name(None, "/admin/x", Method::POST), Ok("admin"));
        assert_eq!(name(None, "/admin/x", Method::GET), Ok("all"));
        assert!(matches!(
            name(None, "/orders/../admin/x", Method::POST),
            Err(NoRoute::Ambiguous(_))
        ));
        assert!(matches!(
            name(None, "/orders/%2e%2e/admin", Method::GET),
            Err(NoRoute::Ambiguous(_))
        ));
        assert!(matches!(
            name(None, "/orders%2Fx", Method::GET),
            Err(NoRoute::Ambiguous(_))
        ));
        let only_admin: Vec<&Route> = all.iter().filter(|r| r.name == "admin").collect();
        assert_eq!(
            find(&only_admin, |x| x, None, "/admin/x", &Method::GET),
            Err(NoRoute::Method(vec![Method::POST]))
        );
        assert_eq!(
            find(&only_admin, |x| x, None, "/other", &Method::GET),
            Err(NoRoute::NotFound)
        );
    }
}
