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
//! let providers = session.raw().list_user_providers().send().await;
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

mod auth;
mod clock;
mod compat;
mod config;
mod device_flow;
mod error;
mod events;
mod generated;
mod hooks;
mod private_file;
#[cfg(feature = "redis")]
mod redis_store;
mod request_id;
mod retry;
mod scenarios;
mod secret;
mod security_history;
pub mod server;
mod session;
mod tls;
mod token_store;
#[cfg(feature = "verifier")]
#[cfg_attr(docsrs, doc(cfg(feature = "verifier")))]
pub mod verifier;

use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

pub use auth::{AuthKind, OperationAuth, operations};
pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{Config, DEFAULT_REGION};
pub use device_flow::{DEVICE_CODE_GRANT_TYPE, DeviceAuthorization};
pub use error::{ApiError, ConfigError, Error, SignInReason, StoreError};
pub use events::SessionEvent;
/// The generated client: every spec operation, with this crate's hooks.
pub use generated::Client as RawClient;
pub use generated::{ByteStream, ResponseValue, builder, types};
pub use private_file::{replace_private_file, write_private_temp};
/// The error of a [`RawClient`] call (progenitor's); [`Error`] is what this crate's methods return.
pub use progenitor_client::Error as RawError;
pub use request_id::with_request_id;
pub use retry::RetryPolicy;
pub use scenarios::{
    CaptchaChallenge, CodeSent, Contact, Introspection, SignUp, SignedIn, with_captcha_token,
};
pub use secret::{
    AccessToken, ApiKey, CaptchaToken, ClientSecret, CloudSecretKey, CustomLoginTicket, DeviceCode,
    Password, RefreshToken, StsToken, SudoToken, VerificationToken,
};
pub use security_history::SecurityHistoryKind;
pub use session::SessionCore;
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

use session::Core;

/// Entry points for the crate's property tests and fuzzers (`tests/proptest_decoders.rs`,
/// FUZZING.md). Not part of the API: no stability promise.
#[doc(hidden)]
pub mod __fuzz {
    pub use crate::hooks::normalize_error_body_for_fuzzing as normalize_error_body;
    pub use crate::session::decode_token_response_for_fuzzing as decode_token_response;
    #[cfg(feature = "verifier")]
    pub use crate::verifier::claims::{ClaimsProbe, probe_claims_for_fuzzing as probe_claims};
}

/// One user's session with CloudBase Auth: cheap to clone, `Send + Sync`; all clones
/// share the same tokens.
///
/// ```no_run
/// use cloudbase_auth::{Config, Session, SessionEvent};
///
/// # async fn demo() -> Result<(), cloudbase_auth::Error> {
/// let session = Session::new(Config::for_gateway("my-env-1a2b3c"))?;
/// let mut events = session.subscribe();
/// session.sign_in_anonymously().await?;
/// assert!(matches!(events.recv().await, Ok(SessionEvent::SignedIn { .. })));
/// let token = session.access_token().await?; // fresh, for a call this crate doesn't make
/// # let _ = token;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Session {
    core: Arc<Core>,
    raw: RawClient,
}

impl Session {
    /// A session that is not signed in yet. Fails only on bad configuration; never panics.
    pub fn new(config: Config) -> Result<Session, Error> {
        let core = Core::new(&config)?;
        let raw = core.raw();
        Ok(Session { core, raw })
    }

    /// The generated client, for every operation of the spec. Its calls get the same
    /// credentials, headers and refresh as this session's methods.
    pub fn raw(&self) -> &RawClient {
        &self.raw
    }

    /// The `x-device-id` every request carries.
    pub fn device_id(&self) -> &str {
        &self.core.device_id
    }

    /// The client id requests identify with.
    pub fn client_id(&self) -> &str {
        &self.core.client_id
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.core.base_url
    }

    /// Whether the session holds tokens (they may still need a refresh).
    pub fn is_signed_in(&self) -> bool {
        self.core.current().is_some()
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Option<String> {
        self.core.current().and_then(|t| t.sub.clone())
    }

    /// The token scope of the signed-in user (`user`, `anonymous`, …).
    pub fn scope(&self) -> Option<String> {
        self.core.current().and_then(|t| t.scope.clone())
    }

    /// Whether the signed-in user is anonymous (scope `anonymous`).
    pub fn is_anonymous(&self) -> bool {
        self.core.current().is_some_and(|t| t.is_anonymous())
    }

    /// When the access token expires, on this machine's clock.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.core.current().map(|t| t.expires_at)
    }

    /// A valid access token, refreshed first if it is within the margin of expiry.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        Ok(self.core.fresh_tokens().await?.access.clone())
    }

    /// The current refresh token, if any (e.g. to hand to another process).
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.core.current().and_then(|t| t.refresh.clone())
    }

    /// Session events: signed in, token refreshed, signed out, sign-in required.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SessionEvent> {
        self.core.subscribe()
    }

    /// Loads the session from the token store. `Ok(false)` if the store is empty.
    pub async fn restore(&self) -> Result<bool, Error> {
        match self.core.store.load().await? {
            Some(stored) => {
                self.core.adopt(stored).await;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// Starts a session from tokens obtained elsewhere (e.g. a refresh token a
    /// frontend handed to this backend); the next use refreshes it.
    pub async fn adopt_refresh_token(
        &self,
        refresh_token: RefreshToken,
    ) -> Result<SignedIn, Error> {
        self.core
            .adopt(StoredSession {
                access_token: AccessToken::new(""),
                refresh_token: Some(refresh_token),
                expires_at: SystemTime::UNIX_EPOCH,
                scope: None,
                sub: None,
                token_type: None,
            })
            .await;
        self.refresh().await
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("base_url", &self.core.base_url)
            .field("client_id", &self.core.client_id)
            .field("device_id", &self.core.device_id)
            .field("signed_in", &self.is_signed_in())
            .finish()
    }
}
