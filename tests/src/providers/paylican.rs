//! Paylican's harness: documented fixtures from `crates/paylican/tests/fixtures/`, a Keycloak
//! token endpoint on a wiremock server of its own (the scenarios mount only the payment routes),
//! and webhooks built with `payments_paylican::testing`. Paylican does not sign its webhooks, so
//! the signature scenarios do not apply (`signed_delivery` is `None`); the crate's own tests cover
//! its guards.

use std::sync::OnceLock;
use std::time::Duration;

use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::webhook::{WebhookRejection, WebhookVerifier};
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use payments_paylican::convert::unified_status;
use payments_paylican::webhook::PaylicanWebhookVerifier;
use payments_paylican::{InvoiceStatus, PaylicanClient, PaylicanConfig};
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::{Delivery, Harness, Op};
use payments_test_support::Fixtures;

/// The fixtures of `payments-paylican`, which this harness answers with.
const FIXTURES: Fixtures =
    Fixtures::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/paylican"));

const TOKEN_PATH: &str = "/auth/realms/PGW/protocol/openid-connect/token";

/// A Keycloak token endpoint shared by every test of the process, running on wiremock's own
/// server thread (so a synchronous `Harness::client` can point at it).
fn keycloak_uri() -> &'static str {
    static SERVER: OnceLock<(MockServer, String)> = OnceLock::new();
    &SERVER
        .get_or_init(|| {
            std::thread::spawn(|| {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                runtime.block_on(async {
                    let server = MockServer::start().await;
                    let token = FIXTURES.json("token_200.json");
                    Mock::given(method("POST"))
                        .and(path(TOKEN_PATH))
                        .respond_with(ResponseTemplate::new(200).set_body_json(token))
                        .mount(&server)
                        .await;
                    let uri = server.uri();
                    (server, uri)
                })
            })
            .join()
            .unwrap()
        })
        .1
}

/// The Paylican harness.
#[derive(Debug, Default)]
pub struct PaylicanHarness;

impl PaylicanHarness {
    /// A harness.
    pub fn new() -> Self {
        PaylicanHarness
    }
}

impl Harness for PaylicanHarness {
    fn name(&self) -> &'static str {
        "paylican"
    }

    fn client(&self, server: &MockServer) -> Box<dyn PaymentProvider> {
        let http = HttpConfig::default()
            .retry(
                RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .request_timeout(Duration::from_millis(700));
        Box::new(
            PaylicanClient::new(
                PaylicanConfig::new(
                    keycloak_uri(),
                    server.uri(),
                    "conformance",
                    "conformance-pw",
                )
                .currency(Currency::XOF)
                .payment_type("XYZ")
                .status_path("/api/v1/invoice/{invoiceId}")
                .http(http),
            )
            .unwrap(),
        )
    }

    fn create_request(&self) -> CreatePayment {
        CreatePayment::new(Money::from_minor(5100, Currency::XOF), "REF-1234")
            .description("Item name")
            .return_url("https://merchant-url.com/")
    }

    fn route(&self, op: Op, payment_id: &str) -> (&'static str, String) {
        match op {
            Op::Create => ("POST", "/api/v1/payment".into()),
            Op::Get => ("GET", format!("/api/v1/invoice/{payment_id}")),
            // Paylican has no cancellation; the scenario checks it is Unsupported.
            Op::Cancel => ("DELETE", format!("/api/v1/invoice/{payment_id}")),
        }
    }

    fn created(&self) -> (Value, String) {
        let body = FIXTURES.json("create_payment_200.json");
        let id = body["invoiceId"].as_str().unwrap().to_string();
        (body, id)
    }

    fn payment_with_status(&self, raw_status: &str) -> Value {
        // The configured status endpoint answers the invoice as webhooks carry it (`data`).
        let mut body = FIXTURES.json("webhook_payment_executed.json")["data"].clone();
        body["status"] = json!(raw_status);
        body
    }

    fn cancelled(&self) -> (u16, Option<Value>) {
        (204, None)
    }

    fn paid_status(&self) -> &'static str {
        "PAID"
    }

    fn not_found(&self) -> (u16, Value, &'static str) {
        let body = json!({"status": 404, "error": "Not Found", "message": "No such object",
            "path": "/api/v1/invoice/p1"});
        (404, body, "Not Found")
    }

    fn status_table(&self) -> Vec<(String, PaymentStatus)> {
        InvoiceStatus::DOCUMENTED
            .iter()
            .map(|s| (s.as_str().to_string(), unified_status(s)))
            .collect()
    }

    fn docs_heading(&self) -> &'static str {
        "## Paylican"
    }

    fn signed_delivery(&self) -> Option<Delivery> {
        None
    }

    fn verify(&self, delivery: &Delivery) -> Result<Option<PaymentStatus>, WebhookRejection> {
        let verifier = PaylicanWebhookVerifier::unguarded();
        crate::with_request(delivery, |request| verifier.verify(request)).map(|event| event.status)
    }
}
