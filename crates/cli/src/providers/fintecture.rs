//! Fintecture: its real sandbox, and offline webhook verification.
//!
//! # Against Fintecture's sandbox
//! With `FINTECTURE_APP_ID`, `FINTECTURE_APP_SECRET` and `FINTECTURE_PRIVATE_KEY_FILE` (the
//! application's private key, PEM) in the environment and no `--offline`, the demo runs against
//! `https://api-sandbox.fintecture.com`. `FINTECTURE_REDIRECT_URI` is the redirect URI registered
//! in the Fintecture console (default: `$PAYMENTS_DEMO_PUBLIC_URL/fintecture/return`). "payer
//! pays" prints the Connect URL on stderr (open it and pay with a sandbox bank) and polls the
//! session until it is final or `--timeout` passes. Webhooks need `PAYMENTS_DEMO_PUBLIC_URL`, a
//! public URL forwarding to the demo's local receiver (its port is random), configured in the
//! Fintecture console as `$PAYMENTS_DEMO_PUBLIC_URL/fintecture/webhook`; without it the webhook
//! steps are skipped, saying why, and the reconciler establishes the status. Against the
//! sandbox the flow runs on `payments_sandbox::hooks::fintecture` (the Connect page, then the
//! redirect bound to the stored session).
//!
//! # `payments webhook verify fintecture`
//! `--private-key FILE` (the application private key the webhook was encrypted for, PEM PKCS#8
//! or PKCS#1) and `--app-id ID` (the expected `keyId`) are required. The webhook is verified by
//! the crate's verifier as of `--at` (default now) with its injectable clock, within its default
//! freshness window (72 hours: Fintecture's retries may carry the first attempt's `Date`); the
//! output's `data` is the verified event's fields.

use std::sync::Arc;
use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::webhook::{FixedClock, WebhookVerifier};
use payments_core::{CreatePayment, PaymentProvider};
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{Environment, FintectureClient, FintectureConfig};
use payments_sandbox::hooks::fintecture::FintectureHooks;
use payments_sandbox::hooks::{
    Connected, DynVerifier, HookError, Paid, ProviderHooks, ToPay, erase,
};
use payments_sandbox::{Provider, RunningSandbox};
use serde_json::Value;

use super::{Target, env, pay_by_polling};
use crate::args::FintectureVerifyArgs;
use crate::verify::{Capture, VerifyError, event_json, read_file};

/// How often the real session is polled while the payer pays.
const POLL_EVERY: Duration = Duration::from_secs(3);

/// Fintecture's sandbox, from the environment.
struct RealFintecture {
    config: FintectureConfig,
    redirect_uri: String,
    webhooks: bool,
}

/// The real-sandbox configuration, if any variable is set: `Err` names what is missing.
fn from_env() -> Option<Result<RealFintecture, String>> {
    let names = [
        "FINTECTURE_APP_ID",
        "FINTECTURE_APP_SECRET",
        "FINTECTURE_PRIVATE_KEY_FILE",
    ];
    let values: Vec<Option<String>> = names.iter().map(|n| env(n)).collect();
    if values.iter().all(Option::is_none) {
        return None;
    }
    let missing: Vec<&str> = names
        .iter()
        .zip(&values)
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
    let [Some(app_id), Some(secret), Some(key_file)] = values.as_slice() else {
        return Some(Err(format!(
            "incomplete Fintecture credentials: set {} too (or run with --offline)",
            missing.join(", ")
        )));
    };
    let pem = match std::fs::read_to_string(key_file) {
        Ok(pem) => pem,
        Err(e) => {
            return Some(Err(format!(
                "FINTECTURE_PRIVATE_KEY_FILE: cannot read {key_file}: {e}"
            )));
        }
    };
    let public = env("PAYMENTS_DEMO_PUBLIC_URL");
    let redirect_uri = env("FINTECTURE_REDIRECT_URI").or_else(|| {
        public
            .as_ref()
            .map(|u| format!("{}/fintecture/return", u.trim_end_matches('/')))
    });
    let Some(redirect_uri) = redirect_uri else {
        return Some(Err(
            "set FINTECTURE_REDIRECT_URI (a redirect URI registered in the Fintecture console)"
                .to_owned(),
        ));
    };
    Some(Ok(RealFintecture {
        config: FintectureConfig::new(app_id, secret, pem, Environment::Sandbox),
        redirect_uri,
        webhooks: public.is_some(),
    }))
}

