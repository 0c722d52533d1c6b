//! Step 5: the provider's clock, from the Date header of its discovery response.

use std::time::SystemTime;

use candor_proto::Code;

use crate::finding::{Finding, Group, Severity};

pub(super) fn clock_step(
    date: Option<SystemTime>,
    received_at: SystemTime,
    leeway: i64,
    g: &mut Group,
) {
    let Some(date) = date else {
        g.informational = true;
        g.lines.push(
            "the discovery response has no Date header: the provider's clock is unknown".into(),
        );
        return;
    };
    let secs = |t: SystemTime| {
        t.duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    };
    // The Date header has one-second resolution: allow for it.
    let skew = secs(date) - secs(received_at);
    let skew = if skew.abs() <= 1 { 0 } else { skew };
    if skew.abs() <= leeway {
        g.lines.push(format!(
            "the provider's Date header is within {} s of this machine's clock (leeway {leeway} s)",
            skew.abs().max(1)
        ));
        return;
    }
    let dir = if skew > 0 { "ahead of" } else { "behind" };
    g.findings.push(
        Finding::new(
            Code::ClockSkew,
            if skew.abs() > 300 { Severity::Error } else { Severity::Warning },
            format!(
                "The provider's clock is {} s {dir} this machine's: tokens will look {} to clients that check exp, iat and nbf with a leeway under that.",
                skew.abs(),
                if skew > 0 { "issued in the future" } else { "expired early" }
            ),
        )
        .expected(format!("a Date within {leeway} s of {}", httpdate::fmt_http_date(received_at)))
        .received(format!("Date: {}", httpdate::fmt_http_date(date)))
        .step("clock"),
    );
}
