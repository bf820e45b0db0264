//! Health: what a probe round sends, how answers are classed, the shared verdicts, the split
//! policy they imply, the prober lease and automatic rollback.

pub mod lease;
pub mod passive;
pub mod policy;
pub mod probe_plan;
pub mod rollback;
pub mod schedule;
pub mod state;

pub use state::{classify, Health, HealthRecord, Outcome, ProbeKind, Transition};
