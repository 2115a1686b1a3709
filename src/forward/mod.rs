//! Strex forwards: their payloads, and the HTTP intake that stores them.

pub mod auth;
pub mod delivery_state;
pub mod http;
pub mod intake;
pub mod limits;
pub mod msisdn;
pub mod parse;
pub mod payload;

pub use delivery_state::DeliveryState;
pub use msisdn::{Msisdn, NumberingPlan};
pub use parse::{Forward, Message, PayloadError, parse};
pub use payload::{DeliveryReport, ForwardKind, InMessage, SystemAction};
