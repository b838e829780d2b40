//! paylican: demo flow and webhook verification.
//!
//! ## Demo
//! Steps: `register webhook` (sandbox only: Paylican's webhook URL is set at onboarding, here the
//! sandbox's console setting, pointing at the local receiver with a secret last path segment),
//! `token` (Keycloak password grant), then `create` (every documented field, an exact decimal
//! amount), `payer pays` (the payment-page URL the crate builds is opened — Keycloak's `302`, then
//! the page — and the sandbox payer pays), `webhook verified` (the crate's verifier behind a
//! URL-secret guard and a source allow-list of 127.0.0.1: `guarded`, since Paylican signs
//! nothing), `status fetched` and `reconciled` (invoice id, amount, reference, status `PAID` →
//! `Succeeded` against the order; Paylican carries no currency: the account's is assumed).
//!
//! Paylican documents no status endpoint. Against the sandbox, `status fetched` uses the sandbox's
//! own extension (`/sandbox-extension/invoice/{invoiceId}`, via `PaylicanConfig::status_path`)
//! and says so; against the real Paylican it runs only with `PAYLICAN_STATUS_PATH`, and
//! `reconciled` then uses the verified webhook.
//!
//! ## Real Paylican (not testable offline)
//! Used when `PAYLICAN_USERNAME` and `PAYLICAN_PASSWORD` are set and `--offline` is not given.
//! Paylican has no public sandbox: each merchant gets its own hosts.
//! - required: `PAYLICAN_KEYCLOAK_URL`, `PAYLICAN_PAYMENT_URL`, `PAYLICAN_USERNAME`,
//!   `PAYLICAN_PASSWORD`, `PAYLICAN_PAYMENT_TYPE`;
//! - optional: `PAYLICAN_REALM` (default `PGW`), `PAYLICAN_CLIENT_ID` (default
//!   `invoice-system-client`), `PAYLICAN_CURRENCY` (ISO code of the account, default `GNF`),
//!   `PAYLICAN_AMOUNT` (major units, default `100`), `PAYLICAN_STATUS_PATH` (only if Paylican gave
//!   you a status endpoint), `PAYLICAN_WEBHOOK_SECRET` (the secret last path segment of the
//!   webhook URL given at onboarding);
//! - `PAYMENTS_DEMO_PUBLIC_URL`: a public URL forwarding to the demo's local receiver (whose port
//!   is random: the forwarding must target it), and Paylican's onboarding URL must be
//!   `{PAYMENTS_DEMO_PUBLIC_URL}/paylican/webhook/{PAYLICAN_WEBHOOK_SECRET}`. Without it the
//!   webhook step is skipped.
//!
//! "payer pays" prints the payment-page URL on stderr and waits (up to `--timeout`) for `PAID`
//! through the status endpoint, or else through the webhook.
//!
//! ## Verify
//! Paylican signs nothing: the output's `authenticity` is `unverified` (no guard given: nothing is
//! established) or `guarded` (the sender knew the URL secret or the basic-auth credentials — still
//! a claim about the content). Guards:
//! - `--guard-secret FILE|env:NAME`: the secret as the URL's last path segment (`--url`);
//! - `--guard-secret ... --guard-param NAME`: the secret as query parameter `NAME`;
//! - `--previous-guard-secret FILE|env:NAME` (with `--guard-secret`): during a rotation, the
//!   previous URL secret, accepted as well;
//! - `--basic-auth FILE|env:NAME`: `user:password`, checked against `Authorization: Basic`
//!   (combinable with a URL secret).
//!
//! The source-IP guard needs the peer address, which a captured webhook does not have. `--at` is
//! unused: the scheme has no timestamp to check.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use payments_core::http::{HttpClient, HttpConfig};
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::token::TokenCache;
use payments_core::webhook::{VerifiedEvent, WebhookVerifier};
use payments_core::{Currency, Decimal, Money, PaymentStatus};
use payments_paylican::auth::KeycloakTokenSource;
use payments_paylican::convert::unified_status;
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_paylican::{
    CreatePaymentRequest, CreatedPayment, Invoice, PaylicanClient, PaylicanConfig, WebhookEvent,
};
use payments_sandbox::{PayerAction, Provider};
use serde_json::Value;

use crate::demo::DemoContext;
use crate::flow::{Failed, Flow};
use crate::verify::{VerifyError, VerifyInput, event_json, read_secret};

