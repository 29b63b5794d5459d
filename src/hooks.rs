//! The generated client's hooks: credentials, headers, tracing, bounded reads, retries.
//!
//! progenitor calls `pre` then `exec` for every operation; `OperationInfo` carries only
//! the operation id, so the credential comes from the spec-generated table in `auth.rs`.

use std::time::Instant;

use bytes::Bytes;
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::header::{AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Request, Response, StatusCode};
use tracing::Instrument;

use crate::auth::{self, AuthKind, OperationAuth};
use crate::generated::Client as RawClient;
use crate::request_id::{keep_hook_error, random_hex32, scoped_request_id};
use crate::session::{Core, SessionCore};

tokio::task_local! {
    /// A bearer token to send instead of the session's (introspecting another token).
    pub(crate) static BEARER_OVERRIDE: String;
    /// A solved captcha's token, sent as `x-captcha-token`.
    pub(crate) static CAPTCHA_TOKEN: String;
}

// `HeaderName`s, not `&str`s: a string name is parsed and copied on every insert.
const DEVICE_ID: HeaderName = HeaderName::from_static("x-device-id");
const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const CAPTCHA: HeaderName = HeaderName::from_static("x-captcha-token");
const API_VERSION: HeaderName = HeaderName::from_static("api-version");
/// Marks the synthetic answer that stands in for a response over the size cap; its value
/// is the status the server actually sent. Only this crate sets it (on the response it
/// hands the generated code), so a server cannot fake a `response_too_large`.
pub(crate) const TOO_LARGE_MARKER: HeaderName =
    HeaderName::from_static("x-cloudbase-auth-response-too-large");

impl ClientHooks<SessionCore> for RawClient {
    async fn pre<E>(
        &self,
        request: &mut Request,
        info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let core = &self.inner().0;
        let headers = request.headers_mut();
        // progenitor adds `api-version: <info.version>`; CloudBase does not define it.
        headers.remove(API_VERSION);
        headers.insert(DEVICE_ID, core.device_header.clone());
        headers.insert(
            REQUEST_ID,
            header(&scoped_request_id().unwrap_or_else(random_hex32)),
        );
        if let Ok(token) = CAPTCHA_TOKEN.try_with(Clone::clone) {
            let mut value = header(&token);
            value.set_sensitive(true);
            headers.insert(CAPTCHA, value);
        }
        if info.operation_id == "grant_token" {
            *request.timeout_mut() = Some(core.refresh_timeout);
        }
        let Some(op) = auth::operation_auth(info.operation_id) else {
            return Err(progenitor_client::Error::Custom(format!(
                "operation `{}` is not in the spec table",
                info.operation_id
            )));
        };
        authorize(core, request, op).await.map_err(|e| {
            let message = e.to_string();
            // The facade gets the typed error back; a raw call sees the message.
            keep_hook_error(e);
            progenitor_client::Error::Custom(message)
        })
    }

    async fn exec(&self, request: Request, info: &OperationInfo) -> reqwest::Result<Response> {
        let core = &self.inner().0;
        let bearer = auth::operation_auth(info.operation_id)
            .is_some_and(|op| op.auth == AuthKind::UserBearer);
        // One copy, the template of any retry (transient, or after a 401); JSON bodies
        // are bytes, so it is cheap.
        let spare = request.try_clone();
        let sent = if bearer { sent_bearer(&request) } else { None };
        let first = send_with_retries(core, request, spare.as_ref(), info).await?;
        // Reactive path: one refresh and one retry, only for the token this call sent,
        // never for the token endpoint (it is not a bearer operation).
        if first.is_unauthenticated()
            && let (Some(mut retry), Some(sent)) = (spare, sent)
            && BEARER_OVERRIDE.try_with(|_| ()).is_err()
            && let Ok(tokens) = core.refresh_after_rejection(&sent).await
        {
            retry
                .headers_mut()
                .insert(AUTHORIZATION, tokens.bearer.clone());
            let template = retry.try_clone();
            return Ok(send_with_retries(core, retry, template.as_ref(), info)
                .await?
                .into_response());
        }
        Ok(first.into_response())
    }
}

