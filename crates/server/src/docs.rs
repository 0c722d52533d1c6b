//! The diagnosis catalogue rendered for people: `/docs/errors` and `/docs/errors/<code>` pages
//! (linked from every `error_uri`), and the Markdown of `docs/errors.md`.

use askama::Template;
use candor_proto::diagnosis::{Code, Entry, Side};

#[derive(Template)]
#[template(path = "error_code.html")]
struct CodePage<'a> {
    entry: &'a Entry,
    side: &'static str,
    index_url: String,
    /// The explanation and the fix as HTML ([`inline_code`]).
    explanation: String,
    fix: String,
}

#[derive(Template)]
#[template(path = "error_index.html")]
struct IndexPage {
    groups: Vec<Area>,
    base: String,
    script: String,
}

/// The codes of one area (the part of a code before its first dot), in catalogue order.
struct Area {
    area: &'static str,
    entries: Vec<&'static Entry>,
}

/// The catalogue by area, areas in the order they first appear.
fn areas() -> Vec<Area> {
    let mut out: Vec<Area> = Vec::new();
    for code in Code::ALL {
        let entry = code.entry();
        let area = entry.code.split('.').next().unwrap_or(entry.code);
        match out.iter_mut().find(|a| a.area == area) {
            Some(a) => a.entries.push(entry),
            None => out.push(Area {
                area,
                entries: vec![entry],
            }),
        }
    }
    out
}

#[derive(Template)]
#[template(path = "home.html")]
struct HomePage<'a> {
    issuer: &'a str,
    discovery: String,
    jwks: String,
    errors: String,
    /// The try-it app's page, on a `serve --dev` server.
    demo: Option<String>,
}

/// The page at the issuer's root: what this server is, and where to go from here.
pub fn home_page(issuer: &str, demo: bool) -> Result<String, askama::Error> {
    HomePage {
        issuer,
        demo: demo.then(|| crate::demo::home_uri(issuer)),
        discovery: format!("{issuer}/.well-known/openid-configuration"),
        jwks: format!("{issuer}/jwks"),
        errors: format!("{issuer}/docs/errors"),
    }
    .render()
}

#[derive(Template)]
#[template(path = "not_found.html")]
struct UnknownCodePage<'a> {
    code: &'a str,
    index_url: String,
}

/// `text` as HTML: escaped, with the catalogue's `backtick spans` as `<code>` (its prose
/// names commands and keys that way). The result is safe to insert unescaped.
pub fn inline_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16);
    let parts: Vec<&str> = text.split('`').collect();
    for (i, part) in parts.iter().enumerate() {
        let escaped = part
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#39;");
        // Odd parts sit between two backticks (an unpaired last one stays text).
        if i % 2 == 1 && parts.len() > i + 1 {
            out.push_str("<code>");
            out.push_str(&escaped);
            out.push_str("</code>");
        } else {
            if i % 2 == 1 {
                out.push('`');
            }
            out.push_str(&escaped);
        }
    }
    out
}

fn side(entry: &Entry) -> &'static str {
    match entry.side {
        Side::Server => "a client, in Candor's response (and in its logs)",
        Side::Client => "a client, in a provider's response (reported by candor doctor)",
    }
}

/// The page of one code, or `None` when no such code exists.
pub fn code_page(issuer: &str, code: &str) -> Result<Option<String>, askama::Error> {
    let index_url = format!("{issuer}/docs/errors");
    match Code::parse(code) {
        Some(c) => CodePage {
            entry: c.entry(),
            side: side(c.entry()),
            index_url,
            explanation: inline_code(c.entry().explanation),
            fix: inline_code(c.entry().fix),
        }
        .render()
        .map(Some),
        None => Ok(None),
    }
}

/// The page shown for a code that does not exist.
pub fn unknown_code_page(issuer: &str, code: &str) -> Result<String, askama::Error> {
    UnknownCodePage {
        code,
        index_url: format!("{issuer}/docs/errors"),
    }
    .render()
}

