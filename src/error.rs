//! The crate's one error type, and the one path every failure a user can see goes
//! through (a [`Session`](crate::Session) method, [`Session::send`](crate::Session::send),
//! or `?` on a [`RawError`]).
//!
//! Every variant says whether the request may have reached the server (as
//! aws-sdk-rust's `SdkError` does) and carries the `x-request-id` that was sent, so a
//! failure can be found in CloudBase's logs. No variant ever holds a response body, a
//! URL or a token: all three can carry secrets.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};

use crate::failure::{TransportCause, describe_json_error, is_transient_status};
use crate::generated::types::ErrorBody;

/// The error of a generated call made through [`Session::raw`](crate::Session::raw)
/// (progenitor's). Turn it into an [`Error`] with `?` or [`Error::from_raw`]; its own
/// `Debug` and `Display` are progenitor's, but this crate's hooks never hand it a URL
/// query or a body that may hold a secret.
pub type RawError = progenitor_client::Error<ErrorBody>;

/// What the hooks observed about a call, when it ran inside one (see `call.rs`).
#[derive(Debug, Default)]
pub(crate) struct Observed {
    /// The `x-request-id` of the last attempt.
    pub(crate) request_id: Option<HeaderValue>,
    /// The server's status of an answer over the size cap (not read).
    pub(crate) too_large: Option<u16>,
    /// Why a success that may hold a secret did not decode (its body was withheld).
    pub(crate) undecodable: Option<String>,
    /// The operation sent.
    pub(crate) operation: Option<&'static str>,
}

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
    /// The request failed on the network (TLS, DNS, refused, timed out, reset).
    #[error("{}: {cause} (request id {request_id}); {}", .host.as_deref().map_or_else(|| "transport failure".to_string(), |h| format!("talking to {h}")), if *.may_have_been_sent { "the request may have been sent" } else { "the request was not sent" })]
    Transport {
        /// What class of failure it was.
        cause: TransportCause,
        /// The host (and port) the request went to; never the path or query.
        host: Option<String>,
        /// `false` only when the connection was never made.
        may_have_been_sent: bool,
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
        is_transient_status(self.status)
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

    /// A transient failure: a network fault other than a rejected certificate, a
    /// 408/429/5xx answer, or a shared token store that did not answer or lost a race
    /// ([`StoreError::is_transient`]). `SignInRequired` never is.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Api(api) => api.is_transient(),
            Error::Transport { cause, .. } => cause.is_transient(),
            Error::Store(store) => store.is_transient(),
            _ => false,
        }
    }

    /// The redacting conversion of a [`RawError`] (also `From`, so `?` works). A
    /// `response_too_large` stand-in keeps its 502; inside
    /// [`Session::send`](crate::Session::send) it becomes what it is (`Decode` for a
    /// success, the server's status for an error).
    pub fn from_raw(error: RawError) -> Error {
        Error::from_observed(error, Observed::default())
    }

    /// Maps progenitor's error with what the hooks observed. Bodies, URLs and serde
    /// messages (which quote values) are dropped on purpose.
    pub(crate) fn from_observed(error: RawError, observed: Observed) -> Error {
        use progenitor_client::Error as G;
        let operation = observed.operation.unwrap_or("a raw call");
        let sent_id = observed.request_id.as_ref().and_then(header_text);
        match error {
            G::ErrorResponse(response) => {
                let status = response.status().as_u16();
                let request_id = sent_id.or_else(|| {
                    response
                        .headers()
                        .get(crate::ids::REQUEST_ID)
                        .and_then(header_text)
                });
                let headers = response.headers().clone();
                let body = response.into_inner();
                match observed.too_large {
                    Some(original) if original < 400 => Error::Decode {
                        operation: operation.to_string(),
                        status: original,
                        reason: body
                            .error_description
                            .unwrap_or_else(|| "the response body was too large".into()),
                        request_id: request_id.unwrap_or_default(),
                    },
                    too_large => Error::api(
                        too_large.unwrap_or(status),
                        body,
                        &headers,
                        request_id.unwrap_or_default(),
                    ),
                }
            }
            G::CommunicationError(e) | G::InvalidUpgrade(e) | G::ResponseBodyError(e) => {
                Error::transport(e, sent_id.unwrap_or_default())
            }
            G::InvalidResponsePayload(_, e) => Error::Decode {
                operation: operation.to_string(),
                status: 200,
                reason: observed
                    .undecodable
                    .unwrap_or_else(|| describe_json_error(&e)),
                request_id: sent_id.unwrap_or_default(),
            },
            G::UnexpectedResponse(response) => Error::Decode {
                operation: operation.to_string(),
                status: response.status().as_u16(),
                reason: "an undocumented status".into(),
                request_id: sent_id.unwrap_or_default(),
            },
            // Only this crate's `pre` hook returns `Custom`, with a message built from an
            // `Error` (inside `Session::send` the typed error is returned instead).
            G::InvalidRequest(message) | G::Custom(message) => Error::InvalidRequest { message },
        }
    }

    /// An error answer; `Retry-After` read from its headers.
    pub(crate) fn api(
        status: u16,
        body: ErrorBody,
        headers: &HeaderMap,
        request_id: String,
    ) -> Error {
        Error::Api(Box::new(ApiError {
            status,
            error: body.error,
            error_code: body.error_code.map(i64::from),
            error_description: body.error_description,
            request_id,
            retry_after: crate::retry::retry_after(headers),
        }))
    }

    pub(crate) fn transport(error: reqwest::Error, request_id: String) -> Error {
        let cause = crate::failure::classify(&error);
        let host = crate::failure::host_of(&error);
        let may_have_been_sent = !(error.is_connect() || error.is_builder());
        Error::Transport {
            cause,
            host,
            may_have_been_sent,
            request_id,
            // `without_url`: reqwest prints the URL, and a URL can carry a sudo token.
            source: Some(Arc::new(error.without_url())),
        }
    }

    pub(crate) fn sign_in_required(reason: SignInReason) -> Error {
        Error::SignInRequired {
            reason,
            request_id: None,
        }
    }
}

impl From<RawError> for Error {
    fn from(error: RawError) -> Error {
        Error::from_raw(error)
    }
}

/// A request id header as text (it is always ASCII: this crate or the caller made it).
pub(crate) fn header_text(value: &HeaderValue) -> Option<String> {
    value.to_str().ok().map(str::to_string)
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
    /// The base URL does not parse, is not http(s), or has a path, query or fragment.
    #[error(
        "base URL `{0}` is not valid: give an absolute http(s) URL without a path, e.g. `https://my-env.api.tcloudbasegateway.com` (the client adds `/auth/v1/…` itself)"
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