/// The sandbox-only status endpoint (see the sandbox's Paylican module).
const SANDBOX_STATUS_PATH: &str = "/sandbox-extension/invoice/{invoiceId}";

/// Where the receiver expects Paylican's webhooks.
const WEBHOOK_PATH: &str = "/paylican/webhook";

/// What the flow runs against.
struct Target {
    config: PaylicanConfig,
    currency: Currency,
    amount: Decimal,
    payment_type: String,
    /// The secret last path segment of the webhook URL, if any.
    guard_secret: Option<SecretString>,
    /// `false`: the real Paylican.
    sandbox: bool,
    /// Real mode: the public URL forwarding to the receiver.
    public_url: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &str) -> Result<String, String> {
    env(name).ok_or_else(|| format!("{name} is not set (needed to run against the real Paylican)"))
}

/// A demo secret: not guessable from outside the process, at least 16 bytes.
fn demo_secret() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("demo-{nanos:x}-{:x}", std::process::id())
}

fn sandbox_target(ctx: &DemoContext<'_>) -> Target {
    let url = ctx.sandbox.provider_url(Provider::Paylican);
    let creds = ctx.sandbox.credentials();
    let config = PaylicanConfig::new(
        url.clone(),
        url,
        creds.paylican_username.clone(),
        creds.paylican_password.clone(),
    )
    .realm(creds.paylican_realm.clone())
    .client_id(creds.paylican_client_id.clone())
    .status_path(SANDBOX_STATUS_PATH)
    .currency(Currency::GNF);
    Target {
        config,
        currency: Currency::GNF,
        amount: Money::from_minor(250_000, Currency::GNF).to_decimal(),
        payment_type: "DEMO".to_owned(),
        guard_secret: Some(SecretString::from(demo_secret())),
        sandbox: true,
        public_url: None,
    }
}

fn real_target() -> Result<Target, String> {
    let currency = match env("PAYLICAN_CURRENCY") {
        Some(code) => Currency::from_code(&code).map_err(|e| format!("PAYLICAN_CURRENCY: {e}"))?,
        None => Currency::GNF,
    };
    let amount_text = env("PAYLICAN_AMOUNT").unwrap_or_else(|| "100".to_owned());
    let amount = Decimal::parse(&amount_text)
        .map_err(|e| format!("PAYLICAN_AMOUNT `{amount_text}`: {e}"))?;
    let mut config = PaylicanConfig::new(
        required("PAYLICAN_KEYCLOAK_URL")?,
        required("PAYLICAN_PAYMENT_URL")?,
        required("PAYLICAN_USERNAME")?,
        required("PAYLICAN_PASSWORD")?,
    )
    .currency(currency);
    if let Some(realm) = env("PAYLICAN_REALM") {
        config = config.realm(realm);
    }
    if let Some(client_id) = env("PAYLICAN_CLIENT_ID") {
        config = config.client_id(client_id);
    }
    if let Some(path) = env("PAYLICAN_STATUS_PATH") {
        config = config.status_path(path);
    }
    Ok(Target {
        config,
        currency,
        amount,
        payment_type: required("PAYLICAN_PAYMENT_TYPE")?,
        guard_secret: env("PAYLICAN_WEBHOOK_SECRET").map(SecretString::from),
        sandbox: false,
        public_url: env("PAYMENTS_DEMO_PUBLIC_URL"),
    })
}

fn real_mode_requested(ctx: &DemoContext<'_>) -> bool {
    !ctx.offline && env("PAYLICAN_USERNAME").is_some() && env("PAYLICAN_PASSWORD").is_some()
}

pub(crate) async fn demo(ctx: &DemoContext<'_>, flow: &mut Flow) -> Result<(), Failed> {
    let target = if real_mode_requested(ctx) {
        let target = match real_target() {
            Ok(target) => target,
            Err(cause) => {
                flow.set_target("Paylican (real; configuration incomplete)");
                return flow.step::<(), _>("token", async move { Err(cause) }).await;
            }
        };
        flow.set_target(format!("Paylican ({})", target.config.payment_url));
        target
    } else {
        sandbox_target(ctx)
    };
    run(ctx, flow, target).await
}

