//! Payconiq: the crate's client pointed at `{sandbox}/payconiq/v3` (as
//! `https://merchant.api.preprod.bancontact.net/v3`) with the sandbox's API key; the callback URL
//! is given per payment (`callbackUrl`), and callbacks are verified with the crate's
//! JWKS-fetching verifier against the key set the sandbox serves, the signed `path` against that
//! URL and `sub` against the payment profile id.

use payments_core::http::HttpConfig;
use payments_core::{CreatePayment, Currency, Money};
use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
use payments_payconiq::webhook::WebhookSettings;
use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig};

use super::{Connected, DynVerifier, HookError, ProviderHooks, erase, raw_status};
use crate::{PayerAction, Provider, RunningSandbox};

/// Payconiq's hooks for the sandbox.
#[derive(Debug, Default, Clone, Copy)]
pub struct PayconiqHooks;

/// The JWKS URL the sandbox announces for Payconiq.
pub fn jwks_url(sandbox: &RunningSandbox) -> String {
    sandbox.payconiq().jwks_url
}

/// A client for `sandbox`, its default callback URL `callback_url`.
///
/// # Errors
/// When the configuration is refused.
pub fn client(
    sandbox: &RunningSandbox,
    http: HttpConfig,
    callback_url: &str,
) -> Result<PayconiqClient, HookError> {
    let payconiq = sandbox.payconiq();
    let config = PayconiqConfig::new(payconiq.api_key, Environment::PreProduction)
        .base_url(payconiq.api_base_url)
        .default_callback_url(callback_url)
        .http(http);
    Ok(PayconiqClient::new(config)?)
}

/// The verifier of callbacks sent to `callback_url` and signed for `profile_id`, its keys
/// fetched from `jwks_url`.
///
/// # Errors
/// When the JWKS URL is not usable.
pub fn verifier(
    profile_id: &str,
    callback_url: &str,
    jwks_url: &str,
) -> Result<DynVerifier, HookError> {
    let fetcher = JwksFetcher::new(jwks_url, &JwksFetcher::default_http())
        .map_err(|e| HookError::new(format!("JWKS fetcher: {e}")))?;
    Ok(erase(JwksWebhookVerifier::new(
        WebhookSettings::new(profile_id, callback_url),
        fetcher,
    )))
}

#[payments_core::async_trait]
impl ProviderHooks for PayconiqHooks {
    fn provider(&self) -> Provider {
        Provider::Payconiq
    }

    async fn connect(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        Ok(Connected {
            client: Box::new(client(sandbox, http, webhook_url)?),
            webhook: format!("per payment: callbackUrl {webhook_url}"),
        })
    }

    fn create_request(&self, minor_units: i64, webhook_url: &str) -> CreatePayment {
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::EUR),
            format!("order-{minor_units}"),
        )
        .description("Sandbox conformance")
        .webhook_url(webhook_url)
    }

    fn verifier(
        &self,
        sandbox: &RunningSandbox,
        webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        verifier(
            &sandbox.payconiq().profile_id,
            webhook_url,
            &jwks_url(sandbox),
        )
    }

    /// Payconiq notifies final statuses and `PENDING_MERCHANT_ACKNOWLEDGEMENT` only (a code
    /// asked of the payer is not notified): the merchant is asked to acknowledge, then the
    /// payment succeeds.
    async fn pay_in_two_steps(
        &self,
        sandbox: &RunningSandbox,
        payment_id: &str,
    ) -> Result<String, HookError> {
        let first = sandbox
            .act(
                Provider::Payconiq,
                payment_id,
                PayerAction::SetStatus("PENDING_MERCHANT_ACKNOWLEDGEMENT".into()),
            )
            .await?;
        let paid = sandbox
            .act(
                Provider::Payconiq,
                payment_id,
                PayerAction::SetStatus("SUCCEEDED".into()),
            )
            .await?;
        Ok(format!(
            "{} (the merchant must acknowledge), then {}",
            raw_status(&first),
            raw_status(&paid)
        ))
    }
}
