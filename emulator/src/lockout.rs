//! Failed password sign-ins per account: a captcha after N consecutive failures, and at most
//! 100 failures per hour per account (OWASP ASVS 4.0.3 V2.2.1) before answering 429.
//!
//! Counted per account (the user's `sub`), not per spelling of the login, so a username, its
//! e-mail address in any case and its phone number share one budget. Each attempt is counted
//! *before* its password is checked (a reservation, handed back on success), so parallel
//! guesses cannot slip past a limit while the slow checks run.

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

/// The lockout key of an account: its `sub` when the login names a user, else the login in
/// normalized form (so unknown logins are limited the same way).
pub(crate) fn account_key(sub: Option<&str>, login: &str) -> String {
    match sub {
        Some(sub) => format!("sub:{sub}"),
        None => {
            let login = crate::users::Contact::parse(login)
                .map_or_else(|_| login.trim().to_owned(), |c| c.as_str().to_owned());
            format!("login:{login}")
        }
    }
}

impl FailedSignIns {
    /// Counts an attempt as failed before it is evaluated: 429 past the hourly cap,
    /// `captcha_required` past the consecutive limit unless `captcha_solved()`.
    pub(crate) fn reserve(
        &mut self,
        key: &str,
        now: u64,
        captcha_after: u32,
        captcha_solved: impl FnOnce() -> bool,
    ) -> ApiResult<()> {
        let failures = self.by_login.entry(key.to_owned()).or_default();
        let window_start = now.saturating_sub(HOUR_SECS);
        failures.recent.retain(|&t| t > window_start);
        if failures.recent.len() >= HOURLY_CAP {
            let oldest = failures.recent.iter().copied().min().unwrap_or(now);
            let retry = oldest.saturating_add(HOUR_SECS).saturating_sub(now);
            return Err(ApiError::rate_limited(
                retry,
                "too many failed sign-ins for this account",
            ));
        }
        if failures.consecutive >= captcha_after && !captcha_solved() {
            return Err(ApiError::captcha_required());
        }
        failures.consecutive = failures.consecutive.saturating_add(1);
        failures.recent.push(now);
        Ok(())
    }

    /// A successful (or never evaluated) attempt: its reservation is handed back and the
    /// consecutive count cleared on success.
    pub(crate) fn release(&mut self, key: &str, reserved_at: u64, succeeded: bool) {
        if let Some(failures) = self.by_login.get_mut(key) {
            if let Some(i) = failures.recent.iter().rposition(|&t| t == reserved_at) {
                failures.recent.swap_remove(i);
            }
            failures.consecutive = if succeeded {
                0
            } else {
                failures.consecutive.saturating_sub(1)
            };
        }
    }

    /// Drops accounts with no failure in the last hour and no consecutive count.
    pub(crate) fn prune(&mut self, now: u64) {
        let window_start = now.saturating_sub(HOUR_SECS);
        self.by_login.retain(|_, f| {
            f.recent.retain(|&t| t > window_start);
            !f.recent.is_empty()
        });
    }
}