pub(super) fn real_target(public: Option<String>) -> Option<Result<Target, String>> {
    Some(from_env()?.map(|real| {
        Target {
        provider: Provider::Fintecture,
        description: format!(
            "Fintecture sandbox ({})",
            Environment::Sandbox.api_base_url()
        ),
        webhooks: public.ok_or_else(|| {
            "set PAYMENTS_DEMO_PUBLIC_URL (a public URL forwarding to the local receiver) and \
             configure $PAYMENTS_DEMO_PUBLIC_URL/fintecture/webhook in the console"
                .to_owned()
        })
        .map(Some),
        hooks: Box::new(real),
        minor_units: super::demo_minor_units(Provider::Fintecture),
        trust: None,
    }
    }))
}

pub(super) fn real_client() -> Option<Result<Box<dyn PaymentProvider>, String>> {
    Some(from_env()?.and_then(|real| {
        FintectureClient::new(real.config)
            .map(|c| Box::new(c) as Box<dyn PaymentProvider>)
            .map_err(|e| e.to_string())
    }))
}

impl RealFintecture {
    fn client(&self, http: HttpConfig) -> Result<FintectureClient, HookError> {
        Ok(FintectureClient::new(self.config.clone().http(http))?)
    }
}

#[payments_core::async_trait]
impl ProviderHooks for RealFintecture {
    fn provider(&self) -> Provider {
        Provider::Fintecture
    }

    async fn connect(
        &self,
        _sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let webhook = if self.webhooks {
            format!("console setting (configure it there): {webhook_url}")
        } else {
            "none: webhooks cannot reach the local receiver".to_owned()
        };
        Ok(Connected {
            client: Box::new(self.client(http)?),
            webhook,
        })
    }

    fn create_request(&self, minor_units: i64, webhook_url: &str) -> CreatePayment {
        FintectureHooks {
            return_url: self.redirect_uri.clone(),
        }
        .create_request(minor_units, webhook_url)
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        _webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        let client = self.client(HttpConfig::default())?;
        Ok(erase(FintectureWebhookVerifier::new(WebhookSettings::new(
            client.app_id(),
            client.private_key(),
        ))))
    }

    /// The payer is a person at a sandbox bank; the return to the redirect URI is not
    /// captured here, so the session is polled.
    async fn pay(&self, _sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let client = self.client(payment.http.clone())?;
        pay_by_polling(&client, payment.checkout, payment.timeout, POLL_EVERY).await
    }
}

