//! Keep-alive HTTP/1.1 connections to one upstream, each driven by the request that uses it.
//!
//! A pooled client of the usual kind (hyper-util's) gives every upstream connection a task of
//! its own: a proxied request then crosses from the caller's connection task to the upstream
//! connection's task and back, twice (head, then body), each crossing a wake-up and often a
//! switch to the other worker thread. Here the connection is polled by whoever holds it — the
//! request while it waits for the response head, then the response body while the caller's
//! connection streams it out — so a request is served start to end by the caller's task, as
//! nginx serves it in one event loop. Measured in `bench/gateway/RESULTS.md`.
//!
//! A connection goes back to the pool when its response body has been read to the end; one
//! dropped earlier (the caller went away, an upgrade, an error) is closed. An idle connection
//! the upstream closed is noticed when it is next taken (one poll) and discarded; a request
//! that a reused connection could not even start sending is sent again on another one, so
//! the race between an upstream's keep-alive timeout and a new request costs no failure.
//!
//! At most `max_connections` connections to one upstream are open at once, idle ones
//! included: callers multiplexing many HTTP/2 streams cannot make the gateway open a socket
//! each. Past the cap a request waits (up to its route's connect timeout) for one to come
//! free, taking an idle one of another event loop's pool if there is one.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use hyper::client::conn::http1;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tower::Service;

use crate::per_thread::PerThread;

/// The body sent upstream: the caller's, streamed at the pace it must keep; or none.
pub type UpstreamBody = http_body_util::Either<crate::pace::Paced, http_body_util::Empty<Bytes>>;
/// Opens a connection to an upstream: TCP (connect timeout, `TCP_NODELAY`), then TLS for
/// `https://` upstreams.
pub type Connector = HttpsConnector<HttpConnector>;

/// The connection's state machine, with upgrades (hyper's type for it cannot be named).
type Driver = dyn Future<Output = hyper::Result<()>> + Send;

/// Idle connections kept per upstream, at most.
const MAX_IDLE: usize = 1024;
/// An idle connection older than this is closed rather than reused (below the keep-alive
/// timeouts servers commonly use: nginx 75 s, Apache 5 s is the exception a failed reuse
/// covers).
const IDLE_TIMEOUT: Duration = Duration::from_secs(50);

/// Why a request got no response.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// No connection could be opened: nothing was sent, another upstream may be tried.
    #[error("connect: {0}")]
    Connect(crate::BoxError),
    /// The connection failed once the request was (or may have been) sent.
    #[error("{0}")]
    Request(#[from] hyper::Error),
    /// Every connection the upstream may have is busy: nothing was sent.
    #[error("every connection to the upstream is busy")]
    Busy,
}

/// One connection: the handle requests are sent on and the state machine that reads and
/// writes the socket, polled by the holder.
struct Conn {
    sender: http1::SendRequest<UpstreamBody>,
    driver: Pin<Box<Driver>>,
    /// The state machine has finished (closed, failed, or handed over by an upgrade); it is
    /// never polled again.
    over: bool,
    /// The connection's share of the upstream's `max_connections`.
    _slot: OwnedSemaphorePermit,
}

impl Conn {
    /// Polls the socket's state machine once; false when the connection is over.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.over && self.driver.as_mut().poll(cx).is_ready() {
            self.over = true;
        }
        !self.over
    }
}

struct Idle {
    conn: Conn,
    since: Instant,
}

/// The idle connections to one upstream, one pool per event-loop thread: a connection's
/// socket is registered with the runtime of the thread that opened it, and is only used there.
pub struct Connections {
    idle: PerThread<Mutex<Vec<Idle>>>,
    /// One permit per connection that may be open.
    slots: Arc<Semaphore>,
    /// Requests waiting for a permit: while there are any, a connection that comes free is
    /// closed (its permit goes to the longest waiter) rather than pooled, where only requests
    /// arriving later would find it.
    waiting: AtomicUsize,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("idle", &self.idle_count())
            .finish()
    }
}

impl Connections {
    /// Pools for `threads` event loops (and one for callers off them, such as health checks),
    /// with at most `max` connections open at once.
    pub fn new(threads: usize, max: usize) -> Connections {
        Connections {
            idle: PerThread::new(threads, Mutex::default),
            slots: Arc::new(Semaphore::new(max.max(1))),
            waiting: AtomicUsize::new(0),
        }
    }

    /// A permit to open one more connection: at once if one is free; else by closing an idle
    /// connection of another event loop's pool; else the first to come free within `wait`.
    async fn slot(&self, wait: Duration) -> Result<OwnedSemaphorePermit, SendError> {
        if let Ok(p) = self.slots.clone().try_acquire_owned() {
            return Ok(p);
        }
        for shard in self.idle.iter() {
            let spare = shard.lock().ok().and_then(|mut idle| {
                // The oldest: the least likely to be wanted again soon.
                (!idle.is_empty()).then(|| idle.remove(0))
            });
            if let Some(spare) = spare {
                drop(spare);
                if let Ok(p) = self.slots.clone().try_acquire_owned() {
                    return Ok(p);
                }
            }
        }
        self.waiting.fetch_add(1, Ordering::Relaxed);
        let acquired = tokio::time::timeout(wait, self.slots.clone().acquire_owned()).await;
        self.waiting.fetch_sub(1, Ordering::Relaxed);
        match acquired {
            Ok(Ok(p)) => Ok(p),
            _ => Err(SendError::Busy),
        }
    }

    pub fn idle_count(&self) -> usize {
        self.idle
            .iter()
            .map(|i| i.lock().map(|i| i.len()).unwrap_or(0))
            .sum()
    }

    /// This thread's pool.
    fn shard(&self) -> &Mutex<Vec<Idle>> {
        self.idle.get()
    }

