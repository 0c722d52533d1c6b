//! The pace a caller must keep when it sends a request body. A body that dribbles in holds a
//! connection slot, an upstream connection and a request in flight for as long as the caller
//! likes; the header timeout does not cover it. As Apache's mod_reqtimeout: the gateway waits
//! for a body at most `timeout`, plus one second for every `min_rate` bytes received — counting
//! only the time it waits on the caller, not the time the upstream takes to read.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

use crate::config::BodyPace;

/// Why a body stopped: it fell behind its pace.
#[derive(Debug, thiserror::Error)]
#[error("the request body arrived slower than the gateway allows")]
pub struct TooSlow;

/// A caller's request body, held to its pace.
pub struct Paced {
    inner: Incoming,
    pace: BodyPace,
    received: u64,
    /// Time spent waiting on the caller before the current wait.
    waited: Duration,
    /// When the current wait on the caller began.
    waiting_since: Option<Instant>,
    timer: Option<Pin<Box<Sleep>>>,
}

/// Whether the upstream request failed because the caller's body fell behind its pace (the
/// body's [`TooSlow`] is in the error's chain): the caller's fault, not the upstream's.
pub fn fell_behind(error: &hyper::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if e.is::<TooSlow>() {
            return true;
        }
        cause = e.source();
    }
    false
}

impl Paced {
    /// `inner` held to `pace`.
    pub fn new(inner: Incoming, pace: BodyPace) -> Paced {
        Paced {
            inner,
            pace,
            received: 0,
            waited: Duration::ZERO,
            waiting_since: None,
            timer: None,
        }
    }

    /// The time the caller may have kept the gateway waiting so far.
    fn allowance(&self) -> Duration {
        let rate = self.pace.min_rate.max(1);
        self.pace.timeout + Duration::from_millis(self.received.saturating_mul(1000) / rate)
    }
}

impl Body for Paced {
    type Data = Bytes;
    type Error = crate::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                if let Some(since) = this.waiting_since.take() {
                    this.waited += since.elapsed();
                }
                this.timer = None;
                if let Some(Ok(f)) = &frame
                    && let Some(data) = f.data_ref()
                {
                    this.received += data.len() as u64;
                }
                Poll::Ready(frame.map(|r| r.map_err(Into::into)))
            }
            Poll::Pending => {
                let since = *this.waiting_since.get_or_insert_with(Instant::now);
                let left = this.allowance().saturating_sub(this.waited);
                let deadline = since + left;
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.deadline() != deadline {
                    timer.as_mut().reset(deadline);
                }
                if timer.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(Some(Err(Box::new(TooSlow))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
