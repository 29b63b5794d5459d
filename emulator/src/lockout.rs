//! Failed password sign-ins per login: a captcha after N consecutive failures, and at most
//! 100 failures per hour per account (OWASP ASVS 4.0.3 V2.2.1) before answering 429.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::errors::{ApiError, ApiResult};

const HOURLY_CAP: usize = 100;
const HOUR_SECS: u64 = 3600;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Failures {
    consecutive: u32,
    /// Failure times within the last hour.
    recent: Vec<u64>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub(crate) struct FailedSignIns {
    by_login: BTreeMap<String, Failures>,
}

/// What a sign-in attempt for a login needs before its password is checked.
pub(crate) enum Admission {
    Open,
    NeedsCaptcha,
}

fn key(login: &str) -> String {
    login.trim().to_lowercase()
}

impl FailedSignIns {
    /// 429 past the hourly cap; otherwise whether a captcha is needed.
    pub(crate) fn admit(&self, login: &str, now: u64, captcha_after: u32) -> ApiResult<Admission> {
        let Some(failures) = self.by_login.get(&key(login)) else {
            return Ok(Admission::Open);
        };
        let window_start = now.saturating_sub(HOUR_SECS);
        let recent: Vec<u64> = failures
            .recent
            .iter()
            .copied()
            .filter(|&t| t > window_start)
            .collect();
        if recent.len() >= HOURLY_CAP {
            let oldest = recent.iter().copied().min().unwrap_or(now);
            let retry = oldest.saturating_add(HOUR_SECS).saturating_sub(now);
            return Err(ApiError::rate_limited(
                retry,
                "too many failed sign-ins for this account",
            ));
        }
        Ok(if failures.consecutive >= captcha_after {
            Admission::NeedsCaptcha
        } else {
            Admission::Open
        })
    }

    pub(crate) fn record_failure(&mut self, login: &str, now: u64) {
        let failures = self.by_login.entry(key(login)).or_default();
        failures.consecutive = failures.consecutive.saturating_add(1);
        let window_start = now.saturating_sub(HOUR_SECS);
        failures.recent.retain(|&t| t > window_start);
        failures.recent.push(now);
    }

    /// A success clears the consecutive count; the hourly record stays.
    pub(crate) fn record_success(&mut self, login: &str) {
        if let Some(failures) = self.by_login.get_mut(&key(login)) {
            failures.consecutive = 0;
        }
    }
}
