//! Fault injection: the next N requests of an operation misbehave in a chosen way, so clients
//! can be tested against lost responses, gateway errors, slow or broken bodies.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Json;
use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use http_body::Frame;
use serde::{Deserialize, Serialize};

use crate::errors::ApiError;

/// Longest injected delay, so a typo cannot hang a test run for hours.
const MAX_DELAY_MILLIS: u64 = 600_000;
/// Largest oversized body, so a fault cannot exhaust the emulator's memory.
const MAX_OVERSIZED_BYTES: usize = 64 * 1024 * 1024;

/// How a request misbehaves. In JSON (control API) the variant is the `kind` field, e.g.
/// `{"kind": "status", "status": 503, "retry_after_secs": 2}` or `{"kind": "drop_connection"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Answer with this status instead of running the operation. Without `body`, the usual
    /// error body for the status; with `retry_after_secs`, a `Retry-After` header.
    Status {
        status: u16,
        #[serde(default)]
        body: Option<serde_json::Value>,
        #[serde(default)]
        retry_after_secs: Option<u64>,
    },
    /// Wait this long, then run the operation normally.
    Delay { millis: u64 },
    /// Do not run the operation; the response body fails, so the client sees a transport error.
    DropConnection,
    /// Run the operation (e.g. commit a refresh-token rotation), then fail the response body.
    CommitThenDrop,
    /// Run the operation and send only the first half of its JSON body.
    TruncatedJson,
    /// A 502 with the API gateway's own body `{code, message, requestId}` instead of the Auth
    /// error body.
    NonJsonGatewayError,
    /// Do not run the operation; answer 200 with a JSON body of this many bytes.
    Oversized { bytes: usize },
}

/// Pending faults per operation id, applied in order.
#[derive(Debug, Default)]
pub(crate) struct FaultQueue {
    by_operation: BTreeMap<String, VecDeque<(Fault, u32)>>,
}

impl FaultQueue {
    pub(crate) fn push(&mut self, operation_id: &str, fault: Fault, count: u32) {
        if count > 0 {
            self.by_operation
                .entry(operation_id.to_owned())
                .or_default()
                .push_back((fault, count));
        }
    }

    /// The fault for the next request of the operation, if any.
    pub(crate) fn take(&mut self, operation_id: &str) -> Option<Fault> {
        let queue = self.by_operation.get_mut(operation_id)?;
        let (fault, remaining) = queue.front_mut()?;
        let fault = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            queue.pop_front();
        }
        Some(fault)
    }
}

/// Runs `operation` as the fault dictates.
pub(crate) async fn apply(fault: Fault, operation: impl Future<Output = Response>) -> Response {
    match fault {
        Fault::Status {
            status,
            body,
            retry_after_secs,
        } => status_response(status, body, retry_after_secs),
        Fault::Delay { millis } => {
            tokio::time::sleep(Duration::from_millis(millis.min(MAX_DELAY_MILLIS))).await;
            operation.await
        }
        Fault::DropConnection => dropped(),
        Fault::CommitThenDrop => {
            drop(operation.await);
            dropped()
        }
        Fault::TruncatedJson => truncated(operation.await).await,
        Fault::NonJsonGatewayError => gateway_error(),
        Fault::Oversized { bytes } => oversized(bytes),
    }
}

fn status_response(
    status: u16,
    body: Option<serde_json::Value>,
    retry_after: Option<u64>,
) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => ApiError::from_status(status, "injected fault").into_response(),
    };
    if let Some(secs) = retry_after {
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

/// A body whose first read fails: hyper aborts the connection mid-response.
struct FailingBody;

impl http_body::Body for FailingBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        let error = io::Error::new(
            io::ErrorKind::ConnectionAborted,
            "injected fault: connection dropped",
        );
        Poll::Ready(Some(Err(error)))
    }
}

fn dropped() -> Response {
    let mut response = Response::new(Body::new(FailingBody));
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

async fn truncated(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    // The original length would make the client wait for bytes that never come.
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(half))
}

fn gateway_error() -> Response {
    let body = serde_json::json!({
        "code": "BAD_GATEWAY",
        "message": "injected fault: the gateway could not reach the auth service",
        "requestId": crate::secrets::random_token(""),
    });
    (StatusCode::BAD_GATEWAY, Json(body)).into_response()
}

fn oversized(bytes: usize) -> Response {
    // `{"padding":"` and `"}` take 14 bytes.
    let padding = "a".repeat(bytes.min(MAX_OVERSIZED_BYTES).saturating_sub(14));
    let body = format!("{{\"padding\":\"{padding}\"}}");
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}
