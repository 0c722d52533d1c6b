//! How calls are kept: in blocks, one database row per minute of a batch, its calls as JSON
//! lines compressed with LZ4.
//!
//! A row per call costs SQLite about a microsecond of B-tree work per call on this class of
//! machine, and sqlx as much again in argument binding: at the gateway's saturation that was
//! 17 % of its throughput, spent on two cores it shares with its event loops. A block costs one
//! row per batch; serialising and compressing a call is a fraction of a microsecond, and the
//! bytes written shrink several-fold (a log's calls repeat their routes, clients and paths).
//! The same trade as Loki's chunks: the raw records are read back by scanning blocks, which
//! the minute rollup points at — a block holds one minute, so the minutes where a filter
//! matches (read from the rollup) are the only blocks `calls tail` opens.
//!
//! A block's calls are numbered: call `i` of block `b` has id `b * PER_BLOCK + i`, the id
//! `calls tail --follow` continues from.

use serde::{Deserialize, Serialize};

use crate::record::{Call, Source};
use crate::store::StoredCall;
use crate::{CallsError, Result};

/// At most this many calls in one block (a batch is split beyond it); also the id stride.
pub const PER_BLOCK: usize = 4096;

/// `encoding` column value: JSON lines, LZ4 block format with the length prepended.
pub const LZ4_JSON_LINES: i16 = 1;

/// The largest block that is decompressed: far above what [`PER_BLOCK`] bounded calls make
/// (a path is cut at 512 bytes, a request id at 128), so only a damaged row reaches it.
const MAX_DECODED: usize = 64 << 20;

/// One call as a block holds it; the names are those of [`StoredCall`] (the node and the id
/// are the block's).
#[derive(Serialize)]
struct EntryRef<'a> {
    at_us: i64,
    source: Source,
    route: &'a str,
    method: &'a str,
    path: &'a str,
    status: u16,
    latency_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_in: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    bytes_out: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    subject: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scopes: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    issuer: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    diagnosis: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    request_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    trace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    span_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parent_span_id: Option<String>,
}

/// A call read back from a block; unknown fields (a later version's) are ignored.
#[derive(Deserialize)]
struct Entry {
    at_us: i64,
    source: String,
    route: String,
    method: String,
    path: String,
    status: u16,
    latency_us: i64,
    #[serde(default)]
    upstream: Option<String>,
    #[serde(default)]
    bytes_in: Option<i64>,
    #[serde(default)]
    bytes_out: Option<i64>,
    #[serde(default)]
    client_id: Option<String>,
    #[serde(default)]
    subject: Option<String>,
    #[serde(default)]
    scopes: Option<String>,
    #[serde(default)]
    issuer: Option<String>,
    #[serde(default)]
    diagnosis: Option<String>,
    #[serde(default)]
    request_id: Option<String>,
    #[serde(default)]
    trace_id: Option<String>,
    #[serde(default)]
    span_id: Option<String>,
    #[serde(default)]
    parent_span_id: Option<String>,
}

fn entry(c: &Call) -> EntryRef<'_> {
    EntryRef {
        at_us: c.at_us,
        source: c.source,
        route: &c.route,
        method: &c.method,
        path: &c.path,
        status: c.status,
        latency_us: c.latency_us,
        upstream: c.upstream.as_deref(),
        bytes_in: c.bytes_in,
        bytes_out: c.bytes_out,
        client_id: c.client_id(),
        subject: c.subject(),
        scopes: c.scopes(),
        issuer: c.issuer(),
        diagnosis: c.diagnosis,
        request_id: c.request_id.as_deref(),
        trace_id: c.trace.map(|t| hex::encode(t.trace_id)),
        span_id: c.trace.map(|t| hex::encode(t.span_id)),
        parent_span_id: c.trace.and_then(|t| t.parent_id).map(hex::encode),
    }
}

/// The body of a block holding `calls` (at most [`PER_BLOCK`]).
pub fn encode<'a>(calls: impl Iterator<Item = &'a Call>) -> Result<Vec<u8>> {
    let mut json = Vec::with_capacity(64 * 1024);
    for c in calls {
        serde_json::to_writer(&mut json, &entry(c))
            .map_err(|e| CallsError::Block(e.to_string()))?;
        json.push(b'\n');
    }
    Ok(lz4_flex::compress_prepend_size(&json))
}

