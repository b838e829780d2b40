//! Cross-provider conformance: one table of scenarios, run against every provider crate.
//!
//! A provider plugs in by implementing [`Harness`] with its own documented fixtures (see
//! `src/providers/`) and adding one line to `tests/conformance.rs`. Every scenario in
//! [`scenarios!`] then runs against it, each as its own `#[test]`.
//!
//! The scenarios state what every provider crate promises, whatever its wire format:
//! a created payment is pending; a paid one is succeeded; a 429 is retried; a creation answered 500
//! is never retried and reports an unknown outcome; an unknown status is `Unknown`, never success;
//! a provider error keeps its code; an operation outside the capability list is `Unsupported` and
//! sends nothing; a signed webhook verifies and a tampered one does not; the status table in
//! `docs/status-mapping.md` matches the code.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

pub mod providers;
pub mod sandbox;

use payments_core::webhook::WebhookRejection;
use payments_core::{CreatePayment, PaymentProvider, PaymentStatus};
use serde_json::Value;
use wiremock::MockServer;

/// An operation whose HTTP route a scenario mocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Create a payment.
    Create,
    /// Fetch a payment.
    Get,
    /// Cancel a payment.
    Cancel,
}

/// A webhook delivery prepared by a harness: what a merchant's server would receive.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Full URL the provider posted to.
    pub url: String,
    /// Headers as sent.
    pub headers: Vec<(String, String)>,
    /// Raw body.
    pub body: Vec<u8>,
}

/// What a provider crate supplies to run the scenarios.
pub trait Harness: Send + Sync {
    /// Provider name as in the crate (`"payconiq"`).
    fn name(&self) -> &'static str;
    /// A client pointed at `server`, with fast retries.
    fn client(&self, server: &MockServer) -> Box<dyn PaymentProvider>;
    /// A neutral creation request valid for this provider.
    fn create_request(&self) -> CreatePayment;
    /// HTTP method and path of `op` for `payment_id`.
    fn route(&self, op: Op, payment_id: &str) -> (&'static str, String);
    /// The provider's documented answer to a creation, and the payment id in it.
    fn created(&self) -> (Value, String);
    /// The provider's documented payment answer, with its status set to `raw_status`.
    fn payment_with_status(&self, raw_status: &str) -> Value;
    /// HTTP status of a successful cancellation, and its body.
    fn cancelled(&self) -> (u16, Option<Value>);
    /// The raw status meaning "paid".
    fn paid_status(&self) -> &'static str;
    /// A documented "not found" error: HTTP status, body, and the provider code in it.
    fn not_found(&self) -> (u16, Value, &'static str);
    /// Every documented raw status with its unified mapping (the provider crate's own function).
    fn status_table(&self) -> Vec<(String, PaymentStatus)>;
    /// Heading of the provider's section in `docs/status-mapping.md`.
    fn docs_heading(&self) -> &'static str;
    /// A signed "paid" webhook delivery, for providers that sign webhooks.
    fn signed_delivery(&self) -> Option<Delivery>;
    /// HTTP method and path of a refund of `payment_id`, for providers whose neutral API
    /// declares [`payments_core::Capability::Refund`].
    fn refund_route(&self, _payment_id: &str) -> Option<(&'static str, String)> {
        None
    }
    /// The provider's documented answer to a refund (for providers that declare refunds).
    fn refunded(&self) -> Option<Value> {
        None
    }
    /// HTTP method and path (no query) of the search the neutral `find_by_reference` sends, for
    /// providers that declare [`payments_core::Capability::FindByReference`].
    fn find_route(&self) -> Option<(&'static str, String)> {
        None
    }
    /// The provider's documented answer to that search, listing exactly one payment: the one
    /// with id `payment_id` and merchant reference `reference`.
    fn found(&self, _payment_id: &str, _reference: &str) -> Option<Value> {
        None
    }
    /// Verifies a delivery with the provider's verifier; returns the event's unified status.
    fn verify(&self, delivery: &Delivery) -> Result<Option<PaymentStatus>, WebhookRejection>;
}

/// Lists every scenario once; `scenarios!(module_name, harness_expression)` expands to one
/// `#[tokio::test]` per scenario for that provider.
#[macro_export]
macro_rules! scenarios {
    ($provider:ident, $harness:expr) => {
        mod $provider {
            use super::*;
            $crate::scenarios!(@each $harness;
                create_returns_a_pending_checkout,
                a_paid_payment_is_succeeded,
                a_429_is_retried_then_succeeds,
                a_creation_answered_500_is_sent_once_and_outcome_unknown,
                a_creation_timing_out_is_sent_once_and_outcome_unknown,
                a_creation_answered_500_is_found_by_reference_or_declared_unsupported,
                an_unknown_status_is_unknown_never_success,
                a_provider_error_keeps_its_code,
                cancel_works_or_is_declared_unsupported,
                refund_works_or_is_declared_unsupported,
                the_docs_status_table_matches_the_code,
                a_signed_webhook_verifies,
                a_tampered_webhook_is_rejected,
            );
        }
    };
    (@each $harness:expr; $($scenario:ident),* $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                $crate::scenario::$scenario(&$harness).await;
            }
        )*
    };
}

