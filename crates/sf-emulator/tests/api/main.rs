//! Behaviour of the emulator over real HTTP, one fresh emulator per test.

mod collections;
mod control;
mod describe;
mod faults;
mod interop;
mod keys;
mod login_flows;
mod oauth;
mod relationships;
mod schema;
mod sessions;
mod single_upsert;
mod support;
mod validation;
mod versions;
