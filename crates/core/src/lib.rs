//! # payments-core
//!
//! The vocabulary every `payments-*` provider crate speaks: exact [`Money`], one unified
//! [`PaymentStatus`], one [`Error`] that says what is safe to retry, the provider-neutral
//! [`PaymentProvider`] trait, webhook verification plumbing ([`webhook`]), and — behind the default
//! `client` feature — the HTTP retry policy ([`http`]) and access-token cache ([`token`]).
//!
//! A merchant rarely depends on this crate directly: it comes with each provider crate. Code that
//! works across providers is written against it:
//!
//! ```
//! use payments_core::{Currency, Money, PaymentStatus, Transition};
//!
//! // Amounts are integer minor units, converted exactly to each provider's wire form.
//! let amount = Money::from_decimal_str("12.50", Currency::EUR)?;
//! assert_eq!(amount.minor_units(), 1250);
//!
//! // A late webhook never moves a payment backwards or out of a final state.
//! let stored = PaymentStatus::Succeeded;
//! let late = PaymentStatus::Processing;
//! assert_eq!(stored.transition_to(&late), Transition::FinalAlready);
//! # Ok::<(), payments_core::MoneyError>(())
//! ```
//!
//! ## Features
//! - `client` (default): reqwest (rustls, no OpenSSL), tokio, the retry policy and the token cache.
//! - `http`: [`WebhookRequest`](webhook::WebhookRequest) from the `http` crate's request parts
//!   (what axum, hyper and most Rust web frameworks hand a handler), with the public URL from
//!   configuration ([`PublicUrl`](webhook::PublicUrl)). Adds only the `http` crate.
//!   Without it (`default-features = false`) the crate has no HTTP stack and no async runtime, for
//!   services that only verify webhooks.
// Without `client` the modules `http` and `token` do not exist: their links lead to the features.
#![cfg_attr(
    not(feature = "client"),
    doc = "",
    doc = "[`http`]: #features",
    doc = "[`token`]: #features"
)]

pub mod error;
pub mod money;
pub mod net;
pub mod provider;
pub mod provider_support;
pub mod secret;
pub mod status;
pub mod webhook;
mod wire_enum;

#[cfg(feature = "client")]
pub mod http;
#[cfg(feature = "client")]
pub mod token;

pub use error::{Delivery, Error, ProviderError, Result};
pub use money::{Currency, Decimal, Money, MoneyError};
pub use provider::{
    Capabilities, Capability, Checkout, CreatePayment, Customer, Payment, PaymentProvider, Refund,
    RefundRequest,
};
pub use status::{PaymentStatus, RefundStatus, Transition};

/// Re-exported so provider crates and merchants name one version of it.
pub use async_trait::async_trait;

/// Used by [`wire_enum!`]; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use serde;
}
