//! The request path in the one form routes are matched on and upstreams are sent, so that the
//! gateway and an upstream never disagree about which path a request names.
//!
//! An upstream may read a path in several ways: it decodes `%61` to `a` (RFC 3986 §2.3 says
//! such escapes are equivalent to the letter), removes `.`/`..` segments, drops matrix
//! parameters (`/admin;x=1/users` is `/admin/users` to Tomcat and Spring), decodes `%2F` into a
//! separator, or decodes twice. A route that matched the raw path could then be walked around
//! (`/%61dmin/users` matching `/` while the upstream serves `/admin/users`). So:
//!
//! * [`normalize`] brings the path to its RFC 3986 §6.2.2 normal form — escapes of unreserved
//!   characters decoded, every other escape in upper case, dot segments removed — and that form
//!   is what the upstream receives ([`Normalized::forward`]);
//! * routes are matched on the loosest reading an upstream may make of it
//!   ([`Normalized::matched`]: matrix parameters dropped, `%2F` taken as `/`, dot segments
//!   removed again), and a path whose readings differ (it holds `;` or `%2F`) goes through
//!   only to a route that allows it;
//! * what no reading makes safe is refused: a backslash (raw or encoded), NUL, a
//!   double-encoded escape (`%2561`), a malformed escape, an empty segment (`//`), anything
//!   but visible ASCII.

use std::borrow::Cow;

/// A path no route may take, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unsafe {
    /// Not an absolute path (`*`, an authority, empty).
    NotAbsolute,
    /// A `\`, raw or encoded: some servers read it as `/`.
    Backslash,
    /// An encoded NUL.
    Nul,
    /// `%25` followed by two hex digits: an upstream that decodes twice reads another path.
    DoubleEncoded,
    /// `%` not followed by two hex digits.
    BadEscape,
    /// An empty segment (`//`): some servers merge slashes, others do not.
    EmptySegment,
    /// A byte that is not visible ASCII.
    Control,
}

impl Unsafe {
    /// What the path holds, for a refusal's description.
    pub fn describe(self) -> &'static str {
        match self {
            Unsafe::NotAbsolute => "no absolute path (it must start with '/')",
            Unsafe::Backslash => "a backslash ('\\' or '%5C'), which some servers read as '/'",
            Unsafe::Nul => "an encoded NUL ('%00')",
            Unsafe::DoubleEncoded => {
                "a double-encoded character ('%25' and two hex digits), which an upstream that decodes twice reads as another path"
            }
            Unsafe::BadEscape => "a '%' that is not followed by two hex digits",
            Unsafe::EmptySegment => {
                "an empty segment ('//'), which some servers merge and others do not"
            }
            Unsafe::Control => "a byte that is not visible ASCII",
        }
    }
}

/// A request path in normal form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Normalized<'a> {
    /// What the upstream is sent (borrowed from the request when it is already normal, as
    /// nearly every path is).
    pub forward: Cow<'a, str>,
    /// `forward` as the loosest upstream reads it, when that differs.
    loosest: Option<String>,
    /// The path holds a `;` (raw or `%3B`): matrix parameters to some upstreams.
    pub semicolon: bool,
    /// The path holds an encoded `/` (`%2F`): a separator to some upstreams.
    pub encoded_slash: bool,
}

impl Normalized<'_> {
    /// Whether the upstream may read the path differently from the form routes matched.
    pub fn readings_differ(&self) -> bool {
        self.semicolon || self.encoded_slash
    }

    /// What routes are matched against: the path as the loosest upstream reads it.
    pub fn matched(&self) -> &str {
        self.loosest.as_deref().unwrap_or(&self.forward)
    }
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// RFC 3986 §2.3.
fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Brings `raw` (the request target's path, without its query) to normal form.
pub fn normalize(raw: &str) -> Result<Normalized<'_>, Unsafe> {
    if !raw.starts_with('/') {
        return Err(Unsafe::NotAbsolute);
    }
    // Nearly every path is normal already: no escape, no dot segment, nothing to refuse.
    let plain = raw
        .bytes()
        .all(|b| b.is_ascii_graphic() && !matches!(b, b'%' | b'\\' | b';'))
        && !raw.contains("//")
        && !raw.split('/').any(|s| s == "." || s == "..");
    if plain {
        return Ok(Normalized {
            forward: Cow::Borrowed(raw),
            loosest: None,
            semicolon: false,
            encoded_slash: false,
        });
    }
    let bytes = raw.as_bytes();
    let mut decoded = String::with_capacity(raw.len());
    let mut semicolon = false;
    let mut encoded_slash = false;
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'%' => {
                let (Some(h), Some(l)) = (
                    bytes.get(i + 1).copied().and_then(hex),
                    bytes.get(i + 2).copied().and_then(hex),
                ) else {
                    return Err(Unsafe::BadEscape);
                };
                let c = h * 16 + l;
                match c {
                    0 => return Err(Unsafe::Nul),
                    b'\\' => return Err(Unsafe::Backslash),
                    b'%' if bytes.get(i + 3).copied().and_then(hex).is_some()
                        && bytes.get(i + 4).copied().and_then(hex).is_some() =>
                    {
                        return Err(Unsafe::DoubleEncoded);
                    }
                    c if unreserved(c) => decoded.push(char::from(c)),
                    c => {
                        semicolon |= c == b';';
                        encoded_slash |= c == b'/';
                        // Upper-case hex (RFC 3986 §6.2.2.1): one spelling per byte.
                        decoded.push_str(&format!("%{c:02X}"));
                    }
                }
                i += 3;
            }
            b'\\' => return Err(Unsafe::Backslash),
            0x21..=0x7e => {
                semicolon |= b == b';';
                decoded.push(char::from(b));
                i += 1;
            }
            _ => return Err(Unsafe::Control),
        }
    }
    let forward = remove_dot_segments(&decoded);
    let mut loosest = None;
    if semicolon || encoded_slash {
        // The loosest reading: matrix parameters dropped from every segment (as Tomcat does
        // before it decodes), then encoded slashes taken as separators, then dot segments
        // removed again (`/a/..;/b` and `/a%2F..%2Fb` are `/b` to such servers).
        let stripped: Vec<&str> = forward
            .split('/')
            .map(|s| s.split_once(';').map_or(s, |(keep, _)| keep))
            .collect();
        loosest = Some(remove_dot_segments(&stripped.join("/").replace("%2F", "/")));
    }
    if forward.contains("//") || loosest.as_deref().is_some_and(|m| m.contains("//")) {
        return Err(Unsafe::EmptySegment);
    }
    Ok(Normalized {
        forward: Cow::Owned(forward),
        loosest,
        semicolon,
        encoded_slash,
    })
}

