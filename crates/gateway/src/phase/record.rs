//! Phase 8: what a request leaves behind — the route's metrics, the call log's record, and
//! the access log's line. What they need of the request is taken before the request is
//! consumed ([`Record::start`]); the rest comes from the context when it is done.

use std::sync::Arc;
use std::time::Instant;

use candor_proto::Code;
use http::{HeaderValue, Method, Request, Response};

use super::Ctx;
use crate::{Body, State};

/// What the call log needs of a request, taken before the request is consumed.
struct CallStart {
    at_us: i64,
    method: Arc<str>,
    path: Box<str>,
    bytes_in: Option<u64>,
    request_id: Option<Box<str>>,
    trace: Option<candor_calls::trace::Trace>,
}

impl CallStart {
    fn of<B: http_body::Body>(req: &Request<B>, log: &candor_calls::CallLog) -> CallStart {
        CallStart {
            at_us: candor_calls::record::now_us(),
            method: candor_calls::record::method(req.method().as_str()),
            path: candor_calls::record::path_only(req.uri().path()),
            bytes_in: req.body().size_hint().exact(),
            request_id: candor_calls::record::request_id(
                req.headers().get("x-request-id").map(HeaderValue::as_bytes),
            ),
            trace: log.recorder.traces().then(|| {
                candor_calls::trace::Trace::start(
                    req.headers().get("traceparent").map(HeaderValue::as_bytes),
                )
            }),
        }
    }
}

/// A request being recorded.
pub struct Record {
    started: Instant,
    call: Option<CallStart>,
    /// For the access log: method, path, request id.
    access: Option<(Method, Box<str>, Option<String>)>,
}

impl Record {
    /// Starts the record of `req` (and gives the call's trace to the request, whose upstream
    /// is sent this call's span as its parent).
    pub fn start<B: http_body::Body>(state: &State, req: &mut Request<B>) -> Record {
        let started = Instant::now();
        let call = state.calls.as_ref().map(|log| CallStart::of(req, log));
        if let Some(trace) = call.as_ref().and_then(|c| c.trace) {
            req.extensions_mut().insert(trace);
        }
        let access = state.access_log.then(|| {
            (
                req.method().clone(),
                candor_calls::record::path_only(req.uri().path()),
                req.headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string),
            )
        });
        Record {
            started,
            call,
            access,
        }
    }

    /// Records the request's outcome.
    pub fn finish(self, ctx: &Ctx<'_>, response: &Response<Body>) {
        let state = ctx.state;
        let elapsed = self.started.elapsed();
        let status = response.status().as_u16();
        if let Some((method, path, request_id)) = &self.access {
            candor_calls::access::log(&candor_calls::access::Line {
                source: candor_calls::Source::Gateway,
                route: ctx.route.map_or("-", |r| &r.name),
                method: method.as_str(),
                path,
                status,
                elapsed,
                client: ctx.identity.as_deref().and_then(|i| i.client_id.as_deref()),
                diagnosis: ctx.diagnosis.map(Code::as_str),
                request_id: request_id.as_deref(),
            });
        }
        ctx.route.map_or(&*state.no_route, |r| &*r.metrics).record(
            status,
            ctx.diagnosis.map_or("", Code::as_str),
            elapsed,
        );
        if let (Some(log), Some(call)) = (&state.calls, self.call) {
            log.recorder.record(candor_calls::Call {
                at_us: call.at_us,
                source: candor_calls::Source::Gateway,
                route: ctx.route.map_or_else(|| Arc::from("-"), |r| r.name.clone()),
                method: call.method,
                path: call.path,
                status,
                latency_us: u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX),
                upstream: ctx.upstream.clone(),
                bytes_in: call.bytes_in,
                bytes_out: http_body::Body::size_hint(response.body()).exact(),
                principal: ctx.identity.as_ref().map(|i| i.principal()),
                diagnosis: ctx.diagnosis.map(Code::as_str),
                request_id: call.request_id,
                trace: call.trace,
            });
        }
    }
}
