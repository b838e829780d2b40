//! Paylican against the sandbox.
//!
//! - Client: both of Paylican's base URLs (Keycloak and Payment) are the sandbox's provider URL;
//!   realm, client id, user and password are the sandbox's `paylican_*` credentials (password
//!   grant, then refresh tokens); amounts in GNF (no minor unit), payment type `SANDBOX`.
//! - Status: Paylican documents no status endpoint. The client is configured with the sandbox's
//!   own extension (`PaylicanConfig::status_path("/sandbox-extension/invoice/{invoiceId}")`,
//!   documented as not being Paylican's), so the scenarios that read a payment run against the
//!   emulator's state; with a real Paylican account, `get_payment` stays `Unsupported`.
//! - Webhooks: the URL is console-configured (`sandbox.set_webhook_url`), with a secret as its
//!   last path segment; deliveries are verified with the crate's verifier behind that guard, so
//!   a verified event is `Guarded` — never `Signed`: Paylican signs nothing, and a tampered body
//!   that still parses is accepted as the (guarded) claim it is.

use payments_core::http::HttpConfig;
use payments_core::webhook::{WebhookRejection, WebhookRequest, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider};
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_paylican::{PaylicanClient, PaylicanConfig};
use payments_sandbox::{DeliveryRecord, Provider, RunningSandbox};

use super::{SandboxHarness, Verified};

/// The secret path segment appended to the webhook URL (a URL-secret guard).
pub const GUARD_SECRET: &str = "conformance-paylican-guard-0123456789abcdef";

/// The sandbox-only status endpoint, as a `status_path` template.
pub const STATUS_PATH: &str = "/sandbox-extension/invoice/{invoiceId}";

/// The Paylican sandbox harness.
#[derive(Debug)]
pub struct PaylicanSandboxHarness {
    /// The secret last path segment of the console-configured webhook URL.
    guard_secret: &'static str,
}

impl Default for PaylicanSandboxHarness {
    fn default() -> Self {
        PaylicanSandboxHarness {
            guard_secret: GUARD_SECRET,
        }
    }
}

impl PaylicanSandboxHarness {
    /// The client configuration for `sandbox`.
    pub fn config(sandbox: &RunningSandbox, http: HttpConfig) -> PaylicanConfig {
        let url = sandbox.provider_url(Provider::Paylican);
        let creds = sandbox.credentials();
        PaylicanConfig::new(
            url.clone(),
            url,
            creds.paylican_username.clone(),
            creds.paylican_password.clone(),
        )
        .realm(creds.paylican_realm.clone())
        .client_id(creds.paylican_client_id.clone())
        .status_path(STATUS_PATH)
        .payment_type("SANDBOX")
        .currency(Currency::GNF)
        .http(http)
    }
}

#[async_trait::async_trait]
impl SandboxHarness for PaylicanSandboxHarness {
    fn provider(&self) -> Provider {
        Provider::Paylican
    }

    async fn client(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Box<dyn PaymentProvider> {
        // Paylican's webhook URL is set at onboarding: the sandbox's console setting.
        sandbox.set_webhook_url(
            Provider::Paylican,
            Some(format!(
                "{}/{}",
                webhook_url.trim_end_matches('/'),
                self.guard_secret
            )),
        );
        Box::new(PaylicanClient::new(Self::config(sandbox, http)).expect("a valid configuration"))
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::GNF),
            format!("conformance-{minor_units}"),
        )
        .description("Conformance order")
        .return_url("https://merchant.example/paylican/return")
    }

    fn create_route(&self) -> (&'static str, &'static str) {
        ("POST", "/paylican/api/v1/payment")
    }

    fn get_route(&self) -> (&'static str, &'static str) {
        ("GET", "/paylican/sandbox-extension/invoice/*")
    }

    fn paid_status(&self) -> &'static str {
        "PAID"
    }

    fn webhook_attempts(&self) -> usize {
        3
    }

    /// Paylican documents `UNPAID` and `PAID` only: a failed attempt leaves the invoice payable.
    fn failures_are_final(&self) -> bool {
        false
    }

    async fn verify(
        &self,
        _sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let guards = WebhookGuards::new()
            .secret_in_path(self.guard_secret)
            .map_err(|e| WebhookRejection::MalformedPayload(e.to_string()))?;
        let verifier = PaylicanWebhookVerifier::new(guards);
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
