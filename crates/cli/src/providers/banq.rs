//! Banq: its real sandbox, and offline webhook inspection.
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
//! demo's local webhook receiver (its port is random; the forwarder must send
//! `/banq/webhook?...` to it), registered with `webhook-config` with a random URL secret, as
//! against the local sandbox (`payments_sandbox::hooks::banq`). Without it, or without the
//! merchant login, the webhook steps are skipped. Banq signs nothing: the ledger applies a
//! notice only through its fetch-back (`GET /payments/{id}`), whichever way it arrives.
//!
//! # `payments webhook verify banq`
//! Offline there is nothing to verify a Banq webhook against: no signature, no timestamp (`--at`
//! is ignored). The command checks what the crate's receiver checks (method, size, format, and
//! the URL secret with `--guard-secret FILE|env:NAME` and `--guard-param NAME`, default `token`;
//! during a rotation also the previous one with `--previous-guard-secret FILE|env:NAME`)
//! and prints the notice with `"established": false` and authenticity `unverified` (or `guarded`
//! when the URL secret matched): confirm it by fetching the payment before acting on it.

use std::time::Duration;

use payments_banq::webhook::WebhookReceiver;
use payments_banq::{
    BanqClient, BanqConfig, CredentialFieldNames, MerchantUserCredentials, OpenApiCredentials,
};
use payments_core::http::HttpConfig;
use payments_core::webhook::{Authenticity, UrlSecretGuard};
use payments_core::{CreatePayment, PaymentProvider};
use payments_sandbox::hooks::banq::{BanqHooks, GUARD_PARAM};
use payments_sandbox::hooks::{
    Connected, DynVerifier, HookError, Paid, ProviderHooks, ToPay, erase,
};
use payments_sandbox::{Provider, RunningSandbox};
use secrecy::ExposeSecret;
use serde_json::{Value, json};

use super::{Target, env, pay_by_polling, random_secret};
use crate::args::BanqVerifyArgs;
use crate::verify::{Capture, VerifyError, read_secret};

/// Banq's sandbox, from the environment.
struct RealBanq {
    config: BanqConfig,
    destination: String,
    /// The sandbox's hooks with a random URL secret: registration and receiver.
    hooks: BanqHooks,
    /// Why webhooks cannot be received, if they cannot.
    no_webhook: Option<&'static str>,
}

fn from_env() -> Option<RealBanq> {
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
    let no_webhook = match (&login, env("PAYMENTS_DEMO_PUBLIC_URL")) {
        (None, _) => Some("set BANQ_MERCHANT_EMAIL and BANQ_MERCHANT_PASSWORD to register it"),
        (_, None) => Some("set PAYMENTS_DEMO_PUBLIC_URL (a public URL forwarding to the receiver)"),
        _ => None,
    };
    Some(RealBanq {
        config,
        destination,
        hooks: BanqHooks {
            guard_secret: Some(random_secret()),
            ..BanqHooks::default()
        },
        no_webhook,
    })
}

pub(super) fn real_target(public: Option<String>) -> Option<Result<Target, String>> {
    let real = from_env()?;
    let webhooks = match real.no_webhook {
        Some(why) => Err(why.to_owned()),
        None => Ok(public),
    };
    Some(Ok(Target {
        provider: Provider::Banq,
        description: "Banq (real sandbox, from BANQ_* variables)".to_owned(),
        hooks: Box::new(real),
        webhooks,
        minor_units: super::demo_minor_units(Provider::Banq),
        trust: None,
    }))
}

pub(super) fn real_client() -> Option<Result<Box<dyn PaymentProvider>, String>> {
    let real = from_env()?;
    Some(
        BanqClient::new(real.config)
            .map(|c| Box::new(c) as Box<dyn PaymentProvider>)
            .map_err(|e| e.to_string()),
    )
}

impl RealBanq {
    fn client(&self, http: HttpConfig) -> Result<BanqClient, HookError> {
        Ok(BanqClient::new(self.config.clone().http(http))?)
    }
}

#[payments_core::async_trait]
impl ProviderHooks for RealBanq {
    fn provider(&self) -> Provider {
        Provider::Banq
    }

