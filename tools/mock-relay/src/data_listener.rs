//! The relay listener's life cycle: `refuse` closes the socket and kills its
//! connections (clients then get "connection refused"); un-refusing binds the
//! same address again. Changing TLS does both at once, so every connection
//! made after the change speaks the new way.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::relay;
use crate::server::{self, Tls};
use crate::state::AppState;

pub struct DataListener {
    addr: SocketAddr,
    state: Arc<AppState>,
    tls: Option<Tls>,
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
        tls: Option<Tls>,
        refused: bool,
    ) -> anyhow::Result<DataListener> {
        let listener = TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot bind relay listener {addr}"))?;
        let mut data = DataListener {
            addr: listener.local_addr()?,
            state,
            tls,
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

    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Switches TLS on, off or to another certificate. While serving, the socket
    /// and its connections are closed and the address bound again, as for
    /// `refuse` then un-refuse; returns once new connections get the new setting.
    pub async fn set_tls(&mut self, tls: Option<Tls>) -> anyhow::Result<()> {
        self.tls = tls;
        if self.serving.is_some() {
            self.set_refused(true).await?;
            self.set_refused(false).await?;
        }
        Ok(())
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
        let tls = self.tls.clone();
        Serving {
            accept_loop: tokio::spawn(server::serve(listener, tls, handler, shutdown_rx)),
            shutdown,
        }
    }
}
