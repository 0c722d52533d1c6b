//! One connection: TLS handshake, HTTP/1 or HTTP/2, and the watchdog that closes it when it
//! stalls.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::{HttpService, Limits, Peer, ResponseBody};

/// What every connection of a listener shares.
pub(crate) struct Context {
    pub builder: Arc<auto::Builder<TokioExecutor>>,
    pub limits: Arc<Limits>,
    pub stop: watch::Receiver<bool>,
}

/// The HTTP/1 and HTTP/2 settings of a listener.
pub(crate) fn builder(limits: &Limits) -> auto::Builder<TokioExecutor> {
    let mut b = auto::Builder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        // Request heads are timed by the watchdog (see `Activity`).
        .header_read_timeout(None)
        .max_buf_size(limits.max_header_bytes.max(8192))
        .keep_alive(true);
    b.http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.max_http2_streams)
        .max_header_list_size(u32::try_from(limits.max_header_bytes).unwrap_or(u32::MAX))
        // A peer that stops answering pings is gone; its streams are dropped.
        .keep_alive_interval(Some(limits.idle_timeout / 2))
        .keep_alive_timeout(limits.header_read_timeout);
    b
}

/// When bytes last moved, when the current request head began, and how many requests are in
/// flight: shared by the I/O wrapper, the service wrapper and the watchdog.
///
/// The watchdog, not hyper's own header timer, bounds HTTP/1 request heads: hyper starts that
/// timer as soon as a response is sent, so it would also close keep-alive connections after
/// `header_read_timeout` of idleness, far sooner than the reverse proxies and pools in front of
/// a server expect (they keep idle connections for a minute or more).
#[derive(Debug)]
struct Activity {
    start: Instant,
    /// Milliseconds after `start` when bytes last moved.
    last: AtomicU64,
    /// Milliseconds after `start` (plus one; zero for none) when the first byte arrived with no
    /// request in flight: an HTTP/1 request head being read.
    head_started: AtomicU64,
    in_flight: AtomicUsize,
    /// Requests that have begun on this connection.
    requests: AtomicU64,
    /// HTTP/2 multiplexes: pings and frames between requests are not a request head.
    http2: AtomicBool,
}

impl Activity {
    fn new() -> Arc<Activity> {
        Arc::new(Activity {
            start: Instant::now(),
            last: AtomicU64::new(0),
            head_started: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            requests: AtomicU64::new(0),
            http2: AtomicBool::new(false),
        })
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last.store(self.elapsed_ms(), Ordering::Relaxed);
    }

    fn received(&self) {
        let now = self.elapsed_ms();
        self.last.store(now, Ordering::Relaxed);
        if self.in_flight.load(Ordering::Relaxed) == 0 {
            let _ = self.head_started.compare_exchange(
                0,
                now.saturating_add(1),
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
        }
    }

    fn request_began(&self, http2: bool) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.head_started.store(0, Ordering::Relaxed);
        if http2 {
            self.http2.store(true, Ordering::Relaxed);
        }
    }

    fn at(&self, ms: u64) -> Instant {
        self.start + Duration::from_millis(ms)
    }

    /// What the watchdog should do now.
    fn verdict(&self, limits: &Limits) -> Verdict {
        if self.in_flight.load(Ordering::Relaxed) > 0 {
            // A request is running (a long poll, a slow upload): its own timeouts apply.
            return Verdict::Wait(Instant::now() + limits.idle_timeout);
        }
        let head = self.head_started.load(Ordering::Relaxed);
        let (deadline, expired) = if self.requests.load(Ordering::Relaxed) == 0 {
            // Not one request yet: the handshake and first head get header_read_timeout in
            // all, however slowly the bytes trickle in.
            (self.start + limits.header_read_timeout, Verdict::Stalled)
        } else if head != 0 && !self.http2.load(Ordering::Relaxed) {
            (
                self.at(head - 1) + limits.header_read_timeout,
                Verdict::Stalled,
            )
        } else {
            (
                self.at(self.last.load(Ordering::Relaxed)) + limits.idle_timeout,
                Verdict::Idle,
            )
        };
        if Instant::now() >= deadline {
            expired
        } else {
            Verdict::Wait(deadline)
        }
    }
}