/// The index of all codes.
pub fn index_page(issuer: &str) -> Result<String, askama::Error> {
    IndexPage {
        groups: areas(),
        base: format!("{issuer}/docs/errors"),
        script: script_url(issuer),
    }
    .render()
}

/// The pages' one script (progressive enhancement; see `assets/candor.js`).
pub fn script_url(issuer: &str) -> String {
    format!("{issuer}/assets/candor.js")
}

/// The script's source, served at [`script_url`].
pub const SCRIPT: &str = include_str!("../assets/candor.js");

/// `docs/errors.md`: every code with its error, status, explanation and fix.
pub fn catalogue_markdown() -> String {
    let mut out = String::from(
        "# Diagnosis catalogue\n\n\
         <!-- Generated from crates/proto/src/diagnosis.rs by `candor docs errors`; do not edit. -->\n\n\
         Every error Candor returns carries one of these codes in its `diagnosis` field, and its \
         `error_uri` links to the code's page on the server (`<issuer>/docs/errors/<code>`). \
         Client-side codes are what `candor doctor` reports about other providers' responses.\n\n\
         | code | RFC error | status | meaning |\n|---|---|---|---|\n",
    );
    for code in Code::ALL {
        let e = code.entry();
        out.push_str(&format!(
            "| [`{}`](#{}) | {} | {} | {} |\n",
            e.code,
            anchor(e.code),
            e.error
                .map(|x| format!("`{x}`"))
                .unwrap_or_else(|| "—".into()),
            e.status
                .map(|s| s.to_string())
                .unwrap_or_else(|| "—".into()),
            e.title
        ));
    }
    for code in Code::ALL {
        out.push('\n');
        out.push_str(&entry_markdown(code.entry()));
    }
    out
}

/// One code's section of [`catalogue_markdown`] (what `candor docs errors CODE` prints).
pub fn entry_markdown(e: &Entry) -> String {
    let mut out = format!("## {}\n\n**{}**\n\n", e.code, e.title);
    match (e.error, e.status) {
        (Some(err), Some(status)) => out.push_str(&format!(
            "Answered with `\"error\": \"{err}\"` and HTTP status {status}.\n\n"
        )),
        _ => {
            out.push_str("Reported by clients and `candor doctor` about a provider's response.\n\n")
        }
    }
    out.push_str(&format!("{}\n\n*Fix:* {}\n", e.explanation, e.fix));
    out
}

fn anchor(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_a_page() {
        for code in Code::ALL {
            let page = code_page("http://x", code.as_str())
                .ok()
                .flatten()
                .unwrap_or_default();
            assert!(page.contains(code.as_str()), "{code}");
            assert!(page.contains("How to fix it"));
        }
        assert_eq!(code_page("http://x", "nope").ok(), Some(None));
    }

    #[test]
    fn unknown_code_is_escaped() {
        let page = unknown_code_page("http://x", "<script>alert(1)</script>").unwrap_or_default();
        assert!(!page.contains("<script>alert"));
        assert!(page.contains("&lt;script&gt;") || page.contains("&#60;script"));
    }

    #[test]
    fn markdown_lists_every_code() {
        let md = catalogue_markdown();
        for code in Code::ALL {
            assert!(md.contains(&format!("## {}", code.as_str())), "{code}");
        }
    }
}

#[cfg(test)]
mod inline_code_tests {
    use super::inline_code;

    #[test]
    fn backtick_spans_become_code_and_everything_is_escaped() {
        assert_eq!(
            inline_code("run `candor client list` <now>"),
            "run <code>candor client list</code> &lt;now&gt;"
        );
        assert_eq!(inline_code("`<script>`"), "<code>&lt;script&gt;</code>");
        assert_eq!(inline_code("a ` alone"), "a ` alone");
        assert_eq!(
            inline_code("\"q\" & 'x'"),
            "&quot;q&quot; &amp; &#39;x&#39;"
        );
    }
}
