//! Rate limits on what a stranger can make the site spend: password checks (login per client
//! address and per account), registrations per client, and reset mails per client and per
//! address. governor counts (GCRA: a burst, then a steady rate); a limited request gets our 429
//! page with `Retry-After`, and one WARN line is written per limited burst, not per request.
//!
//! Limits are per process: two instances each allow the full rate.

use crate::metrics::{Metrics, RateLimitCounter};
use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use crate::config::RateLimitSettings;
use crate::errors::AppError;

/// One limit, one state per key.
pub struct Limit<K: Hash + Eq + Clone> {
    /// What is limited, for the log line.
    name: &'static str,
    period: Duration,
    limiter: DefaultKeyedRateLimiter<K>,
    /// When each limited key was last warned about, so a burst gives one line.
    warned: Mutex<HashMap<K, Instant>>,
    refused: RateLimitCounter,
}

impl<K: Hash + Eq + Clone + std::fmt::Debug> Limit<K> {
    /// At most `count` per `period`: that many at once, then one every `period / count`.
    fn new(name: &'static str, count: u32, period: Duration, metrics: &Metrics) -> Self {
        let count = NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN);
        let quota = Quota::with_period(period / count.get())
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Limit {
            name,
            period,
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            warned: Mutex::new(HashMap::new()),
            refused: metrics.rate_limit_counter(name),
        }
    }

    /// Counts one request for `key`; past the limit, a 429 saying when to come back.
    pub fn check(&self, key: &K) -> Result<(), AppError> {
        let Err(not_until) = self.limiter.check_key(key) else {
            return Ok(());
        };
        self.refused.inc();
        let retry_after = not_until
            .wait_time_from(DefaultClock::default().now())
            .as_secs()
            .max(1);
        let mut warned = self
            .warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let now = Instant::now();
        let new_burst = warned
            .get(key)
            .is_none_or(|last| now.duration_since(*last) >= self.period);
        if new_burst {
            warned.insert(key.clone(), now);
            tracing::warn!(limit = self.name, key = ?key, retry_after, "Rate limit reached; further refusals in this burst are not logged");
        }
        Err(AppError::TooManyRequests { retry_after })
    }

    /// Forgets keys whose limit has fully recovered, so the maps cannot grow without end.
    fn forget_idle(&self) {
        self.limiter.retain_recent();
        self.limiter.shrink_to_fit();
        let now = Instant::now();
        self.warned
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .retain(|_, last| now.duration_since(*last) < self.period);
    }
}

/// Every limit of the site.
pub struct RateLimits {
    enabled: bool,
    login_per_client: Limit<IpAddr>,
    login_per_account: Limit<String>,
    register_per_client: Limit<IpAddr>,
    reset_per_client: Limit<IpAddr>,
    reset_per_email: Limit<String>,
    /// The lab's rate-limit experiment: a limit small enough to reach by hand.
    lab_per_client: Limit<IpAddr>,
    /// Avatar uploads: each decodes an image, the costliest thing a user can ask for.
    avatar_per_user: Limit<i32>,
}

/// The key for a client address: an IPv6 client is its /64, the block one subscriber gets, so
/// a stranger cannot take a fresh bucket for every request by changing the host bits.
/// An IPv4 client seen through a dual-stack listener (`::ffff:a.b.c.d`) is its IPv4 address:
/// masked as a /64, every IPv4 client would share one bucket.
fn network(client: IpAddr) -> IpAddr {
    match client.to_canonical() {
        IpAddr::V6(v6) => IpAddr::V6(std::net::Ipv6Addr::from(
            u128::from(v6) & !((1u128 << 64) - 1),
        )),
        v4 => v4,
    }
}

/// A name or address as a key: folded to lower case one character at a time, as PostgreSQL's
/// `lower()` does (Unicode's simple mapping), so every spelling that finds the same account
/// shares its key: `alİce` (capital I with a dot) is `alice` to the database, while Rust's
/// `to_lowercase` makes it `ali̇ce`. No longer than a valid name (120 characters), so a
/// stranger's 64 KiB "username" cannot make a 64 KiB key.
fn bounded_key(name: &str) -> String {
    name.chars()
        .take(120)
        .flat_map(|c| {
            let simple = if c == '\u{130}' { 'i' } else { c };
            simple.to_lowercase()
        })
        .collect()
}

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
/// Avatar uploads per user: ten at once (a few tries to get one right), then one every six
/// minutes.
pub const AVATARS_PER_HOUR: u32 = 10;

