//! Fintecture: the crate's client (client credentials, every call signed with the
//! sandbox-generated application key); the webhook URL is a console setting
//! (`set_webhook_url`), deliveries are verified by RSA-OAEP decryption with the same key; the
//! payer pays on the sandbox's Connect page and comes back to the `redirect_uri`, a return the
//! crate binds to the stored session and confirms by a fetch (`confirm_redirect`).

use std::sync::Arc;

use payments_core::http::HttpConfig;
use payments_core::{CreatePayment, Currency, Money};
use payments_fintecture::convert::to_payment;
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{Environment, FintectureClient, FintectureConfig, StoredSession};

use super::{
    Connected, DynVerifier, HookError, Observed, ObservedVia, Paid, ProviderHooks, ToPay, erase,
};
use crate::{Provider, RunningSandbox};

/// Fintecture's hooks for the sandbox.
#[derive(Debug, Clone)]
pub struct FintectureHooks {
    /// The `redirect_uri` of every session (Fintecture requires one): where the payer comes
    /// back after paying.
    pub return_url: String,
}

impl Default for FintectureHooks {
    fn default() -> Self {
        FintectureHooks {
            return_url: "https://shop.example/fintecture/return".to_owned(),
        }
    }
}

/// The application's private key the sandbox generated, PEM.
///
/// # Errors
/// When the sandbox was started with a public key only.
pub fn private_key_pem(sandbox: &RunningSandbox) -> Result<String, HookError> {
    sandbox
        .fintecture()
        .private_key_pem
        .ok_or_else(|| HookError::new("the sandbox did not generate a Fintecture key pair"))
}

/// A client for `sandbox` with its credentials and key.
///
/// # Errors
/// When the key or the configuration is refused.
pub fn client(sandbox: &RunningSandbox, http: HttpConfig) -> Result<FintectureClient, HookError> {
    let fintecture = sandbox.fintecture();
    let config = FintectureConfig::new(
        &fintecture.app_id,
        &fintecture.app_secret,
        private_key_pem(sandbox)?,
        Environment::Sandbox,
    )
    .base_url(fintecture.base_url)
    .http(http);
    Ok(FintectureClient::new(config)?)
}

/// The payer pays on the Connect page at `connect_url` and follows the redirect back to
/// `return_url` (best effort: the merchant's page need not run); returns the redirect's query.
///
/// # Errors
/// When the page does not redirect to `return_url`.
pub async fn pay_on_connect_page(
    connect_url: &str,
    return_url: &str,
    timeout: std::time::Duration,
) -> Result<String, HookError> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .build()
        .map_err(|e| HookError::new(format!("the payer's browser: {e}")))?;
    let answer = browser
        .post(connect_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .map_err(|e| HookError::new(format!("Connect page: {}", e.without_url())))?;
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(location) = location.filter(|_| status.is_redirection()) else {
        return Err(HookError::new(format!(
            "the Connect page answered {status}, not a redirect to the redirect_uri"
        )));
    };
    let query = location
        .strip_prefix(return_url)
        .and_then(|rest| rest.strip_prefix('?'))
        .ok_or_else(|| HookError::new(format!("redirected to {location}, not to {return_url}")))?
        .to_owned();
    // The payer's browser lands on the merchant's page; what matters is the query, which the
    // merchant's page hands to `confirm_redirect` (a shop that is not running changes nothing).
    let _ = browser.get(&location).send().await;
    Ok(query)
}

#[payments_core::async_trait]
impl ProviderHooks for FintectureHooks {
    fn provider(&self) -> Provider {
        Provider::Fintecture
    }

    async fn connect(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        // Fintecture takes its webhook URL from the console.
        sandbox.set_webhook_url(Provider::Fintecture, Some(webhook_url.to_owned()));
        Ok(Connected {
            client: Box::new(client(sandbox, http)?),
            webhook: format!("console setting: {webhook_url}"),
        })
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::EUR),
            format!("order-{minor_units}"),
        )
        .return_url(self.return_url.clone())
    }

    fn verifier(
        &self,
        sandbox: &RunningSandbox,
        _webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        let key = AppPrivateKey::from_pem(&private_key_pem(sandbox)?)
            .map_err(|e| HookError::new(format!("the sandbox's key: {e}")))?;
        Ok(erase(FintectureWebhookVerifier::new(WebhookSettings::new(
            &sandbox.fintecture().app_id,
            Arc::new(key),
        ))))
    }

    /// The Connect page (the checkout's `redirect_url`): the payer pays and is redirected to
    /// `redirect_uri?session_id=..&status=..&state=..`; the return is bound to the session as a
    /// shop stores it (the neutral creation's reference is both `state` and `communication`) and
    /// the session fetched (`confirm_redirect`: the query's status is not trusted).
    async fn pay(&self, sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let connect_url = payment
            .checkout
            .redirect_url
            .as_deref()
            .ok_or_else(|| HookError::new("the checkout has no Connect page URL"))?;
        let return_url = payment
            .order
            .return_url
            .as_deref()
            .unwrap_or(&self.return_url);
        let query = pay_on_connect_page(connect_url, return_url, payment.timeout).await?;
        let reference = &payment.order.reference;
        let stored = StoredSession::new(
            &payment.checkout.payment_id,
            reference,
            payment.order.amount,
            reference,
        );
        let client = client(sandbox, payment.http.clone())?;
        let confirmed = client
            .confirm_redirect(&query, &stored)
            .await
            .map_err(|e| HookError::new(format!("the redirect: {e}")))?;
        let observed = to_payment(&confirmed.payment, serde_json::Value::Null)
            .map_err(|e| HookError::new(format!("the confirmed session: {e}")))?;
        Ok(Paid {
            detail: format!(
                "paid on the Connect page; the redirect is bound to the stored session and \
                 confirmed by a fetch: {}",
                confirmed.status
            ),
            observed: Some(Observed {
                payment: observed,
                via: ObservedVia::Redirect,
            }),
        })
    }
}
