//! Hooks: what one provider needs, beyond the neutral [`PaymentProvider`] trait, to take a
//! payment from creation to a verified webhook against the sandbox.
//!
//! Most of a payment is the same for every provider: create it, let the payer pay, receive the
//! webhook, verify it, read the status. What differs is small and lives here, as the methods of
//! one trait, [`ProviderHooks`]:
//!
//! | hook | Payconiq | Fintecture | HUB2 | Banq | Paylican |
//! |---|---|---|---|---|---|
//! | [`connect`](ProviderHooks::connect): where the webhook URL goes | per payment (`callbackUrl`) | console setting | `POST /webhooks` (the answer's secret is kept) | `webhook-config` | console setting, a secret last path segment |
//! | [`verifier`](ProviderHooks::verifier) | JWKS-fetching ES256 | RSA-OAEP with the app key | HMAC with the registration's secret | unsigned notice | URL-secret guard |
//! | [`pay`](ProviderHooks::pay): the payer | simulated payer | the Connect page, then the signed redirect confirmed by a fetch | an Orange Money attempt and its OTP, on the payer side | simulated payer | the payment page (through Keycloak), then the simulated payer |
//! | [`verify`](ProviderHooks::verify) | the verifier | the verifier | the verifier | the verifier, then the fetch-back (`BanqClient::confirm`) | the verifier |
//!
//! The trait is shared: `payments demo` (the `payments-cli` crate) runs one generic flow over it,
//! and the conformance suite's sandbox harness (`payments-conformance`) is a thin use of it, so
//! a provider's sandbox-specific steps are written once. The sandbox's own facts about each
//! provider (the routes faults are injected on, the paid status, the documented webhook
//! attempts) are provided methods with each provider's values.
//!
//! The types here ([`payconiq::PayconiqHooks`], ...) are the hooks for the sandbox. An
//! implementation for a real provider (the CLI's, configured from environment variables)
//! overrides [`connect`](ProviderHooks::connect), [`verifier`](ProviderHooks::verifier) and
//! [`pay`](ProviderHooks::pay) and ignores the sandbox it is handed.
//!
//! ```no_run
//! use payments_core::http::HttpConfig;
//! use payments_sandbox::Sandbox;
//! use payments_sandbox::hooks::{ProviderHooks, ToPay};
//! use payments_sandbox::hooks::hub2::Hub2Hooks;
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let sandbox = Sandbox::builder().time_divisor(1000).start().await?;
//! let hooks = Hub2Hooks::default();
//! let webhook_url = format!("{}/_sandbox/sink/hub2", sandbox.base_url());
//! // Registers the webhook (POST /webhooks) and keeps the secret it returns.
//! let connected = hooks.connect(&sandbox, HttpConfig::default(), &webhook_url).await?;
//! let order = hooks.create_request(5000, &webhook_url);
//! let checkout = connected.client.checkout(&order).await?;
//! // The payer side: an Orange Money attempt, its OTP, until the intent is final.
//! let paid = hooks
//!     .pay(&sandbox, &ToPay::new(&order, &checkout, HttpConfig::default()))
//!     .await?;
//! println!("{}", paid.detail);
//! // The deliveries are verified with the registration's secret.
//! let verifier = hooks.verifier(&sandbox, &webhook_url)?;
//! # let _ = verifier;
//! # Ok(()) }
//! ```

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use payments_core::async_trait;
use payments_core::http::HttpConfig;
use payments_core::webhook::{
    AsyncWebhookVerifier, Authenticity, VerifiedEvent, WebhookRejection, WebhookRequest,
};
use payments_core::{Checkout, CreatePayment, Payment, PaymentProvider, PaymentStatus};

use crate::{ControlError, DeliveryRecord, PayerAction, Provider, RunningSandbox, SANDBOX_OTP};

pub mod banq;
pub mod fintecture;
pub mod hub2;
pub mod payconiq;
pub mod paylican;

/// Why a hook failed: one line, never a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookError(String);

impl HookError {
    /// A hook error saying `why`.
    pub fn new(why: impl Into<String>) -> Self {
        HookError(why.into())
    }
}

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for HookError {}

impl From<payments_core::Error> for HookError {
    fn from(e: payments_core::Error) -> Self {
        HookError(e.to_string())
    }
}

impl From<ControlError> for HookError {
    fn from(e: ControlError) -> Self {
        HookError(format!("the simulated payer: {e}"))
    }
}

