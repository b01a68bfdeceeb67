//! The Universe package format, exactly as the public Universe publishes it.
//!
//! Load a repository folder or an index document, validate packages against the Universe's own
//! schemas, resolve a package by name and version, build options from config.json defaults and
//! user options, and render the Marathon app (mustache with the package service's rules, or tera
//! for the project's own packages).

pub mod mustache;
