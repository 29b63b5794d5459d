//! Bounded retries with full jitter, honouring `Retry-After`.

use std::time::Duration;

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

/// How transient failures are retried.
///
/// Only safe retries happen: a connection that was never made, idempotent (`GET`)
/// operations, and the refresh grant (the server's reuse window makes resending the
/// same refresh token safe). A rejected TLS certificate is never retried.
///
/// **Attempt budget.** One logical call (a `Session` method, or one generated call)
/// sends its request at most `1 + max_retries` times, counting transient retries and
/// the resend after a 401. If the call needs a refresh, that refresh grant is sent at
/// most `1 + max_retries` times too (callers waiting on the same refresh share it).
/// With the default policy a call makes at most 6 HTTP requests, in at most
/// `2 × (3 × timeout) + backoff` of time.
///
/// ```
/// use std::time::Duration;
/// use cloudbase_auth::{Config, RetryPolicy};
///
/// // A batch job that can wait: more retries, longer backoff.
/// let patient = RetryPolicy {
///     max_retries: 5,
///     max_delay: Duration::from_secs(10),
///     ..RetryPolicy::default()
/// };
/// let config = Config::for_env("my-env-1a2b3c").with_retry_policy(patient);
/// // A latency-sensitive handler: fail fast and let the caller decide.
/// let config = config.with_retry_policy(RetryPolicy::none());
/// # let _ = config;
/// assert_eq!(RetryPolicy::none().delay(0, None), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The first backoff ceiling; it doubles per attempt.
    pub base_delay: Duration,
    /// The largest backoff ceiling.
    pub max_delay: Duration,
    /// A `Retry-After` longer than this is not waited for: the error is returned.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 2,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
            max_retry_after: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// How long to wait before retry number `attempt` (0-based), or `None` to give up.
    pub fn delay(&self, attempt: u32, retry_after: Option<Duration>) -> Option<Duration> {
        if attempt >= self.max_retries {
            return None;
        }
        if let Some(wait) = retry_after {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        // Full jitter (AWS architecture blog): uniform in [0, min(cap, base * 2^attempt)].
        let ceiling = self
            .base_delay
            .saturating_mul(1 << attempt.min(16))
            .min(self.max_delay);
        Some(ceiling.mul_f64(rand::rng().random::<f64>()))
    }
}

/// `Retry-After` in delta-seconds (the HTTP-date form is ignored: it depends on clocks agreeing).
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_gives_up() {
        let policy = RetryPolicy::default();
        for attempt in 0..2 {
            let delay = policy.delay(attempt, None).expect("retries left");
            assert!(delay <= policy.max_delay);
        }
        assert_eq!(policy.delay(2, None), None);
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_limit() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, Some(Duration::from_secs(3))),
            Some(Duration::from_secs(3))
        );
        assert_eq!(policy.delay(0, Some(Duration::from_secs(60))), None);
    }

    #[test]
    fn parses_delta_seconds_only() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        headers.insert(
            RETRY_AFTER,
            "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap(),
        );
        assert_eq!(retry_after(&headers), None);
    }
}