/// A webhook verifier of any provider, its payload set aside: what
/// `payments_ledger::Ledger::receive` and the demo's receiver take for every provider alike.
pub type DynVerifier = Arc<dyn AsyncWebhookVerifier<Payload = ()>>;

/// Wraps any provider's verifier as a [`DynVerifier`]: the event keeps every common field
/// (id, payment, status, authenticity, raw body) and drops the typed payload.
pub fn erase<V>(verifier: V) -> DynVerifier
where
    V: AsyncWebhookVerifier + 'static,
{
    Arc::new(Erased(verifier))
}

struct Erased<V>(V);

#[async_trait]
impl<V: AsyncWebhookVerifier> AsyncWebhookVerifier for Erased<V> {
    type Payload = ();

    async fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<()>, WebhookRejection> {
        let event = self.0.verify(request).await?;
        let mut out = VerifiedEvent::new(
            event.provider,
            event.event_id,
            event.authenticity,
            (),
            event.raw_body,
        );
        out.event_type = event.event_type;
        out.payment_id = event.payment_id;
        out.status = event.status;
        out.raw_status = event.raw_status;
        out.occurred_at = event.occurred_at;
        Ok(out)
    }
}

/// What [`ProviderHooks::connect`] set up.
pub struct Connected {
    /// The provider's client, as the neutral trait.
    pub client: Box<dyn PaymentProvider>,
    /// Where the webhook URL went, one line for a report ("`POST /webhooks`: wh_1 → URL").
    pub webhook: String,
}

impl fmt::Debug for Connected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connected")
            .field("client", &self.client.name())
            .field("webhook", &self.webhook)
            .finish()
    }
}

/// The payment the payer is about to pay, for [`ProviderHooks::pay`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ToPay<'a> {
    /// The neutral creation request it was created from.
    pub order: &'a CreatePayment,
    /// The provider's answer (or the one the ledger stored).
    pub checkout: &'a Checkout,
    /// HTTP settings for any client the hook builds.
    pub http: HttpConfig,
    /// How long the payer may take, polls included.
    pub timeout: Duration,
}

impl<'a> ToPay<'a> {
    /// The payment of `checkout`, created from `order`; 30 s for the payer.
    pub fn new(order: &'a CreatePayment, checkout: &'a Checkout, http: HttpConfig) -> Self {
        ToPay {
            order,
            checkout,
            http,
            timeout: Duration::from_secs(30),
        }
    }

    /// Sets how long the payer may take.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

/// Where an [`Observed`] payment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ObservedVia {
    /// The answer of an API call (a HUB2 attempt answers with the whole intent).
    Fetch,
    /// The payer's return to the merchant's site, bound to the stored session and confirmed by
    /// a fetch (Fintecture's redirect).
    Redirect,
}

/// A status the merchant's side saw while the payer paid, worth recording (a ledger's
/// `observe`).
#[derive(Debug, Clone, PartialEq)]
pub struct Observed {
    /// The payment as the provider reported it.
    pub payment: Payment,
    /// How it was seen.
    pub via: ObservedVia,
}

/// What [`ProviderHooks::pay`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Paid {
    /// One line for a report.
    pub detail: String,
    /// What the merchant's side saw of the payment on the way, if anything.
    pub observed: Option<Observed>,
}

/// What a verified sandbox delivery established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The unified status the webhook reports (after fetch-back for providers that need one).
    pub status: Option<PaymentStatus>,
    /// How the content was established.
    pub authenticity: Authenticity,
}

/// A route of the sandbox: method and full path (prefix included, `*` for one segment), as a
/// [`crate::FaultRule`] takes it.
pub type Route = (&'static str, &'static str);

/// The request a delivery made, as verifiers take it.
pub fn delivery_request(delivery: &DeliveryRecord) -> WebhookRequest<'_> {
    WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
        delivery
            .headers
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_bytes())),
    )
}

/// One provider's hooks: the steps of a whole payment that are not the same for every
/// provider. See the [module documentation](self).
#[async_trait]
pub trait ProviderHooks: Send + Sync {
    /// The provider.
    fn provider(&self) -> Provider;