/// The path (and secret) Paylican posts to.
fn webhook_path(secret: Option<&SecretString>) -> String {
    match secret {
        Some(secret) => format!("{WEBHOOK_PATH}/{}", secret.expose_secret()),
        None => WEBHOOK_PATH.to_owned(),
    }
}

async fn run(ctx: &DemoContext<'_>, flow: &mut Flow, target: Target) -> Result<(), Failed> {
    let secret = target.guard_secret.clone();
    let hook_path = webhook_path(secret.as_ref());
    if target.sandbox {
        flow.step("register webhook", async {
            // Paylican takes it at onboarding: the sandbox's console setting.
            ctx.sandbox
                .set_webhook_url(Provider::Paylican, Some(ctx.receiver.url(&hook_path)));
            Ok((
                (),
                format!("console URL set to the receiver, {WEBHOOK_PATH}/<secret>"),
            ))
        })
        .await?;
    }

    let config = target.config.clone().http(HttpConfig::default());
    let client = flow
        .step("token", async {
            let http = HttpClient::new(
                payments_paylican::webhook::PROVIDER,
                env!("CARGO_PKG_NAME"),
                env!("CARGO_PKG_VERSION"),
                &config.http,
            )
            .map_err(|e| e.to_string())?;
            let token_url = config.effective_token_url().map_err(|e| e.to_string())?;
            let source = KeycloakTokenSource::new(
                http.clone(),
                token_url,
                config.client_id.clone(),
                config.username.clone(),
                config.password.clone(),
            );
            let tokens = TokenCache::new(source);
            tokens
                .get()
                .await
                .map_err(|e| format!("Keycloak password grant: {e}"))?;
            let detail = format!(
                "password grant: realm {}, client {}",
                config.realm, config.client_id
            );
            let client = PaylicanClient::with_token_cache(config.clone(), tokens, http)
                .map_err(|e| e.to_string())?;
            Ok((client, detail))
        })
        .await?;

    let reference = format!("{}-paylican", ctx.run_id);
    let request = CreatePaymentRequest::new(target.amount, &target.payment_type, &reference)
        .customer_code("DEMO-CUSTOMER")
        .item_name("payments demo order")
        .beneficiary_code("20")
        .redirection_url("https://merchant.example/paylican/return")
        .additional_field("documentNo", &reference);
    let (created, order): (CreatedPayment, Money) = flow
        .step("create", async {
            let order = Money::from_decimal(target.amount, target.currency)
                .map_err(|e| format!("the order amount {}: {e}", target.amount))?;
            let created = client
                .create_payment(&request)
                .await
                .map_err(|e| e.to_string())?;
            let detail = format!(
                "invoice {}, {} {}, ref {}",
                created.invoice_id,
                target.amount,
                target.currency.code(),
                created.merchant_reference
            );
            Ok(((created, order), detail))
        })
        .await?;

    let paid_by_poll = flow
        .step("payer pays", payer_pays(ctx, &client, &created, &target))
        .await?;

    let event = if target.sandbox || target.public_url.is_some() {
        Some(
            flow.step(
                "webhook verified",
                webhook_verified(
                    ctx,
                    &created.invoice_id,
                    secret.as_ref(),
                    target.sandbox,
                    target.currency,
                ),
            )
            .await?,
        )
    } else {
        flow.skip(
            "webhook verified",
            "PAYMENTS_DEMO_PUBLIC_URL is not set: Paylican cannot reach the local receiver",
        );
        None
    };

    let fetched = if client.has_status_endpoint() {
        let note = if target.sandbox {
            " (sandbox-extension endpoint: Paylican documents none)"
        } else {
            " (PAYLICAN_STATUS_PATH)"
        };
        Some(
            flow.step("status fetched", async {
                let invoice = client
                    .get_invoice(&created.invoice_id)
                    .await
                    .map_err(|e| e.to_string())?;
                let detail = format!("{} {}{note}", invoice.id, invoice.status);
                Ok((invoice, detail))
            })
            .await?,
        )
    } else {
        flow.skip(
            "status fetched",
            "Paylican documents no status endpoint (set PAYLICAN_STATUS_PATH if it gave you one)",
        );
        paid_by_poll
    };

    let (invoice, source) = match (fetched, event) {
        (Some(invoice), _) => (invoice, "fetched invoice"),
        (None, Some(event)) => (event.data.data, "verified webhook (a guarded claim)"),
        (None, None) => {
            flow.skip("reconciled", "nothing was fetched or received to reconcile");
            return Ok(());
        }
    };
    flow.step("reconciled", async {
        reconcile(&invoice, &created, order, &reference)
            .map(|detail| ((), format!("{detail}, from the {source}")))
    })
    .await
}

