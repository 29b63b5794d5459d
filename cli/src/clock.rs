//! The clock the session judges token expiry by.
//!
//! Test hook: `CLOUDBASE_AUTH_CLOCK_OFFSET_SECS` shifts it, so a test can advance the
//! emulator's clock and have this program see the stored token as expired too, without
//! waiting two hours. It is hidden from `--help`; without it this is the system clock.

use std::time::{Duration, SystemTime};

use cloudbase_auth::Clock;

#[derive(Debug, Clone, Copy)]
pub struct OffsetClock {
    offset_secs: i64,
}

impl OffsetClock {
    pub fn new(offset_secs: i64) -> OffsetClock {
        OffsetClock { offset_secs }
    }
}

impl Clock for OffsetClock {
    fn now(&self) -> SystemTime {
        let now = SystemTime::now();
        let offset = Duration::from_secs(self.offset_secs.unsigned_abs());
        let shifted = if self.offset_secs >= 0 {
            now.checked_add(offset)
        } else {
            now.checked_sub(offset)
        };
        // An offset beyond what SystemTime can hold is ignored rather than a panic.
        shifted.unwrap_or(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_shifts_both_ways_and_never_panics() {
        let behind = OffsetClock::new(-3600).now();
        let ahead = OffsetClock::new(3600).now();
        let gap = ahead.duration_since(behind).unwrap_or_default();
        assert!(gap >= Duration::from_secs(7200));
        let _ = OffsetClock::new(i64::MAX).now();
        let _ = OffsetClock::new(i64::MIN).now();
    }
}
