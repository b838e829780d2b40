//! # payments-axum
//!
//! Every `payments-*` provider's webhooks into [`payments_ledger`], as one axum router. Each
//! delivery is verified over its raw bytes by the provider crate's own verifier, stored and
//! applied by [`Ledger::receive`](payments_ledger::Ledger::receive), and only then answered.
//! What a hand-written endpoint has to get right is done once here: the raw body, the header
//! adaptation, the public URL (from configuration, never from `Host` or `X-Forwarded-*`), the
//! sender's address behind the merchant's proxies, a body limit, the status code of each
//! refusal with a one-line reason, and a `tracing` span per delivery.
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use std::sync::Arc;
//! use payments_axum::Webhooks;
//! use payments_banq::webhook::WebhookReceiver;
//! use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
//! use payments_hub2::webhook::Hub2WebhookVerifier;
//! use payments_ledger::Ledger;
//! use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
//! use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
//!
//! # async fn run(
//! #     fintecture_key: Arc<payments_fintecture::keys::AppPrivateKey>,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! let ledger = Ledger::open("sqlite://payments.db").await?;
//! let webhooks = Webhooks::new(ledger.clone(), "https://shop.example/webhooks")?;
//!
//! // Each provider: its verifier, configured as the provider crate documents.
//! let payconiq = JwksWebhookVerifier::new(
//!     payments_payconiq::webhook::WebhookSettings::new("<payment profile id>", webhooks.url("payconiq")),
//!     JwksFetcher::for_environment(payments_payconiq::Environment::Production)?,
//! );
//! let paylican = PaylicanWebhookVerifier::new(
//!     WebhookGuards::new()
//!         .secret_in_query("token", "<32 random bytes, hex>")?
//!         .allow_source("203.0.113.0/24")?,
//! );
//! let router = webhooks
//!     .provider("payconiq", payconiq)
//!     .provider("fintecture", FintectureWebhookVerifier::new(WebhookSettings::new("<app id>", fintecture_key)))
//!     .provider("hub2", Hub2WebhookVerifier::new("<webhook secret>")?)
//!     .provider("banq", WebhookReceiver::new())
//!     .provider_from_peer("paylican", move |request, peer| paylican.verify_from(request, peer))
//!     .router()?;
//!
//! // Serve it with the peer address (Paylican's allow-list needs it).
//! let listener = tokio::net::TcpListener::bind("0.0.0.0:8080").await?;
//! axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! The ledger's reconciler and notification dispatcher run beside the server; the example
//! `merchant` (`cargo run -p payments-axum --example merchant`) is a whole service: ledger,
//! router, payment creation, Fintecture's redirect return, reconciler, dispatcher and graceful
//! shutdown, against the providers or against `payments sandbox`.
//!
//! ## What is answered
//! See [`Webhooks`]: 404 for a provider that is not registered, 413 above 256 KiB (from
//! `Content-Length`, before anything is read, or as soon as the body grows past it), 415 for a
//! content type the provider does not send (JSON; Fintecture: form or JSON), then the ledger's
//! receipt: 200 stored or duplicate, the verifier's status (401 signature, 403 source address,
//! 400 malformed...), 503 when the store failed so the provider retries.
//!
//! ## The sender's address
//! Paylican's webhooks are unsigned; its source allow-list needs the address the delivery came
//! from. That is the TCP peer (axum's `ConnectInfo`), unless the peer is one of the merchant's
//! own proxies listed with [`Webhooks::trusted_proxies`]: then it is the rightmost address of
//! `X-Forwarded-For` that is not one of them. A header from anyone else is ignored.
//!
//! ## Features
//! - `fintecture`: `fintecture::RedirectReturn`, the payer's return from Fintecture Connect
//!   confirmed by a fetch and recorded with `Ledger::observe`. Brings `payments-fintecture`;
//!   no other provider crate is a dependency (the merchant passes the verifiers in).
//! - `postgres`: the ledger on PostgreSQL (forwarded to `payments-ledger`).

mod router;

#[cfg(feature = "fintecture")]
pub mod fintecture;

/// Re-exported: the trusted-proxy list is a list of these.
pub use payments_core::net::{IpNet, client_address};
pub use router::{DEFAULT_BODY_LIMIT, FORM, JSON, Webhooks, default_content_types};

/// The README's example, compiled as a doctest (a README shows no hidden lines, so it is whole).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
