//! What the doctor reports: findings (a catalogue code, a severity, what was expected and
//! received, the fix) grouped by flow or probe step, and the exit status they imply.

use candor_proto::Code;
use serde::Serialize;

/// How bad a finding is. Errors and warnings are problems (exit status 1); notes are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The exchange fails, or is insecure.
    Error,
    /// Works today, but fragile or against current best practice.
    Warning,
    /// Something the reader should know (what could not be checked, and why): a "note", in
    /// the text and the JSON alike.
    #[serde(rename = "note")]
    Info,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        }
    }
}

/// Where a finding comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// A HAR entry: its index in `log.entries`, method and (redacted) URL.
    Entry {
        index: usize,
        method: String,
        url: String,
    },
    /// A probe step, e.g. `tls` or `token_endpoint`.
    Step { name: String },
    /// A part of the input (a claim of a JWT, a header of a response).
    Input { name: String },
}

impl Source {
    pub fn label(&self) -> String {
        match self {
            Source::Entry { index, method, url } => {
                format!("log.entries[{index}] {method} {url}")
            }
            Source::Step { name } => format!("step {name}"),
            Source::Input { name } => name.clone(),
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub expected: Option<String>,
    pub received: Option<String>,
    /// The HTTP exchange behind a probe finding, one line per element: the text renderer
    /// prints each on a line of its own (the only line breaks it keeps), JSON appends them to
    /// `received`.
    pub transcript: Vec<String>,
    pub fix: String,
    pub source: Option<Source>,
    /// Where the expected value comes from (e.g. the authorization request's entry).
    pub expected_from: Option<Source>,
    /// The provider's own documentation link for this error (its `error_uri`).
    pub provider_docs: Option<String>,
    /// For a provider's error response, its RFC 6749 `error` value: only a finding whose code
    /// answers with that value can be named as its cause.
    pub provider_error: Option<String>,
    /// When the evidence leaves several causes: the candidates, most likely first (the
    /// finding's own code is then a generic one).
    pub candidates: Vec<Code>,
}

/// Where a code is documented, as the reader can reach it: the command that prints its entry.
pub fn docs_link(code: Code) -> String {
    // What a reader with only the binary can run (a Candor server also serves the entry at
    // `<issuer>/docs/errors/<code>`); a repository path would help only a checkout.
    format!("candor docs errors {}", code.as_str())
}

impl Finding {
    /// A finding with the catalogue's fix.
    pub fn new(code: Code, severity: Severity, message: impl Into<String>) -> Self {
        Finding {
            code,
            severity,
            message: message.into(),
            expected: None,
            received: None,
            transcript: Vec::new(),
            fix: code.entry().fix.to_string(),
            source: None,
            expected_from: None,
            provider_docs: None,
            provider_error: None,
            candidates: Vec::new(),
        }
    }

    pub fn expected(mut self, s: impl Into<String>) -> Self {
        self.expected = Some(s.into());
        self
    }

    pub fn received(mut self, s: impl Into<String>) -> Self {
        self.received = Some(s.into());
        self
    }

    pub fn maybe_expected(mut self, s: Option<String>) -> Self {
        if s.is_some() {
            self.expected = s;
        }
        self
    }

    pub fn maybe_received(mut self, s: Option<String>) -> Self {
        if s.is_some() {
            self.received = s;
        }
        self
    }

    pub fn fix(mut self, s: impl Into<String>) -> Self {
        self.fix = s.into();
        self
    }

    pub fn source(mut self, s: Source) -> Self {
        self.source = Some(s);
        self
    }

    pub fn expected_from(mut self, s: Source) -> Self {
        self.expected_from = Some(s);
        self
    }

    pub fn step(self, name: &str) -> Self {
        self.source(Source::Step {
            name: name.to_string(),
        })
    }

    pub fn provider_docs(mut self, uri: Option<String>) -> Self {
        self.provider_docs = uri;
        self
    }

    pub fn docs(&self) -> String {
        docs_link(self.code)
    }

    pub fn is_problem(&self) -> bool {
        self.severity != Severity::Info
    }
}

/// Findings about one flow (HAR), one step (probe), or the input as a whole.
#[derive(Debug, Clone, Default)]
pub struct Group {
    pub title: String,
    /// Context lines: the entries or steps of the group, what was observed.
    pub lines: Vec<String>,
    pub findings: Vec<Finding>,
    /// A group that only informs (no checks run in it).
    pub informational: bool,
}

impl Group {
    pub fn new(title: impl Into<String>) -> Self {
        Group {
            title: title.into(),
            ..Group::default()
        }
    }

    /// A group that only informs: its lack of findings says nothing.
    pub fn info(title: impl Into<String>) -> Self {
        Group {
            title: title.into(),
            informational: true,
            ..Group::default()
        }
    }
}

/// A whole diagnosis.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// What was examined, e.g. "HAR login.har".
    pub subject: String,
    /// Lines about the input as a whole.
    pub summary: Vec<String>,
    pub groups: Vec<Group>,
}

impl Report {
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.groups.iter().flat_map(|g| g.findings.iter())
    }

