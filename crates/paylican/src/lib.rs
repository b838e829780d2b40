//! # payments-paylican
//!
//! [Paylican](https://paylican.com)'s payment gateway for Rust: Keycloak authentication (password
//! grant, then refresh tokens), payment creation with exact decimal amounts, the payment-page
//! redirect URL, and its invoice webhooks — which Paylican does not sign — behind guards the
//! merchant turns on.
//!
//! The flow: create a payment (an invoice), redirect the payer to the payment page, receive the
//! webhook when the invoice is paid.
//!
//!
//! (The example needs the default `client` feature.)
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
//! use std::net::IpAddr;
//! use payments_core::webhook::{Authenticity, DedupStore, InMemoryDedupStore, WebhookRequest};
//! use payments_core::{Currency, Decimal, PaymentStatus};
//! use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
//! use payments_paylican::{CreatePaymentRequest, PaylicanClient, PaylicanConfig};
//!
//! # async fn run(password: String, raw_body: Vec<u8>, peer: IpAddr) -> Result<(), Box<dyn std::error::Error>> {
//! let client = PaylicanClient::new(
//!     PaylicanConfig::new("https://sso.paylican.example", "https://pay.paylican.example", "shop-user", password)
//!         .openid_code_flow(),
//! )?;
//!
//! // 1. Create the payment: the amount is an exact decimal in major units (5100.00 stays 5100.00).
//! let created = client
//!     .create_payment(
//!         &CreatePaymentRequest::new(Decimal::parse("5100.00")?, "XYZ", "REF-1234")
//!             .customer_code("ABC123")
//!             .item_name("Item name")
//!             .redirection_url("https://merchant-url.com/")
//!             .additional_field("documentNo", "TST1201901260"),
//!     )
//!     .await?;
//! // Store created.invoice_id with the order.
//!
//! // 2. Redirect the payer's browser (HTTP 303 / Location) to the payment page.
//! let location = &created.payment_page_url;
//! # let _ = location;
//!
//! // 3. In the webhook handler: guards first (Paylican does not sign), then the typed event.
//! let verifier = PaylicanWebhookVerifier::new(
//!     WebhookGuards::new()
//!         .secret_in_path("9f2c1e7a4b6d8f0a2c4e6a8b0d2f4a6c")?
//!         .allow_source("203.0.113.0/24")?,
//! )
//! .currency(Currency::GNF); // the account's: an amount GNF cannot hold is rejected
//! let url = "https://shop.example/paylican/webhook/9f2c1e7a4b6d8f0a2c4e6a8b0d2f4a6c";
//! let request = WebhookRequest::new("POST", url, &raw_body);
//! let seen = InMemoryDedupStore::new();
//! match verifier.verify_from(&request, peer) {
//!     Ok(event) if seen.insert_if_new(&event.dedup_key(), std::time::Duration::from_secs(7 * 86400)) => {
//!         assert_eq!(event.authenticity, Authenticity::Guarded);
//!         if event.payment_id.as_deref() == Some(created.invoice_id.as_str())
//!             && event.status == Some(PaymentStatus::Succeeded)
//!         {
//!             // A *claim* that the invoice is paid, from a guarded sender: record it durably,
//!             // confirm out of band before shipping, then answer 2xx.
//!         }
//!     }
//!     Ok(_duplicate) => { /* already recorded: answer 200 */ }
//!     Err(rejection) => { /* answer rejection.http_status(); Paylican retries */ }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## What is where
//! - [`PaylicanClient`]: `create_payment` (`POST {payment}/api/v1/payment`), the payment-page URL,
//!   and `get_invoice` when a status endpoint is configured. It also implements the
//!   provider-neutral [`payments_core::PaymentProvider`] (create → invoice id + payment-page URL;
//!   get is `Unsupported` unless [`PaylicanConfig::status_path`] is set; cancel, refund and find
//!   by reference are `Unsupported`).
//! - [`auth`]: the Keycloak token source (password grant + refresh token) behind the core token
//!   cache.
//! - [`payment_page`]: the redirect URL builder, usable without the client.
//! - [`webhook`]: guards (URL secret, basic auth, source-IP allow-list), the verifier
//!   ([`PaylicanWebhookVerifier`]), and what each
//!   [`Authenticity`](payments_core::webhook::Authenticity) proves.
//! - [`config`]: [`PaylicanConfig`], the two base URLs and the Keycloak user.
//! - [`request`]: the payment to create, validated before anything is sent.
//! - [`convert`]: the status mapping table (also in `docs/status-mapping.md`) and the neutral
//!   [`convert::to_payment`] / [`convert::to_checkout`].
//! - [`wire`]: the JSON as Paylican sends it, the typed event ([`PaylicanEvent`]) included;
//!   [`testing`]: documented webhook bodies and deliveries for tests and sandboxes.
//!
//! ## Errors
//! Every method returns [`payments_core::Error`]. On a creation,
//! [`payments_core::Error::OutcomeUnknown`] (timeout, 5xx) or [`payments_core::Error::Decode`]
//! (an unreadable answer) means the invoice may exist.
//!
//! ### Resolving an unknown creation without search
//! Paylican's Payment Creation API has no search (nor any read) endpoint, so the neutral
//! `find_by_reference` is `Unsupported` (nothing is sent). The lost answer held the invoice id
//! (`XYZ2024-ade08`), without which the payment-page URL cannot be built. What the invoice
//! carries that a person can look up: your `merchantReference` (the invoice's document
//! reference, `data.documentNo` in webhooks), the `type`, the amount and the `customerCode` —
//! search the Paylican Invoice System (the back office) by the merchant reference. A webhook about
//! that invoice also carries it (`documentNo`) with the invoice id (`data.id`), but one comes only
//! once a payer acts on the page, which a payer without the URL cannot reach. Create the invoice
//! again only once you know the first one was not made; a new attempt with a fresh merchant
//! reference keeps the two apart.
//!
//! ## Features
//! - `client` (default): the HTTP client and the token source (reqwest with rustls, tokio, via
//!   `payments-core`). Without it, webhook guards and parsing, the payment-page builder and the
//!   types remain — no HTTP stack, no async runtime.
// Without `client` these items do not exist: their links lead to the features.
#![cfg_attr(
    not(feature = "client"),
    doc = "",
    doc = "[`PaylicanClient`]: #features",
    doc = "[`auth`]: #features"
)]

pub mod config;
pub mod convert;
pub mod payment_page;
pub mod request;
pub mod testing;
pub mod webhook;
pub mod wire;

#[cfg(feature = "client")]
pub mod auth;
#[cfg(feature = "client")]
mod client;

/// The provider's name: [`payments_core::PaymentProvider::name`] of `PaylicanClient`, and the
/// `provider` of every event the webhook verifier returns.
pub const PROVIDER: &str = "paylican";

#[cfg(feature = "client")]
pub use client::{CAPABILITIES, CAPABILITIES_WITH_STATUS, CreatedPayment, PaylicanClient};
pub use config::PaylicanConfig;
pub use request::CreatePaymentRequest;
pub use webhook::PaylicanWebhookVerifier;
pub use wire::{
    AdditionalField, CreatePaymentResponse, EventType, Invoice, InvoiceStatus, PaylicanEvent,
    PaymentMode,
};
