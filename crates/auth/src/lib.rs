//! Authentication for the master.
