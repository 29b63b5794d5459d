//! The session: one signed-in user's tokens, refreshed on expiry.
//!
//! Design (anchors §3.7, emulator-reliability §2):
//! - expiry is `receipt time + expires_in` on the wall clock, checked on every use;
//! - a refresh starts `margin + jitter` before expiry, single-flight, in a detached task,
//!   so N concurrent callers share one `POST /auth/v1/token` and a caller that is
//!   cancelled cannot abandon a rotation half-way;
//! - a new pair is saved to the store before anyone uses it, and a result that arrives
//!   after the session moved on (a newer sign-in, a sign-out) is dropped, not applied;
//! - `invalid_grant` is terminal; transient failures keep the session.

use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::HeaderValue;
use tokio::sync::{broadcast, watch};

use crate::clock::Clock;
use crate::config::Config;
use crate::error::{ConfigError, Error, SignInReason};
use crate::events::SessionEvent;
use crate::generated::Client as RawClient;
use crate::generated::types;
use crate::retry::RetryPolicy;
use crate::secret::{AccessToken, ClientSecret, RefreshToken};
use crate::token_store::{StoredSession, TokenStore};

/// The tokens of a signed-in session, immutable once committed.
pub(crate) struct Tokens {
    pub(crate) access: AccessToken,
    pub(crate) refresh: Option<RefreshToken>,
    pub(crate) expires_at: SystemTime,
    /// When to start refreshing: `expires_at - (margin + jitter)`, fixed at commit.
    refresh_at: SystemTime,
    /// `Bearer <access>`, built once per token rather than on every request.
    pub(crate) bearer: HeaderValue,
    pub(crate) scope: Option<String>,
    pub(crate) sub: Option<String>,
    token_type: Option<String>,
}

impl Tokens {
    pub(crate) fn is_anonymous(&self) -> bool {
        self.scope
            .as_deref()
            .is_some_and(|s| s.split_whitespace().any(|s| s == "anonymous"))
    }

    fn stored(&self) -> StoredSession {
        StoredSession {
            access_token: self.access.clone(),
            refresh_token: self.refresh.clone(),
            expires_at: self.expires_at,
            scope: self.scope.clone(),
            sub: self.sub.clone(),
            token_type: self.token_type.clone(),
        }
    }
}

type Outcome = Option<Result<(), Error>>;

#[derive(Default)]
struct State {
    tokens: Option<Arc<Tokens>>,
    /// Bumped on every commit and sign-out; a refresh started at generation `g`
    /// commits only if the session is still at `g`.
    generation: u64,
    /// The refresh in flight, if any; every caller that needs it waits on this.
    refresh: Option<watch::Receiver<Outcome>>,
}

/// Shared state behind a [`Session`](crate::Session) and its generated client.
pub(crate) struct Core {
    pub(crate) base_url: String,
    pub(crate) http: reqwest::Client,
    pub(crate) client_id: String,
    /// `Basic base64(client_id:client_secret)`, built once.
    pub(crate) client_basic: HeaderValue,
    pub(crate) cloud_secret: Option<crate::server::ServerCredential>,
    pub(crate) device_id: String,
    pub(crate) device_header: HeaderValue,
    pub(crate) refresh_timeout: Duration,
    pub(crate) retry: RetryPolicy,
    pub(crate) max_response_bytes: usize,
    refresh_margin: Duration,
    refresh_jitter: Duration,
    clock: Arc<dyn Clock>,
    pub(crate) store: Arc<dyn TokenStore>,
    state: Mutex<State>,
    /// Serialises store writes with the in-memory commit, so the store and memory
    /// always agree on which pair is current.
    commit_gate: tokio::sync::Mutex<()>,
    events: broadcast::Sender<SessionEvent>,
}

/// The generated client's inner state: a handle to the session's shared state.
///
/// Its `Debug` prints no token (the generated `Client` derives `Debug`).
#[derive(Clone)]
pub struct SessionCore(pub(crate) Arc<Core>);

impl fmt::Debug for SessionCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionCore")
            .field("base_url", &self.0.base_url)
            .field("client_id", &self.0.client_id)
            .field("device_id", &self.0.device_id)
            .field("signed_in", &self.0.current().is_some())
            .finish()
    }
}

