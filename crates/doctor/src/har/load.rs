//! Reading a HAR file (or the .zip Playwright writes, HAR and attached bodies): refuse what
//! cannot be examined with a clear message (exit 2), and normalise the rest into [`Capture`]
//! (entries in time order, bodies decoded).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use url::Url;

use super::model::{Content, HarFile, NameValue, PostData, RawEntry};
use crate::input::InputError;

/// Files larger than this are refused before reading: browsers write HARs of this size only
/// when they include media, and parsing one would take gigabytes of memory.
pub const MAX_HAR_BYTES: u64 = 200 * 1024 * 1024;

/// A body as captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// The message has no body (a GET, or a request without postData).
    None,
    /// The body is known to be empty.
    Empty,
    /// The body as text.
    Text(String),
    /// A body that is not UTF-8 text, with its length.
    Binary(usize),
    /// The message had a body but the capture left it out: unknown.
    Missing,
}

impl Body {
    pub fn text(&self) -> Option<&str> {
        match self {
            Body::Text(t) => Some(t),
            Body::Empty => Some(""),
            _ => None,
        }
    }

    /// The bytes for classification; `None` when unknown.
    pub fn bytes(&self) -> Option<Vec<u8>> {
        match self {
            Body::Text(t) => Some(t.as_bytes().to_vec()),
            Body::Empty | Body::None => Some(Vec::new()),
            Body::Binary(n) => Some(vec![0xff; (*n).min(16)]),
            Body::Missing => None,
        }
    }
}

/// One request/response pair, normalised.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Position in `log.entries` of the file.
    pub index: usize,
    /// When the request started, Unix milliseconds.
    pub started_ms: i64,
    /// How long until the response was complete, milliseconds.
    pub duration_ms: i64,
    pub method: String,
    pub url: Url,
    pub req_headers: Vec<(String, String)>,
    pub req_body: Body,
    /// The request's Content-Type (header, else postData.mimeType).
    pub req_content_type: Option<String>,
    /// 0 when the browser recorded no response (blocked, failed, cancelled).
    pub status: i64,
    pub resp_headers: Vec<(String, String)>,
    pub resp_body: Body,
    pub resp_content_type: Option<String>,
    pub redirect_url: Option<String>,
    /// The browser's own error text for a failed request (Chrome's `_error`).
    pub resp_error: Option<String>,
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Entry {
    pub fn req_header(&self, name: &str) -> Option<&str> {
        header(&self.req_headers, name)
    }

    pub fn resp_header(&self, name: &str) -> Option<&str> {
        header(&self.resp_headers, name)
    }

    /// The query parameters, decoded, in order, duplicates kept.
    pub fn query(&self) -> Vec<(String, String)> {
        self.url
            .query_pairs()
            .map(|(n, v)| (n.into_owned(), v.into_owned()))
            .collect()
    }

    /// When the response was complete, Unix milliseconds.
    pub fn finished_ms(&self) -> i64 {
        self.started_ms.saturating_add(self.duration_ms.max(0))
    }

    /// The URL without query or fragment, for comparing endpoints.
    pub fn endpoint(&self) -> String {
        endpoint_of(&self.url)
    }

    /// The Location a redirect points to (header, else redirectURL), resolved against the URL.
    pub fn location(&self) -> Option<Url> {
        let raw = self
            .resp_header("location")
            .map(str::to_string)
            .or_else(|| self.redirect_url.clone().filter(|s| !s.is_empty()))?;
        self.url.join(&raw).ok()
    }
}

