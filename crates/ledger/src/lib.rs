//! # payments-ledger
//!
//! The durable layer around any `payments-*` provider crate, where money is lost in practice
//! when it is hand-written: each payment is created once, every webhook is stored before the
//! provider gets its 2xx, events are applied in precedence order per payment, what no webhook
//! reported is reconciled by fetching, and the merchant's code is told of each change at least
//! once. SQLite is the embedded default; PostgreSQL is how several instances share one ledger.
//!
//! It depends on `payments-core` only: provider clients and webhook verifiers are passed in.
//!
//! ```no_run
//! use std::sync::Arc;
//! use payments_core::webhook::WebhookRequest;
//! use payments_core::{CreatePayment, Currency, Money};
//! use payments_hub2::webhook::Hub2WebhookVerifier;
//! use payments_hub2::{Environment, Hub2Client, Hub2Config};
//! use payments_ledger::{Ledger, Providers, handler_fn};
//!
//! # async fn run(raw_body: Vec<u8>, signature: String) -> Result<(), Box<dyn std::error::Error>> {
//! // 1. Open the ledger (created and migrated when needed); `postgres://...` for several
//! //    instances.
//! let ledger = Ledger::open("sqlite://payments.db").await?;
//! let hub2 = Arc::new(Hub2Client::new(Hub2Config::new(
//!     "<api key>",
//!     "<merchant id>",
//!     Environment::Sandbox,
//! ))?);
//!
//! // 2. Create the order's payment exactly once: a retry, a restart or another instance gets
//! //    the stored checkout back instead of a second payment.
//! let order = CreatePayment::new(Money::from_minor(5000, Currency::XOF), "order-1042");
//! let created = ledger.create_once(hub2.as_ref(), &order).await?;
//! println!("pay at {:?}", created.checkout.redirect_url);
//!
//! // 3. In the webhook endpoint: verified, stored and applied before the answer.
//! let verifier = Hub2WebhookVerifier::new("<webhook secret>")?;
//! let request = WebhookRequest::new("POST", "https://shop.example/webhooks/hub2", &raw_body)
//!     .header("Hub2-Signature", &signature);
//! let receipt = ledger.receive("hub2", &verifier, &request).await;
//! // Answer the provider with receipt.status (503 when the store failed: it retries).
//! assert!(receipt.status == 200 || receipt.status >= 400);
//!
//! // 4. React to changes (at least once, in order per payment), and reconcile what no webhook
//! //    said.
//! // (Pass each loop the future of your service's graceful shutdown; here they run forever.)
//! let handler = handler_fn(|change| async move {
//!     if change.payment.is_paid() {
//!         println!("ship order {}", change.payment.reference);
//!     }
//!     Ok(())
//! });
//! let dispatcher = ledger.dispatcher(handler);
//! let reconciler = ledger.reconciler(Providers::new().with(hub2));
//! tokio::join!(
//!     dispatcher.run(std::future::pending()),
//!     reconciler.run(std::future::pending()),
//! );
//! # Ok(()) }
//! ```
//!
//! ## How it keeps its promises
//! - **Create once**: (provider, reference) is inserted under a uniqueness constraint *before*
//!   the provider is called; the instance that inserted it holds a lease while it sends. An
//!   unknown outcome is resolved with [`PaymentProvider::find_by_reference`] before anything is
//!   sent again, or held for review where the provider cannot search.
//! - **Webhook inbox**: one transaction inserts the event under its de-duplication key (unique),
//!   locks the payment's row, applies [`PaymentStatus::transition_to`], appends to the history
//!   and queues a notification; the 2xx comes after the commit. A crash before the commit leaves
//!   nothing, so the provider's retry is processed; a duplicate applies nothing.
//! - **Reconciler**: claims due payments with a lease (`FOR UPDATE SKIP LOCKED` on PostgreSQL),
//!   fetches each outside any transaction, within each provider's rate limits, and applies the
//!   result the same way.
//! - **Notifications**: each history row that is a change is also its notification's outbox
//!   entry, written in the same transaction; delivered in order per payment, retried with
//!   backoff, then dead-lettered.
//!
//! ## Features
//! - `sqlite` (default): bundled SQLite, WAL mode, a busy timeout; nothing to install.
//! - `postgres`: PostgreSQL (TLS through rustls).
//!
//! [`PaymentProvider::find_by_reference`]: payments_core::PaymentProvider::find_by_reference
//! [`PaymentStatus::transition_to`]: payments_core::PaymentStatus::transition_to

mod apply;
mod clock;
mod create;
mod error;
mod inbox;
mod ledger;
mod model;
mod notify;
mod query;
mod reconcile;
mod store;
#[doc(hidden)]
pub mod testing;

pub use create::{CreateOutcome, Created};
pub use error::{LedgerError, Result};
pub use inbox::{Outcome, Receipt};
pub use ledger::{Ledger, LedgerOptions, NotifyPolicy};
pub use model::{CreationState, HistoryEntry, LedgerPayment, Source, Verdict};
pub use notify::{
    Change, ChangeHandler, DeadLetter, DispatchReport, Dispatcher, HandlerError, handler_fn,
};
pub use query::Resolution;
pub use reconcile::{CheckPolicy, Providers, ReconcileReport, Reconciler};
pub use store::{Backend, SCHEMA_VERSION};

/// The README's example, compiled as a doctest (a README shows no hidden lines, so it is whole).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
