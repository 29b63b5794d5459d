//! The emulator's own clock, in whole unix seconds.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::config::ClockMode;

#[derive(Debug)]
pub(crate) struct Clock {
    mode: ClockMode,
    /// Running: offset added to real time. Frozen: the current time itself.
    value: Mutex<i64>,
}

fn real_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

impl Clock {
    pub(crate) fn new(mode: ClockMode) -> Self {
        let value = match mode {
            ClockMode::Running => 0,
            ClockMode::Frozen => real_now(),
        };
        Self {
            mode,
            value: Mutex::new(value),
        }
    }

    fn value(&self) -> std::sync::MutexGuard<'_, i64> {
        self.value
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn now(&self) -> u64 {
        let value = *self.value();
        let now = match self.mode {
            ClockMode::Running => real_now().saturating_add(value),
            ClockMode::Frozen => value,
        };
        u64::try_from(now).unwrap_or(0)
    }

    /// The clock's own value (running: the offset; frozen: the time), for the state file.
    pub(crate) fn snapshot(&self) -> (ClockMode, i64) {
        (self.mode, *self.value())
    }

    /// Puts back a [`Clock::snapshot`] taken in the same mode; another mode's is ignored.
    pub(crate) fn restore(&self, mode: ClockMode, value: i64) {
        if mode == self.mode {
            *self.value() = value;
        }
    }

    pub(crate) fn advance(&self, secs: u64) {
        let mut value = self.value();
        *value = value.saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
    }

    pub(crate) fn set(&self, unix_secs: u64) {
        let target = i64::try_from(unix_secs).unwrap_or(i64::MAX);
        let mut value = self.value();
        *value = match self.mode {
            ClockMode::Running => target.saturating_sub(real_now()),
            ClockMode::Frozen => target,
        };
    }
}

/// Formats unix seconds as an RFC 3339 UTC timestamp (profile dates are strings upstream).
pub(crate) fn rfc3339(unix_secs: u64) -> String {
    let days = i64::try_from(unix_secs / 86_400).unwrap_or(0);
    let rem = unix_secs % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Howard Hinnant's days-to-civil algorithm (proleptic Gregorian calendar).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_709_251_199), "2024-02-29T23:59:59Z");
    }

    #[test]
    fn frozen_clock_moves_only_when_told() {
        let clock = Clock::new(ClockMode::Frozen);
        clock.set(1000);
        assert_eq!(clock.now(), 1000);
        clock.advance(5);
        assert_eq!(clock.now(), 1005);
    }
}
