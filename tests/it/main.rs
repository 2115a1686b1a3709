//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod batching;
mod common;
mod intake;
mod load;
mod ordering;
mod retries;
mod sync;
