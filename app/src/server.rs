//! The connection loop. poem's own `Server` leaves hyper's HTTP/1 header read timeout
//! off (a slowloris can hold connections forever), so Hearth drives hyper directly:
//! header read timeout on, keep-alive, and a graceful shutdown that stops accepting,
//! lets in-flight requests finish within a bound, then returns. With TLS configured each
//! connection is first taken through the rustls handshake, in its own task.
//!
//! At most `max_connections` connections are served at once (open keep-alive connections
//! count). One beyond that is still accepted, and every request on it is answered 503
//! `unavailable` (`Retry-After: 1`, `Connection: close`) by a responder that touches
//! nothing else, so a client is told rather than left hanging; only when as many again
//! are waiting for that answer is a further connection closed at once.

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use poem::endpoint::BoxEndpoint;
use poem::http::uri::Scheme;
use poem::web::{LocalAddr, RemoteAddr};
use poem::{Addr, Endpoint, EndpointExt, Response};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tokio_rustls::TlsAcceptor;

pub struct ServerOptions {
    /// How long a client may take to send a request's headers.
    pub header_read_timeout: Duration,
    /// How long in-flight requests get to finish once shutdown starts.
    pub shutdown_timeout: Duration,
    /// Serve HTTPS through this acceptor; `None` serves plain HTTP.
    pub tls: Option<TlsAcceptor>,
    /// Connections served at once; more are answered 503 (see the module docs).
    pub max_connections: usize,
}

/// Every request on a connection beyond `max_connections`: 503, then the connection ends.
fn overloaded() -> BoxEndpoint<'static, Response> {
    poem::endpoint::make_sync(|req: poem::Request| {
        let mut resp = kernel::Problem::new(kernel::ProblemCode::Unavailable)
            .with_detail("the server has as many connections as it serves at once; retry shortly")
            .with_retry_after(1)
            .render(
                Some(req.uri().path()),
                req.extensions()
                    .get::<kernel::RequestId>()
                    .map(|id| id.as_str()),
            );
        resp.headers_mut().insert(
            poem::http::header::CONNECTION,
            poem::http::HeaderValue::from_static("close"),
        );
        resp
    })
    .with(crate::http::RequestIds)
    .boxed()
}

type Builder = auto::Builder<TokioExecutor>;

/// Serves `endpoint` on `listener` until `shutdown` resolves, then drains.
pub async fn serve(
    listener: TcpListener,
    endpoint: BoxEndpoint<'static, Response>,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) {
    let endpoint = Arc::new(endpoint);
    let refuse = Arc::new(overloaded());
    let max = options.max_connections.max(1);
    let served = Arc::new(Semaphore::new(max));
    let refusing = Arc::new(Semaphore::new(max));
    let local = listener.local_addr().ok();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .keep_alive(true);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    // Tells connections still in their TLS handshake to give up once shutdown starts.
    let (stopping_tx, stopping) = watch::channel(false);
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
        // Held by the connection's task until it ends.
        let (permit, endpoint) = match served.clone().try_acquire_owned() {
            Ok(permit) => (permit, endpoint.clone()),
            Err(_) => match refusing.clone().try_acquire_owned() {
                Ok(permit) => {
                    tracing::debug!(%remote, max, "connection limit reached; answering 503");
                    (permit, refuse.clone())
                }
                Err(_) => {
                    tracing::debug!(%remote, max, "connection limit reached; closing");
                    continue;
                }
            },
        };
        let builder = builder.clone();
        // Taken before the task starts so a shutdown that begins mid-handshake still
        // reaches this connection.
        let watcher = graceful.watcher();
        let Some(acceptor) = options.tls.clone() else {
            let conn = Conn {
                endpoint,
                local,
                remote,
                scheme: Scheme::HTTP,
            };
            // hyper's header read timeout starts only once it has bytes to parse (its
            // HTTP/1-or-2 detection waits without one), so a client that connects and
            // sends nothing is bounded here, by the same timeout.
            let first_byte_timeout = options.header_read_timeout;
            let mut stopping = stopping.clone();
            tokio::spawn(async move {
                let _permit = permit;
                let mut first = [0u8; 1];
                tokio::select! {
                    peeked = tokio::time::timeout(first_byte_timeout, stream.peek(&mut first)) => {
                        match peeked {
                            Ok(Ok(n)) if n > 0 => {}
                            Ok(_) => return, // closed by the client, or a socket error
                            Err(_) => {
                                tracing::debug!(%remote, "no request bytes within the header read timeout");
                                return;
                            }
                        }
                    }
                    _ = stopping.wait_for(|stop| *stop) => return,
                }
                conn.serve(builder, TokioIo::new(stream), watcher, first_byte_timeout)
                    .await;
            });
            continue;
        };
        let handshake_timeout = options.header_read_timeout;
        let mut stopping = stopping.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let handshake = tokio::time::timeout(handshake_timeout, acceptor.accept(stream));
            let stream = tokio::select! {
                done = handshake => match done {
                    Ok(Ok(stream)) => stream,
                    Ok(Err(e)) => {
                        tracing::debug!(error = %e, %remote, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "TLS handshake timed out");
                        return;
                    }
                },
                _ = stopping.wait_for(|stop| *stop) => return,
            };
            let conn = Conn {
                endpoint,
                local,
                remote,
                scheme: Scheme::HTTPS,
            };
            conn.serve(builder, TokioIo::new(stream), watcher, handshake_timeout)
                .await;
        });
    }

    let _ = stopping_tx.send(true);
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

/// One accepted connection, after any TLS handshake.
struct Conn {
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    local: Option<SocketAddr>,
    remote: SocketAddr,
    scheme: Scheme,
}

impl Conn {
    async fn serve<I>(
        self,
        builder: Builder,
        io: I,
        watcher: Watcher,
        first_request_timeout: Duration,
    ) where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let Conn {
            endpoint,
            local,
            remote,
            scheme,
        } = self;
        // Set by the first request. HTTP/1 bounds the wait for it itself (the header read
        // timeout); HTTP/2 does not: a client can finish the handshake and then hold the
        // connection open forever without a request, and at shutdown hyper's graceful
        // GOAWAY then waits for a PING answer such a client never sends.
        let served = Arc::new(AtomicBool::new(false));
        let marker = Arc::clone(&served);
        let service = hyper::service::service_fn(move |req| {
            marker.store(true, Ordering::Relaxed);
            let endpoint = endpoint.clone();
            let scheme = scheme.clone();
            async move {
                let req = poem::Request::from((
                    req,
                    LocalAddr(local.map(Addr::SocketAddr).unwrap_or_default()),
                    RemoteAddr(Addr::SocketAddr(remote)),
                    scheme,
                ));
                let resp = endpoint.get_response(req).await;
                Ok::<_, Infallible>(hyper::Response::from(resp))
            }
        });
        let conn = watcher.watch(builder.serve_connection_with_upgrades(io, service));
        tokio::pin!(conn);
        let no_request = async {
            tokio::time::sleep(first_request_timeout).await;
            if served.load(Ordering::Relaxed) {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            ended = &mut conn => {
                if let Err(e) = ended {
                    tracing::debug!(error = %e, %remote, "connection ended with an error");
                }
            }
            // Dropping the connection closes the socket.
            _ = no_request => {
                tracing::debug!(%remote, "no request within the header read timeout");
            }
        }
    }
}