impl Core {
    pub(crate) fn new(config: &Config) -> Result<Arc<Core>, Error> {
        let client_id = config.resolved_client_id()?;
        let secret = config
            .client_secret
            .as_ref()
            .map(ClientSecret::expose_secret);
        let device_id = config.resolved_device_id()?;
        Ok(Arc::new(Core {
            base_url: config.base_url()?,
            http: config.http_client()?,
            client_basic: crate::auth::basic(&client_id, secret.unwrap_or("")),
            client_id,
            cloud_secret: config.cloud_secret.clone(),
            device_header: HeaderValue::from_str(&device_id)
                .map_err(|_| ConfigError::InvalidDeviceId)?,
            device_id,
            refresh_timeout: config.refresh_timeout,
            retry: config.retry,
            max_response_bytes: config.max_response_bytes,
            refresh_margin: config.refresh_margin,
            refresh_jitter: config.refresh_jitter,
            clock: config.clock.clone(),
            store: config.store.clone(),
            state: Mutex::new(State::default()),
            commit_gate: tokio::sync::Mutex::new(()),
            events: broadcast::channel(64).0,
        }))
    }

    /// A generated client sharing this core. Built on demand rather than stored, so
    /// the core does not own a client that owns the core (an `Arc` cycle).
    pub(crate) fn raw(self: &Arc<Self>) -> RawClient {
        RawClient::new_with_client(&self.base_url, self.http.clone(), SessionCore(self.clone()))
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not make the session unusable; the state is always
        // consistent between statements.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn current(&self) -> Option<Arc<Tokens>> {
        self.state().tokens.clone()
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: SessionEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// The current tokens, refreshed first if they are within the margin of expiry.
    pub(crate) async fn fresh_tokens(self: &Arc<Self>) -> Result<Arc<Tokens>, Error> {
        let now = self.now();
        self.refresh_if(|tokens| now >= tokens.refresh_at).await
    }

    /// After the server refused `sent` with 401: refresh once, unless the session has
    /// already moved past that token (then the newer token is the answer).
    pub(crate) async fn refresh_after_rejection(
        self: &Arc<Self>,
        sent: &str,
    ) -> Result<Arc<Tokens>, Error> {
        let rejected = self.current();
        let refreshed = self
            .refresh_if(|tokens| tokens.access.expose_secret() == sent)
            .await?;
        // The server said this token is dead: never fall back to it.
        match rejected {
            Some(rejected)
                if Arc::ptr_eq(&refreshed, &rejected)
                    && rejected.access.expose_secret() == sent =>
            {
                Err(Error::sign_in_required(SignInReason::RefreshRejected))
            }
            _ => Ok(refreshed),
        }
    }

    /// Forces a refresh now (joining one already in flight).
    pub(crate) async fn force_refresh(self: &Arc<Self>) -> Result<Arc<Tokens>, Error> {
        self.refresh_if(|_| true).await
    }

    /// The current tokens if `needed` says they will do, else the result of a refresh
    /// (joined if one is in flight).
    async fn refresh_if(
        self: &Arc<Self>,
        needed: impl FnOnce(&Tokens) -> bool,
    ) -> Result<Arc<Tokens>, Error> {
        let (old, waiter) = {
            let mut state = self.state();
            let tokens = state
                .tokens
                .clone()
                .ok_or_else(|| Error::sign_in_required(SignInReason::NotSignedIn))?;
            if !needed(&tokens) {
                return Ok(tokens);
            }
            (tokens, self.join_refresh(&mut state))
        };
        self.await_refresh(old, waiter).await
    }

    /// The in-flight refresh, or a new one started in a detached task.
    fn join_refresh(self: &Arc<Self>, state: &mut State) -> watch::Receiver<Outcome> {
        if let Some(waiter) = &state.refresh {
            return waiter.clone();
        }
        let (done, waiter) = watch::channel(None);
        state.refresh = Some(waiter.clone());
        let core = self.clone();
        let generation = state.generation;
        let tokens = state.tokens.clone();
        tokio::spawn(async move {
            let outcome = match tokens {
                Some(tokens) => core.run_refresh(generation, &tokens).await,
                None => Err(Error::sign_in_required(SignInReason::NotSignedIn)),
            };
            core.state().refresh = None;
            let _ = done.send(Some(outcome));
        });
        waiter
    }

    async fn await_refresh(
        &self,
        old: Arc<Tokens>,
        mut waiter: watch::Receiver<Outcome>,
    ) -> Result<Arc<Tokens>, Error> {
        let outcome = match waiter.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
            Err(_) => Err(Error::Transport {
                message: "the refresh task stopped before finishing".into(),
                may_have_been_sent: true,
                timed_out: false,
                request_id: String::new(),
                source: None,
            }),
        };
        match outcome {
            Ok(()) => self
                .current()
                .ok_or_else(|| Error::sign_in_required(SignInReason::NotSignedIn)),
            // A transient failure while the token is still valid: keep using it
            // (the next call tries to refresh again).
            Err(e) if e.is_transient() && self.now() < old.expires_at => Ok(old),
            Err(e) => Err(e),
        }
    }

