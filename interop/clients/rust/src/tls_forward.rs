//! A local HTTPS front for one Candor endpoint.
//!
//! The `oauth2` crate refuses a revocation endpoint that is not `https://` (RFC 7009 §2:
//! "Clients MUST verify that the URL is an HTTPS URL"), while the interop suite runs Candor on
//! plain loopback HTTP. So the revocation scenario points the crate at this forwarder: TLS with a
//! throw-away self-signed certificate for 127.0.0.1 (trusted only by this process's HTTP
//! client), each request passed on byte for byte (method, path, the headers that matter, body)
//! to Candor over HTTP, and Candor's answer passed back unchanged.

use std::sync::Arc;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Request headers passed on to Candor; the rest (Host, Content-Length, Connection) are the
/// forwarder's own business.
const PASSED_ON: [&str; 4] = ["authorization", "content-type", "accept", "user-agent"];
/// Response headers passed back.
const PASSED_BACK: [&str; 4] = [
    "content-type",
    "cache-control",
    "www-authenticate",
    "pragma",
];

pub struct Forwarder {
    /// `https://127.0.0.1:PORT`
    pub base: String,
    /// The certificate to trust (DER).
    pub certificate: Vec<u8>,
}

/// Starts the forwarder in front of `upstream` (e.g. `http://127.0.0.1:8080`).
pub async fn start(upstream: String) -> Result<Forwarder, String> {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_string()])
        .map_err(|e| format!("rcgen: {e}"))?;
    let cert_der: CertificateDer<'static> = certified.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(vec![cert_der.clone()], key)
        .map_err(|e| format!("rustls server config: {e}"))?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| format!("bind: {e}"))?;
    let port = listener.local_addr().map_err(|e| e.to_string())?.port();
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| format!("reqwest: {e}"))?;
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, http, upstream) = (acceptor.clone(), http.clone(), upstream.clone());
            tokio::spawn(async move {
                if let Err(e) = serve(acceptor, tcp, &http, &upstream).await {
                    eprintln!("[rust] tls forwarder: {e}");
                }
            });
        }
    });
    Ok(Forwarder {
        base: format!("https://127.0.0.1:{port}"),
        certificate: cert_der.to_vec(),
    })
}

async fn serve(
    acceptor: TlsAcceptor,
    tcp: TcpStream,
    http: &reqwest::Client,
    upstream: &str,
) -> Result<(), String> {
    let mut tls = acceptor
        .accept(tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    // One request per connection: read the head, then Content-Length bytes of body.
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 4096];
        let n = tls
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read: {e}"))?;
        if n == 0 {
            return Err("connection closed before the request head".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let mut lines = head.split("\r\n");
    let request_line = lines.next().unwrap_or_default();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or("GET"), parts.next().unwrap_or("/"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end..].to_vec();
    while body.len() < length {
        let mut chunk = [0u8; 4096];
        let n = tls
            .read(&mut chunk)
            .await
            .map_err(|e| format!("read body: {e}"))?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }

    let method = reqwest::Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let mut req = http
        .request(method, format!("{upstream}{target}"))
        .body(body);
    for (k, v) in headers
        .iter()
        .filter(|(k, _)| PASSED_ON.contains(&k.as_str()))
    {
        req = req.header(k, v);
    }
    let resp = req.send().await.map_err(|e| format!("upstream: {e}"))?;
    let status = resp.status();
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        status.as_u16(),
        status.canonical_reason().unwrap_or("")
    );
    for (k, v) in resp.headers() {
        if PASSED_BACK.contains(&k.as_str()) {
            out.push_str(&format!("{k}: {}\r\n", v.to_str().unwrap_or("")));
        }
    }
    let body = resp
        .bytes()
        .await
        .map_err(|e| format!("upstream body: {e}"))?;
    out.push_str(&format!(
        "content-length: {}\r\nconnection: close\r\n\r\n",
        body.len()
    ));
    tls.write_all(out.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    tls.write_all(&body).await.map_err(|e| e.to_string())?;
    tls.shutdown().await.map_err(|e| e.to_string())?;
    Ok(())
}
