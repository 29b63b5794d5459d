//! [`Control`]: the in-process handle tests use to steer an emulator; the HTTP control API
//! under `/emulator/v1/` is its twin.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::config::CustomLoginPublicKey;
use crate::faults::Fault;
use crate::keys::keys;
use crate::state::{App, State};
use crate::tokens::Lifetimes;
use crate::users::{Contact, User};
use crate::verification::SentCode;

/// Version of the `export_state` document.
const STATE_VERSION: u64 = 1;

/// A user to create (or update) directly, bypassing verification.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedUser {
    /// Fixed user id; a fresh 19-digit id when `None`.
    pub sub: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub email: Option<String>,
    /// Upstream form "+86 13800000000".
    pub phone_number: Option<String>,
    pub name: Option<String>,
}

/// Why `import_state` refused a document.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("unsupported state version {0} (expected {STATE_VERSION})")]
    Version(u64),
    #[error("invalid state document: {0}")]
    Invalid(#[from] serde_json::Error),
}

#[derive(Serialize, Deserialize)]
struct StateDocument<S> {
    version: u64,
    /// The emulator clock, so a restart does not move it (absent in older documents).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clock: Option<SavedClock>,
    state: S,
}

#[derive(Serialize, Deserialize)]
struct SavedClock {
    mode: crate::config::ClockMode,
    /// Running: offset from real time in seconds; frozen: the time itself.
    value: i64,
}

/// A cheap, cloneable handle to one emulator's state.
#[derive(Debug, Clone)]
pub struct Control {
    app: App,
}

impl Control {
    pub(crate) fn new(app: App) -> Self {
        Self { app }
    }

    /// The emulator clock, in unix seconds.
    pub fn now(&self) -> u64 {
        self.app.now()
    }

    /// Moves the emulator clock forward (whole seconds).
    pub fn advance_clock(&self, by: Duration) {
        self.app.clock.advance(by.as_secs());
    }

    pub fn set_clock(&self, unix_secs: u64) {
        self.app.clock.set(unix_secs);
    }

    /// Every verification code "sent", oldest first.
    pub fn verification_codes(&self) -> Vec<SentCode> {
        self.app.state().verifications.sent_codes()
    }

    /// The newest code sent to a phone number ("+86 13800000000") or e-mail address.
    pub fn latest_code_for(&self, target: &str) -> Option<String> {
        let target =
            Contact::parse(target).map_or_else(|_| target.to_owned(), |c| c.as_str().to_owned());
        self.verification_codes()
            .into_iter()
            .rev()
            .find(|c| c.target == target)
            .map(|c| c.code)
    }

    /// Unsolved captcha images as (image token, answer).
    pub fn captcha_answers(&self) -> Vec<(String, String)> {
        let now = self.now();
        self.app.state().captchas.answers(now)
    }

    /// The next `count` requests of `operation_id` (an OpenAPI operationId such as
    /// "grant_token") suffer `fault`. Faults queue in order.
    pub fn inject_fault(&self, operation_id: &str, fault: Fault, count: u32) {
        if !crate::operations::is_known(operation_id) {
            tracing::warn!(
                operation_id,
                "fault injected for an unknown operation id; it will never apply"
            );
        }
        self.app.push_fault(operation_id, fault, count);
    }