    /// A client for `sandbox` with `http` settings, after registering `webhook_url` wherever
    /// the provider takes it: an API call (HUB2, Banq), a console setting (`set_webhook_url`:
    /// Fintecture, Paylican), or per payment through
    /// [`create_request`](ProviderHooks::create_request) (Payconiq).
    async fn connect(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError>;

    /// A neutral creation request for `minor_units` in the provider's currency (see the
    /// sandbox's magic amounts), with `webhook_url` where the provider takes it per payment.
    fn create_request(&self, minor_units: i64, webhook_url: &str) -> CreatePayment;

    /// The provider crate's verifier for deliveries to `webhook_url` (registered by
    /// [`connect`](ProviderHooks::connect) first).
    ///
    /// # Errors
    /// When it cannot be built (no webhook registered for that URL, no key).
    fn verifier(
        &self,
        sandbox: &RunningSandbox,
        webhook_url: &str,
    ) -> Result<DynVerifier, HookError>;

    /// The payer pays. Default: the sandbox's simulated payer ([`PayerAction::Pay`]).
    async fn pay(&self, sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let id = &payment.checkout.payment_id;
        let view = sandbox.act(self.provider(), id, PayerAction::Pay).await?;
        let status = view.get("status").and_then(|s| s.as_str()).unwrap_or("?");
        Ok(Paid {
            detail: format!("the simulated payer paid: {status}"),
            observed: None,
        })
    }

    /// The simulated payer goes through a status the provider notifies, then pays: two
    /// webhooks, in that order. Default: the payer's bank asks for a one-time code
    /// ([`PayerAction::RequireOtp`]), which the payer enters ([`SANDBOX_OTP`]). Returns one
    /// line for a report.
    async fn pay_in_two_steps(
        &self,
        sandbox: &RunningSandbox,
        payment_id: &str,
    ) -> Result<String, HookError> {
        let provider = self.provider();
        let first = sandbox
            .act(provider, payment_id, PayerAction::RequireOtp)
            .await?;
        let paid = sandbox
            .act(
                provider,
                payment_id,
                PayerAction::SubmitOtp(SANDBOX_OTP.to_owned()),
            )
            .await?;
        Ok(format!(
            "one-time code asked ({}), then entered ({})",
            raw_status(&first),
            raw_status(&paid)
        ))
    }

    /// Verifies a delivery the sandbox made with the provider crate's own verifier (and, for
    /// an unsigned provider that can, confirms it by fetching the payment back).
    async fn verify(
        &self,
        sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let verifier = self
            .verifier(sandbox, &delivery.url)
            .map_err(|e| WebhookRejection::KeysUnavailable(e.to_string()))?;
        let event = verifier.verify(&delivery_request(delivery)).await?;
        Ok(Verified {
            status: event.status,
            authenticity: event.authenticity,
        })
    }

    /// The creation route.
    fn create_route(&self) -> Route {
        facts(self.provider()).create
    }

    /// The route the neutral `fetch_payment` calls.
    fn get_route(&self) -> Route {
        facts(self.provider()).get
    }

    /// The search the neutral `find_by_reference` sends, for providers that declare
    /// [`payments_core::Capability::FindByReference`].
    fn find_route(&self) -> Option<Route> {
        facts(self.provider()).find
    }

    /// The raw status the sandbox reports once the payer paid.
    fn paid_status(&self) -> &'static str {
        facts(self.provider()).paid
    }

    /// Whether a failed attempt ends the payment (true for most providers). HUB2 and Paylican
    /// leave the payment payable after a failed attempt.
    fn failures_are_final(&self) -> bool {
        facts(self.provider()).failures_are_final
    }

    /// How many attempts the provider documents for a webhook its receiver keeps refusing.
    fn webhook_attempts(&self) -> usize {
        facts(self.provider()).webhook_attempts
    }
}

/// The `status` of a sandbox payment view.
pub(crate) fn raw_status(view: &serde_json::Value) -> String {
    ["status", "meta"]
        .iter()
        .find_map(|key| match view.get(key) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Object(meta)) => meta
                .get("status")
                .and_then(|s| s.as_str())
                .map(str::to_owned),
            _ => None,
        })
        .unwrap_or_else(|| "?".to_owned())
}

/// What the sandbox emulates of each provider.
struct Facts {
    create: Route,
    get: Route,
    find: Option<Route>,
    paid: &'static str,
    failures_are_final: bool,
    webhook_attempts: usize,
}

