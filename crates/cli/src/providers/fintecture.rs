//! Fintecture: the demo flow (webhook URL → token and signed call → payment session → the payer
//! pays on the Connect page → signed webhook verified → status confirmed → reconciled) and
//! offline webhook verification.
//!
//! # Demo
//! A €273.00 payment session (the guide's example; the amount ends in 00, so the sandbox's payer
//! waits for the demo) with the run's order reference as `communication` and `state`, and the
//! local receiver's `/fintecture/return` as `redirect_uri`. Every API call is signed with the
//! sandbox-generated application key. Steps:
//! - `register webhook`: Fintecture takes its webhook URL from the console; the demo sets the
//!   sandbox's to the receiver's `/fintecture/webhook`.
//! - `authenticate`: the client-credentials token and one signed call (`GET /pis/v2/payments`).
//! - `create`, then `payer pays`: the simulated payer pays on the sandbox's Connect page (the
//!   session's `url`) and is redirected back to `redirect_uri?session_id=..&status=..&state=..`.
//! - `webhook verified`: the form-encoded webhook, verified from the raw bytes received with the
//!   crate's [`FintectureWebhookVerifier`] (RSA-OAEP decryption with the private key).
//! - `status fetched`: the redirect is confirmed as the crate does it — its `session_id` and
//!   `state` checked against the session stored with the order, the session fetched and its
//!   amount, currency and `communication` checked (the query's status is not trusted).
//! - `reconciled`: session id, amount (exact), currency, `communication` and the webhook's `state`
//!   against the order; status `Succeeded`.
//!
//! # Against Fintecture's sandbox
//! With `FINTECTURE_APP_ID`, `FINTECTURE_APP_SECRET` and `FINTECTURE_PRIVATE_KEY_FILE` (the
//! application's private key, PEM) in the environment and no `--offline`, the same flow runs
//! against `https://api-sandbox.fintecture.com`. `FINTECTURE_REDIRECT_URI` is the redirect URI
//! registered in the Fintecture console (default: `$PAYMENTS_DEMO_PUBLIC_URL/fintecture/return`).
//! "payer pays" prints the Connect URL on stderr (open it and pay with a sandbox bank) and polls
//! the session until it is final or `--timeout` passes. Webhooks need `PAYMENTS_DEMO_PUBLIC_URL`,
//! a public URL forwarding to the demo's local receiver (its port is random and printed on
//! stderr), configured in the Fintecture console as `$PAYMENTS_DEMO_PUBLIC_URL/fintecture/webhook`;
//! without it the `webhook verified` step is skipped, saying why. This mode needs the internet
//! and a Fintecture account: the tests do not exercise it.
//!
//! # `payments webhook verify --provider fintecture`
//! `--private-key FILE` (the application private key the webhook was encrypted for, PEM PKCS#8
//! or PKCS#1) and `--app-id ID` (the expected `keyId`) are required. The webhook is verified by
//! the crate's verifier as of `--at` (default now) with its injectable clock, within its default
//! freshness window (72 hours: Fintecture's retries may carry the first attempt's `Date`); the
//! output's `data` is the verified event's fields.

use std::sync::Arc;
use std::time::{Duration, Instant};

