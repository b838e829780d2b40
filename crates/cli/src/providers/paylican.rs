//! Paylican: a real Paylican account, and offline webhook verification.
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
//!   webhook steps are skipped.
//!
//! "payer pays" prints the payment-page URL on stderr and polls the status endpoint until the
//! invoice is final (with `PAYLICAN_STATUS_PATH`), or leaves it to the webhook. Paylican signs
//! nothing and, without a status endpoint, nothing can be fetched back: the ledger then applies
//! what a sender who knew the URL secret claims (`Guarded`), and nothing without one. Against
//! the sandbox the flow runs on `payments_sandbox::hooks::paylican`, whose status endpoint the
//! ledger fetches back through.
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

use std::time::Duration;

use payments_core::http::HttpConfig;
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::webhook::{Authenticity, VerifiedEvent, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Decimal, Money, PaymentProvider};
use payments_paylican::webhook::{PaylicanWebhookVerifier, WebhookGuards};
use payments_paylican::{PaylicanClient, PaylicanConfig, PaylicanEvent};
use payments_sandbox::hooks::{
    Connected, DynVerifier, HookError, Paid, ProviderHooks, ToPay, erase,
};
use payments_sandbox::{Provider, RunningSandbox};
use serde_json::Value;

use super::{Target, env, pay_by_polling};
use crate::args::PaylicanVerifyArgs;
use crate::verify::{Capture, VerifyError, event_json, read_secret};

/// A real Paylican account, from the environment.
struct RealPaylican {
    config: PaylicanConfig,
    order: Money,
    /// The secret last path segment of the webhook URL, if any.
    guard_secret: Option<SecretString>,
    webhooks: bool,
}

fn required(name: &str) -> Result<String, String> {
    env(name).ok_or_else(|| format!("{name} is not set (needed to run against the real Paylican)"))
}

fn from_env() -> Option<Result<RealPaylican, String>> {
    env("PAYLICAN_USERNAME")?;
    env("PAYLICAN_PASSWORD")?;
    Some(build_from_env())
}

fn build_from_env() -> Result<RealPaylican, String> {
    let currency = match env("PAYLICAN_CURRENCY") {
        Some(code) => Currency::from_code(&code).map_err(|e| format!("PAYLICAN_CURRENCY: {e}"))?,
        None => Currency::GNF,
    };
    let amount_text = env("PAYLICAN_AMOUNT").unwrap_or_else(|| "100".to_owned());
    let amount = Decimal::parse(&amount_text)
        .map_err(|e| format!("PAYLICAN_AMOUNT `{amount_text}`: {e}"))?;
    let order = Money::from_decimal(amount, currency)
        .map_err(|e| format!("PAYLICAN_AMOUNT `{amount_text}`: {e}"))?;
    let mut config = PaylicanConfig::new(
        required("PAYLICAN_KEYCLOAK_URL")?,
        required("PAYLICAN_PAYMENT_URL")?,
        required("PAYLICAN_USERNAME")?,
        required("PAYLICAN_PASSWORD")?,
    )
    .payment_type(required("PAYLICAN_PAYMENT_TYPE")?)
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
    Ok(RealPaylican {
        config,
        order,
        guard_secret: env("PAYLICAN_WEBHOOK_SECRET").map(SecretString::from),
        webhooks: env("PAYMENTS_DEMO_PUBLIC_URL").is_some(),
    })
}

pub(super) fn real_target(public: Option<String>) -> Option<Result<Target, String>> {
    Some(from_env()?.map(|real| {
        // Without a status endpoint nothing can be fetched back: only a guarded claim can
        // establish the status (and nothing at all without a guard).
        let trust = (real.config.status_path.is_none() && real.guard_secret.is_some())
            .then_some(Authenticity::Guarded);
        Target {
            provider: Provider::Paylican,
            description: format!("Paylican ({})", real.config.payment_url),
            minor_units: real.order.minor_units(),
            hooks: Box::new(real),
            webhooks: public
                .ok_or_else(|| {
                    "PAYMENTS_DEMO_PUBLIC_URL is not set: Paylican cannot reach the local receiver"
                        .to_owned()
                })
                .map(Some),
            trust,
        }
    }))
}

