//! Marathon's model and pure cores.

pub mod app;
mod num;
pub mod path;
pub mod validate;
