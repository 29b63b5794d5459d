//! The token cache: the session's current tokens, its generation, the single refresh in
//! flight, and the commits that replace the tokens (store first, then memory). It knows
//! nothing of HTTP: the refresher fetches, the cache holds.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tokio::sync::{broadcast, watch};

use super::tokens::{Tokens, tokens_from};
use crate::clock::Clock;
use crate::config::Config;
use crate::error::{Error, SignInReason};
use crate::events::SessionEvent;
use crate::generated::types;
use crate::token_store::{StoredSession, TokenStore};

/// The end of a refresh: `None` while it runs.
pub(super) type Outcome = Option<Result<(), Error>>;

#[derive(Default)]
struct State {
    tokens: Option<Arc<Tokens>>,
    /// Bumped on every commit and sign-out; a refresh started at generation `g`
    /// commits only if the session is still at `g`.
    generation: u64,
    /// The refresh in flight, if any; every caller that needs it waits on this.
    refresh: Option<watch::Receiver<Outcome>>,
}

/// What a caller that may need a refresh gets.
pub(super) enum Join {
    /// The current tokens will do.
    Ready(Arc<Tokens>),
    /// A refresh is in flight: wait for it.
    Wait {
        old: Arc<Tokens>,
        waiter: watch::Receiver<Outcome>,
    },
    /// No refresh was in flight: the caller starts one and reports its end on `done`.
    Lead {
        old: Arc<Tokens>,
        generation: u64,
        waiter: watch::Receiver<Outcome>,
        done: watch::Sender<Outcome>,
    },
}

pub(crate) struct TokenCache {
    state: Mutex<State>,
    /// Serialises store writes with the in-memory commit, so the store and memory
    /// always agree on which pair is current.
    commit_gate: tokio::sync::Mutex<()>,
    pub(super) store: Arc<dyn TokenStore>,
    clock: Arc<dyn Clock>,
    margin: Duration,
    jitter: Duration,
    events: broadcast::Sender<SessionEvent>,
}

impl TokenCache {
    pub(super) fn new(config: &Config) -> TokenCache {
        TokenCache {
            state: Mutex::new(State::default()),
            commit_gate: tokio::sync::Mutex::new(()),
            store: config.store.clone(),
            clock: config.clock.clone(),
            margin: config.refresh_margin,
            jitter: config.refresh_jitter,
            events: broadcast::channel(64).0,
        }
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

    pub(super) fn subscribe(&self) -> broadcast::Receiver<SessionEvent> {
        self.events.subscribe()
    }

    fn emit(&self, event: SessionEvent) {
        // Nobody listening is fine.
        let _ = self.events.send(event);
    }

    /// The current tokens if `needed` says they will do, else the refresh to wait for
    /// (joined if one is in flight, else to be started by the caller).
    pub(super) fn join(&self, needed: impl FnOnce(&Tokens) -> bool) -> Result<Join, Error> {
        let mut state = self.state();
        let old = state
            .tokens
            .clone()
            .ok_or_else(|| Error::sign_in_required(SignInReason::NotSignedIn))?;
        if !needed(&old) {
            return Ok(Join::Ready(old));
        }
        if let Some(waiter) = &state.refresh {
            return Ok(Join::Wait {
                old,
                waiter: waiter.clone(),
            });
        }
        let (done, waiter) = watch::channel(None);
        state.refresh = Some(waiter.clone());
        Ok(Join::Lead {
            old,
            generation: state.generation,
            waiter,
            done,
        })
    }

    /// The refresh in flight has ended (called before its outcome is published).
    pub(super) fn end_refresh(&self) {
        self.state().refresh = None;
    }

    /// Waits for the refresh and returns the tokens it left. With `keep_valid`, a
    /// transient failure while `old` is still valid returns `old` (the next call tries
    /// again); without it, the failure.
    pub(super) async fn await_refresh(
        &self,
        old: Arc<Tokens>,
        mut waiter: watch::Receiver<Outcome>,
        keep_valid: bool,
    ) -> Result<Arc<Tokens>, Error> {
        let outcome = match waiter.wait_for(Option::is_some).await {
            Ok(outcome) => outcome.clone().unwrap_or(Ok(())),
            // The refresh task was dropped: the runtime is shutting down.
            Err(_) => Err(Error::InvalidRequest {
                message: "the refresh task stopped before finishing (runtime shutting down)".into(),
            }),
        };
        match outcome {
            Ok(()) => self
                .current()
                .ok_or_else(|| Error::sign_in_required(SignInReason::NotSignedIn)),
            Err(e) if keep_valid && e.is_transient() && self.now() < old.expires_at => Ok(old),
            Err(e) => Err(e),
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
        let tokens = Arc::new(tokens_from(
            response,
            previous.as_deref(),
            self.now(),
            self.margin,
            self.jitter,
        )?);
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

    /// Makes a stored pair the session's tokens (no store write: it came from the
    /// store). With `expected` set, does nothing if the session has moved on. Returns
    /// the new generation and tokens.
    pub(super) async fn install(
        &self,
        stored: StoredSession,
        expected: Option<u64>,
        event: SessionEvent,
    ) -> Option<(u64, Arc<Tokens>)> {
        let _gate = self.commit_gate.lock().await;
        let tokens = Arc::new(Tokens::from_stored(stored, self.margin));
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
}
