//! Building HAR captures in code, in the shapes Chrome, Firefox and Safari write.
//!
//! The doctor's tests build every capture they check with this module, and it is public so
//! that anyone can write a capture for a bug report without a browser. The shapes follow
//! what each browser's "Export HAR" produces: Chrome ("WebInspector") with HTTP/2
//! pseudo-headers, `_resourceType` and `x-unknown` empty redirect bodies; Firefox with a
//! `browser` object, local-time offsets in `startedDateTime`, `postData.params` and no body
//! for redirects; Safari ("WebKit Web Inspector") with base64 response bodies. A sanitized
//! export drops `Authorization`, `Cookie` and `Set-Cookie` and empties the cookie lists.
//! Proxies' captures: mitmproxy's `hardump` as mitmproxy 11 writes it (checked against the
//! corpus's real captures, `crates/doctor/corpus/`), Charles and Fiddler as their HAR exports
//! are documented (creator, time format, form params).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

/// Which browser's export to imitate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Chrome,
    Firefox,
    Safari,
    /// mitmproxy's `hardump` (mitmproxy 11, `mitmproxy/addons/savehar.py`): a proxy's
    /// capture, holding the browser's requests (a browser User-Agent unless the request sets
    /// its own) and a back end's (which set theirs). A request that got no answer is status 0
    /// with an empty `content` and the proxy's `_error`.
    Mitmproxy,
    /// Charles Proxy's "Export Session as HTTP Archive": a proxy's capture, local-time
    /// offsets, `postData.params`, no page references.
    Charles,
    /// Fiddler's "Export Sessions > HTTPArchive v1.2": a proxy's capture, .NET round-trip
    /// times (seven fractional digits and the local offset), a `comment` on the creator.
    Fiddler,
}

impl Shape {
    /// Every shape, for tests that run one login through all of them.
    pub const ALL: [Shape; 6] = [
        Shape::Chrome,
        Shape::Firefox,
        Shape::Safari,
        Shape::Mitmproxy,
        Shape::Charles,
        Shape::Fiddler,
    ];

    /// Whether a proxy wrote the capture (it then holds back ends' requests too).
    pub fn is_proxy(self) -> bool {
        matches!(self, Shape::Mitmproxy | Shape::Charles | Shape::Fiddler)
    }
}

/// A request to record.
#[derive(Debug, Clone)]
pub struct Req {
    pub method: String,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// Content-Type and text.
    pub body: Option<(String, String)>,
}

impl Req {
    pub fn get(url: impl Into<String>) -> Self {
        Req {
            method: "GET".into(),
            url: url.into(),
            headers: Vec::new(),
            body: None,
        }
    }

    /// A POST with a form body (the pairs are form-encoded here).
    pub fn post_form(url: impl Into<String>, pairs: &[(&str, &str)]) -> Self {
        let mut s = form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        Req::post_raw(url, "application/x-www-form-urlencoded", s.finish())
    }

    /// A POST with a JSON body.
    pub fn post_json(url: impl Into<String>, body: Value) -> Self {
        Req::post_raw(url, "application/json", body.to_string())
    }

    /// A POST with any body.
    pub fn post_raw(url: impl Into<String>, content_type: &str, text: impl Into<String>) -> Self {
        Req {
            method: "POST".into(),
            url: url.into(),
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Some((content_type.into(), text.into())),
        }
    }

    pub fn method(mut self, m: &str) -> Self {
        self.method = m.into();
        self
    }

    pub fn header(mut self, n: &str, v: &str) -> Self {
        self.headers.push((n.into(), v.into()));
        self
    }

    /// Drops a header (e.g. to send a body without Content-Type).
    pub fn without_header(mut self, n: &str) -> Self {
        self.headers.retain(|(h, _)| !h.eq_ignore_ascii_case(n));
        self
    }

    /// `Authorization: Basic` for a client (form-encoded, RFC 6749 §2.3.1).
    pub fn basic(self, client_id: &str, secret: &str) -> Self {
        let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let v = format!(
            "Basic {}",
            STANDARD.encode(format!("{}:{}", enc(client_id), enc(secret)))
        );
        self.header("Authorization", &v)
    }
}

