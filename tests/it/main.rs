//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod batching;
mod common;
mod crashes;
mod intake;
mod limits;
mod load;
mod operator;
mod ordering;
mod retention;
mod retries;
mod sync;