/// The watchdog's reading of a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Look again at this instant.
    Wait(Instant),
    /// A request head (or the first one) is overdue: drop the connection.
    Stalled,
    /// Nothing in flight, nothing moving: close it gracefully.
    Idle,
}

/// The socket, noting every byte that moves.
struct Tracked<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T: AsyncRead + Unpin> AsyncRead for Tracked<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.received();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Tracked<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The service of one connection: adds the [`Peer`] extension and counts requests in flight.
#[derive(Clone)]
struct Counted<S> {
    inner: S,
    peer: Peer,
    activity: Arc<Activity>,
}

/// Decrements the in-flight count when the response future is done (or dropped).
struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
        self.0.touch();
    }
}

impl<S, B> hyper::service::Service<http::Request<hyper::body::Incoming>> for Counted<S>
where
    // `Response = …<B>` names `B`, which `HttpService<B>` alone would leave unconstrained.
    S: HttpService<B>
        + tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>,
{
    type Response = http::Response<B>;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>> + Send>>;

    fn call(&self, mut req: http::Request<hyper::body::Incoming>) -> Self::Future {
        req.extensions_mut().insert(self.peer);
        self.activity
            .request_began(req.version() == http::Version::HTTP_2);
        let guard = InFlight(self.activity.clone());
        // tower services want poll_ready first; the services served here (axum routers) are
        // always ready, and a clone per request is how hyper-util bridges them too.
        let mut inner = self.inner.clone();
        Box::pin(async move {
            let response = tower::ServiceExt::oneshot(&mut inner, req).await;
            drop(guard);
            response
        })
    }
}

/// Serves one accepted connection to its end.
pub(crate) async fn run<S, B>(
    ctx: Context,
    stream: TcpStream,
    peer: SocketAddr,
    tls: Option<tokio_rustls::TlsAcceptor>,
    service: S,
) where
    S: HttpService<B>,
    B: ResponseBody,
{
    let _ = stream.set_nodelay(true);
    let activity = Activity::new();
    let io = Tracked {
        inner: stream,
        activity: activity.clone(),
    };
    let service = Counted {
        inner: service,
        peer: Peer(peer),
        activity: activity.clone(),
    };
    match tls {
        None => drive(ctx, io, service, activity).await,
        Some(acceptor) => {
            let handshake =
                tokio::time::timeout(ctx.limits.header_read_timeout, acceptor.accept(io)).await;
            match handshake {
                Ok(Ok(tls_stream)) => drive(ctx, tls_stream, service, activity).await,
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        }
    }
}

async fn drive<I, S, B>(mut ctx: Context, io: I, service: Counted<S>, activity: Arc<Activity>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<http::Request<hyper::body::Incoming>, Response = http::Response<B>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
    B: http_body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let builder = ctx.builder.clone();
    let conn = builder.serve_connection_with_upgrades(TokioIo::new(io), service);
    tokio::pin!(conn);
    let limits = ctx.limits.clone();
    // Once closing, the connection is dropped at this instant if it has not finished.
    let mut close_by: Option<Instant> = None;
    loop {
        let verdict = activity.verdict(&limits);
        let wake = match (close_by, verdict) {
            (Some(at), _) | (None, Verdict::Wait(at)) => at,
            (None, Verdict::Stalled) => {
                tracing::debug!("request head not received in time; connection dropped");
                return;
            }
            (None, Verdict::Idle) => {
                conn.as_mut().graceful_shutdown();
                // Nothing is in flight: a moment for HTTP/2's GOAWAY is enough.
                close_by = Some(Instant::now() + IDLE_CLOSE_GRACE.min(limits.shutdown_grace));
                continue;
            }
        };
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                }
                return;
            }
            changed = ctx.stop.changed(), if close_by.is_none() => {
                if changed.is_err() || *ctx.stop.borrow() {
                    conn.as_mut().graceful_shutdown();
                    close_by = Some(Instant::now() + limits.shutdown_grace);
                }
            }
            () = tokio::time::sleep_until(wake) => {
                if close_by.is_some_and(|at| Instant::now() >= at) {
                    tracing::debug!("connection still open after its grace period; dropped");
                    return;
                }
            }
        }
    }
}

/// How long a stalled or idle connection has to close after being told to.
const IDLE_CLOSE_GRACE: Duration = Duration::from_secs(1);
