//! strexforce keeps a Salesforce org up to date with what happens on a StrexConnect short
//! number: it receives Strex's MO and DLR forwards, stores them durably in Postgres, maps them
//! through YAML files into upserts by external id, and sends those to Salesforce in batches.

pub mod cli;
pub mod demo;
pub mod forward;
pub mod mapping;
pub mod replay;
pub mod report;
pub mod salesforce;
pub mod server;
pub mod signature;
pub mod store;
pub mod sync;
pub mod telemetry;
