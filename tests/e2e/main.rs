//! End-to-end tests: the real `redress` binary on real files.
//!
//! One test binary with a module per area keeps link time down.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod backup;
mod cli;
mod cluster;
mod console;
mod daemon;
mod hardening;
mod host_limits;
mod plugins;
#[path = "../support/postgres_server.rs"]
mod postgres_server;
mod replay;
mod robustness;
mod store;
mod support;
mod worst_case;
