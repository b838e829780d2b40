//! HUB2: the demo flow (webhook registration → intent → mobile money attempt with an OTP → signed
//! webhook → status → reconciled) and offline webhook verification.
//!
//! # Demo
//! Steps: `register webhook` (`POST /webhooks` with the receiver's URL `/hub2/webhook`; the
//! answer's secret is kept in memory only), `create` (`POST /payment-intents`, 5 000 XOF — ends in
//! 00, so the sandbox's payer waits for the demo), `payer pays` (the payer side, with the intent
//! token and no API key: an Orange Money attempt in Côte d'Ivoire, whose `otp` next action is
//! completed with `POST /payment-intents/{id}/authentication`), `webhook verified` (the received
//! `payment.succeeded`, checked from its raw bytes with the crate's `Hub2WebhookVerifier` and the
//! registration's secret), `status fetched` (`GET /payment-intents/{id}`), `reconciled` (intent
//! id, amount, currency and purchase reference of the fetched intent and of the webhook's
//! payment against the order, status `successful`). The webhook is deleted afterwards.
//!
//! # Against HUB2's real sandbox
//! When `HUB2_API_KEY` and `HUB2_MERCHANT_ID` are set (and `--offline` is not given), the demo
//! runs against `https://api.hub2.io` with `Environment: sandbox` (never live). Optional:
//! `HUB2_BASE_URL`, `HUB2_PAYER_MSISDN` (default `0700000000`), `HUB2_PAYER_PROVIDER` (default
//! `orange`), `HUB2_PAYER_COUNTRY` (default `CI`), `HUB2_SANDBOX_OTP` (the code sent for an `otp`
//! next action; HUB2's sandbox takes any 4 digits, default `1234`). HUB2 hosts no checkout page:
//! "payer pays" runs the attempt itself, prints the next action (a redirection URL, a USSD code,
//! or the OTP it sends) on stderr, then polls `GET /payment-intents/{id}/status?token=` with the
//! crate's rate-limit-aware poller until the intent is final or `--timeout` passes. Webhooks need
//! `PAYMENTS_DEMO_PUBLIC_URL`, a public URL forwarding to the demo's local receiver (its port is
//! random: the forwarder must send `/hub2/webhook` to it); without it the webhook steps are
//! skipped. This mode cannot be tested offline.
//!
//! # `payments webhook verify --provider hub2`
//! `--secret FILE|env:NAME` (required: the secret `POST /webhooks` returned) and, during a
//! rotation, `--previous-secret FILE|env:NAME`. The HMAC over the raw body is checked against
//! `Hub2-Signature` (`s1`/`s0`); HUB2's scheme has no timestamp, so `--at` changes nothing (and a
//! captured delivery verifies forever: de-duplicate on the event id). `payment_id` and
//! `status` are the intent's: an attempt's `payment.succeeded` / `payment.failed` gives no
//! intent status (`null`; the attempt does not decide the intent), and its attempt is shown as
//! `attempt: {id, status, raw_status}`. Secrets and the intent token are never printed.

use std::time::Duration;

use payments_core::webhook::WebhookVerifier;
use payments_core::{Currency, Money};
use payments_hub2::poll::PollPolicy;
use payments_hub2::webhook::{EventData, Hub2WebhookVerifier};
use payments_hub2::{
    AttemptRequest, CreateIntentRequest, CreateWebhookRequest, DEFAULT_BASE_URL, Environment,
    Hub2Client, Hub2Config, IntentStatus, NextAction, PayerCredentials, PaymentIntent,
};
use payments_sandbox::{Provider, SANDBOX_OTP};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::verify::{VerifyError, VerifyInput, event_json, read_secret};

