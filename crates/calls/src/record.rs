//! One call: what is recorded of each request. It holds no token, secret, code, password,
//! query string or cookie — the fields below are all there is, and the path is cut at `?`.

use std::sync::Arc;

use serde::Serialize;

/// Which part of Candor handled the request; in the rollups also `identity`, the identity
/// events ([`crate::events`]), which no call has.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Gateway,
    Server,
    Identity,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Gateway => "gateway",
            Source::Server => "server",
            Source::Identity => "identity",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "gateway" => Some(Source::Gateway),
            "server" => Some(Source::Server),
            "identity" => Some(Source::Identity),
            _ => None,
        }
    }
}

/// Who a call was made for: made once per verified token and shared by every call it makes,
/// so that recording a call copies no string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Principal {
    pub issuer: Option<Arc<str>>,
    pub subject: Option<Arc<str>>,
    pub client_id: Option<Arc<str>>,
    /// Space-separated, as in the token.
    pub scopes: Option<Arc<str>>,
}

/// One request, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// When the request arrived, Unix microseconds.
    pub at_us: i64,
    pub source: Source,
    /// The gateway route, or the server endpoint (`token`, `authorize`, …); `-` when no
    /// route matched.
    pub route: Arc<str>,
    pub method: Arc<str>,
    /// The path, never the query string.
    pub path: Box<str>,
    pub status: u16,
    pub latency_us: u64,
    pub upstream: Option<Arc<str>>,
    pub bytes_in: Option<u64>,
    pub bytes_out: Option<u64>,
    pub principal: Option<Arc<Principal>>,
    /// The diagnosis code of a refusal.
    pub diagnosis: Option<&'static str>,
    pub request_id: Option<Box<str>>,
    /// The call's span, when the log exports traces ([`crate::trace`]).
    pub trace: Option<crate::trace::Trace>,
}

impl Call {
    pub fn client_id(&self) -> Option<&str> {
        self.principal.as_ref()?.client_id.as_deref()
    }
    pub fn subject(&self) -> Option<&str> {
        self.principal.as_ref()?.subject.as_deref()
    }
    pub fn scopes(&self) -> Option<&str> {
        self.principal.as_ref()?.scopes.as_deref()
    }
    pub fn issuer(&self) -> Option<&str> {
        self.principal.as_ref()?.issuer.as_deref()
    }
}

/// The path of a request target without its query string (or fragment), bounded in length so
/// that a hostile path cannot make a record large.
pub fn path_only(target: &str) -> Box<str> {
    const MAX: usize = 512;
    let path = target.split(['?', '#']).next().unwrap_or("");
    if path.len() <= MAX {
        return path.into();
    }
    let mut end = MAX;
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    path.get(..end).unwrap_or("").into()
}

/// A caller-supplied request id, kept only when it is short visible ASCII (it goes into
/// logs and the database as is).
pub fn request_id(value: Option<&[u8]>) -> Option<Box<str>> {
    let v = value?;
    if v.is_empty() || v.len() > 128 || !v.iter().all(|b| b.is_ascii_graphic()) {
        return None;
    }
    std::str::from_utf8(v).ok().map(Into::into)
}

/// A request method as the record holds it: the common ones shared, not allocated per call.
pub fn method(m: &str) -> Arc<str> {
    use std::sync::OnceLock;
    static COMMON: OnceLock<[Arc<str>; 7]> = OnceLock::new();
    let common = COMMON.get_or_init(|| {
        ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"].map(Arc::from)
    });
    common
        .iter()
        .find(|c| &***c == m)
        .cloned()
        .unwrap_or_else(|| Arc::from(m.get(..32).unwrap_or(m)))
}

/// Now, in Unix microseconds.
pub fn now_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_string_never_reaches_the_record() {
        assert_eq!(&*path_only("/token?code=secret"), "/token");
        assert_eq!(&*path_only("/a#frag?x"), "/a");
        assert_eq!(&*path_only("/plain"), "/plain");
        let long = format!("/{}", "é".repeat(600));
        let cut = path_only(&long);
        assert!(cut.len() <= 512 && long.starts_with(&*cut));
    }

    #[test]
    fn request_ids_are_kept_only_when_harmless() {
        assert_eq!(request_id(Some(b"abc-123")).as_deref(), Some("abc-123"));
        assert_eq!(request_id(Some(b"a b")), None);
        assert_eq!(request_id(Some(b"a\nb")), None);
        assert_eq!(request_id(Some(&[b'x'; 129])), None);
        assert_eq!(request_id(None), None);
    }
}