/// RFC 3986 §5.2.4 for an absolute path: `.` segments dropped, `..` removes the segment before
/// it (never above the root); a path that ended in a dot segment keeps its trailing `/`.
fn remove_dot_segments(path: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    for (i, s) in segments.iter().enumerate() {
        match *s {
            "." | ".." => {
                if *s == ".." {
                    out.pop();
                }
                if i == last {
                    out.push("");
                }
            }
            s => out.push(s),
        }
    }
    let mut result = String::with_capacity(path.len());
    for s in &out {
        result.push('/');
        result.push_str(s);
    }
    if result.is_empty() {
        result.push('/');
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn forward(p: &str) -> Result<String, Unsafe> {
        normalize(p).map(|n| n.forward.into_owned())
    }

    fn matched(p: &str) -> Result<String, Unsafe> {
        normalize(p).map(|n| n.matched().to_string())
    }

    #[test]
    fn unreserved_escapes_are_decoded_and_others_uppercased() {
        assert_eq!(forward("/%61dmin/users"), Ok("/admin/users".into()));
        assert_eq!(forward("/adm%69n"), Ok("/admin".into()));
        assert_eq!(forward("/admi%6E"), Ok("/admin".into()));
        assert_eq!(forward("/%7Euser/%2d"), Ok("/~user/-".into()));
        assert_eq!(forward("/a%20b/%c3%a9"), Ok("/a%20b/%C3%A9".into()));
        assert_eq!(forward("/orders/1"), Ok("/orders/1".into()));
        assert_eq!(forward("/"), Ok("/".into()));
        assert_eq!(forward("/orders/"), Ok("/orders/".into()));
        assert!(
            matches!(
                normalize("/orders/1").map(|n| n.forward),
                Ok(Cow::Borrowed(_))
            ),
            "a normal path is not copied"
        );
    }

    #[test]
    fn dot_segments_are_removed_encoded_or_not() {
        assert_eq!(forward("/orders/../admin/x"), Ok("/admin/x".into()));
        assert_eq!(forward("/orders/%2e%2e/admin"), Ok("/admin".into()));
        assert_eq!(forward("/orders/%2E/x"), Ok("/orders/x".into()));
        assert_eq!(forward("/../../etc"), Ok("/etc".into()));
        assert_eq!(forward("/a/b/.."), Ok("/a/".into()));
        assert_eq!(forward("/a/."), Ok("/a/".into()));
        assert_eq!(forward("/.."), Ok("/".into()));
    }

    #[test]
    fn matrix_parameters_and_encoded_slashes_are_read_the_loosest_way() {
        let n = normalize("/admin;x=1/users").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(n.forward, "/admin;x=1/users");
        assert_eq!(n.matched(), "/admin/users");
        assert!(n.semicolon && !n.encoded_slash && n.readings_differ());
        assert_eq!(matched("/public/..;/admin"), Ok("/admin".into()));
        assert_eq!(matched("/admin%3bx/users"), Ok("/admin%3Bx/users".into()));
        assert!(normalize("/a%3Bb").is_ok_and(|n| n.semicolon));
        let n = normalize("/files/a%2fb").unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(n.forward, "/files/a%2Fb");
        assert_eq!(n.matched(), "/files/a/b");
        assert!(n.encoded_slash);
        assert_eq!(matched("/files/..%2F..%2Fadmin"), Ok("/admin".into()));
        assert!(!normalize("/plain/path").is_ok_and(|n| n.readings_differ()));
    }

    #[test]
    fn what_no_reading_makes_safe_is_refused() {
        assert_eq!(forward("/a\\b"), Err(Unsafe::Backslash));
        assert_eq!(forward("/a%5cb"), Err(Unsafe::Backslash));
        assert_eq!(forward("/a%00"), Err(Unsafe::Nul));
        assert_eq!(forward("/%2561dmin"), Err(Unsafe::DoubleEncoded));
        assert_eq!(forward("/100%25"), Ok("/100%25".into()));
        assert_eq!(forward("/a%zz"), Err(Unsafe::BadEscape));
        assert_eq!(forward("/a%2"), Err(Unsafe::BadEscape));
        assert_eq!(forward("//admin"), Err(Unsafe::EmptySegment));
        assert_eq!(forward("/a//b"), Err(Unsafe::EmptySegment));
        assert_eq!(forward("/%2Fadmin"), Err(Unsafe::EmptySegment));
        assert_eq!(forward("*"), Err(Unsafe::NotAbsolute));
        assert_eq!(forward(""), Err(Unsafe::NotAbsolute));
        assert_eq!(forward("/a b"), Err(Unsafe::Control));
    }
}
