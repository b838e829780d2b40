//! Banq: the demo flow (payment link → payer pays → unsigned notice confirmed by fetch-back →
//! status → reconciled) and offline webhook inspection.
//!
//! # Demo
//! Steps: `register webhook` (`users/me` → the destination account's account space →
//! `webhook-config` with the receiver's URL, which carries a random URL secret checked by the
//! crate's `SharedSecretGuard`), then the common steps. Banq does not sign its webhooks: the
//! `webhook verified` step passes the received notice through the crate's `WebhookReceiver` and
//! confirms it with `BanqClient::confirm` (`GET /payments/{resourceId}`); it passes only when the
//! fetched-back payment is `completed` (authenticity `fetched_back`). `reconciled` compares the
//! fetched payment with the order: id, `funds` (exact, USD, the currency configured: Banq's answer
//! names none), `externalOrderCode`, status `Succeeded`.
//!
//! # Against Banq's real sandbox
//! When these variables are set (and `--offline` is not given), the demo runs against Banq:
//! - `BANQ_CLIENT_ID`, `BANQ_USERNAME`, `BANQ_PASSWORD` (the Open API credentials),
//!   `BANQ_COMPANY_ID` (`X-Company-Id`), `BANQ_DESTINATION_GUID` (the banq account paid into);
//! - optional: `BANQ_CLIENT_SECRET`; `BANQ_CREDENTIAL_FIELDS=client_prefixed` to send
//!   `client_username`/`client_password` as in Banq's guide; `BANQ_API_BASE_URL` (default
//!   `https://sandbox.banq.com/api/v1`) and `BANQ_TOKEN_URL` (default
//!   `https://banq-staging.auth0.com/oauth/token`); `BANQ_MERCHANT_EMAIL` and
//!   `BANQ_MERCHANT_PASSWORD` (the merchant user's login, needed to register the webhook).
//!
//! "payer pays" prints the payment link on stderr and polls the payment until it is final or the
//! `--timeout` passes. Webhooks need `PAYMENTS_DEMO_PUBLIC_URL`: a public URL forwarding to the
//! demo's local webhook receiver (its port is random and printed in the `register webhook`
//! step; the forwarder must send `/banq/webhook?...` to it). Without it, or without the merchant
//! login, the webhook steps are skipped. This mode cannot be tested offline.
//!
//! # `payments webhook verify --provider banq`
//! Offline there is nothing to verify a Banq webhook against: no signature, no timestamp (`--at`
//! is ignored). The command checks what the crate's receiver checks (method, size, format, and
//! the URL secret with `--guard-secret FILE|env:NAME` and `--guard-param NAME`, default `token`;
//! during a rotation also the previous one with `--previous-guard-secret FILE|env:NAME`)
//! and prints the notice with `"established": false` and authenticity `unverified` (or `guarded`
//! when the URL secret matched): confirm it by fetching the payment before acting on it.

use std::time::Duration;

use payments_banq::webhook::{Confirmation, SharedSecretGuard, WebhookReceiver};
use payments_banq::{
    BanqClient, BanqConfig, BanqPayment, CredentialFieldNames, MerchantUserCredentials,
    OpenApiCredentials, PaymentLinkRequest, WebhookConfigRequest,
};
use payments_core::webhook::Authenticity;
use payments_core::{Currency, Money, PaymentStatus};
use payments_sandbox::{PayerAction, Provider};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::verify::{VerifyError, VerifyInput, read_secret};

/// The order of the demo: $25.00 (ends in 00: the sandbox's payer waits for the demo).
const DEMO_CENTS: i64 = 2_500;
/// Where the receiver takes Banq's notices.
const WEBHOOK_PATH: &str = "/banq/webhook";
/// The query parameter of the URL secret.
const GUARD_PARAM: &str = "token";

