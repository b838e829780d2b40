//! Banq: the crate's `BanqClient` with the sandbox's credentials (both token flows); the webhook
//! is registered through `users/me` → `webhook-config` (Banq's documented retry count, 5), with
//! an optional URL secret; Banq signs nothing, so a notice is only a claim: the crate's
//! fetch-back (`BanqClient::confirm`, one `GET /payments/{id}`) establishes what it says.

use payments_banq::webhook::{Confirmation, WebhookReceiver};
use payments_banq::{
    BanqClient, BanqConfig, MerchantUserCredentials, OpenApiCredentials, WebhookConfigRequest,
};
use payments_core::http::HttpConfig;
use payments_core::webhook::{UrlSecretGuard, WebhookRejection, WebhookRequest, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Error, Money};

use super::{
    Connected, DynVerifier, HookError, ProviderHooks, Verified, delivery_request, erase, raw_status,
};
use crate::{DeliveryRecord, PayerAction, Provider, RunningSandbox};

/// The query parameter of the URL secret, when there is one.
pub const GUARD_PARAM: &str = "token";

/// Banq's hooks for the sandbox (`Debug` never shows the URL secret).
#[derive(Clone)]
pub struct BanqHooks {
    /// The `retryCount` registered with `webhook-config` (Banq's documented example: 5).
    pub retry_count: u32,
    /// A URL secret (at least 16 bytes) added to the webhook URL as `?token=` and checked by the
    /// core's `UrlSecretGuard`; `None`: no guard.
    pub guard_secret: Option<String>,
}

impl std::fmt::Debug for BanqHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BanqHooks")
            .field("retry_count", &self.retry_count)
            .field(
                "guard_secret",
                &self.guard_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

impl Default for BanqHooks {
    fn default() -> Self {
        BanqHooks {
            retry_count: 5,
            guard_secret: None,
        }
    }
}

/// A client for `sandbox` with its credentials (both token flows), paying into the sandbox's
/// destination account.
///
/// # Errors
/// When the configuration is refused.
pub fn banq_client(sandbox: &RunningSandbox, http: HttpConfig) -> Result<BanqClient, HookError> {
    let banq = sandbox.banq();
    let config = BanqConfig::new(
        banq.company_id.clone(),
        OpenApiCredentials::new(&banq.client_id, &banq.username, &banq.password),
    )
    .merchant_user(MerchantUserCredentials::new(&banq.username, &banq.password))
    .api_base_url(banq.api_base_url)
    .token_url(banq.token_url)
    .default_destination(banq.destination_banq_guid)
    .http(http);
    Ok(BanqClient::new(config)?)
}

impl BanqHooks {
    /// The crate's receiver, with the URL-secret guard when there is one.
    ///
    /// # Errors
    /// A guard secret the crate refuses (too short).
    pub fn receiver(&self) -> Result<WebhookReceiver, HookError> {
        let receiver = WebhookReceiver::new();
        Ok(match &self.guard_secret {
            Some(secret) => receiver.with_guard(
                UrlSecretGuard::query_param(GUARD_PARAM, secret.as_str())
                    .map_err(|e| HookError::new(format!("the URL secret: {e}")))?,
            ),
            None => receiver,
        })
    }

    /// Registers `url` (with the URL secret, if any) for the account space holding the
    /// destination account `guid`. Returns one line for a report (never the secret).
    ///
    /// # Errors
    /// Banq's refusal.
    pub async fn register(
        &self,
        client: &BanqClient,
        guid: &str,
        url: &str,
    ) -> Result<String, HookError> {
        let (registered, shown) = match &self.guard_secret {
            Some(secret) => (
                payments_banq::testing::guarded_url(url, GUARD_PARAM, secret),
                format!("{url}?{GUARD_PARAM}=…"),
            ),
            None => (url.to_owned(), url.to_owned()),
        };
        let config = client
            .setup_webhooks(
                guid,
                &WebhookConfigRequest::new(&registered).retry_count(self.retry_count),
            )
            .await?;
        Ok(format!(
            "webhook-config {} → {shown}",
            config.id.as_deref().unwrap_or("-")
        ))
    }
}

#[payments_core::async_trait]
impl ProviderHooks for BanqHooks {
    fn provider(&self) -> Provider {
        Provider::Banq
    }

    async fn connect(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let client = banq_client(sandbox, http)?;
        let guid = sandbox.banq().destination_banq_guid;
        let webhook = self.register(&client, &guid, webhook_url).await?;
        Ok(Connected {
            client: Box::new(client),
            webhook,
        })
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        // Banq takes the webhook URL per account space (registered in `connect`), not per link.
        CreatePayment::new(Money::from_minor(minor_units, Currency::USD), "order-1")
            .description("Sandbox order")
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        _webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        Ok(erase(self.receiver()?))
    }

    /// The notice, then Banq's fetch-back: the status is the one `GET /payments/{id}` reports.
    async fn verify(
        &self,
        sandbox: &RunningSandbox,
        delivery: &DeliveryRecord,
    ) -> Result<Verified, WebhookRejection> {
        let request: WebhookRequest<'_> = delivery_request(delivery);
        let receiver = self
            .receiver()
            .map_err(|e| WebhookRejection::KeysUnavailable(e.to_string()))?;
        let notice = WebhookVerifier::verify(&receiver, &request)?.data;
        let client = banq_client(sandbox, crate::hooks::fetch_back_http())
            .map_err(|e| WebhookRejection::KeysUnavailable(e.to_string()))?;
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

    /// Banq notifies every status change: the payment goes `processing`, then the payer pays.
    async fn pay_in_two_steps(
        &self,
        sandbox: &RunningSandbox,
        payment_id: &str,
    ) -> Result<String, HookError> {
        let first = sandbox
            .act(
                Provider::Banq,
                payment_id,
                PayerAction::SetStatus("processing".into()),
            )
            .await?;
        let paid = sandbox
            .act(Provider::Banq, payment_id, PayerAction::Pay)
            .await?;
        Ok(format!(
            "{}, then paid: {}",
            raw_status(&first),
            raw_status(&paid)
        ))
    }

    /// The first attempt and `retryCount` retries.
    fn webhook_attempts(&self) -> usize {
        usize::try_from(self.retry_count).map_or(usize::MAX, |n| n.saturating_add(1))
    }
}