/// `scheme://host[:port]/path` of a URL.
pub fn endpoint_of(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A loaded capture.
#[derive(Debug, Clone)]
pub struct Capture {
    /// `creator.name creator.version` (and the browser, when named).
    pub creator: String,
    pub version: String,
    /// Entries in time order (ties keep file order).
    pub entries: Vec<Entry>,
    /// Whether the capture is a browser's own export (DevTools, Playwright): everything in it
    /// was sent by that browser. A proxy's capture (mitmproxy, Charles, Fiddler) is not, even
    /// when it holds a browser's requests: who sent each one is then read from the request.
    pub from_browser: bool,
    /// Whether any request or response carries an Authorization, Cookie or Set-Cookie header.
    pub credential_headers_seen: bool,
    /// Whether any entry lists cookies in its `cookies` arrays.
    pub cookie_arrays_seen: bool,
}

impl Capture {
    pub fn entry(&self, index: usize) -> Option<&Entry> {
        self.entries.iter().find(|e| e.index == index)
    }
}

/// Reads a HAR file, refusing it (without reading) when it is larger than [`MAX_HAR_BYTES`].
pub fn load_path(path: &Path) -> Result<Capture, InputError> {
    let shown = path.display();
    let meta = std::fs::metadata(path)
        .map_err(|e| InputError::new(format!("cannot read {shown}: {e}")))?;
    if meta.is_dir() {
        return Err(InputError::new(format!(
            "{shown} is a directory; expected a HAR file exported from the browser's network panel"
        )));
    }
    if meta.len() > MAX_HAR_BYTES {
        return Err(InputError::new(format!(
            "{shown} is {} MB; the doctor reads HAR files up to {} MB. Export only the login (clear the network log, enable 'Preserve log', log in, export), or filter out media with the 'Fetch/XHR' and 'Doc' filters",
            meta.len() / (1024 * 1024),
            MAX_HAR_BYTES / (1024 * 1024)
        )));
    }
    let mut file = std::fs::File::open(path)
        .map_err(|e| InputError::new(format!("cannot open {shown}: {e}")))?;
    let mut magic = [0u8; 4];
    let is_zip = file.read_exact(&mut magic).is_ok() && magic == *b"PK\x03\x04";
    file.seek(SeekFrom::Start(0))
        .map_err(|e| InputError::new(format!("cannot read {shown}: {e}")))?;
    if is_zip {
        return load_zip(file, &shown.to_string());
    }
    match path.parent() {
        Some(dir) => read(file, Attached::Folder(dir)),
        None => read(file, Attached::Nowhere),
    }
}

/// Reads the HAR and the bodies attached beside it from the .zip Playwright's recordHar
/// writes (its default for a path ending in .zip): members are plain file names, the HAR is
/// the one whose name ends in `.har`. Refused: more than [`MAX_ZIP_ENTRIES`] members, one that
/// inflates past 16 MB or all together past 64 MB (a zip bomb, or media), a member whose name
/// is a path out of the archive, and archives without exactly one HAR.
fn load_zip(file: std::fs::File, shown: &str) -> Result<Capture, InputError> {
    let mut archive = zip::ZipArchive::new(file).map_err(|e| {
        InputError::new(format!(
            "{shown} starts like a ZIP archive but cannot be read as one: {e}"
        ))
    })?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(InputError::new(format!(
            "{shown} holds {} files; a Playwright capture of a login holds a few dozen, and the doctor reads archives of at most {MAX_ZIP_ENTRIES}",
            archive.len()
        )));
    }
    let mut members: HashMap<String, Vec<u8>> = HashMap::new();
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let mut member = archive
            .by_index(i)
            .map_err(|e| InputError::new(format!("{shown}: member {i} cannot be read: {e}")))?;
        let name = member
            .name()
            .map_err(|e| {
                InputError::new(format!("{shown}: member {i} has an unreadable name: {e}"))
            })?
            .into_owned();
        if member.is_dir() {
            continue;
        }
        // enclosed_name is None for absolute paths and any that climb out with "..".
        if member.enclosed_name().is_none() {
            return Err(InputError::new(format!(
                "{shown}: member '{}' is a path outside the archive; refusing it (Playwright writes plain file names)",
                name.chars().take(120).collect::<String>()
            )));
        }
        let mut bytes = Vec::new();
        let read = (&mut member)
            .take(MAX_SIDE_FILE_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| {
                InputError::new(format!("{shown}: member '{name}' cannot be inflated: {e}"))
            })? as u64;
        if read > MAX_SIDE_FILE_BYTES {
            return Err(InputError::new(format!(
                "{shown}: member '{name}' inflates to more than {} MB; refusing the archive (a zip bomb, or a capture with media: record only the login)",
                MAX_SIDE_FILE_BYTES / (1024 * 1024)
            )));
        }
        total += read;
        if total > MAX_ZIP_TOTAL_BYTES {
            return Err(InputError::new(format!(
                "{shown} inflates to more than {} MB; refusing it (a zip bomb, or a capture with media: record only the login)",
                MAX_ZIP_TOTAL_BYTES / (1024 * 1024)
            )));
        }
        members.insert(name, bytes);
    }
    let mut hars: Vec<&String> = members.keys().filter(|n| n.ends_with(".har")).collect();
    hars.sort();
    let har = match hars.as_slice() {
        [one] => (*one).clone(),
        [] => {
            return Err(InputError::new(format!(
                "{shown} is a ZIP archive without a .har file in it; Playwright's recordHar writes one named har.har"
            )));
        }
        many => {
            return Err(InputError::new(format!(
                "{shown} holds {} .har files ({}); extract the one to examine",
                many.len(),
                many.iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    };
    let text = members.remove(&har).unwrap_or_default();
    read(text.as_slice(), Attached::Zip(&members))
}

/// Reads a HAR from any reader (at most [`MAX_HAR_BYTES`] bytes are read). Bodies a
/// Playwright capture keeps in side files are unknown here ([`load_path`] reads them).
pub fn parse_reader<R: Read>(reader: R) -> Result<Capture, InputError> {
    read(reader, Attached::Nowhere)
}

/// The largest side file (a body Playwright attached) that is read, and the largest member of
/// a Playwright .zip.
const MAX_SIDE_FILE_BYTES: u64 = 16 * 1024 * 1024;
/// A Playwright .zip holds the HAR and one file per attached body: a login has a few dozen.
const MAX_ZIP_ENTRIES: usize = 10_000;
/// What all members of a .zip may inflate to together: far above a login's capture, far
/// below what would exhaust memory (a zip bomb inflates a few KB to gigabytes).
const MAX_ZIP_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// Where the bodies Playwright attached (`content._file`) are.
enum Attached<'a> {
    /// Nowhere (a capture read from standard input).
    Nowhere,
    /// Files in the folder of the HAR.
    Folder(&'a Path),
    /// Members of the .zip the HAR came in.
    Zip(&'a HashMap<String, Vec<u8>>),
}

impl Attached<'_> {
    fn body(&self, name: &str) -> Option<Body> {
        match self {
            Attached::Nowhere => None,
            Attached::Folder(dir) => Some(side_file(dir, name)),
            Attached::Zip(members) => Some(
                members
                    .get(name)
                    .map(|b| bytes_body(b.clone()))
                    .unwrap_or(Body::Missing),
            ),
        }
    }
}

fn bytes_body(bytes: Vec<u8>) -> Body {
    match String::from_utf8(bytes) {
        Ok(text) if text.is_empty() => Body::Empty,
        Ok(text) => Body::Text(text),
        Err(e) => Body::Binary(e.as_bytes().len()),
    }
}

/// A body Playwright moved to a side file `name` in `dir`. The name comes from the capture:
/// only a plain file name is followed (never a path out of the folder), and a file that is
/// absent, too large or unreadable leaves the body unknown.
fn side_file(dir: &Path, name: &str) -> Body {
    let plain = !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', ':'])
        && Path::new(name).file_name() == Some(std::ffi::OsStr::new(name));
    if !plain {
        return Body::Missing;
    }
    let path = dir.join(name);
    match std::fs::metadata(&path) {
        Ok(m) if m.is_file() && m.len() <= MAX_SIDE_FILE_BYTES => match std::fs::read(&path) {
            Ok(bytes) => bytes_body(bytes),
            Err(_) => Body::Missing,
        },
        _ => Body::Missing,
    }
}

fn read<R: Read>(reader: R, side_files: Attached<'_>) -> Result<Capture, InputError> {
    let mut buffered = BufReader::with_capacity(64 * 1024, reader.take(MAX_HAR_BYTES + 1));
    check_start(&mut buffered)?;
    let mut counted = CountingReader {
        inner: buffered,
        count: 0,
    };
    let file: HarFile = match serde_json::from_reader(&mut counted) {
        Ok(f) => f,
        Err(e) => {
            if counted.count > MAX_HAR_BYTES {
                return Err(InputError::new(format!(
                    "the input is larger than {} MB; the doctor reads HAR files up to that size",
                    MAX_HAR_BYTES / (1024 * 1024)
                )));
            }
            return Err(json_error(&e));
        }
    };
    normalise(file, &side_files)
}

struct CountingReader<R> {
    inner: R,
    count: u64,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count += n as u64;
        Ok(n)
    }
}

/// Refuses, with a useful message, input that cannot be a HAR at all.
fn check_start<R: BufRead>(r: &mut R) -> Result<(), InputError> {
    let buf = r
        .fill_buf()
        .map_err(|e| InputError::new(format!("cannot read the input: {e}")))?;
    if buf.is_empty() {
        return Err(InputError::new(
            "the input is empty; expected a HAR file (JSON) exported from the browser's network panel",
        ));
    }
    if buf.starts_with(&[0x1f, 0x8b]) {
        return Err(InputError::new(
            "the input is gzip-compressed; decompress it first (gunzip FILE.har.gz)",
        ));
    }
    if buf.starts_with(b"PK\x03\x04") {
        return Err(InputError::new(
            "the input is a ZIP archive (Playwright's recordHar writes one when the path ends in .zip); give its path instead of piping it: the doctor reads the HAR and the bodies attached in it from the file",
        ));
    }
    let first = buf
        .iter()
        .copied()
        .find(|b| !(b.is_ascii_whitespace() || *b == 0xef || *b == 0xbb || *b == 0xbf));
    match first {
        Some(b'{') => Ok(()),
        Some(b) if b.is_ascii_graphic() => {
            let head: String = String::from_utf8_lossy(buf)
                .trim_start()
                .chars()
                .take(40)
                .filter(|c| !c.is_control())
                .collect();
            Err(InputError::new(format!(
                "not a HAR file: HAR is a JSON object starting with '{{', but the input starts with '{head}'"
            )))
        }
        Some(_) => Err(InputError::new(
            "not a HAR file: the input is binary data, not JSON text",
        )),
        None => Err(InputError::new(
            "the input holds only whitespace; expected a HAR file",
        )),
    }
}

fn json_error(e: &serde_json::Error) -> InputError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Eof => InputError::new(format!(
            "the HAR file ends early at line {} column {}: it is truncated (was the export interrupted, or the file cut when copied?)",
            e.line(),
            e.column()
        )),
        Category::Syntax => InputError::new(format!("the HAR file is not valid JSON: {e}")),
        Category::Data => InputError::new(format!("the file is JSON but not a HAR 1.2 log: {e}")),
        Category::Io => InputError::new(format!("cannot read the HAR file: {e}")),
    }
}

