//! Contract tests: every endpoint of the Merchant Payment API v3 against a local wiremock server.
//! Each test pins the exact request (method, path, query, headers, JSON body) and answers with the
//! provider's documented responses (`tests/fixtures/`, taken from the official v3 specification).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use futures_util::TryStreamExt;
use payments_core::{
    Currency, Delivery, Error, Money, PaymentProvider, PaymentStatus, RefundRequest,
};
use payments_payconiq::{
    AcknowledgeRequest, CreatePaymentRequest, Environment, PayconiqClient, PayconiqConfig,
    PayconiqStatus, SearchQuery,
};
use payments_test_support::{
    Fixtures, answer, answer_first, bearer, fixtures, mock_http, only_request,
};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const API_KEY: &str = "pcq_test_SECRET_api_key";
const PAYMENT_ID: &str = "5bdaf066b93d1c000bde9683";

fn client(server: &MockServer) -> PayconiqClient {
    PayconiqClient::new(
        PayconiqConfig::new(API_KEY, Environment::Production)
            .base_url(format!("{}/v3", server.uri()))
            .http(mock_http()),
    )
    .unwrap()
}

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

/// Matchers every authenticated call must satisfy.
fn authenticated(m: MockBuilder) -> MockBuilder {
    m.and(bearer(API_KEY)).and(header_exists("user-agent"))
}

/// A documented error answer: `status` with `code` and `message`.
fn error_answer(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status).set_body_json(error_body(code, message))
}

