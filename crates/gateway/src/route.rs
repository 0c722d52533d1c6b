//! Which route a request takes: the longest path prefix (on a segment boundary) of the path in
//! normal form ([`crate::path`]), then a route for the request's host over one for any host,
//! then the method.

use http::Method;

use crate::config::Route;
use crate::path::Normalized;

/// Why no route takes the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoRoute {
    /// Nothing matches the path and host.
    NotFound,
    /// A route matches the path and host but not the method; the methods it takes.
    Method(Vec<Method>),
    /// The path cannot be read one way only ([`crate::path`]): what it holds.
    Ambiguous(&'static str),
}

fn prefix_matches(prefix: &str, path: &str, case_insensitive: bool) -> bool {
    let prefix = prefix.trim_end_matches('/');
    let head = path.get(..prefix.len());
    let same = match head {
        Some(h) if case_insensitive => h.eq_ignore_ascii_case(prefix),
        Some(h) => h == prefix,
        None => false,
    };
    prefix.is_empty()
        || (same
            && path
                .get(prefix.len()..)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/')))
}

/// A host name as routes compare it: without a port, in lower case, without the trailing dot
/// of a fully qualified name (`API.example.:443` is `api.example`).
pub fn host_name(host: &str) -> String {
    let h = if host.starts_with('[') {
        // An IPv6 literal: the port, if any, follows the bracket.
        host.split_once(']')
            .map_or(host, |(h, _)| h)
            .trim_start_matches('[')
    } else {
        host.rsplit_once(':')
            .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
            .map_or(host, |(h, _)| h)
    };
    h.strip_suffix('.').unwrap_or(h).to_ascii_lowercase()
}

/// The index of the route for a request, among `routes` (each read through `route`): the
/// path is matched in its loosest reading ([`Normalized::matched`]); a path whose readings
/// differ goes only to a route that allows what makes them differ.
pub fn find<T>(
    routes: &[T],
    route: impl Fn(&T) -> &Route,
    host: Option<&str>,
    path: &Normalized,
    method: &Method,
) -> Result<usize, NoRoute> {
    let host = host.map(host_name);
    let matched = path.matched();
    let mut best: Option<(usize, usize, bool)> = None; // (index, prefix length, host-specific)
    let mut allowed: Vec<Method> = Vec::new();
    for (i, r) in routes.iter().map(&route).enumerate() {
        if !prefix_matches(&r.path_prefix, matched, r.case_insensitive) {
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
        Some((i, _, _)) => {
            let r = routes.get(i).map(&route).ok_or(NoRoute::NotFound)?;
            if path.semicolon && !r.allow_matrix_params {
                return Err(NoRoute::Ambiguous(
                    "a ';' (matrix parameters to some servers: '/admin;x/' is '/admin/' to Tomcat)",
                ));
            }
            if path.encoded_slash && !r.allow_encoded_slash {
                return Err(NoRoute::Ambiguous(
                    "an encoded '/' ('%2F'), which some servers read as a separator",
                ));
            }
            Ok(i)
        }
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

    fn at(routes: &[&Route], host: Option<&str>, path: &str, m: &Method) -> Result<usize, NoRoute> {
        let n = crate::path::normalize(path).unwrap_or_else(|e| panic!("{path}: {e:?}"));
        find(routes, |x| x, host, &n, m)
    }

    #[test]
    fn longest_prefix_then_host_then_method() {
        let all = routes();
        let r: Vec<&Route> = all.iter().collect();
        let name = |host: Option<&str>, path: &str, m: Method| {
            at(&r, host, path, &m).map(|i| r[i].name.as_str())
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
            name(Some("api.example."), "/orders/1", Method::GET),
            Ok("orders-example"),
            "a fully qualified host name"
        );
        assert_eq!(
            name(Some("api.example"), "/orders", Method::POST),
            Ok("orders")
        );
        assert_eq!(name(None, "/admin/x", Method::POST), Ok("admin"));
        assert_eq!(name(None, "/admin/x", Method::GET), Ok("all"));
        // Matched in normal form: the route the upstream's reading falls under.
        assert_eq!(name(None, "/orders/../admin/x", Method::POST), Ok("admin"));
        assert_eq!(name(None, "/%61dmin/x", Method::POST), Ok("admin"));
        assert_eq!(
            name(None, "/orders/%2e%2e/admin/", Method::POST),
            Ok("admin")
        );
        assert!(matches!(
            name(None, "/orders%2Fx", Method::GET),
            Err(NoRoute::Ambiguous(_))
        ));
        assert!(matches!(
            name(None, "/admin;x=1/users", Method::POST),
            Err(NoRoute::Ambiguous(_))
        ));
        assert!(matches!(
            name(None, "/orders/..;/admin/x", Method::POST),
            Err(NoRoute::Ambiguous(_))
        ));
        let only_admin: Vec<&Route> = all.iter().filter(|r| r.name == "admin").collect();
        assert_eq!(
            at(&only_admin, None, "/admin/x", &Method::GET),
            Err(NoRoute::Method(vec![Method::POST]))
        );
        assert_eq!(
            at(&only_admin, None, "/other", &Method::GET),
            Err(NoRoute::NotFound)
        );
    }

    #[test]
    fn case_and_readings_are_the_routes_to_allow() {
        let text = r#"
[gateway]
[[gateway.routes]]
name = "all"
auth = "none"
match = { allow_matrix_params = true, allow_encoded_slash = true }
upstreams = [{ url = "http://127.0.0.1:1" }]
[[gateway.routes]]
name = "admin"
auth = "none"
match = { path_prefix = "/admin", case_insensitive = true }
upstreams = [{ url = "http://127.0.0.1:1" }]
[[gateway.routes]]
name = "files"
auth = "none"
match = { path_prefix = "/files", allow_encoded_slash = true, allow_matrix_params = true }
upstreams = [{ url = "http://127.0.0.1:1" }]
"#;
        let all = File::from_toml(text)
            .and_then(|f| f.validate())
            .map(|c| c.routes)
            .unwrap_or_else(|e| panic!("{e}"));
        let r: Vec<&Route> = all.iter().collect();
        let name = |path: &str| at(&r, None, path, &Method::GET).map(|i| r[i].name.as_str());
        assert_eq!(name("/ADMIN/users"), Ok("admin"));
        assert_eq!(name("/Admin"), Ok("admin"));
        assert_eq!(name("/files/a%2Fb;v=1"), Ok("files"));
        // The route that allows readings to differ is not the one the loosest reading names:
        // refused, though the looser route would have allowed it.
        assert!(matches!(name("/admin;x/users"), Err(NoRoute::Ambiguous(_))));
        assert!(matches!(name("/x/..%2Fadmin"), Err(NoRoute::Ambiguous(_))));
        assert_eq!(name("/other;jsessionid=1"), Ok("all"));
    }
}
