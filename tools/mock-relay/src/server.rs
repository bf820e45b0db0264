//! Accept loop shared by both listeners: one HTTP/1.1 connection task per client,
//! over plain TCP or, for the relay listener when configured, TLS.

use std::future::Future;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::http::{self, ConnectionCut, Resp};

/// A client that connects and never finishes the handshake is dropped after this.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// TLS for a listener; `log_failures` prints failed handshakes (a client that
/// distrusts the certificate) to stderr, for `--verbose`.
#[derive(Clone)]
pub struct Tls {
    pub acceptor: TlsAcceptor,
    pub log_failures: bool,
}

/// Serves `listener` until this future is dropped. Each accepted connection
/// is closed as soon as `shutdown` is signalled (or its sender dropped), so a
/// relay that stops listening leaves no keep-alive connection answering; the
/// sender's `closed()` tells when they are all gone.
pub async fn serve<H, F>(
    listener: TcpListener,
    tls: Option<Tls>,
    handler: H,
    shutdown: watch::Receiver<()>,
) where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(e) => {
                // Usually out of file descriptors: back off instead of spinning.
                eprintln!("mock-relay: accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Small SSE frames must leave at once, not wait for Nagle.
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let mut shutdown = shutdown.clone();
        let tls = tls.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = serve_stream(stream, tls, handler) => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}

async fn serve_stream<H, F>(stream: tokio::net::TcpStream, tls: Option<Tls>, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    let Some(tls) = tls else {
        return serve_connection(stream, handler).await;
    };
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.acceptor.accept(stream)).await {
        Ok(Ok(tls_stream)) => serve_connection(tls_stream, handler).await,
        Ok(Err(e)) if tls.log_failures => eprintln!("mock-relay: TLS handshake failed: {e}"),
        Err(_) if tls.log_failures => eprintln!("mock-relay: TLS handshake timed out"),
        _ => {}
    }
}

async fn serve_connection<IO, H, F>(io: IO, handler: H)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Resp> + Send + 'static,
{
    let service = service_fn(move |req| {
        let answer = handler(req);
        async move {
            let resp = answer.await;
            // A service error makes hyper drop the connection without writing anything.
            if http::is_close_without_answer(&resp) {
                return Err(ConnectionCut);
            }
            Ok(resp)
        }
    });
    // Client errors (resets, bad requests) and injected cuts end the connection; nothing to report.
    let _ = http1::Builder::new()
        .timer(TokioTimer::new())
        .serve_connection(TokioIo::new(io), service)
        .await;
}
