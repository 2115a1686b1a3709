//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod auth;
mod common;
mod hostile;
mod intake;
mod logs;
mod signatures;
mod sync;
