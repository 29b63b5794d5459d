//! The session: one signed-in user's tokens, refreshed on expiry.
//!
//! Invariants (each enforced where named; the tests in `tests/session.rs` and
//! `tests/defects.rs` hold them):
//! - Expiry is `receipt time + expires_in` on the configured clock, checked on every use
//!   ([`Core::fresh_tokens`]).
//! - A refresh starts `margin + jitter` before expiry, never before half the lifetime
//!   (`tokens::refresh_at`).
//! - At most one refresh is in flight ([`cache::TokenCache::join`]); it runs in a detached
//!   task, so N concurrent callers share one `POST /auth/v1/token` and a caller that is
//!   cancelled cannot abandon a rotation half-way.
//! - A new pair is saved to the store before anyone uses it, and a result that arrives
//!   after the session moved on (a newer sign-in, a sign-out) is dropped, not applied
//!   (the generation check in [`cache::TokenCache::commit`]).
//! - `invalid_grant` is terminal: the session is cleared and every caller waiting on that
//!   refresh gets `SignInRequired { RefreshRejected }` (`refresher::run`).
//! - A transient refresh failure keeps the session. An automatic refresh then keeps
//!   using the still-valid token; an explicit [`Session::refresh`] and the refresh after
//!   a 401 return the failure (the 401 says the old token is dead).
//! - One logical call makes at most `1 + max_retries` attempts of its own request
//!   (transient retries and the resend after a 401 included), plus at most
//!   `1 + max_retries` attempts of one refresh grant ([`RetryPolicy`](crate::RetryPolicy)).

mod cache;
mod refresher;
mod tokens;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use reqwest::header::HeaderValue;

use crate::call;
use crate::config::Config;
use crate::error::{Error, RawError, SignInReason};
use crate::events::SessionEvent;
use crate::generated::{Client as RawClient, ResponseValue, types};
use crate::identity::Identity;
use crate::secret::{AccessToken, RefreshToken};
use crate::token_store::StoredSession;
use crate::transport::Transport;

pub(crate) use cache::TokenCache;
pub(crate) use tokens::Tokens;
pub use tokens::decode_token_response_for_fuzzing;

/// Shared state behind a [`Session`] and its generated client.
pub(crate) struct Core {
    pub(crate) identity: Identity,
    pub(crate) transport: Transport,
    pub(crate) cache: TokenCache,
    refresh_timeout: Duration,
}

/// The generated client's inner state: a handle to the session's shared state.
///
/// Its `Debug` prints no token (the generated `Client` derives `Debug`).
#[derive(Clone)]
pub struct SessionCore(pub(crate) Arc<Core>);

impl fmt::Debug for SessionCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCore")
            .field("base_url", &self.0.identity.base_url)
            .field("client_id", &self.0.identity.client_id)
            .field("device_id", &self.0.identity.device_id)
            .field("signed_in", &self.0.cache.current().is_some())
            .finish()
    }
}

impl Core {
    /// The current tokens, refreshed first if they are within the margin of expiry.
    pub(crate) async fn fresh_tokens(self: &Arc<Self>) -> Result<Arc<Tokens>, Error> {
        let now = self.cache.now();
        self.refresh_if(|tokens| now >= tokens.refresh_at, true)
            .await
    }

    /// After the server refused `sent` with 401: refresh once, unless the session has
    /// already moved past that token (then the newer token is the answer). The refresh's
    /// failure, transient or not, is returned: the old token is dead.
    pub(crate) async fn refresh_after_rejection(
        self: &Arc<Self>,
        sent: &HeaderValue,
    ) -> Result<Arc<Tokens>, Error> {
        self.refresh_if(|tokens| tokens.bearer == sent, false).await
    }

    /// The current tokens if `needed` says they will do, else the result of a refresh
    /// (joined if one is in flight). `keep_valid`: see `TokenCache::await_refresh`.
    async fn refresh_if(
        self: &Arc<Self>,
        needed: impl FnOnce(&Tokens) -> bool,
        keep_valid: bool,
    ) -> Result<Arc<Tokens>, Error> {
        let (old, waiter) = match self.cache.join(needed)? {
            cache::Join::Ready(tokens) => return Ok(tokens),
            cache::Join::Wait { old, waiter } => (old, waiter),
            cache::Join::Lead {
                old,
                generation,
                waiter,
                done,
            } => {
                let core = self.clone();
                let tokens = old.clone();
                tokio::spawn(async move {
                    let outcome = refresher::run(&core, generation, &tokens).await;
                    core.cache.end_refresh();
                    let _ = done.send(Some(outcome));
                });
                (old, waiter)
            }
        };
        self.cache.await_refresh(old, waiter, keep_valid).await
    }
}

/// What a sign-in or refresh produced.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SignedIn {
    /// The user id.
    pub sub: Option<String>,
    /// The token scope (`user`, `anonymous`, …).
    pub scope: Option<String>,
    /// When the access token expires, on this machine's clock.
    pub expires_at: SystemTime,
}