use payments_core::webhook::{FixedClock, WebhookVerifier};
use payments_core::{Currency, Money, PaymentStatus};
use payments_fintecture::convert::unified_status;
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::webhook::{FintectureEvent, FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{
    ConnectRequest, Environment, FintectureClient, FintectureConfig, FintecturePayment,
    ListPaymentsQuery, StoredSession,
};
use payments_sandbox::Provider;
use serde_json::Value;

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::receiver::Received;
use crate::verify::{VerifyError, VerifyInput, event_json, read_file};

/// The order: €273.00, in cents.
const DEMO_CENTS: i64 = 27_300;
/// Where the receiver takes Fintecture's webhooks.
const WEBHOOK_PATH: &str = "/fintecture/webhook";
/// Where the payer comes back.
const RETURN_PATH: &str = "/fintecture/return";
/// How often the real session is polled while the payer pays.
const POLL_EVERY: Duration = Duration::from_secs(3);

/// Session statuses after which Fintecture's flow is over for the payer.
const FINAL_STATUSES: [&str; 4] = [
    "payment_created",
    "payment_cancelled",
    "payment_unsuccessful",
    "payment_expired",
];

/// A field of a form-urlencoded body, decoded (`None` when absent or undecodable). Only used to
/// pick which received request to verify; the verifier reads the body itself.
fn form_field(body: &[u8], name: &str) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    text.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name)
            .then(|| payments_core::webhook::form_decode(v))
            .flatten()
            .and_then(|bytes| String::from_utf8(bytes).ok())
    })
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Where the flow runs and with what.
struct Target {
    client: FintectureClient,
    app_id: String,
    redirect_uri: String,
    /// Set when webhooks can reach the receiver.
    webhooks: bool,
    /// Why not, in real mode.
    no_webhook: Option<String>,
    real: bool,
}

/// The real-sandbox credentials, if any are set: `Err` names what is missing.
fn real_config() -> Option<Result<(FintectureConfig, String), String>> {
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
    let redirect_uri = env("FINTECTURE_REDIRECT_URI").or_else(|| {
        env("PAYMENTS_DEMO_PUBLIC_URL").map(|u| format!("{}{RETURN_PATH}", u.trim_end_matches('/')))
    });
    let Some(redirect_uri) = redirect_uri else {
        return Some(Err(
            "set FINTECTURE_REDIRECT_URI (a redirect URI registered in the Fintecture console)"
                .to_owned(),
        ));
    };
    let config = FintectureConfig::new(app_id, secret, pem, Environment::Sandbox);
    Some(Ok((config, redirect_uri)))
}