/// Sets the credential the spec declares for the operation.
async fn authorize(
    core: &std::sync::Arc<Core>,
    request: &mut Request,
    op: &OperationAuth,
) -> Result<(), crate::Error> {
    match op.auth {
        AuthKind::UserBearer => {
            let value = match BEARER_OVERRIDE.try_with(|token| auth::bearer(token)) {
                Ok(value) => value,
                Err(_) if op.optional && core.current().is_none() => {
                    add_client_id(core, request);
                    return Ok(());
                }
                Err(_) => core.fresh_tokens().await?.bearer.clone(),
            };
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        AuthKind::ClientBasic => {
            request
                .headers_mut()
                .insert(AUTHORIZATION, core.client_basic.clone());
            add_client_id(core, request);
        }
        AuthKind::CloudSecret => {
            let credential = core.cloud_secret.as_ref().ok_or(crate::Error::InvalidRequest {
                message: "this operation needs a Tencent Cloud SecretId/SecretKey: configure `Config::with_cloud_secret`".into(),
            })?;
            credential
                .authorize(request, core.now())
                .map_err(|message| crate::Error::InvalidRequest { message })?;
        }
        AuthKind::None => add_client_id(core, request),
    }
    Ok(())
}

/// The official SDK appends `client_id` to every call it does not sign with a bearer
/// token; the gateway uses it to pick the client when no basic auth is present.
fn add_client_id(core: &Core, request: &mut Request) {
    let already = request.url().query_pairs().any(|(k, _)| k == "client_id");
    if !already {
        request
            .url_mut()
            .query_pairs_mut()
            .append_pair("client_id", &core.client_id);
    }
}

fn header(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn sent_bearer(request: &Request) -> Option<String> {
    let value = request.headers().get(AUTHORIZATION)?.to_str().ok()?;
    value.strip_prefix("Bearer ").map(str::to_string)
}

/// What came back: a success passed through untouched (its length is declared and
/// within the cap, so nothing needs checking), or a response read whole.
enum Answer {
    Passed(Response),
    Buffered(Buffered),
}

impl Answer {
    fn status(&self) -> StatusCode {
        match self {
            Answer::Passed(response) => response.status(),
            Answer::Buffered(buffered) => buffered.status,
        }
    }

    fn is_unauthenticated(&self) -> bool {
        matches!(self, Answer::Buffered(b) if b.is_unauthenticated())
    }

    /// `Some(Retry-After)` when the answer is worth retrying.
    fn transient(&self) -> Option<Option<std::time::Duration>> {
        match self {
            Answer::Buffered(b) if b.is_transient() => Some(crate::retry::retry_after(&b.headers)),
            _ => None,
        }
    }

    fn into_response(self) -> Response {
        match self {
            Answer::Passed(response) => response,
            Answer::Buffered(buffered) => buffered.into_response(),
        }
    }
}

/// A response read whole (within the size cap), so hooks can look at it and the
/// generated code can still parse it.
struct Buffered {
    status: StatusCode,
    /// The server's status; differs from `status` only for a synthetic too-large answer.
    original_status: StatusCode,
    version: reqwest::Version,
    headers: HeaderMap,
    body: Bytes,
}

impl Buffered {
    fn error_name(&self) -> Option<String> {
        let value: serde_json::Value = serde_json::from_slice(&self.body).ok()?;
        value.get("error")?.as_str().map(str::to_string)
    }

    fn is_unauthenticated(&self) -> bool {
        self.status == StatusCode::UNAUTHORIZED
            && self.error_name().as_deref() == Some("unauthenticated")
    }

    /// By the server's own status: an oversized 200 (answered as a synthetic 502) is not
    /// worth retrying, an oversized 503 is.
    fn is_transient(&self) -> bool {
        matches!(
            self.original_status.as_u16(),
            408 | 429 | 500 | 502 | 503 | 504
        )
    }

    fn into_response(self) -> Response {
        let mut response = http::Response::new(self.body);
        *response.status_mut() = self.status;
        *response.version_mut() = self.version;
        *response.headers_mut() = self.headers;
        Response::from(response)
    }
}

/// Sends, retrying only where it is safe: a connection never made (nothing was sent),
/// or an idempotent `GET` that failed transiently (a 408/429/5xx answer, a timeout, a
/// reset or a body cut short). Bounded by the [`RetryPolicy`](crate::RetryPolicy), with
/// full jitter, honouring `Retry-After`.
async fn send_with_retries(
    core: &Core,
    mut request: Request,
    template: Option<&Request>,
    info: &OperationInfo,
) -> reqwest::Result<Answer> {
    let idempotent = request.method() == Method::GET;
    let mut attempt = 0;
    loop {
        let result = send_once(core, request, info).await;
        let retry_after = match &result {
            Ok(answer) if idempotent => match answer.transient() {
                Some(retry_after) => retry_after,
                None => return result,
            },
            // A builder error would fail the same way again.
            Err(e) if e.is_connect() || (idempotent && !e.is_builder()) => None,
            _ => return result,
        };
        let delay = core.retry.delay(attempt, retry_after);
        match (delay.and(template).and_then(Request::try_clone), delay) {
            (Some(next), Some(delay)) => {
                tracing::debug!(
                    operation = info.operation_id,
                    attempt,
                    ?delay,
                    "transient failure; retrying"
                );
                tokio::time::sleep(delay).await;
                request = next;
                attempt += 1;
            }
            _ => return result,
        }
    }
}

/// One HTTP exchange inside a span: operation id, method, path, request id, status and
/// duration; never a body, a query string or a header value.
async fn send_once(core: &Core, request: Request, info: &OperationInfo) -> reqwest::Result<Answer> {
    let request_id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let span = tracing::debug_span!(
        "cloudbase_auth.request",
        operation = info.operation_id,
        method = %request.method(),
        path = request.url().path(),
        request_id = %request_id,
        status = tracing::field::Empty,
        duration_ms = tracing::field::Empty,
    );
    let started = Instant::now();
    async {
        let result = exchange(core, request).await;
        let span = tracing::Span::current();
        span.record("duration_ms", started.elapsed().as_millis() as u64);
        match &result {
            Ok(answer) => {
                let status = answer.status().as_u16();
                span.record("status", status);
                tracing::debug!(status, "response");
            }
            Err(e) => tracing::debug!(
                timeout = e.is_timeout(),
                connect = e.is_connect(),
                "transport failure"
            ),
        }
        result
    }
    .instrument(span)
    .await
}

async fn exchange(core: &Core, request: Request) -> reqwest::Result<Answer> {
    let mut response = core.http.execute(request).await?;
    let status = response.status();
    // The common case costs nothing extra: hyper enforces the declared length, and a
    // success needs no normalising. The header below is still never trusted.
    let declared_within_cap = response
        .content_length()
        .is_some_and(|len| len <= core.max_response_bytes as u64);
    if status.is_success()
        && declared_within_cap
        && !response.headers().contains_key(TOO_LARGE_MARKER)
    {
        return Ok(Answer::Passed(response));
    }
    let version = response.version();
    let mut headers = std::mem::take(response.headers_mut());
    // Only this crate's synthetic answers carry the marker.
    headers.remove(TOO_LARGE_MARKER);
    let body = match read_capped(&mut response, core.max_response_bytes).await? {
        Some(body) => body,
        None => {
            return Ok(Answer::Buffered(too_large(
                status,
                version,
                headers,
                core.max_response_bytes,
            )));
        }
    };
    let body = if status.is_client_error() || status.is_server_error() {
        normalize_error_body(status, &mut headers, body)
    } else {
        body
    };
    Ok(Answer::Buffered(Buffered {
        status,
        original_status: status,
        version,
        headers,
        body,
    }))
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
/// generated code takes its error path), marked with [`TOO_LARGE_MARKER`].
/// [`Error::from_generated`](crate::Error) turns it into `Error::Decode` (for a success
/// status) or an `Error::Api` that keeps the server's status.
fn too_large(
    original_status: StatusCode,
    version: reqwest::Version,
    mut headers: HeaderMap,
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
    set_json(&mut headers, &body);
    headers.insert(
        TOO_LARGE_MARKER,
        HeaderValue::from(original_status.as_u16()),
    );
    Buffered {
        status,
        original_status,
        version,
        headers,
        body,
    }
}

/// Error answers come in three shapes: CloudBase's `{error, error_code,
/// error_description}`, the gateway's `{code, message, requestId}` (reference §6),
/// and non-JSON pages from proxies. The generated code knows only the first, and
/// would drop the status on anything it cannot parse as that (reporting a decode
/// error), so every other body is rewritten into it: the output always parses as
/// `types::ErrorBody` (checked by `tests/proptest_decoders.rs`).
fn normalize_error_body(status: StatusCode, headers: &mut HeaderMap, body: Bytes) -> Bytes {
    if serde_json::from_slice::<crate::generated::types::ErrorBody>(&body).is_ok() {
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
    set_json(headers, &rewritten);
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

fn set_json(headers: &mut HeaderMap, body: &Bytes) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(
        reqwest::header::CONTENT_LENGTH,
        HeaderValue::from(body.len()),
    );
}
