//! Payconiq: the demo flow (create → payer pays → signed callback verified → status fetched →
//! reconciled) and offline callback verification.
//!
//! # Demo
//! A €12.50 payment (the amount ends in 50: the sandbox's payer waits for the demo) with the run
//! id as `reference` and the local receiver's `/payconiq/callback` as `callbackUrl`. The
//! simulated payer pays through the sandbox's control API; the callback is verified from the raw
//! bytes received with the crate's [`JwksCallbackVerifier`], its keys fetched by the crate's
//! [`JwksFetcher`] from the sandbox's JWKS URL (as from `jwks.preprod.bancontact.net` in real
//! life), the signed `sub` checked against the payment profile id and the signed `path` against
//! the callback URL. `reconciled` compares the fetched payment and the verified callback with the
//! order: payment id, amount (exact cents), currency, reference, status `Succeeded`.
//!
//! # Against Payconiq's pre-production platform
//! When `PAYCONIQ_API_KEY` is set (and `--offline` is not given), the same flow runs against
//! `https://merchant.api.preprod.bancontact.net/v3` (override with `PAYCONIQ_BASE_URL`). "payer
//! pays" prints the payment's deeplink and QR code link on stderr (pay it with the Payconiq
//! pre-production app) and polls the payment until it is final or `--timeout` passes. The
//! callback needs `PAYMENTS_DEMO_PUBLIC_URL`, a public https URL that forwards to the demo's local
//! webhook receiver (its port is random and printed on stderr; `/payconiq/callback` must reach
//! it), and `PAYCONIQ_PROFILE_ID`, the payment profile id Payconiq signs as `sub`; the key set is
//! fetched from `https://jwks.preprod.bancontact.net/` (override with `PAYCONIQ_JWKS_URL`).
//! Without them the `webhook verified` step is skipped, saying why. This mode needs the internet
//! and a Payconiq account: it is not exercised by the tests.
//!
//! # `payments webhook verify --provider payconiq`
//! `--jwks FILE` (the key set, JWKS JSON: the sandbox's is at its `jwks_url`), `--profile-id ID`
//! (the expected `sub`) and `--url URL` (the callback URL the payment was created with: the signed
//! `path`) are checked with the crate's offline [`CallbackVerifier`], as of `--at` (default now)
//! with the crate's injectable clock, within its 25-hour window (Payconiq retries the identical
//! request for 24 hours). The output adds the signed claims (`kid`, `jti`, `iat`, `sub`, `path`).

use std::sync::Arc;
use std::time::Duration;

use payments_core::webhook::{AsyncWebhookVerifier, FixedClock, VerifiedEvent};
use payments_core::{Currency, Money, PaymentStatus};
use payments_payconiq::convert::unified_status;
use payments_payconiq::jwks::{JwksCallbackVerifier, JwksFetcher};
use payments_payconiq::webhook::{Callback, CallbackSettings, CallbackVerifier, JwkSet};
use payments_payconiq::{
    CreatePaymentRequest, Environment, PayconiqClient, PayconiqConfig, PayconiqPayment,
};
use payments_sandbox::{PayerAction, Provider};
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::verify::{VerifyError, VerifyInput, event_json, read_file};

/// The order: €12.50, in cents.
const DEMO_CENTS: i64 = 1_250;
/// Where the receiver takes Payconiq's callbacks.
const CALLBACK_PATH: &str = "/payconiq/callback";
/// How often the real payment is polled while the payer pays.
const POLL_EVERY: Duration = Duration::from_secs(2);

