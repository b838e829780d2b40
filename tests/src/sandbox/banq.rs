//! Banq against the sandbox: the real `BanqClient` with the sandbox's credentials, webhooks
//! registered through `users/me` → `webhook-config` (the documented retry count, 5), and
//! unsigned notices confirmed by the crate's fetch-back (`BanqClient::confirm`).

use payments_banq::webhook::{Confirmation, WebhookReceiver};
use payments_banq::{
    BanqClient, BanqConfig, MerchantUserCredentials, OpenApiCredentials, WebhookConfigRequest,
};
use payments_core::http::HttpConfig;
use payments_core::webhook::{WebhookRejection, WebhookRequest};
use payments_core::{CreatePayment, Currency, Error, Money, PaymentProvider};
use payments_sandbox::{DeliveryRecord, Provider, RunningSandbox};
use serde_json::Value;

use super::{SandboxHarness, Verified, fast_http};

/// The Banq harness.
#[derive(Debug, Clone, Copy)]
pub struct BanqSandboxHarness {
    /// The `retryCount` registered with `webhook-config` (Banq's documented example: 5).
    pub retry_count: u32,
}

impl Default for BanqSandboxHarness {
    fn default() -> Self {
        BanqSandboxHarness { retry_count: 5 }
    }
}

fn text(info: &Value, key: &str) -> String {
    info.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

/// A client for `sandbox` with its credentials (both token flows).
pub fn banq_client(sandbox: &RunningSandbox, http: HttpConfig) -> BanqClient {
    let info = sandbox.info()["providers"]["banq"].clone();
    let c = sandbox.credentials();
    let config = BanqConfig::new(
        c.banq_company_id.clone(),
        OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password),
    )
    .merchant_user(MerchantUserCredentials::new(
        &c.banq_username,
        &c.banq_password,
    ))
    .api_base_url(text(&info, "api_base_url"))
    .token_url(text(&info, "token_url"))
    .default_destination(text(&info, "destination_banq_guid"))
    .http(http);
    BanqClient::new(config).expect("a valid Banq configuration")
}

#[async_trait::async_trait]
impl SandboxHarness for BanqSandboxHarness {
    fn provider(&self) -> Provider {
        Provider::Banq
    }

    async fn client(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Box<dyn PaymentProvider> {
        let client = banq_client(sandbox, http);
        let guid = text(
            &sandbox.info()["providers"]["banq"],
            "destination_banq_guid",
        );
        client
            .setup_webhooks(
                &guid,
                &WebhookConfigRequest::new(webhook_url).retry_count(self.retry_count),
            )
            .await
            .expect("webhook-config registered");
        Box::new(client)
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        // Banq takes the webhook URL per account space (registered in `client`), not per link.
        CreatePayment::new(Money::from_minor(minor_units, Currency::USD), "order-1")
            .description("Sandbox order")
    }

    fn create_route(&self) -> (&'static str, &'static str) {
        ("POST", "/banq/api/v1/payments/get-paid-link")
    }

    fn get_route(&self) -> (&'static str, &'static str) {
        ("GET", "/banq/api/v1/payments/*")
    }

    fn paid_status(&self) -> &'static str {
        "completed"
    }

    fn webhook_attempts(&self) -> usize {
        // The first attempt and `retryCount` retries.
        usize::try_from(self.retry_count).map_or(usize::MAX, |n| n + 1)
    }

    async fn verify(
        &self,
        sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let request = WebhookRequest::new("POST", &delivery.url, delivery.body.as_bytes()).headers(
            delivery
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_bytes())),
        );
        let notice = WebhookReceiver::new().receive(&request)?;
        let client = banq_client(sandbox, fast_http());
        match client.confirm(notice).await {
            Ok(Confirmation::Confirmed(payment)) => Ok(Verified {
                status: payment.status.clone(),
                authenticity: payment.authenticity,
            }),
            // Not a `completed` Payment notice: nothing is established.
            Ok(Confirmation::Notice(notice)) => Ok(Verified {
                status: None,
                authenticity: notice.authenticity(),
            }),
            Err(Error::WebhookRejected(rejection)) => Err(rejection),
            // The fetch-back refused (404: not our payment) or failed: nothing confirmed.
            Err(e) => Err(WebhookRejection::Unauthenticated(format!(
                "the fetch-back did not confirm the notice: {e}"
            ))),
        }
    }
}
