//! The crate's one error type.
//!
//! Every variant says whether the request may have reached the server (as
//! aws-sdk-rust's `SdkError` does) and carries the `x-request-id` that was sent, so a
//! failure can be found in CloudBase's logs. No variant ever holds a response body or
//! a URL: both can carry tokens.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::generated::types::ErrorBody;

/// Everything that can go wrong.
///
/// Match on what a caller can act on; the enum is `#[non_exhaustive]`, so keep a `_` arm.
///
/// ```no_run
/// use cloudbase_auth::{Error, Session};
///
/// # async fn demo(session: Session) {
/// match session.sign_in_with_password("alice", "wrong").await {
///     Ok(signed_in) => println!("welcome {:?}", signed_in),
///     Err(Error::Api(api)) if api.is_captcha_required() => { /* show the captcha */ }
///     Err(Error::Api(api)) => eprintln!("refused: {} ({})", api.error, api.request_id),
///     Err(e @ Error::Transport { .. }) if !e.may_have_been_sent() => { /* safe to resend */ }
///     Err(Error::SignInRequired { reason, .. }) => eprintln!("sign in again: {reason}"),
///     Err(other) => eprintln!("{other}"), // names the request id; never a token
/// }
/// # }
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The server answered with an error body (`{error, error_code, error_description}`
    /// or the gateway's `{code, message, requestId}`). The request was sent.
    #[error("{0}")]
    Api(Box<ApiError>),
    /// The request failed on the network (connect, TLS, timeout, reset).
    #[error("{message} (request id {request_id}); {}", if *.may_have_been_sent { "the request may have been sent" } else { "the request was not sent" })]
    Transport {
        /// What failed, without the URL.
        message: String,
        /// `false` only when the connection was never made.
        may_have_been_sent: bool,
        /// The request or connect timeout elapsed.
        timed_out: bool,
        /// The `x-request-id` sent.
        request_id: String,
        /// The underlying error, its URL removed.
        #[source]
        source: Option<Arc<reqwest::Error>>,
    },
    /// The response did not have the documented shape, or a successful response was
    /// larger than [`Config::with_max_response_bytes`](crate::Config::with_max_response_bytes)
    /// (then it was not read). The body is not echoed: it may hold tokens.
    #[error(
        "the response to `{operation}` (HTTP {status}) did not match the spec: {reason} (request id {request_id}); the request was sent"
    )]
    Decode {
        /// The operation id.
        operation: String,
        /// The HTTP status of the response.
        status: u16,
        /// What was wrong (a category and position, never a value).
        reason: String,
        /// The `x-request-id` sent.
        request_id: String,
    },
    /// There is no usable session: sign in again.
    #[error("sign in again: {reason}")]
    SignInRequired {
        /// Why.
        reason: SignInReason,
        /// The request that found out, if any.
        request_id: Option<String>,
    },
    /// The request could not be built (a required field is missing). Nothing was sent.
    #[error("invalid request: {message}; nothing was sent")]
    InvalidRequest {
        /// What is missing or wrong.
        message: String,
    },
    /// The client configuration is wrong. Nothing was sent.
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// The token store failed.
    #[error("token store: {0}")]
    Store(#[from] StoreError),
}

/// Why a session cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignInReason {
    /// Nobody has signed in on this session (or it was signed out).
    NotSignedIn,
    /// The server refused the refresh token (`invalid_grant`): revoked, reused or expired.
    RefreshRejected,
    /// The session has no refresh token and is not anonymous.
    NoRefreshToken,
}

impl fmt::Display for SignInReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SignInReason::NotSignedIn => {
                "the session is not signed in; call a sign-in method first"
            }
            SignInReason::RefreshRejected => {
                "the server rejected the refresh token (invalid_grant); the session was cleared"
            }
            SignInReason::NoRefreshToken => {
                "the session has no refresh token and cannot be renewed"
            }
        })
    }
}

/// An error answer from the server.
///
/// ```no_run
/// use cloudbase_auth::{Error, Session};
///
/// # async fn demo(session: Session) -> Result<(), Error> {
/// if let Err(Error::Api(api)) = session.me().await {
///     // e.g. 401 `unauthenticated` (16): the session could not be renewed.
///     eprintln!("HTTP {} {} {:?}: {:?}", api.status, api.error, api.error_code, api.error_description);
///     eprintln!("quote request id {} to CloudBase support", api.request_id);
///     if api.is_transient() { /* worth trying again later */ }
/// }
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// The `error` name, e.g. `invalid_password`, `captcha_required`, `unauthenticated`.
    /// Two names come from this crate, not the server: `response_too_large` (an error
    /// answer over the size cap, not read) and `http_<status>` (an error answer without
    /// a JSON error body). A gateway's `{code, message, requestId}` gives `error` = `code`.
    pub error: String,
    /// The numeric `error_code` (gRPC-style), when given.
    pub error_code: Option<i64>,
    /// The human-readable `error_description`, when given.
    pub error_description: Option<String>,
    /// The `x-request-id` this crate sent.
    pub request_id: String,
    /// The server's `Retry-After`, when given.
    pub retry_after: Option<Duration>,
}

