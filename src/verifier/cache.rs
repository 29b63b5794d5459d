//! The verdict cache: bounded, keyed by a SHA-256 of the token (never the token), with a
//! per-entry TTL, and single-flight per token (moka coalesces concurrent misses).

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use super::claims::Claims;
use super::rejection::Rejection;

type TokenHash = [u8; 32];

#[derive(Clone)]
struct Entry {
    verdict: Result<Claims, Rejection>,
    ttl: Duration,
}

/// Each entry lives for the TTL it was stored with.
struct EntryTtl;

impl Expiry<TokenHash, Entry> for EntryTtl {
    fn expire_after_create(&self, _: &TokenHash, entry: &Entry, _: Instant) -> Option<Duration> {
        Some(entry.ttl)
    }
}

/// How long verdicts are kept.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CachePolicy {
    pub(crate) capacity: u64,
    pub(crate) max_ttl: Duration,
    pub(crate) negative_ttl: Duration,
}

pub(crate) struct VerdictCache {
    /// `None` when `max_ttl` is zero: every call checks afresh.
    cache: Option<Cache<TokenHash, Entry>>,
    policy: CachePolicy,
}

impl VerdictCache {
    pub(crate) fn new(policy: CachePolicy) -> VerdictCache {
        let cache = (!policy.max_ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(policy.capacity)
                .expire_after(EntryTtl)
                .build()
        });
        VerdictCache { cache, policy }
    }

    /// The cached verdict for `token`, else `check`'s. Concurrent callers with the same
    /// token share one `check`. Errors that are not [cacheable](Rejection::is_cacheable)
    /// reach every waiting caller but are not kept.
    pub(crate) async fn get_or_check(
        &self,
        token: &str,
        now: u64,
        check: impl Future<Output = Result<Claims, Rejection>>,
    ) -> Result<Claims, Rejection> {
        let Some(cache) = &self.cache else {
            return check.await;
        };
        let entry = cache.try_get_with(hash(token), async {
            match check.await {
                Err(rejection) if !rejection.is_cacheable() => Err(rejection),
                verdict => Ok(self.entry(verdict, now)),
            }
        });
        match entry.await {
            Ok(entry) => entry.verdict,
            Err(shared) => Err(*shared),
        }
    }

    /// A valid token is kept until its `exp` at most, and never longer than `max_ttl`.
    fn entry(&self, verdict: Result<Claims, Rejection>, now: u64) -> Entry {
        let ttl = match &verdict {
            Ok(claims) => Duration::from_secs(claims.exp_secs().saturating_sub(now))
                .min(self.policy.max_ttl),
            Err(_) => self.policy.negative_ttl,
        };
        Entry { verdict, ttl }
    }
}

fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// A hex prefix of the token's hash: enough to correlate log lines, useless to an attacker.
pub(crate) fn log_id(token: &str) -> String {
    hash(token)[..4].iter().map(|b| format!("{b:02x}")).collect()
}

impl std::fmt::Debug for VerdictCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerdictCache")
            .field("policy", &self.policy)
            .field("entries", &self.cache.as_ref().map(Cache::entry_count))
            .finish()
    }
}

/// Shared so clones of a verifier share one cache.
pub(crate) type SharedCache = Arc<VerdictCache>;
