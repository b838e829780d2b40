//! # payments-payconiq
//!
//! [Payconiq by Bancontact](https://www.payconiq.be)'s Merchant Payment API v3 for Rust: every
//! endpoint typed, input validated before it is sent, errors that say what is safe to retry, and
//! callbacks verified (detached JWS, ES256) over the raw body before anything is trusted.
//!
//! The flow: create a payment, show its QR code or deeplink, verify the callback Payconiq sends
//! when the status changes, and fetch the payment to confirm.
//!
//! ```no_run
//! use payments_core::webhook::{AsyncWebhookVerifier, DedupStore, InMemoryDedupStore, WebhookRequest};
//! use payments_core::{Currency, Money, PaymentStatus};
//! use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
//! use payments_payconiq::webhook::WebhookSettings;
//! use payments_payconiq::{CreatePaymentRequest, Environment, PayconiqClient, PayconiqConfig};
//!
//! # async fn run(api_key: String, raw_body: Vec<u8>, signature: String) -> Result<(), payments_core::Error> {
//! const CALLBACK_URL: &str = "https://shop.example/payconiq/callback";
//! let client = PayconiqClient::new(PayconiqConfig::new(api_key, Environment::PreProduction))?;
//!
//! // 1. Create the payment (validated locally first; never sent twice).
//! let payment = client
//!     .create_payment(
//!         &CreatePaymentRequest::new(Money::from_decimal_str("12.50", Currency::EUR)?)
//!             .reference("order-1234")
//!             .description("Two coffees")
//!             .callback_url(CALLBACK_URL),
//!     )
//!     .await?;
//! let qr_code = payment.links.qrcode.as_ref().map(|l| l.href.as_str());
//! let deeplink = payment.links.deeplink.as_ref().map(|l| l.href.as_str());
//! # let _ = (qr_code, deeplink);
//!
//! // 2. In the callback handler: verify the raw request before reading it.
//! let verifier = JwksWebhookVerifier::new(
//!     WebhookSettings::new("<your payment profile id>", CALLBACK_URL),
//!     JwksFetcher::for_environment(Environment::PreProduction)?,
//! );
//! let seen = InMemoryDedupStore::new();
//! let request = WebhookRequest::new("POST", CALLBACK_URL, &raw_body).header("Signature", &signature);
//! match verifier.verify(&request).await {
//!     Ok(event) if seen.insert_if_new(&event.dedup_key(), std::time::Duration::from_secs(48 * 3600)) => {
//!         // A new, authentic event: record `event.status` (see `PaymentStatus::transition_to`).
//!     }
//!     Ok(_duplicate) => { /* already processed: answer 200 */ }
//!     Err(rejection) => { /* answer rejection.http_status(); do not process */ }
//! }
//!
//! // 3. Fetch the payment to confirm (the callback is a notification, the API the record).
//! let fresh = client.get_payment(&payment.payment_id).await?;
//! let unified = payments_payconiq::convert::unified_status(&fresh.status);
//! if unified == PaymentStatus::Succeeded {
//!     // ship the order
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## What is where
//! - [`PayconiqClient`]: create (`/payments`, `/payments/pos`), get, cancel, search (one page, or
//!   [`PayconiqClient::search_all`] as a stream over all pages), refund IBAN, acknowledge. It also
//!   implements the provider-neutral [`payments_core::PaymentProvider`]: create, get, cancel and
//!   `find_by_reference` (a search by reference over the last day, every page); refunds are
//!   `Unsupported` (Payconiq moves no refund money, it gives the payer's IBAN).
//! - [`webhook`]: the callback verification scheme ([`PayconiqWebhookVerifier`], offline keys,
//!   no HTTP stack needed; its events are [`PayconiqEvent`]s) and [`jwks`]: the same with keys
//!   fetched from Payconiq and cached.
//! - [`config`]: [`PayconiqConfig`] and the [`Environment`]s.
//! - [`request`]: validation rules (EUR only, lengths, SEPA characters, https in production).
//! - [`convert`]: the status mapping table (also in `docs/status-mapping.md`), and the neutral
//!   [`convert::to_payment`] / [`convert::to_checkout`].
//! - [`wire`]: the JSON as Payconiq sends and receives it, request bodies included.
//! - [`testing`]: Payconiq's side of a callback (a signer), for tests and local runs.
//!
//! ## Errors
//! Every method returns [`payments_core::Error`]. On a creation, [`payments_core::Error::OutcomeUnknown`]
//! (timeout, 5xx) means the payment may exist: look it up by its reference
//! ([`payments_core::PaymentProvider::find_by_reference`], or [`PayconiqClient::search_payments`]
//! with [`SearchQuery::reference`]) before creating it again.
//!
//! ## Features
//! - `client` (default): the HTTP client and JWKS fetcher (reqwest with rustls, tokio). Without it,
//!   only offline callback verification ([`webhook::PayconiqWebhookVerifier`]) and the types remain — no
//!   HTTP stack, no async runtime.
//!
//! ## Cryptography
//! Signatures are checked with aws-lc-rs (ECDSA P-256), the one crypto backend of the workspace,
//! already present through rustls.
// Without `client` these items do not exist: their links lead to the features.
#![cfg_attr(
    not(feature = "client"),
    doc = "",
    doc = "[`PayconiqClient`]: #features",
    doc = "[`PayconiqClient::search_all`]: #features",
    doc = "[`PayconiqClient::search_payments`]: #features",
    doc = "[`jwks`]: #features"
)]

pub mod config;
pub mod convert;
pub mod request;
pub mod testing;
pub mod webhook;
pub mod wire;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod jwks;

/// The provider's name: [`payments_core::PaymentProvider::name`] of `PayconiqClient`, and the
/// `provider` of every event the webhook verifiers return.
pub const PROVIDER: &str = "payconiq";

#[cfg(feature = "client")]
pub use client::{CAPABILITIES, MAX_PAGE_SIZE, PayconiqClient};
pub use config::{Environment, PayconiqConfig};
pub use request::{AcknowledgeRequest, CreatePaymentRequest};
pub use webhook::{PayconiqEvent, PayconiqWebhookVerifier};
pub use wire::{PayconiqPayment, PayconiqStatus, RefundIban, SearchPage, SearchQuery};
