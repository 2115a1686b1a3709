//! Integration tests: real Postgres, the Salesforce emulator over HTTP, `serve` over HTTP.

mod auth;
mod batching;
mod common;
mod crashes;
mod health;
mod hostile;
mod intake;
mod limits;
mod load;
mod login;
mod login_errors;
mod logs;
mod mapping_cases;
mod mappings;
mod operator;
mod ordering;
mod org;
mod replay;
mod retention;
mod retries;
mod salesforce_check;
mod salesforce_metadata;
mod sandbox;
mod signatures;
mod start_without_salesforce;
mod sync;
