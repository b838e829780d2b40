//! HUB2: the merchant client pointed at `{sandbox}/hub2` (standing for `https://api.hub2.io`)
//! with the sandbox's `ApiKey` / `MerchantId` / `Environment`; the webhook is registered through
//! the API (`POST /webhooks`) and its deliveries verified with the crate's
//! `Hub2WebhookVerifier` and the secret that registration returned. HUB2 hosts no payment page:
//! the payer side makes a mobile money attempt with the intent's token (never the API key) and
//! completes its `otp` next action.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::secret::ExposeSecret;
use payments_core::{CreatePayment, Currency, Money};
use payments_hub2::convert::to_payment;
use payments_hub2::poll::PollPolicy;
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_hub2::{
    AttemptRequest, CreateWebhookRequest, Environment, Hub2Client, Hub2Config, IntentStatus,
    NextAction, PayerCredentials,
};

use super::{
    Connected, DynVerifier, HookError, Observed, ObservedVia, Paid, ProviderHooks, ToPay, erase,
};
use crate::{Provider, RunningSandbox, SANDBOX_OTP};

/// The event types registered: the attempt's events, and the intent's own, which alone say
/// whether the intent is paid (an attempt's `payment.succeeded` does not).
pub const EVENTS: [&str; 6] = [
    "payment_intent.created",
    "payment_intent.succeeded",
    "payment_intent.payment_required",
    "payment.action_required",
    "payment.succeeded",
    "payment.failed",
];

/// HUB2's hooks for the sandbox. Keeps the secret each webhook registration returned, per URL
/// (`Debug` shows the URLs, never the secrets).
#[derive(Default)]
pub struct Hub2Hooks {
    secrets: Mutex<HashMap<String, String>>,
    /// Who pays, and how.
    pub payer: MobileMoneyPayer,
}

impl std::fmt::Debug for Hub2Hooks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let urls: Vec<String> = self
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .keys()
            .cloned()
            .collect();
        f.debug_struct("Hub2Hooks")
            .field("registered", &urls)
            .field("payer", &self.payer)
            .finish()
    }
}

/// The payer of [`pay_mobile_money`]: a mobile money wallet and the one-time code it asks for.
#[derive(Debug, Clone)]
pub struct MobileMoneyPayer {
    /// ISO country (`CI`).
    pub country: String,
    /// The wallet's provider (`orange`).
    pub provider: String,
    /// The payer's number.
    pub msisdn: String,
    /// The code sent for an `otp` next action.
    pub otp: String,
    /// How often the payer side polls the intent's status while it is processing.
    pub poll_every: Duration,
}

impl Default for MobileMoneyPayer {
    /// Orange Money in Côte d'Ivoire, the sandbox's one-time code, a poll every second.
    fn default() -> Self {
        MobileMoneyPayer {
            country: "CI".into(),
            provider: "orange".into(),
            msisdn: "0700000000".into(),
            otp: SANDBOX_OTP.into(),
            poll_every: Duration::from_secs(1),
        }
    }
}

/// A merchant client for `sandbox`. HUB2 hosts no payment page: the neutral checkout's
/// `redirect_url` is the merchant's own page (`payer_page_url`), which runs the attempt.
///
/// # Errors
/// When the configuration is refused.
pub fn client(sandbox: &RunningSandbox, http: HttpConfig) -> Result<Hub2Client, HookError> {
    let hub2 = sandbox.hub2();
    let config = Hub2Config::new(hub2.api_key, hub2.merchant_id, Environment::Sandbox)
        .base_url(hub2.base_url)
        .payer_page_url("https://shop.example/pay/{intent_id}")
        .http(http);
    Ok(Hub2Client::new(config)?)
}

impl Hub2Hooks {
    /// Hooks whose payer is `payer`.
    pub fn with_payer(payer: MobileMoneyPayer) -> Self {
        Hub2Hooks {
            secrets: Mutex::default(),
            payer,
        }
    }

    /// Registers `url` for [`EVENTS`] with `client` (any HUB2, the sandbox or HUB2's own) and
    /// keeps the secret the answer holds. Returns one line for a report (never the secret).
    ///
    /// # Errors
    /// HUB2's refusal, or an answer without a secret.
    pub async fn register(&self, client: &Hub2Client, url: &str) -> Result<String, HookError> {
        let webhook = client
            .create_webhook(&CreateWebhookRequest::new(url, EVENTS).description("payments"))
            .await?;
        let secret = webhook
            .secret
            .ok_or_else(|| HookError::new("the registration answer holds no secret"))?;
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(url.to_owned(), secret.expose_secret().to_owned());
        Ok(format!(
            "POST /webhooks: {} → {url} ({} events, secret kept)",
            webhook.id,
            EVENTS.len()
        ))
    }