pub(super) fn real_client() -> Option<Result<Box<dyn PaymentProvider>, String>> {
    Some(from_env()?.and_then(|real| {
        PaylicanClient::new(real.config)
            .map(|c| Box::new(c) as Box<dyn PaymentProvider>)
            .map_err(|e| e.to_string())
    }))
}

#[payments_core::async_trait]
impl ProviderHooks for RealPaylican {
    fn provider(&self) -> Provider {
        Provider::Paylican
    }

    async fn connect(
        &self,
        _sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let webhook = if self.webhooks {
            let secret = if self.guard_secret.is_some() {
                "/<PAYLICAN_WEBHOOK_SECRET>"
            } else {
                ""
            };
            format!("set at onboarding (not by the API): {webhook_url}{secret}")
        } else {
            "none: Paylican cannot reach the local receiver".to_owned()
        };
        Ok(Connected {
            client: Box::new(PaylicanClient::new(self.config.clone().http(http))?),
            webhook,
        })
    }

    /// The configured amount and currency (`minor_units` is the same amount).
    fn create_request(&self, _minor_units: i64, _webhook_url: &str) -> CreatePayment {
        CreatePayment::new(self.order, "order")
            .description("payments demo order")
            .return_url("https://merchant.example/paylican/return")
    }

    fn verifier(
        &self,
        _sandbox: &RunningSandbox,
        _webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        let mut guards = WebhookGuards::new();
        if let Some(secret) = &self.guard_secret {
            guards = guards
                .secret_in_path(secret.expose_secret())
                .map_err(|e| HookError::new(format!("PAYLICAN_WEBHOOK_SECRET: {e}")))?;
        }
        Ok(erase(
            PaylicanWebhookVerifier::new(guards).currency(self.order.currency()),
        ))
    }

    /// The payer is a person on the payment page; the invoice is polled when Paylican gave a
    /// status endpoint, else its webhook says.
    async fn pay(&self, _sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let client = PaylicanClient::new(self.config.clone().http(payment.http.clone()))?;
        if client.has_status_endpoint() {
            return pay_by_polling(
                &client,
                payment.checkout,
                payment.timeout,
                Duration::from_secs(3),
            )
            .await;
        }
        eprintln!(
            "[paylican] open this payment page and pay: {}",
            payment.checkout.redirect_url.as_deref().unwrap_or("-")
        );
        if self.webhooks {
            Ok(Paid {
                detail: "no status endpoint: waiting for the webhook".to_owned(),
                observed: None,
            })
        } else {
            Err(HookError::new(
                "cannot observe the payment: set PAYLICAN_STATUS_PATH or PAYMENTS_DEMO_PUBLIC_URL",
            ))
        }
    }
}

