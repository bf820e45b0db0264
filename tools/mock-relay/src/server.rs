//! Accept loop shared by both listeners: one HTTP/1.1 connection task per client.

use std::convert::Infallible;
use std::future::Future;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::Request;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::http::Resp;

/// Serves `listener` until this future is dropped. Each accepted connection
/// is closed as soon as `shutdown` is signalled (or its sender dropped), so a
/// relay that stops listening leaves no keep-alive connection answering; the
/// sender's `closed()` tells when they are all gone.
pub async fn serve<H, F>(listener: TcpListener, handler: H, shutdown: watch::Receiver<()>)
where
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
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let answer = handler(req);
                async move { Ok::<_, Infallible>(answer.await) }
            });
            let connection = http1::Builder::new()
                .timer(TokioTimer::new())
                .serve_connection(TokioIo::new(stream), service);
            tokio::select! {
                // Client errors (resets, bad requests) are the client's business.
                _ = connection => {}
                _ = shutdown.changed() => {}
            }
        });
    }
}
