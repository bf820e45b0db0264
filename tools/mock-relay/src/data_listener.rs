//! The relay listener's life cycle: `refuse` closes the socket and kills its
//! connections (clients then get "connection refused"); un-refusing binds the
//! same address again.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::relay;
use crate::server;
use crate::state::AppState;

pub struct DataListener {
    addr: SocketAddr,
    state: Arc<AppState>,
    /// While serving: the accept loop, and the signal that closes its connections.
    serving: Option<Serving>,
}

struct Serving {
    accept_loop: JoinHandle<()>,
    shutdown: watch::Sender<()>,
}

/// Bounds how long refusing waits for connection tasks to notice; they only
/// need to be scheduled once, so this is never reached in practice.
const CLOSE_WAIT: Duration = Duration::from_secs(2);

impl DataListener {
    /// Binds `addr` (port 0 picks one) and serves unless `refused`. The bound
    /// address is kept either way so that un-refusing reuses the same port.
    pub async fn start(
        addr: SocketAddr,
        state: Arc<AppState>,
        refused: bool,
    ) -> anyhow::Result<DataListener> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind relay listener {addr}"))?;
        let mut data = DataListener {
            addr: listener.local_addr()?,
            state,
            serving: None,
        };
        if !refused {
            data.serving = Some(data.spawn(listener));
        }
        Ok(data)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Returns once the change is in effect, so a test may connect right after.
    pub async fn set_refused(&mut self, refused: bool) -> anyhow::Result<()> {
        match (refused, self.serving.take()) {
            (true, Some(serving)) => {
                serving.accept_loop.abort();
                // Awaiting the aborted task guarantees the listening socket is closed.
                let _ = serving.accept_loop.await;
                // No receivers left just means no connections: nothing to wait for.
                let _ = serving.shutdown.send(());
                let _ = tokio::time::timeout(CLOSE_WAIT, serving.shutdown.closed()).await;
            }
            (false, None) => {
                // Tokio sets SO_REUSEADDR, so the port's TIME_WAIT leftovers do not block this.
                let listener = TcpListener::bind(self.addr)
                    .await
                    .with_context(|| format!("cannot re-bind relay listener {}", self.addr))?;
                self.serving = Some(self.spawn(listener));
            }
            (_, unchanged) => self.serving = unchanged,
        }
        Ok(())
    }

    fn spawn(&self, listener: TcpListener) -> Serving {
        let state = Arc::clone(&self.state);
        let (shutdown, shutdown_rx) = watch::channel(());
        let handler = move |req| relay::serve_request(Arc::clone(&state), req);
        Serving {
            accept_loop: tokio::spawn(server::serve(listener, handler, shutdown_rx)),
            shutdown,
        }
    }
}
