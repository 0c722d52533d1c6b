//! Serving HTTP with every resource a peer can make the process hold bounded.
//!
//! `axum::serve` keeps a connection for as long as the peer likes: a socket that sends half a
//! request, or nothing, stays open forever, and a thousand of them exhaust the file
//! descriptors. [`serve`] is the accept loop the authorization server (and the gateway) use
//! instead:
//!
//! * at most [`Limits::max_connections`] connections at once; at the cap the loop stops
//!   accepting (the kernel's backlog holds the rest) until one closes;
//! * at most [`Limits::max_connections_per_address`] of them from one address (an IPv6 /64
//!   counts as one), so that one peer cannot take every slot; a connection past it is closed
//!   as soon as it is accepted;
//! * a new connection must complete its TLS handshake and deliver its first request head within
//!   [`Limits::header_read_timeout`]; every later HTTP/1 request head too (hyper's own timer);
//! * a connection with no request in flight and no bytes moving for
//!   [`Limits::idle_timeout`] is closed;
//! * HTTP/1.1 and HTTP/2 (negotiated by ALPN over TLS, by preface in the clear), with a cap on
//!   concurrent HTTP/2 streams and on header sizes;
//! * graceful shutdown: stop accepting, let in-flight requests finish for
//!   [`Limits::shutdown_grace`], then close what remains.
//!
//! Handlers can read the peer's address from the request's [`Peer`] extension.

mod address;
mod conn;
mod fd;
mod threads;
mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};

pub use fd::{FdLimit, raise_fd_limit};
pub use threads::{default_threads, serve_threads, worker};
pub use tls::{TlsError, load_tls};

/// The address of the peer a request came from, as a request extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Peer(pub SocketAddr);

/// What one listener allows. The defaults suit a public endpoint on a small machine.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connections open at once, all peers together.
    pub max_connections: usize,
    /// Connections open at once from one address (IPv6: one /64); 0 for no such cap.
    pub max_connections_per_address: usize,
    /// Peers the per-address cap does not apply to (trusted proxies, a load balancer).
    pub per_address_exempt: Vec<ipnet::IpNet>,
    /// Time a connection has for its TLS handshake and first request head, and an HTTP/1
    /// request for its head.
    pub header_read_timeout: Duration,
    /// A connection with nothing in flight and no bytes moving for this long is closed.
    pub idle_timeout: Duration,
    /// Largest request head (request line and headers), in bytes.
    pub max_header_bytes: usize,
    /// Concurrent streams on one HTTP/2 connection.
    pub max_http2_streams: u32,
    /// How long in-flight requests may run on after shutdown begins.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            max_connections_per_address: 256,
            per_address_exempt: Vec::new(),
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
            max_header_bytes: 64 * 1024,
            max_http2_streams: 128,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// The connection limits as a configuration file writes them (`max_connections = 4096`,
/// `header_read_timeout = "10s"`, `idle_timeout = "60s"`); unset keys keep the defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct LimitsConfig<'a> {
    pub max_connections: Option<usize>,
    /// `0` turns the cap off.
    pub max_connections_per_address: Option<usize>,
    pub header_read_timeout: Option<&'a str>,
    pub idle_timeout: Option<&'a str>,
}

/// A limit the configuration gets wrong: the key and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {why}")]
pub struct LimitsError {
    pub key: &'static str,
    pub why: String,
}