/// The calls of block `id` (made on `node`), in the order they were written, with their ids.
pub fn decode(id: i64, node: &str, encoding: i16, body: &[u8]) -> Result<Vec<StoredCall>> {
    if encoding != LZ4_JSON_LINES {
        return Err(CallsError::Block(format!(
            "block {id}: unknown encoding {encoding}"
        )));
    }
    let (size, compressed) = body
        .split_first_chunk::<4>()
        .ok_or_else(|| CallsError::Block(format!("block {id}: truncated")))?;
    let size = usize::try_from(u32::from_le_bytes(*size)).unwrap_or(usize::MAX);
    if size > MAX_DECODED {
        return Err(CallsError::Block(format!(
            "block {id}: {size} bytes once decompressed, more than a block can hold"
        )));
    }
    let json = lz4_flex::decompress(compressed, size)
        .map_err(|e| CallsError::Block(format!("block {id}: {e}")))?;
    let mut out = Vec::new();
    for (i, line) in json
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        let e: Entry = serde_json::from_slice(line)
            .map_err(|e| CallsError::Block(format!("block {id}, call {i}: {e}")))?;
        out.push(StoredCall {
            id: call_id(id, i),
            at_us: e.at_us,
            node: node.to_string(),
            source: e.source,
            route: e.route,
            method: e.method,
            path: e.path,
            status: e.status,
            latency_us: e.latency_us,
            upstream: e.upstream,
            bytes_in: e.bytes_in,
            bytes_out: e.bytes_out,
            client_id: e.client_id,
            subject: e.subject,
            scopes: e.scopes,
            issuer: e.issuer,
            diagnosis: e.diagnosis,
            request_id: e.request_id,
            trace_id: e.trace_id,
            span_id: e.span_id,
            parent_span_id: e.parent_span_id,
        });
    }
    Ok(out)
}

/// The id of call `index` of block `block`.
fn call_id(block: i64, index: usize) -> i64 {
    let index = i64::try_from(index).unwrap_or(i64::MAX);
    block.saturating_mul(PER_BLOCK as i64).saturating_add(index)
}

/// The block a call id belongs to.
pub fn block_of(call_id: i64) -> i64 {
    call_id.div_euclid(PER_BLOCK as i64)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::record::Principal;

    fn call(i: i64) -> Call {
        Call {
            at_us: 1_700_000_000_000_000 + i,
            source: Source::Gateway,
            route: Arc::from("orders"),
            method: Arc::from("GET"),
            path: "/orders/7".into(),
            status: if i % 2 == 0 { 200 } else { 401 },
            latency_us: 1_234,
            upstream: (i % 2 == 0).then(|| Arc::from("http://10.0.0.1:8080")),
            bytes_in: Some(0),
            bytes_out: None,
            principal: Some(Arc::new(Principal {
                issuer: Some(Arc::from("https://id.example")),
                subject: Some(Arc::from("alice \"quoted\"\n")),
                client_id: Some(Arc::from("web")),
                scopes: Some(Arc::from("orders:read")),
            })),
            diagnosis: (i % 2 == 1).then_some("token.expired"),
            request_id: None,
            trace: (i % 2 == 0).then(|| crate::trace::Trace::start(None)),
        }
    }

    #[test]
    fn a_block_gives_back_its_calls_in_order_with_their_ids() {
        let calls: Vec<Call> = (0..3).map(call).collect();
        let body = encode(calls.iter()).unwrap_or_default();
        let back = decode(7, "node-a", LZ4_JSON_LINES, &body).unwrap_or_default();
        assert_eq!(back.len(), 3);
        let ids: Vec<i64> = back.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![7 * 4096, 7 * 4096 + 1, 7 * 4096 + 2]);
        assert!(
            back.iter()
                .all(|c| block_of(c.id) == 7 && c.node == "node-a")
        );
        let odd = back.get(1).cloned();
        let odd = odd.as_ref();
        assert_eq!(odd.map(|c| c.status), Some(401));
        assert_eq!(
            odd.and_then(|c| c.diagnosis.as_deref()),
            Some("token.expired")
        );
        assert_eq!(odd.and_then(|c| c.upstream.as_deref()), None);
        assert_eq!(
            odd.and_then(|c| c.subject.as_deref()),
            Some("alice \"quoted\"\n")
        );
        assert_eq!(odd.and_then(|c| c.bytes_out), None);
        assert_eq!(odd.and_then(|c| c.bytes_in), Some(0));
        assert_eq!(odd.map(|c| c.at_us), Some(1_700_000_000_000_001));
    }

    #[test]
    fn repeated_calls_compress_several_fold() {
        let calls: Vec<Call> = (0..2000).map(call).collect();
        let body = encode(calls.iter()).unwrap_or_default();
        let json: usize = calls
            .iter()
            .map(|c| serde_json::to_vec(&entry(c)).map_or(0, |v| v.len() + 1))
            .sum();
        assert!(body.len() * 4 < json, "{} of {json}", body.len());
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_panic() {
        let body = encode((0..10).map(call).collect::<Vec<_>>().iter()).unwrap_or_default();
        assert!(decode(1, "n", 2, &body).is_err());
        assert!(decode(1, "n", LZ4_JSON_LINES, &[]).is_err());
        assert!(decode(1, "n", LZ4_JSON_LINES, &[1, 2]).is_err());
        // A length far beyond any block: refused before anything is allocated.
        assert!(decode(1, "n", LZ4_JSON_LINES, &[0xff, 0xff, 0xff, 0x7f, 0]).is_err());
        let mut cut = body.clone();
        cut.truncate(body.len() / 2);
        assert!(decode(1, "n", LZ4_JSON_LINES, &cut).is_err());
        for i in 4..body.len() {
            let mut flipped = body.clone();
            if let Some(b) = flipped.get_mut(i) {
                *b ^= 0x5a;
            }
            // Either an error or calls: never a panic.
            let _ = decode(1, "n", LZ4_JSON_LINES, &flipped);
        }
    }
}
