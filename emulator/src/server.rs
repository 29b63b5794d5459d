//! The HTTP/1.1 server loop with the bounds of [`Limits`]: a connection cap, a header-read
//! timeout that also closes idle keep-alive connections, a header buffer hyper enforces
//! beyond the JSON 431 of [`check_headers`], and a graceful shutdown with a deadline.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::config::Limits;
use crate::errors::ApiError;
use crate::state::App;

/// hyper's own read buffer: past it a request gets hyper's bare 431. It is larger than
/// [`Limits::max_header_bytes`] so that ordinary oversize headers get the JSON 431.
const HYPER_BUFFER_BYTES: usize = 256 * 1024;
/// hyper parses at most this many headers; [`Limits::max_headers`] answers with JSON below it.
const HYPER_MAX_HEADERS: usize = 1000;

/// Serves `router` on `listener` until `stop` resolves, then lets in-flight requests finish
/// for at most `limits.shutdown_grace_ms`.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stop: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_millis(limits.header_timeout_ms))
        .max_buf_size(HYPER_BUFFER_BYTES)
        .max_headers(HYPER_MAX_HEADERS.max(limits.max_headers));
    tokio::pin!(stop);
    loop {
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, say: back off instead of spinning.
                    tracing::warn!(%e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tracing::warn!(
                max = limits.max_connections,
                "connection limit reached; closing a new connection"
            );
            continue;
        };
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _ = connection.await;
            drop(slot);
        });
    }
    drop(listener);
    let grace = Duration::from_millis(limits.shutdown_grace_ms);
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            ?grace,
            "requests still running at the shutdown deadline were cut"
        );
    }
    Ok(())
}

/// 431 with the JSON error body for too many or too large headers.
pub(crate) async fn check_headers(
    State(app): State<App>,
    request: Request,
    next: Next,
) -> Response {
    let limits = &app.config.limits;
    let headers = request.headers();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum::<usize>()
        + request.uri().to_string().len();
    if headers.len() > limits.max_headers || bytes > limits.max_header_bytes {
        return ApiError::from_status(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            format!(
                "request headers exceed {} headers or {} bytes",
                limits.max_headers, limits.max_header_bytes
            ),
        )
        .into_response();
    }
    next.run(request).await
}
