//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod common;
mod intake;
mod login;
mod login_errors;
mod mapping_cases;
mod mappings;
mod org;
mod salesforce_check;
mod salesforce_metadata;
mod sandbox;
mod start_without_salesforce;
mod sync;