/// A response to record.
#[derive(Debug, Clone)]
pub struct Resp {
    pub status: i64,
    pub headers: Vec<(String, String)>,
    /// Content-Type and text; `None` for no body.
    pub body: Option<(String, String)>,
    /// Leave the body out of the capture (as browsers do for some responses).
    pub omit_body: bool,
    /// Chrome's `_error` for failed requests.
    pub error: Option<String>,
}

impl Resp {
    pub fn json(status: i64, body: Value) -> Self {
        Resp::raw(status, "application/json", body.to_string())
    }

    pub fn html(status: i64, text: impl Into<String>) -> Self {
        Resp::raw(status, "text/html; charset=utf-8", text)
    }

    pub fn raw(status: i64, content_type: &str, text: impl Into<String>) -> Self {
        Resp {
            status,
            headers: vec![("Content-Type".into(), content_type.into())],
            body: Some((content_type.into(), text.into())),
            omit_body: false,
            error: None,
        }
    }

    pub fn redirect(location: impl Into<String>) -> Self {
        Resp {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: None,
            omit_body: false,
            error: None,
        }
    }

    pub fn empty(status: i64) -> Self {
        Resp {
            status,
            headers: Vec::new(),
            body: None,
            omit_body: false,
            error: None,
        }
    }

    /// No response at all (status 0), as Chrome records a request blocked by CORS.
    pub fn failed(error: &str) -> Self {
        Resp {
            status: 0,
            headers: Vec::new(),
            body: None,
            omit_body: true,
            error: Some(error.into()),
        }
    }

    pub fn header(mut self, n: &str, v: &str) -> Self {
        self.headers.push((n.into(), v.into()));
        self
    }

    pub fn omit_body(mut self) -> Self {
        self.omit_body = true;
        self
    }
}

struct Recorded {
    at_ms: i64,
    duration_ms: i64,
    req: Req,
    resp: Resp,
}

/// Builds a capture.
pub struct HarBuilder {
    shape: Shape,
    sanitized: bool,
    unsorted: bool,
    clock_ms: i64,
    entries: Vec<Recorded>,
}

/// 2024-05-01T10:00:00Z, the default start of a built capture.
pub const DEFAULT_START_MS: i64 = 1_714_557_600_000;

impl HarBuilder {
    pub fn new(shape: Shape) -> Self {
        HarBuilder {
            shape,
            sanitized: false,
            unsorted: false,
            clock_ms: DEFAULT_START_MS,
            entries: Vec::new(),
        }
    }

    /// Export as a sanitized HAR (Chrome's default since version 130).
    pub fn sanitized(mut self) -> Self {
        self.sanitized = true;
        self
    }

    /// Write entries out of time order (newest first), as some exports do.
    pub fn unsorted(mut self) -> Self {
        self.unsorted = true;
        self
    }

    /// Sets the capture's clock (Unix milliseconds) for the next entry.
    pub fn at_ms(&mut self, ms: i64) -> &mut Self {
        self.clock_ms = ms;
        self
    }

    /// The capture's clock now (Unix milliseconds).
    pub fn now_ms(&self) -> i64 {
        self.clock_ms
    }

    /// Records an entry; returns its index in `log.entries` as written in time order.
    pub fn entry(&mut self, req: Req, resp: Resp) -> usize {
        self.entries.push(Recorded {
            at_ms: self.clock_ms,
            duration_ms: 40,
            req,
            resp,
        });
        self.clock_ms += 250;
        self.entries.len() - 1
    }

