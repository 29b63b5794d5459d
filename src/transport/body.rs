//! Reading an answer whole within the size cap, and the shapes of what the generated code
//! is handed: every error body parses as `types::ErrorBody`, and no body it could echo
//! in an error holds a secret.

use bytes::Bytes;
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode};

use super::secret_bodies;
use crate::call;
use crate::generated::types::ErrorBody;
use crate::ids::REQUEST_ID;

/// Why a body is not the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Replaced {
    /// Over the cap: not read. Carries the cap.
    TooLarge(usize),
    /// A success that does not decode and may hold a secret: why it does not decode
    /// (a category and position, never a value).
    Undecodable(String),
}

/// A response read whole (within the size cap), so hooks can look at it and the
/// generated code can still parse it.
pub(crate) struct Buffered {
    pub(crate) status: StatusCode,
    /// The server's status; differs from `status` only for a stand-in of an answer over the cap.
    pub(crate) original_status: StatusCode,
    version: reqwest::Version,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// Set when `body` is not the server's.
    pub(crate) replaced: Option<Replaced>,
}

/// Reads `response` whole; error bodies normalised, oversized and undecodable secret
/// bodies replaced. Error answers carry the `x-request-id` that was sent, so an error of
/// a plain `raw()` call can name it.
pub(super) async fn buffer(
    mut response: Response,
    cap: usize,
    operation: &'static str,
    request_id: HeaderValue,
) -> reqwest::Result<Buffered> {
    let status = response.status();
    let version = response.version();
    let mut headers = std::mem::take(response.headers_mut());
    let mut buffered = match read_capped(&mut response, cap).await? {
        None => too_large(status, version, headers, cap),
        Some(body) if status.is_client_error() || status.is_server_error() => {
            let body = normalize_error_body(status, &mut headers, body);
            headers.insert(REQUEST_ID, request_id);
            plain(status, version, headers, body)
        }
        Some(body) => match secret_bodies::check(operation, &body) {
            Ok(()) => plain(status, version, headers, body),
            Err(reason) => undecodable(status, version, headers, reason),
        },
    };
    if let Some(replaced) = &buffered.replaced {
        headers_for_replacement(&mut buffered.headers, replaced, buffered.body.len());
        let original = buffered.original_status.as_u16();
        call::report(|r| match replaced {
            Replaced::TooLarge(_) => r.observed.too_large = Some(original),
            Replaced::Undecodable(reason) => r.observed.undecodable = Some(reason.clone()),
        });
    }
    Ok(buffered)
}

fn plain(
    status: StatusCode,
    version: reqwest::Version,
    headers: HeaderMap,
    body: Bytes,
) -> Buffered {
    Buffered {
        status,
        original_status: status,
        version,
        headers,
        body,
        replaced: None,
    }
}

impl Buffered {
    fn error_name(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value.get("error")?.as_str().map(str::to_string)
    }

    pub(crate) fn is_unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
            && self.error_name().as_deref() == Some("unauthenticated")
    }

    pub(crate) fn into_response(self) -> Response {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.version_mut() = self.version;
        *response.headers_mut() = self.headers;
        Response::from(response)
    }
}

/// Reads the body, or `None` as soon as it exceeds `cap` (the rest is never read).
async fn read_capped(response: &mut Response, cap: usize) -> reqwest::Result<Option<Bytes>> {
    if response
        .content_length()
        .is_some_and(|len| len > cap as u64)
    {
        return Ok(None);
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > cap {
            return Ok(None);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Some(Bytes::from(body)))
}

/// Stands in for a response over the cap: an error body the caller can recognise
/// (`response_too_large`), with a 502 if the server's status was a success (so the
/// generated code takes its error path).
fn too_large(
    original_status: StatusCode,
    version: reqwest::Version,
    headers: HeaderMap,
    cap: usize,
) -> Buffered {
    let status = if original_status.is_success() {
        StatusCode::BAD_GATEWAY
    } else {
        original_status
    };
    let body = synthetic_error(
        "response_too_large",
        &format!(
            "the response body exceeded {cap} bytes (Config::with_max_response_bytes) and was not read"
        ),
    );
    Buffered {
        status,
        replaced: Some(Replaced::TooLarge(cap)),
        ..plain(original_status, version, headers, body)
    }
}

/// Stands in for a success body that does not decode and may hold a secret: a text that
/// is not JSON either, so the generated code still reports a payload it could not parse,
/// and what it prints is this text, not the tokens.
fn undecodable(
    status: StatusCode,
    version: reqwest::Version,
    headers: HeaderMap,
    reason: String,
) -> Buffered {
    let body = Bytes::from(format!(
        "[body withheld: it may hold a secret and did not match the spec ({reason})]"
    ));
    Buffered {
        replaced: Some(Replaced::Undecodable(reason)),
        ..plain(status, version, headers, body)
    }
}

fn headers_for_replacement(headers: &mut HeaderMap, replaced: &Replaced, len: usize) {
    let content_type = match replaced {
        Replaced::TooLarge(_) => "application/json",
        Replaced::Undecodable(_) => "text/plain",
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(len));
}

/// Error answers come in three shapes: CloudBase's `{error, error_code,
/// error_description}`, the gateway's `{code, message, requestId}` (reference §6),
/// and non-JSON pages from proxies. The generated code knows only the first, and
/// would drop the status on anything it cannot parse as that (reporting a decode
/// error), so every other body is rewritten into it: the output always parses as
/// `types::ErrorBody` (checked by `tests/proptest_decoders.rs`).
fn normalize_error_body(status: StatusCode, headers: &mut HeaderMap, body: Bytes) -> Bytes {
    if serde_json::from_slice::<ErrorBody>(&body).is_ok() {
        return body;
    }
    let parsed: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
    let object = parsed.as_ref().and_then(|v| v.as_object());
    let text = |o: &serde_json::Map<String, serde_json::Value>, key: &str| {
        o.get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    // A gateway code may be a string or a number.
    let code = |o: &serde_json::Map<String, serde_json::Value>| match o.get("code")? {
        serde_json::Value::String(code) => Some(code.clone()),
        serde_json::Value::Number(code) => Some(code.to_string()),
        _ => None,
    };
    let rewritten = match object {
        // CloudBase's shape with another field of the wrong type: keep the name.
        Some(o) if o.get("error").is_some_and(|e| e.is_string()) => {
            synthetic_error(&text(o, "error"), &text(o, "error_description"))
        }
        Some(o) if code(o).is_some() => {
            let code = code(o).unwrap_or_default();
            let message = text(o, "message");
            let gateway_id = text(o, "requestId");
            synthetic_error(
                &code,
                &format!("{message} (gateway request id {gateway_id})"),
            )
        }
        _ => synthetic_error(
            &format!("http_{}", status.as_u16()),
            &format!(
                "the server answered HTTP {} without a JSON error body",
                status.as_u16()
            ),
        ),
    };
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(rewritten.len()));
    rewritten
}

/// The error-body normalisation, for the crate's property tests and fuzzers: what the
/// generated code would see for an error answer with this status and body.
#[doc(hidden)]
pub fn normalize_error_body_for_fuzzing(status: u16, body: &[u8]) -> Vec<u8> {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut headers = HeaderMap::new();
    normalize_error_body(status, &mut headers, Bytes::copy_from_slice(body)).to_vec()
}

fn synthetic_error(error: &str, description: &str) -> Bytes {
    let body = serde_json::json!({ "error": error, "error_description": description });
    Bytes::from(body.to_string())
}
