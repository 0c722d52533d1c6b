//! Output: text for people (grouped, colour on a terminal only) and JSON for programs
//! (`{"findings": [{"code", "severity", "message", "fix", ...}]}`).

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

/// Word-wraps `text` to `width` columns, indenting continuation lines by `indent` spaces.
fn wrap(text: &str, width: usize, indent: usize) -> String {
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
        out.push_str(&format!("{pad}{} {}\n", p.dim("at:      "), s.label()));
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
                from.label()
            ));
        }
    }
    if let Some(r) = &f.received {
        out.push_str(&format!(
            "{pad}{} {}\n",
            p.dim("received:"),
            wrap(r, 78, 23)
        ));
    }
    out.push_str(&format!(
        "{pad}{} {}\n",
        p.dim("fix:     "),
        wrap(&f.fix, 78, 23)
    ));
    out.push_str(&format!("{pad}{} {}", p.dim("docs:    "), f.docs()));
    if let Some(d) = &f.provider_docs {
        out.push_str(&format!(" (provider: {d})"));
    }
    out.push('\n');
    out
}

/// The report as text.
pub fn text(report: &Report, colour: bool) -> String {
    let p = Paint { on: colour };
    let mut out = format!(
        "{}\n",
        p.bold(&format!("candor doctor: {}", report.subject))
    );
    for line in &report.summary {
        out.push_str(&format!("  {line}\n"));
    }
    for g in &report.groups {
        out.push_str(&format!("\n{}\n", p.bold(&g.title)));
        for line in &g.lines {
            out.push_str(&format!("  {line}\n"));
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

fn finding_json(f: &Finding, group: usize) -> Value {
    json!({
        "code": f.code.as_str(),
        "severity": f.severity,
        "title": f.code.entry().title,
        "message": f.message,
        "expected": f.expected,
        "received": f.received,
        "fix": f.fix,
        "docs": f.docs(),
        "provider_docs": f.provider_docs,
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

/// Renders in `format`.
pub fn render(report: &Report, format: Format, colour: bool) -> String {
    match format {
        Format::Text => text(report, colour),
        Format::Json => {
            let mut s = serde_json::to_string_pretty(&json(report)).unwrap_or_default();
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
        assert!(t.contains("docs/errors.md#codereused"));
        assert!(!t.contains("\x1b["));
        assert!(text(&r, true).contains("\x1b[1;31m"));
        let j = json(&r);
        assert_eq!(j["findings"][0]["code"], "code.reused");
        assert_eq!(j["findings"][0]["severity"], "error");
        assert_eq!(j["exit_status"], 1);
        assert!(wrap("a b c d e f", 3, 2).contains('\n'));
    }
}
