//! The session's commit path for a token-response body (`__fuzz::decode_token_response`:
//! the body parsed as the generated code parses it, then `tokens_from` and `refresh_at`),
//! at any receipt time, margin and jitter. The same contract as the property
//! `the_commit_path_accepts_only_usable_tokens` in `tests/proptest_decoders.rs`.
#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cloudbase_auth::types::TokenResponse;
use cloudbase_auth::{__fuzz, Error};
use libfuzzer_sys::fuzz_target;

/// Secrets in the seeds carry this marker, so a leak into an error is findable.
const MARK: &str = "S3CRET";

fn duration(secs: u64, nanos: u32) -> Duration {
    Duration::new(secs, nanos % 1_000_000_000)
}

fuzz_target!(|input: (bool, u64, u32, u64, u32, u64, u32, &[u8])| {
    let (before_epoch, secs, nanos, margin_s, margin_n, jitter_s, jitter_n, body) = input;
    let offset = duration(secs, nanos);
    let received = if before_epoch {
        UNIX_EPOCH.checked_sub(offset)
    } else {
        UNIX_EPOCH.checked_add(offset)
    };
    let received: SystemTime = received.unwrap_or(UNIX_EPOCH);
    let margin = duration(margin_s, margin_n);
    let jitter = duration(jitter_s, jitter_n);

    match __fuzz::decode_token_response(body, received, margin, jitter) {
        Ok((expires_at, refresh_at, _)) => {
            assert!(
                expires_at > received,
                "a usable token expires after receipt"
            );
            assert!(refresh_at <= expires_at);
            let lifetime = expires_at.duration_since(received).unwrap();
            assert!(
                refresh_at >= received + lifetime / 2,
                "no refresh before half the lifetime"
            );
            let parsed: TokenResponse = serde_json::from_slice(body).unwrap();
            assert!(parsed.access_token.is_some_and(|t| !t.is_empty()));
            assert!(parsed.expires_in.is_some_and(|s| s > 0));
        }
        Err(error) => {
            assert!(matches!(error, Error::Decode { .. }), "{error:?}");
            let shown = format!("{error} {error:?}");
            assert!(!shown.contains(MARK), "a secret in the error: {shown}");
        }
    }
});