    fn started(&self, ms: i64) -> String {
        let t = OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH);
        let local = UtcOffset::from_hms(2, 0, 0).unwrap_or(UtcOffset::UTC);
        match self.shape {
            Shape::Firefox | Shape::Charles => {
                t.to_offset(local).format(&Rfc3339).unwrap_or_default()
            }
            // .NET's "o" format: 2024-05-01T12:00:00.0000000+02:00.
            Shape::Fiddler => {
                let t = t.to_offset(local);
                format!(
                    "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}+02:00",
                    t.year(),
                    u8::from(t.month()),
                    t.day(),
                    t.hour(),
                    t.minute(),
                    t.second(),
                    t.nanosecond() / 100
                )
            }
            _ => t.format(&Rfc3339).unwrap_or_default(),
        }
    }

    fn headers(&self, list: &[(String, String)]) -> Vec<Value> {
        list.iter()
            .filter(|(n, _)| {
                !(self.sanitized
                    && ["authorization", "cookie", "set-cookie"]
                        .contains(&n.to_ascii_lowercase().as_str()))
            })
            .map(|(n, v)| json!({"name": n, "value": v}))
            .collect()
    }

    fn cookies(&self, list: &[(String, String)], header: &str) -> Vec<Value> {
        if self.sanitized {
            return Vec::new();
        }
        list.iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(header))
            .flat_map(|(_, v)| {
                v.split(';')
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| json!({"name": k.trim(), "value": v.trim()}))
                    .take(1)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    fn entry_json(&self, r: &Recorded) -> Value {
        let url = url::Url::parse(&r.req.url).ok();
        let mut req_headers = r.req.headers.clone();
        if let Some(u) = &url {
            let host = u.host_str().unwrap_or("").to_string();
            match self.shape {
                Shape::Chrome => {
                    req_headers.insert(0, (":authority".into(), host));
                    req_headers.insert(1, (":method".into(), r.req.method.clone()));
                    req_headers.insert(
                        2,
                        (":path".into(), u[url::Position::BeforePath..].to_string()),
                    );
                    req_headers.insert(3, (":scheme".into(), u.scheme().to_string()));
                }
                _ => req_headers.insert(0, ("Host".into(), host)),
            }
        }
        if !req_headers
            .iter()
            .any(|(n, _)| n.eq_ignore_ascii_case("user-agent"))
        {
            req_headers.push((
                "User-Agent".into(),
                match self.shape {
                    Shape::Chrome | Shape::Mitmproxy | Shape::Charles | Shape::Fiddler => "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
                    Shape::Firefox => "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
                    Shape::Safari => "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
                }
                .into(),
            ));
        }
        let query: Vec<Value> = url
            .as_ref()
            .map(|u| {
                u.query_pairs()
                    .map(|(n, v)| json!({"name": n, "value": v}))
                    .collect()
            })
            .unwrap_or_default();
        let mut request = json!({
            "method": r.req.method,
            "url": r.req.url,
            "httpVersion": if self.shape == Shape::Chrome { "http/2.0" } else { "HTTP/1.1" },
            "headers": self.headers(&req_headers),
            "queryString": query,
            "cookies": self.cookies(&r.req.headers, "cookie"),
            "headersSize": -1,
            "bodySize": r.req.body.as_ref().map(|(_, t)| t.len() as i64).unwrap_or(0),
        });
        if let Some((_, text)) = &r.req.body {
            let ct = r
                .req
                .headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case("content-type"))
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            let mut post = json!({"mimeType": ct, "text": text});
            if matches!(self.shape, Shape::Firefox | Shape::Charles)
                && ct.starts_with("application/x-www-form-urlencoded")
            {
                set(
                    &mut post,
                    "params",
                    Value::Array(
                        form_urlencoded::parse(text.as_bytes())
                            .map(|(n, v)| json!({"name": n, "value": v}))
                            .collect(),
                    ),
                );
            }
            set(&mut request, "postData", post);
        }
        let content = match (&r.resp.body, r.resp.omit_body, self.shape) {
            // No answer at all: mitmproxy leaves the content empty.
            (_, _, Shape::Mitmproxy) if r.resp.status == 0 => json!({}),
            (_, true, _) => json!({"size": 512, "mimeType": "text/html"}),
            (None, _, Shape::Chrome) => json!({"size": 0, "mimeType": "x-unknown"}),
            (None, _, Shape::Firefox) if (300..400).contains(&r.resp.status) => {
                json!({"size": 0, "mimeType": "text/plain"})
            }
            (None, _, _) => json!({"size": 0, "mimeType": "text/plain", "text": ""}),
            (Some((ct, text)), _, Shape::Safari) => json!({
                "size": text.len(), "mimeType": ct, "text": STANDARD.encode(text), "encoding": "base64"
            }),
            (Some((ct, text)), _, _) => json!({"size": text.len(), "mimeType": ct, "text": text}),
        };
        let location = r
            .resp
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("location"))
            .map(|(_, v)| v.clone())
            .unwrap_or_default();
        let mut response = json!({
            "status": r.resp.status,
            "statusText": "",
            "httpVersion": if self.shape == Shape::Chrome { "http/2.0" } else { "HTTP/1.1" },
            "headers": self.headers(&r.resp.headers),
            "cookies": self.cookies(&r.resp.headers, "set-cookie"),
            "content": content,
            "redirectURL": location,
            "headersSize": -1,
            "bodySize": -1,
        });
        if let Some(err) = &r.resp.error {
            set(&mut response, "_error", json!(err));
        }
        if self.shape == Shape::Mitmproxy && r.resp.status == 0 {
            set(&mut response, "httpVersion", json!(""));
            set(&mut response, "_transferSize", json!(0));
            if r.resp.error.is_none() {
                set(&mut response, "_error", Value::Null);
            }
        }
        let mut entry = json!({
            "startedDateTime": self.started(r.at_ms),
            "time": r.duration_ms as f64 + 0.25,
            "request": request,
            "response": response,
            "cache": {},
            "timings": {"blocked": -1, "dns": -1, "connect": -1, "send": 0, "wait": r.duration_ms, "receive": 0, "ssl": -1},
        });
        match self.shape {
            Shape::Chrome => {
                set(
                    &mut entry,
                    "_resourceType",
                    json!(if r.req.method == "GET" {
                        "document"
                    } else {
                        "fetch"
                    }),
                );
                set(&mut entry, "_initiator", json!({"type": "other"}));
                set(&mut entry, "pageref", json!("page_1"));
            }
            Shape::Firefox => {
                set(&mut entry, "pageref", json!("page_1"));
                set(&mut entry, "serverIPAddress", json!("127.0.0.1"));
            }
            Shape::Safari => {
                set(&mut entry, "pageref", json!("page_0"));
                set(&mut entry, "_fetchType", json!("Network Load"));
            }
            // hardump writes no page references or initiators.
            Shape::Mitmproxy => {}
            Shape::Charles => {
                set(&mut entry, "serverIPAddress", json!("127.0.0.1"));
            }
            Shape::Fiddler => {
                set(&mut entry, "comment", json!(""));
            }
        }
        entry
    }

    /// The capture as a HAR document.
    pub fn to_json(&self) -> Value {
        let mut entries: Vec<Value> = self.entries.iter().map(|r| self.entry_json(r)).collect();
        if self.unsorted {
            entries.reverse();
        }
        let creator = match self.shape {
            Shape::Chrome => json!({"name": "WebInspector", "version": "537.36"}),
            Shape::Firefox => json!({"name": "Firefox", "version": "125.0"}),
            Shape::Safari => json!({"name": "WebKit Web Inspector", "version": "1.0"}),
            Shape::Mitmproxy => json!({"name": "mitmproxy", "version": "11.0.2", "comment": ""}),
            Shape::Charles => json!({"name": "Charles Proxy", "version": "4.6.6"}),
            Shape::Fiddler => {
                json!({"name": "Fiddler", "version": "5.0.20211.51073", "comment": "http://www.telerik.com/fiddler"})
            }
        };
        let mut log = json!({
            "version": "1.2",
            "creator": creator,
            "pages": [{"startedDateTime": self.started(DEFAULT_START_MS), "id": "page_1", "title": "login", "pageTimings": {}}],
            "entries": entries,
        });
        if self.shape == Shape::Firefox {
            set(
                &mut log,
                "browser",
                json!({"name": "Firefox", "version": "125.0"}),
            );
        }
        json!({"log": log})
    }

    /// The capture as HAR text.
    pub fn to_text(&self) -> String {
        serde_json::to_string_pretty(&self.to_json()).unwrap_or_default()
    }
}

/// Sets `key` on a JSON object built above (never anything but an object).
fn set(target: &mut Value, key: &str, value: Value) {
    if let Some(fields) = target.as_object_mut() {
        fields.insert(key.to_string(), value);
    }
}