    async fn connect(
        &self,
        _sandbox: &RunningSandbox,
        http: HttpConfig,
        webhook_url: &str,
    ) -> Result<Connected, HookError> {
        let client = self.client(http)?;
        let webhook = match self.no_webhook {
            None => {
                self.hooks
                    .register(&client, &self.destination, webhook_url)
                    .await?
            }
            Some(why) => format!("none registered: {why}"),
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
        _webhook_url: &str,
    ) -> Result<DynVerifier, HookError> {
        Ok(erase(self.hooks.receiver()?))
    }

    async fn pay(&self, _sandbox: &RunningSandbox, payment: &ToPay<'_>) -> Result<Paid, HookError> {
        let client = self.client(payment.http.clone())?;
        pay_by_polling(
            &client,
            payment.checkout,
            payment.timeout,
            Duration::from_secs(3),
        )
        .await
    }
}

pub(super) async fn verify(args: &BanqVerifyArgs, capture: &Capture) -> Result<Value, VerifyError> {
    let mut receiver = WebhookReceiver::new();
    if let Some(spec) = &args.guard_secret {
        let secret = read_secret("--guard-secret", spec)?;
        let param = args.guard_param.as_deref().unwrap_or(GUARD_PARAM);
        let mut guard = UrlSecretGuard::query_param(param, secret.expose_secret())
            .map_err(|e| VerifyError::Usage(format!("--guard-secret: {e}")))?;
        if let Some(spec) = &args.previous_guard_secret {
            let previous = read_secret("--previous-guard-secret", spec)?;
            guard = guard
                .with_previous(previous.expose_secret())
                .map_err(|e| VerifyError::Usage(format!("--previous-guard-secret: {e}")))?;
        }
        receiver = receiver.with_guard(guard);
    }
    let notice = receiver
        .receive(&capture.request())
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
        "provider": payments_banq::PROVIDER,
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
    use payments_banq::{
        BanqClient, BanqConfig, MerchantUserCredentials, OpenApiCredentials, PaymentLinkRequest,
        WebhookConfigRequest,
    };
    use payments_core::{Currency, Money};
    use payments_sandbox::{DeliveryRecord, PayerAction, Sandbox};

    use super::*;
    use crate::test_support::verify_with;

    async fn check(options: &[&str], url: &str, body: &[u8]) -> Result<Value, VerifyError> {
        let mut all = vec!["--url", url];
        all.extend_from_slice(options);
        let headers = [("Content-Type".to_owned(), "application/json".to_owned())];
        verify_with("banq", &all, &headers, body, None).await
    }

    /// A link paid in the sandbox, and the notice the sandbox delivered for it.
    async fn sandbox_notice(secret: &str) -> (DeliveryRecord, String) {
        let sandbox = Sandbox::builder().time_divisor(1000).start().await.unwrap();
        let banq = sandbox.banq();
        let c = sandbox.credentials();
        let guid = banq.destination_banq_guid.as_str();
        let client = BanqClient::new(
            BanqConfig::new(
                c.banq_company_id.clone(),
                OpenApiCredentials::new(&c.banq_client_id, &c.banq_username, &c.banq_password),
            )
            .merchant_user(MerchantUserCredentials::new(
                &c.banq_username,
                &c.banq_password,
            ))
            .api_base_url(banq.api_base_url.as_str())
            .token_url(banq.token_url.as_str()),
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
        let out = check(&rotating, &url, &body).await.unwrap();
        assert_eq!(out["authenticity"], "guarded");
        assert!(!out.to_string().contains(PREVIOUS), "never printed");
        // Once the previous secret is no longer given, it is refused.
        let err = check(&["--guard-secret", &current], &url, &body)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, VerifyError::Rejected(reason)
                if reason.contains("does not match") && !reason.contains(PREVIOUS)),
            "{err:?}"
        );
        // A previous secret alone is a usage error.
        let err = check(&["--previous-guard-secret", &previous], &url, &body)
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
        let out = check(&[], &delivery.url, delivery.body.as_bytes())
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
        let guarded = check(
            &["--guard-secret", &spec],
            &delivery.url,
            delivery.body.as_bytes(),
        )
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
        let err = check(&[], &delivery.url, &broken).await.unwrap_err();
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
        let err = check(
            &["--guard-secret", &spec],
            &tampered_url,
            delivery.body.as_bytes(),
        )
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
        let out = check(&[], &delivery.url, &swapped).await.unwrap();
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
            let err = check(&options, url, body).await.unwrap_err();
            let VerifyError::Usage(message) = err else {
                panic!("a usage error for {options:?}");
            };
            assert!(message.contains(expected), "{message}");
        }
        let short =
            std::env::temp_dir().join(format!("payments-cli-banq-short-{}", std::process::id()));
        std::fs::write(&short, "short").unwrap();
        let spec = short.to_string_lossy().into_owned();
        let err = check(&["--guard-secret", &spec], url, body)
            .await
            .unwrap_err();
        let _ = std::fs::remove_file(&short);
        assert!(matches!(err, VerifyError::Usage(m) if m.contains("at least")));
    }
}
