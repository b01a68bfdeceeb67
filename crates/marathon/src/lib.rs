//! Marathon's model and pure cores.
