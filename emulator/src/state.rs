//! Shared emulator state: the exportable data under one lock, plus clock, lifetimes, faults
//! and request counts.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use serde::{Deserialize, Serialize};

use crate::captcha::Captchas;
use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::custom_login::CustomLoginKeys;
use crate::errors::ApiResult;
use crate::faults::{Fault, FaultQueue};
use crate::keys::keys;
use crate::lockout::FailedSignIns;
use crate::oauth_grants::{AuthCodes, DeviceCodes};
use crate::passwords::Passwords;
use crate::persist::Persist;
use crate::providers::ProviderTokens;
use crate::qr_login::QrCodes;
use crate::security_log::SecurityLog;
use crate::sudo::SudoTokens;
use crate::tokens::{Claims, Grant, Lifetimes, NewSession, NoStore, Sessions, TokenResponse};
use crate::users::Users;
use crate::verification::Verifications;

/// Everything `export_state` writes and `import_state` reads.
#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct State {
    pub users: Users,
    pub sessions: Sessions,
    pub verifications: Verifications,
    pub captchas: Captchas,
    pub sign_ins: FailedSignIns,
    pub sudo: SudoTokens,
    pub provider_tokens: ProviderTokens,
    #[serde(default)]
    pub device_codes: DeviceCodes,
    #[serde(default)]
    pub auth_codes: AuthCodes,
    #[serde(default)]
    pub qr_codes: QrCodes,
    #[serde(default)]
    pub security_log: SecurityLog,
}

impl State {
    /// Drops what has expired: refresh tokens, sessions with nothing left to refresh, codes,
    /// verification/captcha/sudo/provider tokens, lockout windows.
    fn prune(&mut self, now: u64, keep_secs: u64) {
        self.sessions.prune(now, keep_secs);
        // Anonymous users exist for their sessions only; they go with the last one.
        let signed_in = self.sessions.subs();
        self.users.remove_where(|u| {
            u.anonymous
                && !signed_in.contains(u.sub.as_str())
                && u.last_login
                    .unwrap_or(u.created_at)
                    .saturating_add(keep_secs)
                    <= now
        });
        self.verifications.prune(now);
        self.captchas.prune(now);
        self.sign_ins.prune(now);
        self.sudo.prune(now);
        self.provider_tokens.prune(now);
    }
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub config: EmulatorConfig,
    pub clock: Clock,
    /// Configuration too, but extensible at run time (control API); survives `reset`.
    pub custom_login: CustomLoginKeys,
    pub passwords: Passwords,
    state: Mutex<State>,
    lifetimes: Mutex<Lifetimes>,
    faults: Mutex<FaultQueue>,
    requests: Mutex<BTreeMap<String, u64>>,
    /// The state file, when the emulator has one (set once, by the launcher).
    persist: OnceLock<Arc<Persist>>,
    /// Emulator-clock time of the next sweep of expired records.
    next_prune: Mutex<u64>,
}

/// How often (emulator seconds) expired records are swept.
pub(crate) const PRUNE_EVERY_SECS: u64 = 60;

/// The axum state of every route.
pub(crate) type App = Arc<Shared>;

/// A poisoned lock only means another request panicked; the data is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: EmulatorConfig) -> Self {
        Self {
            clock: Clock::new(config.clock),
            // `Emulator::start_on` refuses a configuration with an unusable key first.
            custom_login: CustomLoginKeys::from_config(&config.custom_login_keys).unwrap_or_else(
                |e| {
                    tracing::error!("custom login disabled: {e}");
                    CustomLoginKeys::default()
                },
            ),
            passwords: Passwords::new(config.password_hashing),
            lifetimes: Mutex::new(Self::configured_lifetimes(&config)),
            config,
            state: Mutex::default(),
            faults: Mutex::default(),
            requests: Mutex::default(),
            persist: OnceLock::new(),
            next_prune: Mutex::new(0),
        }
    }

    pub(crate) fn persist(&self) -> Option<&Arc<Persist>> {
        self.persist.get()
    }

    pub(crate) fn set_persist(&self, persist: Arc<Persist>) {
        let _ = self.persist.set(persist);
    }

    /// Sweeps expired records at most once per [`PRUNE_EVERY_SECS`] of emulator time, so
    /// state stays bounded by what is live (see the README's bounds).
    pub(crate) fn maybe_prune(&self) {
        let now = self.now();
        {
            let mut next = lock(&self.next_prune);
            if now < *next {
                return;
            }
            *next = now.saturating_add(PRUNE_EVERY_SECS);
        }
        let lifetimes = self.lifetimes();
        let keep = lifetimes.refresh.max(lifetimes.access);
        self.state().prune(now, keep);
    }

    fn configured_lifetimes(config: &EmulatorConfig) -> Lifetimes {
        Lifetimes {
            access: config.access_token_ttl_secs,
            refresh: config.refresh_token_ttl_secs,
        }
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    pub(crate) fn now(&self) -> u64 {
        self.clock.now()
    }

    pub(crate) fn lifetimes(&self) -> Lifetimes {
        *lock(&self.lifetimes)
    }

    pub(crate) fn set_lifetimes(&self, lifetimes: Lifetimes) {
        *lock(&self.lifetimes) = lifetimes;
    }

    pub(crate) fn count_request(&self, operation_id: &str) {
        *lock(&self.requests)
            .entry(operation_id.to_owned())
            .or_default() += 1;
    }

    pub(crate) fn request_counts(&self) -> BTreeMap<String, u64> {
        lock(&self.requests).clone()
    }

    pub(crate) fn push_fault(&self, operation_id: &str, fault: Fault, count: u32) {
        lock(&self.faults).push(operation_id, fault, count);
    }

    pub(crate) fn take_fault(&self, operation_id: &str) -> Option<Fault> {
        lock(&self.faults).take(operation_id)
    }

    /// Back to the start: no data, faults or counts; configured lifetimes. The clock keeps going.
    pub(crate) fn reset(&self) {
        *self.state() = State::default();
        *lock(&self.faults) = FaultQueue::default();
        lock(&self.requests).clear();
        self.set_lifetimes(Self::configured_lifetimes(&self.config));
    }

    pub(crate) fn replace_state(&self, state: State) {
        *self.state() = state;
    }

    /// Opens a session and answers with its tokens.
    pub(crate) fn issue(&self, new: NewSession) -> ApiResult<NoStore<TokenResponse>> {
        let now = self.now();
        let refresh_ttl = self.lifetimes().refresh;
        let grant = {
            let mut state = self.state();
            if let Some(mut user) = state.users.get_mut(&new.sub) {
                user.last_login = Some(now);
            }
            let device_id = new.device_id.as_deref();
            state.security_log.sign_in(
                &new.sub,
                &new.client_id,
                device_id,
                &new.provider_type,
                now,
            );
            state.sessions.open(new, now, refresh_ttl)
        };
        self.respond(grant)
    }

    /// A token response for a session: a fresh access token plus the grant's refresh token.
    pub(crate) fn respond(&self, grant: Grant) -> ApiResult<NoStore<TokenResponse>> {
        let ttl = self.lifetimes().access;
        let claims = Claims::new(&self.config.env_id, &grant, self.now(), ttl);
        let access_token = keys()?.sign(&claims)?;
        Ok(NoStore(TokenResponse {
            token_type: "Bearer",
            access_token,
            refresh_token: grant.refresh_token,
            expires_in: ttl,
            scope: grant.session.scope,
            sub: grant.session.sub,
            groups: Vec::new(),
        }))
    }
}
