//! Paylican: both of Paylican's base URLs (Keycloak and Payment) are the sandbox's provider URL;
//! realm, client id, user and password are the sandbox's `paylican_*` credentials (password
//! grant, then refresh tokens); amounts in GNF (no minor unit), payment type `SANDBOX`.
//!
//! - Status: Paylican documents no status endpoint. The client is configured with the sandbox's
//!   own extension ([`STATUS_PATH`], documented as not being Paylican's), so reading a payment
//!   runs against the emulator's state; with a real Paylican account, `get_payment` stays
//!   `Unsupported`.
//! - Webhooks: the URL is console-configured (`set_webhook_url`), with a secret as its last path
//!   segment; deliveries are verified with the crate's verifier behind that guard, so a verified
//!   event is `Guarded`, never `Signed`: Paylican signs nothing.
//! - The payer opens the payment page the crate builds (Keycloak's `302`, then the page), then
//!   the simulated payer pays.

use payments_core::http::HttpConfig;
use payments_core::{CreatePayment, Currency, Money};
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_paylican::{PaylicanClient, PaylicanConfig};

use super::{Connected, DynVerifier, HookError, Paid, ProviderHooks, ToPay, erase};
use crate::{PayerAction, Provider, RunningSandbox};

/// The secret path segment appended to the webhook URL by default (a URL-secret guard).
pub const GUARD_SECRET: &str = "conformance-paylican-guard-0123456789abcdef";

/// The sandbox-only status endpoint, as a `status_path` template.
pub const STATUS_PATH: &str = "/sandbox-extension/invoice/{invoiceId}";

/// Paylican's hooks for the sandbox (`Debug` never shows the URL secret).
#[derive(Clone)]
pub struct PaylicanHooks {
    /// The secret last path segment of the console-configured webhook URL.
    guard_secret: String,
}

impl std::fmt::Debug for PaylicanHooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PaylicanHooks")
            .field("guard_secret", &"[REDACTED]")
            .finish()
    }
}

impl Default for PaylicanHooks {
    fn default() -> Self {
        PaylicanHooks {
            guard_secret: GUARD_SECRET.to_owned(),
        }
    }
}

impl PaylicanHooks {
    /// Hooks whose webhook URL ends with `secret` (at least 16 bytes: the crate refuses less).
    pub fn with_guard_secret(secret: impl Into<String>) -> Self {
        PaylicanHooks {
            guard_secret: secret.into(),
        }
    }

    /// The client configuration for `sandbox`.
    pub fn config(sandbox: &RunningSandbox, http: HttpConfig) -> PaylicanConfig {
        let paylican = sandbox.paylican();
        PaylicanConfig::new(
            paylican.keycloak_url,
            paylican.payment_url,
            paylican.username,
            paylican.password,
        )
        .realm(paylican.realm)
        .client_id(paylican.client_id)
        .status_path(STATUS_PATH)
        .payment_type("SANDBOX")
        .currency(Currency::GNF)
        .http(http)
    }
}

/// The payer opens the payment page at `url` (following Keycloak's redirect).
///
/// # Errors
/// When the page does not answer with success.
pub async fn open_payment_page(url: &str) -> Result<String, HookError> {
    let browser = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .map_err(|e| HookError::new(format!("the payer's browser: {e}")))?;
    let page = browser
        .get(url)
        .send()
        .await
        .map_err(|e| HookError::new(format!("the payment page: {}", e.without_url())))?;
    let status = page.status();
    if !status.is_success() {
        return Err(HookError::new(format!(
            "the payment page answered {status}"
        )));
    }
    Ok(format!("payment page {status}"))
}

#[payments_core::async_trait]
impl ProviderHooks for PaylicanHooks {
    fn provider(&self) -> Provider {
        Provider::Paylican
    }

    async fn connect(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        // Paylican's webhook URL is set at onboarding: the sandbox's console setting.
        sandbox.set_webhook_url(
            Provider::Paylican,
            Some(format!(
                "{}/{}",
                webhook_url.trim_end_matches('/'),
                self.guard_secret
            )),
        );
        Ok(Connected {
            client: Box::new(PaylicanClient::new(Self::config(sandbox, http))?),
            webhook: format!(
                "console setting: {}/<secret>",
                webhook_url.trim_end_matches('/')
            ),
        })
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::GNF),
            format!("conformance-{minor_units}"),
        )
        .description("Conformance order")
        .return_url("https://merchant.example/paylican/return")
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        _webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        let guards = WebhookGuards::new()
            .secret_in_path(&self.guard_secret)
            .map_err(|e| HookError::new(format!("the URL secret: {e}")))?;
        Ok(erase(PaylicanWebhookVerifier::new(guards)))
    }

    /// The payment page the crate built (through Keycloak), then the simulated payer.
    async fn pay(&self, sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let page = match payment.checkout.redirect_url.as_deref() {
            Some(url) => open_payment_page(url).await?,
            None => "no payment page".to_owned(),
        };
        let view = sandbox
            .act(
                Provider::Paylican,
                &payment.checkout.payment_id,
                PayerAction::Pay,
            )
            .await?;
        Ok(Paid {
            detail: format!(
                "{page}; the simulated payer paid: {}",
                super::raw_status(&view)
            ),
            observed: None,
        })
    }
}