fn facts(provider: Provider) -> Facts {
    match provider {
        Provider::Payconiq => Facts {
            create: ("POST", "/payconiq/v3/payments"),
            get: ("GET", "/payconiq/v3/payments/*"),
            find: Some(("POST", "/payconiq/v3/payments/search")),
            paid: "SUCCEEDED",
            failures_are_final: true,
            // One attempt and three retries (Payconiq's callback documentation: "call the
            // endpoint again up to three times").
            webhook_attempts: 4,
        },
        Provider::Fintecture => Facts {
            create: ("POST", "/fintecture/pis/v2/connect"),
            get: ("GET", "/fintecture/pis/v2/payments/*"),
            find: Some(("GET", "/fintecture/pis/v2/payments")),
            paid: "payment_created",
            failures_are_final: true,
            // "Webhook will retry 10x with an exponential time increment": 1 + 10 attempts.
            webhook_attempts: 11,
        },
        Provider::Hub2 => Facts {
            create: ("POST", "/hub2/payment-intents"),
            get: ("GET", "/hub2/payment-intents/*"),
            // `GET /payment-intents?purchaseReference=...` (the query is not part of the route).
            find: Some(("GET", "/hub2/payment-intents")),
            paid: "successful",
            // A failed attempt leaves the intent `payment_required`, payable by another attempt
            // (HUB2's API reference, "Attempt a payment on a PaymentIntent object").
            failures_are_final: false,
            // HUB2's webhook documentation: retries from 60 s, exponential, 10 attempts, ~34 h.
            webhook_attempts: 10,
        },
        Provider::Banq => Facts {
            create: ("POST", "/banq/api/v1/payments/get-paid-link"),
            get: ("GET", "/banq/api/v1/payments/*"),
            find: None,
            paid: "completed",
            failures_are_final: true,
            // The first attempt and `retryCount` (5 in Banq's example) retries.
            webhook_attempts: 6,
        },
        Provider::Paylican => Facts {
            create: ("POST", "/paylican/api/v1/payment"),
            get: ("GET", "/paylican/sandbox-extension/invoice/*"),
            find: None,
            paid: "PAID",
            // Paylican documents `UNPAID` and `PAID` only: a failed attempt leaves the invoice
            // payable.
            failures_are_final: false,
            webhook_attempts: 3,
        },
    }
}

