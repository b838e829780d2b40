//! Payconiq: its real pre-production platform, and offline callback verification.
//!
//! # Against Payconiq's pre-production platform
//! When `PAYCONIQ_API_KEY` is set (and `--offline` is not given), the demo runs against
//! `https://merchant.api.preprod.bancontact.net/v3` (override with `PAYCONIQ_BASE_URL`). "payer
//! pays" prints the payment's deeplink and QR code link on stderr (pay it with the Payconiq
//! pre-production app) and polls the payment until it is final or `--timeout` passes. The
//! callback needs `PAYMENTS_DEMO_PUBLIC_URL`, a public https URL that forwards to the demo's local
//! webhook receiver (its port is random; `/payconiq/webhook` must reach it), and
//! `PAYCONIQ_PROFILE_ID`, the payment profile id Payconiq signs as `sub`; the key set is fetched
//! from `https://jwks.preprod.bancontact.net/` (override with `PAYCONIQ_JWKS_URL`). Without them
//! the webhook steps are skipped, saying why, and the reconciler establishes the status. Against
//! the sandbox the flow runs on `payments_sandbox::hooks::payconiq`.
//!
//! # `payments webhook verify payconiq`
//! `--jwks FILE` (the key set, JWKS JSON: the sandbox's is at its `jwks_url`), `--profile-id ID`
//! (the expected `sub`) and `--url URL` (the callback URL the payment was created with: the signed
//! `path`; a rejection names both) are checked with the crate's offline [`PayconiqWebhookVerifier`], as
//! of `--at` (default now) with the crate's injectable clock, within its 25-hour window (Payconiq
//! retries the identical request for 24 hours). The output adds the signed claims (`kid`, `jti`,
//! `iat`, `sub`, `path`).

use std::sync::Arc;
use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::webhook::{FixedClock, VerifiedEvent};
use payments_core::{CreatePayment, PaymentProvider};
use payments_payconiq::webhook::{JwkSet, PayconiqEvent, PayconiqWebhookVerifier, WebhookSettings};
use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig};
use payments_sandbox::hooks::payconiq::PayconiqHooks;
use payments_sandbox::hooks::{Connected, DynVerifier, HookError, Paid, ProviderHooks, ToPay};
use payments_sandbox::{Provider, RunningSandbox};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use super::{Target, env, pay_by_polling};
use crate::args::PayconiqVerifyArgs;
use crate::verify::{Capture, VerifyError, event_json, read_file};

/// How often the real payment is polled while the payer pays.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// Payconiq's pre-production platform, from the environment.
struct RealPayconiq {
    config: PayconiqConfig,
    /// Set when callbacks can reach the receiver and be checked.
    profile_id: Option<String>,
    jwks_url: String,
    webhooks: bool,
}

fn from_env() -> Option<RealPayconiq> {
    let api_key = env("PAYCONIQ_API_KEY")?;
    let mut config = PayconiqConfig::new(api_key, Environment::PreProduction);
    if let Some(url) = env("PAYCONIQ_BASE_URL") {
        config = config.base_url(url);
    }
    let profile_id = env("PAYCONIQ_PROFILE_ID");
    Some(RealPayconiq {
        config,
        webhooks: profile_id.is_some() && env("PAYMENTS_DEMO_PUBLIC_URL").is_some(),
        profile_id,
        jwks_url: env("PAYCONIQ_JWKS_URL")
            .unwrap_or_else(|| Environment::PreProduction.jwks_url().to_owned()),
    })
}

pub(super) fn real_target(public: Option<String>) -> Option<Result<Target, String>> {
    let real = from_env()?;
    let webhooks = match (&public, &real.profile_id) {
        (Some(public), Some(_)) => Ok(Some(public.clone())),
        (None, _) => {
            Err("set PAYMENTS_DEMO_PUBLIC_URL (a public URL forwarding to the receiver)".to_owned())
        }
        (_, None) => {
            Err("set PAYCONIQ_PROFILE_ID (the payment profile id Payconiq signs as sub)".to_owned())
        }
    };
    Some(Ok(Target {
        provider: Provider::Payconiq,
        description: format!(
            "Payconiq pre-production ({})",
            real.config.effective_base_url()
        ),
        hooks: Box::new(real),
        webhooks,
        minor_units: super::demo_minor_units(Provider::Payconiq),
        trust: None,
    }))
}