    pub fn problems(&self) -> usize {
        self.findings().filter(|f| f.is_problem()).count()
    }

    /// 0 when nothing is wrong, 1 when a problem was found.
    pub fn exit_code(&self) -> u8 {
        if self.problems() > 0 { 1 } else { 0 }
    }

    /// Whether any finding has this code.
    pub fn has(&self, code: Code) -> bool {
        self.findings().any(|f| f.code == code)
    }

    /// The codes found, in order.
    pub fn codes(&self) -> Vec<Code> {
        self.findings().map(|f| f.code).collect()
    }
}

/// One fact, one finding: codes that state the same fact about the same request, the first
/// of each pair kept, the second folded into it (its words appended, the higher severity
/// kept). A JSON body and the provider's "unsupported content type" are one fact; so are a
/// request to another URL than discovery's token_endpoint and the 404 it got there.
pub const SAME_CAUSE: &[(Code, Code)] = &[
    (
        Code::TokenRequestJsonBody,
        Code::TokenRequestUnsupportedContentType,
    ),
    (
        Code::TokenRequestJsonBody,
        Code::TokenRequestMissingParameter,
    ),
    (Code::DiscoveryEndpointMismatch, Code::TokenEndpointNotFound),
    (
        Code::DiscoveryEndpointMismatch,
        Code::ResponseErrorWithoutBody,
    ),
    (Code::DiscoveryEndpointMismatch, Code::ResponseHtml),
    (Code::DiscoveryEndpointMismatch, Code::TokenRequestNotPost),
    (Code::TokenEndpointNotFound, Code::ResponseErrorWithoutBody),
    (Code::TokenEndpointNotFound, Code::ResponseHtml),
];

/// Merges findings that share a cause ([`SAME_CAUSE`], or the same code) and the same source
/// into one, which then says what else was seen.
pub fn merge_same_cause(findings: &mut Vec<Finding>) {
    let mut i = 0;
    while i < findings.len() {
        let absorbed = findings.iter().enumerate().find_map(|(k, keep)| {
            let f = findings.get(i)?;
            (k != i
                && keep.source == f.source
                && keep.source.is_some()
                && (SAME_CAUSE.contains(&(keep.code, f.code)) || (keep.code == f.code && k < i)))
                .then_some(k)
        });
        match absorbed {
            Some(k) => {
                let f = findings.remove(i);
                let k = if k > i { k - 1 } else { k };
                if let Some(keep) = findings.get_mut(k) {
                    keep.message.push_str(&format!(
                        " The same fact, seen as {}: {}",
                        f.code, f.message
                    ));
                    if f.severity < keep.severity {
                        keep.severity = f.severity;
                    }
                    if keep.provider_docs.is_none() {
                        keep.provider_docs = f.provider_docs;
                    }
                }
            }
            None => i += 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_note_is_a_note_in_text_and_json() {
        assert_eq!(Severity::Info.as_str(), "note");
        assert_eq!(
            serde_json::to_value(Severity::Info).ok(),
            Some(serde_json::json!("note"))
        );
        assert_eq!(
            docs_link(Code::CodeReused),
            "candor docs errors code.reused"
        );
    }
}
