//! Permissive CORS on `/auth/v1/`, so the official JS SDK can call the emulator from a browser
//! page served on another origin. Never on the control API (`/emulator/v1/`): it reads
//! password hashes and codes and moves the clock, so no web page may drive it (see
//! [`cross_origin`], which the control gate refuses).

use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Paths of the emulator-only control API.
pub(crate) const CONTROL_PREFIX: &str = "/emulator/";

pub(crate) async fn cors(request: Request, next: Next) -> Response {
    if request.uri().path().starts_with(CONTROL_PREFIX) {
        return next.run(request).await;
    }
    let origin = request.headers().get(header::ORIGIN).cloned();
    let preflight = request.method() == Method::OPTIONS
        && request
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    let mut response = if preflight {
        preflight_response(request.headers())
    } else {
        next.run(request).await
    };
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        origin.unwrap_or(HeaderValue::from_static("*")),
    );
    headers.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static("retry-after"),
    );
    headers.append(header::VARY, HeaderValue::from_static("origin"));
    response
}

fn preflight_response(request: &HeaderMap) -> Response {
    let allow_headers = request
        .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
        .cloned()
        .unwrap_or(HeaderValue::from_static("*"));
    let mut response = StatusCode::NO_CONTENT.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, POST, PUT, PATCH, DELETE, OPTIONS"),
    );
    headers.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, allow_headers);
    headers.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("600"),
    );
    response
}

/// A request a browser sent on behalf of another origin: an `Origin` other than this server's
/// own, or `Sec-Fetch-Site` other than same-origin/none. Non-browser clients send neither.
pub(crate) fn cross_origin(headers: &HeaderMap) -> bool {
    let fetch_site = headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|site| !matches!(site, "same-origin" | "none"));
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let foreign_origin = headers.get(header::ORIGIN).is_some_and(|origin| {
        let origin = origin.to_str().unwrap_or_default();
        host.is_none_or(|host| {
            origin != format!("http://{host}") && origin != format!("https://{host}")
        })
    });
    fetch_site || foreign_origin
}