impl SignedIn {
    fn from_tokens(tokens: &Tokens) -> SignedIn {
        SignedIn {
            sub: tokens.sub.clone(),
            scope: tokens.scope.clone(),
            expires_at: tokens.expires_at,
        }
    }
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
        let transport = Transport::new(
            config.http_client()?,
            config.per_request_timeout(),
            config.max_response_bytes,
            config.retry,
        );
        let core = Arc::new(Core {
            identity: Identity::new(&config)?,
            transport,
            cache: TokenCache::new(&config),
            refresh_timeout: config.refresh_timeout,
        });
        let raw = RawClient::new_with_client(
            &core.identity.base_url,
            core.transport.http().clone(),
            SessionCore(core.clone()),
        );
        Ok(Session { core, raw })
    }

    /// The generated client, for every operation of the spec. Its calls get the same
    /// credentials, headers, retries and refresh as this session's methods; run them
    /// with [`send`](Session::send) to get this crate's typed [`Error`].
    pub fn raw(&self) -> &RawClient {
        &self.raw
    }

    /// Runs a generated call with the session's typed errors: a failed refresh is
    /// `SignInRequired` (or the transient error that stopped it), and every other failure
    /// goes through the same redaction as this crate's own methods.
    ///
    /// ```no_run
    /// # async fn demo(session: cloudbase_auth::Session) -> Result<(), cloudbase_auth::Error> {
    /// let providers = session.send(|raw| raw.list_user_providers().send()).await?;
    /// # let _ = providers;
    /// # Ok(()) }
    /// ```
    pub fn send<'a, T, F>(
        &'a self,
        call: impl FnOnce(&'a RawClient) -> F,
    ) -> impl Future<Output = Result<T, Error>>
    where
        F: Future<Output = Result<ResponseValue<T>, RawError>>,
    {
        // Not an `async fn`: one less future around the call's (they are moved whole).
        call::observe(call(&self.raw), |result, report: Box<call::Report>| {
            result
                .map(ResponseValue::into_inner)
                .map_err(|e| report.into_error(e))
        })
    }

    /// The `x-device-id` every request carries.
    pub fn device_id(&self) -> &str {
        &self.core.identity.device_id
    }

    /// The client id requests identify with.
    pub fn client_id(&self) -> &str {
        &self.core.identity.client_id
    }

    /// The base URL requests go to.
    pub fn base_url(&self) -> &str {
        &self.core.identity.base_url
    }

    /// Whether the session holds tokens (they may still need a refresh).
    pub fn is_signed_in(&self) -> bool {
        self.core.cache.current().is_some()
    }

    /// The signed-in user's id.
    pub fn user_id(&self) -> Option<String> {
        self.core.cache.current().and_then(|t| t.sub.clone())
    }

    /// The token scope of the signed-in user (`user`, `anonymous`, …).
    pub fn scope(&self) -> Option<String> {
        self.core.cache.current().and_then(|t| t.scope.clone())
    }

    /// Whether the signed-in user is anonymous (scope `anonymous`).
    pub fn is_anonymous(&self) -> bool {
        self.core.cache.current().is_some_and(|t| t.is_anonymous())
    }

    /// When the access token expires, on this machine's clock.
    pub fn expires_at(&self) -> Option<SystemTime> {
        self.core.cache.current().map(|t| t.expires_at)
    }

    /// A valid access token, refreshed first if it is within the margin of expiry.
    pub async fn access_token(&self) -> Result<AccessToken, Error> {
        Ok(self.core.fresh_tokens().await?.access.clone())
    }

    /// The current refresh token, if any (e.g. to hand to another process).
    pub fn refresh_token(&self) -> Option<RefreshToken> {
        self.core.cache.current().and_then(|t| t.refresh.clone())
    }

    /// Session events: signed in, token refreshed, signed out, sign-in required.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<SessionEvent> {
        self.core.cache.subscribe()
    }

    /// Loads the session from the token store. `Ok(false)` if the store is empty.
    pub async fn restore(&self) -> Result<bool, Error> {
        match self.core.cache.store.load().await? {
            Some(stored) => {
                self.adopt(stored).await;
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
        self.adopt(StoredSession {
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

    /// Refreshes now (joining a refresh already in flight). Unlike the automatic
    /// refresh, a failure is returned even while the old token is still valid: a
    /// transient one as it is (`is_transient()`, the session kept), `invalid_grant` as
    /// `SignInRequired { RefreshRejected }` (the session cleared).
    pub async fn refresh(&self) -> Result<SignedIn, Error> {
        let tokens = self.core.refresh_if(|_| true, false).await?;
        Ok(SignedIn::from_tokens(&tokens))
    }

    async fn adopt(&self, stored: StoredSession) {
        let sub = stored.sub.clone();
        let event = SessionEvent::SignedIn { sub };
        self.core.cache.install(stored, None, event).await;
    }

    /// Now, on the session's clock (the configured one).
    pub(crate) fn now(&self) -> SystemTime {
        self.core.cache.now()
    }

    /// Makes a token response this session's tokens (a sign-in or sign-up).
    pub(crate) async fn signed_in(
        &self,
        response: types::TokenResponse,
    ) -> Result<SignedIn, Error> {
        let event = SessionEvent::SignedIn { sub: None };
        let tokens = self.core.cache.commit(response, None, event).await?;
        let tokens = tokens.ok_or_else(|| Error::sign_in_required(SignInReason::NotSignedIn))?;
        Ok(SignedIn::from_tokens(&tokens))
    }

    /// The session's current tokens, if any.
    pub(crate) fn tokens(&self) -> Option<Arc<Tokens>> {
        self.core.cache.current()
    }

    /// Ends the session here (memory and store).
    pub(crate) async fn end(&self, event: SessionEvent) -> Result<(), Error> {
        self.core.cache.clear(None, event).await
    }
}

impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("base_url", &self.core.identity.base_url)
            .field("client_id", &self.core.identity.client_id)
            .field("device_id", &self.core.identity.device_id)
            .field("signed_in", &self.is_signed_in())
            .finish()
    }
}
