//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod common;
mod intake;
mod mapping_cases;
mod mappings;
mod salesforce_metadata;
mod sync;