fn error_body(code: &str, message: &str) -> Value {
    json!({"traceId": "b2586833395d4750", "spanId": "c235e54376fab4b9", "code": code, "message": message})
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_sends_the_documented_body_and_parses_the_documented_answer() {
    let server = MockServer::start().await;
    let expected = json!({
        "amount": 112,
        "currency": "EUR",
        "reference": "987456264",
        "bulkId": "Bulk-1-200",
        "description": "Sample description",
        "callbackUrl": "https://www.testcallback.com/payconiq/payment"
    });
    authenticated(Mock::given(method("POST")).and(path("/v3/payments")))
        .and(header("content-type", "application/json"))
        .and(body_json(&expected))
        .respond_with(FIXTURES.json_answer(201, "create_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let request = CreatePaymentRequest::new(eur(112))
        .reference("987456264")
        .bulk_id("Bulk-1-200")
        .description("Sample description")
        .callback_url("https://www.testcallback.com/payconiq/payment");
    let payment = client(&server).create_payment(&request).await.unwrap();
    assert_eq!(payment.payment_id, "5aa9a9700000000000000000");
    assert_eq!(payment.status, PayconiqStatus::Pending);
    assert!(
        payment.expire_at.is_some(),
        "expiresAt is read into expire_at"
    );
    assert!(payment.links.cancel.is_some());
    let sent: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    insta::assert_json_snapshot!("create_request", sent);
    insta::assert_json_snapshot!("create_result", payment);
}

#[tokio::test]
async fn create_with_a_pos_id_goes_to_payments_pos() {
    let server = MockServer::start().await;
    authenticated(Mock::given(method("POST")).and(path("/v3/payments/pos")))
        .and(body_json(json!({
            "amount": 250, "currency": "EUR", "reference": "ticket-8", "posId": "POS-00042",
            "shopId": "shop-7", "shopName": "Gare Centrale"
        })))
        .respond_with(FIXTURES.json_answer(201, "create_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let request = CreatePaymentRequest::new(eur(250))
        .reference("ticket-8")
        .pos_id("POS-00042")
        .shop("shop-7", "Gare Centrale");
    client(&server).create_payment(&request).await.unwrap();
    let sent: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    insta::assert_json_snapshot!("create_pos_request", sent);
}

#[tokio::test]
async fn invalid_input_is_rejected_before_anything_is_sent() {
    let server = MockServer::start().await;
    answer(&server, "POST", ResponseTemplate::new(201), 0).await;
    let c = client(&server);
    let cases = [
        (
            CreatePaymentRequest::new(Money::from_minor(100, Currency::USD)),
            "currency",
        ),
        (CreatePaymentRequest::new(eur(0)), "amount"),
        (
            CreatePaymentRequest::new(eur(1)).reference("x".repeat(36)),
            "reference",
        ),
        (
            CreatePaymentRequest::new(eur(1)).description("🍕"),
            "description",
        ),
        (
            CreatePaymentRequest::new(eur(1)).callback_url("http://insecure.example/cb"),
            "callbackUrl",
        ),
    ];
    for (request, field) in cases {
        match c.create_payment(&request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
    }
}

#[tokio::test]
async fn create_errors_keep_code_message_and_trace_id() {
    // Every documented error of POST /payments: (status, code).
    let cases = [
        (400, "BODY_MISSING"),
        (400, "FIELD_IS_REQUIRED"),
        (400, "FIELD_IS_INVALID"),
        (401, "UNAUTHORIZED"),
        (403, "ACCESS_DENIED"),
        (404, "MERCHANT_PROFILE_NOT_FOUND"),
        (422, "UNABLE_TO_PAY_CREDITOR"),
    ];
    for (status, code) in cases {
        let server = MockServer::start().await;
        answer(&server, "POST", error_answer(status, code, "documented"), 1).await;
        let err = client(&server)
            .create_payment(&CreatePaymentRequest::new(eur(100)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::Provider { .. }),
            "{status} {code}: {err:?}"
        );
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(err.provider_code(), Some(code));
        assert_eq!(err.trace_id(), Some("b2586833395d4750/c235e54376fab4b9"));
        assert_eq!(err.delivery(), Delivery::Answered);
    }
}

#[tokio::test]
async fn the_documented_400_example_is_read_verbatim() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(FIXTURES.json_answer(400, "error_400_field_is_required.json"))
        .mount(&server)
        .await;
    let err = client(&server)
        .create_payment(&CreatePaymentRequest::new(eur(100)))
        .await
        .unwrap_err();
    let shown = err.to_string();
    assert!(shown.contains("FIELD_IS_REQUIRED"), "{shown}");
    assert!(shown.contains("Field 'amount' is mandatory"), "{shown}");
    assert!(!shown.contains("SECRET"));
}

#[tokio::test]
async fn create_answered_500_or_503_is_sent_once_and_outcome_is_unknown() {
    for (status, body) in [
        (500, Some(error_body("TECHNICAL_ERROR", "Technical error"))),
        (
            503,
            Some(error_body("TRY_AGAIN_LATER", "Service unavailable")),
        ),
        (503, None),
    ] {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status);
        if let Some(body) = &body {
            response = response.set_body_json(body);
        }
        answer(&server, "POST", response, 1).await;
        let err = client(&server)
            .create_payment(&CreatePaymentRequest::new(eur(100)))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{status}: {err:?}"
        );
        assert_eq!(err.http_status(), Some(status));
        if body.is_some() {
            assert!(err.provider_code().is_some());
        }
    }
}

#[tokio::test]
async fn create_answered_429_is_retried_then_succeeds() {
    let server = MockServer::start().await;
    answer_first(&server, "POST", ResponseTemplate::new(429)).await;
    answer(
        &server,
        "POST",
        FIXTURES.json_answer(201, "create_201.json"),
        1,
    )
    .await;
    let payment = client(&server)
        .create_payment(&CreatePaymentRequest::new(eur(100)))
        .await
        .unwrap();
    assert_eq!(payment.status, PayconiqStatus::Pending);
}

// ---------------------------------------------------------------- get

#[tokio::test]
async fn get_parses_the_documented_payment_with_legacy_fields() {
    let server = MockServer::start().await;
    authenticated(Mock::given(method("GET")).and(path(format!("/v3/payments/{PAYMENT_ID}"))))
        .and(header("content-type", "application/json"))
        .respond_with(FIXTURES.json_answer(200, "get_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let payment = client(&server).get_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(payment.status, PayconiqStatus::Succeeded);
    assert_eq!(payment.total_amount, Some(10));
    assert_eq!(
        payment.debtor.as_ref().unwrap().iban.as_deref(),
        Some("*************12636")
    );
    assert!(payment.links.refund.is_some());
    insta::assert_json_snapshot!("get_result", payment);
}

#[tokio::test]
async fn get_errors_and_throttling() {
    let cases: [(u16, Option<Value>, &str); 5] = [
        (
            401,
            Some(error_body("UNAUTHORIZED", "no key")),
            "UNAUTHORIZED",
        ),
        (
            403,
            Some(error_body("ACCESS_DENIED", "denied")),
            "ACCESS_DENIED",
        ),
        (
            404,
            Some(error_body("PAYMENT_NOT_FOUND", "not found")),
            "PAYMENT_NOT_FOUND",
        ),
        (
            500,
            Some(error_body("TECHNICAL_ERROR", "boom")),
            "TECHNICAL_ERROR",
        ),
        (503, None, ""),
    ];
    for (status, body, code) in cases {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(status);
        if let Some(body) = body {
            response = response.set_body_json(body);
        }
        // A GET is idempotent: 503 is retried up to the bound (3 attempts), 500 and 4xx are not.
        let expected_calls = if status == 503 { 3 } else { 1 };
        answer(&server, "GET", response, expected_calls).await;
        let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
        assert!(matches!(err, Error::Provider { .. }), "{status}: {err:?}");
        assert_eq!(err.http_status(), Some(status));
        if !code.is_empty() {
            assert_eq!(err.provider_code(), Some(code));
        }
    }
}

#[tokio::test]
async fn a_429_without_retry_after_is_retried_with_backoff_and_then_reported() {
    let server = MockServer::start().await;
    answer(&server, "GET", ResponseTemplate::new(429), 3).await;
    let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::RateLimited {
                retry_after: None,
                ..
            }
        ),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_429_with_a_long_retry_after_is_reported_with_the_delay() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "3600"),
        1,
    )
    .await;
    let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_and_html_bodies_are_decode_errors_with_a_redacted_excerpt() {
    let server = MockServer::start().await;
    Mock::given(path(format!("/v3/payments/{PAYMENT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"paymentId": 12, "status"#))
        .mount(&server)
        .await;
    let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");

    let server = MockServer::start().await;
    let page = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    Mock::given(path(format!("/v3/payments/{PAYMENT_ID}")))
        .respond_with(ResponseTemplate::new(502).set_body_string(page))
        .mount(&server)
        .await;
    let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(502));
    assert_eq!(err.provider_code(), None);
}

#[tokio::test]
async fn an_unknown_status_is_kept_and_never_success() {
    let server = MockServer::start().await;
    let mut body = FIXTURES.json("get_200.json");
    body["status"] = json!("PARTIALLY_REFUNDED_SOMEDAY");
    Mock::given(path(format!("/v3/payments/{PAYMENT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let c = client(&server);
    let native = c.get_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(
        native.status,
        PayconiqStatus::Other("PARTIALLY_REFUNDED_SOMEDAY".into())
    );
    let unified = c.fetch_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(
        unified.status,
        PaymentStatus::Unknown("PARTIALLY_REFUNDED_SOMEDAY".into())
    );
    assert!(!unified.status.is_success());
    assert_eq!(unified.raw_status, "PARTIALLY_REFUNDED_SOMEDAY");
}

#[tokio::test]
async fn a_newer_payload_with_unknown_fields_and_without_legacy_ones_is_accepted() {
    let server = MockServer::start().await;
    let mut body = FIXTURES.json("get_200.json");
    let obj = body.as_object_mut().unwrap();
    for legacy in ["transferAmount", "tippingAmount", "totalAmount"] {
        obj.remove(legacy);
    }
    obj.insert(
        "succeededAt".into(),
        json!("2018-11-01T12:25:00.123456789Z"),
    );
    obj.insert("someFutureField".into(), json!({"nested": [1, 2]}));
    obj.insert("_links".into(), json!({"self": {"href": "x"}, "deeplink": {"href": "d"}, "qrcode": {"href": "q"}, "newLink": {"href": "n"}}));
    Mock::given(path(format!("/v3/payments/{PAYMENT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let payment = client(&server).get_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(payment.total_amount, None);
    assert_eq!(payment.succeeded_at.unwrap().nanosecond(), 123_456_789);
}

#[tokio::test]
async fn payment_ids_cannot_escape_the_path() {
    let server = MockServer::start().await;
    Mock::given(path("/v3/payments/..%2Fadmin%3Fx%3D1"))
        .respond_with(error_answer(404, "PAYMENT_NOT_FOUND", ""))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .get_payment("../admin?x=1")
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("PAYMENT_NOT_FOUND"));
    let err = client(&server).get_payment("").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
}

#[tokio::test]
async fn dot_segment_and_empty_payment_ids_are_refused_naming_the_field_before_sending() {
    // URL normalisation removes dot segments: `GET /v3/payments/..` would be a call on
    // `/v3/payments` (and `..` as a refund-IBAN id a call on `/v3/payments/debtor/refundIban`).
    let server = MockServer::start().await;
    let c = client(&server);
    let refused = |result: Result<(), Error>, call: &str, id: &str| match result {
        Err(Error::InvalidInput { field, reason }) => {
            assert_eq!(field, "paymentId", "{call}({id:?})");
            assert!(
                reason.starts_with("must not be"),
                "{call}({id:?}): {reason}"
            );
        }
        other => panic!("{call}({id:?}) gave {other:?}"),
    };
    for id in ["..", ".", ""] {
        refused(c.get_payment(id).await.map(drop), "get_payment", id);
        refused(c.cancel_payment(id).await, "cancel_payment", id);
        refused(c.refund_iban(id).await.map(drop), "refund_iban", id);
        refused(
            c.acknowledge(id, &AcknowledgeRequest::new(eur(100))).await,
            "acknowledge",
            id,
        );
        refused(
            c.fetch_payment(id).await.map(drop),
            "neutral fetch_payment",
            id,
        );
        refused(c.cancel(id).await, "neutral cancel_payment", id);
    }
    let too_long = c.get_payment(&"a".repeat(65)).await.unwrap_err();
    assert!(
        matches!(&too_long, Error::InvalidInput { field, .. } if field == "paymentId"),
        "{too_long:?}"
    );
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing is sent"
    );
}

// ---------------------------------------------------------------- cancel

#[tokio::test]
async fn cancel_sends_delete_and_accepts_204() {
    let server = MockServer::start().await;
    authenticated(Mock::given(method("DELETE")).and(path(format!("/v3/payments/{PAYMENT_ID}"))))
        .and(header("content-type", "application/json"))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).cancel_payment(PAYMENT_ID).await.unwrap();
}

#[tokio::test]
async fn cancel_errors_are_the_documented_ones() {
    for (status, code) in [
        (401, "UNAUTHORIZED"),
        (403, "ACCESS_DENIED"),
        (403, "CALLER_NOT_ALLOWED_TO_CANCEL"),
        (404, "PAYMENT_NOT_FOUND"),
        (422, "PAYMENT_NOT_PENDING"),
        (500, "TECHNICAL_ERROR"),
    ] {
        let server = MockServer::start().await;
        answer(
            &server,
            "DELETE",
            error_answer(status, code, "documented"),
            1,
        )
        .await;
        let err = client(&server)
            .cancel_payment(PAYMENT_ID)
            .await
            .unwrap_err();
        assert_eq!(err.provider_code(), Some(code), "{status}");
        assert_eq!(err.http_status(), Some(status));
    }
}

#[tokio::test]
async fn cancelling_an_already_cancelled_payment_succeeds() {
    // A retried DELETE after the first one went through gets 422 PAYMENT_NOT_PENDING.
    let server = MockServer::start().await;
    answer(
        &server,
        "DELETE",
        error_answer(422, "PAYMENT_NOT_PENDING", "not pending"),
        1,
    )
    .await;
    let mut cancelled = FIXTURES.json("get_200.json");
    cancelled["status"] = json!("CANCELLED");
    Mock::given(method("GET"))
        .and(path(format!("/v3/payments/{PAYMENT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(cancelled))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).cancel_payment(PAYMENT_ID).await.unwrap();
}

#[tokio::test]
async fn cancelling_a_paid_payment_reports_payment_not_pending() {
    let server = MockServer::start().await;
    Mock::given(method("DELETE"))
        .respond_with(error_answer(422, "PAYMENT_NOT_PENDING", "not pending"))
        .mount(&server)
        .await;
    answer(&server, "GET", FIXTURES.json_answer(200, "get_200.json"), 1).await;
    let err = client(&server)
        .cancel_payment(PAYMENT_ID)
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("PAYMENT_NOT_PENDING"));
}

// ---------------------------------------------------------------- search

#[tokio::test]
async fn search_sends_page_size_and_filter_and_parses_the_page() {
    let server = MockServer::start().await;
    authenticated(Mock::given(method("POST")).and(path("/v3/payments/search")))
        .and(query_param("page", "2"))
        .and(query_param("size", "25"))
        .and(body_json(json!({
            "from": "2018-08-01T00:10:10.000Z",
            "to": "2018-08-31T00:10:10.999Z",
            "paymentStatuses": ["SUCCEEDED"],
            "reference": "1234568"
        })))
        .respond_with(FIXTURES.json_answer(200, "search_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let query = SearchQuery::new()
        .from(time::macros::datetime!(2018-08-01 0:10:10 UTC))
        .to(time::macros::datetime!(2018-08-31 0:10:10.999 UTC))
        .status(PayconiqStatus::Succeeded)
        .reference("1234568");
    let page = client(&server)
        .search_payments(&query, 2, 25)
        .await
        .unwrap();
    assert_eq!(
        (
            page.size,
            page.total_pages,
            page.total_elements,
            page.number
        ),
        (2, 7, 13, 0)
    );
    assert_eq!(page.details.len(), 2);
    let sent: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    insta::assert_json_snapshot!("search_request", sent);
    insta::assert_json_snapshot!("search_result", page);
}

#[tokio::test]
async fn search_all_walks_every_page_in_order() {
    let server = MockServer::start().await;
    let page_of = |number: u32, ids: &[&str]| {
        let template = FIXTURES.json("get_200.json");
        let details: Vec<Value> = ids
            .iter()
            .map(|id| {
                let mut p = template.clone();
                p["paymentId"] = json!(id);
                p
            })
            .collect();
        json!({"size": ids.len(), "totalPages": 3, "totalElements": 5, "number": number, "details": details})
    };
    for (page, ids) in [(0u32, vec!["a", "b"]), (1, vec!["c", "d"]), (2, vec!["e"])] {
        Mock::given(method("POST"))
            .and(path("/v3/payments/search"))
            .and(query_param("page", page.to_string().as_str()))
            .and(query_param("size", "2"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page_of(page, &ids)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    let query = SearchQuery::new();
    let all: Vec<_> = c.search_all(&query, 2).try_collect().await.unwrap();
    let ids: Vec<_> = all.iter().map(|p| p.payment_id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn search_all_pins_the_window_and_survives_a_server_that_ignores_the_page() {
    let server = MockServer::start().await;
    // Claims four billion pages but always answers page 0.
    answer(&server, "POST", ResponseTemplate::new(200).set_body_json(json!({ "size": 1, "totalPages": 4_000_000_000u32, "totalElements": 4_000_000_000u64, "number": 0, "details": [FIXTURES.json("get_200.json")] })), 2).await;
    let c = client(&server);
    let query = SearchQuery::new().status(PayconiqStatus::Succeeded);
    let all: Vec<_> = c.search_all(&query, 1).try_collect().await.unwrap();
    assert_eq!(all.len(), 1, "the repeated page is not yielded twice");
    let bodies: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect();
    assert!(bodies[0]["from"].is_string() && bodies[0]["to"].is_string());
    assert_eq!(
        bodies[0], bodies[1],
        "every page asks for the same pinned window"
    );
}

#[tokio::test]
async fn search_all_stops_at_the_first_error() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(query_param("page", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"size": 1, "totalPages": 2, "totalElements": 2, "number": 0, "details": [FIXTURES.json("get_200.json")]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(query_param("page", "1"))
        .respond_with(error_answer(403, "ACCESS_DENIED", ""))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let query = SearchQuery::new();
    let result: Result<Vec<_>, _> = c.search_all(&query, 1).try_collect().await;
    assert_eq!(result.unwrap_err().provider_code(), Some("ACCESS_DENIED"));
}

#[tokio::test]
async fn search_is_retried_like_a_read_on_503() {
    let server = MockServer::start().await;
    answer_first(&server, "POST", ResponseTemplate::new(503)).await;
    answer(
        &server,
        "POST",
        FIXTURES.json_answer(200, "search_200.json"),
        1,
    )
    .await;
    client(&server)
        .search_payments(&SearchQuery::new(), 0, 50)
        .await
        .unwrap();
}

#[tokio::test]
async fn search_page_size_is_validated() {
    let server = MockServer::start().await;
    for size in [0, 501] {
        let err = client(&server)
            .search_payments(&SearchQuery::new(), 0, size)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "size"));
    }
}

// ---------------------------------------------------------------- refund IBAN, acknowledge

#[tokio::test]
async fn refund_iban_is_fetched() {
    let server = MockServer::start().await;
    authenticated(
        Mock::given(method("GET"))
            .and(path(format!("/v3/payments/{PAYMENT_ID}/debtor/refundIban"))),
    )
    .respond_with(FIXTURES.json_answer(200, "refund_iban_200.json"))
    .expect(1)
    .mount(&server)
    .await;
    let iban = client(&server).refund_iban(PAYMENT_ID).await.unwrap();
    assert_eq!(iban.iban, "NL77ABNA1111111111");
}

#[tokio::test]
async fn refund_iban_errors_are_the_documented_ones() {
    for (status, code) in [
        (403, "ACCESS_DENIED"),
        (404, "PAYMENT_NOT_FOUND"),
        (422, "REFUND_NOT_ALLOWED"),
        (422, "REFUND_NOT_AVAILABLE"),
    ] {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(error_answer(status, code, "documented"))
            .mount(&server)
            .await;
        let err = client(&server).refund_iban(PAYMENT_ID).await.unwrap_err();
        assert_eq!(err.provider_code(), Some(code));
    }
}

#[tokio::test]
async fn acknowledge_sends_currency_amount_and_reference() {
    let server = MockServer::start().await;
    authenticated(
        Mock::given(method("POST")).and(path(format!("/v3/payments/{PAYMENT_ID}/acknowledge"))),
    )
    .and(body_json(
        json!({"currency": "EUR", "amount": 1250, "reference": "order-77"}),
    ))
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;
    client(&server)
        .acknowledge(
            PAYMENT_ID,
            &AcknowledgeRequest::new(eur(1250)).reference("order-77"),
        )
        .await
        .unwrap();
    let sent: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    insta::assert_json_snapshot!("acknowledge_request", sent);
}

// ---------------------------------------------------------------- provider-neutral trait

#[tokio::test]
async fn neutral_create_returns_a_checkout_with_links_and_expiry() {
    let server = MockServer::start().await;
    let mut body = FIXTURES.json("create_201.json");
    body["_links"]["checkout"] =
        json!({"href": "https://payconiq.com/checkout/5aa9a9700000000000000000"});
    Mock::given(method("POST"))
        .and(path("/v3/payments"))
        .and(body_json(json!({
            "amount": 1999, "currency": "EUR", "reference": "order-1",
            "description": "Order 1", "callbackUrl": "https://shop.example/cb",
            "returnUrl": "https://shop.example/return"
        })))
        .respond_with(ResponseTemplate::new(201).set_body_json(body))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let request = payments_core::CreatePayment::new(eur(1999), "order-1")
        .description("Order 1")
        .webhook_url("https://shop.example/cb")
        .return_url("https://shop.example/return");
    let checkout = c.checkout(&request).await.unwrap();
    assert_eq!(checkout.payment_id, "5aa9a9700000000000000000");
    assert_eq!(checkout.status, PaymentStatus::Pending);
    assert_eq!(
        checkout.deeplink.as_deref(),
        Some("https://payconiq.com/pay/2/5bdb1685b93d1c000bde96f2")
    );
    assert!(
        checkout
            .qr_code_url
            .unwrap()
            .starts_with("https://portal.ext.payconiq.com/qrcode")
    );
    assert_eq!(
        checkout.redirect_url.as_deref(),
        Some("https://payconiq.com/checkout/5aa9a9700000000000000000")
    );
    assert_eq!(
        checkout.expires_at,
        Some(time::macros::datetime!(2018-09-18 11:43:29.160 UTC))
    );
}

#[tokio::test]
async fn neutral_get_maps_status_amount_and_reference() {
    let server = MockServer::start().await;
    Mock::given(path(format!("/v3/payments/{PAYMENT_ID}")))
        .respond_with(FIXTURES.json_answer(200, "get_200.json"))
        .mount(&server)
        .await;
    let payment = client(&server).fetch_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.raw_status, "SUCCEEDED");
    assert_eq!(payment.amount, Some(eur(10)));
    assert_eq!(payment.raw["creditor"]["name"], "Merchant Name");
}

#[tokio::test]
async fn neutral_create_refuses_an_expiry_payconiq_cannot_honour() {
    let server = MockServer::start().await;
    let request =
        payments_core::CreatePayment::new(eur(100), "order-1").expires_in(Duration::from_secs(900));
    let err = client(&server).checkout(&request).await.unwrap_err();
    assert!(
        matches!(err, Error::InvalidInput { ref field, .. } if field == "expires_in"),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn neutral_refund_is_unsupported_and_says_why() {
    let server = MockServer::start().await;
    let c = client(&server);
    assert!(!c.capabilities().supports(payments_core::Capability::Refund));
    let err = c
        .refund_payment(&RefundRequest::full(PAYMENT_ID))
        .await
        .unwrap_err();
    match err {
        Error::Unsupported {
            provider,
            operation,
            hint,
        } => {
            assert_eq!((provider, operation), ("payconiq", "refund"));
            assert!(hint.contains("refund_iban"));
        }
        other => panic!("expected Unsupported, got {other:?}"),
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_api_key_never_appears_in_debug_or_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(error_answer(401, "UNAUTHORIZED", "bad key"))
        .mount(&server)
        .await;
    let config = PayconiqConfig::new(API_KEY, Environment::Production);
    let c = client(&server);
    let err = c.get_payment(PAYMENT_ID).await.unwrap_err();
    let shown = format!("{config:?} {c:?} {err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[test]
fn environments_have_the_documented_hosts() {
    assert_eq!(
        Environment::Production.api_base_url(),
        "https://merchant.api.bancontact.net/v3"
    );
    assert_eq!(
        Environment::PreProduction.api_base_url(),
        "https://merchant.api.preprod.bancontact.net/v3"
    );
    assert_eq!(
        Environment::LegacyProduction.api_base_url(),
        "https://api.payconiq.com/v3"
    );
    assert_eq!(
        Environment::LegacyPreProduction.api_base_url(),
        "https://api.ext.payconiq.com/v3"
    );
    assert_eq!(
        Environment::Production.jwks_url(),
        "https://jwks.bancontact.net/"
    );
    assert_eq!(
        Environment::PreProduction.jwks_url(),
        "https://jwks.preprod.bancontact.net/"
    );
    let err = PayconiqClient::new(PayconiqConfig::new("  ", Environment::Production)).unwrap_err();
    assert!(matches!(err, Error::Config(_)));
}

// ---------------------------------------------------------------- neutral find_by_reference

/// The documented search answer (`search_200.json`) listing `payments`, each `(id, reference,
/// status, createdAt)`, on page `number` of `total_pages`.
fn search_answer(
    payments: &[(&str, Option<&str>, &str, &str)],
    number: u32,
    total_pages: u32,
) -> Value {
    let mut answer = FIXTURES.json("search_200.json");
    let template = answer["details"][0].clone();
    let details: Vec<Value> = payments
        .iter()
        .map(|(id, reference, status, created_at)| {
            let mut p = template.clone();
            p["paymentId"] = json!(id);
            p["status"] = json!(status);
            p["createdAt"] = json!(created_at);
            match reference {
                Some(r) => p["reference"] = json!(r),
                None => {
                    p.as_object_mut().unwrap().remove("reference");
                }
            }
            p
        })
        .collect();
    answer["size"] = json!(details.len());
    answer["number"] = json!(number);
    answer["totalPages"] = json!(total_pages);
    answer["details"] = json!(details);
    answer
}

fn search_time(text: &str) -> time::OffsetDateTime {
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339).unwrap()
}

#[tokio::test]
async fn neutral_find_by_reference_searches_the_reference_over_the_last_day_oldest_first() {
    let server = MockServer::start().await;
    authenticated(Mock::given(method("POST")).and(path("/v3/payments/search")))
        .and(query_param("page", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(search_answer(
            &[
                (
                    "5bdaf066b93d1c000bde9684",
                    Some("order-7"),
                    "PENDING",
                    "2018-11-01T12:30:00.000Z",
                ),
                (
                    "5bdaf066b93d1c000bde9683",
                    Some("order-7"),
                    "EXPIRED",
                    "2018-11-01T12:24:06.004Z",
                ),
            ],
            0,
            1,
        )))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert!(
        c.capabilities()
            .supports(payments_core::Capability::FindByReference)
    );
    let before = time::OffsetDateTime::now_utc();
    let found = PaymentProvider::find_by_reference(&c, "order-7")
        .await
        .unwrap();
    let after = time::OffsetDateTime::now_utc();

    // Payconiq answers newest first; the neutral API gives the oldest first.
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["5bdaf066b93d1c000bde9683", "5bdaf066b93d1c000bde9684"]
    );
    assert_eq!(found[0].status, PaymentStatus::Expired);
    assert_eq!(found[1].status, PaymentStatus::Pending);
    assert_eq!(found[1].reference.as_deref(), Some("order-7"));
    assert_eq!(found[1].amount, Some(eur(10)));
    // Each as get_payment reports it: the provider's JSON for that payment.
    assert_eq!(found[1].raw["paymentId"], "5bdaf066b93d1c000bde9684");
    assert_eq!(found[1].raw["creditor"]["name"], "Merchant Name");

    let sent: Value = serde_json::from_slice(&only_request(&server).await.body).unwrap();
    assert_eq!(sent["reference"], "order-7");
    assert!(
        sent.get("paymentStatuses").is_none(),
        "every status: {sent}"
    );
    let (from, to) = (
        search_time(sent["from"].as_str().unwrap()),
        search_time(sent["to"].as_str().unwrap()),
    );
    // The window covers every payment that can still be open (they expire minutes after
    // creation), with room for the provider's clock being ahead of ours.
    // `from` is a day before the moment of the call, which lies between `before` and `after`
    // (the wire form keeps milliseconds).
    assert!(from <= after - time::Duration::hours(24), "{sent}");
    assert!(
        from >= before - time::Duration::hours(24) - time::Duration::milliseconds(1),
        "{sent}"
    );
    assert!(to >= after, "{sent}");
    assert!(to <= after + time::Duration::hours(1), "{sent}");
}

#[tokio::test]
async fn neutral_find_by_reference_walks_every_page_and_drops_other_references() {
    let server = MockServer::start().await;
    let pages = [
        search_answer(
            &[
                (
                    "p4",
                    Some("order-7"),
                    "SUCCEEDED",
                    "2024-05-01T10:04:00.000Z",
                ),
                // A provider whose filter were looser than equality: not ours.
                (
                    "p3",
                    Some("order-77"),
                    "SUCCEEDED",
                    "2024-05-01T10:03:00.000Z",
                ),
            ],
            0,
            2,
        ),
        search_answer(
            // The documented search answer carries no reference: trusted to the filter.
            &[("p1", None, "CANCELLED", "2024-05-01T10:01:00.000Z")],
            1,
            2,
        ),
    ];
    for (page, answer) in pages.into_iter().enumerate() {
        Mock::given(method("POST"))
            .and(path("/v3/payments/search"))
            .and(query_param("page", page.to_string().as_str()))
            .respond_with(ResponseTemplate::new(200).set_body_json(answer))
            .expect(1)
            .mount(&server)
            .await;
    }
    let found = PaymentProvider::find_by_reference(&client(&server), "order-7")
        .await
        .unwrap();
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1", "p4"]);
}

#[tokio::test]
async fn neutral_find_by_reference_finding_nothing_is_an_empty_list() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v3/payments/search"))
        .respond_with(ResponseTemplate::new(200).set_body_json(search_answer(&[], 0, 0)))
        .expect(1)
        .mount(&server)
        .await;
    let found = PaymentProvider::find_by_reference(&client(&server), "order-8")
        .await
        .unwrap();
    assert!(found.is_empty());
}

#[tokio::test]
async fn neutral_find_by_reference_refuses_a_bad_reference_before_sending() {
    let server = MockServer::start().await;
    let c = client(&server);
    // An empty reference would be no filter at all: every payment of the day would be "found".
    for bad in ["", &"x".repeat(36), "order 🍕"] {
        let err = PaymentProvider::find_by_reference(&c, bad)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field, .. } if field == "reference"),
            "{bad:?}: {err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn neutral_find_by_reference_errors_are_the_search_errors() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(error_answer(403, "ACCESS_DENIED", ""))
        .mount(&server)
        .await;
    let err = PaymentProvider::find_by_reference(&client(&server), "order-7")
        .await
        .unwrap_err();
    assert_eq!(err.provider_code(), Some("ACCESS_DENIED"));
}