    /// The verifier of deliveries to `url`, with the secret its registration returned.
    ///
    /// # Errors
    /// When no webhook was registered for `url`.
    pub fn verifier_for(&self, url: &str) -> Result<DynVerifier, HookError> {
        let secret = self
            .secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(url)
            .cloned()
            .ok_or_else(|| HookError::new(format!("no HUB2 webhook was registered for {url}")))?;
        let verifier = Hub2WebhookVerifier::new(secret)
            .map_err(|e| HookError::new(format!("the registered secret: {e}")))?;
        Ok(erase(verifier))
    }
}

/// The payer side of intent `intent_id`: fetches its token with the merchant `client`, makes a
/// mobile money attempt as `payer` (the payer client holds the token only), completes an `otp`
/// next action, and polls the intent's status (rate-limit aware) until it is final or
/// `timeout` passes. An action the payer must take elsewhere (a redirection, a USSD code) is
/// printed on stderr. The attempt's answer (the whole intent) is the observation.
///
/// # Errors
/// HUB2's refusals, or an intent that is not `successful` in the end.
pub async fn pay_mobile_money(
    client: &Hub2Client,
    intent_id: &str,
    payer: &MobileMoneyPayer,
    timeout: Duration,
) -> Result<Paid, HookError> {
    let intent = client.get_intent(intent_id).await?;
    let credentials = PayerCredentials::from_intent(&intent)
        .ok_or_else(|| HookError::new("the intent carries no token"))?;
    let payer_client = client.payer(credentials)?;
    let attempted = payer_client
        .attempt(&AttemptRequest::mobile_money(
            payer.country.clone(),
            payer.provider.clone(),
            payer.msisdn.clone(),
        ))
        .await?;
    let attempt = attempted
        .latest_payment()
        .map_or_else(|| "?".to_owned(), |p| p.id.clone());
    let mut path = format!("attempt {attempt}, {} {}", payer.provider, payer.country);
    let mut status = attempted.status.clone();
    match attempted.next_action() {
        Some(NextAction::Otp { .. }) => {
            status = payer_client.authenticate(&payer.otp).await?.status;
            path.push_str(": otp → authenticated");
        }
        Some(NextAction::Redirection { redirection, .. }) => {
            eprintln!("[hub2] the payer pays at: {}", redirection.url);
            path.push_str(": redirection");
        }
        Some(other) => {
            eprintln!(
                "[hub2] the payer's action ({}): {}",
                other.kind(),
                other.message().unwrap_or("")
            );
            path.push_str(&format!(": {}", other.kind()));
        }
        None => {}
    }
    if status.is_pollable() {
        let policy = PollPolicy::default()
            .interval(payer.poll_every)
            .max_duration(timeout);
        status = payer_client.poll_status(status, &policy).await?.status;
    }
    if status != IntentStatus::Successful {
        return Err(HookError::new(format!(
            "{path}: the intent is {status}, not successful"
        )));
    }
    Ok(Paid {
        detail: format!("{path} → {status}"),
        observed: Some(Observed {
            payment: to_payment(&attempted, serde_json::Value::Null),
            via: ObservedVia::Fetch,
        }),
    })
}

#[payments_core::async_trait]
impl ProviderHooks for Hub2Hooks {
    fn provider(&self) -> Provider {
        Provider::Hub2
    }

    async fn connect(
        &self,
        sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let client = client(sandbox, http)?;
        let webhook = self.register(&client, webhook_url).await?;
        Ok(Connected {
            client: Box::new(client),
            webhook,
        })
    }

    fn create_request(&self, minor_units: i64, _webhook_url: &str) -> CreatePayment {
        // HUB2 registers webhooks per merchant, not per payment (the client refuses one here).
        CreatePayment::new(
            Money::from_minor(minor_units, Currency::XOF),
            format!("order-{minor_units}"),
        )
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        self.verifier_for(webhook_url)
    }

    /// The payer side: [`pay_mobile_money`] as [`Hub2Hooks::payer`].
    async fn pay(&self, sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let client = client(sandbox, payment.http.clone())?;
        pay_mobile_money(
            &client,
            &payment.checkout.payment_id,
            &self.payer,
            payment.timeout,
        )
        .await
    }
}