/// The verifier `args` ask for.
fn verifier(args: &PaylicanVerifyArgs) -> Result<PaylicanWebhookVerifier, VerifyError> {
    let mut guards = WebhookGuards::new();
    if let Some(spec) = &args.guard_secret {
        let secret = read_secret("--guard-secret", spec)?;
        let usage = |e: payments_core::Error| VerifyError::Usage(format!("--guard-secret: {e}"));
        guards = match args.guard_param.as_deref() {
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
fn data_json(event: &VerifiedEvent<PaylicanEvent>) -> Value {
    let mut data = serde_json::to_value(&event.data).unwrap_or(Value::Null);
    if let (Some(total), Some(invoice)) = (
        event.data.data.total_amount,
        data.get_mut("data").and_then(Value::as_object_mut),
    ) {
        invoice.insert("totalAmount".to_owned(), Value::String(total.to_string()));
    }
    data
}

pub(super) async fn verify(
    args: &PaylicanVerifyArgs,
    capture: &Capture,
) -> Result<Value, VerifyError> {
    let verifier = verifier(args)?;
    let event = verifier
        .verify(&capture.request())
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
    use payments_core::Decimal;
    use payments_paylican::{CreatePaymentRequest, PaylicanClient, PaylicanConfig};
    use payments_sandbox::{DeliveryRecord, PayerAction, Sandbox};

    use super::*;
    use crate::test_support::{Files, verify_with};

    const SECRET: &str = "cli-test-guard-secret-0123456789";

    async fn check(
        args: &[&str],
        delivery: &DeliveryRecord,
        body: &[u8],
    ) -> Result<Value, VerifyError> {
        check_at(args, &delivery.url, &delivery.headers, body).await
    }

    async fn check_at(
        args: &[&str],
        url: &str,
        headers: &[(String, String)],
        body: &[u8],
    ) -> Result<Value, VerifyError> {
        let mut all = vec!["--url", url];
        all.extend_from_slice(args);
        verify_with("paylican", &all, headers, body, None).await
    }

    /// A paid invoice's webhook, delivered by the sandbox to a guarded sink URL.
    async fn sandbox_webhook(
        user_info: &str,
    ) -> (payments_sandbox::RunningSandbox, DeliveryRecord) {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let sink = format!("{}/_sandbox/sink/paylican/{SECRET}", sandbox.base_url());
        let sink = sink.replacen("http://", &format!("http://{user_info}"), 1);
        sandbox.set_webhook_url(Provider::Paylican, Some(sink));
        let paylican = sandbox.paylican();
        let client = PaylicanClient::new(
            PaylicanConfig::new(
                paylican.keycloak_url,
                paylican.payment_url,
                paylican.username,
                paylican.password,
            )
            .realm(paylican.realm)
            .client_id(paylican.client_id),
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

        let event = check(&["--guard-secret", &secret], &delivery, body)
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
        let err = check(&["--guard-secret", &secret], &delivery, &broken)
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
        let event = check(&["--guard-secret", &secret], &delivery, &altered)
            .await
            .unwrap();
        assert_eq!(event["authenticity"], "guarded");
        assert_eq!(event["data"]["data"]["totalAmount"], "9100.00");

        // A wrong secret in the URL is rejected with the verifier's reason.
        let mut elsewhere = delivery.clone();
        elsewhere.url = elsewhere.url.replace(SECRET, "not-the-secret-at-all-0123");
        let err = check(&["--guard-secret", &secret], &elsewhere, body)
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

        let body = payments_paylican::testing::PAYMENT_EXECUTED.as_bytes();
        let rotating = [
            "--guard-secret",
            &current,
            "--previous-guard-secret",
            &previous,
        ];
        let event = check_at(&rotating, &url, &[], body).await.unwrap();
        assert_eq!(event["authenticity"], "guarded");
        assert!(!event.to_string().contains(PREVIOUS), "never printed");
        // Once the previous secret is no longer given, it is refused.
        let err = check_at(&["--guard-secret", &current], &url, &[], body)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason)
                if reason.contains("wrong URL secret") && !reason.contains(PREVIOUS)),
            "{err:?}"
        );
        // A previous secret alone is a usage error.
        let err = check_at(&["--previous-guard-secret", &previous], &url, &[], body)
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
        let event = check(&[], &delivery, delivery.body.as_bytes())
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
        let event = check(&good_refs, &delivery, delivery.body.as_bytes())
            .await
            .unwrap();
        assert_eq!(event["authenticity"], "guarded");
        let bad_args = args(&bad);
        let bad_refs: Vec<&str> = bad_args.iter().map(String::as_str).collect();
        let err = check(&bad_refs, &delivery, delivery.body.as_bytes())
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
        let err = check(
            &["--guard-param", "token"],
            &delivery,
            delivery.body.as_bytes(),
        )
        .await
        .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Usage(m) if m.contains("--guard-secret")),
            "{err:?}"
        );
        let err = check(
            &["--guard-secret", "/nonexistent/paylican-secret"],
            &delivery,
            delivery.body.as_bytes(),
        )
        .await
        .unwrap_err();
        assert!(matches!(err, VerifyError::Usage(_)), "{err:?}");
        sandbox.shutdown().await;
    }
}
