//! Values read when Prometheus scrapes (and when the status page asks), rather than counted:
//! the pool's connections, the queues, the database's state, and the process itself.

use std::sync::{Arc, OnceLock};

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Unit;

/// What the application reports of itself at one moment.
#[derive(Clone, Debug, Default)]
pub struct Live {
    pub pool_in_use: u32,
    pub pool_idle: u32,
    pub pool_size: u32,
    /// Whether requests are being answered 503 for a database outage.
    pub database_down: bool,
    pub hashing_queue: usize,
    pub mail_queue: usize,
    pub write_conflicts_retried: u64,
    /// Jobs by status, as last counted (every few seconds).
    pub jobs: Vec<(String, i64)>,
}

/// How to read [`Live`]; set by `startup.rs` once the application's parts exist.
pub type ReadNow = Box<dyn Fn() -> Live + Send + Sync>;

/// The collector that reads [`Live`] and the process at scrape time.
pub struct LiveReadings {
    read: Arc<OnceLock<ReadNow>>,
}

impl LiveReadings {
    pub fn new(read: Arc<OnceLock<ReadNow>>) -> Self {
        LiveReadings { read }
    }
}

impl std::fmt::Debug for LiveReadings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LiveReadings")
    }
}

fn gauge(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    value: i64,
) -> std::fmt::Result {
    let metric = ConstGauge::new(value);
    metric.encode(encoder.encode_descriptor(name, help, unit, metric.metric_type())?)
}

impl Collector for LiveReadings {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        if let Some(live) = self.read.get().map(|read| read()) {
            let mut pool = encoder.encode_descriptor(
                "microblog_db_pool_connections",
                "Database connections in the pool, by state.",
                None,
                MetricType::Gauge,
            )?;
            for (state, count) in [("in_use", live.pool_in_use), ("idle", live.pool_idle)] {
                ConstGauge::new(i64::from(count))
                    .encode(pool.encode_family(&[("state", state)])?)?;
            }
            gauge(
                &mut encoder,
                "microblog_db_pool_size",
                "The most connections the pool opens (DATABASE_POOL_SIZE).",
                None,
                i64::from(live.pool_size),
            )?;
            gauge(
                &mut encoder,
                "microblog_db_down",
                "1 while requests are answered 503 for a database outage.",
                None,
                i64::from(live.database_down),
            )?;
            gauge(
                &mut encoder,
                "microblog_password_hashing_queue_depth",
                "Password checks waiting for a hashing thread.",
                None,
                live.hashing_queue as i64,
            )?;
            gauge(
                &mut encoder,
                "microblog_error_mail_queue_depth",
                "Error mails waiting to be sent.",
                None,
                live.mail_queue as i64,
            )?;
            let mut jobs = encoder.encode_descriptor(
                "microblog_jobs",
                "Background jobs in the queue, by status (counted every few seconds).",
                None,
                MetricType::Gauge,
            )?;
            for (status, count) in &live.jobs {
                ConstGauge::new(*count)
                    .encode(jobs.encode_family(&[("status", status.as_str())])?)?;
            }
            ConstCounter::new(live.write_conflicts_retried).encode(encoder.encode_descriptor(
                "microblog_db_write_conflicts_retried",
                "Transactions that conflicted with another and were tried once more.",
                None,
                MetricType::Counter,
            )?)?;
        }
        if let Some(process) = process() {
            gauge(
                &mut encoder,
                "process_resident_memory",
                "Resident memory size in bytes.",
                Some(&Unit::Bytes),
                process.resident_bytes as i64,
            )?;
            gauge(
                &mut encoder,
                "process_open_fds",
                "Number of open file descriptors.",
                None,
                process.open_fds as i64,
            )?;
            ConstCounter::new(process.cpu_seconds).encode(encoder.encode_descriptor(
                "process_cpu",
                "Total user and system CPU time spent in seconds.",
                Some(&Unit::Seconds),
                MetricType::Counter,
            )?)?;
            let start = ConstGauge::new(process.start_time_seconds);
            start.encode(encoder.encode_descriptor(
                "process_start_time",
                "Start time of the process since unix epoch in seconds.",
                Some(&Unit::Seconds),
                start.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

/// The process, as Linux's /proc says (elsewhere, nothing).
pub struct Process {
    pub resident_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: u64,
    pub start_time_seconds: f64,
}

/// Read by hand: the crates that do it for prometheus-client lag its versions, and it is three
/// files. /proc counts CPU time in USER_HZ ticks, 100 a second on every Linux architecture in
/// use (`getconf CLK_TCK`).
pub fn process() -> Option<Process> {
    const TICKS: f64 = 100.0;
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which may hold spaces: field 3 is the first.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let boot: u64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())?;
    let resident_kb: u64 = std::fs::read_to_string("/proc/self/status")
        .ok()?
        .lines()
        .find_map(|line| {
            line.strip_prefix("VmRSS:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })?;
    Some(Process {
        resident_bytes: resident_kb * 1024,
        cpu_seconds: (field(14)? + field(15)?) as f64 / TICKS,
        open_fds: std::fs::read_dir("/proc/self/fd").ok()?.count() as u64,
        start_time_seconds: boot as f64 + field(22)? as f64 / TICKS,
    })
}
