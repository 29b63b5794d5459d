//! Verifying CloudBase access tokens in a gateway or backend (feature `verifier`).
//!
//! A [`Verifier`] turns a bearer token into [`Claims`] or a [`Rejection`], in one of two
//! modes:
//!
//! - **online** ([`Verifier::online`]): asks the server (`GET /auth/v1/token/introspect`).
//!   Sees revocations, after at most the cache TTL.
//! - **offline** ([`Verifier::offline`]): checks the RS256 signature against the JWKS, and
//!   `exp`, `nbf`, `iss`, `aud` locally. No call per token, but **a revoked token stays
//!   valid until its `exp`**: offline mode cannot see sign-outs or revocations.
//!
//! Both keep verdicts in a bounded cache keyed by a SHA-256 of the token (never the token
//! itself), for at most `min(exp - now, max TTL)`; refusals for a few seconds. Concurrent
//! calls with one token share one check. Every time check uses the injectable [`Clock`].
//!
//! ```no_run
//! use cloudbase_auth::Config;
//! use cloudbase_auth::verifier::Verifier;
//!
//! # async fn demo(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = Verifier::online(Config::for_env("my-env-1a2b3c")).build()?;
//! let claims = verifier.verify(token).await?;
//! println!("{} anonymous={}", claims.sub(), claims.is_anonymous());
//! # Ok(()) }
//! ```

mod builder;
mod cache;
pub(crate) mod claims;
mod jwks;
#[cfg(feature = "axum")]
mod layer;
mod offline;
mod online;
mod rejection;
#[cfg(feature = "redis")]
mod shared_cache;

use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

pub use builder::{BuildError, VerifierBuilder};
pub use claims::Claims;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use layer::{VerifyLayer, VerifyService};
pub use rejection::Rejection;

use crate::{Clock, Config};
use cache::VerdictCache;
use claims::{Expected, RawClaims};
use offline::SignatureCheck;
use online::Introspector;

/// Upstream access tokens are at most 4096 characters (reference §2.1); anything much
/// longer is refused before it is hashed or parsed.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Checks access tokens. Cheap to clone (clones share the cache and keys); `Send + Sync`.
#[derive(Clone)]
pub struct Verifier(Arc<Inner>);

struct Inner {
    backend: Backend,
    expected: Expected,
    leeway_secs: u64,
    clock: Arc<dyn Clock>,
    cache: VerdictCache,
}

enum Backend {
    Online(Introspector),
    Offline(Box<SignatureCheck>),
}

/// How a [`Verifier`] checks tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Token introspection on the server.
    Online,
    /// RS256 signatures against the JWKS.
    Offline,
}

impl Verifier {
    /// A verifier that introspects tokens at `config`'s server.
    pub fn online(config: Config) -> VerifierBuilder {
        VerifierBuilder::new(config, Mode::Online)
    }

    /// A verifier that checks signatures with the keys at `config`'s JWKS URL.
    pub fn offline(config: Config) -> VerifierBuilder {
        VerifierBuilder::new(config, Mode::Offline)
    }

    /// The claims of `token` (without the `Bearer ` prefix), or why it is refused.
    /// Never panics, whatever the input.
    pub async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        if token.is_empty() || token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::Malformed);
        }
        let now = self.now();
        let claims = self
            .0
            .cache
            .get_or_check(token, now, || self.check(token, now))
            .await?;
        // Again on every hit: the cache's TTL runs on real time, the clock may differ.
        claims.check_time(now, self.0.leeway_secs)?;
        Ok(claims)
    }

    /// Which mode this verifier runs in.
    pub fn mode(&self) -> Mode {
        match self.0.backend {
            Backend::Online(_) => Mode::Online,
            Backend::Offline(_) => Mode::Offline,
        }
    }

    async fn check(&self, token: &str, now: u64) -> Result<Claims, Rejection> {
        // A JWT is base64url and dots; anything else must not reach a header or the server.
        if !token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(Rejection::Malformed);
        }
        let expected = &self.0.expected;
        match &self.0.backend {
            Backend::Online(introspector) => {
                let raw = RawClaims::unverified(token)?;
                // Expired tokens never cost a network call.
                raw.check_time(now, self.0.leeway_secs)?;
                introspector.check(token, expected, raw, now).await
            }
            Backend::Offline(signature) => signature.check(token, expected).await,
        }
    }

    fn now(&self) -> u64 {
        let now = self.0.clock.now().duration_since(UNIX_EPOCH);
        now.map_or(0, |d| d.as_secs())
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("Verifier");
        debug
            .field("audience", &self.0.expected.audience)
            .field("issuer", &self.0.expected.issuer)
            .field("leeway_secs", &self.0.leeway_secs)
            .field("cache", &self.0.cache);
        match &self.0.backend {
            Backend::Online(introspector) => debug.field("online", introspector),
            Backend::Offline(signature) => debug.field("offline", signature),
        };
        debug.finish()
    }
}
