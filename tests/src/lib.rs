//! Harness for end-to-end tests: locate the built binaries, make temp dirs, start real
//! `dcosd` processes and stop them (also when a test fails).
