//! Payconiq against the sandbox: the crate's client pointed at `{sandbox}/payconiq/v3` (as
//! `https://merchant.api.preprod.bancontact.net/v3`) with the sandbox's API key, callbacks
//! verified with the crate's JWKS-fetching verifier against the key set the sandbox serves.

use payments_core::http::HttpConfig;
use payments_core::webhook::{AsyncWebhookVerifier, WebhookRejection, WebhookRequest};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider};
use payments_payconiq::jwks::{JwksCallbackVerifier, JwksFetcher};
use payments_payconiq::webhook::CallbackSettings;
use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig};
use payments_sandbox::{DeliveryRecord, Provider, RunningSandbox};

use super::{SandboxHarness, Verified};

/// The Payconiq harness.
#[derive(Debug, Default)]
pub struct PayconiqSandboxHarness;

/// The JWKS URL the sandbox announces for Payconiq.
pub fn jwks_url(sandbox: &RunningSandbox) -> String {
    sandbox.info()["providers"]["payconiq"]["jwks_url"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{}/jwks", sandbox.provider_url(Provider::Payconiq)))
}

#[async_trait::async_trait]
impl SandboxHarness for PayconiqSandboxHarness {
    fn provider(&self) -> Provider {
        Provider::Payconiq
    }

    async fn client(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Box<dyn PaymentProvider> {
        let config = PayconiqConfig::new(
            sandbox.credentials().payconiq_api_key.clone(),
            Environment::PreProduction,
        )
        .base_url(format!("{}/v3", sandbox.provider_url(Provider::Payconiq)))
        .default_callback_url(webhook_url)
        .http(http);
        match PayconiqClient::new(config) {
            Ok(client) => Box::new(client),
            Err(e) => panic!("a Payconiq client for the sandbox: {e}"),
        }
    }

    fn create_request(&self, minor_units: i64, webhook_url: &str) -> CreatePayment {
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::EUR),
            format!("order-{minor_units}"),
        )
        .description("Sandbox conformance")
        .webhook_url(webhook_url)
    }

    fn create_route(&self) -> (&'static str, &'static str) {
        ("POST", "/payconiq/v3/payments")
    }

    fn get_route(&self) -> (&'static str, &'static str) {
        ("GET", "/payconiq/v3/payments/*")
    }

    fn find_route(&self) -> Option<(&'static str, &'static str)> {
        Some(("POST", "/payconiq/v3/payments/search"))
    }

    fn paid_status(&self) -> &'static str {
        "SUCCEEDED"
    }

    /// One attempt and three retries (seed 002: "call the endpoint again up to three times").
    fn webhook_attempts(&self) -> usize {
        4
    }

    async fn verify(
        &self,
        sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let fetcher = JwksFetcher::new(&jwks_url(sandbox), &JwksFetcher::default_http())
            .map_err(|e| WebhookRejection::KeysUnavailable(e.to_string()))?;
        let verifier = JwksCallbackVerifier::new(
            CallbackSettings::new(
                sandbox.credentials().payconiq_profile_id.clone(),
                delivery.url.clone(),
            ),
            fetcher,
        );
        let request = WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
            delivery
                .headers
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_bytes())),
        );
        let event = verifier.verify(&request).await?;
        Ok(Verified {
            status: event.status,
            authenticity: event.authenticity,
        })
    }
}
