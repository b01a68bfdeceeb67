//! One module per command group.

pub mod auth;
pub mod cluster;
pub mod config;
pub mod marathon;
pub mod node;
pub mod service;
pub mod task;
pub mod universe;