impl ApiError {
    /// The call needs a solved captcha: see [`Session::captcha_image`](crate::Session::captcha_image).
    pub fn is_captcha_required(&self) -> bool {
        self.error == "captcha_required" || self.error == "captcha_invalid"
    }

    /// The access token was refused.
    pub fn is_unauthenticated(&self) -> bool {
        self.error == "unauthenticated"
    }

    /// A refresh token, provider token or code was refused.
    pub fn is_invalid_grant(&self) -> bool {
        self.error == "invalid_grant"
    }

    /// Transient: worth retrying later (408, 429, 5xx other than 501).
    pub fn is_transient(&self) -> bool {
        matches!(self.status, 408 | 429 | 500 | 502 | 503 | 504)
    }

    /// Wrong username, password or other credential, under any of the names the server
    /// uses: the documented `invalid_password` and the names `@cloudbase/oauth` 3.3.3 says
    /// the server really returns (`src/auth/consts.ts:121-128`).
    pub fn is_bad_credentials(&self) -> bool {
        matches!(
            self.error.as_str(),
            "invalid_password"
                | "invalid_username_or_password"
                | "invalid_credentials"
                | "wrong_password"
                | "user_not_found"
        )
    }

    /// The sign-in method or identity provider is switched off for the environment.
    pub fn is_sign_in_method_disabled(&self) -> bool {
        matches!(
            self.error.as_str(),
            "provider_not_enabled" | "login_method_disabled"
        )
    }

    fn hint(&self) -> &'static str {
        match self.error.as_str() {
            "captcha_required" | "captcha_invalid" => {
                "; solve a captcha (Session::captcha_image, Session::verify_captcha) and resend with cloudbase_auth::with_captcha_token"
            }
            "unauthenticated" => "; the access token was refused: sign in again",
            "invalid_client" => "; check the client id and client secret",
            "permission_denied" => "; check the sudo token, or the client's allowed domains",
            "invalid_password"
            | "invalid_username_or_password"
            | "invalid_credentials"
            | "wrong_password"
            | "user_not_found" => "; check the username and password",
            "provider_not_enabled" | "login_method_disabled" => {
                "; enable this sign-in method for the environment in the CloudBase console"
            }
            _ => "",
        }
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (HTTP {}", self.error, self.status)?;
        if let Some(code) = self.error_code {
            write!(f, ", code {code}")?;
        }
        write!(f, ")")?;
        if let Some(description) = &self.error_description {
            write!(f, ": {description}")?;
        }
        write!(f, "{} (request id {})", self.hint(), self.request_id)
    }
}

impl Error {
    /// The `x-request-id` of the failed request, when one was sent.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Error::Api(api) => Some(&api.request_id),
            Error::Transport { request_id, .. } | Error::Decode { request_id, .. } => {
                Some(request_id)
            }
            Error::SignInRequired { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The API error, if the server answered with one.
    pub fn as_api(&self) -> Option<&ApiError> {
        match self {
            Error::Api(api) => Some(api),
            _ => None,
        }
    }

    /// Whether the request may have reached the server.
    pub fn may_have_been_sent(&self) -> bool {
        match self {
            Error::Api(_) | Error::Decode { .. } => true,
            Error::Transport {
                may_have_been_sent, ..
            } => *may_have_been_sent,
            _ => false,
        }
    }

    /// A transient failure: a network fault, a 408/429/5xx answer, or a shared token store
    /// that did not answer or lost a race ([`StoreError::is_transient`]).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(api) => api.is_transient(),
            Error::Transport { .. } => true,
            Error::Store(store) => store.is_transient(),
            _ => false,
        }
    }

    /// Maps progenitor's error. Bodies and URLs are dropped on purpose.
    pub(crate) fn from_generated(
        error: progenitor_client::Error<ErrorBody>,
        operation: &str,
        request_id: String,
    ) -> Error {
        use progenitor_client::Error as G;
        match error {
            G::ErrorResponse(response) => {
                let retry_after = crate::retry::retry_after(response.headers());
                let status = response.status().as_u16();
                // The hooks' stand-in for a body over `Config::with_max_response_bytes`:
                // a success we could not read is a decode failure; an error status
                // stays an API error with the server's status (so 5xx stay transient).
                let too_large = response
                    .headers()
                    .get(crate::hooks::TOO_LARGE_MARKER)
                    .and_then(|v| v.to_str().ok()?.parse::<u16>().ok());
                let body = response.into_inner();
                match too_large {
                    Some(original) if original < 400 => Error::Decode {
                        operation: operation.to_string(),
                        status: original,
                        reason: body
                            .error_description
                            .unwrap_or_else(|| "the response body was too large".into()),
                        request_id,
                    },
                    Some(original) => Error::api(original, body, request_id, retry_after),
                    None => Error::api(status, body, request_id, retry_after),
                }
            }
            G::CommunicationError(e) | G::InvalidUpgrade(e) => Error::transport(e, request_id),
            G::ResponseBodyError(e) => Error::transport(e, request_id),
            G::InvalidResponsePayload(_, e) => Error::Decode {
                operation: operation.to_string(),
                status: 200,
                reason: describe_json_error(&e),
                request_id,
            },
            G::UnexpectedResponse(response) => Error::Decode {
                operation: operation.to_string(),
                status: response.status().as_u16(),
                reason: "an undocumented status".into(),
                request_id,
            },
            G::InvalidRequest(message) => Error::InvalidRequest { message },
            // Only our own pre hook returns `Custom`, with a message built from an `Error`.
            G::Custom(message) => Error::InvalidRequest { message },
        }
    }

    pub(crate) fn api(
        status: u16,
        body: ErrorBody,
        request_id: String,
        retry_after: Option<Duration>,
    ) -> Error {
        Error::Api(Box::new(ApiError {
            status,
            error: body.error,
            error_code: body.error_code.map(i64::from),
            error_description: body.error_description,
            request_id,
            retry_after,
        }))
    }

    pub(crate) fn transport(error: reqwest::Error, request_id: String) -> Error {
        // `without_url`: reqwest prints the URL, and a URL can carry a sudo token.
        let error = error.without_url();
        let timed_out = error.is_timeout();
        let may_have_been_sent = !error.is_connect();
        let message = if timed_out {
            "the request timed out".to_string()
        } else if error.is_connect() {
            "could not connect to the server".to_string()
        } else {
            "the connection failed".to_string()
        };
        Error::Transport {
            message,
            may_have_been_sent,
            timed_out,
            request_id,
            source: Some(Arc::new(error)),
        }
    }

    pub(crate) fn sign_in_required(reason: SignInReason) -> Error {
        Error::SignInRequired {
            reason,
            request_id: None,
        }
    }
}

