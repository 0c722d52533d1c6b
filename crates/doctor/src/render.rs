//! Output: text for people (grouped, colour on a terminal only) and JSON for programs
//! (`{"findings": [{"code", "severity", "message", "fix", ...}]}`).
//!
//! Every string the text renderer prints passes through [`printable`] first: the doctor reads
//! captures, token responses and tokens made by others, and a terminal obeys what it is sent
//! (ESC sequences clear the screen, set the title, write the clipboard with OSC 52, plant links
//! with OSC 8; U+202E reverses what follows). JSON needs nothing: serde escapes every control
//! character, and bidi characters are inert until printed raw.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::finding::{Finding, Report, Severity};

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, s: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    fn bold(&self, s: &str) -> String {
        self.wrap("1", s)
    }
    fn dim(&self, s: &str) -> String {
        self.wrap("2", s)
    }
    fn severity(&self, sev: Severity) -> String {
        let label = format!("{:<7}", sev.as_str());
        match sev {
            Severity::Error => self.wrap("1;31", &label),
            Severity::Warning => self.wrap("1;33", &label),
            Severity::Info => self.wrap("1;36", &label),
        }
    }
}

/// Whether `c` must not reach a terminal as itself: C0 controls (newline included: the
/// renderer writes its own line breaks), DEL, C1 controls, and the invisible format and
/// bidirectional characters (Unicode category Cf, and the line and paragraph separators).
fn is_unprintable(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1f}'
        | '\u{7f}'..='\u{9f}'
        | '\u{ad}'
        | '\u{600}'..='\u{605}'
        | '\u{61c}'
        | '\u{6dd}'
        | '\u{70f}'
        | '\u{890}'..='\u{891}'
        | '\u{8e2}'
        | '\u{180e}'
        | '\u{200b}'..='\u{200f}'
        | '\u{2028}'..='\u{202e}'
        | '\u{2060}'..='\u{2064}'
        | '\u{2066}'..='\u{206f}'
        | '\u{feff}'
        | '\u{fff9}'..='\u{fffb}'
        | '\u{110bd}'
        | '\u{110cd}'
        | '\u{13430}'..='\u{1343f}'
        | '\u{1bca0}'..='\u{1bca3}'
        | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0001}'
        | '\u{e0020}'..='\u{e007f}')
}

/// `s` safe to print on a terminal: every character [`is_unprintable`] says is unsafe is
/// shown as a visible escape (`\x1b`, `\n`, `\u{202e}`); everything else is unchanged.
pub fn printable(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unprintable) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x80 && is_unprintable(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if is_unprintable(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Word-wraps `text` (made [`printable`] first) to `width` columns, indenting continuation
/// lines by `indent` spaces.
fn wrap(text: &str, width: usize, indent: usize) -> String {
    let text = printable(text);
    let mut out = String::new();
    let mut col = 0;
    for word in text.split(' ') {
        let len = word.chars().count();
        if col > 0 && col + 1 + len > width {
            out.push('\n');
            out.push_str(&" ".repeat(indent));
            col = 0;
        } else if col > 0 {
            out.push(' ');
            col += 1;
        }
        out.push_str(word);
        col += len;
    }
    out
}

fn finding_text(f: &Finding, p: &Paint) -> String {
    let pad = " ".repeat(13);
    let mut out = format!(
        "  {} {}\n{pad}{}\n",
        p.severity(f.severity),
        p.bold(f.code.as_str()),
        wrap(&f.message, 88, 13)
    );
    if let Some(s) = &f.source {
        out.push_str(&format!(
            "{pad}{} {}\n",
            p.dim("at:      "),
            printable(&s.label())
        ));
    }
    if let Some(e) = &f.expected {
        out.push_str(&format!(
            "{pad}{} {}\n",
            p.dim("expected:"),
            wrap(e, 78, 23)
        ));
        if let Some(from) = &f.expected_from {
            out.push_str(&format!(
                "{pad}{} {}\n",
                p.dim("          from"),
                printable(&from.label())
            ));
        }
    }
    if f.received.is_some() || !f.transcript.is_empty() {
        out.push_str(&format!("{pad}{}", p.dim("received:")));
        let mut first = true;
        if let Some(r) = &f.received {
            out.push_str(&format!(" {}\n", wrap(r, 78, 23)));
            first = false;
        }
        for line in &f.transcript {
            if first {
                out.push_str(&format!(" {}\n", printable(line)));
                first = false;
            } else {
                out.push_str(&format!("{}{}\n", " ".repeat(23), printable(line)));
            }
        }
    }
    out.push_str(&format!(
        "{pad}{} {}\n",
        p.dim("fix:     "),
        wrap(&f.fix, 78, 23)
    ));
    out.push_str(&format!("{pad}{} {}", p.dim("docs:    "), f.docs()));
    if let Some(d) = &f.provider_docs {
        out.push_str(&format!(" (provider: {})", printable(d)));
    }
    out.push('\n');
    out
}

/// The report as text. Every string from the report is made [`printable`]; the only control
/// characters in the result are the line breaks and (with `colour`) the colours written here.
pub fn text(report: &Report, colour: bool) -> String {
    let p = Paint { on: colour };
    let mut out = format!(
        "{}\n",
        p.bold(&format!("candor doctor: {}", printable(&report.subject)))
    );
    for line in &report.summary {
        out.push_str(&format!("  {}\n", printable(line)));
    }
    for g in &report.groups {
        out.push_str(&format!("\n{}\n", p.bold(&printable(&g.title))));
        for line in &g.lines {
            out.push_str(&format!("  {}\n", printable(line)));
        }
        if !g.findings.is_empty() {
            out.push('\n');
        }
        for f in &g.findings {
            out.push_str(&finding_text(f, &p));
            out.push('\n');
        }
        if g.findings.is_empty() && !g.informational {
            out.push_str(&format!("  {}\n", p.dim("no problems found here")));
        }
    }
    let count = |s: Severity| report.findings().filter(|f| f.severity == s).count();
    let (e, w, n) = (
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Info),
    );
    let plural = |n: usize, s: &str| format!("{n} {s}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "\n{}: {}, {}, {}.\n",
        p.bold("Result"),
        plural(e, "error"),
        plural(w, "warning"),
        plural(n, "note")
    ));
    out
}

