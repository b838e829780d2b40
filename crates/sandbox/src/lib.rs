//! # payments-sandbox
//!
//! A local emulator of the five providers of this workspace — Payconiq, Fintecture, HUB2, Banq and
//! Paylican — speaking each one's documented wire format, so that a merchant's integration (and
//! this workspace's own tests and `payments demo`) runs the whole checkout flow offline: create a
//! payment, let a simulated payer pay, receive the provider's real webhook, fetch the status.
//!
//! ```no_run
//! use payments_sandbox::{PayerAction, Provider, Sandbox};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Embedded, on an ephemeral port of 127.0.0.1, with webhook retries 1000 times faster.
//! let sandbox = Sandbox::builder().time_divisor(1000).start().await?;
//! let payconiq_base_url = sandbox.provider_url(Provider::Payconiq);
//! // ... point a `payments_payconiq::PayconiqClient` at `payconiq_base_url`, create a payment ...
//! # let payment_id = "p1";
//! // The simulated payer pays: the payment moves to the provider's "paid" status and the
//! // provider's signed webhook is delivered to the callback URL given at creation.
//! sandbox.act(Provider::Payconiq, payment_id, PayerAction::Pay).await?;
//! let delivery = sandbox
//!     .wait_for_delivery(|d| d.payment_id == payment_id, std::time::Duration::from_secs(5))
//!     .await;
//! # let _ = (payconiq_base_url, delivery);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! ## What it emulates
//! Each provider lives under its own prefix of one server (`/payconiq`, `/fintecture`, `/hub2`,
//! `/banq`, `/paylican`); [`RunningSandbox::provider_url`] gives the base URL to configure a client
//! with, and [`RunningSandbox::payconiq`] (and `fintecture`, `hub2`, `banq`, `paylican`) everything
//! a client needs: base URLs, token URLs, credentials, keys. Credentials are checked as the
//! provider checks them ([`Credentials`]); signing keys are generated at start ([`SandboxKeys`]).
//! Each provider's module under [`providers`] documents its routes, statuses, webhook schedule
//! (and where each number comes from) and what it does not emulate.
//!
//! ## Simulating the payer
//! - Control endpoints under `/_sandbox` (and the same operations on [`RunningSandbox`]):
//!   `POST /_sandbox/{provider}/payments/{id}/{pay|fail|cancel|expire|require-otp}`,
//!   `POST /_sandbox/{provider}/payments/{id}/otp` with `{"code": "..."}`,
//!   `POST /_sandbox/{provider}/payments/{id}/status` with `{"status": "RAW"}` (any raw status,
//!   including ones the provider never documented, to exercise unknown-status handling).
//! - Magic amounts, for hands-off runs: see [`magic`].
//! - Payer pages, for a person (or a browser test) clicking through a checkout: the checkout URL
//!   each provider returns opens a plain HTML page (no script) with the provider's buttons —
//!   pay, fail, cancel, and a one-time-code field when the bank asks for one — and ends where the
//!   provider sends the payer: Payconiq's `returnUrl`, Fintecture's `redirect_uri` with
//!   `session_id`, `status`, `provider`, `customer_id` and `state`, Paylican's `redirectionUrl`,
//!   or a page saying how the payment ended when the merchant gave none (Banq documents no
//!   return URL for a payment link). HUB2 hosts no page: `{sandbox}/hub2/_sandbox/pay/{intent_id}`
//!   stands in for the merchant's own payer page (set it as `Hub2Config::payer_page_url`, with
//!   `?return_url=...`); it runs the attempt and its one-time code through HUB2's payer API.
//!   The elements to click have stable ids: `pay`, `fail`, `cancel`, `code` + `otp`.
//!
//! ## Webhooks
//! Delivered with each provider's real scheme, retried on failure with the provider's documented
//! backoff divided by [`SandboxBuilder::time_divisor`], and logged: `GET /_sandbox/deliveries`
//! ([`RunningSandbox::deliveries`]). Where a provider takes its webhook URL from a console rather
//! than the API, set it with `PUT /_sandbox/{provider}/webhook-url` or
//! [`SandboxBuilder::webhook_url`]. `/_sandbox/sink/...` accepts any webhook with 200, for tests
//! that only read the delivery log; `/_sandbox/sink/status/{code}` answers that status instead
//! (to exercise retries).
//!
//! ## Faults
//! Per route: latency, 429 with `Retry-After`, any status, dropped connections, malformed bodies,
//! before or after the request is processed. See [`FaultRule`]; `POST /_sandbox/faults`.
//!
//! ## Other endpoints
//! `GET /_sandbox` describes the running sandbox (base URLs, credentials, keys); `GET
//! /_sandbox/requests` lists the provider requests received, in order.
//!
//! Every refusal of a control endpoint is JSON, `{"error": "<one line>"}`: 400 for a body that
//! is not JSON, 415 for one not sent as `application/json`, 422 for JSON of the wrong shape or a
//! `webhook-url` that is not an absolute http(s) URL, 404 for an unknown provider, payment or
//! path under `/_sandbox`, 405 (with `Allow`) for a method the path does not take, 409 for an
//! action the payment's status refuses.

mod app;
mod config;
mod control;
mod deliveries;
mod error;
mod faults;
pub mod hooks;
mod keys;
pub mod magic;
mod provider;
pub mod providers;
mod server;
mod support;

pub use config::{Credentials, SandboxBuilder};
pub use control::{ControlError, PayerAction, SANDBOX_OTP};
pub use deliveries::{DeliveryAttempt, DeliveryRecord, DeliveryState};
pub use error::SandboxError;
pub use faults::{Fault, FaultRule, Phase, RequestRecord};
pub use keys::SandboxKeys;
pub use provider::{Provider, UnknownProvider};
pub use providers::banq::BanqConnection;
pub use providers::fintecture::FintectureConnection;
pub use providers::hub2::Hub2Connection;
pub use providers::payconiq::PayconiqConnection;
pub use providers::paylican::PaylicanConnection;
pub use server::{RunningSandbox, Sandbox};

/// The control plane's parsing without a server, for the fuzz targets (`crates/fuzz-targets`).
/// Not part of the API: it may change in any release.
#[doc(hidden)]
pub use control::fuzz as __fuzz;

/// The README's example, compiled as a doctest (a README shows no hidden lines, so it is whole).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