    /// The most recently used idle connection that is still ready for a request.
    async fn take_idle(&self) -> Option<Conn> {
        loop {
            let Idle { mut conn, since } = self.shard().lock().ok()?.pop()?;
            if since.elapsed() > IDLE_TIMEOUT {
                continue;
            }
            let ready = poll_fn(|cx| {
                Poll::Ready(
                    conn.drive(cx) && matches!(conn.sender.poll_ready(cx), Poll::Ready(Ok(()))),
                )
            })
            .await;
            if ready {
                return Some(conn);
            }
        }
    }

    fn put_back(&self, conn: Conn) {
        if self.waiting.load(Ordering::Relaxed) > 0 {
            // Closed: its slot goes to a request that waits for one.
            return;
        }
        if let Ok(mut idle) = self.shard().lock()
            && idle.len() < MAX_IDLE
        {
            idle.push(Idle {
                conn,
                since: Instant::now(),
            });
        }
    }

    async fn connect(
        connector: &Connector,
        target: &Uri,
        slot: OwnedSemaphorePermit,
    ) -> Result<Conn, SendError> {
        let io = connector
            .clone()
            .call(target.clone())
            .await
            .map_err(SendError::Connect)?;
        let (sender, conn) = http1::Builder::new()
            .handshake(io)
            .await
            .map_err(|e| SendError::Connect(Box::new(e)))?;
        let mut conn = Conn {
            sender,
            driver: Box::pin(conn.with_upgrades()),
            over: false,
            _slot: slot,
        };
        // The handshake of HTTP/1 sends nothing; the first poll readies the handle.
        let ready = poll_fn(|cx| {
            if !conn.drive(cx) {
                return Poll::Ready(false);
            }
            conn.sender.poll_ready(cx).map(|r| r.is_ok())
        })
        .await;
        if ready {
            Ok(conn)
        } else {
            Err(SendError::Connect(
                "the upstream closed the connection at once".into(),
            ))
        }
    }

    /// A connection to the upstream at `target` (scheme and authority): an idle one, or a
    /// new one (waiting up to `wait` for room under the cap). A failure here sent nothing:
    /// another upstream may be tried.
    pub async fn checkout<'a>(
        self: &Arc<Self>,
        connector: &'a Connector,
        target: &'a Uri,
        wait: Duration,
    ) -> Result<Checkout<'a>, SendError> {
        let (conn, reused) = match self.take_idle().await {
            Some(c) => (c, true),
            None => {
                let slot = self.slot(wait).await?;
                (Self::connect(connector, target, slot).await?, false)
            }
        };
        Ok(Checkout {
            conn,
            reused,
            home: self.clone(),
            connector,
            target,
        })
    }
}

/// A connection taken for one request.
pub struct Checkout<'a> {
    conn: Conn,
    reused: bool,
    home: Arc<Connections>,
    connector: &'a Connector,
    target: &'a Uri,
}

impl Checkout<'_> {
    /// Sends `req` (origin-form URI, `Host` set) and waits for the response head. The
    /// response's body drives the connection until it is read; an upgrade (101) hands the
    /// connection over to `hyper::upgrade::on(response)`.
    pub async fn send(self, mut req: Request<UpstreamBody>) -> Result<Response<Driven>, SendError> {
        let Checkout {
            mut conn,
            mut reused,
            home,
            connector,
            target,
        } = self;
        let upgrade = req.headers().contains_key(http::header::UPGRADE);
        loop {
            let mut response = Box::pin(conn.sender.try_send_request(req));
            // The state machine first (it writes the request, reads the answer), then the
            // answer; a connection that ends has resolved the answer, with an error if need be.
            let answer = poll_fn(|cx| {
                conn.drive(cx);
                response.as_mut().poll(cx)
            })
            .await;
            match answer {
                Ok(head) => {
                    let conn = if upgrade && head.status() == http::StatusCode::SWITCHING_PROTOCOLS
                    {
                        // The upgrade completes when the state machine hands the socket over
                        // (it may have on the last poll already).
                        if !conn.over {
                            tokio::spawn(async move {
                                let _ = conn.driver.await;
                            });
                        }
                        None
                    } else {
                        Some(conn)
                    };
                    return Ok(head.map(|body| Driven {
                        body,
                        conn,
                        home,
                        ended: false,
                    }));
                }
                Err(mut e) => match e.take_message() {
                    // Not sent at all, on a connection the upstream had closed meanwhile: the
                    // same request again, on another idle connection or a new one.
                    Some(unsent) if reused => {
                        req = unsent;
                        // The dead connection's slot goes to its replacement.
                        let Conn { _slot: slot, .. } = conn;
                        (conn, reused) = match home.take_idle().await {
                            Some(c) => (c, true),
                            None => (Connections::connect(connector, target, slot).await?, false),
                        };
                    }
                    _ => return Err(SendError::Request(e.into_error())),
                },
            }
        }
    }
}

/// An upstream response's body, driving its connection while it is read and returning the
/// connection to the pool once it has been read to the end.
pub struct Driven {
    body: Incoming,
    conn: Option<Conn>,
    home: Arc<Connections>,
    ended: bool,
}

impl Body for Driven {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        if let Some(conn) = &mut this.conn
            && !conn.drive(cx)
        {
            this.conn = None;
        }
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = frame {
            this.ended = true;
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for Driven {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take()
            && (self.ended || self.body.is_end_stream())
        {
            // One more step of the state machine, so that it has seen the end of the message
            // and is idle when it is next taken (that poll brings the real waker); one that
            // ended here is not pooled.
            let mut cx = Context::from_waker(std::task::Waker::noop());
            if conn.drive(&mut cx) {
                self.home.put_back(conn);
            }
        }
    }
}