impl Limits {
    /// The limits a configuration asks for, checked: every server of Candor (the
    /// authorization server, the gateway) reads its keys through this one function.
    pub fn from_config(c: LimitsConfig<'_>) -> Result<Limits, LimitsError> {
        let mut l = Limits::default();
        if let Some(n) = c.max_connections {
            if n == 0 {
                return Err(LimitsError {
                    key: "max_connections",
                    why: "must be at least 1".into(),
                });
            }
            l.max_connections = n;
        }
        if let Some(n) = c.max_connections_per_address {
            l.max_connections_per_address = n;
        }
        if l.max_connections_per_address > l.max_connections {
            l.max_connections_per_address = l.max_connections;
        }
        let duration = |key: &'static str, value: Option<&str>, default: Duration| match value {
            None => Ok(default),
            Some(v) => match humantime::parse_duration(v) {
                Ok(d) if d.is_zero() => Err(LimitsError {
                    key,
                    why: "must be longer than zero".into(),
                }),
                Ok(d) => Ok(d),
                Err(_) => Err(LimitsError {
                    key,
                    why: format!("'{v}' is not a duration (e.g. \"10s\", \"2m\")"),
                }),
            },
        };
        l.header_read_timeout = duration(
            "header_read_timeout",
            c.header_read_timeout,
            l.header_read_timeout,
        )?;
        l.idle_timeout = duration("idle_timeout", c.idle_timeout, l.idle_timeout)?;
        Ok(l)
    }

    /// Lowers `max_connections` so that it fits in `fds` file descriptors with `reserve` left
    /// for everything else (database, log files, upstream sockets). Returns whether it did.
    pub fn fit_to_fd_limit(&mut self, fds: u64, reserve: u64) -> bool {
        let room = usize::try_from(fds.saturating_sub(reserve)).unwrap_or(usize::MAX);
        let room = room.max(16);
        if self.max_connections > room {
            self.max_connections = room;
            true
        } else {
            false
        }
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What [`serve`] serves: a cloneable tower service from hyper's requests to responses (an
/// axum `Router`, say).
pub trait HttpService<B>:
    tower::Service<
        http::Request<hyper::body::Incoming>,
        Response = http::Response<B>,
        Error: Into<BoxError> + Send + 'static,
        Future: Send + 'static,
    > + Clone
    + Send
    + 'static
{
}

impl<S, B> HttpService<B> for S where
    S: tower::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<B>,
            Error: Into<BoxError> + Send + 'static,
            Future: Send + 'static,
        > + Clone
        + Send
        + 'static
{
}

/// A response body [`serve`] can send.
pub trait ResponseBody:
    http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static
{
}

impl<B> ResponseBody for B where
    B: http_body::Body<Data: Send, Error: Into<BoxError>> + Send + 'static
{
}

/// Serves `service` on `listener` (over TLS when `tls` is given) until `shutdown` resolves, then
/// drains gracefully. Each connection gets a clone of `service`.
pub async fn serve<S, B>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    S: HttpService<B>,
    B: ResponseBody,
{
    accept_loop(
        listener,
        tls,
        service,
        limits,
        shutdown,
        |stream, peer, conn| {
            tokio::spawn(conn.run(stream, peer));
        },
    )
    .await
}

/// An accepted connection's share of the listener: its settings, its service, and the slot
/// it holds until it closes.
pub(crate) struct Accepted<S> {
    ctx: conn::Context,
    acceptor: Option<tokio_rustls::TlsAcceptor>,
    service: S,
    slot: tokio::sync::OwnedSemaphorePermit,
    /// The peer's share of the per-address cap, given back when the connection closes.
    _address: Option<address::Held>,
}

impl<S> Accepted<S> {
    /// Serves the connection to its end, then gives its slot back.
    pub(crate) async fn run<B>(self, stream: tokio::net::TcpStream, peer: SocketAddr)
    where
        S: HttpService<B>,
        B: ResponseBody,
    {
        conn::run(self.ctx, stream, peer, self.acceptor, self.service).await;
        drop(self.slot);
    }
}

/// Accepts connections while there is a slot for them (`max_connections`) and hands each to
/// `dispatch`, until `shutdown`; then waits (at most the grace period) until every slot is
/// back.
pub(crate) async fn accept_loop<S, B>(
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    service: S,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
    mut dispatch: impl FnMut(tokio::net::TcpStream, SocketAddr, Accepted<S>),
) -> std::io::Result<()>
where
    S: HttpService<B>,
    B: ResponseBody,
{
    let limits = Arc::new(limits);
    let builder = Arc::new(conn::builder(&limits));
    let acceptor = tls.map(tokio_rustls::TlsAcceptor::from);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let per_address = address::Counts::new(
        limits.max_connections_per_address,
        limits.per_address_exempt.clone(),
    );
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);

    loop {
        let slot = tokio::select! {
            permit = slots.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning; the connection that
                    // failed stays in the backlog.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let held = match per_address.take(peer.ip()) {
            Ok(held) => held,
            Err(()) => {
                // Past its address's share: closed at once, its slot free for others.
                tracing::debug!(%peer, "connection refused: too many from this address");
                drop(stream);
                continue;
            }
        };
        let accepted = Accepted {
            ctx: conn::Context {
                builder: builder.clone(),
                limits: limits.clone(),
                stop: stop_rx.clone(),
            },
            acceptor: acceptor.clone(),
            service: service.clone(),
            slot,
            _address: held,
        };
        dispatch(stream, peer, accepted);
    }

    // Graceful shutdown: every connection finishes what it has in flight, then closes; the
    // slots all come back when the last one is gone.
    let _ = stop_tx.send(true);
    drop(listener);
    let total = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(
        limits.shutdown_grace + Duration::from_secs(1),
        slots.acquire_many(total),
    )
    .await;
    if drained.is_err() {
        tracing::warn!("connections still open after the shutdown grace period; closing them");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_limits_are_checked() {
        let l = Limits::from_config(LimitsConfig {
            max_connections: Some(10),
            max_connections_per_address: None,
            header_read_timeout: Some("3s"),
            idle_timeout: None,
        });
        assert_eq!(l.as_ref().map(|l| l.max_connections).ok(), Some(10));
        assert_eq!(
            l.map(|l| l.header_read_timeout).ok(),
            Some(Duration::from_secs(3))
        );
        let key = |c: LimitsConfig<'_>| Limits::from_config(c).err().map(|e| e.key);
        assert_eq!(
            key(LimitsConfig {
                max_connections: Some(0),
                ..Default::default()
            }),
            Some("max_connections")
        );
        assert_eq!(
            key(LimitsConfig {
                idle_timeout: Some("0s"),
                ..Default::default()
            }),
            Some("idle_timeout")
        );
        assert_eq!(
            key(LimitsConfig {
                header_read_timeout: Some("soon"),
                ..Default::default()
            }),
            Some("header_read_timeout")
        );
    }

    #[test]
    fn fitting_to_the_fd_limit_keeps_a_reserve() {
        let mut l = Limits::default();
        assert!(l.fit_to_fd_limit(1024, 256));
        assert_eq!(l.max_connections, 768);
        assert!(!l.fit_to_fd_limit(1_000_000, 256));
        assert_eq!(l.max_connections, 768);
        assert!(l.fit_to_fd_limit(10, 256));
        assert_eq!(l.max_connections, 16);
    }
}
