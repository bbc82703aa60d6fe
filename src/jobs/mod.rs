//! Background jobs that fail visibly: a queue in the database, shared by every instance, with
//! leases, retries that back off, and a dead end that is logged, counted in the error inbox and
//! mailed.
//!
//! - [`queue`]: the table's operations (enqueue, claim, renew, finish).
//! - [`backoff`]: when a failed job is tried again.

pub mod backoff;
pub mod queue;