    /// One refresh: the refresh grant, or a new anonymous sign-in for anonymous sessions.
    ///
    /// The refresh grant runs under the store's cross-process lock, if it has one, and
    /// first re-reads the store: when another process sharing it has already rotated the
    /// refresh token, its pair is adopted instead of spending ours (which the server
    /// would treat as a reuse).
    async fn run_refresh(
        self: &Arc<Self>,
        generation: u64,
        old: &Arc<Tokens>,
    ) -> Result<(), Error> {
        let _lock;
        let (generation, response) = if old.is_anonymous() {
            let response = crate::scenarios::anonymous_sign_in_request(self).await;
            (generation, response)
        } else {
            if old.refresh.is_none() {
                return Err(Error::sign_in_required(SignInReason::NoRefreshToken));
            }
            _lock = self.store.lock().await?;
            let (generation, old) = if _lock.is_some() {
                match self.adopt_newer_stored(generation, old).await {
                    Some(next) => next,
                    None => return Ok(()),
                }
            } else {
                (generation, old.clone())
            };
            let refresh = old
                .refresh
                .clone()
                .ok_or_else(|| Error::sign_in_required(SignInReason::NoRefreshToken))?;
            (generation, self.grant_with_retries(&refresh, &old).await)
        };
        match response {
            Ok(response) => {
                self.commit(response, Some(generation), SessionEvent::TokenRefreshed)
                    .await?;
                Ok(())
            }
            Err(Error::Api(api)) if api.is_invalid_grant() => {
                tracing::warn!(request_id = %api.request_id, "refresh token rejected; the session was cleared");
                self.clear(Some(generation), SessionEvent::SignInRequired)
                    .await?;
                Err(Error::SignInRequired {
                    reason: SignInReason::RefreshRejected,
                    request_id: Some(api.request_id),
                })
            }
            Err(e) => Err(e),
        }
    }

    /// Under the store's lock: if the store holds a newer refresh token for the same user
    /// (another process rotated it), adopts the stored pair. Returns what to refresh
    /// with, or `None` when nothing is left to do (the adopted pair is fresh, or the
    /// session moved on meanwhile).
    async fn adopt_newer_stored(
        &self,
        generation: u64,
        old: &Arc<Tokens>,
    ) -> Option<(u64, Arc<Tokens>)> {
        let stored = match self.store.load().await {
            Ok(Some(stored)) => stored,
            Ok(None) => return Some((generation, old.clone())),
            Err(error) => {
                tracing::warn!(%error, "could not re-read the token store; refreshing with this session's token");
                return Some((generation, old.clone()));
            }
        };
        let newer = match (&stored.refresh_token, &old.refresh) {
            (Some(stored), Some(own)) => stored.expose_secret() != own.expose_secret(),
            _ => false,
        };
        let same_user = old.sub.is_none() || stored.sub == old.sub;
        if !(newer && same_user) {
            return Some((generation, old.clone()));
        }
        let (generation, tokens) = self
            .install(stored, Some(generation), SessionEvent::TokenRefreshed)
            .await?;
        if self.now() < tokens.refresh_at {
            tracing::debug!("another process already rotated the refresh token; adopted its pair");
            return None;
        }
        Some((generation, tokens))
    }