/// `received` as JSON has always carried a probe's transcript after the value, one line each.
fn received_json(f: &Finding) -> Option<String> {
    if f.transcript.is_empty() {
        return f.received.clone();
    }
    let lines = f.transcript.join("\n");
    Some(match &f.received {
        Some(r) => format!("{r}\n{lines}"),
        None => lines,
    })
}

fn finding_json(f: &Finding, group: usize) -> Value {
    json!({
        "code": f.code.as_str(),
        "severity": f.severity,
        "title": f.code.entry().title,
        "message": f.message,
        "expected": f.expected,
        "received": received_json(f),
        "fix": f.fix,
        "docs": f.docs(),
        "provider_docs": f.provider_docs,
        "candidates": f.candidates.iter().map(|c| c.as_str()).collect::<Vec<_>>(),
        "source": f.source,
        "expected_from": f.expected_from,
        "group": group,
    })
}

/// The report as JSON.
pub fn json(report: &Report) -> Value {
    let findings: Vec<Value> = report
        .groups
        .iter()
        .enumerate()
        .flat_map(|(i, g)| g.findings.iter().map(move |f| finding_json(f, i)))
        .collect();
    json!({
        "subject": report.subject,
        "summary": report.summary,
        "findings": findings,
        "groups": report.groups.iter().map(|g| json!({"title": g.title, "lines": g.lines})).collect::<Vec<_>>(),
        "problems": report.problems(),
        "exit_status": report.exit_code(),
    })
}

