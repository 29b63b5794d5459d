//! The verifier: a token in, its claims or why it is refused out. The builder makes one;
//! the tower layer and the axum extractor use one.

use std::fmt;
use std::sync::Arc;
use std::time::UNIX_EPOCH;

use super::cache::VerdictCache;
use super::claims::{Claims, Expected, RawClaims};
use super::offline::SignatureCheck;
use super::online::Introspector;
use super::rejection::Rejection;
use crate::Clock;

/// Upstream access tokens are at most 4096 characters (reference §2.1); anything much
/// longer is refused before it is hashed or parsed.
const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Checks access tokens. Cheap to clone (clones share the cache and keys); `Send + Sync`.
#[derive(Clone)]
pub struct Verifier(pub(super) Arc<Inner>);

pub(super) struct Inner {
    pub(super) backend: Backend,
    pub(super) expected: Expected,
    pub(super) leeway_secs: u64,
    pub(super) clock: Arc<dyn Clock>,
    pub(super) cache: VerdictCache,
}

pub(super) enum Backend {
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
