//! HUB2: its real sandbox, and offline webhook verification.
//!
//! # Against HUB2's real sandbox
//! When `HUB2_API_KEY` and `HUB2_MERCHANT_ID` are set (and `--offline` is not given), the demo
//! runs against `https://api.hub2.io` with `Environment: sandbox` (never live). Optional:
//! `HUB2_BASE_URL`, `HUB2_PAYER_MSISDN` (default `0700000000`), `HUB2_PAYER_PROVIDER` (default
//! `orange`), `HUB2_PAYER_COUNTRY` (default `CI`), `HUB2_SANDBOX_OTP` (the code sent for an `otp`
//! next action; HUB2's sandbox takes any 4 digits, default `1234`). HUB2 hosts no checkout page:
//! "payer pays" runs the attempt itself with the same hook as against the local sandbox
//! (`payments_sandbox::hooks::hub2::pay_mobile_money`), prints a next action it cannot complete
//! (a redirection URL, a USSD code) on stderr, then polls `GET /payment-intents/{id}/status?token=`
//! with the crate's rate-limit-aware poller until the intent is final or `--timeout` passes.
//! Webhooks need `PAYMENTS_DEMO_PUBLIC_URL`, a public URL forwarding to the demo's local receiver
//! (its port is random: the forwarder must send `/hub2/webhook` to it); it is registered with
//! `POST /webhooks` and its secret kept in memory only. Without it the webhook steps are
//! skipped and the reconciler establishes the status.
//!
//! # `payments webhook verify hub2`
//! `--secret FILE|env:NAME` (required: the secret `POST /webhooks` returned) and, during a
//! rotation, `--previous-secret FILE|env:NAME`. The HMAC over the raw body is checked against
//! `Hub2-Signature` (`s1`/`s0`); HUB2's scheme has no timestamp, so `--at` changes nothing (and a
//! captured delivery verifies forever: de-duplicate on the event id). `payment_id` and
//! `status` are the intent's: an attempt's `payment.succeeded` / `payment.failed` gives no
//! intent status (`null`; the attempt does not decide the intent), and its attempt is shown as
//! `attempt: {id, status, raw_status}`. Secrets and the intent token are never printed.

use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::secret::ExposeSecret;
use payments_core::webhook::WebhookVerifier;
use payments_core::{CreatePayment, PaymentProvider};
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_hub2::{DEFAULT_BASE_URL, Environment, Hub2Client, Hub2Config};
use payments_sandbox::hooks::hub2::{Hub2Hooks, MobileMoneyPayer, pay_mobile_money};
use payments_sandbox::hooks::{Connected, DynVerifier, HookError, Paid, ProviderHooks, ToPay};
use payments_sandbox::{Provider, RunningSandbox};
use serde_json::Value;

use super::{Target, env};
use crate::args::Hub2VerifyArgs;
use crate::verify::{Capture, VerifyError, event_json, read_secret};

/// HUB2's sandbox, from the environment.
struct RealHub2 {
    config: Hub2Config,
    base_url: String,
    /// The sandbox's hooks, for the secrets of the registrations and the payer.
    hooks: Hub2Hooks,
    webhooks: bool,
}