fn pairs(list: &[NameValue]) -> Vec<(String, String)> {
    list.iter().filter_map(NameValue::pair).collect()
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn normalise(file: HarFile, side_files: &Attached<'_>) -> Result<Capture, InputError> {
    let log = file.log.ok_or_else(|| {
        InputError::new("the JSON has no 'log' object: not a HAR file (HAR files look like {\"log\": {\"version\": \"1.2\", \"entries\": [...]}})")
    })?;
    let version = match &log.version {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        Some(other) => {
            return Err(InputError::new(format!(
                "log.version is {other}, expected \"1.2\""
            )));
        }
        None => {
            return Err(InputError::new(
                "log.version is missing; a HAR file states its version (\"1.2\")",
            ));
        }
    };
    if !(version == "1.2" || version == "1.1" || version.starts_with("1.2.")) {
        return Err(InputError::new(format!(
            "HAR version '{version}' is not supported; the doctor reads HAR 1.1 and 1.2 (what Chrome, Firefox and Safari export)"
        )));
    }
    let creator = log.creator.clone().unwrap_or_default();
    let mut creator_text = format!(
        "{} {}",
        creator.name.as_deref().unwrap_or("unknown"),
        creator.version.as_deref().unwrap_or("")
    )
    .trim()
    .to_string();
    if let Some(b) = log.browser.as_ref().filter(|b| b.name != creator.name) {
        creator_text.push_str(&format!(
            " ({} {})",
            b.name.as_deref().unwrap_or(""),
            b.version.as_deref().unwrap_or("")
        ));
    }
    let raw_entries = log.entries.ok_or_else(|| {
        InputError::new("log.entries is missing; a HAR file lists its requests there")
    })?;
    let mut entries = Vec::with_capacity(raw_entries.len());
    let mut credential_headers_seen = false;
    let mut cookie_arrays_seen = false;
    for (i, raw) in raw_entries.into_iter().enumerate() {
        let entry = normalise_entry(i, raw, &mut cookie_arrays_seen, side_files)?;
        for (n, _) in entry.req_headers.iter().chain(entry.resp_headers.iter()) {
            let n = n.to_ascii_lowercase();
            if n == "authorization" || n == "cookie" || n == "set-cookie" {
                credential_headers_seen = true;
            }
        }
        entries.push(entry);
    }
    entries.sort_by_key(|e| (e.started_ms, e.index));
    let name = format!(
        "{} {}",
        creator.name.as_deref().unwrap_or(""),
        log.browser
            .as_ref()
            .and_then(|b| b.name.as_deref())
            .unwrap_or("")
    )
    .to_ascii_lowercase();
    let from_browser = [
        "webinspector",
        "firefox",
        "webkit",
        "chrome",
        "safari",
        "edge",
        "chromium",
        "playwright",
    ]
    .iter()
    .any(|b| name.contains(b));
    Ok(Capture {
        creator: creator_text,
        version,
        entries,
        from_browser,
        credential_headers_seen,
        cookie_arrays_seen,
    })
}

fn normalise_entry(
    i: usize,
    raw: RawEntry,
    cookie_arrays_seen: &mut bool,
    side_files: &Attached<'_>,
) -> Result<Entry, InputError> {
    let at = |field: &str| format!("log.entries[{i}].{field}");
    let started = raw
        .started_date_time
        .ok_or_else(|| InputError::new(format!("{} is missing", at("startedDateTime"))))?;
    let started_ms = OffsetDateTime::parse(started.trim(), &Rfc3339)
        .map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
        .map_err(|_| {
            InputError::new(format!(
                "{} is '{}', not an ISO 8601 date-time such as 2024-05-01T10:00:00.123Z",
                at("startedDateTime"),
                started.chars().take(40).collect::<String>()
            ))
        })?;
    let duration_ms = raw.time.as_ref().and_then(number).unwrap_or(0.0).max(0.0) as i64;
    let request = raw
        .request
        .ok_or_else(|| InputError::new(format!("{} is missing", at("request"))))?;
    let method = request
        .method
        .filter(|m| !m.trim().is_empty())
        .ok_or_else(|| InputError::new(format!("{} is missing", at("request.method"))))?
        .trim()
        .to_ascii_uppercase();
    let raw_url = request
        .url
        .ok_or_else(|| InputError::new(format!("{} is missing", at("request.url"))))?;
    let url = Url::parse(raw_url.trim()).map_err(|e| {
        InputError::new(format!(
            "{} '{}' is not a URL: {e}",
            at("request.url"),
            crate::redact::url(&raw_url)
                .chars()
                .take(120)
                .collect::<String>()
        ))
    })?;
    let response = raw
        .response
        .ok_or_else(|| InputError::new(format!("{} is missing", at("response"))))?;
    let status = response.status.as_ref().and_then(number).ok_or_else(|| {
        InputError::new(format!(
            "{} is missing or not a number",
            at("response.status")
        ))
    })? as i64;
    // Playwright writes -1 for a request that got no answer, where others write 0.
    let status = status.max(0);
    if !request.cookies.is_empty() || !response.cookies.is_empty() {
        *cookie_arrays_seen = true;
    }
    let req_headers = pairs(&request.headers);
    let resp_headers = pairs(&response.headers);
    let req_content_type = header(&req_headers, "content-type")
        .map(str::to_string)
        .or_else(|| {
            request
                .post_data
                .as_ref()
                .and_then(|p| p.mime_type.clone())
                .filter(|m| !m.is_empty())
        });
    let req_body = request_body(i, request.post_data.as_ref(), side_files)?;
    let resp_content_type = header(&resp_headers, "content-type")
        .map(str::to_string)
        .or_else(|| {
            response
                .content
                .as_ref()
                .and_then(|c| c.mime_type.clone())
                .filter(|m| !m.is_empty() && m != "x-unknown")
        });
    let resp_body = response_body(i, response.content.as_ref(), side_files)?;
    Ok(Entry {
        index: i,
        started_ms,
        duration_ms,
        method,
        url,
        req_headers,
        req_body,
        req_content_type,
        status,
        resp_headers,
        resp_body,
        resp_content_type,
        redirect_url: response.redirect_url,
        resp_error: response.error,
    })
}

fn decode_text(
    i: usize,
    field: &str,
    text: &str,
    encoding: Option<&str>,
) -> Result<Body, InputError> {
    if encoding.is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = STANDARD.decode(cleaned.as_bytes()).map_err(|_| {
            InputError::new(format!(
                "log.entries[{i}].{field} is marked base64 but does not decode: the file is damaged"
            ))
        })?;
        return Ok(match String::from_utf8(bytes) {
            Ok(t) if t.is_empty() => Body::Empty,
            Ok(t) => Body::Text(t),
            Err(e) => Body::Binary(e.into_bytes().len()),
        });
    }
    Ok(if text.is_empty() {
        Body::Empty
    } else {
        Body::Text(text.to_string())
    })
}

