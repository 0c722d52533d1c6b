//! Upgraded connections (WebSocket): once the upstream has switched protocols, the caller's
//! socket and the upstream's are spliced and the gateway no longer reads what crosses. A
//! tunnel holds two sockets and gives its connection slot back, so tunnels have bounds of their
//! own: at most `max_tunnels` at once (a permit each), closed after `idle_timeout` with no byte
//! moving either way, and after `max_lifetime` in any case.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// How long a tunnel may last.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub idle_timeout: Duration,
    pub max_lifetime: Duration,
}

/// A socket noting when bytes last arrived on it (milliseconds after the tunnel began).
struct Watched {
    inner: TokioIo<Upgraded>,
    start: Instant,
    last: Arc<AtomicU64>,
}

impl AsyncRead for Watched {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            let ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
            self.last.store(ms, Ordering::Relaxed);
        }
        polled
    }
}

impl AsyncWrite for Watched {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, data)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// Splices `caller` and `upstream` once both have upgraded, within `bounds`; `permit` is the
/// tunnel's slot, held until both sockets are closed.
pub async fn splice(
    caller: OnUpgrade,
    upstream: OnUpgrade,
    bounds: Bounds,
    permit: OwnedSemaphorePermit,
) {
    let (Ok(a), Ok(b)) = (caller.await, upstream.await) else {
        return;
    };
    let start = Instant::now();
    let last = Arc::new(AtomicU64::new(0));
    let mut a = Watched {
        inner: TokioIo::new(a),
        start,
        last: last.clone(),
    };
    let mut b = Watched {
        inner: TokioIo::new(b),
        start,
        last: last.clone(),
    };
    let copy = tokio::io::copy_bidirectional(&mut a, &mut b);
    tokio::pin!(copy);
    let end_of_life = start + bounds.max_lifetime;
    loop {
        let idle_until =
            start + Duration::from_millis(last.load(Ordering::Relaxed)) + bounds.idle_timeout;
        let wake = idle_until.min(end_of_life);
        tokio::select! {
            _ = &mut copy => break,
            () = tokio::time::sleep_until(wake) => {
                let now = Instant::now();
                let idle_until = start
                    + Duration::from_millis(last.load(Ordering::Relaxed))
                    + bounds.idle_timeout;
                if now >= end_of_life || now >= idle_until {
                    tracing::debug!(
                        lifetime = now >= end_of_life,
                        "tunnel closed by its bounds"
                    );
                    break;
                }
            }
        }
    }
    drop(permit);
}