    /// How many requests the operation has received (faulted ones included).
    pub fn request_count(&self, operation_id: &str) -> u64 {
        self.request_counts()
            .get(operation_id)
            .copied()
            .unwrap_or(0)
    }

    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.app.request_counts()
    }

    /// Creates a user, or updates the one with the same sub, username, e-mail or phone number;
    /// returns its sub. Hashes on the calling thread.
    pub fn seed_user(&self, seed: SeedUser) -> String {
        let hash = seed.password.as_deref().and_then(|password| {
            self.app
                .passwords
                .hash_blocking(password)
                .inspect_err(|e| tracing::warn!(?e, "seeded user gets no password"))
                .ok()
        });
        self.seed_hashed(seed, hash)
    }

    /// [`Control::seed_user`] with the password already hashed (`hash`).
    pub(crate) fn seed_hashed(&self, seed: SeedUser, hash: Option<String>) -> String {
        let now = self.now();
        let mut state = self.app.state();
        let mut user = find_seeded(&state, &seed).unwrap_or_else(|| {
            User::new(
                seed.sub.clone().unwrap_or_else(|| state.users.new_sub()),
                "seed",
                now,
            )
        });
        apply_seed(&mut user, seed, hash, now);
        let sub = user.sub.clone();
        state.users.insert(user);
        sub
    }

    /// Drops all users, sessions, codes, captchas, faults and counts; token lifetimes go back
    /// to the configuration. The clock is left as it is.
    pub fn reset(&self) {
        self.app.reset();
    }

    /// `{"version": 1, "clock": {...}, "state": {...}}`: the clock, users (password hashes),
    /// sessions, refresh-token hashes, codes, captchas, sudo and provider tokens. Plain-text
    /// tokens are never included.
    pub fn export_state(&self) -> Value {
        let (mode, value) = self.app.clock.snapshot();
        let state = self.app.state();
        serde_json::to_value(StateDocument {
            version: STATE_VERSION,
            clock: Some(SavedClock { mode, value }),
            state: &*state,
        })
        .unwrap_or_else(|e| json!({ "version": STATE_VERSION, "error": e.to_string() }))
    }

    /// Replaces the state with an `export_state` document (and sets the clock it saved, when
    /// that clock ran in the same [`ClockMode`](crate::ClockMode)).
    pub fn import_state(&self, document: Value) -> Result<(), StateError> {
        let version = document.get("version").and_then(Value::as_u64).unwrap_or(0);
        if version != STATE_VERSION {
            return Err(StateError::Version(version));
        }
        let mut document: StateDocument<State> = serde_json::from_value(document)?;
        document.state.sessions.reindex();
        self.app.replace_state(document.state);
        if let Some(clock) = document.clock {
            self.app.clock.restore(clock.mode, clock.value);
        }
        Ok(())
    }

    /// Lifetimes of tokens issued from now on.
    pub fn set_token_lifetimes(&self, access_secs: u64, refresh_secs: u64) {
        self.app.set_lifetimes(Lifetimes {
            access: access_secs,
            refresh: refresh_secs,
        });
    }

    /// Accepts custom-login tickets signed by this key from now on (replacing a key with the
    /// same id). Keys survive [`reset`](Control::reset): they are configuration.
    pub fn add_custom_login_key(&self, key: &CustomLoginPublicKey) -> Result<(), String> {
        self.app.custom_login.add(key)
    }

    /// The ids of the custom-login keys held.
    pub fn custom_login_key_ids(&self) -> Vec<String> {
        self.app.custom_login.ids()
    }

    /// The JWKS that verifies access tokens (also served at `/auth/v1/certs`).
    pub fn jwks(&self) -> Value {
        keys()
            .ok()
            .and_then(|k| serde_json::to_value(k.jwks()).ok())
            .unwrap_or_else(|| json!({ "keys": [] }))
    }
}

fn find_seeded(state: &State, seed: &SeedUser) -> Option<User> {
    let users = &state.users;
    let by_contact = |raw: &Option<String>| {
        raw.as_deref()
            .and_then(|r| Contact::parse(r).ok())
            .and_then(|c| users.by_contact(&c))
    };
    seed.sub
        .as_deref()
        .and_then(|sub| users.get(sub))
        .or_else(|| seed.username.as_deref().and_then(|u| users.by_username(u)))
        .or_else(|| by_contact(&seed.email))
        .or_else(|| by_contact(&seed.phone_number))
        .cloned()
}

/// Normalizes contacts when they are valid; seeds may hold anything else verbatim.
fn normalized(raw: Option<String>) -> Option<String> {
    raw.map(|r| Contact::parse(&r).map_or(r, |c| c.as_str().to_owned()))
}

fn apply_seed(user: &mut User, seed: SeedUser, hash: Option<String>, now: u64) {
    if seed.username.is_some() {
        user.username = seed.username;
    }
    if seed.email.is_some() {
        user.email = normalized(seed.email);
    }
    if seed.phone_number.is_some() {
        user.phone_number = normalized(seed.phone_number);
    }
    if seed.name.is_some() {
        user.name = seed.name;
    }
    if hash.is_some() {
        user.password_hash = hash;
        user.password_updated_at = Some(now);
    }
    user.updated_at = now;
}