impl RateLimits {
    /// The limits, and a task that forgets idle keys every minute.
    pub fn start(settings: &RateLimitSettings, metrics: &Metrics) -> Arc<Self> {
        let m = metrics;
        let limits = Arc::new(RateLimits {
            enabled: settings.enabled,
            login_per_client: Limit::new("login per client", settings.login_per_client, MINUTE, m),
            login_per_account: Limit::new(
                "login per account",
                settings.login_per_account,
                MINUTE,
                m,
            ),
            register_per_client: Limit::new(
                "registration per client",
                settings.register_per_client,
                HOUR,
                m,
            ),
            reset_per_client: Limit::new(
                "reset request per client",
                settings.reset_per_client,
                HOUR,
                m,
            ),
            reset_per_email: Limit::new(
                "reset request per address",
                settings.reset_per_email,
                HOUR,
                m,
            ),
            lab_per_client: Limit::new("lab rate-limit experiment", 3, MINUTE, m),
            avatar_per_user: Limit::new("avatar uploads per user", AVATARS_PER_HOUR, HOUR, m),
        });
        let weak = Arc::downgrade(&limits);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(MINUTE);
            loop {
                tick.tick().await;
                let Some(limits) = weak.upgrade() else { return };
                limits.forget_idle();
            }
        });
        limits
    }

    fn forget_idle(&self) {
        self.login_per_client.forget_idle();
        self.login_per_account.forget_idle();
        self.register_per_client.forget_idle();
        self.reset_per_client.forget_idle();
        self.reset_per_email.forget_idle();
        self.lab_per_client.forget_idle();
        self.avatar_per_user.forget_idle();
    }

    /// A login attempt from `client` for `username` (counted before the password is checked:
    /// once an account is limited, even the right password waits for the window to pass).
    pub fn login(&self, client: Option<IpAddr>, username: &str) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        if let Some(client) = client {
            self.login_per_client.check(&network(client))?;
        }
        self.login_per_account.check(&bounded_key(username))
    }

    /// A registration attempt from `client`.
    pub fn register(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        match (self.enabled, client) {
            (true, Some(client)) => self.register_per_client.check(&network(client)),
            _ => Ok(()),
        }
    }

    /// A reset request from `client` for `email`.
    pub fn reset(&self, client: Option<IpAddr>, email: &str) -> Result<(), AppError> {
        if !self.enabled {
            return Ok(());
        }
        if let Some(client) = client {
            self.reset_per_client.check(&network(client))?;
        }
        self.reset_per_email.check(&bounded_key(email))
    }

    /// An avatar upload by `user_id` (counted before the image is read).
    pub fn avatar(&self, user_id: i32) -> Result<(), AppError> {
        match self.enabled {
            true => self.avatar_per_user.check(&user_id),
            false => Ok(()),
        }
    }

    /// A press of the lab's rate-limit button (limited even with RATE_LIMITS=0: it is the lesson).
    pub fn lab(&self, client: Option<IpAddr>) -> Result<(), AppError> {
        match client {
            Some(client) => self.lab_per_client.check(&network(client)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// Who a client is: an IPv4 address, or an IPv6 /64 (what one subscriber is given). An
    /// IPv4 address is the same client however the listener reports it.
    fn client_identity(ip: IpAddr) -> (bool, u128) {
        match ip.to_canonical() {
            IpAddr::V4(v4) => (true, u128::from(u32::from(v4))),
            IpAddr::V6(v6) => (false, u128::from(v6) >> 64),
        }
    }

    fn any_address() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            any::<u32>().prop_map(|n| IpAddr::V4(Ipv4Addr::from(n))),
            any::<u32>().prop_map(|n| IpAddr::V6(Ipv4Addr::from(n).to_ipv6_mapped())),
            any::<u128>().prop_map(|n| IpAddr::V6(Ipv6Addr::from(n))),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5_000))]

        /// Never: two different clients in one bucket (and one client is one bucket).
        #[test]
        fn a_rate_limit_key_never_merges_two_clients(a in any_address(), b in any_address()) {
            let same_client = client_identity(a) == client_identity(b);
            prop_assert_eq!(network(a) == network(b), same_client, "{} {}", a, b);
        }

        /// Never: two account keys for one account, however its name is cased.
        #[test]
        fn an_account_key_is_the_same_whatever_the_case(name in "[a-zA-Z0-9_.-]{1,64}") {
            prop_assert_eq!(bounded_key(&name), bounded_key(&name.to_ascii_uppercase()));
        }
    }

    #[test]
    fn a_capital_dotted_i_keys_as_the_database_folds_it() {
        assert_eq!(bounded_key("al\u{130}ce"), "alice");
    }

    #[test]
    fn an_ipv6_client_is_its_64_block_and_keys_are_bounded() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let other: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(network(a), network(b));
        assert_ne!(network(a), network(other));
        let v4: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(network(v4), v4);
        assert_eq!(bounded_key(&"X".repeat(70_000)).len(), 120);
    }
}