/// The scenarios, each written once against [`Harness`].
pub mod scenario {
    use std::time::Duration;

    use payments_core::webhook::WebhookRejection;
    use payments_core::{Capability, Delivery as Sent, Error, PaymentStatus, RefundRequest};
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    use super::{Harness, Op};

    async fn mount(
        server: &MockServer,
        h: &dyn Harness,
        op: Op,
        id: &str,
        response: ResponseTemplate,
        times: Option<u64>,
        expect: Option<u64>,
    ) {
        let (m, p) = h.route(op, id);
        let mut mock = Mock::given(method(m)).and(path(p)).respond_with(response);
        if let Some(n) = times {
            mock = mock.up_to_n_times(n);
        }
        if let Some(n) = expect {
            mock = mock.expect(n);
        }
        mock.mount(server).await;
    }

    /// A creation returns the provider's id and a pending status.
    pub async fn create_returns_a_pending_checkout(h: &dyn Harness) {
        let server = MockServer::start().await;
        let (body, id) = h.created();
        mount(
            &server,
            h,
            Op::Create,
            &id,
            ResponseTemplate::new(201).set_body_json(body),
            None,
            Some(1),
        )
        .await;
        let checkout = h
            .client(&server)
            .checkout(&h.create_request())
            .await
            .unwrap();
        assert_eq!(checkout.payment_id, id);
        assert_eq!(checkout.status, PaymentStatus::Pending);
        assert!(
            checkout.redirect_url.is_some()
                || checkout.deeplink.is_some()
                || checkout.qr_code_url.is_some(),
            "a checkout gives the payer somewhere to pay"
        );
    }

    /// The provider's "paid" status is `Succeeded`.
    pub async fn a_paid_payment_is_succeeded(h: &dyn Harness) {
        let server = MockServer::start().await;
        let body = h.payment_with_status(h.paid_status());
        mount(
            &server,
            h,
            Op::Get,
            "p1",
            ResponseTemplate::new(200).set_body_json(body),
            None,
            Some(1),
        )
        .await;
        let payment = h.client(&server).fetch_payment("p1").await.unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        assert_eq!(payment.raw_status, h.paid_status());
    }

    /// A 429 on a read is retried and the retry's answer is returned.
    pub async fn a_429_is_retried_then_succeeds(h: &dyn Harness) {
        let server = MockServer::start().await;
        mount(
            &server,
            h,
            Op::Get,
            "p1",
            ResponseTemplate::new(429),
            Some(1),
            Some(1),
        )
        .await;
        let body = h.payment_with_status(h.paid_status());
        mount(
            &server,
            h,
            Op::Get,
            "p1",
            ResponseTemplate::new(200).set_body_json(body),
            None,
            Some(1),
        )
        .await;
        let payment = h.client(&server).fetch_payment("p1").await.unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
    }

    /// A creation answered 500 is never sent again, and the caller is told to reconcile.
    pub async fn a_creation_answered_500_is_sent_once_and_outcome_unknown(h: &dyn Harness) {
        let server = MockServer::start().await;
        mount(
            &server,
            h,
            Op::Create,
            "",
            ResponseTemplate::new(500),
            None,
            Some(1),
        )
        .await;
        let err = h
            .client(&server)
            .checkout(&h.create_request())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
        assert_eq!(err.delivery(), Sent::Unknown);
    }

