//! Fintecture's harness: documented fixtures from `crates/fintecture/tests/fixtures/`, requests
//! signed with an RSA key pair generated for the run, and webhooks encrypted with its public half
//! exactly as Fintecture does (`payments_fintecture::testing::WebhookSigner`).

use std::sync::Arc;
use std::time::Duration;

use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::secret::ExposeSecret;
use payments_core::token::{StaticTokenSource, TokenCache};
use payments_core::webhook::{WebhookRejection, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use payments_fintecture::convert::documented_mapping;
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::testing::WebhookSigner;
use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{Environment, FintectureClient, FintectureConfig};
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::{Delivery, Harness, Op};
use payments_test_support::Fixtures;

/// The fixtures of `payments-fintecture`, which this harness answers with.
const FIXTURES: Fixtures =
    Fixtures::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/fintecture"));

const APP_ID: &str = "2dfdcf57-5b2f-4309-846f-913d0b2802cf";
const WEBHOOK_URL: &str = "https://shop.example/fintecture/webhook";

/// The Fintecture harness; holds the application key pair of the run.
pub struct FintectureHarness {
    key: Arc<AppPrivateKey>,
    key_pem: String,
}

impl Default for FintectureHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl FintectureHarness {
    /// A harness with a freshly generated RSA-2048 key pair.
    pub fn new() -> Self {
        let key = AppPrivateKey::generate().unwrap();
        let key_pem = key.to_pkcs8_pem().unwrap().expose_secret().to_string();
        FintectureHarness {
            key: Arc::new(key),
            key_pem,
        }
    }
}

impl Harness for FintectureHarness {
    fn name(&self) -> &'static str {
        "fintecture"
    }

    fn client(&self, server: &MockServer) -> Box<dyn PaymentProvider> {
        let http = HttpConfig::default()
            .retry(
                RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .request_timeout(Duration::from_millis(700));
        let config = FintectureConfig::new(
            APP_ID,
            "conformance-secret",
            self.key_pem.clone(),
            Environment::Production,
        )
        .base_url(server.uri())
        .http(http);
        // The scenarios mock only the payment routes: use a pre-issued token.
        Box::new(
            FintectureClient::with_token_cache(
                config,
                TokenCache::new(StaticTokenSource::new("conformance-token")),
            )
            .unwrap(),
        )
    }

    fn create_request(&self) -> CreatePayment {
        CreatePayment::new(Money::from_minor(27_300, Currency::EUR), "B34970692")
            .return_url("https://shop.example/fintecture/return")
    }

    fn route(&self, op: Op, payment_id: &str) -> (&'static str, String) {
        match op {
            Op::Create => ("POST", "/pis/v2/connect".into()),
            Op::Get => ("GET", format!("/pis/v2/payments/{payment_id}")),
            Op::Cancel => ("PATCH", format!("/pis/v2/payments/{payment_id}")),
        }
    }

    fn created(&self) -> (Value, String) {
        let body = FIXTURES.json("connect_200.json");
        let id = body["meta"]["session_id"].as_str().unwrap().to_string();
        (body, id)
    }

    fn payment_with_status(&self, raw_status: &str) -> Value {
        let mut body = FIXTURES.json("payment_200.json");
        body["meta"]["status"] = json!(raw_status);
        body
    }

    fn cancelled(&self) -> (u16, Option<Value>) {
        (200, Some(json!({"meta": {"status": "payment_cancelled"}})))
    }

    fn paid_status(&self) -> &'static str {
        "payment_created"
    }

    fn not_found(&self) -> (u16, Value, &'static str) {
        let body = json!({"errors": [{"code": "payment_not_found", "title": "Not Found",
            "message": "Payment session not found"}]});
        (404, body, "payment_not_found")
    }

    fn status_table(&self) -> Vec<(String, PaymentStatus)> {
        documented_mapping()
    }

    fn docs_heading(&self) -> &'static str {
        "## Fintecture"
    }

    fn find_route(&self) -> Option<(&'static str, String)> {
        Some(("GET", "/pis/v2/payments".to_owned()))
    }

    /// The documented list answer (`payment_list_200.json`: the *Pagination* guide's envelope)
    /// holding the one session, its `communication` the reference.
    fn found(&self, payment_id: &str, reference: &str) -> Option<Value> {
        let mut body = FIXTURES.json("payment_list_200.json");
        body["data"][0]["id"] = json!(payment_id);
        body["data"][0]["attributes"]["communication"] = json!(reference);
        Some(body)
    }

    fn refund_route(&self, _payment_id: &str) -> Option<(&'static str, String)> {
        Some(("POST", "/pis/v2/refund".to_owned()))
    }

    fn refunded(&self) -> Option<Value> {
        Some(FIXTURES.json("refund_200.json"))
    }

    fn signed_delivery(&self) -> Option<Delivery> {
        let body = FIXTURES.bytes("webhook_payment_created.form");
        let signed = WebhookSigner::new(APP_ID, self.key.public_key().clone())
            .sign(
                &body,
                time::OffsetDateTime::now_utc(),
                "88c414df-6895-48db-8ef3-1fd1ce4272c6",
            )
            .unwrap();
        let mut headers = signed.headers;
        headers.push((
            "Content-Type".into(),
            "application/x-www-form-urlencoded".into(),
        ));
        Some(Delivery {
            url: WEBHOOK_URL.into(),
            headers,
            body,
        })
    }

    fn verify(&self, delivery: &Delivery) -> Result<Option<PaymentStatus>, WebhookRejection> {
        let verifier =
            FintectureWebhookVerifier::new(WebhookSettings::new(APP_ID, self.key.clone()));
        crate::with_request(delivery, |request| verifier.verify(request)).map(|event| event.status)
    }
}
