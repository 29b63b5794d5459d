//! The emulator and a session pointed at it, with both clocks moved together.

use std::time::{Duration, UNIX_EPOCH};

use cloudbase_auth::{Config, ManualClock, Session};
use cloudbase_auth_emulator::{
    Control, Emulator, EmulatorConfig, Fault, RunningEmulator, SeedUser,
};

use crate::{CLIENT_ID, PASSWORD, emulator_config_from, fast_retries};

/// An emulator on 127.0.0.1:0 (frozen clock, fast hashing) with `alice` seeded, and the
/// manual clock every session of the test uses.
pub struct World {
    pub emulator: RunningEmulator,
    pub control: Control,
    pub clock: ManualClock,
}

impl World {
    pub async fn start() -> World {
        World::start_with(EmulatorConfig::default()).await
    }

    /// Any configuration; the clock is frozen and hashing fast whatever it says.
    pub async fn start_with(config: EmulatorConfig) -> World {
        let emulator = Emulator::start(emulator_config_from(config))
            .await
            .expect("emulator starts");
        let control = emulator.control();
        // The session's clock starts where the emulator's is; `advance` moves both.
        let clock = ManualClock::new(UNIX_EPOCH + Duration::from_secs(control.now()));
        control.seed_user(SeedUser {
            username: Some("alice".into()),
            password: Some(PASSWORD.into()),
            email: Some("alice@example.com".into()),
            name: Some("Alice".into()),
            ..SeedUser::default()
        });
        World {
            emulator,
            control,
            clock,
        }
    }

    pub fn config(&self) -> Config {
        Config::for_base_url(self.emulator.base_url())
            .with_client_id(CLIENT_ID)
            .with_clock(self.clock.clone())
            .with_refresh_jitter(Duration::ZERO)
            .with_retry_policy(fast_retries())
    }

    pub fn session(&self) -> Session {
        self.session_with(|c| c)
    }

    pub fn session_with(&self, change: impl FnOnce(Config) -> Config) -> Session {
        Session::new(change(self.config())).expect("config")
    }

    /// A session signed in as `alice`.
    pub async fn signed_in(&self) -> Session {
        let session = self.session();
        session
            .sign_in_with_password("alice", PASSWORD)
            .await
            .expect("sign-in");
        session
    }

    pub fn advance(&self, seconds: u64) {
        self.control.advance_clock(Duration::from_secs(seconds));
        self.clock.advance(Duration::from_secs(seconds));
    }

    pub fn count(&self, operation: &str) -> u64 {
        self.control.request_count(operation)
    }

    pub fn inject(&self, operation: &str, fault: Fault, count: u32) {
        self.control.inject_fault(operation, fault, count);
    }
}