/// Where the flow runs and with what.
struct Target {
    client: PayconiqClient,
    /// The callback URL given at creation (the signed `path`), if callbacks can reach the demo.
    callback_url: Option<String>,
    /// Verifies the callbacks; `None` when they cannot be received or checked.
    verifier: Option<JwksCallbackVerifier>,
    /// Why there is no callback step (real mode only).
    no_webhook: Option<String>,
    real: bool,
    /// Where the flow runs, for the table.
    description: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn verifier(
    profile_id: &str,
    callback_url: &str,
    jwks_url: &str,
) -> Result<JwksCallbackVerifier, String> {
    let fetcher = JwksFetcher::new(jwks_url, &JwksFetcher::default_http())
        .map_err(|e| format!("JWKS fetcher: {e}"))?;
    Ok(JwksCallbackVerifier::new(
        CallbackSettings::new(profile_id, callback_url),
        fetcher,
    ))
}

fn sandbox_target(ctx: &DemoContext<'_>) -> Result<Target, String> {
    let info = ctx
        .sandbox
        .info()
        .pointer("/providers/payconiq")
        .cloned()
        .unwrap_or(Value::Null);
    let field = |key: &str| {
        info.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the sandbox does not describe payconiq's {key}"))
    };
    let credentials = ctx.sandbox.credentials();
    let client = PayconiqClient::new(
        PayconiqConfig::new(
            credentials.payconiq_api_key.clone(),
            Environment::PreProduction,
        )
        .base_url(field("api_base_url")?),
    )
    .map_err(|e| e.to_string())?;
    let callback_url = ctx.receiver.url(CALLBACK_PATH);
    let api_base_url = field("api_base_url")?;
    let verifier = verifier(
        &credentials.payconiq_profile_id,
        &callback_url,
        &field("jwks_url")?,
    )?;
    Ok(Target {
        client,
        callback_url: Some(callback_url),
        verifier: Some(verifier),
        no_webhook: None,
        real: false,
        description: format!("sandbox ({api_base_url})"),
    })
}

/// The real pre-production target, when `PAYCONIQ_API_KEY` is set.
fn real_target(ctx: &DemoContext<'_>) -> Option<Result<Target, String>> {
    let api_key = env("PAYCONIQ_API_KEY")?;
    let build = || {
        let mut config = PayconiqConfig::new(api_key, Environment::PreProduction);
        if let Some(url) = env("PAYCONIQ_BASE_URL") {
            config = config.base_url(url);
        }
        let description = format!("Payconiq pre-production ({})", config.effective_base_url());
        let client = PayconiqClient::new(config).map_err(|e| e.to_string())?;
        let public = env("PAYMENTS_DEMO_PUBLIC_URL");
        let profile = env("PAYCONIQ_PROFILE_ID");
        let (callback_url, verifier, no_webhook) = match (public, profile) {
            (Some(public), Some(profile)) => {
                let url = format!("{}{CALLBACK_PATH}", public.trim_end_matches('/'));
                let jwks = env("PAYCONIQ_JWKS_URL")
                    .unwrap_or_else(|| Environment::PreProduction.jwks_url().to_owned());
                eprintln!(
                    "[payconiq] callbacks: {url} must forward to {}",
                    ctx.receiver.url(CALLBACK_PATH)
                );
                let v = verifier(&profile, &url, &jwks)?;
                (Some(url), Some(v), None)
            }
            (None, _) => (
                None,
                None,
                Some("set PAYMENTS_DEMO_PUBLIC_URL (a public URL forwarding to the receiver)"),
            ),
            (_, None) => (
                None,
                None,
                Some("set PAYCONIQ_PROFILE_ID (the payment profile id Payconiq signs as sub)"),
            ),
        };
        Ok(Target {
            client,
            callback_url,
            verifier,
            no_webhook: no_webhook.map(str::to_owned),
            real: true,
            description,
        })
    };
    Some(build())
}

fn euros(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, (cents % 100).abs())
}