/// Where the flow runs and with what.
struct Target {
    client: BanqClient,
    destination: String,
    /// `None` in real mode without the merchant login or a public URL: no webhook.
    webhook_base: Option<String>,
    /// In real mode: why there is no webhook.
    no_webhook: Option<String>,
    real: bool,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn sandbox_target(ctx: &DemoContext<'_>) -> Result<Target, String> {
    let info = ctx
        .sandbox
        .info()
        .get("providers")
        .and_then(|p| p.get("banq"))
        .cloned()
        .unwrap_or_default();
    let field = |key: &str| {
        info.get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| format!("the sandbox does not describe banq's {key}"))
    };
    let c = ctx.sandbox.credentials();
    let destination = field("destination_banq_guid")?;
    let config = BanqConfig::new(
        c.banq_company_id.clone(),
        OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password),
    )
    .merchant_user(MerchantUserCredentials::new(
        &c.banq_username,
        &c.banq_password,
    ))
    .api_base_url(field("api_base_url")?)
    .token_url(field("token_url")?)
    .default_destination(&destination);
    Ok(Target {
        client: BanqClient::new(config).map_err(|e| e.to_string())?,
        destination,
        webhook_base: Some(ctx.receiver.url(WEBHOOK_PATH)),
        no_webhook: None,
        real: false,
    })
}

/// The real-provider target, when its variables are all set.
fn real_target() -> Option<Result<Target, String>> {
    let client_id = env("BANQ_CLIENT_ID")?;
    let username = env("BANQ_USERNAME")?;
    let password = env("BANQ_PASSWORD")?;
    let company = env("BANQ_COMPANY_ID")?;
    let destination = env("BANQ_DESTINATION_GUID")?;
    let mut credentials = OpenApiCredentials::new(client_id, username, password);
    if let Some(secret) = env("BANQ_CLIENT_SECRET") {
        credentials = credentials.client_secret(secret);
    }
    if env("BANQ_CREDENTIAL_FIELDS").is_some_and(|v| v.eq_ignore_ascii_case("client_prefixed")) {
        credentials = credentials.field_names(CredentialFieldNames::ClientPrefixed);
    }
    let mut config = BanqConfig::new(company, credentials).default_destination(&destination);
    if let Some(url) = env("BANQ_API_BASE_URL") {
        config = config.api_base_url(url);
    }
    if let Some(url) = env("BANQ_TOKEN_URL") {
        config = config.token_url(url);
    }
    let login = env("BANQ_MERCHANT_EMAIL").zip(env("BANQ_MERCHANT_PASSWORD"));
    if let Some((email, password)) = &login {
        config = config.merchant_user(MerchantUserCredentials::new(email, password));
    }
    let public = env("PAYMENTS_DEMO_PUBLIC_URL");
    let no_webhook = match (&login, &public) {
        (None, _) => Some("set BANQ_MERCHANT_EMAIL and BANQ_MERCHANT_PASSWORD to register it"),
        (_, None) => Some("set PAYMENTS_DEMO_PUBLIC_URL (a public URL forwarding to the receiver)"),
        _ => None,
    };
    let webhook_base = match (no_webhook, public) {
        (None, Some(public)) => Some(format!("{}{WEBHOOK_PATH}", public.trim_end_matches('/'))),
        _ => None,
    };
    Some(
        BanqClient::new(config)
            .map(|client| Target {
                client,
                destination,
                webhook_base,
                no_webhook: no_webhook.map(str::to_owned),
                real: true,
            })
            .map_err(|e| e.to_string()),
    )
}

/// A random URL secret for this run: 64 hex digits from randomly keyed SipHash (the CLI has no
/// RNG dependency; this protects a local demo receiver, not money).
fn url_secret() -> String {
    use std::hash::{BuildHasher, Hasher};
    let state = std::collections::hash_map::RandomState::new();
    (0..4u32)
        .map(|i| {
            let mut hasher = state.build_hasher();
            hasher.write_u32(i);
            format!("{:016x}", hasher.finish())
        })
        .collect()
}