fn from_env() -> Option<RealHub2> {
    let key = env("HUB2_API_KEY")?;
    let merchant = env("HUB2_MERCHANT_ID")?;
    let base_url = env("HUB2_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
    let payer = MobileMoneyPayer {
        country: env("HUB2_PAYER_COUNTRY").unwrap_or_else(|| "CI".into()),
        provider: env("HUB2_PAYER_PROVIDER").unwrap_or_else(|| "orange".into()),
        msisdn: env("HUB2_PAYER_MSISDN").unwrap_or_else(|| "0700000000".into()),
        otp: env("HUB2_SANDBOX_OTP").unwrap_or_else(|| "1234".into()),
        poll_every: Duration::from_secs(3),
    };
    Some(RealHub2 {
        config: Hub2Config::new(key, merchant, Environment::Sandbox).base_url(&base_url),
        base_url,
        hooks: Hub2Hooks::with_payer(payer),
        webhooks: env("PAYMENTS_DEMO_PUBLIC_URL").is_some(),
    })
}

pub(super) fn real_target(public: Option<String>) -> Option<Result<Target, String>> {
    let real = from_env()?;
    Some(Ok(Target {
        provider: Provider::Hub2,
        description: format!("HUB2 sandbox ({}, Environment: sandbox)", real.base_url),
        hooks: Box::new(real),
        webhooks: public
            .ok_or_else(|| {
                "set PAYMENTS_DEMO_PUBLIC_URL: HUB2 cannot reach the local receiver".to_owned()
            })
            .map(Some),
        minor_units: super::demo_minor_units(Provider::Hub2),
        trust: None,
    }))
}

pub(super) fn real_client() -> Option<Result<Box<dyn PaymentProvider>, String>> {
    let real = from_env()?;
    Some(
        Hub2Client::new(real.config)
            .map(|c| Box::new(c) as Box<dyn PaymentProvider>)
            .map_err(|e| e.to_string()),
    )
}

impl RealHub2 {
    fn client(&self, http: HttpConfig) -> Result<Hub2Client, HookError> {
        Ok(Hub2Client::new(self.config.clone().http(http))?)
    }
}

#[payments_core::async_trait]
impl ProviderHooks for RealHub2 {
    fn provider(&self) -> Provider {
        Provider::Hub2
    }

    async fn connect(
        &self,
        _sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let client = self.client(http)?;
        let webhook = if self.webhooks {
            self.hooks.register(&client, webhook_url).await?
        } else {
            "none registered: HUB2 cannot reach the local receiver".to_owned()
        };
        Ok(Connected {
            client: Box::new(client),
            webhook,
        })
    }

    fn create_request(&self, minor_units: i64, webhook_url: &str) -> CreatePayment {
        self.hooks.create_request(minor_units, webhook_url)
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        self.hooks.verifier_for(webhook_url)
    }

    async fn pay(&self, _sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let client = self.client(payment.http.clone())?;
        pay_mobile_money(
            &client,
            &payment.checkout.payment_id,
            &self.hooks.payer,
            payment.timeout,
        )
        .await
    }
}

pub(super) async fn verify(args: &Hub2VerifyArgs, capture: &Capture) -> Result<Value, VerifyError> {
    let secret = read_secret("--secret", &args.secret)?;
    let mut verifier = Hub2WebhookVerifier::new(secret.expose_secret())
        .map_err(|e| VerifyError::Usage(format!("--secret: {e}")))?;
    if let Some(spec) = args.previous_secret.as_deref() {
        let previous = read_secret("--previous-secret", spec)?;
        verifier = verifier
            .with_previous(previous.expose_secret())
            .map_err(|e| VerifyError::Usage(format!("--previous-secret: {e}")))?;
    }
    // HUB2's scheme has no timestamp: `capture.at` has nothing to check.
    let event = verifier
        .verify(&capture.request())
        .map_err(|e| VerifyError::Rejected(e.to_string()))?;
    let data = serde_json::to_value(&event.data)
        .map_err(|e| VerifyError::Rejected(format!("the verified event cannot be shown: {e}")))?;
    let attempt = event
        .data
        .attempt()
        .zip(event.data.attempt_status())
        .map(|(payment, (status, raw))| {
            serde_json::json!({"id": payment.id, "status": status.to_string(), "raw_status": raw})
        });
    let mut out = event_json(&event, data);
    if let Some(object) = out.as_object_mut() {
        object.insert("attempt".into(), attempt.unwrap_or(Value::Null));
    }
    Ok(out)
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]
mod tests {
    use payments_hub2::testing::{WebhookSigner, event_body};
    use serde_json::json;

    use super::*;
    use crate::test_support::{Files, verify_with};

    fn headers(signature: &str) -> Vec<(String, String)> {
        vec![
            ("Content-Type".into(), "application/json".into()),
            ("Hub2-Signature".into(), signature.to_owned()),
        ]
    }

    fn body() -> Vec<u8> {
        let payment = json!({
            "id": "pay_1", "intentId": "pi_1", "status": "successful", "amount": 5000,
            "currency": "XOF", "method": "mobile_money", "country": "CI", "provider": "orange",
            "fees": [{"amount": 75, "currency": "XOF"}]
        });
        event_body(
            "evt_1",
            "payment.succeeded",
            "2026-01-01T10:00:00.000Z",
            &payment,
        )
    }

    async fn check(options: &[&str], body: &[u8], signature: &str) -> Result<Value, VerifyError> {
        verify_with("hub2", options, &headers(signature), body, None).await
    }

    #[tokio::test]
    async fn a_signed_webhook_verifies_and_a_changed_byte_does_not() {
        let secret = "whsec_cli_test_current";
        let body = body();
        let signature = WebhookSigner::new(secret).sign(&body);
        let files = Files::new("hub2");
        let file = files.write("secret", format!("{secret}\n").as_bytes());
        let out = check(&["--secret", &file], &body, &signature)
            .await
            .unwrap();
        assert_eq!(out["provider"], "hub2");
        assert_eq!(out["authenticity"], "signed");
        assert_eq!(out["event_id"], "evt_1");
        assert_eq!(out["payment_id"], "pi_1");
        // The attempt succeeded; the intent's status is not claimed by an attempt's event.
        assert_eq!(out["status"], Value::Null);
        assert_eq!(out["raw_status"], Value::Null);
        assert_eq!(out["attempt"]["id"], "pay_1");
        assert_eq!(out["attempt"]["status"], "succeeded");
        assert_eq!(out["attempt"]["raw_status"], "successful");
        assert_eq!(out["data"]["data"]["object"]["id"], "pay_1");
        assert!(!out.to_string().contains(secret));

        let mut tampered = body.clone();
        let i = tampered.iter().position(|b| *b == b'5').unwrap();
        tampered[i] = b'6';
        match check(&["--secret", &file], &tampered, &signature).await {
            Err(VerifyError::Rejected(reason)) => {
                assert_eq!(reason, "signature does not verify")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_rotation_verifies_with_the_previous_secret_option() {
        let body = body();
        let signature = WebhookSigner::new("whsec_new").sign(&body);
        let files = Files::new("hub2-rotation");
        let old = files.write("old", b"whsec_old\n");
        let new = files.write("new", b"whsec_new\n");
        assert!(matches!(
            check(&["--secret", &old], &body, &signature).await,
            Err(VerifyError::Rejected(_))
        ));
        check(
            &["--secret", &old, "--previous-secret", &new],
            &body,
            &signature,
        )
        .await
        .unwrap();
    }

    #[tokio::test]
    async fn the_secret_option_is_required_and_never_echoed() {
        let body = body();
        let signature = WebhookSigner::new("x").sign(&body);
        match check(&[], &body, &signature).await {
            Err(VerifyError::Usage(message)) => assert!(message.contains("--secret"), "{message}"),
            other => panic!("{other:?}"),
        }
        match check(&["--secret", "whsec_typed_in_place"], &body, &signature).await {
            Err(VerifyError::Usage(message)) => {
                assert!(!message.contains("whsec_typed_in_place"), "{message}");
                assert!(message.contains("env:NAME"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }
}