/// Opens the payment page (sandbox: then pays as the sandbox payer; real: waits for `PAID`).
/// Returns the invoice if it was polled.
async fn payer_pays(
    ctx: &DemoContext<'_>,
    client: &PaylicanClient,
    created: &CreatedPayment,
    target: &Target,
) -> Result<(Option<Invoice>, String), String> {
    if target.sandbox {
        let browser = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build the browser client: {e}"))?;
        let page = browser
            .get(&created.payment_page_url)
            .send()
            .await
            .map_err(|e| format!("payment page: {}", e.without_url()))?;
        let status = page.status();
        let landed = page.url().path().to_owned();
        if !status.is_success() || !landed.contains("/api/v1/pay/") {
            return Err(format!(
                "payment page: HTTP {status} at {landed} (expected the pay page after Keycloak)"
            ));
        }
        let paid = ctx
            .sandbox
            .act(Provider::Paylican, &created.invoice_id, PayerAction::Pay)
            .await
            .map_err(|e| format!("sandbox payer: {e}"))?;
        let raw = paid.get("status").and_then(Value::as_str).unwrap_or("?");
        return Ok((
            None,
            format!("payment page {status} (via Keycloak), invoice {raw}"),
        ));
    }
    eprintln!(
        "[paylican] open this payment page and pay: {}",
        created.payment_page_url
    );
    if client.has_status_endpoint() {
        let deadline = tokio::time::Instant::now() + ctx.timeout;
        loop {
            let invoice = client
                .get_invoice(&created.invoice_id)
                .await
                .map_err(|e| e.to_string())?;
            if unified_status(&invoice.status).is_final() {
                let detail = format!("invoice {}", invoice.status);
                return Ok((Some(invoice), detail));
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(format!(
                    "still {} after {} s",
                    invoice.status,
                    ctx.timeout.as_secs()
                ));
            }
            tokio::time::sleep(Duration::from_secs(3)).await;
        }
    }
    if target.public_url.is_some() {
        return Ok((None, "waiting for the webhook".to_owned()));
    }
    Err("cannot observe the payment: set PAYLICAN_STATUS_PATH or PAYMENTS_DEMO_PUBLIC_URL".into())
}

/// What the demo established from a webhook.
struct ReceivedEvent {
    data: WebhookEvent,
}

async fn webhook_verified(
    ctx: &DemoContext<'_>,
    invoice_id: &str,
    secret: Option<&SecretString>,
    sandbox: bool,
    currency: Currency,
) -> Result<(ReceivedEvent, String), String> {
    let received = ctx
        .receiver
        .wait(
            |r| {
                r.path().starts_with(WEBHOOK_PATH)
                    && serde_json::from_slice::<Value>(&r.body).is_ok_and(|body| {
                        body.pointer("/data/id").and_then(Value::as_str) == Some(invoice_id)
                            && body.pointer("/data/status").and_then(Value::as_str) == Some("PAID")
                    })
            },
            ctx.timeout,
        )
        .await
        .ok_or_else(|| {
            format!(
                "no PAID webhook about {invoice_id} within {} s",
                ctx.timeout.as_secs()
            )
        })?;
    let mut guards = WebhookGuards::new();
    let mut shown = Vec::new();
    if let Some(secret) = secret {
        guards = guards
            .secret_in_path(secret.expose_secret())
            .map_err(|e| e.to_string())?;
        shown.push("URL secret");
    }
    if sandbox {
        // The sandbox posts from this machine; the TCP peer, never X-Forwarded-For.
        guards = guards
            .allow_source("127.0.0.1")
            .map_err(|e| e.to_string())?;
        shown.push("source 127.0.0.1");
    }
    let verifier = PaylicanWebhookVerifier::new(guards).currency(currency);
    let event = verifier
        .verify_from(&received.request(), received.peer.ip())
        .map_err(|e| format!("rejected: {e}"))?;
    let guards = if shown.is_empty() {
        "no guard: unverified".to_owned()
    } else {
        format!("guarded by {}", shown.join(" + "))
    };
    let detail = format!(
        "event {} {} {}, {guards} (Paylican signs nothing)",
        event.event_id,
        event.event_type.as_deref().unwrap_or("?"),
        event.raw_status.as_deref().unwrap_or("?"),
    );
    Ok((ReceivedEvent { data: event.data }, detail))
}

