//! The W3C trace context of a call (<https://www.w3.org/TR/trace-context/>), kept when the
//! call log exports spans: a call joins the trace its caller's `traceparent` names, as a span
//! of its own, and the gateway passes that span on to the upstream as its parent — so the
//! caller's, Candor's and the upstream's spans are one trace in the collector.

/// A call's span in its trace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trace {
    pub trace_id: [u8; 16],
    pub span_id: [u8; 8],
    /// The caller's span, when its `traceparent` was valid.
    pub parent_id: Option<[u8; 8]>,
    /// The caller's trace flags (bit 0: sampled); a new trace is sampled.
    pub flags: u8,
}

impl Trace {
    /// The span of a request whose `traceparent` header is `header`: in the caller's trace
    /// when it names one, else the first of a new trace. A malformed header is ignored, as the
    /// specification says: the call starts a trace of its own.
    pub fn start(header: Option<&[u8]>) -> Trace {
        let span_id = nonzero(rand::random);
        match header.and_then(parse) {
            Some((trace_id, parent, flags)) => Trace {
                trace_id,
                span_id,
                parent_id: Some(parent),
                flags,
            },
            None => Trace {
                trace_id: nonzero(rand::random),
                span_id,
                parent_id: None,
                flags: 1,
            },
        }
    }

    /// The `traceparent` to send on: this call's span as the parent.
    pub fn traceparent(&self) -> String {
        format!(
            "00-{}-{}-{:02x}",
            hex::encode(self.trace_id),
            hex::encode(self.span_id),
            self.flags
        )
    }
}

/// An id from `draw` that is not all zeros (an all-zero id is invalid).
fn nonzero<const N: usize>(draw: impl Fn() -> [u8; N]) -> [u8; N] {
    loop {
        let id = draw();
        if id != [0; N] {
            return id;
        }
    }
}

/// `version-traceid-parentid-flags`, lowercase hex. Version `00` is exactly that; a later
/// version may add fields after a `-`, which are ignored; `ff` is invalid.
fn parse(value: &[u8]) -> Option<([u8; 16], [u8; 8], u8)> {
    let text = std::str::from_utf8(value).ok()?.trim_matches([' ', '\t']);
    let mut parts = text.splitn(5, '-');
    let version = lower_hex::<1>(parts.next()?)?;
    let trace_id = lower_hex::<16>(parts.next()?)?;
    let parent = lower_hex::<8>(parts.next()?)?;
    let flags = lower_hex::<1>(parts.next()?)?;
    let rest = parts.next();
    let [version] = version;
    if version == 0xff || (version == 0 && rest.is_some()) {
        return None;
    }
    if trace_id == [0; 16] || parent == [0; 8] {
        return None;
    }
    let [flags] = flags;
    Some((trace_id, parent, flags))
}

/// Exactly `2 * N` lowercase hex digits.
fn lower_hex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != 2 * N || s.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CALLER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_call_joins_its_callers_trace_as_a_span_of_its_own() {
        let t = Trace::start(Some(CALLER.as_bytes()));
        assert_eq!(hex::encode(t.trace_id), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(
            t.parent_id.map(hex::encode).as_deref(),
            Some("00f067aa0ba902b7")
        );
        assert_ne!(t.span_id, [0; 8]);
        assert_ne!(hex::encode(t.span_id), "00f067aa0ba902b7");
        let sent = t.traceparent();
        assert!(
            sent.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"),
            "{sent}"
        );
        assert!(sent.ends_with("-01"));
        assert_eq!(parse(sent.as_bytes()).map(|p| p.1), Some(t.span_id));
        // A later version's extra field is ignored; its known fields are read.
        let future = format!("cc{}-what-ever", &CALLER[2..]);
        assert!(parse(future.as_bytes()).is_some());
    }

    #[test]
    fn a_malformed_traceparent_starts_a_new_trace() {
        for bad in [
            "",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
            "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse(bad.as_bytes()), None, "{bad}");
            let t = Trace::start(Some(bad.as_bytes()));
            assert_eq!((t.parent_id, t.flags), (None, 1), "{bad}");
            assert_ne!(t.trace_id, [0; 16]);
        }
        assert_eq!(parse(&[0xff, 0xfe]), None);
    }
}
