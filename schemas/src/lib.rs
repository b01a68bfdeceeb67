//! The wire contract of dcos-rs: plain serde types that cross a process boundary.
//!
//! The CLI, the master and the agents all speak through these types and nothing else, so a
//! change here is a protocol change. Modules:
//! - [`task`]: Mesos task states and status updates, as the Mesos APIs name them;
//! - [`agent`]: the internal master <-> agent protocol (registration, heartbeats, launch, kill,
//!   status updates with acknowledgement).

pub mod agent;
pub mod task;