pub(crate) async fn demo(ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<(), Failed> {
    let target = match (ctx.offline, real_target()) {
        (false, Some(real)) => real,
        _ => sandbox_target(ctx),
    };
    let target = match target {
        Ok(t) => t,
        Err(cause) => {
            return flow
                .step::<(), _>("create", async move { Err(cause) })
                .await;
        }
    };
    if target.real {
        flow.set_target("Banq (real sandbox, from BANQ_* variables)");
    }
    let client = &target.client;
    let secret = url_secret();

    // register webhook
    let webhook = match &target.webhook_base {
        Some(base) => {
            let url = payments_banq::testing::guarded_url(base, GUARD_PARAM, &secret);
            let shown = format!("{base}?{GUARD_PARAM}=…");
            flow.step("register webhook", async {
                let config = client
                    .setup_webhooks(&target.destination, &WebhookConfigRequest::new(&url))
                    .await
                    .map_err(|e| e.to_string())?;
                let id = config.id.as_deref().unwrap_or("-").to_owned();
                Ok(((), format!("webhook-config {id} → {shown}")))
            })
            .await?;
            true
        }
        None => {
            let why = target.no_webhook.clone().unwrap_or_default();
            flow.skip("register webhook", why);
            false
        }
    };

    // create
    let order = format!("{}-banq", ctx.run_id);
    let amount = Money::from_minor(DEMO_CENTS, Currency::USD);
    let request = PaymentLinkRequest::once(&target.destination, amount, "Demo order", &order);
    let (id, link) = flow
        .step("create", async {
            let link = client
                .create_payment_link(&request)
                .await
                .map_err(|e| e.to_string())?;
            let id = link
                .id
                .clone()
                .ok_or("Banq answered a link without a payment id")?;
            let detail = format!("payment {id}, {amount}, link {}", link.url);
            Ok(((id, link.url), detail))
        })
        .await?;

    // payer pays
    flow.step("payer pays", async {
        if target.real {
            eprintln!("[banq] pay here: {link}");
            let status = poll_final(client, &id, ctx.timeout).await?;
            return Ok(((), format!("payer done: {status}")));
        }
        let view = ctx
            .sandbox
            .act(Provider::Banq, &id, PayerAction::Pay)
            .await
            .map_err(|e| e.to_string())?;
        let status = view.get("status").and_then(Value::as_str).unwrap_or("?");
        Ok(((), format!("simulated payer paid: {status}")))
    })
    .await?;

    // webhook verified
    if webhook {
        flow.step("webhook verified", async {
            let guard = SharedSecretGuard::query_param(GUARD_PARAM, secret.as_str())
                .map_err(|e| e.to_string())?;
            let needle = format!("\"{id}\"");
            let received = ctx
                .receiver
                .wait(
                    |r| {
                        r.path().starts_with(WEBHOOK_PATH)
                            && String::from_utf8_lossy(&r.body).contains(&needle)
                    },
                    ctx.timeout,
                )
                .await
                .ok_or_else(|| format!("no Banq notice about {id} within {:?}", ctx.timeout))?;
            let receiver = WebhookReceiver::new().with_guard(guard);
            let notice = receiver
                .receive(&received.request())
                .map_err(|e| format!("notice rejected: {e}"))?;
            let claimed = format!("{}.{}", notice.event().resource_type, notice.event().action);
            match client.confirm(notice).await.map_err(|e| e.to_string())? {
                Confirmation::Confirmed(payment)
                    if payment.authenticity == Authenticity::FetchedBack
                        && payment.status == Some(PaymentStatus::Succeeded) =>
                {
                    Ok((
                        (),
                        format!(
                            "unsigned notice {claimed}, confirmed by fetch-back: {}",
                            payment.raw_status.as_deref().unwrap_or("?")
                        ),
                    ))
                }
                Confirmation::Confirmed(payment) => Err(format!(
                    "notice {claimed} fetched back as {:?}, not paid",
                    payment.raw_status
                )),
                Confirmation::Notice(_) => Err(format!(
                    "notice {claimed} is not a completed payment: nothing confirmed"
                )),
            }
        })
        .await?;
    } else {
        flow.skip(
            "webhook verified",
            target.no_webhook.clone().unwrap_or_default(),
        );
    }

    // status fetched
    let payment = flow
        .step("status fetched", async {
            let payment = client.get_payment(&id).await.map_err(|e| e.to_string())?;
            let detail = format!("{} ({})", payment.raw_status, unified(&payment));
            Ok((payment, detail))
        })
        .await?;

    // reconciled
    flow.step("reconciled", async {
        reconcile(&payment, &id, amount, &order)?;
        Ok(((), format!("{id}: {amount}, order {order}, succeeded")))
    })
    .await
}

fn unified(payment: &BanqPayment) -> PaymentStatus {
    payments_banq::convert::unified_status(&payment.status)
}

/// The fetched payment against the order; the first mismatch is the error.
fn reconcile(payment: &BanqPayment, id: &str, amount: Money, order: &str) -> Result<(), String> {
    if !payment.answers_for(id) {
        return Err(format!("the answer is about {:?}, not {id}", payment.ids()));
    }
    let paid = payments_banq::convert::money(payment.funds, amount.currency())?;
    if paid != Some(amount) {
        return Err(format!(
            "funds {} differ from the order's {amount}",
            payment
                .funds
                .map_or_else(|| "missing".to_owned(), |f| f.to_string())
        ));
    }
    if payment.external_order_code.as_deref() != Some(order) {
        return Err(format!(
            "externalOrderCode {:?} is not the order {order}",
            payment.external_order_code
        ));
    }
    let status = unified(payment);
    if status != PaymentStatus::Succeeded {
        return Err(format!(
            "status {} ({status}) is not succeeded",
            payment.raw_status
        ));
    }
    Ok(())
}

/// Polls the real provider until the payment is final or `timeout` passes.
async fn poll_final(client: &BanqClient, id: &str, timeout: Duration) -> Result<String, String> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let payment = client.get_payment(id).await.map_err(|e| e.to_string())?;
        if unified(&payment).is_final() {
            return Ok(payment.raw_status);
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "still {} after {timeout:?}: the payer did not finish",
                payment.raw_status
            ));
        }
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
}

