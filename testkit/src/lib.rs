//! The one test kit of the workspace, used by the client's tests (`tests/`), the
//! emulator's (`emulator/tests/`), the CLI's and the xtask's:
//!
//! - [`World`]: the emulator in process with `alice` seeded and a session clock that moves
//!   with the emulator's (client-level tests);
//! - [`emulator`]: the emulator over raw HTTP with every answer checked against the spec
//!   (emulator-level tests);
//! - [`contract`]: that check on its own;
//! - [`mock`]: httpmock helpers for client tests that script the server;
//! - [`oracle`]: the TC3 signature vectors the official npm packages generated;
//! - [`child`]: a test binary run again as a child process;
//! - the constants and settings every harness shares: [`DEVICE_ID`], [`CLIENT_ID`],
//!   [`PASSWORD`], [`emulator_config`], [`fast_retries`].
//!
//! Not published: it exists so each fact above is written once.

pub mod child;
pub mod contract;
pub mod emulator;
pub mod mock;
pub mod oracle;
mod world;

use std::time::Duration;

use cloudbase_auth::RetryPolicy;
use cloudbase_auth_emulator::{ClockMode, EmulatorConfig, PasswordHashing};

pub use world::World;

/// A device id of the form the official SDK sends: 32 lowercase hex characters.
pub const DEVICE_ID: &str = "0123456789abcdef0123456789abcdef";
/// The emulator's environment and client id.
pub const CLIENT_ID: &str = "demo-env";
/// The password of the users the kit seeds (`alice` in a [`World`], [`emulator::Emu::seed`]).
pub const PASSWORD: &str = "Alice-pw-1";

/// An emulator configuration for tests: minimal hashing cost (fast) and a frozen clock
/// that moves only when the test moves it (deterministic); everything else as given.
pub fn emulator_config_from(config: EmulatorConfig) -> EmulatorConfig {
    EmulatorConfig {
        password_hashing: PasswordHashing::Fast,
        clock: ClockMode::Frozen,
        ..config
    }
}

/// [`emulator_config_from`] the default configuration.
pub fn emulator_config() -> EmulatorConfig {
    emulator_config_from(EmulatorConfig::default())
}

/// The default two retries, with millisecond backoff so tests stay fast.
pub fn fast_retries() -> RetryPolicy {
    RetryPolicy {
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}
