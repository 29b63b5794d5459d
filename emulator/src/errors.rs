//! The upstream error body `{error, error_code, error_description}` and the status table.
//!
//! `error_code` carries the gRPC status number of the error's class (the upstream server is a
//! grpc-gateway style service; its real captures show `invalid_argument` = 3 and
//! `permission_denied` = 7).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// gRPC status numbers used as `error_code`.
mod grpc {
    pub(super) const INVALID_ARGUMENT: i32 = 3;
    pub(super) const DEADLINE_EXCEEDED: i32 = 4;
    pub(super) const NOT_FOUND: i32 = 5;
    pub(super) const ALREADY_EXISTS: i32 = 6;
    pub(super) const PERMISSION_DENIED: i32 = 7;
    pub(super) const RESOURCE_EXHAUSTED: i32 = 8;
    pub(super) const FAILED_PRECONDITION: i32 = 9;
    pub(super) const UNIMPLEMENTED: i32 = 12;
    pub(super) const INTERNAL: i32 = 13;
    pub(super) const UNAVAILABLE: i32 = 14;
    pub(super) const UNAUTHENTICATED: i32 = 16;
}

#[derive(Debug, Clone, Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    error_code: i32,
    error_description: &'a str,
}

/// An error answer of any operation.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: &'static str,
    code: i32,
    description: String,
    retry_after: Option<u64>,
}

pub(crate) type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    fn new(
        status: StatusCode,
        error: &'static str,
        code: i32,
        description: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            description: description.into(),
            retry_after: None,
        }
    }

    pub(crate) fn invalid_argument(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_argument",
            grpc::INVALID_ARGUMENT,
            description,
        )
    }

    pub(crate) fn unauthenticated(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            grpc::UNAUTHENTICATED,
            description,
        )
    }

    pub(crate) fn permission_denied(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "permission_denied",
            grpc::PERMISSION_DENIED,
            description,
        )
    }

    pub(crate) fn bad_sudo_token() -> Self {
        Self::permission_denied("bad sudo token")
    }

    pub(crate) fn not_found(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, error, grpc::NOT_FOUND, description)
    }

    pub(crate) fn user_not_found() -> Self {
        Self::not_found("user_not_found", "user not found")
    }

    pub(crate) fn already_exists(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            error,
            grpc::ALREADY_EXISTS,
            description,
        )
    }

    /// 429 with `Retry-After`; used for the resend interval and the hourly sign-in cap.
    pub(crate) fn rate_limited(retry_after_secs: u64, description: impl Into<String>) -> Self {
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            grpc::RESOURCE_EXHAUSTED,
            description,
        );
        error.retry_after = Some(retry_after_secs.max(1));
        error
    }

    pub(crate) fn internal(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            grpc::INTERNAL,
            description,
        )
    }

    /// OAuth: refresh token (or provider token) invalid, expired, revoked or reused.
    pub(crate) fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            grpc::UNAUTHENTICATED,
            description,
        )
    }

    /// OAuth: unknown client or wrong secret (401, RFC 6749 §5.2).
    pub(crate) fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            grpc::UNAUTHENTICATED,
            description,
        )
    }

    pub(crate) fn unsupported_grant_type(grant_type: &str) -> Self {
        let description = format!("unsupported grant_type {grant_type:?}");
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            grpc::INVALID_ARGUMENT,
            description,
        )
    }

    /// Auth-specific 400 errors that a client branches on by name (`invalid_password`,
    /// `invalid_verification_code`, `invalid_captcha`, `weak_password`, ...).
    pub(crate) fn auth(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            error,
            grpc::INVALID_ARGUMENT,
            description,
        )
    }

    /// The call needs a captcha token first (`failed_precondition` class).
    pub(crate) fn captcha_required() -> Self {
        let description = "too many failed sign-ins: solve a captcha and send its token";
        Self::new(
            StatusCode::BAD_REQUEST,
            "captcha_required",
            grpc::FAILED_PRECONDITION,
            description,
        )
    }

    pub(crate) fn payload_too_large(limit: usize) -> Self {
        let description = format!("request body exceeds {limit} bytes");
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            grpc::INVALID_ARGUMENT,
            description,
        )
    }

    pub(crate) fn unsupported_media_type() -> Self {
        let description = "request body must be JSON (Content-Type: application/json)";
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_argument",
            grpc::INVALID_ARGUMENT,
            description,
        )
    }

    /// A generic body for a bare status (unknown path, wrong method, injected faults).
    pub(crate) fn from_status(status: StatusCode, description: impl Into<String>) -> Self {
        let (error, code) = match status.as_u16() {
            401 => ("unauthenticated", grpc::UNAUTHENTICATED),
            403 => ("permission_denied", grpc::PERMISSION_DENIED),
            404 => ("not_found", grpc::NOT_FOUND),
            405 => ("method_not_allowed", grpc::UNIMPLEMENTED),
            408 => ("deadline_exceeded", grpc::DEADLINE_EXCEEDED),
            409 => ("already_exists", grpc::ALREADY_EXISTS),
            413 => ("payload_too_large", grpc::INVALID_ARGUMENT),
            429 => ("resource_exhausted", grpc::RESOURCE_EXHAUSTED),
            501 => ("unimplemented", grpc::UNIMPLEMENTED),
            502 | 503 => ("unavailable", grpc::UNAVAILABLE),
            504 => ("deadline_exceeded", grpc::DEADLINE_EXCEEDED),
            500..=599 => ("internal", grpc::INTERNAL),
            _ => ("invalid_argument", grpc::INVALID_ARGUMENT),
        };
        Self::new(status, error, code, description)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.error,
            error_code: self.code,
            error_description: &self.description,
        };
        let mut response = (self.status, axum::Json(body)).into_response();
        let headers = response.headers_mut();
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        // RFC 6749 §5.2: a 401 for client authentication names the scheme to use.
        if self.error == "invalid_client" {
            headers.insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"cloudbase-auth-emulator\""),
            );
        }
        response
    }
}