    /// After a creation answered 500, the payment is looked up by the merchant reference: found
    /// exactly once where the provider can search (one search request, the creation not sent
    /// again), `Unsupported` with nothing sent where it cannot.
    pub async fn a_creation_answered_500_is_found_by_reference_or_declared_unsupported(
        h: &dyn Harness,
    ) {
        let server = MockServer::start().await;
        mount(
            &server,
            h,
            Op::Create,
            "",
            ResponseTemplate::new(500),
            None,
            Some(1),
        )
        .await;
        let client = h.client(&server);
        let request = h.create_request();
        let err = client.checkout(&request).await.unwrap_err();
        assert_eq!(err.delivery(), Sent::Unknown, "{err:?}");
        if !client.capabilities().supports(Capability::FindByReference) {
            let err = client
                .find_by_reference(&request.reference)
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
            assert_eq!(
                server.received_requests().await.unwrap().len(),
                1,
                "only the creation was sent"
            );
            return;
        }
        let (m, p) = h
            .find_route()
            .expect("a harness declaring FindByReference gives its route");
        let (_, id) = h.created();
        let answer = h
            .found(&id, &request.reference)
            .expect("a harness declaring FindByReference gives its answer");
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(&server)
            .await;
        let found = client.find_by_reference(&request.reference).await.unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].id, id);
        assert!(
            found[0]
                .reference
                .as_deref()
                .is_none_or(|r| r == request.reference),
            "{:?}",
            found[0].reference
        );
    }

    /// A creation that times out is never sent again.
    pub async fn a_creation_timing_out_is_sent_once_and_outcome_unknown(h: &dyn Harness) {
        let server = MockServer::start().await;
        let (body, id) = h.created();
        let slow = ResponseTemplate::new(201)
            .set_body_json(body)
            .set_delay(Duration::from_secs(5));
        mount(&server, h, Op::Create, &id, slow, None, Some(1)).await;
        let err = h
            .client(&server)
            .checkout(&h.create_request())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    }

    /// A status the crate does not know is kept raw and is never success.
    pub async fn an_unknown_status_is_unknown_never_success(h: &dyn Harness) {
        let server = MockServer::start().await;
        let body = h.payment_with_status("SOMETHING_NEW_2031");
        mount(
            &server,
            h,
            Op::Get,
            "p1",
            ResponseTemplate::new(200).set_body_json(body),
            None,
            None,
        )
        .await;
        let payment = h.client(&server).fetch_payment("p1").await.unwrap();
        assert!(
            matches!(&payment.status, PaymentStatus::Unknown(raw) if raw.contains("SOMETHING_NEW_2031")),
            "{:?}",
            payment.status
        );
        assert!(!payment.status.is_success() && !payment.status.is_final());
    }

    /// A documented error keeps its HTTP status and provider code.
    pub async fn a_provider_error_keeps_its_code(h: &dyn Harness) {
        let server = MockServer::start().await;
        let (status, body, code) = h.not_found();
        mount(
            &server,
            h,
            Op::Get,
            "p1",
            ResponseTemplate::new(status).set_body_json(body),
            None,
            Some(1),
        )
        .await;
        let err = h.client(&server).fetch_payment("p1").await.unwrap_err();
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(err.provider_code(), Some(code));
    }

    /// Cancel works when declared, and is `Unsupported` without a request otherwise.
    pub async fn cancel_works_or_is_declared_unsupported(h: &dyn Harness) {
        let server = MockServer::start().await;
        let client = h.client(&server);
        if client.capabilities().supports(Capability::CancelPayment) {
            let (status, body) = h.cancelled();
            let mut response = ResponseTemplate::new(status);
            if let Some(body) = body {
                response = response.set_body_json(body);
            }
            mount(&server, h, Op::Cancel, "p1", response, None, Some(1)).await;
            client.cancel("p1").await.unwrap();
        } else {
            let err = client.cancel("p1").await.unwrap_err();
            assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
            assert!(server.received_requests().await.unwrap().is_empty());
        }
    }

    /// Refund is `Unsupported` without a request when not declared. When declared, a full
    /// refund of a paid payment is sent exactly once and reported with a known status, and a
    /// refund answered 500 is never re-sent and reports an unknown outcome.
    pub async fn refund_works_or_is_declared_unsupported(h: &dyn Harness) {
        let server = MockServer::start().await;
        let client = h.client(&server);
        if !client.capabilities().supports(Capability::Refund) {
            let err = client
                .refund_payment(&RefundRequest::full("p1"))
                .await
                .unwrap_err();
            assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
            assert!(server.received_requests().await.unwrap().is_empty());
            return;
        }
        let (m, p) = h
            .refund_route("p1")
            .expect("a harness declaring refunds gives their route");
        let answer = h
            .refunded()
            .expect("a harness declaring refunds gives their answer");
        let paid = ResponseTemplate::new(200).set_body_json(h.payment_with_status(h.paid_status()));
        mount(&server, h, Op::Get, "p1", paid.clone(), None, None).await;
        Mock::given(method(m))
            .and(path(p.clone()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(&server)
            .await;
        let refund = client
            .refund_payment(&RefundRequest::full("p1"))
            .await
            .unwrap();
        assert_eq!(refund.payment_id, "p1");
        assert!(refund.amount.is_some(), "a full refund says how much");
        assert!(
            !matches!(refund.status, payments_core::RefundStatus::Unknown(_)),
            "the documented refund answer maps to a known status: {:?}",
            refund.status
        );

        let failing = MockServer::start().await;
        mount(&failing, h, Op::Get, "p1", paid, None, None).await;
        Mock::given(method(m))
            .and(path(p))
            .respond_with(ResponseTemplate::new(500))
            .expect(1)
            .mount(&failing)
            .await;
        let err = h
            .client(&failing)
            .refund_payment(&RefundRequest::full("p1"))
            .await
            .unwrap_err();
        assert_eq!(err.delivery(), Sent::Unknown, "{err:?}");
    }

    /// `docs/status-mapping.md` has exactly the code's mapping for every documented value.
    pub async fn the_docs_status_table_matches_the_code(h: &dyn Harness) {
        let doc = include_str!("../../docs/status-mapping.md");
        let section = doc
            .split(h.docs_heading())
            .nth(1)
            .and_then(|s| s.split("\n## ").next())
            .unwrap_or_else(|| {
                panic!("docs/status-mapping.md has no section {}", h.docs_heading())
            });
        for (raw, unified) in h.status_table() {
            let name = format!("{unified:?}");
            let name = name.split('(').next().unwrap_or_default();
            let row = format!("| `{raw}` | `{name}` |");
            assert!(
                section.contains(&row),
                "docs/status-mapping.md lacks the row {row}"
            );
        }
    }

    /// A correctly signed delivery verifies and reports the paid status.
    pub async fn a_signed_webhook_verifies(h: &dyn Harness) {
        let Some(delivery) = h.signed_delivery() else {
            return;
        };
        assert_eq!(h.verify(&delivery).unwrap(), Some(PaymentStatus::Succeeded));
    }

    /// Changing one byte of a signed delivery's body makes it fail verification.
    pub async fn a_tampered_webhook_is_rejected(h: &dyn Harness) {
        let Some(mut delivery) = h.signed_delivery() else {
            return;
        };
        let last = delivery.body.len() - 2;
        delivery.body[last] ^= 0x01;
        let err = h.verify(&delivery).unwrap_err();
        assert!(
            matches!(
                err,
                WebhookRejection::BadSignature | WebhookRejection::DigestMismatch
            ),
            "{err:?}"
        );
    }
}

/// Re-exported for harness authors.
pub use payments_core::webhook::WebhookRequest;

/// Builds a [`WebhookRequest`] over a [`Delivery`] and hands it to `f`.
pub fn with_request<T>(delivery: &Delivery, f: impl FnOnce(&WebhookRequest<'_>) -> T) -> T {
    let mut request = WebhookRequest::new("POST", &delivery.url, &delivery.body);
    for (name, value) in &delivery.headers {
        request = request.header(name, value);
    }
    f(&request)
}