    /// The refresh grant, retried on transient failures while the old access token
    /// is still valid. Resending the same refresh token is safe while the server cannot
    /// have rotated it, or inside its reuse window, where it returns the current pair
    /// ([`may_resend_refresh`]).
    async fn grant_with_retries(
        self: &Arc<Self>,
        refresh: &RefreshToken,
        old: &Tokens,
    ) -> Result<types::TokenResponse, Error> {
        let mut attempt = 0;
        let started = tokio::time::Instant::now();
        loop {
            let result = crate::scenarios::refresh_grant_request(self, refresh).await;
            let Err(error) = &result else { return result };
            let retry_after = error.as_api().and_then(|api| api.retry_after);
            let delay = self.retry.delay(attempt, retry_after);
            match delay {
                Some(delay)
                    if error.is_transient()
                        && self.now() < old.expires_at
                        && may_resend_refresh(error, started.elapsed() + delay) =>
                {
                    tracing::debug!(attempt, ?delay, "refresh failed transiently; retrying");
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }

    /// Makes a token response the session's tokens: saved to the store first, then
    /// published. With `expected` set, does nothing if the session has moved on.
    pub(crate) async fn commit(
        &self,
        response: types::TokenResponse,
        expected: Option<u64>,
        event: SessionEvent,
    ) -> Result<Option<Arc<Tokens>>, Error> {
        let _gate = self.commit_gate.lock().await;
        let previous = {
            let state = self.state();
            if expected.is_some_and(|g| g != state.generation) {
                return Ok(None);
            }
            state.tokens.clone()
        };
        let tokens = Arc::new(self.tokens_from(response, previous.as_deref())?);
        self.store.save(&tokens.stored()).await?;
        {
            let mut state = self.state();
            state.generation += 1;
            state.tokens = Some(tokens.clone());
        }
        if let SessionEvent::SignedIn { .. } = event {
            self.emit(SessionEvent::SignedIn {
                sub: tokens.sub.clone(),
            });
        } else {
            self.emit(event);
        }
        Ok(Some(tokens))
    }

    /// Ends the session locally: memory and store. With `expected` set, only if the
    /// session is still at that generation.
    pub(crate) async fn clear(
        &self,
        expected: Option<u64>,
        event: SessionEvent,
    ) -> Result<(), Error> {
        let _gate = self.commit_gate.lock().await;
        {
            let mut state = self.state();
            if expected.is_some_and(|g| g != state.generation) {
                return Ok(());
            }
            state.generation += 1;
            state.tokens = None;
        }
        self.store.clear().await?;
        self.emit(event);
        Ok(())
    }

    /// Adopts a stored session (e.g. from a file written by an earlier process).
    pub(crate) async fn adopt(&self, stored: StoredSession) {
        let sub = stored.sub.clone();
        self.install(stored, None, SessionEvent::SignedIn { sub })
            .await;
    }

    /// Makes a stored pair the session's tokens (no store write: it came from the
    /// store). With `expected` set, does nothing if the session has moved on. Returns
    /// the new generation and tokens.
    async fn install(
        &self,
        stored: StoredSession,
        expected: Option<u64>,
        event: SessionEvent,
    ) -> Option<(u64, Arc<Tokens>)> {
        let _gate = self.commit_gate.lock().await;
        // A stored pair's lifetime is unknown, so no half-lifetime clamp: refresh once
        // inside the margin, as for a fresh pair.
        let tokens = Arc::new(Tokens {
            refresh_at: stored
                .expires_at
                .checked_sub(self.refresh_margin)
                .unwrap_or(std::time::UNIX_EPOCH),
            bearer: crate::auth::bearer(stored.access_token.expose_secret()),
            access: stored.access_token,
            refresh: stored.refresh_token,
            expires_at: stored.expires_at,
            scope: stored.scope,
            sub: stored.sub,
            token_type: stored.token_type,
        });
        let generation = {
            let mut state = self.state();
            if expected.is_some_and(|g| g != state.generation) {
                return None;
            }
            state.generation += 1;
            state.tokens = Some(tokens.clone());
            state.generation
        };
        self.emit(event);
        Some((generation, tokens))
    }

    fn tokens_from(
        &self,
        response: types::TokenResponse,
        previous: Option<&Tokens>,
    ) -> Result<Tokens, Error> {
        tokens_from(
            response,
            previous,
            self.now(),
            self.refresh_margin,
            self.refresh_jitter,
        )
    }
}

/// How long the server accepts a rotated refresh token again (GoTrue's reuse interval,
/// the emulator's default). CloudBase does not document its own.
const REUSE_WINDOW: Duration = Duration::from_secs(10);

/// Whether a failed refresh grant may be sent again `since_first` after the first attempt
/// started. When the server may have rotated the token before the answer was lost (the
/// request went out and no answer says otherwise: a transport failure after sending, a
/// 502 or 504 from a gateway), resending the same token is safe only inside the reuse
/// window: later it counts as a reuse and revokes the session. A connection never made,
/// or a 503/429/500 answer from the server itself, rotated nothing.
fn may_resend_refresh(error: &Error, since_first: Duration) -> bool {
    let may_have_rotated = match error {
        Error::Transport {
            may_have_been_sent, ..
        } => *may_have_been_sent,
        Error::Api(api) => matches!(api.status, 502 | 504),
        _ => true,
    };
    !may_have_rotated || since_first < REUSE_WINDOW
}

/// A token response as the session's tokens, received at `received`.
fn tokens_from(
    response: types::TokenResponse,
    previous: Option<&Tokens>,
    received: SystemTime,
    margin: Duration,
    jitter: Duration,
) -> Result<Tokens, Error> {
    let missing = |field: &str| Error::Decode {
        operation: "token response".into(),
        status: 200,
        reason: format!("no `{field}` in the token response"),
        request_id: String::new(),
    };
    let access = response
        .access_token
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("access_token"))?;
    let expires_in = response
        .expires_in
        .filter(|s| *s > 0)
        .ok_or_else(|| missing("expires_in"))?;
    let expires_at = received
        .checked_add(Duration::from_secs(expires_in.unsigned_abs().into()))
        .ok_or_else(|| missing("expires_in within range"))?;
    // RFC 6749 §6: a new refresh token is optional; without one the old one stays
    // valid. Anonymous sessions never have one.
    let refresh = match response.refresh_token.filter(|t| !t.is_empty()) {
        Some(token) => Some(RefreshToken::new(token)),
        None => previous
            .filter(|p| p.sub == response.sub)
            .and_then(|p| p.refresh.clone()),
    };
    Ok(Tokens {
        bearer: crate::auth::bearer(&access),
        access: AccessToken::new(access),
        refresh,
        expires_at,
        refresh_at: refresh_at(expires_at, received, margin, jitter),
        scope: response.scope,
        sub: response.sub,
        token_type: response.token_type,
    })
}

/// `expires_at - (margin + jitter)`, but never earlier than half the lifetime: a
/// token that lives shorter than the margin must not trigger a refresh on every
/// call (failure mode H: an endless refresh loop).
fn refresh_at(
    expires_at: SystemTime,
    received: SystemTime,
    margin: Duration,
    jitter: Duration,
) -> SystemTime {
    let lifetime = expires_at.duration_since(received).unwrap_or_default();
    let jitter = jitter.mul_f64(rand::rng().random::<f64>());
    let lead = margin.saturating_add(jitter).min(lifetime / 2);
    expires_at.checked_sub(lead).unwrap_or(expires_at)
}

/// What the session makes of a token-response body, for the crate's property tests and
/// fuzzers: the body parsed as the generated code parses it, then the commit path's
/// checks, received at `received` with the given margin and jitter. Returns
/// `(expires_at, refresh_at, has_refresh_token)`.
#[doc(hidden)]
pub fn decode_token_response_for_fuzzing(
    body: &[u8],
    received: SystemTime,
    margin: Duration,
    jitter: Duration,
) -> Result<(SystemTime, SystemTime, bool), Error> {
    let response: types::TokenResponse =
        serde_json::from_slice(body).map_err(|e| Error::Decode {
            operation: "token response".into(),
            status: 200,
            reason: format!("not a token response ({:?})", e.classify()),
            request_id: String::new(),
        })?;
    let tokens = tokens_from(response, None, received, margin, jitter)?;
    Ok((
        tokens.expires_at,
        tokens.refresh_at,
        tokens.refresh.is_some(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport(may_have_been_sent: bool) -> Error {
        Error::Transport {
            message: "x".into(),
            may_have_been_sent,
            timed_out: may_have_been_sent,
            request_id: String::new(),
            source: None,
        }
    }

    fn api(status: u16) -> Error {
        let body = types::ErrorBody {
            error: "unavailable".into(),
            error_code: None,
            error_description: None,
        };
        Error::api(status, body, String::new(), None)
    }

    #[test]
    fn a_refresh_that_may_have_rotated_is_resent_only_inside_the_reuse_window() {
        let inside = Duration::from_secs(9);
        let outside = Duration::from_secs(10);
        for error in [transport(true), api(502), api(504)] {
            assert!(may_resend_refresh(&error, inside), "{error:?}");
            assert!(!may_resend_refresh(&error, outside), "{error:?}");
        }
        // Nothing was rotated: any time is fine (the retry policy bounds it).
        for error in [transport(false), api(503), api(429), api(500)] {
            assert!(
                may_resend_refresh(&error, Duration::from_secs(3600)),
                "{error:?}"
            );
        }
    }
}
