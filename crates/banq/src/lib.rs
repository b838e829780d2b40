//! # payments-banq
//!
//! [Banq](https://banq.com)'s Open API for inbound payments in Rust: payment links (one-off and
//! recurring), payments, the merchant user's account spaces, webhook registration, and webhooks
//! confirmed by fetching the payment back — because **Banq does not sign its webhooks**.
//!
//! The flow: create a payment link and send the payer to it; when Banq posts a webhook, parse it
//! into an unconfirmed notice; confirm it by fetching the payment; act only on the confirmed
//! payment.
//!
#![cfg_attr(feature = "client", doc = "```no_run")]
#![cfg_attr(not(feature = "client"), doc = "```ignore")]
//! use payments_banq::webhook::{Confirmation, WebhookReceiver};
//! use payments_banq::{BanqClient, BanqConfig, OpenApiCredentials, PaymentLinkRequest};
//! use payments_core::webhook::{DedupStore, InMemoryDedupStore, UrlSecretGuard, WebhookRequest};
//! use payments_core::{Currency, Money, PaymentStatus};
//!
//! # async fn run(raw_body: Vec<u8>, received_url: String) -> Result<(), payments_core::Error> {
//! let client = BanqClient::new(BanqConfig::new(
//!     "<company id>",
//!     OpenApiCredentials::new("<client id>", "<client username>", "<client password>"),
//! ))?;
//!
//! // 1. A payment link for order 1234 (validated locally first; never sent twice).
//! let link = client
//!     .create_payment_link(&PaymentLinkRequest::once(
//!         "<merchant banq guid>",
//!         Money::from_decimal_str("100.00", Currency::USD)?,
//!         "Blue T-shirt",
//!         "order-1234",
//!     ))
//!     .await?;
//! println!("send the payer to {}", link.url); // https://link.banq.com/...
//!
//! // 2. In the webhook handler: the event is NOT signed. Check the request and parse it into a
//! //    notice, which has no status you could act on...
//! let receiver = WebhookReceiver::new()
//!     .with_guard(UrlSecretGuard::query_param("token", "<random secret in the registered URL>")?);
//! let request = WebhookRequest::new("POST", &received_url, &raw_body);
//! let notice = match receiver.receive(&request) {
//!     Ok(notice) => notice,
//!     Err(rejection) => { /* answer rejection.http_status(); do not process */ return Ok(()); }
//! };
//!
//! // 3. ...and confirm it: a `completed` Payment notice is fetched back from the API, and only
//! //    the API's answer is trusted (a forged "completed" comes back with the real status).
//! let seen = InMemoryDedupStore::new();
//! match client.confirm(notice).await? {
//!     Confirmation::Confirmed(payment)
//!         if seen.insert_if_new(&payment.dedup_key(), std::time::Duration::from_secs(7 * 86_400)) =>
//!     {
//!         if payment.status == Some(PaymentStatus::Succeeded) {
//!             let order = payment.data.external_order_code.as_deref();
//!             let paid = payment.data.funds; // exact, major units
//!             // check `order` and `paid` against your order, then ship it
//!             # let _ = (order, paid);
//!         }
//!     }
//!     Confirmation::Confirmed(_already_processed) => {}
//!     Confirmation::Notice(other) => {
//!         // Not a completed payment: nothing is confirmed. Look the resource up if it matters.
//!         # let _ = other;
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! ## Never trust the raw event
//! A Banq webhook proves nothing: anyone who knows the URL can post `{"action":"completed",...}`.
//! The types make the difference visible: [`webhook::UnconfirmedNotice`] carries only the claim
//! (no payment status), and a [`webhook::ConfirmedPayment`] — a core `VerifiedEvent` with
//! `Authenticity::FetchedBack` — exists only after `GET /payments/{resourceId}` answered with
//! that payment (an answer naming another payment id confirms nothing; its `payment_id` is the
//! notice's `resourceId`). The optional
//! [`UrlSecretGuard`](payments_core::webhook::UrlSecretGuard) (a secret in the registered URL,
//! compared in constant time) keeps strangers from making you call Banq; it does not make the
//! event trustworthy.
//!
//! ## What is where
//! - [`BanqClient`] (feature `client`): `get-paid-link`, `GET /payments/{id}`, `users/me` with
//!   [`BanqClient::account_space_id_for`], `webhook-config`, and [`BanqClient::confirm`] (the
//!   fetch-back). It also implements the provider-neutral [`payments_core::PaymentProvider`]
//!   (create → payment link, get; cancel, refund and find by reference are `Unsupported`).
//! - Two access tokens, each in its own core `TokenCache` (shared by clones, refreshed before
//!   expiry, single-flight, re-fetched once after a 401): the Open API token (audience
//!   `https://banq.com/open/api/`) and the merchant-user token (audience `https://banq.com/api`,
//!   scope `offline_access`) for `users/me` and the webhook configuration. The credential field
//!   names are the standard `username`/`password` unless [`CredentialFieldNames::ClientPrefixed`]
//!   is chosen. `BanqClient::with_token_cache` (feature `client`) takes the Open API tokens from a
//!   cache of yours (over core's `StaticTokenSource` for a token obtained elsewhere).
//! - [`webhook`]: the receiver ([`WebhookReceiver`]), notices ([`UnconfirmedNotice`]: Banq's
//!   webhooks are not events until confirmed) and confirmations (no HTTP stack needed).
//! - [`config`]: [`BanqConfig`] and the credentials of both token flows.
//! - [`request`]: typed requests and their validation (exact `funds`, recurring dates).
//! - [`wire`]: Banq's answers, read tolerantly — their field names are not published; the raw
//!   JSON is always kept, a missing payment link or status is an `Error::Decode` — and the
//!   request bodies.
//! - [`convert`]: the status mapping table (also in `docs/status-mapping.md`) and the neutral
//!   [`convert::to_payment`] / [`convert::to_checkout`].
//! - [`testing`]: webhook bodies and API answers for tests and sandboxes.
//!
//! ## Errors
//! Every method returns [`payments_core::Error`]. On a link creation,
//! [`payments_core::Error::OutcomeUnknown`] or [`payments_core::Error::Decode`] means a link may
//! exist: do not blindly create another.
//!
//! ### Resolving an unknown creation without search
//! Banq's Open API documents no search of payments by `externalOrderCode`, so the neutral
//! `find_by_reference` is `Unsupported` (nothing is sent). The lost answer held the payment id
//! and the link (`https://link.banq.com/...`); what remains to look the payment up by:
//! - **the Banq app** of the receiving account (`destination.banqGuid`): a person finds the
//!   payment there by its `comment` — the text Banq shows the payer on the payment screen — and
//!   its amount. Put your order id in the `comment` (the neutral API sends the description, or
//!   else the reference) so that it can be recognised;
//! - **the webhook**: once the payer pays, Banq posts a `completed` Payment notice for the
//!   unknown id; [`BanqClient::confirm`] fetches it back, and the payment's
//!   [`BanqPayment::external_order_code`] is your order id. Keep the order open as "creation
//!   unknown" until then, and only create a new link once you know the first one was not made
//!   (a payer who never got the link cannot pay it, so no notice will come for it).
//!
//! ## Features
//! - `client` (default): the HTTP client (reqwest with rustls, tokio, through `payments-core`).
//!   Without it, only webhook parsing, the guard and the types remain — no HTTP stack, no async
//!   runtime; the fetch-back then has to be made by other means.
// Without `client` these items do not exist: their links lead to the features.
#![cfg_attr(
    not(feature = "client"),
    doc = "",
    doc = "[`BanqClient`]: #features",
    doc = "[`BanqClient::account_space_id_for`]: #features",
    doc = "[`BanqClient::confirm`]: #features"
)]

pub mod config;
pub mod convert;
pub mod request;
pub mod testing;
pub mod webhook;
pub mod wire;

#[cfg(feature = "client")]
mod client;

/// The provider's name: [`payments_core::PaymentProvider::name`] of `BanqClient`, and the
/// `provider` of every notice and confirmed event.
pub const PROVIDER: &str = "banq";

#[cfg(feature = "client")]
pub use client::{
    BanqClient, CAPABILITIES, COMPANY_HEADER, merchant_user_token_source, open_api_token_source,
};
pub use config::{
    BanqConfig, CredentialFieldNames, MerchantUserCredentials, OpenApiCredentials, TokenFlow,
};
pub use request::{
    PaymentLinkRequest, RecurringPeriod, Schedule, WebhookConfigRequest, WebhookType,
};
pub use webhook::{UnconfirmedNotice, WebhookReceiver};
pub use wire::{
    AccountSpace, BanqAccount, BanqPayment, BanqStatus, BanqUser, FailureReason, PaymentLink,
    WebhookConfig,
};
