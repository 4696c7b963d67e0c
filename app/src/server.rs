//! The connection loop. poem's own `Server` leaves hyper's HTTP/1 header read timeout
//! off (a slowloris can hold connections forever), so Hearth drives hyper directly:
//! header read timeout on, keep-alive, and a graceful shutdown that stops accepting,
//! lets in-flight requests finish within a bound, then returns.

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use poem::endpoint::BoxEndpoint;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, Response};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

pub struct ServerOptions {
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long in-flight requests get to finish once shutdown starts.
    pub shutdown_timeout: Duration,
}

/// Serves `endpoint` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static, Response>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) {
    let endpoint = Arc::new(endpoint);
    let local = listener.local_addr().ok();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);

    loop {
        let (stream, remote) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let endpoint = endpoint.clone();
        let service = hyper::service::service_fn(move |req| {
            let endpoint = endpoint.clone();
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(local.map(Addr::SocketAddr).unwrap_or_default()),
                    RemoteAddr(Addr::SocketAddr(remote)),
                    poem::http::uri::Scheme::HTTP,
                ));
                let resp = endpoint.get_response(req).await;
                Ok::<_, Infallible>(hyper::Response::from(resp))
            }
        });
        let conn = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
        });
    }

    drop(listener);
    tracing::info!("shutting down: no longer accepting, draining in-flight requests");
    if tokio::time::timeout(options.shutdown_timeout, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            timeout_secs = options.shutdown_timeout.as_secs_f32(),
            "drain timed out; closing remaining connections"
        );
    }
}
