//! payments-payconiq (docs being written).

pub mod config;
pub mod convert;
pub mod request;
pub mod webhook;
pub mod wire;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod jwks;

#[cfg(feature = "client")]
pub use client::{CAPABILITIES, MAX_PAGE_SIZE, PayconiqClient, to_checkout, to_payment};
pub use config::{Environment, PayconiqConfig};
pub use request::{AcknowledgeRequest, CreatePaymentRequest};
pub use wire::{PayconiqPayment, PayconiqStatus, RefundIban, SearchPage, SearchQuery};
