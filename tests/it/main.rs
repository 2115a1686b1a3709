//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod auth;
mod common;
mod hostile;
mod intake;
mod login;
mod login_errors;
mod logs;
mod mapping_cases;
mod mappings;
mod org;
mod salesforce_check;
mod salesforce_metadata;
mod sandbox;
mod signatures;
mod start_without_salesforce;
mod sync;