/// Serialized JSON with the characters serde leaves raw (DEL, C1 controls, bidi and format
/// characters; serde already escapes C0) written as `\uXXXX`: the same JSON value, safe to
/// `cat` on a terminal. Such characters occur only inside strings, where the escape is valid.
pub fn json_safe(serialized: String) -> String {
    if !serialized.chars().any(|c| c != '\n' && is_unprintable(c)) {
        return serialized;
    }
    let mut out = String::with_capacity(serialized.len() + 16);
    for c in serialized.chars() {
        if c != '\n' && is_unprintable(c) {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{u:04x}");
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Renders in `format`.
pub fn render(report: &Report, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(report, colour),
        Format::Json => {
            let mut s = json_safe(serde_json::to_string_pretty(&json(report)).unwrap_or_default());
            s.push('\n');
            s
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Group, Source};
    use candor_proto::Code;

    fn report() -> Report {
        let mut g = Group::new("Flow 1");
        g.findings.push(
            Finding::new(Code::CodeReused, Severity::Error, "twice")
                .expected("once")
                .received("twice")
                .source(Source::Step {
                    name: "token".into(),
                }),
        );
        Report {
            subject: "test".into(),
            summary: vec!["1 flow".into()],
            groups: vec![g],
        }
    }

    #[test]
    fn text_and_json() {
        let r = report();
        let t = text(&r, false);
        assert!(t.contains("error   code.reused"), "{t}");
        assert!(t.contains("candor docs errors code.reused"));
        assert!(!t.contains("\x1b["));
        assert!(text(&r, true).contains("\x1b[1;31m"));
        let j = json(&r);
        assert_eq!(j["findings"][0]["code"], "code.reused");
        assert_eq!(j["findings"][0]["severity"], "error");
        assert_eq!(j["exit_status"], 1);
        assert!(wrap("a b c d e f", 3, 2).contains('\n'));
    }

    /// What a hostile capture, response or token can carry: clipboard write (OSC 52), clear
    /// screen, a hyperlink (OSC 8), a right-to-left override, a C1 CSI, an isolate.
    const HOSTILE: &str = "\x1b]52;c;ZXZpbA==\x07 \x1b[2J \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \u{202e}gnp.exe \u{9b}31m \u{2066}x\u{2069} a\nb\r\x7f";

    fn hostile_report() -> Report {
        let mut g = Group::new(format!("Flow {HOSTILE}"));
        g.lines.push(HOSTILE.into());
        let mut f = Finding::new(Code::CodeReused, Severity::Error, HOSTILE)
            .expected(HOSTILE)
            .received(HOSTILE)
            .fix(HOSTILE)
            .provider_docs(Some(HOSTILE.into()))
            .source(Source::Input {
                name: HOSTILE.into(),
            })
            .expected_from(Source::Step {
                name: HOSTILE.into(),
            });
        f.transcript = vec![format!("< {HOSTILE}"), "< second line".into()];
        g.findings.push(f);
        Report {
            subject: HOSTILE.into(),
            summary: vec![HOSTILE.into()],
            groups: vec![g],
        }
    }

    #[test]
    fn printable_escapes_what_a_terminal_would_obey() {
        assert_eq!(printable("plain café ✓"), "plain café ✓");
        assert_eq!(
            printable("\x1b]52;c;x\x07|\u{202e}|\u{9b}|\x7f|\n|\t|\u{2066}|\u{feff}"),
            "\\x1b]52;c;x\\x07|\\u{202e}|\\u{9b}|\\x7f|\\n|\\t|\\u{2066}|\\u{feff}"
        );
    }

    #[test]
    fn text_output_carries_no_control_character_from_the_report() {
        let r = hostile_report();
        let t = text(&r, false);
        let bad: Vec<char> = t
            .chars()
            .filter(|c| *c != '\n' && is_unprintable(*c))
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {t}");
        assert!(t.contains("\\x1b]52;c;ZXZpbA==\\x07"), "{t}");
        assert!(t.contains("\\x1b[2J"), "{t}");
        assert!(t.contains("\\x1b]8;;https://evil.example"), "{t}");
        assert!(t.contains("\\u{202e}gnp.exe"), "{t}");
        assert!(t.contains("a\\nb\\r\\x7f"), "{t}");
        // The transcript's lines are the only line breaks taken from a finding.
        assert!(
            t.contains("\n                       < second line\n"),
            "{t}"
        );
        // With colour, the only escapes are the renderer's own SGR sequences.
        let coloured = text(&r, true);
        for (i, _) in coloured.match_indices('\x1b') {
            let sgr = &coloured[i + 1..];
            let end = sgr.find('m').unwrap();
            assert!(
                sgr.starts_with('[') && sgr[1..end].chars().all(|c| c.is_ascii_digit() || c == ';'),
                "{:?}",
                &sgr[..end + 1]
            );
        }
    }

    #[test]
    fn json_output_escapes_them_and_keeps_the_values() {
        let r = hostile_report();
        let s = render(&r, Format::Json, false);
        let bad: Vec<char> = s
            .chars()
            .filter(|c| *c != '\n' && is_unprintable(*c))
            .collect();
        assert!(bad.is_empty(), "{bad:?} in {s}");
        assert!(s.contains("\\u001b]52;"), "{s}");
        assert!(s.contains("\\u202egnp.exe"), "{s}");
        let v: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(v["subject"], HOSTILE);
        assert_eq!(v["findings"][0]["message"], HOSTILE);
        assert_eq!(
            v["findings"][0]["received"],
            format!("{HOSTILE}\n< {HOSTILE}\n< second line")
        );
        assert_eq!(
            json_safe("\"\u{1f600}\u{e0041}\"".into()),
            "\"\u{1f600}\\udb40\\udc41\""
        );
    }
}
