//! A typed Rust client for Tencent CloudBase Auth v1 over raw HTTP.
//!
//! For backends, admin scripts and gateways that cannot use the JS/Node SDKs:
//! sign-in and sign-up, verification codes, anonymous sign-in, sessions that refresh
//! their tokens on expiry, introspection, revocation, the current user, password
//! change and linked providers.
//!
//! - Every operation of `spec/cloudbase-auth-v1.yaml` is generated at build time by
//!   progenitor and reachable through [`Session::raw`]; the [`types`] module holds the
//!   request and response bodies.
//! - [`Session`] adds what the generated code cannot: the right credential per operation
//!   (from the spec's `security`), `x-device-id` and `x-request-id` headers, refresh
//!   before expiry (single-flight, rotation-safe), token stores, typed [`Error`]s, and
//!   no secret in any `Debug` or log line.
//!
//! ```no_run
//! use cloudbase_auth::{Config, Session};
//!
//! # async fn demo() -> Result<(), cloudbase_auth::Error> {
//! let session = Session::new(Config::for_env("my-env-1a2b3c"))?;
//! session.sign_in_with_password("alice", "correct horse battery").await?;
//! let me = session.me().await?; // refreshed first if the token is about to expire
//! println!("{:?}", me.name);
//! // Any generated operation, with the same headers, credentials and refresh:
//! let providers = session.send(|raw| raw.list_user_providers().send()).await?;
//! # let _ = providers;
//! # Ok(()) }
//! ```
//!
//! # Features
//!
//! | feature | what |
//! |---|---|
//! | `rustls` (default) | TLS by rustls with aws-lc-rs and the platform's certificate verifier |
//! | `rustls-ring` | TLS by rustls with ring and Mozilla's roots compiled in (webpki-roots): no C toolchain, no CA bundle in the image; wins over the other TLS features |
//! | `native-tls` | TLS by the platform's library (OpenSSL, Schannel, Security.framework); turn default features off to drop rustls |
//! | `verifier` | `verifier::Verifier`: checks CloudBase access tokens (introspection or JWKS) |
//! | `axum` | `verifier` plus a tower layer and an axum extractor |
//!
//! With no TLS feature only `http://` works (e.g. the emulator). To bring your own
//! `reqwest::Client` ([`Config::with_http_client`]), build it from the re-exported
//! [`reqwest`] so the versions match.
#![forbid(unsafe_code)]
#![warn(missing_docs)]
// docs.rs builds with `--cfg docsrs` and every feature: each feature-gated item is
// labelled with the feature that enables it.
#![cfg_attr(docsrs, feature(doc_cfg))]

// Module map (no module imports one that imports it back):
// - `config`: the builder users fill in; `identity`: who requests come from, and the
//   headers every request gets from it; `auth`: the spec's operation → credential
//   table and the one function that makes a credential a header.
// - `transport`: sends, retries (the only attempt loop), bounded reads, error-body
//   normalisation; `retry`: the policy it follows; `failure`: what a failure was
//   (cause class, host, transient or not).
// - `call`: the typed per-call context between a caller and the hooks.
// - `hooks`: progenitor's hooks: stamp the request, send it, recover once from a 401.
// - `session`: the session handle, its token cache and its refresher.
// - `api`: the session's methods, one file per area.
// - `error`: the one error type and the one redacting path into it.

mod api;
mod auth;
mod call;
mod clock;
mod compat;
mod config;
mod error;
mod events;
mod failure;
mod generated;
mod hooks;
mod identity;
mod ids;
mod private_file;
#[cfg(feature = "redis")]
mod redis_store;
mod retry;
mod secret;
mod sensitive_header;
pub mod server;
mod session;
mod tls;
mod token_store;
mod transport;
#[cfg(feature = "verifier")]
#[cfg_attr(docsrs, doc(cfg(feature = "verifier")))]
pub mod verifier;

pub use api::captcha::CaptchaChallenge;
pub use api::device_flow::{DEVICE_CODE_GRANT_TYPE, DeviceAuthorization};
pub use api::security_history::SecurityHistoryKind;
pub use api::sign_in::SignUp;
pub use api::tokens::{Introspection, Revocable};
pub use api::verification::{CodeSent, Contact};
pub use auth::{AuthKind, OperationAuth, operations};
pub use call::{with_bearer_token, with_captcha_token, with_request_id};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, DEFAULT_REGION};
pub use error::{ApiError, ConfigError, Error, RawError, SignInReason, StoreError};
pub use events::SessionEvent;
pub use failure::TransportCause;
/// The generated client: every spec operation, with this crate's hooks.
pub use generated::Client as RawClient;
pub use generated::{ByteStream, ResponseValue, builder, types};
pub use ids::new_device_id;
pub use private_file::{replace_private_file, write_private_temp};
pub use retry::RetryPolicy;
pub use secret::{
    AccessToken, ApiKey, CaptchaToken, ClientSecret, CloudSecretKey, CustomLoginTicket, DeviceCode,
    Password, RefreshToken, StsToken, SudoToken, VerificationToken,
};
pub use session::{Session, SessionCore, SignedIn};
pub use token_store::{
    FileTokenStore, MemoryTokenStore, StoreFuture, StoreLock, StoredSession, TokenStore,
    decode_session_file,
};

/// The `redis` crate this crate's Redis support is built on (feature `redis`), for building
/// a [`redis::aio::ConnectionManager`] of the matching version.
#[cfg(feature = "redis")]
pub use redis;
#[cfg(feature = "redis")]
pub use redis_store::RedisTokenStore;
/// The README's Rust blocks, compiled and run as doctests so they stay true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The HTTP client crate this one is built on. A client given to
/// [`Config::with_http_client`] must be this version's `reqwest::Client`: name it through
/// this re-export and the versions always match.
pub use reqwest;

/// Entry points for the crate's property tests and fuzzers (`tests/proptest_decoders.rs`,
/// FUZZING.md). Not part of the API: no stability promise.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::session::decode_token_response_for_fuzzing as decode_token_response;
    pub use crate::transport::guarded_operations_for_tests as guarded_operations;
    pub use crate::transport::normalize_error_body_for_fuzzing as normalize_error_body;
    #[cfg(feature = "verifier")]
    pub use crate::verifier::claims::{ClaimsProbe, probe_claims_for_fuzzing as probe_claims};
}
