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

/// Resolves every name to one address and counts the look-ups: one per connection
/// attempt, since a connection that was never made cannot be pooled. (Used by some of
/// the test binaries that include this module.)
#[allow(dead_code)]
pub struct CountingResolver {
    pub addr: std::net::SocketAddr,
    pub lookups: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl reqwest::dns::Resolve for CountingResolver {
    fn resolve(&self, _: reqwest::dns::Name) -> reqwest::dns::Resolving {
        self.lookups
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let addr = self.addr;
        Box::pin(async move { Ok(Box::new(std::iter::once(addr)) as reqwest::dns::Addrs) })
    }
}