/// The order: 5 000 XOF (no minor unit; ends in 00, so no magic outcome).
const DEMO_XOF: i64 = 5_000;
/// Where the receiver takes HUB2's webhooks.
const WEBHOOK_PATH: &str = "/hub2/webhook";
/// The documented event types the demo subscribes to.
const EVENTS: [&str; 4] = [
    "payment_intent.created",
    "payment.action_required",
    "payment.succeeded",
    "payment.failed",
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Where the flow runs and with what.
struct Target {
    client: Hub2Client,
    /// The URL to register, `None` (with the reason) when webhooks cannot reach the receiver.
    webhook_url: Result<String, String>,
    msisdn: String,
    provider: String,
    country: String,
    /// The code sent for an `otp` next action.
    otp: String,
    real: bool,
}

fn target(ctx: &DemoContext<'_>) -> Result<Target, String> {
    let real = !ctx.offline && env("HUB2_API_KEY").is_some() && env("HUB2_MERCHANT_ID").is_some();
    let http = payments_core::http::HttpConfig::default().request_timeout(Duration::from_secs(15));
    if real {
        let key = env("HUB2_API_KEY").unwrap_or_default();
        let merchant = env("HUB2_MERCHANT_ID").unwrap_or_default();
        let base = env("HUB2_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let client = Hub2Client::new(
            Hub2Config::new(key, merchant, Environment::Sandbox)
                .base_url(base)
                .http(http),
        )
        .map_err(|e| e.to_string())?;
        let webhook_url = env("PAYMENTS_DEMO_PUBLIC_URL")
            .map(|public| format!("{}{WEBHOOK_PATH}", public.trim_end_matches('/')))
            .ok_or_else(|| {
                "PAYMENTS_DEMO_PUBLIC_URL is not set: HUB2 cannot reach the local receiver"
                    .to_owned()
            });
        return Ok(Target {
            client,
            webhook_url,
            msisdn: env("HUB2_PAYER_MSISDN").unwrap_or_else(|| "0700000000".into()),
            provider: env("HUB2_PAYER_PROVIDER").unwrap_or_else(|| "orange".into()),
            country: env("HUB2_PAYER_COUNTRY").unwrap_or_else(|| "CI".into()),
            otp: env("HUB2_SANDBOX_OTP").unwrap_or_else(|| "1234".into()),
            real,
        });
    }
    let credentials = ctx.sandbox.credentials();
    let client = Hub2Client::new(
        Hub2Config::new(
            credentials.hub2_api_key.clone(),
            credentials.hub2_merchant_id.clone(),
            Environment::Sandbox,
        )
        .base_url(ctx.sandbox.provider_url(Provider::Hub2))
        .http(http),
    )
    .map_err(|e| e.to_string())?;
    Ok(Target {
        client,
        webhook_url: Ok(ctx.receiver.url(WEBHOOK_PATH)),
        msisdn: "0700000000".into(),
        provider: "orange".into(),
        country: "CI".into(),
        otp: SANDBOX_OTP.into(),
        real,
    })
}

pub(crate) async fn demo(ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<(), Failed> {
    let target = match target(ctx) {
        Ok(target) => target,
        Err(cause) => {
            return flow
                .step::<(), _>("create", async { Err(cause) })
                .await
                .map(drop);
        }
    };
    if target.real {
        flow.set_target(format!(
            "HUB2 sandbox ({}, Environment: sandbox)",
            env("HUB2_BASE_URL").unwrap_or_else(|| DEFAULT_BASE_URL.to_owned())
        ));
    }
    let webhook = match &target.webhook_url {
        Ok(url) => Some(
            flow.step("register webhook", register(&target.client, url))
                .await?,
        ),
        Err(why) => {
            flow.skip("register webhook", why.clone());
            None
        }
    };
    let result = run(ctx, flow, &target, webhook.as_ref()).await;
    if let Some((id, _)) = &webhook {
        // Best effort: leave no webhook behind (the sandbox forgets it anyway).
        let _ = target.client.delete_webhook(id).await;
    }
    result
}

async fn register(
    client: &Hub2Client,
    url: &str,
) -> Result<((String, SecretString), String), String> {
    let webhook = client
        .create_webhook(&CreateWebhookRequest::new(url, EVENTS).description("payments demo"))
        .await
        .map_err(|e| e.to_string())?;
    let secret = webhook
        .secret
        .as_ref()
        .map(|s| {
            SecretString::from(payments_core::secret::ExposeSecret::expose_secret(s).to_owned())
        })
        .ok_or("the registration answer holds no secret")?;
    let detail = format!(
        "{} → {url} ({} events, secret kept)",
        webhook.id,
        EVENTS.len()
    );
    Ok(((webhook.id, secret), detail))
}

async fn run(
    ctx: &DemoContext<'_>,
    flow: &mut Flow,
    target: &Target,
    webhook: Option<&(String, SecretString)>,
) -> Result<(), Failed> {
    let client = &target.client;
    let reference = ctx.run_id.clone();
    let intent = flow
        .step("create", async {
            let intent = client
                .create_intent(&CreateIntentRequest::new(
                    Money::from_minor(DEMO_XOF, Currency::XOF),
                    "demo-customer",
                    reference.clone(),
                ))
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!(
                "{} {} {} {}",
                intent.id, intent.amount, intent.currency, intent.status
            );
            Ok((intent, detail))
        })
        .await?;

    let attempt_id = flow.step("payer pays", pay(ctx, target, &intent)).await?;

    let event_payment = match webhook {
        Some((_, secret)) => Some(
            flow.step("webhook verified", async {
                let received = ctx
                    .receiver
                    .wait(
                        |r| {
                            r.path() == WEBHOOK_PATH && {
                                let body: Value =
                                    serde_json::from_slice(&r.body).unwrap_or_default();
                                body.get("type").and_then(Value::as_str)
                                    == Some("payment.succeeded")
                                    && body.pointer("/data/intentId").and_then(Value::as_str)
                                        == Some(intent.id.as_str())
                            }
                        },
                        ctx.timeout,
                    )
                    .await
                    .ok_or_else(|| {
                        format!(
                            "no payment.succeeded webhook within {} s",
                            ctx.timeout.as_secs()
                        )
                    })?;
                let verifier =
                    Hub2WebhookVerifier::new(secret.expose_secret()).map_err(|e| e.to_string())?;
                let event = verifier
                    .verify(&received.request())
                    .map_err(|e| format!("rejected: {e}"))?;
                let EventData::Payment(payment) = event.data.data.clone() else {
                    return Err("the event does not carry a payment".to_owned());
                };
                let detail = format!(
                    "{} {} signed, payment {} {}",
                    event.event_type.as_deref().unwrap_or("?"),
                    event.event_id,
                    payment.id,
                    payment.status
                );
                Ok((payment, detail))
            })
            .await?,
        ),
        None => {
            flow.skip(
                "webhook verified",
                "no webhook registered (set PAYMENTS_DEMO_PUBLIC_URL)",
            );
            None
        }
    };

    let fetched = flow
        .step("status fetched", async {
            let fetched = client
                .get_intent(&intent.id)
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!("{} ({} attempt(s))", fetched.status, fetched.payments.len());
            Ok((fetched, detail))
        })
        .await?;

    flow.step("reconciled", async {
        let mut problems = Vec::new();
        if fetched.id != intent.id {
            problems.push(format!("id {} ≠ {}", fetched.id, intent.id));
        }
        if fetched.money() != Some(Money::from_minor(DEMO_XOF, Currency::XOF)) {
            problems.push(format!(
                "amount {} {} ≠ {DEMO_XOF} XOF",
                fetched.amount, fetched.currency
            ));
        }
        if fetched.purchase_reference.as_deref() != Some(reference.as_str()) {
            problems.push(format!(
                "purchaseReference {:?} ≠ {reference}",
                fetched.purchase_reference
            ));
        }
        if fetched.status != IntentStatus::Successful {
            problems.push(format!("status {} is not successful", fetched.status));
        }
        if let Some(payment) = &event_payment {
            if payment.id != attempt_id {
                problems.push(format!(
                    "webhook payment {} ≠ attempt {attempt_id}",
                    payment.id
                ));
            }
            if payment.amount != Some(DEMO_XOF) || payment.currency.as_deref() != Some("XOF") {
                problems.push(format!(
                    "webhook amount {:?} {:?} ≠ {DEMO_XOF} XOF",
                    payment.amount, payment.currency
                ));
            }
            if payment.intent_id.as_deref() != Some(intent.id.as_str()) {
                problems.push("webhook intentId differs".to_owned());
            }
        }
        if problems.is_empty() {
            let detail = format!("{} {DEMO_XOF} XOF ref {reference} successful", fetched.id);
            Ok(((), detail))
        } else {
            Err(problems.join("; "))
        }
    })
    .await
}

/// The payer side: attempt, complete the next action, wait until final. Yields the attempt id.
async fn pay(
    ctx: &DemoContext<'_>,
    target: &Target,
    intent: &PaymentIntent,
) -> Result<(String, String), String> {
    let credentials =
        PayerCredentials::from_intent(intent).ok_or("the created intent has no token")?;
    let payer = target
        .client
        .payer(credentials)
        .map_err(|e| e.to_string())?;
    let attempted = payer
        .attempt(&AttemptRequest::mobile_money(
            target.country.clone(),
            target.provider.clone(),
            target.msisdn.clone(),
        ))
        .await
        .map_err(|e| e.to_string())?;
    let attempt = attempted
        .latest_payment()
        .ok_or("the attempt answer holds no payment")?
        .id
        .clone();
    let mut path = format!("{} {}", target.provider, target.country);
    let mut status = attempted.status.clone();
    match attempted.next_action() {
        Some(NextAction::Otp { .. }) => {
            if target.real {
                eprintln!("[hub2] OTP next action: sending the sandbox code");
            }
            status = payer
                .authenticate(&target.otp)
                .await
                .map_err(|e| e.to_string())?
                .status;
            path.push_str(": otp → authenticated");
        }
        Some(NextAction::Redirection { redirection, .. }) => {
            eprintln!("[hub2] pay at: {}", redirection.url);
            path.push_str(": redirection");
        }
        Some(other) => {
            eprintln!(
                "[hub2] payer action ({}): {}",
                other.kind(),
                other.message().unwrap_or("")
            );
            path.push_str(&format!(": {}", other.kind()));
        }
        None => {}
    }
    if status.is_pollable() {
        let policy = PollPolicy::default()
            .interval(if target.real {
                Duration::from_secs(3)
            } else {
                Duration::from_secs(1)
            })
            .max_duration(ctx.timeout);
        status = payer
            .poll_status(status, &policy)
            .await
            .map_err(|e| e.to_string())?
            .status;
    }
    if status != IntentStatus::Successful {
        return Err(format!("{attempt} {path}: intent {status}, not successful"));
    }
    Ok((attempt.clone(), format!("{attempt} {path} → {status}")))
}

pub(crate) async fn verify(input: &VerifyInput) -> Result<Value, VerifyError> {
    let spec = input.args.secret.as_deref().ok_or_else(|| {
        VerifyError::Usage(
            "--secret FILE|env:NAME is required for hub2 (the secret POST /webhooks returned)"
                .to_owned(),
        )
    })?;
    let secret = read_secret("--secret", spec)?;
    let mut verifier = Hub2WebhookVerifier::new(secret.expose_secret())
        .map_err(|e| VerifyError::Usage(format!("--secret: {e}")))?;
    if let Some(spec) = input.args.previous_secret.as_deref() {
        let previous = read_secret("--previous-secret", spec)?;
        verifier = verifier
            .with_previous(previous.expose_secret())
            .map_err(|e| VerifyError::Usage(format!("--previous-secret: {e}")))?;
    }
    // HUB2's scheme has no timestamp: `input.at` has nothing to check.
    let event = verifier
        .verify(&input.request())
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
    use std::path::PathBuf;

    use payments_hub2::testing::{WebhookSigner, event_body};
    use serde_json::json;

    use super::*;
    use crate::args::VerifyArgs;

    fn args(secret: Option<String>, previous: Option<String>) -> Box<VerifyArgs> {
        Box::new(VerifyArgs {
            provider: "hub2".into(),
            body: PathBuf::from("-"),
            headers: Vec::new(),
            url: "https://merchant.example/webhook".into(),
            method: "POST".into(),
            at: None,
            jwks: None,
            profile_id: None,
            private_key: None,
            app_id: None,
            secret,
            previous_secret: previous,
            guard_secret: None,
            previous_guard_secret: None,
            guard_param: None,
            basic_auth: None,
        })
    }

    fn secret_file(name: &str, secret: &str) -> String {
        let path =
            std::env::temp_dir().join(format!("payments-cli-hub2-{}-{name}", std::process::id()));
        std::fs::write(&path, format!("{secret}\n")).unwrap();
        path.to_string_lossy().into_owned()
    }

    fn input(args: Box<VerifyArgs>, body: Vec<u8>, signature: &str) -> VerifyInput {
        VerifyInput {
            args,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Hub2-Signature".into(), signature.to_owned()),
            ],
            body,
            at: time::OffsetDateTime::now_utc(),
        }
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

    #[tokio::test]
    async fn a_signed_webhook_verifies_and_a_changed_byte_does_not() {
        let secret = "whsec_cli_test_current";
        let body = body();
        let signature = WebhookSigner::new(secret).sign(&body);
        let file = secret_file("ok", secret);
        let out = verify(&input(
            args(Some(file.clone()), None),
            body.clone(),
            &signature,
        ))
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
        match verify(&input(args(Some(file), None), tampered, &signature)).await {
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
        let old = secret_file("old", "whsec_old");
        let new = secret_file("new", "whsec_new");
        assert!(matches!(
            verify(&input(
                args(Some(old.clone()), None),
                body.clone(),
                &signature
            ))
            .await,
            Err(VerifyError::Rejected(_))
        ));
        verify(&input(args(Some(old), Some(new)), body, &signature))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_secret_option_is_required() {
        let body = body();
        let signature = WebhookSigner::new("x").sign(&body);
        match verify(&input(args(None, None), body, &signature)).await {
            Err(VerifyError::Usage(message)) => assert!(message.contains("--secret"), "{message}"),
            other => panic!("{other:?}"),
        }
    }
}
