//! # payments-hub2
//!
//! [HUB2](https://hub2.io)'s PaymentIntent API for Rust: mobile money and cards in West and
//! Central Africa. Every endpoint typed, references checked before sending, a payer-side client
//! that holds no API key, typed next actions, a status poller that keeps to HUB2's rate limits,
//! and webhooks verified (HMAC-SHA256, with secret rotation) over the raw body.
//!
//! The flow: create an intent on the server, attempt a payment with the intent token (on the
//! server or the payer side), complete an OTP next action, and learn the outcome from a verified
//! webhook.
//!
//! ```no_run
//! # #[cfg(feature = "client")]
//! # async fn run(api_key: String, webhook_secret: String, otp_from_payer: String,
//! #     raw_body: Vec<u8>, signature: String) -> Result<(), Box<dyn std::error::Error>> {
//! use payments_core::webhook::{DedupStore, InMemoryDedupStore, WebhookRequest, WebhookVerifier};
//! use payments_core::{Currency, Money, PaymentProvider};
//! use payments_hub2::webhook::Hub2WebhookVerifier;
//! use payments_hub2::{
//!     AttemptRequest, CreateIntentRequest, Environment, Hub2Client, Hub2Config, NextAction,
//!     PayerCredentials,
//! };
//!
//! let client = Hub2Client::new(Hub2Config::new(api_key, "<merchant id>", Environment::Sandbox))?;
//!
//! // 1. Create the intent on the server (amount in the currency's smallest unit).
//! let intent = client
//!     .create_intent(&CreateIntentRequest::new(
//!         Money::from_minor(200, Currency::XOF),
//!         "Test_01",
//!         "Test_2024_05_01_01",
//!     ))
//!     .await?;
//! // Store intent.id and the token; the payer side needs only these two.
//! let credentials = PayerCredentials::from_intent(&intent).ok_or("no token")?;
//!
//! // 2. Attempt a mobile money payment with the intent token (no API key involved).
//! let payer = client.payer(credentials)?;
//! let intent = payer
//!     .attempt(&AttemptRequest::mobile_money("CI", "orange", "0700000000"))
//!     .await?;
//!
//! // 3. The payer must act: here, an OTP to enter.
//! if let Some(NextAction::Otp { message, .. }) = intent.next_action() {
//!     println!("{}", message.as_deref().unwrap_or("Enter the code"));
//!     payer.authenticate(&otp_from_payer).await?;
//! }
//!
//! // 4. In the webhook handler: verify the raw request before reading it.
//! let verifier = Hub2WebhookVerifier::new(webhook_secret)?;
//! let seen = InMemoryDedupStore::new();
//! let request = WebhookRequest::new("POST", "https://shop.example/hub2/webhook", &raw_body)
//!     .header("Hub2-Signature", &signature);
//! match verifier.verify(&request) {
//!     Ok(event) if seen.insert_if_new(&event.dedup_key(), std::time::Duration::from_secs(48 * 3600)) => {
//!         // A new, authentic event about intent `event.payment_id`. An intent event, or an
//!         // attempt in progress, gives the intent's status; an attempt that ended
//!         // (`payment.succeeded`, `payment.failed`) does not decide the intent: one read does.
//!         let status = match (&event.status, &event.payment_id, event.data.attempt()) {
//!             (Some(status), _, _) => Some(status.clone()),
//!             (None, Some(intent_id), Some(_attempt)) => {
//!                 Some(client.fetch_payment(intent_id).await?.status)
//!             }
//!             (None, _, _) => None,
//!         };
//!         // Apply `status` with `PaymentStatus::transition_to`, so a late event never moves
//!         // the intent backwards.
//!         # let _ = status;
//!     }
//!     Ok(_duplicate) => { /* already processed: answer 200 */ }
//!     Err(rejection) => { /* answer rejection.http_status(); do not process */ }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## What is where
//! - [`Hub2Client`] (API key): create, get and list intents ([`Hub2Client::list_intents`], by
//!   purchase or customer reference and dates), read the status, register / list / delete
//!   webhooks, [`Hub2Client::poll_status`]; it also implements the provider-neutral
//!   [`payments_core::PaymentProvider`] (create → intent id, get, find by reference through the
//!   list — what resolves a creation whose answer was lost; cancel and refund are
//!   `Unsupported`) and [`Hub2Client::create_checkout`] returns the payer credentials with it.
//! - [`PayerClient`] (intent id + token, **no API key**): attempt (mobile money or card), the
//!   sync attempt, authenticate with a confirmation code, status by token, polling.
//! - [`poll`]: the poller and HUB2's per-intent rate limits.
//! - [`webhook`]: `Hub2-Signature` verification ([`Hub2WebhookVerifier`]) and the typed event
//!   ([`Hub2Event`]), no HTTP stack needed.
//! - [`testing`]: a webhook signer and event builder, for tests and local sandboxes.
//! - [`config`]: [`Hub2Config`] and the [`Environment`]s; [`request`]: validation rules;
//!   [`convert`]: the status mapping tables (also in `docs/status-mapping.md`) and the neutral
//!   [`convert::to_payment`] / [`convert::to_checkout`]; [`wire`]: the JSON as HUB2 sends and
//!   receives it, request bodies included.
//!
//! ## Errors
//! Every method returns [`payments_core::Error`]. On a creation or an attempt,
//! [`payments_core::Error::OutcomeUnknown`] (timeout, 5xx) means it may have happened: before
//! creating again, look the intent up by its purchase reference
//! ([`payments_core::PaymentProvider::find_by_reference`], one list call); before attempting
//! again, read the intent.
//!
//! ## Features
//! - `client` (default): the HTTP clients and the poller (reqwest with rustls, tokio). Without it,
//!   only webhook verification ([`webhook::Hub2WebhookVerifier`]), the signer and the types remain.
// Without `client` these items do not exist: their links lead to the features.
#![cfg_attr(
    not(feature = "client"),
    doc = "",
    doc = "[`Hub2Client`]: #features",
    doc = "[`Hub2Client::list_intents`]: #features",
    doc = "[`Hub2Client::poll_status`]: #features",
    doc = "[`Hub2Client::create_checkout`]: #features",
    doc = "[`PayerClient`]: #features",
    doc = "[`poll`]: #features"
)]

pub mod config;
pub mod convert;
mod hex;
pub mod request;
pub mod testing;
pub mod webhook;
pub mod wire;

#[cfg(feature = "client")]
mod client;
#[cfg(feature = "client")]
pub mod poll;

/// The provider's name: [`payments_core::PaymentProvider::name`] of `Hub2Client`, and the
/// `provider` of every event the webhook verifier returns.
pub const PROVIDER: &str = "hub2";

#[cfg(feature = "client")]
pub use client::{
    CAPABILITIES, FIND_WINDOW, Hub2Client, PayerClient, PayerConfig, PayerCredentials,
};
pub use config::{DEFAULT_BASE_URL, Environment, Hub2Config, INTENT_ID_PLACEHOLDER};
pub use request::{AttemptRequest, CreateIntentRequest, CreateWebhookRequest, ListIntentsRequest};
pub use webhook::{EventData, EventType, Hub2Event, Hub2WebhookVerifier};
pub use wire::{
    Failure, Fee, Hub2Payment, Hub2PaymentStatus, IntentPage, IntentStatus, IntentStatusResponse,
    MobileMoney, NextAction, PaymentIntent, PaymentMethod, Redirection, Webhook,
};