pub(super) async fn verify(
    args: &FintectureVerifyArgs,
    capture: &Capture,
) -> Result<Value, VerifyError> {
    let pem = read_file("--private-key", &args.private_key)?;
    let key = AppPrivateKey::from_pem(&pem)
        .map_err(|e| VerifyError::Usage(format!("--private-key: {e}")))?;
    let settings = WebhookSettings::new(&args.app_id, Arc::new(key))
        .clock(Arc::new(FixedClock::new(capture.at)));
    let event = FintectureWebhookVerifier::new(settings)
        .verify(&capture.request())
        .map_err(|rejection| VerifyError::Rejected(rejection.to_string()))?;
    let data = serde_json::to_value(&event.data).unwrap_or(Value::Null);
    Ok(event_json(&event, data))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use payments_core::{Currency, Money, PaymentStatus};
    use payments_fintecture::ConnectRequest;
    use payments_sandbox::{DeliveryRecord, PayerAction, Sandbox};

    use super::*;
    use crate::test_support::{Files, verify_with};

    /// A webhook the sandbox delivered for a paid session, and its private key PEM.
    async fn captured() -> (DeliveryRecord, String, String) {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        sandbox.set_webhook_url(
            Provider::Fintecture,
            Some(format!("{}/_sandbox/sink/fintecture", sandbox.base_url())),
        );
        let pem = payments_sandbox::hooks::fintecture::private_key_pem(&sandbox).unwrap();
        let client =
            payments_sandbox::hooks::fintecture::client(&sandbox, HttpConfig::default()).unwrap();
        let id = client
            .connect(&ConnectRequest::new(
                Money::from_minor(27_300, Currency::EUR),
                "order-7",
                "order-7",
                "https://shop.example/return",
            ))
            .await
            .unwrap()
            .meta
            .session_id;
        sandbox
            .act(Provider::Fintecture, &id, PayerAction::Pay)
            .await
            .unwrap();
        let delivery = sandbox
            .wait_for_delivery(|d| d.payment_id == id, Duration::from_secs(10))
            .await
            .unwrap();
        let app_id = sandbox.credentials().fintecture_app_id.clone();
        (delivery, pem, app_id)
    }

    async fn check(
        options: &[&str],
        delivery: &DeliveryRecord,
        body: &[u8],
        at: Option<time::OffsetDateTime>,
    ) -> Result<Value, VerifyError> {
        verify_with("fintecture", options, &delivery.headers, body, at).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandbox_webhook_verifies_and_one_changed_byte_is_rejected() {
        let (delivery, pem, app_id) = captured().await;
        let files = Files::new("fintecture");
        let key = files.write("key.pem", pem.as_bytes());
        let options = ["--private-key", key.as_str(), "--app-id", app_id.as_str()];
        let body = delivery.body.as_bytes();

        let ok = check(&options, &delivery, body, None).await.unwrap();
        assert_eq!(ok["provider"], "fintecture");
        assert_eq!(ok["authenticity"], "signed");
        assert_eq!(ok["raw_status"], "payment_created");
        assert_eq!(ok["status"], PaymentStatus::Succeeded.to_string());
        assert_eq!(ok["payment_id"], delivery.payment_id);
        assert_eq!(ok["data"]["state"], "order-7");
        assert_eq!(ok["data"]["amount"], "273.00");
        assert!(!ok.to_string().contains("PRIVATE KEY"));

        let mut tampered = body.to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        match check(&options, &delivery, &tampered, None).await {
            Err(VerifyError::Rejected(reason)) => assert_eq!(reason, "body digest mismatch"),
            other => panic!("{other:?}"),
        }

        let wrong_app = ["--private-key", key.as_str(), "--app-id", "another-app"];
        match check(&wrong_app, &delivery, body, None).await {
            Err(VerifyError::Rejected(reason)) => assert!(reason.contains("keyId"), "{reason}"),
            other => panic!("{other:?}"),
        }

        // Verified as of four days later: older than the 72-hour window.
        let late = time::OffsetDateTime::now_utc() + time::Duration::days(4);
        match check(&options, &delivery, body, Some(late)).await {
            Err(VerifyError::Rejected(reason)) => assert!(reason.contains("old"), "{reason}"),
            other => panic!("{other:?}"),
        }

        // Another key: the signature cannot be decrypted.
        let other = AppPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
        let other_key = files.write(
            "other.pem",
            secrecy::ExposeSecret::expose_secret(&other).as_bytes(),
        );
        let other_options = [
            "--private-key",
            other_key.as_str(),
            "--app-id",
            app_id.as_str(),
        ];
        match check(&other_options, &delivery, body, None).await {
            Err(VerifyError::Rejected(reason)) => {
                assert_eq!(reason, "signature could not be decrypted")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_or_unreadable_key_options_are_usage_errors() {
        let (delivery, pem, app_id) = captured().await;
        let body = delivery.body.as_bytes();
        match check(&["--app-id", &app_id], &delivery, body, None).await {
            Err(VerifyError::Usage(m)) => assert!(m.contains("--private-key"), "{m}"),
            other => panic!("{other:?}"),
        }
        let files = Files::new("fintecture-usage");
        let key = files.write("key.pem", pem.as_bytes());
        match check(&["--private-key", &key], &delivery, body, None).await {
            Err(VerifyError::Usage(m)) => assert!(m.contains("--app-id"), "{m}"),
            other => panic!("{other:?}"),
        }
        let not_a_key = files.write("garbage.pem", b"not a key");
        let garbage = [
            "--private-key",
            not_a_key.as_str(),
            "--app-id",
            app_id.as_str(),
        ];
        match check(&garbage, &delivery, body, None).await {
            Err(VerifyError::Usage(m)) => assert!(m.starts_with("--private-key"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
