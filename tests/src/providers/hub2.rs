//! HUB2's harness: documented fixtures from `crates/hub2/tests/fixtures/` and webhooks signed with
//! the crate's own `testing::WebhookSigner` (HMAC-SHA256, `Hub2-Signature: s1=...`).

use std::time::Duration;

use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::webhook::{WebhookRejection, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use payments_hub2::convert::{unified_intent_status, unified_payment_status};
use payments_hub2::testing::WebhookSigner;
use payments_hub2::webhook::Hub2WebhookVerifier;
use payments_hub2::{Environment, Hub2Client, Hub2Config, Hub2PaymentStatus, IntentStatus};
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::{Delivery, Harness, Op};
use payments_test_support::Fixtures;

/// The fixtures of `payments-hub2`, which this harness answers with.
const FIXTURES: Fixtures = Fixtures::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/hub2"));

const WEBHOOK_SECRET: &str = "whsec_conformance_7f3c1b2a9d8e4f60";
const WEBHOOK_URL: &str = "https://shop.example/hub2/webhook";

/// The HUB2 harness.
#[derive(Debug, Default)]
pub struct Hub2Harness;

impl Hub2Harness {
    /// A harness.
    pub fn new() -> Self {
        Hub2Harness
    }
}

impl Harness for Hub2Harness {
    fn name(&self) -> &'static str {
        "hub2"
    }

    fn client(&self, server: &MockServer) -> Box<dyn PaymentProvider> {
        let http = HttpConfig::default()
            .retry(
                RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .request_timeout(Duration::from_millis(700));
        Box::new(
            Hub2Client::new(
                Hub2Config::new("conformance-key", "MTE1ODE2", Environment::Sandbox)
                    .base_url(server.uri())
                    // HUB2 hosts no checkout page: the payer pays on the merchant's page.
                    .payer_page_url("https://shop.example/pay/{intent_id}")
                    .http(http),
            )
            .unwrap(),
        )
    }

    fn create_request(&self) -> CreatePayment {
        CreatePayment::new(Money::from_minor(200, Currency::XOF), "Test_YYYY_MM_DD_01")
    }

    fn route(&self, op: Op, payment_id: &str) -> (&'static str, String) {
        match op {
            Op::Create => ("POST", "/payment-intents".into()),
            Op::Get => ("GET", format!("/payment-intents/{payment_id}")),
            // Not supported (and never sent): HUB2 documents no cancellation.
            Op::Cancel => ("DELETE", format!("/payment-intents/{payment_id}")),
        }
    }

    fn created(&self) -> (Value, String) {
        let body = FIXTURES.json("create_intent_201.json");
        let id = body["id"].as_str().unwrap().to_string();
        (body, id)
    }

    fn payment_with_status(&self, raw_status: &str) -> Value {
        let mut body = FIXTURES.json("get_intent_successful_200.json");
        body["status"] = json!(raw_status);
        body
    }

    fn cancelled(&self) -> (u16, Option<Value>) {
        (204, None)
    }

    fn paid_status(&self) -> &'static str {
        "successful"
    }

    /// `GET /payment-intents?purchaseReference=...` (HUB2's "Retrieve a PaymentIntent
    /// collection"): the neutral creation puts the reference in `purchaseReference`.
    fn find_route(&self) -> Option<(&'static str, String)> {
        Some(("GET", "/payment-intents".into()))
    }

    /// The documented list answer (a bare array of intents) holding the one intent.
    fn found(&self, payment_id: &str, reference: &str) -> Option<Value> {
        let mut list = FIXTURES.json("list_intents_200.json");
        let intent = &mut list[0];
        intent["id"] = json!(payment_id);
        intent["purchaseReference"] = json!(reference);
        intent["customerReference"] = json!(reference);
        Some(list)
    }

    fn not_found(&self) -> (u16, Value, &'static str) {
        let body =
            json!({"statusCode": 404, "message": "Payment intent not found", "error": "Not Found"});
        (404, body, "Not Found")
    }

    fn status_table(&self) -> Vec<(String, PaymentStatus)> {
        let intents = IntentStatus::DOCUMENTED
            .iter()
            .map(|s| (s.as_str().to_string(), unified_intent_status(s)));
        let payments = Hub2PaymentStatus::DOCUMENTED
            .iter()
            .map(|s| (s.as_str().to_string(), unified_payment_status(s)));
        intents.chain(payments).collect()
    }

    fn docs_heading(&self) -> &'static str {
        "## HUB2"
    }

    fn signed_delivery(&self) -> Option<Delivery> {
        // The intent's own event: an attempt's `payment.succeeded` does not decide the intent
        // (see the crate's webhook docs), so it reports no intent status.
        let body = serde_json::to_vec(&FIXTURES.json("event_intent_succeeded.json")).unwrap();
        let signature = WebhookSigner::new(WEBHOOK_SECRET).sign(&body);
        Some(Delivery {
            url: WEBHOOK_URL.into(),
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("Hub2-Signature".into(), signature),
            ],
            body,
        })
    }

    fn verify(&self, delivery: &Delivery) -> Result<Option<PaymentStatus>, WebhookRejection> {
        let verifier = Hub2WebhookVerifier::new(WEBHOOK_SECRET).unwrap();
        crate::with_request(delivery, |request| verifier.verify(request)).map(|event| event.status)
    }
}
