//! Who sent a request: the browser, or a back end. A capture made by a proxy (mitmproxy,
//! Charles, Fiddler, Burp) holds both; a secret in a token request is only a leak when the
//! browser sent it. The evidence is named, so a reader can check it.

use crate::har::load::{Capture, Entry};

/// What the capture says of one request's sender, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Sender {
    Browser(String),
    Backend(String),
    Unknown,
}

/// User-Agents of HTTP libraries and tools, never of a browser (matched case-insensitively at
/// the start or after a `/`-free prefix).
const LIBRARIES: &[&str] = &[
    "python-requests",
    "python-httpx",
    "python-urllib",
    "aiohttp",
    "authlib",
    "openid-client",
    "oauth4webapi",
    "node-fetch",
    "undici",
    "node",
    "axios",
    "got",
    "curl",
    "wget",
    "libcurl",
    "java",
    "apache-httpclient",
    "okhttp",
    "go-http-client",
    "go-resty",
    "dotnet",
    ".net",
    "microsoft.net",
    "msal",
    "ruby",
    "faraday",
    "guzzlehttp",
    "php",
    "postmanruntime",
    "insomnia",
    "reqwest",
    "candor",
];

fn is_library(user_agent: &str) -> bool {
    let ua = user_agent.trim().to_ascii_lowercase();
    LIBRARIES.iter().any(|l| {
        ua.strip_prefix(l)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', ' ', '-', '(']))
    })
}

/// Who sent `e`, from its own headers first (a library's User-Agent, `Origin`, `Sec-Fetch-*`,
/// a browser's User-Agent), then a CORS preflight before it, then the kind of capture.
pub(super) fn sender(capture: &Capture, e: &Entry) -> Sender {
    let ua = e.req_header("user-agent").map(str::trim);
    if let Some(ua) = ua.filter(|ua| is_library(ua)) {
        return Sender::Backend(format!("its User-Agent is an HTTP library's ('{ua}')"));
    }
    if let Some(origin) = e.req_header("origin") {
        return Sender::Browser(format!("it carries an Origin header ('{}')", origin.trim()));
    }
    if let Some((name, value)) = e
        .req_headers
        .iter()
        .find(|(n, _)| n.to_ascii_lowercase().starts_with("sec-fetch-"))
    {
        return Sender::Browser(format!("it carries {name}: {}", value.trim()));
    }
    let preflight = capture.entries.iter().any(|p| {
        p.method.eq_ignore_ascii_case("OPTIONS")
            && p.url == e.url
            && p.started_ms <= e.started_ms
            && p.req_header("access-control-request-method").is_some()
    });
    if preflight {
        return Sender::Browser("a CORS preflight (OPTIONS) to the same URL came before it".into());
    }
    if let Some(ua) = ua.filter(|ua| ua.starts_with("Mozilla/5.0")) {
        let short: String = ua.chars().take(60).collect();
        return Sender::Browser(format!("its User-Agent is a browser's ('{short}…')"));
    }
    if capture.from_browser {
        return Sender::Browser(format!(
            "the capture is a browser's own export ({}): everything in it was sent by the browser",
            capture.creator.trim()
        ));
    }
    Sender::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_told_from_browsers() {
        for ua in [
            "python-requests/2.32.3",
            "openid-client/6.1.0 (https://github.com/panva/openid-client)",
            "curl/8.5.0",
            "Java/17.0.15",
            "Apache-HttpClient/4.5.14 (Java/17)",
            "Go-http-client/1.1",
            "okhttp/4.12.0",
            "Authlib/1.3.2 (+https://authlib.org/)",
            "node",
            "undici",
        ] {
            assert!(is_library(ua), "{ua}");
        }
        for ua in [
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
            "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
            "nodejs-app-of-mine",
            "",
        ] {
            assert!(!is_library(ua), "{ua}");
        }
    }
}
