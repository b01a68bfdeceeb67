//! Marathon's model and pure cores.

pub mod app;
pub mod group;
mod num;
pub mod path;
pub mod plan;
pub mod rolling;
pub mod validate;