pub(super) fn real_client() -> Option<Result<Box<dyn PaymentProvider>, String>> {
    let real = from_env()?;
    Some(
        PayconiqClient::new(real.config)
            .map(|c| Box::new(c) as Box<dyn PaymentProvider>)
            .map_err(|e| e.to_string()),
    )
}

impl RealPayconiq {
    fn client(&self, http: HttpConfig) -> Result<PayconiqClient, HookError> {
        Ok(PayconiqClient::new(self.config.clone().http(http))?)
    }
}

#[payments_core::async_trait]
impl ProviderHooks for RealPayconiq {
    fn provider(&self) -> Provider {
        Provider::Payconiq
    }

    async fn connect(
        &self,
        _sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let webhook = if self.webhooks {
            format!("per payment: callbackUrl {webhook_url} (forwarded to the local receiver)")
        } else {
            "none: callbacks cannot reach the local receiver".to_owned()
        };
        Ok(Connected {
            client: Box::new(self.client(http)?),
            webhook,
        })
    }

    fn create_request(&self, minor_units: i64, webhook_url: &str) -> CreatePayment {
        let mut request = PayconiqHooks.create_request(minor_units, webhook_url);
        if !self.webhooks {
            request.webhook_url = None;
        }
        request
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        let profile_id = self
            .profile_id
            .as_deref()
            .ok_or_else(|| HookError::new("PAYCONIQ_PROFILE_ID is not set"))?;
        payments_sandbox::hooks::payconiq::verifier(profile_id, webhook_url, &self.jwks_url)
    }

    /// The payer is a person with the Payconiq pre-production app.
    async fn pay(&self, _sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let client = self.client(payment.http.clone())?;
        pay_by_polling(&client, payment.checkout, payment.timeout, POLL_EVERY).await
    }
}

pub(super) async fn verify(
    args: &PayconiqVerifyArgs,
    capture: &Capture,
) -> Result<Value, VerifyError> {
    let jwks = read_file("--jwks", &args.jwks)?;
    let keys = JwkSet::from_json(jwks.as_bytes())
        .map_err(|e| VerifyError::Usage(format!("--jwks: {e}")))?;
    let settings = WebhookSettings::new(args.profile_id.clone(), capture.url.clone())
        .clock(Arc::new(FixedClock::new(capture.at)));
    let (event, claims) = PayconiqWebhookVerifier::new(settings, keys)
        .verify_detailed(&capture.request())
        .map_err(|rejection| {
            let hint = match &rejection {
                payments_core::webhook::WebhookRejection::ClaimMismatch { claim }
                    if claim.starts_with("path") && capture.default_url =>
                {
                    " (--url was not given: pass the callback URL the payment was created with)"
                }
                _ => "",
            };
            VerifyError::Rejected(format!("{rejection}{hint}"))
        })?;
    let mut out = verified_json(&event);
    let signature = json!({
        "kid": claims.kid,
        "jti": claims.jti,
        "iat": claims.iat.format(&Rfc3339).ok(),
        "sub": claims.sub,
        "path": claims.path,
    });
    if let Some(fields) = out.as_object_mut() {
        fields.insert("signature".to_owned(), signature);
    }
    Ok(out)
}

