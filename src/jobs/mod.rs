//! Background jobs that fail visibly: a queue in the database, shared by every instance, with
//! leases, retries that back off, and a dead end that is logged, counted in the error inbox and
//! mailed.
//!
//! - [`queue`]: the table's operations (enqueue, claim, renew, finish).
//! - [`listing`]: counts, pages of jobs, and the deletion of finished ones.
//! - [`backoff`]: when a failed job is tried again.
//! - [`worker`]: the workers in the app's process, leases, retries, the dead end, shutdown.
//! - [`kinds`]: what each kind of job does; [`export`]: "export your posts".

pub mod backoff;
pub mod export;
pub mod kinds;
pub mod listing;
pub mod queue;
mod upkeep;
pub mod worker;
