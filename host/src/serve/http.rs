//! Connections: the listener, HTTP/1.1 with hyper, timeouts, a cap on open connections, and graceful
//! shutdown on SIGTERM / SIGINT.
//!
//! Owns the transport limits — [`HEADER_READ_TIMEOUT`] for a request's headers (hyper closes the connection
//! past it), [`MAX_HEADER_BYTES`] of headers, [`MAX_CONNECTIONS`] open connections — and the shutdown order:
//! stop accepting, let every open connection finish the request it is in (idle keep-alive connections are
//! closed at once), give up after [`DRAIN_LIMIT`]. It must never look inside a request (that is
//! [`super::routes`]) nor run a run.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpSocket};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::Semaphore;

use super::State;
use super::config::{DRAIN_LIMIT, HEADER_READ_TIMEOUT, MAX_CONNECTIONS};
use crate::Failure;

/// Largest request head (request line and headers) read.
pub const MAX_HEADER_BYTES: usize = 64 << 10;
/// Pending connections the kernel keeps while all [`MAX_CONNECTIONS`] are busy.
const BACKLOG: u32 = 1024;

/// Binds `addr` (must be called inside the runtime).
pub fn bind(addr: SocketAddr) -> Result<TcpListener, Failure> {
    let refuse = |e: std::io::Error| {
        Failure::new(
            "SERVE_CONFIG",
            format!("cannot listen on {addr}: {e} (is another process using the port?)"),
        )
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(refuse)?;
    // A restarted server can bind at once although its previous connections are in TIME_WAIT.
    socket.set_reuseaddr(true).map_err(refuse)?;
    socket.bind(addr).map_err(refuse)?;
    socket.listen(BACKLOG).map_err(refuse)
}

/// SIGTERM and SIGINT, registered at start-up (before the server says it is listening).
pub struct StopSignal {
    term: Signal,
    int: Signal,
}

impl StopSignal {
    /// Registers the handlers (must be called inside the runtime).
    pub fn install() -> Result<StopSignal, Failure> {
        let install = |kind: SignalKind| {
            signal(kind).map_err(|e| Failure::new("SERVE_CONFIG", format!("cannot handle signals: {e}")))
        };
        Ok(StopSignal {
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
        })
    }

    async fn wait(mut self) {
        tokio::select! {
            _ = self.term.recv() => tracing::info!("SIGTERM: stopping"),
            _ = self.int.recv() => tracing::info!("SIGINT: stopping"),
        }
    }
}

/// Accepts connections and serves them until `stop`; then drains.
pub async fn serve(listener: TcpListener, state: Arc<State>, stop: StopSignal) {
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let stop = stop.wait();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut stop => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, for example: wait a little instead of spinning.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let conn_state = state.clone();
        let service = hyper::service::service_fn(move |req| {
            let state = conn_state.clone();
            async move { Ok::<_, Infallible>(super::routes::handle(state, req).await) }
        });
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_READ_TIMEOUT)
            .max_buf_size(MAX_HEADER_BYTES)
            .keep_alive(true);
        let conn = graceful.watch(builder.serve_connection(TokioIo::new(stream), service));
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(%peer, "connection ended: {e}");
            }
            drop(permit);
        });
    }
    // Stop accepting: new clients are refused by the kernel from here on.
    drop(listener);
    tokio::select! {
        _ = graceful.shutdown() => tracing::info!("every connection finished"),
        _ = tokio::time::sleep(DRAIN_LIMIT) => {
            tracing::warn!("connections still open after {} s; stopping anyway", DRAIN_LIMIT.as_secs());
        }
    }
}