pub(crate) async fn demo(ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<(), Failed> {
    let target = match (!ctx.offline).then(|| real_target(ctx)).flatten() {
        Some(real) => real,
        None => sandbox_target(ctx),
    };
    let target = match target {
        Ok(target) => target,
        Err(cause) => {
            return flow
                .step::<(), _>("create", async move { Err(cause) })
                .await;
        }
    };
    flow.set_target(target.description.clone());
    let client = &target.client;
    let reference = ctx.run_id.clone();

    let created = flow
        .step("create", async {
            let mut request =
                CreatePaymentRequest::new(Money::from_minor(DEMO_CENTS, Currency::EUR))
                    .reference(&reference)
                    .description("payments demo");
            if let Some(url) = &target.callback_url {
                request = request.callback_url(url);
            }
            let payment = client
                .create_payment(&request)
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!(
                "payment {} {}, {} EUR, reference {reference}",
                payment.payment_id,
                payment.status,
                euros(DEMO_CENTS)
            );
            Ok((payment, detail))
        })
        .await?;
    let id = created.payment_id.clone();

    flow.step("payer pays", async {
        if target.real {
            pay_for_real(client, &created, ctx.timeout).await
        } else {
            let view = ctx
                .sandbox
                .act(Provider::Payconiq, &id, PayerAction::Pay)
                .await
                .map_err(|e| e.to_string())?;
            let status = view
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_owned();
            Ok(((), format!("the simulated payer paid: {status}")))
        }
    })
    .await?;

    let event = match &target.verifier {
        None => {
            let why = target
                .no_webhook
                .clone()
                .unwrap_or_else(|| "no callback URL".to_owned());
            flow.skip("webhook verified", why);
            None
        }
        Some(verifier) => Some(
            flow.step("webhook verified", async {
                let received = ctx
                    .receiver
                    .wait(
                        |r| {
                            r.path().starts_with(CALLBACK_PATH)
                                && serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| {
                                    b.get("paymentId").and_then(Value::as_str) == Some(id.as_str())
                                        && b.get("status").and_then(Value::as_str)
                                            == Some("SUCCEEDED")
                                })
                        },
                        ctx.timeout,
                    )
                    .await
                    .ok_or_else(|| {
                        format!(
                            "no SUCCEEDED callback about {id} within {} s",
                            ctx.timeout.as_secs()
                        )
                    })?;
                let event = verifier
                    .verify(&received.request())
                    .await
                    .map_err(|e| format!("callback rejected: {e}"))?;
                let detail = format!(
                    "signed ES256, event {}, {}",
                    event.event_id,
                    event.raw_status.as_deref().unwrap_or("?")
                );
                Ok((event, detail))
            })
            .await?,
        ),
    };

    let fetched = flow
        .step("status fetched", async {
            let payment = client.get_payment(&id).await.map_err(|e| e.to_string())?;
            let detail = format!(
                "{} (unified: {})",
                payment.status,
                unified_status(&payment.status)
            );
            Ok((payment, detail))
        })
        .await?;

    flow.step("reconciled", async {
        let mut problems = mismatches("payment", &fetched, &id, &reference);
        if unified_status(&fetched.status) != PaymentStatus::Succeeded {
            problems.push(format!(
                "payment status {} is not succeeded",
                fetched.status
            ));
        }
        if let Some(event) = &event {
            problems.extend(mismatches("callback", &event.data, &id, &reference));
        }
        if problems.is_empty() {
            Ok((
                (),
                format!(
                    "{id}: {} EUR, reference {reference}, SUCCEEDED{}",
                    euros(DEMO_CENTS),
                    if event.is_some() {
                        " (payment and callback)"
                    } else {
                        ""
                    }
                ),
            ))
        } else {
            Err(problems.join("; "))
        }
    })
    .await
}

/// What differs between `payment` and the order.
fn mismatches(what: &str, payment: &PayconiqPayment, id: &str, reference: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if payment.payment_id != id {
        problems.push(format!("{what} id {} is not {id}", payment.payment_id));
    }
    if payment.amount != Some(DEMO_CENTS) {
        problems.push(format!(
            "{what} amount {:?} is not {DEMO_CENTS} cents",
            payment.amount
        ));
    }
    if payment.currency.as_deref() != Some("EUR") {
        problems.push(format!("{what} currency {:?} is not EUR", payment.currency));
    }
    if payment.reference.as_deref() != Some(reference) {
        problems.push(format!(
            "{what} reference {:?} is not {reference}",
            payment.reference
        ));
    }
    problems
}