fn verified_json(event: &VerifiedEvent<PayconiqEvent>) -> Value {
    let data = serde_json::to_value(&event.data).unwrap_or(Value::Null);
    event_json(event, data)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use payments_core::{Currency, Money};
    use payments_payconiq::CreatePaymentRequest;
    use payments_sandbox::{DeliveryRecord, PayerAction, Sandbox};

    use super::*;
    use crate::test_support::{Files, verify_with};

    /// A callback the sandbox signed and delivered for a paid payment.
    async fn sandbox_callback(sandbox: &payments_sandbox::RunningSandbox) -> DeliveryRecord {
        let client = payments_sandbox::hooks::payconiq::client(
            sandbox,
            HttpConfig::default(),
            &format!("{}/_sandbox/sink/payconiq/cb", sandbox.base_url()),
        )
        .unwrap();
        let payment = client
            .create_payment(
                &CreatePaymentRequest::new(Money::from_minor(1250, Currency::EUR))
                    .reference("cli-unit")
                    .callback_url(format!("{}/_sandbox/sink/payconiq/cb", sandbox.base_url())),
            )
            .await
            .unwrap();
        sandbox
            .act(Provider::Payconiq, &payment.payment_id, PayerAction::Pay)
            .await
            .unwrap();
        sandbox
            .wait_for_delivery(
                |d| d.payment_id == payment.payment_id,
                Duration::from_secs(5),
            )
            .await
            .expect("the sandbox delivered the callback")
    }

    async fn check(
        delivery: &DeliveryRecord,
        body: &[u8],
        options: &[&str],
        at: time::OffsetDateTime,
    ) -> Result<Value, VerifyError> {
        let mut all = vec!["--url", delivery.url.as_str()];
        all.extend_from_slice(options);
        verify_with("payconiq", &all, &delivery.headers, body, Some(at)).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandbox_callback_verifies_and_one_changed_byte_is_rejected() {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let delivery = sandbox_callback(&sandbox).await;
        let files = Files::new("payconiq");
        let jwks = files.write("jwks.json", sandbox.keys().payconiq_jwks_json().as_bytes());
        let profile = sandbox.credentials().payconiq_profile_id.clone();
        let keys = ["--jwks", jwks.as_str(), "--profile-id", profile.as_str()];
        let now = time::OffsetDateTime::now_utc();

        let ok = check(&delivery, delivery.body.as_bytes(), &keys, now)
            .await
            .unwrap();
        assert_eq!(ok["provider"], "payconiq");
        assert_eq!(ok["authenticity"], "signed");
        assert_eq!(ok["payment_id"], delivery.payment_id.as_str());
        assert_eq!(ok["raw_status"], "SUCCEEDED");
        assert_eq!(ok["data"]["amount"], 1250);
        assert_eq!(ok["data"]["reference"], "cli-unit");
        assert_eq!(ok["signature"]["sub"], profile.as_str());
        assert_eq!(ok["signature"]["path"], delivery.url.as_str());

        let mut tampered = delivery.body.clone().into_bytes();
        let at = tampered.iter().position(u8::is_ascii_digit).unwrap();
        tampered[at] = if tampered[at] == b'9' {
            b'8'
        } else {
            tampered[at] + 1
        };
        match check(&delivery, &tampered, &keys, now).await {
            Err(VerifyError::Rejected(reason)) => {
                assert_eq!(reason, "signature does not verify");
            }
            other => panic!("a changed byte must be rejected: {other:?}"),
        }

        // The verification instant is `--at`: 26 hours later the signature is too old.
        let later = now + time::Duration::hours(26);
        match check(&delivery, delivery.body.as_bytes(), &keys, later).await {
            Err(VerifyError::Rejected(reason)) => assert!(reason.contains("old"), "{reason}"),
            other => panic!("expected too old: {other:?}"),
        }

        // Without --url: the rejection names the signed and the expected URL, and says why.
        let without_url = verify_with(
            "payconiq",
            &keys,
            &delivery.headers,
            delivery.body.as_bytes(),
            Some(now),
        )
        .await;
        match without_url {
            Err(VerifyError::Rejected(reason)) => {
                assert!(reason.contains(&delivery.url), "{reason}");
                assert!(
                    reason.contains("https://merchant.example/webhook"),
                    "{reason}"
                );
                assert!(reason.contains("--url was not given"), "{reason}");
            }
            other => panic!("expected a path mismatch: {other:?}"),
        }
        sandbox.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_key_options_are_usage_errors() {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let delivery = sandbox_callback(&sandbox).await;
        let files = Files::new("payconiq");
        let now = time::OffsetDateTime::now_utc();
        let body = delivery.body.as_bytes();
        // clap requires both key options.
        match check(&delivery, body, &["--profile-id", "p"], now).await {
            Err(VerifyError::Usage(message)) => assert!(message.contains("--jwks"), "{message}"),
            other => panic!("expected a usage error: {other:?}"),
        }
        let jwks = files.write("jwks.json", sandbox.keys().payconiq_jwks_json().as_bytes());
        match check(&delivery, body, &["--jwks", &jwks], now).await {
            Err(VerifyError::Usage(message)) => {
                assert!(message.contains("--profile-id"), "{message}")
            }
            other => panic!("expected a usage error: {other:?}"),
        }
        let junk = files.write("junk.json", b"{\"keys\":[]}");
        let keys = ["--jwks", junk.as_str(), "--profile-id", "p"];
        match check(&delivery, body, &keys, now).await {
            Err(VerifyError::Usage(message)) => assert!(message.starts_with("--jwks"), "{message}"),
            other => panic!("expected a usage error: {other:?}"),
        }
        sandbox.shutdown().await;
    }
}
