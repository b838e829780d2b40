//! Payconiq's harness: documented fixtures from `crates/payconiq/tests/fixtures/` and callbacks
//! signed with a P-256 key generated for the test.

use std::time::Duration;

use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::webhook::{WebhookRejection, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use payments_payconiq::convert::unified_status;
use payments_payconiq::testing::WebhookSigner;
use payments_payconiq::webhook::{PayconiqWebhookVerifier, WebhookSettings};
use payments_payconiq::{Environment, PayconiqClient, PayconiqConfig, PayconiqStatus};
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::{Delivery, Harness, Op};
use payments_test_support::Fixtures;

/// The fixtures of `payments-payconiq`, which this harness answers with.
const FIXTURES: Fixtures =
    Fixtures::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/payconiq"));

const PROFILE_ID: &str = "5b71369f5832fd22658e0ef4";
const CALLBACK_URL: &str = "https://shop.example/payconiq/callback";

/// The Payconiq harness; holds the signing key of its callbacks.
pub struct PayconiqHarness {
    signer: WebhookSigner,
}

impl Default for PayconiqHarness {
    fn default() -> Self {
        Self::new()
    }
}

impl PayconiqHarness {
    /// A harness with a fresh signing key.
    pub fn new() -> Self {
        PayconiqHarness {
            signer: WebhookSigner::generate("es.signature.conformance", PROFILE_ID, CALLBACK_URL)
                .unwrap(),
        }
    }
}

impl Harness for PayconiqHarness {
    fn name(&self) -> &'static str {
        "payconiq"
    }

    fn client(&self, server: &MockServer) -> Box<dyn PaymentProvider> {
        let http = HttpConfig::default()
            .retry(
                RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .request_timeout(Duration::from_millis(700));
        Box::new(
            PayconiqClient::new(
                PayconiqConfig::new("conformance-key", Environment::Production)
                    .base_url(format!("{}/v3", server.uri()))
                    .http(http),
            )
            .unwrap(),
        )
    }

    fn create_request(&self) -> CreatePayment {
        CreatePayment::new(Money::from_minor(112, Currency::EUR), "987456264")
            .description("Sample description")
            .webhook_url(CALLBACK_URL)
    }

    fn route(&self, op: Op, payment_id: &str) -> (&'static str, String) {
        match op {
            Op::Create => ("POST", "/v3/payments".into()),
            Op::Get => ("GET", format!("/v3/payments/{payment_id}")),
            Op::Cancel => ("DELETE", format!("/v3/payments/{payment_id}")),
        }
    }

    fn created(&self) -> (Value, String) {
        let body = FIXTURES.json("create_201.json");
        let id = body["paymentId"].as_str().unwrap().to_string();
        (body, id)
    }

    fn payment_with_status(&self, raw_status: &str) -> Value {
        let mut body = FIXTURES.json("get_200.json");
        body["status"] = json!(raw_status);
        body
    }

    fn cancelled(&self) -> (u16, Option<Value>) {
        (204, None)
    }

    fn paid_status(&self) -> &'static str {
        "SUCCEEDED"
    }

    fn not_found(&self) -> (u16, Value, &'static str) {
        let body = json!({"traceId": "b2586833395d4750", "spanId": "c235e54376fab4b9",
            "code": "PAYMENT_NOT_FOUND", "message": "Payment could not be found"});
        (404, body, "PAYMENT_NOT_FOUND")
    }

    fn find_route(&self) -> Option<(&'static str, String)> {
        Some(("POST", "/v3/payments/search".into()))
    }

    /// The documented search answer (`search_200.json`, the Swagger's example) narrowed to one
    /// payment: the created one, with its reference, on the only page.
    fn found(&self, payment_id: &str, reference: &str) -> Option<Value> {
        let mut answer = FIXTURES.json("search_200.json");
        let mut payment = answer["details"][0].clone();
        payment["paymentId"] = json!(payment_id);
        payment["reference"] = json!(reference);
        payment["status"] = json!("PENDING");
        answer["size"] = json!(1);
        answer["totalPages"] = json!(1);
        answer["totalElements"] = json!(1);
        answer["number"] = json!(0);
        answer["details"] = json!([payment]);
        Some(answer)
    }

    fn status_table(&self) -> Vec<(String, PaymentStatus)> {
        PayconiqStatus::DOCUMENTED
            .iter()
            .map(|s| (s.as_str().to_string(), unified_status(s)))
            .collect()
    }

    fn docs_heading(&self) -> &'static str {
        "## Payconiq"
    }

    fn signed_delivery(&self) -> Option<Delivery> {
        let body = serde_json::to_vec(&FIXTURES.json("callback_succeeded.json")).unwrap();
        let signature = self
            .signer
            .sign(&body, "conformance-jti-1", time::OffsetDateTime::now_utc())
            .unwrap();
        Some(Delivery {
            url: CALLBACK_URL.into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Signature".into(), signature),
            ],
            body,
        })
    }

    fn verify(&self, delivery: &Delivery) -> Result<Option<PaymentStatus>, WebhookRejection> {
        let keys = self.signer.key_set().unwrap();
        let verifier =
            PayconiqWebhookVerifier::new(WebhookSettings::new(PROFILE_ID, CALLBACK_URL), keys);
        crate::with_request(delivery, |request| verifier.verify(request)).map(|event| event.status)
    }
}
