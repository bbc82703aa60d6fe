//! When a failed job runs again: the first wait, doubled at each attempt, with up to a quarter
//! more at random, so that jobs that failed together do not all come back together.

use std::time::Duration;

/// The longest wait between two attempts, whatever the attempt.
const LONGEST: Duration = Duration::from_secs(3600);

/// The wait after attempt `attempt` (1 for the first) failed, from a first wait of `first`;
/// `jitter` is a number from 0 to 1 (random in use, fixed in tests).
pub fn wait_after(attempt: i32, first: Duration, jitter: f64) -> Duration {
    let doublings = u32::try_from(attempt.saturating_sub(1))
        .unwrap_or(0)
        .min(20);
    let base = first.saturating_mul(1 << doublings).min(LONGEST);
    base + base.mul_f64(jitter.clamp(0.0, 1.0) / 4.0)
}

/// A number from 0 to 1, different for each call: enough to spread retries, not a secret.
pub fn jitter() -> f64 {
    let bytes = *uuid::Uuid::new_v4().as_bytes();
    f64::from(u16::from_le_bytes([bytes[0], bytes[1]])) / f64::from(u16::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_attempt_waits_twice_as_long_plus_at_most_a_quarter() {
        let first = Duration::from_secs(10);
        assert_eq!(wait_after(1, first, 0.0), Duration::from_secs(10));
        assert_eq!(wait_after(2, first, 0.0), Duration::from_secs(20));
        assert_eq!(wait_after(4, first, 0.0), Duration::from_secs(80));
        assert_eq!(wait_after(2, first, 1.0), Duration::from_secs(25));
        assert_eq!(wait_after(40, first, 0.0), LONGEST);
        let spread = jitter();
        assert!((0.0..=1.0).contains(&spread));
    }
}
