//! Banq's harness: fixtures from `crates/banq/tests/fixtures/` (answer shapes assumed, see its
//! README) and a static access token, so the scenarios' mocks see only API calls.
//!
//! Banq does not sign webhooks: [`Harness::signed_delivery`] is `None`, and [`Harness::verify`]
//! returns no status for a well-formed delivery, because an unsigned notice establishes none (the
//! status comes only from the fetch-back, which needs a server; it is tested in the crate's
//! `contract_webhook` tests).

use std::time::Duration;

use payments_banq::convert::unified_status;
use payments_banq::webhook::WebhookReceiver;
use payments_banq::{BanqClient, BanqConfig, BanqStatus, OpenApiCredentials};
use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::token::{StaticTokenSource, TokenCache};
use payments_core::webhook::WebhookRejection;
use payments_core::{CreatePayment, Currency, Money, PaymentProvider, PaymentStatus};
use serde_json::{Value, json};
use wiremock::MockServer;

use crate::{Delivery, Harness, Op};
use payments_test_support::Fixtures;

/// The fixtures of `payments-banq`, which this harness answers with.
const FIXTURES: Fixtures = Fixtures::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../crates/banq"));

const DESTINATION: &str = "3f2c8a51-7d4e-4b9a-9c1f-2e6b5d8a0c17";

/// The Banq harness.
#[derive(Debug, Default)]
pub struct BanqHarness;

impl BanqHarness {
    /// A harness.
    pub fn new() -> Self {
        BanqHarness
    }
}

impl Harness for BanqHarness {
    fn name(&self) -> &'static str {
        "banq"
    }

    fn client(&self, server: &MockServer) -> Box<dyn PaymentProvider> {
        let http = HttpConfig::default()
            .retry(
                RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)),
            )
            .request_timeout(Duration::from_millis(700));
        let config = BanqConfig::new(
            "conformance-company",
            OpenApiCredentials::new("client", "user", "password"),
        )
        .api_base_url(format!("{}/api/v1", server.uri()))
        .default_destination(DESTINATION)
        .http(http);
        Box::new(
            BanqClient::with_token_cache(
                config,
                TokenCache::new(StaticTokenSource::new("conformance-token")),
            )
            .unwrap(),
        )
    }

    fn create_request(&self) -> CreatePayment {
        CreatePayment::new(Money::from_minor(10_000, Currency::USD), "order-1234")
            .description("Blue T-shirt")
    }

    fn route(&self, op: Op, payment_id: &str) -> (&'static str, String) {
        match op {
            Op::Create => ("POST", "/api/v1/payments/get-paid-link".into()),
            Op::Get => ("GET", format!("/api/v1/payments/{payment_id}")),
            // Not supported: the scenario checks nothing is sent.
            Op::Cancel => ("DELETE", format!("/api/v1/payments/{payment_id}")),
        }
    }

    fn created(&self) -> (Value, String) {
        let body = FIXTURES.json("get_paid_link_200.json");
        let id = body["id"].as_str().unwrap().to_string();
        (body, id)
    }

    fn payment_with_status(&self, raw_status: &str) -> Value {
        let mut body = FIXTURES.json("payment_pending_200.json");
        body["status"] = json!(raw_status);
        // The scenarios fetch ids of their own (`p1`): an answer naming the fixture's id would
        // be an answer about another payment, which the client refuses. Banq's id field names
        // are not published, so an answer without one is accepted.
        if let Some(fields) = body.as_object_mut() {
            fields.remove("id");
        }
        body
    }

    fn cancelled(&self) -> (u16, Option<Value>) {
        (204, None)
    }

    fn paid_status(&self) -> &'static str {
        "completed"
    }

    fn not_found(&self) -> (u16, Value, &'static str) {
        (404, FIXTURES.json("error_404.json"), "PaymentNotFound")
    }

    fn status_table(&self) -> Vec<(String, PaymentStatus)> {
        // Through the parser, so the case-insensitive reading and the aliases are covered too.
        BanqStatus::DOCUMENTED
            .iter()
            .map(|s| s.as_str())
            .chain(BanqStatus::ALIASES.iter().map(|(alias, _)| *alias))
            .map(|raw| (raw.to_string(), unified_status(&BanqStatus::parse(raw))))
            .collect()
    }

    fn docs_heading(&self) -> &'static str {
        "## Banq"
    }

    fn signed_delivery(&self) -> Option<Delivery> {
        None
    }

    fn verify(&self, delivery: &Delivery) -> Result<Option<PaymentStatus>, WebhookRejection> {
        // An unsigned notice carries no trusted status: only the fetch-back gives one.
        crate::with_request(delivery, |request| WebhookReceiver::new().receive(request))
            .map(|_notice| None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivery(body: &[u8]) -> Delivery {
        Delivery {
            url: "https://shop.example/banq/payment-status".into(),
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: body.to_vec(),
        }
    }

    #[test]
    fn verify_establishes_no_status_for_an_unsigned_notice() {
        let body = serde_json::to_vec(&FIXTURES.json("webhook_payment_completed.json")).unwrap();
        assert_eq!(BanqHarness.verify(&delivery(&body)), Ok(None));
        assert!(matches!(
            BanqHarness.verify(&delivery(b"garbage")),
            Err(WebhookRejection::MalformedPayload(_))
        ));
        assert!(BanqHarness.signed_delivery().is_none());
    }
}