/// Real mode: shows where to pay and polls until the payment is final or `timeout` passes.
async fn pay_for_real(
    client: &PayconiqClient,
    created: &PayconiqPayment,
    timeout: Duration,
) -> Result<((), String), String> {
    let href = |link: &Option<payments_payconiq::wire::Link>| {
        link.as_ref().map_or("-".to_owned(), |l| l.href.clone())
    };
    eprintln!(
        "[payconiq] pay {} EUR with the Payconiq pre-production app: deeplink {} , QR code {}",
        euros(DEMO_CENTS),
        href(&created.links.deeplink),
        href(&created.links.qrcode)
    );
    let started = std::time::Instant::now();
    loop {
        let payment = client
            .get_payment(&created.payment_id)
            .await
            .map_err(|e| e.to_string())?;
        let status = unified_status(&payment.status);
        if status.is_final() {
            return if status == PaymentStatus::Succeeded {
                Ok(((), format!("the payer paid: {}", payment.status)))
            } else {
                Err(format!("the payment ended {}", payment.status))
            };
        }
        if started.elapsed() + POLL_EVERY > timeout {
            return Err(format!(
                "not final within {} s (last status {})",
                timeout.as_secs(),
                payment.status
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
}

pub(crate) async fn verify(input: &VerifyInput) -> Result<Value, VerifyError> {
    if input.args.jwks.is_none() {
        return Err(VerifyError::Usage(
            "--jwks FILE is required for payconiq".to_owned(),
        ));
    }
    let jwks = read_file("--jwks", input.args.jwks.as_deref())?;
    let profile_id = input.args.profile_id.clone().ok_or_else(|| {
        VerifyError::Usage(
            "--profile-id ID is required for payconiq (the payment profile id signed as sub)"
                .to_owned(),
        )
    })?;
    let keys = JwkSet::from_json(jwks.as_bytes())
        .map_err(|e| VerifyError::Usage(format!("--jwks: {e}")))?;
    let settings = CallbackSettings::new(profile_id, input.args.url.clone())
        .clock(Arc::new(FixedClock::new(input.at)));
    let (event, claims) = CallbackVerifier::new(settings, keys)
        .verify_detailed(&input.request())
        .map_err(|rejection| VerifyError::Rejected(rejection.to_string()))?;
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

fn verified_json(event: &VerifiedEvent<Callback>) -> Value {
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
    use clap::Parser as _;
    use payments_sandbox::{DeliveryRecord, Sandbox};

    use super::*;
    use crate::args::{Cli, Command, WebhookCommand};
    use crate::test_support::Files;

    /// A callback the sandbox signed and delivered for a paid payment.
    async fn sandbox_callback(sandbox: &payments_sandbox::RunningSandbox) -> DeliveryRecord {
        let info = sandbox.info();
        let client = PayconiqClient::new(
            PayconiqConfig::new(
                sandbox.credentials().payconiq_api_key.clone(),
                Environment::PreProduction,
            )
            .base_url(
                info["providers"]["payconiq"]["api_base_url"]
                    .as_str()
                    .unwrap(),
            ),
        )
        .unwrap();
        let callback = format!("{}/_sandbox/sink/payconiq/cb", sandbox.base_url());
        let payment = client
            .create_payment(
                &CreatePaymentRequest::new(Money::from_minor(1250, Currency::EUR))
                    .reference("cli-unit")
                    .callback_url(&callback),
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

    fn input(
        files: &Files,
        delivery: &DeliveryRecord,
        body: &[u8],
        extra: &[&str],
        at: time::OffsetDateTime,
    ) -> VerifyInput {
        let body_path = files.write("body.json", body);
        let mut argv: Vec<String> = [
            "payments",
            "webhook",
            "verify",
            "--provider",
            "payconiq",
            "--body",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        argv.push(body_path);
        argv.extend(["--url".to_owned(), delivery.url.clone()]);
        argv.extend(extra.iter().map(|s| (*s).to_owned()));
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Webhook {
            command: WebhookCommand::Verify(args),
        } = cli.command
        else {
            panic!("not a verify command");
        };
        VerifyInput {
            args,
            headers: delivery.headers.clone(),
            body: body.to_vec(),
            at,
        }
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

        let ok = verify(&input(
            &files,
            &delivery,
            delivery.body.as_bytes(),
            &keys,
            now,
        ))
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
        match verify(&input(&files, &delivery, &tampered, &keys, now)).await {
            Err(VerifyError::Rejected(reason)) => {
                assert_eq!(reason, "signature does not verify");
            }
            other => panic!("a changed byte must be rejected: {other:?}"),
        }

        // The verification instant is `--at`: 26 hours later the signature is too old.
        let later = now + time::Duration::hours(26);
        match verify(&input(
            &files,
            &delivery,
            delivery.body.as_bytes(),
            &keys,
            later,
        ))
        .await
        {
            Err(VerifyError::Rejected(reason)) => assert!(reason.contains("old"), "{reason}"),
            other => panic!("expected too old: {other:?}"),
        }
        sandbox.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_key_options_are_usage_errors() {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let delivery = sandbox_callback(&sandbox).await;
        let files = Files::new("payconiq");
        let now = time::OffsetDateTime::now_utc();
        match verify(&input(
            &files,
            &delivery,
            delivery.body.as_bytes(),
            &[],
            now,
        ))
        .await
        {
            Err(VerifyError::Usage(message)) => {
                assert_eq!(message, "--jwks FILE is required for payconiq");
            }
            other => panic!("expected a usage error: {other:?}"),
        }
        let jwks = files.write("jwks.json", sandbox.keys().payconiq_jwks_json().as_bytes());
        match verify(&input(
            &files,
            &delivery,
            delivery.body.as_bytes(),
            &["--jwks", &jwks],
            now,
        ))
        .await
        {
            Err(VerifyError::Usage(message)) => {
                assert!(message.contains("--profile-id"), "{message}")
            }
            other => panic!("expected a usage error: {other:?}"),
        }
        let junk = files.write("junk.json", b"{\"keys\":[]}");
        let keys = ["--jwks", junk.as_str(), "--profile-id", "p"];
        match verify(&input(
            &files,
            &delivery,
            delivery.body.as_bytes(),
            &keys,
            now,
        ))
        .await
        {
            Err(VerifyError::Usage(message)) => assert!(message.starts_with("--jwks"), "{message}"),
            other => panic!("expected a usage error: {other:?}"),
        }
        sandbox.shutdown().await;
    }
}
