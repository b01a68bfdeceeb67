//! Marathon's model and pure cores.

pub mod app;
pub mod backoff;
pub mod group;
mod num;
pub mod path;
pub mod plan;
pub mod rolling;
pub mod taskenv;
pub mod validate;