fn target(ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<Target, String> {
    let real = if ctx.offline { None } else { real_config() };
    match real {
        Some(Err(e)) => Err(e),
        Some(Ok((config, redirect_uri))) => {
            flow.set_target(format!(
                "Fintecture sandbox ({})",
                Environment::Sandbox.api_base_url()
            ));
            let app_id = config.app_id.clone();
            let client = FintectureClient::new(config).map_err(|e| e.to_string())?;
            let public = env("PAYMENTS_DEMO_PUBLIC_URL");
            eprintln!(
                "[fintecture] webhook receiver listening on {}",
                ctx.receiver.url("/")
            );
            Ok(Target {
                client,
                app_id,
                redirect_uri,
                webhooks: public.is_some(),
                no_webhook: public.is_none().then(|| {
                    "set PAYMENTS_DEMO_PUBLIC_URL (a public URL forwarding to the local receiver) \
                     and configure $PAYMENTS_DEMO_PUBLIC_URL/fintecture/webhook in the console"
                        .to_owned()
                }),
                real: true,
            })
        }
        None => {
            let sandbox = ctx.sandbox;
            let credentials = sandbox.credentials();
            let pem = sandbox
                .keys()
                .fintecture_private_key_pem()
                .ok_or("the sandbox did not generate a Fintecture key pair")?;
            let config = FintectureConfig::new(
                &credentials.fintecture_app_id,
                &credentials.fintecture_app_secret,
                pem,
                Environment::Sandbox,
            )
            .base_url(sandbox.provider_url(Provider::Fintecture));
            let client = FintectureClient::new(config).map_err(|e| e.to_string())?;
            Ok(Target {
                client,
                app_id: credentials.fintecture_app_id.clone(),
                redirect_uri: ctx.receiver.url(RETURN_PATH),
                webhooks: true,
                no_webhook: None,
                real: false,
            })
        }
    }
}

fn describe(payment: &FintecturePayment) -> String {
    let transfer = payment
        .data
        .attributes
        .transfer_state
        .as_ref()
        .map(|t| format!(" + {t}"))
        .unwrap_or_default();
    format!("{}{transfer}", payment.meta.status)
}

pub(crate) async fn demo(ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<(), Failed> {
    let target = match target(ctx, flow) {
        Ok(t) => t,
        Err(e) => {
            return flow
                .step::<(), _>("authenticate", async move { Err(e) })
                .await;
        }
    };
    let webhook_url = ctx.receiver.url(WEBHOOK_PATH);
    if target.real {
        flow.skip(
            "register webhook",
            "Fintecture takes it from its console (see PAYMENTS_DEMO_PUBLIC_URL)",
        );
    } else {
        flow.step("register webhook", async {
            ctx.sandbox
                .set_webhook_url(Provider::Fintecture, Some(webhook_url.clone()));
            Ok(((), format!("console webhook URL set to {webhook_url}")))
        })
        .await?;
    }
    let client = &target.client;
    flow.step("authenticate", async {
        let page = client
            .list_payments(&ListPaymentsQuery::new().page(1, 1))
            .await
            .map_err(|e| e.to_string())?;
        let total = page
            .meta
            .and_then(|m| m.total_items)
            .map_or_else(|| "?".to_owned(), |t| t.to_string());
        Ok((
            (),
            format!(
                "token issued to {}; signed call accepted ({total} sessions)",
                target.app_id
            ),
        ))
    })
    .await?;

    let amount = Money::from_minor(DEMO_CENTS, Currency::EUR);
    let reference = format!("{}-fintecture", ctx.run_id);
    let request = ConnectRequest::new(amount, &reference, &reference, &target.redirect_uri)
        .psu_name("Demo Payer")
        .psu_email("payer@example.com")
        .expiry(Duration::from_secs(15 * 60));
    let session = flow
        .step("create", async {
            let session = client.connect(&request).await.map_err(|e| e.to_string())?;
            let detail = format!(
                "session {}, {} {}, reference {reference}",
                session.meta.session_id,
                amount.to_decimal_string(),
                amount.currency()
            );
            Ok((session, detail))
        })
        .await?;
    let id = session.meta.session_id.clone();
    // What a shop keeps with the order, to bind the payer's return to it.
    let stored = StoredSession::from_connect(&request, &session);

    let redirect_query = if target.real {
        flow.step("payer pays", async {
            eprintln!(
                "[fintecture] open this Connect URL and pay: {}",
                session.meta.url
            );
            let started = Instant::now();
            loop {
                let payment = client.get_payment(&id).await.map_err(|e| e.to_string())?;
                let status = unified_status(
                    &payment.meta.status,
                    payment.data.attributes.transfer_state.as_ref(),
                );
                if status.is_final() {
                    let detail = format!(
                        "{} after {} s",
                        describe(&payment),
                        started.elapsed().as_secs()
                    );
                    return Ok((None::<String>, detail));
                }
                if started.elapsed() >= ctx.timeout {
                    return Err(format!(
                        "not final after {} s (last: {})",
                        ctx.timeout.as_secs(),
                        describe(&payment)
                    ));
                }
                tokio::time::sleep(POLL_EVERY).await;
            }
        })
        .await?
    } else {
        flow.step(
            "payer pays",
            pay_on_connect_page(ctx, &session.meta.url, &target.redirect_uri),
        )
        .await?
    };

    let event = if target.webhooks {
        let verifier = FintectureWebhookVerifier::new(WebhookSettings::new(
            &target.app_id,
            client.private_key(),
        ));
        let wanted = |r: &Received| {
            r.path().starts_with(WEBHOOK_PATH)
                && form_field(&r.body, "session_id").as_deref() == Some(id.as_str())
                && form_field(&r.body, "status")
                    .is_some_and(|s| FINAL_STATUSES.contains(&s.as_str()))
        };
        Some(
            flow.step("webhook verified", async {
                let received = ctx
                    .receiver
                    .wait(wanted, ctx.timeout)
                    .await
                    .ok_or_else(|| {
                        format!(
                            "no final-status webhook for session {id} within {} s",
                            ctx.timeout.as_secs()
                        )
                    })?;
                let event = verifier
                    .verify(&received.request())
                    .map_err(|e| format!("webhook rejected: {e}"))?;
                let detail = format!(
                    "signed (RSA-OAEP) {} for session {id}, state {}",
                    event.raw_status.as_deref().unwrap_or("?"),
                    event.data.state.as_deref().unwrap_or("-")
                );
                Ok((event, detail))
            })
            .await?,
        )
    } else {
        flow.skip(
            "webhook verified",
            target.no_webhook.clone().unwrap_or_default(),
        );
        None
    };

    let payment = flow
        .step("status fetched", async {
            match &redirect_query {
                Some(query) => {
                    let confirmed = client
                        .confirm_redirect(query, &stored)
                        .await
                        .map_err(|e| e.to_string())?;
                    let detail = format!(
                        "{} → {} (redirect bound to the stored session, status fetched)",
                        describe(&confirmed.payment),
                        confirmed.status
                    );
                    Ok((confirmed.payment, detail))
                }
                None => {
                    let payment = client.get_payment(&id).await.map_err(|e| e.to_string())?;
                    let status = unified_status(
                        &payment.meta.status,
                        payment.data.attributes.transfer_state.as_ref(),
                    );
                    let detail = format!("{} → {status}", describe(&payment));
                    Ok((payment, detail))
                }
            }
        })
        .await?;

    flow.step("reconciled", async {
        reconcile(
            &payment,
            event.as_ref().map(|e| &e.data),
            &id,
            amount,
            &reference,
        )
        .map(|detail| ((), detail))
    })
    .await
}

/// The simulated payer pays on the Connect page and follows the redirect back to the receiver;
/// returns the redirect's query.
async fn pay_on_connect_page(
    ctx: &DemoContext<'_>,
    connect_url: &str,
    redirect_uri: &str,
) -> Result<(Option<String>, String), String> {
    let browser = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(ctx.timeout)
        .build()
        .map_err(|e| format!("cannot build the payer's browser: {e}"))?;
    let answer = browser
        .post(connect_url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("action=pay")
        .send()
        .await
        .map_err(|e| format!("Connect page: {}", e.without_url()))?;
    let status = answer.status();
    let location = answer
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(location) = location.filter(|_| status.is_redirection()) else {
        let body = answer.text().await.unwrap_or_default();
        return Err(format!(
            "Connect page answered {status}: {}",
            body.chars().take(200).collect::<String>()
        ));
    };
    let query = location
        .strip_prefix(redirect_uri)
        .and_then(|rest| rest.strip_prefix('?'))
        .ok_or_else(|| format!("redirected to {location}, not to {redirect_uri}"))?
        .to_owned();
    // The payer's browser lands on the merchant's redirect URI (the local receiver).
    browser
        .get(&location)
        .send()
        .await
        .map_err(|e| format!("redirect back: {}", e.without_url()))?;
    let status_param = query
        .split('&')
        .find_map(|p| p.strip_prefix("status="))
        .unwrap_or("?")
        .to_owned();
    Ok((
        Some(query),
        format!("paid on the Connect page; redirected back with status={status_param}"),
    ))
}

fn reconcile(
    payment: &FintecturePayment,
    event: Option<&FintectureEvent>,
    id: &str,
    amount: Money,
    reference: &str,
) -> Result<String, String> {
    let a = &payment.data.attributes;
    let mut problems = Vec::new();
    if payment.meta.session_id != id {
        problems.push(format!("session {} ≠ {id}", payment.meta.session_id));
    }
    let paid = a.amount_money();
    if paid != Ok(Some(amount)) {
        problems.push(format!(
            "amount {} {} ≠ {} {}",
            a.amount.map(|d| d.to_string()).unwrap_or_default(),
            a.currency.as_deref().unwrap_or("?"),
            amount.to_decimal_string(),
            amount.currency()
        ));
    }
    if a.communication.as_deref() != Some(reference) {
        problems.push(format!(
            "communication {:?} ≠ {reference}",
            a.communication.as_deref().unwrap_or("")
        ));
    }
    let status = unified_status(&payment.meta.status, a.transfer_state.as_ref());
    if status != PaymentStatus::Succeeded {
        problems.push(format!("status {} ({})", status, describe(payment)));
    }
    if let Some(event) = event {
        if event.session_id.as_deref() != Some(id) {
            problems.push("the webhook is about another session".to_owned());
        }
        if event.state.as_deref() != Some(reference) {
            problems.push(format!(
                "webhook state {:?} ≠ {reference}",
                event.state.as_deref().unwrap_or("")
            ));
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "session, {} {}, reference {reference}{}, succeeded: match the order",
            amount.to_decimal_string(),
            amount.currency(),
            if event.is_some() {
                ", webhook state"
            } else {
                ""
            }
        ))
    } else {
        Err(problems.join("; "))
    }
}

pub(crate) async fn verify(input: &VerifyInput) -> Result<Value, VerifyError> {
    let args = &input.args;
    let Some(key_path) = args.private_key.as_deref() else {
        return Err(VerifyError::Usage(
            "--private-key FILE is required for fintecture (the application private key, PEM)"
                .to_owned(),
        ));
    };
    let Some(app_id) = args.app_id.as_deref() else {
        return Err(VerifyError::Usage(
            "--app-id ID is required for fintecture (the application id, the expected keyId)"
                .to_owned(),
        ));
    };
    let pem = read_file("--private-key", Some(key_path))?;
    let key = AppPrivateKey::from_pem(&pem)
        .map_err(|e| VerifyError::Usage(format!("--private-key: {e}")))?;
    let settings =
        WebhookSettings::new(app_id, Arc::new(key)).clock(Arc::new(FixedClock::new(input.at)));
    let event = FintectureWebhookVerifier::new(settings)
        .verify(&input.request())
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
    use super::*;
    use crate::args::{Cli, Command, WebhookCommand};
    use clap::Parser as _;
    use payments_sandbox::{DeliveryRecord, PayerAction, Sandbox};

    /// A webhook the sandbox delivered for a paid session, and its private key PEM.
    async fn captured() -> (DeliveryRecord, String, String) {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        sandbox.set_webhook_url(
            Provider::Fintecture,
            Some(format!("{}/_sandbox/sink/fintecture", sandbox.base_url())),
        );
        let pem = sandbox
            .keys()
            .fintecture_private_key_pem()
            .unwrap()
            .to_owned();
        let credentials = sandbox.credentials().clone();
        let client = FintectureClient::new(
            FintectureConfig::new(
                &credentials.fintecture_app_id,
                &credentials.fintecture_app_secret,
                pem.clone(),
                Environment::Sandbox,
            )
            .base_url(sandbox.provider_url(Provider::Fintecture)),
        )
        .unwrap();
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
        (delivery, pem, credentials.fintecture_app_id)
    }

    fn temp_pem(pem: &str, tag: &str) -> std::path::PathBuf {
        let path = std::env::temp_dir().join(format!(
            "payments-cli-fintecture-{tag}-{}.pem",
            std::process::id()
        ));
        std::fs::write(&path, pem).unwrap();
        path
    }

    fn input(options: &[&str], delivery: &DeliveryRecord, body: Vec<u8>) -> VerifyInput {
        let mut argv = vec![
            "payments",
            "webhook",
            "verify",
            "--provider",
            "fintecture",
            "--body",
            "-",
        ];
        argv.extend_from_slice(options);
        let Command::Webhook {
            command: WebhookCommand::Verify(args),
        } = Cli::try_parse_from(argv).unwrap().command
        else {
            panic!("not a verify command");
        };
        VerifyInput {
            args,
            headers: delivery.headers.clone(),
            body,
            at: time::OffsetDateTime::now_utc(),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandbox_webhook_verifies_and_one_changed_byte_is_rejected() {
        let (delivery, pem, app_id) = captured().await;
        let key = temp_pem(&pem, "ok");
        let key_arg = key.to_str().unwrap();
        let options = ["--private-key", key_arg, "--app-id", app_id.as_str()];

        let ok = verify(&input(
            &options,
            &delivery,
            delivery.body.clone().into_bytes(),
        ))
        .await
        .unwrap();
        assert_eq!(ok["provider"], "fintecture");
        assert_eq!(ok["authenticity"], "signed");
        assert_eq!(ok["raw_status"], "payment_created");
        assert_eq!(ok["status"], PaymentStatus::Succeeded.to_string());
        assert_eq!(ok["payment_id"], delivery.payment_id);
        assert_eq!(ok["data"]["state"], "order-7");
        assert_eq!(ok["data"]["amount"], "273.00");
        assert!(!ok.to_string().contains("PRIVATE KEY"));

        let mut tampered = delivery.body.clone().into_bytes();
        let last = tampered.len() - 1;
        tampered[last] ^= 0x01;
        match verify(&input(&options, &delivery, tampered)).await {
            Err(VerifyError::Rejected(reason)) => assert_eq!(reason, "body digest mismatch"),
            other => panic!("{other:?}"),
        }

        let wrong_app = ["--private-key", key_arg, "--app-id", "another-app"];
        match verify(&input(
            &wrong_app,
            &delivery,
            delivery.body.clone().into_bytes(),
        ))
        .await
        {
            Err(VerifyError::Rejected(reason)) => assert!(reason.contains("keyId"), "{reason}"),
            other => panic!("{other:?}"),
        }

        // Verified as of four days later: older than the 72-hour window.
        let mut late = input(&options, &delivery, delivery.body.clone().into_bytes());
        late.at += time::Duration::days(4);
        match verify(&late).await {
            Err(VerifyError::Rejected(reason)) => assert!(reason.contains("old"), "{reason}"),
            other => panic!("{other:?}"),
        }

        // Another key: the signature cannot be decrypted.
        let other = AppPrivateKey::generate().unwrap().to_pkcs8_pem().unwrap();
        let other_key = temp_pem(secrecy::ExposeSecret::expose_secret(&other), "other");
        let other_options = [
            "--private-key",
            other_key.to_str().unwrap(),
            "--app-id",
            app_id.as_str(),
        ];
        match verify(&input(
            &other_options,
            &delivery,
            delivery.body.clone().into_bytes(),
        ))
        .await
        {
            Err(VerifyError::Rejected(reason)) => {
                assert_eq!(reason, "signature could not be decrypted")
            }
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_file(key);
        let _ = std::fs::remove_file(other_key);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn missing_or_unreadable_key_options_are_usage_errors() {
        let (delivery, pem, app_id) = captured().await;
        let body = delivery.body.clone().into_bytes();
        match verify(&input(&["--app-id", &app_id], &delivery, body.clone())).await {
            Err(VerifyError::Usage(m)) => assert!(m.contains("--private-key FILE"), "{m}"),
            other => panic!("{other:?}"),
        }
        let key = temp_pem(&pem, "usage");
        let key_arg = key.to_str().unwrap();
        match verify(&input(&["--private-key", key_arg], &delivery, body.clone())).await {
            Err(VerifyError::Usage(m)) => assert!(m.contains("--app-id ID"), "{m}"),
            other => panic!("{other:?}"),
        }
        let not_a_key = temp_pem("not a key", "garbage");
        let garbage = [
            "--private-key",
            not_a_key.to_str().unwrap(),
            "--app-id",
            app_id.as_str(),
        ];
        match verify(&input(&garbage, &delivery, body)).await {
            Err(VerifyError::Usage(m)) => assert!(m.starts_with("--private-key"), "{m}"),
            other => panic!("{other:?}"),
        }
        let _ = std::fs::remove_file(key);
        let _ = std::fs::remove_file(not_a_key);
    }
}
