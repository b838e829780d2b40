//! # payments-fintecture
//!
//! [Fintecture](https://fintecture.com)'s PIS (pay by bank, immediate transfer) API for Rust:
//! payment sessions, payment status, list, cancel, refunds and settlements, every call signed
//! (RSA-SHA256 HTTP signatures), and webhooks verified by RSA-OAEP decryption over the raw body
//! before anything is trusted.
//!
//! The flow: create a payment session, store what identifies it with the order
//! ([`StoredSession`]) and redirect the payer to its Connect URL; when the payer returns, bind
//! the redirect to the stored session and fetch the real status; treat the webhook as the
//! redundant channel.
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # mod example {
//! use payments_core::webhook::{DedupStore, InMemoryDedupStore, WebhookRequest, WebhookVerifier};
//! use payments_core::{Currency, Money, PaymentStatus};
//! use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
//! use payments_fintecture::{
//!     ConnectRequest, Environment, FintectureClient, FintectureConfig, StoredSession,
//! };
//!
//! # async fn run(app_id: String, app_secret: String, private_key_pem: String,
//! #     redirect_query: String, raw_body: Vec<u8>, headers: Vec<(String, String)>)
//! #     -> Result<(), payments_core::Error> {
//! let config = FintectureConfig::new(&app_id, app_secret, private_key_pem, Environment::Sandbox);
//! let client = FintectureClient::new(config)?;
//!
//! // 1. Connect: a payment session for order B34970692 (validated locally; never sent twice).
//! let request = ConnectRequest::new(
//!     Money::from_decimal_str("550.60", Currency::EUR)?,
//!     "B34970692",                                  // communication: the order reference
//!     "6f1d3c0e9a2b47d8",                           // state: unguessable, per order
//!     "https://shop.example/fintecture/return",
//! )
//! .psu_name("Julien Lefebre")
//! .psu_email("julien@example.com")
//! .expiry(std::time::Duration::from_secs(3600));
//! let session = client.connect(&request).await?;
//! // Store its session id, state, amount and communication with the order.
//! let stored = StoredSession::from_connect(&request, &session);
//! let redirect_the_payer_to = &session.meta.url;
//! # let _ = redirect_the_payer_to;
//!
//! // 2. The payer returns to redirect_uri?session_id=..&status=..&state=..: the query is not
//! //    trusted. Its session_id and state must be the stored ones; the stored session is
//! //    fetched and must have the order's amount, currency and communication.
//! let confirmed = client.confirm_redirect(&redirect_query, &stored).await?;
//! if confirmed.status == PaymentStatus::Succeeded {
//!     // show "paid"
//! }
//!
//! // 3. The webhook (redundant channel): verify the raw request before reading it.
//! let verifier = FintectureWebhookVerifier::new(WebhookSettings::new(&app_id, client.private_key()));
//! let mut request = WebhookRequest::new("POST", "https://shop.example/fintecture/webhook", &raw_body);
//! for (name, value) in &headers {
//!     request = request.header(name, value);
//! }
//! let seen = InMemoryDedupStore::new();
//! match verifier.verify(&request) {
//!     Ok(event) if seen.insert_if_new(&event.dedup_key(), std::time::Duration::from_secs(7 * 86400)) => {
//!         // New and authentic: event.data.state is the order, event.status the unified status.
//!     }
//!     Ok(_duplicate) => { /* already processed: answer 200 */ }
//!     Err(rejection) => { /* answer rejection.http_status(); do not process */ }
//! }
//! # Ok(())
//! # }
//! # }
//! ```
//!
//! ## What is where
//! - [`FintectureClient`] (feature `client`): `connect`, `get_payment`, `list_payments` (one
//!   page) and `list_all_payments` (every page, as a stream), `cancel_payment` (PATCH), `refund`
//!   (partial and repeated, bounded by the paid amount when the history is given),
//!   `list_settlements` / `get_settlement`, `confirm_redirect`; it also implements the
//!   provider-neutral [`payments_core::PaymentProvider`] (create → Connect URL and session id,
//!   get, cancel, refund — the neutral refund fetches the paid amount first and never asks for
//!   more — and find by reference).
//! - [`signing`]: `Digest`, `Date`, `X-Request-ID` and `Signature` of API requests.
//! - [`webhook`]: the verification scheme ([`FintectureWebhookVerifier`], no HTTP stack needed;
//!   its events are [`FintectureEvent`]s).
//! - [`config`]: [`FintectureConfig`] and the [`Environment`]s.
//! - [`request`]: the typed requests, validated before anything is sent.
//! - [`callback`]: the redirect query, parsed but never trusted; [`StoredSession`], what the
//!   merchant stores to bind the payer's return to the order, and [`RedirectError`].
//! - [`keys`]: the application's RSA key pair (PEM PKCS#8 or PKCS#1).
//! - [`convert`]: the status mapping (`status` together with `transfer_state`), also in
//!   `docs/status-mapping.md`, exact amounts, and the neutral [`convert::to_payment`] /
//!   [`convert::to_checkout`] / [`convert::refund_status`].
//! - [`testing`]: Fintecture's side (webhook signer, request-signature verifier) for tests
//!   and a local sandbox.
//! - [`wire`]: the JSON as Fintecture sends and receives it, request bodies included.
//!
//! ## Request signing and retries
//! Every API call is signed (on by default; Fintecture requires it in production). The core
//! HTTP layer calls the signer once per attempt: each attempt (a retry after a 429 or 503 on a
//! read, or the one re-send after a 401 with a fresh token) gets a fresh `Date` and signature,
//! while the `X-Request-ID` is chosen once per logical call so Fintecture's logs tie the
//! attempts together. `Date` comes from the configured [`payments_core::webhook::Clock`] and
//! request ids from a [`signing::RequestIdSource`], both injectable.
//!
//! ## Errors
//! Every method returns [`payments_core::Error`], except `confirm_redirect`, whose
//! [`RedirectError`] names the field that does not match the stored order (it converts into
//! [`payments_core::Error`] with `?`). On a session creation or refund,
//! [`payments_core::Error::OutcomeUnknown`] (timeout, 5xx) means it may exist: find it by its
//! reference (`find_by_reference`) before creating it again. An amount Fintecture reports that
//! is not exact in its currency is an error naming the field, never a missing amount.
//!
//! ## Features
//! - `client` (default): the HTTP client (reqwest with rustls, tokio, through payments-core).
//!   Without it, keys, signing, webhook verification and the types remain — no HTTP stack, no
//!   async runtime.
//!
//! ## Cryptography
//! RSA through aws-lc-rs only: PKCS#1 v1.5 SHA-256 signing and RSA-OAEP (SHA-1) decryption are
//! constant-time in AWS-LC, which matters because webhook verification decrypts attacker-chosen
//! ciphertexts (the Marvin attack; the RustCrypto `rsa` crate is under RUSTSEC-2023-0071). The
//! verifier checks the key id, the body digest and the date before using the private key.
// Without `client` the client does not exist: its link leads to the features.
#![cfg_attr(
    not(feature = "client"),
    doc = "",
    doc = "[`FintectureClient`]: #features"
)]

pub mod callback;
pub mod config;
pub mod convert;
pub mod keys;
pub mod request;
pub mod signing;
pub mod testing;
pub mod webhook;
pub mod wire;

#[cfg(feature = "client")]
mod client;

pub use callback::{RedirectError, StoredSession};
/// The provider's name: [`payments_core::PaymentProvider::name`] of `FintectureClient`, and the
/// `provider` of every event the webhook verifier returns.
pub const PROVIDER: &str = "fintecture";

#[cfg(feature = "client")]
pub use client::{CAPABILITIES, ConfirmedRedirect, FintectureClient};
pub use config::{Environment, FintectureConfig};
pub use request::{ConnectRequest, ListPaymentsQuery, RefundPaymentRequest};
pub use webhook::{FintectureEvent, FintectureWebhookVerifier};
pub use wire::{
    ConnectSession, FintecturePayment, PaymentList, RefundResponse, SessionStatus, Settlement,
    SettlementEnvelope, SettlementList, TransferState,
};