/// serde_json's messages quote the offending value ("invalid type: string \"eyJ…\""),
/// which may be a token; keep only the category and position.
fn describe_json_error(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match error.classify() {
        Category::Io => "an I/O error while reading",
        Category::Syntax => "malformed JSON",
        Category::Data => "a field of the wrong type or missing",
        Category::Eof => "truncated JSON",
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

/// Bad configuration, found before anything is sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The environment id is empty or has characters other than `a-z`, `0-9`, `-`, `_`.
    #[error(
        "environment id `{0}` is not valid: use the id shown in the CloudBase console, e.g. `my-env-1a2b3c`"
    )]
    InvalidEnvId(String),
    /// The region is not of the form `ap-shanghai`.
    #[error("region `{0}` is not valid: use a region id such as `ap-shanghai` or `ap-guangzhou`")]
    InvalidRegion(String),
    /// The base URL does not parse or is not http(s).
    #[error(
        "base URL `{0}` is not valid: give an absolute http(s) URL without a path, e.g. `https://my-env.api.tcloudbasegateway.com`"
    )]
    InvalidBaseUrl(String),
    /// A base URL was given without a client id (there is no env id to default to).
    #[error(
        "no client id: with a custom base URL, call `with_client_id` (the env id is the default client id)"
    )]
    MissingClientId,
    /// The device id is 72 characters or longer (the server rejects it).
    #[error("device id is {0} characters long; the server accepts fewer than 72")]
    DeviceIdTooLong(usize),
    /// The device id has characters a header cannot carry.
    #[error("device id must be visible ASCII (it travels in the `x-device-id` header)")]
    InvalidDeviceId,
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    HttpClient(String),
}

/// A token store failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading or writing the file failed.
    #[error("{operation} {path}: {message}")]
    Io {
        /// What was being done.
        operation: &'static str,
        /// The file.
        path: String,
        /// The OS error.
        message: String,
    },
    /// The file exists but is not a session this crate wrote. It is left as it is.
    #[error("{path} is not a valid session file ({reason}); delete it to sign in again")]
    Corrupt {
        /// The file.
        path: String,
        /// What is wrong with it (never its content).
        reason: String,
    },
    /// The shared store (Redis) did not answer: down, unreachable, or too slow. Nothing
    /// was written. Transient: a session keeps using its current token while it is valid.
    #[error(
        "{operation} `{key}`: {message}; the session keeps its current token until the store answers again"
    )]
    Unavailable {
        /// What was being done.
        operation: &'static str,
        /// The store's key (never a token or a password).
        key: String,
        /// What failed.
        message: String,
    },
    /// The shared store refused a write that would replace a newer session: this process
    /// lost its refresh lease, and another process has written (or may be writing) a
    /// newer pair. Transient: the next refresh re-reads the store and adopts that pair.
    #[error(
        "a newer session is stored at `{key}` ({reason}); this pair was not saved and the next refresh adopts the stored one"
    )]
    Conflict {
        /// The store's key.
        key: String,
        /// Why the write was refused.
        reason: &'static str,
    },
}

impl StoreError {
    /// Whether trying again later may succeed (the store was unreachable or another
    /// process won a race), as opposed to a store that needs fixing.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            StoreError::Unavailable { .. } | StoreError::Conflict { .. }
        )
    }
}