/// Compares the invoice with the order.
fn reconcile(
    invoice: &Invoice,
    created: &CreatedPayment,
    order: Money,
    reference: &str,
) -> Result<String, String> {
    if invoice.id != created.invoice_id {
        return Err(format!(
            "invoice id {} is not the created {}",
            invoice.id, created.invoice_id
        ));
    }
    let amount = invoice
        .total_amount
        .ok_or_else(|| "the invoice carries no totalAmount".to_owned())?;
    let money = Money::from_decimal(amount, order.currency())
        .map_err(|e| format!("totalAmount {amount}: {e}"))?;
    if money != order {
        return Err(format!(
            "amount {amount} is not the order's {}",
            order.to_decimal_string()
        ));
    }
    if invoice.document_no.as_deref() != Some(reference) {
        return Err(format!(
            "documentNo {:?} is not the order reference {reference}",
            invoice.document_no
        ));
    }
    let status = unified_status(&invoice.status);
    if status != PaymentStatus::Succeeded {
        return Err(format!("status {} ({status})", invoice.status));
    }
    Ok(format!(
        "{} {} (account currency), ref {reference}, {} → succeeded",
        order.to_decimal_string(),
        order.currency().code(),
        invoice.status
    ))
}

/// The verifier `input`'s options ask for.
fn verifier(input: &VerifyInput) -> Result<PaylicanWebhookVerifier, VerifyError> {
    let args = &input.args;
    let mut guards = WebhookGuards::new();
    match (&args.guard_secret, &args.guard_param) {
        (None, None) => {}
        (None, Some(param)) => {
            return Err(VerifyError::Usage(format!(
                "--guard-param {param} needs --guard-secret FILE|env:NAME for paylican"
            )));
        }
        (Some(spec), param) => {
            let secret = read_secret("--guard-secret", spec)?;
            let usage =
                |e: payments_core::Error| VerifyError::Usage(format!("--guard-secret: {e}"));
            guards = match param.as_deref() {
                None => guards
                    .secret_in_path(secret.expose_secret())
                    .map_err(usage)?,
                Some(p) => guards
                    .secret_in_query(p, secret.expose_secret())
                    .map_err(usage)?,
            };
            if let Some(spec) = &args.previous_guard_secret {
                let previous = read_secret("--previous-guard-secret", spec)?;
                guards = guards
                    .with_previous_url_secret(previous.expose_secret())
                    .map_err(|e| VerifyError::Usage(format!("--previous-guard-secret: {e}")))?;
            }
        }
    }
    if args.guard_secret.is_none() && args.previous_guard_secret.is_some() {
        return Err(VerifyError::Usage(
            "--previous-guard-secret needs --guard-secret FILE|env:NAME for paylican".to_owned(),
        ));
    }
    if let Some(spec) = &args.basic_auth {
        let credentials = read_secret("--basic-auth", spec)?;
        let (user, password) = credentials.expose_secret().split_once(':').ok_or_else(|| {
            VerifyError::Usage("--basic-auth: the file must hold user:password".to_owned())
        })?;
        guards = guards
            .basic_auth(user, &SecretString::from(password.to_owned()))
            .map_err(|e| VerifyError::Usage(format!("--basic-auth: {e}")))?;
    }
    Ok(PaylicanWebhookVerifier::new(guards))
}

/// The typed payload as JSON, `totalAmount` as an exact decimal string (a JSON value would
/// carry it as a float).
fn data_json(event: &VerifiedEvent<WebhookEvent>) -> Value {
    let mut data = serde_json::to_value(&event.data).unwrap_or(Value::Null);
    if let (Some(total), Some(invoice)) = (
        event.data.data.total_amount,
        data.get_mut("data").and_then(Value::as_object_mut),
    ) {
        invoice.insert("totalAmount".to_owned(), Value::String(total.to_string()));
    }
    data
}