pub(crate) async fn verify(input: &VerifyInput) -> Result<Value, VerifyError> {
    let args = &input.args;
    let mut receiver = WebhookReceiver::new();
    match (&args.guard_secret, &args.guard_param) {
        (Some(spec), param) => {
            let secret = read_secret("--guard-secret", spec)?;
            let param = param.as_deref().unwrap_or(GUARD_PARAM);
            let mut guard = SharedSecretGuard::query_param(param, secret.expose_secret())
                .map_err(|e| VerifyError::Usage(format!("--guard-secret: {e}")))?;
            if let Some(spec) = &args.previous_guard_secret {
                let previous = read_secret("--previous-guard-secret", spec)?;
                guard = guard
                    .with_previous(previous.expose_secret())
                    .map_err(|e| VerifyError::Usage(format!("--previous-guard-secret: {e}")))?;
            }
            receiver = receiver.with_guard(guard);
        }
        (None, Some(_)) => {
            return Err(VerifyError::Usage(
                "--guard-param needs --guard-secret FILE|env:NAME for banq".to_owned(),
            ));
        }
        (None, None) => {}
    }
    if args.guard_secret.is_none() && args.previous_guard_secret.is_some() {
        return Err(VerifyError::Usage(
            "--previous-guard-secret needs --guard-secret FILE|env:NAME for banq".to_owned(),
        ));
    }
    let notice = receiver
        .receive(&input.request())
        .map_err(|e| VerifyError::Rejected(e.to_string()))?;
    let event = notice.event();
    let authenticity = match notice.authenticity() {
        Authenticity::Guarded => "guarded",
        _ => "unverified",
    };
    let note = if notice.needs_fetch_back() {
        "Banq does not sign its webhooks: nothing in this notice is established. Confirm it by \
         fetching the payment (GET /payments/{resourceId}) before acting on it."
    } else {
        "Banq does not sign its webhooks: nothing in this notice is established, and only a \
         completed Payment notice is confirmed by fetch-back."
    };
    Ok(json!({
        "provider": payments_banq::webhook::PROVIDER,
        "authenticity": authenticity,
        "established": false,
        "note": note,
        "event_id": event.id,
        "dedup_key": notice.dedup_key(),
        "event_type": format!("{}.{}", event.resource_type, event.action),
        "payment_id": notice.payment_id(),
        "status": Value::Null,
        "raw_status": Value::Null,
        "occurred_at": Value::Null,
        "data": {
            "action": event.action,
            "resourceType": event.resource_type,
            "resourceId": event.resource_id,
            "needs_fetch_back": notice.needs_fetch_back(),
            "raw": event.raw,
        },
    }))
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
    use clap::Parser;
    use payments_sandbox::{DeliveryRecord, Sandbox};

    use crate::args::{Cli, Command, WebhookCommand};

    fn input(options: &[&str], url: &str, body: &[u8]) -> VerifyInput {
        let mut argv = vec![
            "payments",
            "webhook",
            "verify",
            "--provider",
            "banq",
            "--body",
            "-",
            "--url",
            url,
        ];
        argv.extend_from_slice(options);
        let cli = Cli::try_parse_from(argv).unwrap();
        let Command::Webhook {
            command: WebhookCommand::Verify(args),
        } = cli.command
        else {
            panic!("parsed as webhook verify");
        };
        VerifyInput {
            args,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_vec(),
            at: time::OffsetDateTime::now_utc(),
        }
    }

    /// A link paid in the sandbox, and the notice the sandbox delivered for it.
    async fn sandbox_notice(secret: &str) -> (DeliveryRecord, String) {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let info = sandbox.info()["providers"]["banq"].clone();
        let c = sandbox.credentials();
        let guid = info["destination_banq_guid"].as_str().unwrap();
        let client = BanqClient::new(
            BanqConfig::new(
                c.banq_company_id.clone(),
                OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password),
            )
            .merchant_user(MerchantUserCredentials::new(
                &c.banq_username,
                &c.banq_password,
            ))
            .api_base_url(info["api_base_url"].as_str().unwrap())
            .token_url(info["token_url"].as_str().unwrap()),
        )
        .unwrap();
        let hook = payments_banq::testing::guarded_url(
            &format!("{}/_sandbox/sink/banq", sandbox.base_url()),
            "token",
            secret,
        );
        client
            .setup_webhooks(guid, &WebhookConfigRequest::new(&hook))
            .await
            .unwrap();
        let id = client
            .create_payment_link(&PaymentLinkRequest::once(
                guid,
                Money::from_minor(1_000, Currency::USD),
                "c",
                "order-cli",
            ))
            .await
            .unwrap()
            .id
            .unwrap();
        sandbox
            .act(Provider::Banq, &id, PayerAction::Pay)
            .await
            .unwrap();
        let delivery = sandbox
            .wait_for_delivery(|d| d.payment_id == id, Duration::from_secs(5))
            .await
            .expect("delivered");
        sandbox.shutdown().await;
        (delivery, id)
    }

    const SECRET: &str = "cli-test-secret-0123456789";

    #[tokio::test]
    async fn a_previous_guard_secret_verifies_during_a_rotation() {
        const PREVIOUS: &str = "cli-test-previous-0123456789";
        let files = crate::test_support::Files::new("banq-rotation");
        let current = files.write("current", format!("{SECRET}\n").as_bytes());
        let previous = files.write("previous", PREVIOUS.as_bytes());
        let body = payments_banq::testing::WebhookEventBuilder::payment_completed("p-1").to_vec();
        let url = payments_banq::testing::guarded_url(
            "https://merchant.example/banq/webhook",
            "token",
            PREVIOUS,
        );
        let rotating = [
            "--guard-secret",
            &current,
            "--previous-guard-secret",
            &previous,
        ];
        let out = verify(&input(&rotating, &url, &body)).await.unwrap();
        assert_eq!(out["authenticity"], "guarded");
        assert!(!out.to_string().contains(PREVIOUS), "never printed");
        // Once the previous secret is no longer given, it is refused.
        let err = verify(&input(&["--guard-secret", &current], &url, &body))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason)
                if reason.contains("does not match") && !reason.contains(PREVIOUS)),
            "{err:?}"
        );
        // A previous secret alone is a usage error.
        let err = verify(&input(&["--previous-guard-secret", &previous], &url, &body))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Usage(m) if m.contains("--guard-secret")),
            "{err:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandbox_notice_is_accepted_as_unconfirmed_and_guarded() {
        let (delivery, id) = sandbox_notice(SECRET).await;
        let out = verify(&input(&[], &delivery.url, delivery.body.as_bytes()))
            .await
            .unwrap();
        assert_eq!(out["authenticity"], "unverified");
        assert_eq!(out["established"], false);
        assert_eq!(out["payment_id"], id.as_str());
        assert_eq!(
            out["status"],
            Value::Null,
            "a notice has no status to trust"
        );
        assert_eq!(out["data"]["needs_fetch_back"], true);
        assert!(
            out["note"]
                .as_str()
                .unwrap()
                .contains("fetching the payment")
        );

        let secret_file =
            std::env::temp_dir().join(format!("payments-cli-banq-guard-{}", std::process::id()));
        std::fs::write(&secret_file, SECRET).unwrap();
        let spec = secret_file.to_string_lossy().into_owned();
        let guarded = verify(&input(
            &["--guard-secret", &spec],
            &delivery.url,
            delivery.body.as_bytes(),
        ))
        .await
        .unwrap();
        assert_eq!(guarded["authenticity"], "guarded");
        let _ = std::fs::remove_file(&secret_file);
        assert!(!guarded.to_string().contains(SECRET), "never printed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn one_changed_byte_is_rejected_when_it_breaks_the_notice_or_the_guard() {
        let (delivery, _) = sandbox_notice(SECRET).await;
        // The first byte: no longer a JSON object.
        let mut broken = delivery.body.clone().into_bytes();
        broken[0] = b'[';
        let err = verify(&input(&[], &delivery.url, &broken))
            .await
            .unwrap_err();
        let VerifyError::Rejected(reason) = err else {
            panic!("rejected, not a usage error");
        };
        assert!(reason.contains("malformed payload"), "{reason}");
        // One byte of the URL secret changed: the guard refuses it.
        let tampered_url = delivery.url.replacen("token=c", "token=d", 1);
        assert_ne!(tampered_url, delivery.url);
        let secret_file =
            std::env::temp_dir().join(format!("payments-cli-banq-secret-{}", std::process::id()));
        std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
        let spec = secret_file.to_string_lossy().into_owned();
        let err = verify(&input(
            &["--guard-secret", &spec],
            &tampered_url,
            delivery.body.as_bytes(),
        ))
        .await
        .unwrap_err();
        let _ = std::fs::remove_file(&secret_file);
        let VerifyError::Rejected(reason) = err else {
            panic!("rejected, not a usage error");
        };
        assert!(reason.contains("does not match"), "{reason}");
        assert!(!reason.contains(SECRET));
        // A changed byte inside the payment id is NOT detectable offline: the notice only
        // claims something, which is why it is printed as unestablished.
        let mut swapped = delivery.body.clone().into_bytes();
        let at = delivery.body.rfind('"').unwrap() - 1;
        swapped[at] = if swapped[at] == b'0' { b'1' } else { b'0' };
        let out = verify(&input(&[], &delivery.url, &swapped)).await.unwrap();
        assert_eq!(out["established"], false);
        assert_ne!(out["payment_id"], delivery.payment_id.as_str());
    }

    #[tokio::test]
    async fn guard_options_are_checked_as_usage() {
        let body = br#"{"action":"completed","resourceType":"Payment","resourceId":"p-1"}"#;
        let url = "https://merchant.example/webhook";
        for (options, expected) in [
            (vec!["--guard-param", "token"], "--guard-secret"),
            (
                vec!["--guard-secret", "env:PAYMENTS_CLI_TEST_UNSET_VARIABLE"],
                "not set",
            ),
        ] {
            let err = verify(&input(&options, url, body)).await.unwrap_err();
            let VerifyError::Usage(message) = err else {
                panic!("a usage error for {options:?}");
            };
            assert!(message.contains(expected), "{message}");
        }
        let short =
            std::env::temp_dir().join(format!("payments-cli-banq-short-{}", std::process::id()));
        std::fs::write(&short, "short").unwrap();
        let spec = short.to_string_lossy().into_owned();
        let err = verify(&input(&["--guard-secret", &spec], url, body))
            .await
            .unwrap_err();
        let _ = std::fs::remove_file(&short);
        assert!(matches!(err, VerifyError::Usage(m) if m.contains("at least")));
    }

    #[test]
    fn reconciliation_names_the_first_mismatch() {
        let payment = |body: &str| payments_banq::wire::parse_payment(body.as_bytes()).unwrap();
        let usd = Money::from_minor(2_500, Currency::USD);
        let good =
            payment(r#"{"id":"p","status":"completed","funds":25.00,"externalOrderCode":"o"}"#);
        assert_eq!(reconcile(&good, "p", usd, "o"), Ok(()));
        let cases = [
            (
                r#"{"id":"q","status":"completed","funds":25,"externalOrderCode":"o"}"#,
                "not p",
            ),
            (
                r#"{"id":"p","status":"completed","funds":25.01,"externalOrderCode":"o"}"#,
                "funds",
            ),
            (
                r#"{"id":"p","status":"completed","funds":25,"externalOrderCode":"x"}"#,
                "externalOrderCode",
            ),
            (
                r#"{"id":"p","status":"pending","funds":25,"externalOrderCode":"o"}"#,
                "not succeeded",
            ),
            (
                r#"{"id":"p","status":"Paid","funds":25,"externalOrderCode":"o"}"#,
                "not succeeded",
            ),
        ];
        for (body, expected) in cases {
            let err = reconcile(&payment(body), "p", usd, "o").unwrap_err();
            assert!(err.contains(expected), "{body}: {err}");
        }
    }
}