fn request_body(
    i: usize,
    post: Option<&PostData>,
    side_files: &Attached<'_>,
) -> Result<Body, InputError> {
    let Some(post) = post else {
        return Ok(Body::None);
    };
    // An attached body wins over the empty text Playwright leaves beside it.
    if post.text.as_deref().is_none_or(str::is_empty)
        && let Some(body) = post.file.as_deref().and_then(|n| side_files.body(n))
    {
        return Ok(body);
    }
    if let Some(text) = &post.text {
        return decode_text(i, "request.postData.text", text, post.encoding.as_deref());
    }
    if let Some(params) = &post.params {
        let mut form = form_urlencoded::Serializer::new(String::new());
        for (n, v) in pairs(params) {
            form.append_pair(&n, &v);
        }
        return Ok(Body::Text(form.finish()));
    }
    Ok(Body::Missing)
}

fn response_body(
    i: usize,
    content: Option<&Content>,
    side_files: &Attached<'_>,
) -> Result<Body, InputError> {
    let Some(content) = content else {
        return Ok(Body::Missing);
    };
    if content.text.is_none()
        && let Some(body) = content.file.as_deref().and_then(|n| side_files.body(n))
    {
        return Ok(body);
    }
    if let Some(text) = &content.text {
        return decode_text(
            i,
            "response.content.text",
            text,
            content.encoding.as_deref(),
        );
    }
    match content.size.as_ref().and_then(number) {
        Some(0.0) => Ok(Body::Empty),
        _ => Ok(Body::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Capture, InputError> {
        parse_reader(s.as_bytes())
    }

    fn minimal(entries: &str) -> String {
        format!(
            r#"{{"log":{{"version":"1.2","creator":{{"name":"WebInspector","version":"537.36"}},"entries":[{entries}]}}}}"#
        )
    }

    const ENTRY: &str = r#"{"startedDateTime":"2024-05-01T10:00:00.000Z","time":12.5,
        "request":{"method":"GET","url":"https://idp.example/x","headers":[]},
        "response":{"status":200,"headers":[],"content":{"size":2,"mimeType":"application/json","text":"e30=","encoding":"base64"}}}"#;

    #[test]
    fn playwright_side_files_are_read_beside_the_capture_and_never_outside_it() {
        let dir = tempfile::tempdir().unwrap();
        let entry = |file: &str| {
            format!(
                r#"{{"startedDateTime":"2024-05-01T10:00:00.000Z","time":1,
                "request":{{"method":"POST","url":"https://idp.example/token","headers":[]}},
                "response":{{"status":400,"headers":[],"content":{{"size":23,"mimeType":"application/json","_file":"{file}"}}}}}}"#
            )
        };
        std::fs::write(dir.path().join("a1b2.json"), r#"{"error":"invalid_grant"}"#).unwrap();
        std::fs::write(dir.path().join("secret.txt"), "outside").unwrap();
        let inner = dir.path().join("har");
        std::fs::create_dir(&inner).unwrap();
        std::fs::write(inner.join("a1b2.json"), r#"{"error":"invalid_grant"}"#).unwrap();
        let har = inner.join("capture.har");
        let entries = [
            entry("a1b2.json"),
            entry("../secret.txt"),
            entry("/etc/hostname"),
            entry("absent.json"),
        ]
        .join(",");
        std::fs::write(&har, minimal(&entries)).unwrap();
        let c = load_path(&har).unwrap();
        assert_eq!(
            c.entries[0].resp_body,
            Body::Text(r#"{"error":"invalid_grant"}"#.into())
        );
        for e in &c.entries[1..] {
            assert_eq!(e.resp_body, Body::Missing, "{}", e.index);
        }
        // From a reader there is no folder: the body is unknown.
        let c = parse_reader(minimal(&entry("a1b2.json")).as_bytes()).unwrap();
        assert_eq!(c.entries[0].resp_body, Body::Missing);
    }

    #[test]
    fn reads_a_minimal_capture() {
        let c = parse(&minimal(ENTRY)).unwrap();
        assert_eq!(c.entries.len(), 1);
        assert_eq!(c.entries[0].resp_body, Body::Text("{}".into()));
        assert_eq!(c.entries[0].duration_ms, 12);
        assert!(c.from_browser);
    }

    #[test]
    fn bad_input_is_refused_with_a_message() {
        let cases: Vec<(String, &str)> = vec![
            ("".into(), "empty"),
            ("not json".into(), "starts with 'not json'"),
            ("\u{1}\u{2}\u{3}".into(), "binary"),
            (minimal(ENTRY)[..60].to_string(), "truncated"),
            (
                "{\"log\": {\"version\": \"2.0\", \"entries\": []}}".into(),
                "'2.0' is not supported",
            ),
            ("{\"log\": {\"entries\": []}}".into(), "version is missing"),
            ("{\"foo\": 1}".into(), "no 'log'"),
            (
                "{\"log\": {\"version\": \"1.2\"}}".into(),
                "entries is missing",
            ),
            (
                minimal(&ENTRY.replace("\"method\":\"GET\",", "")),
                "log.entries[0].request.method is missing",
            ),
            (
                minimal(&ENTRY.replace("https://idp.example/x", "http://[bad")),
                "log.entries[0].request.url",
            ),
            (
                minimal(&ENTRY.replace("\"status\":200,", "")),
                "response.status is missing",
            ),
            (
                minimal(&ENTRY.replace("2024-05-01T10:00:00.000Z", "yesterday")),
                "startedDateTime is 'yesterday'",
            ),
            (minimal(&ENTRY.replace("e30=", "!!!")), "marked base64"),
            (
                "{\"log\": {\"version\": \"1.2\", \"entries\": {}}}".into(),
                "not a HAR 1.2 log",
            ),
        ];
        for (input, expected) in cases {
            let err = parse(&input).expect_err(expected);
            assert!(
                err.message.contains(expected),
                "{expected:?} not in {:?}",
                err.message
            );
        }
        assert!(
            parse_reader(&[0x1f, 0x8b, 0, 0][..])
                .unwrap_err()
                .message
                .contains("gzip")
        );
    }

    #[test]
    fn huge_files_are_refused_before_reading() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge.har");
        let f = std::fs::File::create(&path).unwrap();
        f.set_len(MAX_HAR_BYTES + 1).unwrap();
        let err = load_path(&path).unwrap_err();
        assert!(err.message.contains("MB"), "{}", err.message);
        assert!(
            load_path(dir.path())
                .unwrap_err()
                .message
                .contains("directory")
        );
    }
}
