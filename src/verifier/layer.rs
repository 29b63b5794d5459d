//! A tower layer and an axum extractor (feature `axum`).
//!
//! [`VerifyLayer`] checks `Authorization: Bearer …` before the inner service runs, puts the
//! [`Claims`] into the request's extensions, and answers a refused token itself with
//! upstream's error body (reference §6): 401 `{"error":"unauthenticated","error_code":16,…}`.
//! When the token could not be checked at all (introspection or JWKS down) it answers 503
//! `unavailable` (gRPC code 14) instead: the SDKs clear the user's session on
//! `unauthenticated`, which an outage on our side must not cause.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::FromRequestParts;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use tower::{Layer, Service};

use super::claims::Claims;
use super::rejection::Rejection;
use super::verify::Verifier;

/// Wraps services so that they only see requests with a valid bearer token.
///
/// ```no_run
/// use axum::{Router, routing::get};
/// use cloudbase_auth::verifier::{Claims, Verifier, VerifyLayer};
///
/// # fn demo(verifier: Verifier) {
/// let app: Router = Router::new()
///     .route("/me", get(|claims: Claims| async move { claims.sub().to_owned() }))
///     .layer(VerifyLayer::new(verifier));
/// # let _ = app;
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct VerifyLayer {
    verifier: Verifier,
}

impl VerifyLayer {
    /// A layer checking tokens with `verifier`.
    pub fn new(verifier: Verifier) -> VerifyLayer {
        VerifyLayer { verifier }
    }
}

impl<S> Layer<S> for VerifyLayer {
    type Service = VerifyService<S>;

    fn layer(&self, inner: S) -> VerifyService<S> {
        VerifyService {
            inner,
            verifier: self.verifier.clone(),
        }
    }
}

/// The service [`VerifyLayer`] makes.
#[derive(Debug, Clone)]
pub struct VerifyService<S> {
    inner: S,
    verifier: Verifier,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<B>> for VerifyService<S>
where
    S: Service<Request<B>, Response = Response> + Clone + Send + 'static,
    S::Future: Send,
    B: Send + 'static,
{
    type Response = Response;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request<B>) -> Self::Future {
        // The service polled ready is the one to call; leave a fresh clone in its place.
        let fresh = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, fresh);
        let verifier = self.verifier.clone();
        Box::pin(async move {
            match verify_headers(&verifier, request.headers()).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}

async fn verify_headers(verifier: &Verifier, headers: &HeaderMap) -> Result<Claims, Rejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(Rejection::Missing);
    };
    let value = value.to_str().map_err(|_| Rejection::Malformed)?;
    verifier.verify(bearer_token(value)?).await
}

/// RFC 6750 §2.1 / RFC 7235: the scheme is case-insensitive.
fn bearer_token(value: &str) -> Result<&str, Rejection> {
    let (scheme, token) = value.trim().split_once(' ').ok_or(Rejection::Missing)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Rejection::Missing);
    }
    Ok(token.trim_start())
}

/// The claims [`VerifyLayer`] put into the request. Without the layer every request is
/// refused (and an error logged): a missing layer must not open the route.
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Claims, Rejection> {
        let claims = parts.extensions.get::<Claims>().cloned();
        if claims.is_none() {
            tracing::error!("`Claims` extracted on a route without `VerifyLayer`; refusing");
        }
        claims.ok_or(Rejection::Missing)
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let (status, error, code) = match self {
            Rejection::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, "unavailable", 14),
            _ => (StatusCode::UNAUTHORIZED, "unauthenticated", 16),
        };
        let body = serde_json::json!({
            "error": error,
            "error_code": code,
            "error_description": self.to_string(),
        });
        let mut response = (status, Body::from(body.to_string())).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if status == StatusCode::UNAUTHORIZED {
            headers.insert(WWW_AUTHENTICATE, challenge(self));
        }
        response
    }
}

/// RFC 6750 §3.1: no error code when the request carried no token at all.
fn challenge(rejection: Rejection) -> HeaderValue {
    HeaderValue::from_static(match rejection {
        Rejection::Missing => "Bearer",
        _ => "Bearer error=\"invalid_token\"",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_bearer_scheme_only() {
        assert_eq!(bearer_token("Bearer abc"), Ok("abc"));
        assert_eq!(bearer_token("bearer   abc"), Ok("abc"));
        assert_eq!(bearer_token("Basic abc"), Err(Rejection::Missing));
        assert_eq!(bearer_token("Bearer"), Err(Rejection::Missing));
        assert_eq!(bearer_token(""), Err(Rejection::Missing));
    }
}
