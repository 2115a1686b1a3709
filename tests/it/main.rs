//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod common;
mod intake;
mod load;
mod sync;