/// Short timeouts and quick retries, for a fetch-back made while verifying (the sandbox is
/// local).
pub(crate) fn fetch_back_http() -> HttpConfig {
    HttpConfig::default()
        .request_timeout(Duration::from_millis(1500))
        .retry(
            payments_core::http::RetryPolicy::default()
                .backoff(Duration::from_millis(5), Duration::from_millis(20))
                .max_retry_after(Duration::from_secs(2)),
        )
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use super::*;
    use crate::{DeliveryState, Sandbox};

    fn all() -> Vec<Box<dyn ProviderHooks>> {
        vec![
            Box::new(payconiq::PayconiqHooks),
            Box::new(fintecture::FintectureHooks::default()),
            Box::new(hub2::Hub2Hooks::default()),
            Box::new(banq::BanqHooks {
                guard_secret: Some("hooks-test-url-secret-0123456789".into()),
                ..banq::BanqHooks::default()
            }),
            Box::new(paylican::PaylicanHooks::default()),
        ]
    }

    /// Every delivery about `id` once none is pending.
    async fn deliveries(
        sandbox: &RunningSandbox,
        id: &str,
        at_least: usize,
    ) -> Vec<DeliveryRecord> {
        for _ in 0..250 {
            let about: Vec<DeliveryRecord> = sandbox
                .deliveries()
                .into_iter()
                .filter(|d| d.payment_id == id)
                .collect();
            if about.len() >= at_least && about.iter().all(|d| d.state != DeliveryState::Pending) {
                return about;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!(
            "no {at_least} finished deliveries about {id}: {:?}",
            sandbox.deliveries()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn each_provider_is_paid_through_its_hooks_and_its_webhook_verifies() {
        for hooks in all() {
            let provider = hooks.provider();
            let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
            let sink = format!("{}/_sandbox/sink/{provider}", sandbox.base_url());
            let connected = hooks
                .connect(&sandbox, fetch_back_http(), &sink)
                .await
                .unwrap();
            assert!(!connected.webhook.is_empty());
            let order = hooks.create_request(1000, &sink);
            let checkout = connected.client.checkout(&order).await.unwrap();
            let paid = hooks
                .pay(&sandbox, &ToPay::new(&order, &checkout, fetch_back_http()))
                .await
                .unwrap_or_else(|e| panic!("{provider}: {e}"));
            assert!(!paid.detail.is_empty(), "{provider}");
            // What the merchant's side saw on the way is about this payment.
            if let Some(observed) = &paid.observed {
                assert_eq!(observed.payment.id, checkout.payment_id, "{provider}");
            }
            let about = deliveries(&sandbox, &checkout.payment_id, 1).await;
            let mut statuses = Vec::new();
            for delivery in &about {
                statuses.push(hooks.verify(&sandbox, delivery).await.unwrap().status);
            }
            assert!(
                statuses.contains(&Some(PaymentStatus::Succeeded)),
                "{provider}: {statuses:?}"
            );
            let payment = connected
                .client
                .fetch_payment(&checkout.payment_id)
                .await
                .unwrap();
            assert_eq!(payment.status, PaymentStatus::Succeeded, "{provider}");
            // The erased verifier keeps the common fields.
            let verifier = hooks.verifier(&sandbox, &about[0].url).unwrap();
            let event = verifier.verify(&delivery_request(&about[0])).await.unwrap();
            assert_eq!(event.provider, provider.as_str());
            assert_eq!(
                event.payment_id.as_deref(),
                Some(checkout.payment_id.as_str())
            );
            assert!(!event.raw_body.is_empty());
            sandbox.shutdown().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn paying_in_two_steps_sends_two_webhooks_the_paid_one_last() {
        for hooks in all() {
            let provider = hooks.provider();
            let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
            let sink = format!("{}/_sandbox/sink/{provider}", sandbox.base_url());
            let connected = hooks
                .connect(&sandbox, fetch_back_http(), &sink)
                .await
                .unwrap();
            let order = hooks.create_request(1000, &sink);
            let checkout = connected.client.checkout(&order).await.unwrap();
            hooks
                .pay_in_two_steps(&sandbox, &checkout.payment_id)
                .await
                .unwrap_or_else(|e| panic!("{provider}: {e}"));
            let about = deliveries(&sandbox, &checkout.payment_id, 2).await;
            let bodies: Vec<&str> = about.iter().map(|d| d.body.as_str()).collect();
            assert!(about.len() >= 2, "{provider}: {bodies:?}");
            let first = &about[0];
            let last = about.last().unwrap();
            assert_ne!(first.body, last.body, "{provider}");
            let payment = connected
                .client
                .fetch_payment(&checkout.payment_id)
                .await
                .unwrap();
            assert_eq!(payment.status, PaymentStatus::Succeeded, "{provider}");
            sandbox.shutdown().await;
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_hooks_debug_output_never_shows_a_secret() {
        let sandbox = Sandbox::builder().start().await.unwrap();
        let hub2 = hub2::Hub2Hooks::default();
        let url = format!("{}/_sandbox/sink/hub2", sandbox.base_url());
        hub2.connect(&sandbox, fetch_back_http(), &url)
            .await
            .unwrap();
        let shown = format!("{hub2:?}");
        assert!(shown.contains(&url), "{shown}");
        assert!(!shown.contains("whsec"), "{shown}");
        let secret = "hooks-debug-url-secret-0123456789";
        let banq = banq::BanqHooks {
            guard_secret: Some(secret.into()),
            ..banq::BanqHooks::default()
        };
        assert!(!format!("{banq:?}").contains(secret));
        let paylican = paylican::PaylicanHooks::with_guard_secret(secret);
        assert!(!format!("{paylican:?}").contains(secret));
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn a_hub2_verifier_needs_a_registration_and_the_sandbox_facts_are_each_providers() {
        let sandbox = Sandbox::builder().start().await.unwrap();
        let err = hub2::Hub2Hooks::default()
            .verifier(&sandbox, "http://127.0.0.1:1/none")
            .err()
            .unwrap();
        assert!(err.to_string().contains("no HUB2 webhook"), "{err}");
        assert_eq!(banq::BanqHooks::default().webhook_attempts(), 6);
        let three = banq::BanqHooks {
            retry_count: 2,
            ..banq::BanqHooks::default()
        };
        assert_eq!(three.webhook_attempts(), 3);
        assert_eq!(
            payconiq::PayconiqHooks.create_route().1,
            "/payconiq/v3/payments"
        );
        assert!(paylican::PaylicanHooks::default().find_route().is_none());
        sandbox.shutdown().await;
    }
}
