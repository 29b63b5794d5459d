//! The verdict cache: bounded, keyed by a SHA-256 of the token (never the token), with a
//! per-entry TTL, and single-flight per token (moka coalesces concurrent misses).

use std::future::Future;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use super::claims::Claims;
use super::rejection::Rejection;

pub(crate) type TokenHash = [u8; 32];

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
    pub(crate) async fn get_or_check<F>(
        &self,
        token: &str,
        now: u64,
        check: impl FnOnce() -> F,
    ) -> Result<Claims, Rejection>
    where
        F: Future<Output = Result<Claims, Rejection>>,
    {
        let Some(cache) = &self.cache else {
            return check().await;
        };
        let key = hash(token);
        // The hit path builds no check future: it is large, and hits are the hot path.
        if let Some(entry) = cache.get(&key).await {
            return entry.verdict;
        }
        let entry = cache.try_get_with(key, async {
            match check().await {
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
            Ok(claims) => {
                Duration::from_secs(claims.exp_secs().saturating_sub(now)).min(self.policy.max_ttl)
            }
            Err(_) => self.policy.negative_ttl,
        };
        Entry { verdict, ttl }
    }
}

pub(crate) fn hash(token: &str) -> TokenHash {
    Sha256::digest(token.as_bytes()).into()
}

/// A hex prefix of the token's hash: enough to correlate log lines, useless to an attacker.
pub(crate) fn log_id(token: &str) -> String {
    hash(token)[..4]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl std::fmt::Debug for VerdictCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerdictCache")
            .field("policy", &self.policy)
            .field("entries", &self.cache.as_ref().map(Cache::entry_count))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::claims::{Expected, RawClaims};
    use base64::Engine as _;

    fn claims(exp: u64) -> Claims {
        let payload = format!(r#"{{"iss":"i","sub":"u","aud":"a","exp":{exp}}}"#);
        let token = format!(
            "e30.{}.x",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(payload)
        );
        let expected = Expected {
            audience: "a".into(),
            issuer: "i".into(),
        };
        RawClaims::unverified(&token)
            .and_then(|raw| raw.into_claims(&expected))
            .expect("claims")
    }

    #[test]
    fn ttl_is_the_time_to_exp_capped_and_refusals_get_the_negative_ttl() {
        let cache = VerdictCache::new(CachePolicy {
            capacity: 10,
            max_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
        });
        let ttl = |verdict| cache.entry(verdict, 1_000).ttl.as_secs();
        assert_eq!(ttl(Ok(claims(1_010))), 10);
        assert_eq!(ttl(Ok(claims(9_999))), 60);
        assert_eq!(ttl(Ok(claims(900))), 0);
        assert_eq!(ttl(Err(Rejection::Inactive)), 5);
    }

    #[test]
    fn the_log_id_is_a_short_hash_prefix() {
        assert_eq!(log_id("abc"), "ba7816bf");
    }
}
