//! HUB2 against the sandbox: the crate's merchant client pointed at `{sandbox}/hub2` (which
//! stands for `https://api.hub2.io`) with the sandbox's `ApiKey` / `MerchantId` / `Environment`;
//! the webhook is registered through the API (`POST /webhooks`), and deliveries are verified with
//! the crate's `Hub2WebhookVerifier` and the secret that registration returned.

use std::collections::HashMap;
use std::sync::Mutex;

use payments_core::http::HttpConfig;
use payments_core::secret::ExposeSecret;
use payments_core::webhook::{WebhookRejection, WebhookRequest, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider};
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_hub2::{CreateWebhookRequest, Environment, Hub2Client, Hub2Config};
use payments_sandbox::{DeliveryRecord, Provider, RunningSandbox};

use super::{SandboxHarness, Verified};

/// The event types the harness subscribes to: the attempt's events, and the intent's own,
/// which alone say whether the intent is paid (an attempt's `payment.succeeded` does not).
pub const EVENTS: [&str; 6] = [
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_required",
    "payment.action_required",
    "payment.succeeded",
    "payment.failed",
];

/// The HUB2 harness. Keeps the secret each webhook registration returned, per URL.
#[derive(Debug, Default)]
pub struct Hub2SandboxHarness {
    secrets: Mutex<HashMap<String, String>>,
}

/// A merchant client for `sandbox`. HUB2 hosts no payment page: the neutral checkout's
/// `redirect_url` is the merchant's own page (`payer_page_url`), which runs the attempt.
pub fn client(sandbox: &RunningSandbox, http: HttpConfig) -> Hub2Client {
    let credentials = sandbox.credentials();
    let config = Hub2Config::new(
        credentials.hub2_api_key.clone(),
        credentials.hub2_merchant_id.clone(),
        Environment::Sandbox,
    )
    .base_url(sandbox.provider_url(Provider::Hub2))
    .payer_page_url("https://shop.example/pay/{intent_id}")
    .http(http);
    match Hub2Client::new(config) {
        Ok(client) => client,
        Err(e) => panic!("a HUB2 client for the sandbox: {e}"),
    }
}

#[async_trait::async_trait]
impl SandboxHarness for Hub2SandboxHarness {
    fn provider(&self) -> Provider {
        Provider::Hub2
    }

    async fn client(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Box<dyn PaymentProvider> {
        let client = client(sandbox, http);
        let webhook = match client
            .create_webhook(&CreateWebhookRequest::new(webhook_url, EVENTS))
            .await
        {
            Ok(webhook) => webhook,
            Err(e) => panic!("registering the HUB2 webhook: {e}"),
        };
        let Some(secret) = webhook.secret else {
            panic!("the registration answer holds no secret")
        };
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(webhook_url.to_owned(), secret.expose_secret().to_owned());
        Box::new(client)
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        // HUB2 registers webhooks per merchant, not per payment (the client refuses one here).
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::XOF),
            format!("order-{minor_units}"),
        )
    }

    fn create_route(&self) -> (&'static str, &'static str) {
        ("POST", "/hub2/payment-intents")
    }

    fn get_route(&self) -> (&'static str, &'static str) {
        ("GET", "/hub2/payment-intents/*")
    }

    /// `GET /payment-intents?purchaseReference=...` (the query is not part of the route).
    fn find_route(&self) -> Option<(&'static str, &'static str)> {
        Some(("GET", "/hub2/payment-intents"))
    }

    fn paid_status(&self) -> &'static str {
        "successful"
    }

    /// A failed attempt leaves the intent `payment_required`, payable by another attempt
    /// (HUB2's API reference, "Attempt a payment on a PaymentIntent object").
    fn failures_are_final(&self) -> bool {
        false
    }

    /// 10 attempts (HUB2's webhook documentation: retries from 60 s, exponential, 10 attempts,
    /// about 34 h).
    fn webhook_attempts(&self) -> usize {
        10
    }

    async fn verify(
        &self,
        _sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let secret = self
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&delivery.url)
            .cloned()
            .unwrap_or_else(|| panic!("no webhook was registered for {}", delivery.url));
        let verifier = match Hub2WebhookVerifier::new(secret) {
            Ok(verifier) => verifier,
            Err(e) => panic!("a verifier for the registered secret: {e}"),
        };
        let request = WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
            delivery
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
        );
        let event = verifier.verify(&request)?;
        Ok(Verified {
            status: event.status,
            authenticity: event.authenticity,
        })
    }
}
