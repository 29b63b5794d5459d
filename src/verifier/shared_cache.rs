//! Introspection answers shared by verifier replicas through Redis (features `verifier` and
//! `redis`), behind each replica's local cache: a token is introspected once per TTL by
//! the whole fleet rather than once per replica.
//!
//! Keys are `cloudbase-auth:verdict:{audience}:{hex SHA-256 of the token}` (never the
//! token); values are the server's answer (`active`, `sub`, `scope`, `client_id`), never
//! claims: every replica still derives the claims from the token it was given and checks
//! them. An active answer lives `min(exp - now, max cache TTL)`, an inactive one the
//! negative TTL. Redis errors, timeouts and unreadable values count as misses: the replica
//! introspects, and never allows a token Redis could not vouch for.

use std::time::Duration;

use super::answer::Answer;
use super::cache::{CachePolicy, hash, log_id};
use redis::aio::ConnectionManager;

/// The longest a replica waits for Redis before introspecting instead.
const REDIS_TIMEOUT: Duration = Duration::from_millis(250);

pub(crate) struct SharedCache {
    redis: ConnectionManager,
    /// `cloudbase-auth:verdict:{audience}:`.
    prefix: String,
    policy: CachePolicy,
}

impl SharedCache {
    pub(crate) fn new(redis: ConnectionManager, audience: &str, policy: CachePolicy) -> Self {
        SharedCache {
            redis,
            prefix: format!("cloudbase-auth:verdict:{audience}:"),
            policy,
        }
    }

    fn key(&self, token: &str) -> String {
        let mut key = self.prefix.clone();
        for byte in hash(token) {
            key.push_str(&format!("{byte:02x}"));
        }
        key
    }

    /// The shared answer for `token`, or `None` (a miss, or Redis did not answer).
    pub(crate) async fn get(&self, token: &str) -> Option<Answer> {
        let mut redis = self.redis.clone();
        let mut get = redis::cmd("GET");
        get.arg(self.key(token));
        let get = get.query_async::<Option<String>>(&mut redis);
        match tokio::time::timeout(REDIS_TIMEOUT, get).await {
            Ok(Ok(value)) => value.and_then(|json| serde_json::from_str(&json).ok()),
            Ok(Err(error)) => {
                tracing::warn!(token = %log_id(token), %error, "shared verdict cache unavailable; introspecting");
                None
            }
            Err(_) => {
                tracing::warn!(token = %log_id(token), "shared verdict cache timed out; introspecting");
                None
            }
        }
    }

    /// Shares `answer` for `token`, which expires at `exp` (seconds); `now` in seconds.
    pub(crate) async fn put(&self, token: &str, answer: &Answer, exp: u64, now: u64) {
        let ttl = ttl(&self.policy, answer, exp, now);
        if ttl.is_zero() {
            return;
        }
        let Ok(json) = serde_json::to_string(answer) else {
            return;
        };
        let mut redis = self.redis.clone();
        let mut set = redis::cmd("SET");
        set.arg(self.key(token))
            .arg(json)
            .arg("PX")
            .arg(ttl.as_millis().max(1).to_string());
        let set = set.query_async::<()>(&mut redis);
        if !matches!(tokio::time::timeout(REDIS_TIMEOUT, set).await, Ok(Ok(()))) {
            tracing::debug!(token = %log_id(token), "could not share a verdict");
        }
    }
}

/// `min(exp - now, max TTL)` for an active token, the negative TTL otherwise.
fn ttl(policy: &CachePolicy, answer: &Answer, exp: u64, now: u64) -> Duration {
    match answer {
        Answer::Active { .. } => Duration::from_secs(exp.saturating_sub(now)).min(policy.max_ttl),
        Answer::Inactive => policy.negative_ttl,
    }
}

impl std::fmt::Debug for SharedCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_live_until_exp_capped_and_refusals_get_the_negative_ttl() {
        let policy = CachePolicy {
            capacity: 1,
            max_ttl: Duration::from_secs(60),
            negative_ttl: Duration::from_secs(5),
        };
        let active = Answer::Active {
            sub: None,
            scope: None,
            client_id: None,
        };
        let secs = |answer: &Answer, exp| ttl(&policy, answer, exp, 1_000).as_secs();
        assert_eq!(secs(&active, 1_010), 10);
        assert_eq!(secs(&active, 9_999), 60);
        assert_eq!(secs(&active, 900), 0);
        assert_eq!(secs(&Answer::Inactive, 1_010), 5);
    }
}