pub(crate) async fn verify(input: &VerifyInput) -> Result<Value, VerifyError> {
    let verifier = verifier(input)?;
    let event = verifier
        .verify(&input.request())
        .map_err(|e| VerifyError::Rejected(e.to_string()))?;
    let mut out = event_json(&event, data_json(&event));
    let note = if verifier.guards().is_empty() {
        "Paylican does not sign webhooks and no guard was given: nothing about the sender or the content is established"
    } else {
        "Paylican does not sign webhooks: the guards establish only that the sender knew the secret; the content is a claim"
    };
    if let Some(object) = out.as_object_mut() {
        object.insert("note".to_owned(), Value::String(note.to_owned()));
    }
    Ok(out)
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
    use payments_sandbox::{DeliveryRecord, Sandbox};

    const SECRET: &str = "cli-test-guard-secret-0123456789";

    use crate::test_support::Files;

    fn input(args: &[&str], delivery: &DeliveryRecord, body: &[u8]) -> VerifyInput {
        input_at(args, &delivery.url, &delivery.headers, body)
    }

    fn input_at(
        args: &[&str],
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> VerifyInput {
        let mut argv = vec![
            "payments",
            "webhook",
            "verify",
            "--provider",
            "paylican",
            "--body",
            "-",
            "--url",
            url,
        ];
        argv.extend_from_slice(args);
        let Command::Webhook {
            command: WebhookCommand::Verify(args),
        } = Cli::try_parse_from(argv).unwrap().command
        else {
            panic!("not a verify command");
        };
        VerifyInput {
            args,
            headers: headers.to_vec(),
            body: body.to_vec(),
            at: time::OffsetDateTime::now_utc(),
        }
    }

    /// A paid invoice's webhook, delivered by the sandbox to a guarded sink URL.
    async fn sandbox_webhook(
        user_info: &str,
    ) -> (payments_sandbox::RunningSandbox, DeliveryRecord) {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let sink = format!("{}/_sandbox/sink/paylican/{SECRET}", sandbox.base_url());
        let sink = sink.replacen("http://", &format!("http://{user_info}"), 1);
        sandbox.set_webhook_url(Provider::Paylican, Some(sink));
        let url = sandbox.provider_url(Provider::Paylican);
        let creds = sandbox.credentials();
        let client = PaylicanClient::new(
            PaylicanConfig::new(
                url.clone(),
                url,
                creds.paylican_username.clone(),
                creds.paylican_password.clone(),
            )
            .realm(creds.paylican_realm.clone())
            .client_id(creds.paylican_client_id.clone()),
        )
        .unwrap();
        let created = client
            .create_payment(&CreatePaymentRequest::new(
                Decimal::parse("5100.00").unwrap(),
                "XYZ",
                "REF-1234",
            ))
            .await
            .unwrap();
        sandbox
            .act(Provider::Paylican, &created.invoice_id, PayerAction::Pay)
            .await
            .unwrap();
        let delivery = sandbox
            .wait_for_delivery(
                |d| d.payment_id == created.invoice_id,
                Duration::from_secs(5),
            )
            .await
            .expect("the sandbox delivered the webhook");
        (sandbox, delivery)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_sandbox_webhook_verifies_behind_its_url_secret_and_a_broken_one_does_not() {
        let (sandbox, delivery) = sandbox_webhook("").await;
        let files = Files::new("paylican-secret");
        let secret = files.write("secret", format!("{SECRET}\n").as_bytes());
        let body = delivery.body.as_bytes();

        let event = verify(&input(&["--guard-secret", &secret], &delivery, body))
            .await
            .unwrap();
        assert_eq!(event["provider"], "paylican");
        assert_eq!(event["authenticity"], "guarded");
        assert_eq!(event["payment_id"], delivery.payment_id.as_str());
        assert_eq!(event["status"], "succeeded");
        assert_eq!(event["raw_status"], "PAID");
        assert_eq!(event["data"]["data"]["totalAmount"], "5100.00");
        assert_eq!(event["data"]["data"]["documentNo"], "REF-1234");
        assert!(!event.to_string().contains(SECRET), "{event}");

        // One byte changed so that the body is no longer Paylican's format: rejected.
        let mut broken = body.to_vec();
        broken[0] = b'[';
        let err = verify(&input(&["--guard-secret", &secret], &delivery, &broken))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason) if reason.contains("malformed")),
            "{err:?}"
        );
        // One digit changed: unsigned, so it still passes — as a guarded claim, never more.
        let at = delivery.body.find("5100.00").unwrap();
        let mut altered = body.to_vec();
        altered[at] = b'9';
        let event = verify(&input(&["--guard-secret", &secret], &delivery, &altered))
            .await
            .unwrap();
        assert_eq!(event["authenticity"], "guarded");
        assert_eq!(event["data"]["data"]["totalAmount"], "9100.00");

        // A wrong secret in the URL is rejected with the verifier's reason.
        let mut elsewhere = delivery.clone();
        elsewhere.url = elsewhere.url.replace(SECRET, "not-the-secret-at-all-0123");
        let err = verify(&input(&["--guard-secret", &secret], &elsewhere, body))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason) if reason.contains("wrong URL secret")),
            "{err:?}"
        );
        sandbox.shutdown().await;
    }

    #[tokio::test]
    async fn a_previous_guard_secret_verifies_during_a_rotation() {
        const PREVIOUS: &str = "cli-test-previous-guard-0123456789";
        let files = Files::new("paylican-rotation");
        let current = files.write("current", format!("{SECRET}\n").as_bytes());
        let previous = files.write("previous", PREVIOUS.as_bytes());
        let url = format!("https://merchant.example/paylican/webhook/{PREVIOUS}");
        let input = |args: &[&str], body: &[u8]| input_at(args, &url, &[], body);
        let body = payments_paylican::testing::PAYMENT_EXECUTED.as_bytes();
        let rotating = [
            "--guard-secret",
            &current,
            "--previous-guard-secret",
            &previous,
        ];
        let event = verify(&input(&rotating, body)).await.unwrap();
        assert_eq!(event["authenticity"], "guarded");
        assert!(!event.to_string().contains(PREVIOUS), "never printed");
        // Once the previous secret is no longer given, it is refused.
        let err = verify(&input(&["--guard-secret", &current], body))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason)
                if reason.contains("wrong URL secret") && !reason.contains(PREVIOUS)),
            "{err:?}"
        );
        // A previous secret alone is a usage error.
        let err = verify(&input(&["--previous-guard-secret", &previous], body))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Usage(m) if m.contains("--guard-secret")),
            "{err:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn without_guards_the_event_is_unverified_and_says_so() {
        let (sandbox, delivery) = sandbox_webhook("").await;
        let event = verify(&input(&[], &delivery, delivery.body.as_bytes()))
            .await
            .unwrap();
        assert_eq!(event["authenticity"], "unverified");
        assert!(
            event["note"]
                .as_str()
                .unwrap()
                .contains("nothing about the sender")
        );
        sandbox.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn basic_auth_credentials_are_checked_when_asked_for() {
        let (sandbox, delivery) = sandbox_webhook("paylican:basic-password-0123456789@").await;
        assert!(
            delivery
                .headers
                .iter()
                .any(|(n, v)| n == "Authorization" && v.starts_with("Basic "))
        );
        let files = Files::new("paylican-basic");
        let good = files.write("good", b"paylican:basic-password-0123456789");
        let bad = files.write("bad", b"paylican:another-password-0123456");
        let args = |file: &str| -> Vec<String> { vec!["--basic-auth".into(), file.into()] };
        let good_args = args(&good);
        let good_refs: Vec<&str> = good_args.iter().map(String::as_str).collect();
        let event = verify(&input(&good_refs, &delivery, delivery.body.as_bytes()))
            .await
            .unwrap();
        assert_eq!(event["authenticity"], "guarded");
        let bad_args = args(&bad);
        let bad_refs: Vec<&str> = bad_args.iter().map(String::as_str).collect();
        let err = verify(&input(&bad_refs, &delivery, delivery.body.as_bytes()))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason) if reason.contains("basic")),
            "{err:?}"
        );
        sandbox.shutdown().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_guard_option_without_its_secret_is_a_usage_error() {
        let (sandbox, delivery) = sandbox_webhook("").await;
        let err = verify(&input(
            &["--guard-param", "token"],
            &delivery,
            delivery.body.as_bytes(),
        ))
        .await
        .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Usage(m) if m.contains("--guard-secret")),
            "{err:?}"
        );
        let err = verify(&input(
            &["--guard-secret", "/nonexistent/paylican-secret"],
            &delivery,
            delivery.body.as_bytes(),
        ))
        .await
        .unwrap_err();
        assert!(matches!(err, VerifyError::Usage(_)), "{err:?}");
        sandbox.shutdown().await;
    }
}
