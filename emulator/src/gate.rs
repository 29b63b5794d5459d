//! The middleware in front of every operation: counts the request, applies injected faults,
//! reads and parses the body, checks `x-device-id`, identifies the client and records the
//! facts in a [`Ctx`] for the handler.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::auth::authenticate;
use crate::clients;
use crate::cloud_auth;
use crate::context::{Ctx, query_value};
use crate::errors::{ApiError, ApiResult};
use crate::faults;
use crate::operations::{Auth, Operation};
use crate::state::App;

/// Upstream rejects device ids of this length or more.
const MAX_DEVICE_ID_LEN: usize = 72;

pub(crate) async fn operation_gate(
    State((app, operation)): State<(App, &'static Operation)>,
    request: Request,
    next: Next,
) -> Response {
    app.count_request(operation.id);
    app.maybe_prune();
    let run = async {
        match admit(&app, operation, request).await {
            Ok(request) => next.run(request).await,
            Err(error) => error.into_response(),
        }
    };
    match app.take_fault(operation.id) {
        Some(fault) => faults::apply(fault, run).await,
        None => run.await,
    }
}

/// The control API only needs its JSON body parsed.
///
/// It refuses cross-origin browser requests: a page must not read state or move the clock,
/// not even with a "simple" `text/plain` POST that skips the CORS preflight.
pub(crate) async fn control_gate(State(app): State<App>, request: Request, next: Next) -> Response {
    if crate::cors::cross_origin(request.headers()) {
        return ApiError::permission_denied("the control API refuses cross-origin requests")
            .into_response();
    }
    let (mut parts, body) = request.into_parts();
    let body = match read_body(&app, &parts.headers, body)
        .await
        .and_then(|bytes| parse_json(&parts.headers, &bytes))
    {
        Ok(body) => body,
        Err(error) => return error.into_response(),
    };
    let query = parse_query(parts.uri.query());
    let ctx = Ctx {
        client_id: app.config.env_id.clone(),
        device_id: None,
        bearer: None,
        captcha_token: None,
        body: Arc::new(body),
        query: Arc::new(query),
    };
    parts.extensions.insert(ctx);
    next.run(Request::from_parts(parts, Body::empty())).await
}

async fn admit(app: &App, operation: &Operation, request: Request) -> ApiResult<Request> {
    let (mut parts, body) = request.into_parts();
    let bytes = read_body(app, &parts.headers, body).await?;
    if operation.auth == Auth::CloudSecret {
        // The signature covers the body bytes as received.
        let caller = cloud_auth::authenticate(app, &parts, &bytes)?;
        parts.extensions.insert(caller);
    }
    let body = parse_json(&parts.headers, &bytes)?;
    let query = parse_query(parts.uri.query());
    let headers = &parts.headers;
    let bearer =
        bearer_token(headers).or_else(|| query_value(&query, "access_token").map(str::to_owned));
    let client_id = match (operation.auth, &bearer) {
        // A bearer stands in for client authentication only when it is a live access token
        // (its session names the client); junk must not skip the client secret.
        (Auth::ClientOrUser, Some(token)) => authenticate(app, Some(token))?.client_id,
        (Auth::Client | Auth::ClientOrUser, _) => {
            clients::identify(&app.config, headers, &body, &query)?
        }
        (Auth::User | Auth::CloudSecret, _) => app.config.env_id.clone(),
    };
    let ctx = Ctx {
        device_id: device_id(headers, operation.needs_device_id)?,
        client_id,
        bearer,
        captcha_token: header_value(headers, "x-captcha-token")
            .or_else(|| query_value(&query, "captcha_token").map(str::to_owned)),
        body: Arc::new(body),
        query: Arc::new(query),
    };
    parts.extensions.insert(ctx);
    Ok(Request::from_parts(parts, Body::empty()))
}

/// Reads at most `max_body_bytes` within the body timeout.
async fn read_body(app: &App, headers: &HeaderMap, body: Body) -> ApiResult<Bytes> {
    let limit = app.config.max_body_bytes;
    let declared =
        header_value(headers, header::CONTENT_LENGTH.as_str()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > u64::try_from(limit).unwrap_or(u64::MAX)) {
        return Err(ApiError::payload_too_large(limit));
    }
    let timeout = Duration::from_millis(app.config.limits.body_timeout_ms);
    tokio::time::timeout(timeout, axum::body::to_bytes(body, limit))
        .await
        .map_err(|_| {
            ApiError::from_status(
                StatusCode::REQUEST_TIMEOUT,
                format!("the request body did not arrive within {timeout:?}"),
            )
        })?
        .map_err(|_| ApiError::payload_too_large(limit))
}

/// An empty body counts as `{}`.
fn parse_json(headers: &HeaderMap, bytes: &[u8]) -> ApiResult<Value> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    if !is_json_body(headers) {
        return Err(ApiError::unsupported_media_type());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid_argument(format!("malformed JSON body: {e}")))
}

pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    mime(headers).is_some_and(|mime| mime == "application/json" || mime.ends_with("+json"))
}

/// Bodies are parsed as JSON when labelled JSON, unlabelled, or `text/plain`: the official JS
/// SDK hands `fetch` a string body without a Content-Type, which `fetch` labels
/// `text/plain;charset=UTF-8`. Other types (forms, multipart, XML...) are refused.
fn is_json_body(headers: &HeaderMap) -> bool {
    is_json(headers) || mime(headers).is_none_or(|mime| mime == "text/plain")
}

fn mime(headers: &HeaderMap) -> Option<String> {
    let value = header_value(headers, header::CONTENT_TYPE.as_str())?;
    Some(
        value
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase(),
    )
}

fn parse_query(query: Option<&str>) -> Vec<(String, String)> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn header_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

fn device_id(headers: &HeaderMap, required: bool) -> ApiResult<Option<String>> {
    let device_id = match headers.get("x-device-id") {
        None => None,
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| ApiError::invalid_argument("x-device-id must be visible ASCII"))?
                .trim()
                .to_owned(),
        ),
    };
    match device_id {
        Some(id) if id.len() >= MAX_DEVICE_ID_LEN => {
            Err(ApiError::invalid_argument("device id must less than 72"))
        }
        Some(id) if !id.is_empty() => Ok(Some(id)),
        _ if required => Err(ApiError::invalid_argument(
            "the x-device-id header is required",
        )),
        _ => Ok(None),
    }
}

fn bearer_token(headers: &HeaderMap) -> Option<String> {
    let value = header_value(headers, header::AUTHORIZATION.as_str())?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}
