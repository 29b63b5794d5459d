//! The workspace's one test kit (`testkit/`, `cloudbase-auth-testkit`) under the names
//! these tests use: `support::*` for the httpmock helpers, `support::world` for the
//! emulator World. New tests may `use cloudbase_auth_testkit::…` directly.
#![allow(unused_imports)]

// Used by tests/redis.rs and benches/stores.rs only; the other test binaries include it unused.
#[allow(dead_code)]
pub mod redis_server;
pub use cloudbase_auth_testkit::mock::*;
pub use cloudbase_auth_testkit::{DEVICE_ID, fast_retries};

pub mod world {
    pub use cloudbase_auth_testkit::{PASSWORD, World, fast_retries};
}
