//! Contract tests: every PIS endpoint against a local wiremock server.
//!
//! Each test pins the exact request (method, path, query, headers, JSON body) and answers with
//! Fintecture's documented responses (`tests/fixtures/`, see the README there). Every signed
//! call is matched by [`Signed`], which VERIFIES the RSA signature with the public half of a key
//! pair generated in the test, through the crate's own `testing::RequestSignatureVerifier`:
//! a wrong signing string, digest or key id makes the mock not match and the test fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use payments_core::secret::ExposeSecret;
use payments_core::webhook::{FixedClock, WebhookRequest};
use payments_core::{
    Capability, CreatePayment, Currency, Customer, Delivery, Error, Money, PaymentProvider,
    PaymentStatus, RefundRequest, RefundStatus,
};
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::testing::{RequestSignatureVerifier, SequentialIds};
use payments_fintecture::wire::PsuAddress;
use payments_fintecture::{
    ConnectRequest, Environment, FintectureClient, FintectureConfig, ListPaymentsQuery,
    RedirectError, RefundPaymentRequest, SessionStatus, StoredSession, TransferState,
};
use payments_test_support::{Fixtures, bearer, fixtures, mock_http, requests_to};
use serde_json::{Value, json};
use time::macros::datetime;
use wiremock::matchers::{body_json, body_string, header, method, path, query_param};
use wiremock::{Match, Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const APP_ID: &str = "2dfdcf57-5b2f-4309-846f-913d0b2802cf";
const APP_SECRET: &str = "fint_SECRET_app_secret";
const TOKEN: &str = "eyJhbGciOiJub25lIn0.eyJleHAiOjE1MTQwODA0MjQsI...";
const SESSION: &str = "44f00841780445d4981be9ea2f8aafae";
/// The fixed clock's time, as the `Date` header must show it.
const DATE: &str = "Wed, 26 Feb 2020 17:29:51 GMT";
const FIRST_ID: &str = "00000000-0000-4000-8000-000000000001";

/// The key pair generated for this test run (aws-lc-rs, 2048 bits), as PKCS#8 PEM.
fn generated_key() -> &'static (AppPrivateKey, String) {
    static KEY: OnceLock<(AppPrivateKey, String)> = OnceLock::new();
    KEY.get_or_init(|| {
        let key = AppPrivateKey::generate().unwrap();
        let pem = key.to_pkcs8_pem().unwrap().expose_secret().to_string();
        (key, pem)
    })
}

/// A wiremock matcher that verifies the request signature with the crate's public verifier.
struct Signed(RequestSignatureVerifier);

impl Signed {
    fn by_generated_key() -> Self {
        Signed(RequestSignatureVerifier::new(
            APP_ID,
            generated_key().0.public_key().clone(),
        ))
    }
}

impl Match for Signed {
    fn matches(&self, request: &Request) -> bool {
        let method = request.method.as_str().to_string();
        let url = request.url.as_str().to_string();
        let headers: Vec<(String, Vec<u8>)> = request
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), v.as_bytes().to_vec()))
            .collect();
        let mut view = WebhookRequest::new(&method, &url, &request.body);
        for (n, v) in &headers {
            view = view.header_bytes(n, v);
        }
        self.0.verify(&view).is_ok()
    }
}

fn config(server: &MockServer, key_pem: &str) -> FintectureConfig {
    FintectureConfig::new(APP_ID, APP_SECRET, key_pem, Environment::Production)
        .base_url(server.uri())
        .clock(Arc::new(FixedClock::new(
            datetime!(2020-02-26 17:29:51 UTC),
        )))
        .request_ids(Arc::new(SequentialIds::new()))
        .http(mock_http())
}

fn client(server: &MockServer) -> FintectureClient {
    FintectureClient::new(config(server, &generated_key().1)).unwrap()
}

async fn mount_token(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path("/oauth/accesstoken"))
        .respond_with(FIXTURES.json_answer(200, "token_200.json"))
        .expect(times)
        .mount(server)
        .await;
}

/// Matchers every signed, authenticated API call satisfies.
fn api(m: MockBuilder) -> MockBuilder {
    m.and(bearer(TOKEN))
        .and(header("accept", "application/json"))
        // wiremock's `header` matcher splits values on commas, which an HTTP date contains.
        .and(|r: &Request| r.headers.get("date").is_some_and(|v| v == DATE))
        .and(Signed::by_generated_key())
}

/// Signed `POST /pis/v2/connect`.
fn connect_route() -> MockBuilder {
    api(Mock::given(method("POST")).and(path("/pis/v2/connect")))
}

/// Signed `GET` of payment session [`SESSION`].
fn session_route() -> MockBuilder {
    api(Mock::given(method("GET")).and(path(format!("/pis/v2/payments/{SESSION}"))))
}

/// Signed `POST /pis/v2/refund`.
fn refund_route() -> MockBuilder {
    api(Mock::given(method("POST")).and(path("/pis/v2/refund")))
}

/// Signed `GET /pis/v2/payments` (the list).
fn list_route() -> MockBuilder {
    api(Mock::given(method("GET")).and(path("/pis/v2/payments")))
}

/// A server whose payment answers `amount` `273.005` EUR, which a euro amount cannot hold.
async fn inexact_amount_server() -> MockServer {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let body = FIXTURES
        .text("payment_200.json")
        .replace("\"273\"", "\"273.005\"");
    api(Mock::given(method("GET")))
        .respond_with(ResponseTemplate::new(200).set_body_string(body))
        .mount(&server)
        .await;
    server
}

/// A refund of session [`SESSION`] with `state` in the query, `amount` and `communication`.
fn refund_of(state: &str, amount: &str, communication: &str) -> MockBuilder {
    refund_route()
        .and(query_param("state", state))
        .and(body_json(json!({
            "meta": {"session_id": SESSION},
            "data": {"attributes": {"amount": amount, "communication": communication}}
        })))
}

/// Session [`SESSION`] answering `body`, expected exactly `times` times.
async fn mount_session(server: &MockServer, body: Value, times: u64) {
    session_route()
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

/// The documented refund answer, expected exactly `times` times.
async fn mount_refunded(server: &MockServer, times: u64) {
    FIXTURES
        .mount(server, refund_route(), "refund_200.json", times)
        .await;
}

/// The documented connect answer, expected exactly `times` times.
async fn mount_connected(server: &MockServer, times: u64) {
    FIXTURES
        .mount(server, connect_route(), "connect_200.json", times)
        .await;
}

/// The committed test-only key's public half (its signatures are deterministic).
fn fixture_public_key() -> payments_fintecture::keys::AppPublicKey {
    payments_fintecture::keys::AppPublicKey::from_pem(&FIXTURES.text("test_app_key_public.pem"))
        .unwrap()
}

/// A client signing with the committed test-only key (PKCS#8).
fn fixture_key_client(server: &MockServer) -> FintectureClient {
    FintectureClient::new(config(server, &FIXTURES.text("test_app_key_pkcs8.pem"))).unwrap()
}

fn eur(cents: i64) -> Money {
    Money::from_minor(cents, Currency::EUR)
}

fn header_of<'a>(r: &'a Request, name: &str) -> Option<&'a str> {
    r.headers.get(name).and_then(|v| v.to_str().ok())
}

fn connect_request() -> ConnectRequest {
    ConnectRequest::new(
        Money::from_decimal_str("550.60", Currency::EUR).unwrap(),
        "B34970692",
        "order-B34970692",
        "https://shop.example/fintecture/return",
    )
    .psu_name("Julien Lefebre")
    .psu_company("My Business SARL")
    .psu_email("julien@example.com")
    .psu_phone("09743593535")
    .psu_phone_prefix("+33")
    .psu_ip("192.0.2.10")
    .psu_incorporation("123456789")
    .psu_address({
        let mut a = PsuAddress::default();
        a.street = Some("rue Marie Stuart".into());
        a.number = Some("2".into());
        a.complement = Some("2nd floor".into());
        a.zip = Some("75002".into());
        a.city = Some("PARIS".into());
        a.country = Some("FR".into());
        a
    })
    .expiry(Duration::from_secs(86_400))
}

fn connect_body() -> Value {
    json!({
        "meta": {
            "psu_name": "Julien Lefebre",
            "psu_email": "julien@example.com",
            "psu_phone": "09743593535",
            "psu_phone_prefix": "+33",
            "psu_ip": "192.0.2.10",
            "psu_company": "My Business SARL",
            "psu_incorporation": "123456789",
            "psu_address": {
                "street": "rue Marie Stuart", "number": "2", "complement": "2nd floor",
                "zip": "75002", "city": "PARIS", "country": "FR"
            },
            "expiry": 86400
        },
        "data": {
            "type": "payments",
            "attributes": {"amount": "550.60", "currency": "EUR", "communication": "B34970692"}
        }
    })
}

// ---------------------------------------------------------------- token

#[tokio::test]
async fn token_request_is_the_documented_one_unsigned_and_cached() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/accesstoken"))
        // base64("2dfdcf57-...:fint_SECRET_app_secret")
        .and(header(
            "authorization",
            "Basic MmRmZGNmNTctNWIyZi00MzA5LTg0NmYtOTEzZDBiMjgwMmNmOmZpbnRfU0VDUkVUX2FwcF9zZWNyZXQ=",
        ))
        .and(header("accept", "application/json"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(format!(
            "grant_type=client_credentials&app_id={APP_ID}&scope=PIS"
        )))
        .respond_with(FIXTURES.json_answer(200, "token_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    mount_session(&server, FIXTURES.json("payment_200.json"), 2).await;
    let c = client(&server);
    c.get_payment(SESSION).await.unwrap();
    c.clone().get_payment(SESSION).await.unwrap();
    let token_calls = requests_to(&server, "/oauth/accesstoken").await;
    assert_eq!(
        token_calls.len(),
        1,
        "the token is cached across calls and clones"
    );
    assert!(token_calls[0].headers.get("signature").is_none());
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_resends_with_the_same_request_id() {
    let server = MockServer::start().await;
    mount_token(&server, 2).await;
    let p = format!("/pis/v2/payments/{SESSION}");
    api(Mock::given(method("GET")).and(path(p.clone())))
        .respond_with(ResponseTemplate::new(401))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    api(Mock::given(method("GET")).and(path(p.clone())))
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).get_payment(SESSION).await.unwrap();
    let calls = requests_to(&server, &p).await;
    assert_eq!(calls.len(), 2);
    assert_eq!(header_of(&calls[0], "x-request-id"), Some(FIRST_ID));
    assert_eq!(header_of(&calls[1], "x-request-id"), Some(FIRST_ID));
}

#[tokio::test]
async fn a_token_endpoint_error_is_a_provider_error_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/accesstoken"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"error": "invalid_client", "error_description": "bad credentials"}),
        ))
        .mount(&server)
        .await;
    let err = client(&server).get_payment(SESSION).await.unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(err.provider_code(), Some("invalid_client"));
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(
        requests_to(&server, &format!("/pis/v2/payments/{SESSION}"))
            .await
            .is_empty()
    );
}

// ---------------------------------------------------------------- connect

#[tokio::test]
async fn connect_sends_the_documented_signed_request() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    connect_route()
        .and(query_param("state", "order-B34970692"))
        .and(query_param(
            "redirect_uri",
            "https://shop.example/fintecture/return",
        ))
        .and(header("content-type", "application/json"))
        .and(header("x-request-id", FIRST_ID))
        .and(body_json(connect_body()))
        .respond_with(FIXTURES.json_answer(200, "connect_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let session = client(&server).connect(&connect_request()).await.unwrap();
    assert_eq!(session.meta.session_id, SESSION);
    assert!(
        session
            .meta
            .url
            .starts_with("https://connect-v2.fintecture.com/")
    );
    let sent = &requests_to(&server, "/pis/v2/connect").await[0];
    // The query string is sent in the documented order and signed as sent.
    assert_eq!(
        sent.url.query(),
        Some("state=order-B34970692&redirect_uri=https%3A%2F%2Fshop.example%2Ffintecture%2Freturn")
    );
    let signature = header_of(sent, "signature").unwrap();
    assert!(signature.starts_with(&format!(
        "keyId=\"{APP_ID}\",algorithm=\"rsa-sha256\",headers=\"(request-target) date digest x-request-id\",signature=\""
    )));
}

#[tokio::test]
async fn connect_request_and_result_snapshots_with_the_fixture_key() {
    // The committed test-only key makes the RSA PKCS#1 v1.5 signature deterministic.
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let public = fixture_public_key();
    Mock::given(method("POST"))
        .and(path("/pis/v2/connect"))
        .and(Signed(RequestSignatureVerifier::new(APP_ID, public)))
        .respond_with(FIXTURES.json_answer(200, "connect_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = fixture_key_client(&server);
    let session = c.connect(&connect_request()).await.unwrap();
    let sent = &requests_to(&server, "/pis/v2/connect").await[0];
    let snapshot = request_snapshot(sent);
    insta::assert_json_snapshot!("connect_request", snapshot);
    insta::assert_json_snapshot!("connect_result", session);
    // The PKCS#1 form of the same key signs identically.
    let server2 = MockServer::start().await;
    mount_token(&server2, 1).await;
    Mock::given(method("POST"))
        .and(path("/pis/v2/connect"))
        .respond_with(FIXTURES.json_answer(200, "connect_200.json"))
        .mount(&server2)
        .await;
    let c1 =
        FintectureClient::new(config(&server2, &FIXTURES.text("test_app_key_pkcs1.pem"))).unwrap();
    c1.connect(&connect_request()).await.unwrap();
    let sent2 = &requests_to(&server2, "/pis/v2/connect").await[0];
    assert_eq!(header_of(sent2, "signature"), header_of(sent, "signature"));
}

/// The request as sent: method, target, the signed and auth headers, and the body (JSON).
fn request_snapshot(sent: &Request) -> Value {
    let mut headers = serde_json::Map::new();
    for name in [
        "accept",
        "authorization",
        "content-type",
        "date",
        "digest",
        "x-request-id",
        "signature",
    ] {
        headers.insert(name.into(), json!(header_of(sent, name)));
    }
    json!({
        "method": sent.method.as_str(),
        "target": match sent.url.query() {
            Some(q) => format!("{}?{q}", sent.url.path()),
            None => sent.url.path().to_string(),
        },
        "headers": headers,
        "body": (!sent.body.is_empty()).then(|| serde_json::from_slice::<Value>(&sent.body).unwrap()),
    })
}

#[tokio::test]
async fn refund_cancel_and_get_request_snapshots_with_the_fixture_key() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let public = fixture_public_key();
    let signed = || Signed(RequestSignatureVerifier::new(APP_ID, public.clone()));
    Mock::given(method("POST"))
        .and(path("/pis/v2/refund"))
        .and(signed())
        .respond_with(FIXTURES.json_answer(200, "refund_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/pis/v2/payments/{SESSION}")))
        .and(signed())
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"meta": {"status": "payment_cancelled"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/pis/v2/payments/{SESSION}")))
        .and(signed())
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = fixture_key_client(&server);
    c.refund(
        &RefundPaymentRequest::new(SESSION, eur(199))
            .communication("Refund B34970692")
            .state("refund-1"),
    )
    .await
    .unwrap();
    c.cancel_payment(SESSION).await.unwrap();
    c.get_payment(SESSION).await.unwrap();
    let sent: Vec<Value> = server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() != "/oauth/accesstoken")
        .map(request_snapshot)
        .collect();
    insta::assert_json_snapshot!("refund_cancel_get_requests", sent);
}

#[tokio::test]
async fn a_wrong_signature_does_not_match_the_verifying_mock() {
    // Signed with another key: the signature matcher refuses, wiremock answers 404.
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    mount_connected(&server, 0).await;
    let other = fixture_key_client(&server);
    let err = other.connect(&connect_request()).await.unwrap_err();
    assert_eq!(err.http_status(), Some(404), "{err:?}");
    // Unsigned (sandbox without signatures): refused as well.
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    api(Mock::given(method("GET")))
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .expect(0)
        .mount(&server)
        .await;
    let mut unsigned = config(&server, &generated_key().1).sign_requests(false);
    unsigned.environment = Environment::Sandbox;
    let err = FintectureClient::new(unsigned)
        .unwrap()
        .get_payment(SESSION)
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(404));
}

#[tokio::test]
async fn unsigned_sandbox_calls_carry_no_signature_headers() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    Mock::given(method("GET"))
        .and(path(format!("/pis/v2/payments/{SESSION}")))
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut cfg = config(&server, &generated_key().1).sign_requests(false);
    cfg.environment = Environment::Sandbox;
    FintectureClient::new(cfg)
        .unwrap()
        .get_payment(SESSION)
        .await
        .unwrap();
    let sent = &requests_to(&server, &format!("/pis/v2/payments/{SESSION}")).await[0];
    for h in ["signature", "digest", "date"] {
        assert!(sent.headers.get(h).is_none(), "{h}");
    }
    assert_eq!(header_of(sent, "x-request-id"), Some(FIRST_ID));
}

#[tokio::test]
async fn invalid_sessions_are_refused_before_anything_is_sent() {
    let server = MockServer::start().await;
    mount_token(&server, 0).await;
    let c = client(&server);
    let cases = [
        (
            ConnectRequest::new(eur(0), "B1", "s", "https://shop/r"),
            "amount",
        ),
        (
            ConnectRequest::new(eur(1), "", "s", "https://shop/r"),
            "communication",
        ),
        (
            ConnectRequest::new(eur(1), "B1", "s", "not a url"),
            "redirect_uri",
        ),
    ];
    for (request, field) in cases {
        match c.connect(&request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
    }
    assert!(matches!(
        c.get_payment("").await,
        Err(Error::InvalidInput { .. })
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_connect_answered_500_is_sent_once_and_outcome_unknown() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    connect_route()
        .respond_with(FIXTURES.json_answer(500, "error_400.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .connect(&connect_request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Unknown);
}

#[tokio::test]
async fn a_connect_answered_429_is_retried_with_a_fresh_signature() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    connect_route()
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_connected(&server, 1).await;
    client(&server).connect(&connect_request()).await.unwrap();
    let calls = requests_to(&server, "/pis/v2/connect").await;
    assert_eq!(calls.len(), 2);
    assert_eq!(
        header_of(&calls[0], "x-request-id"),
        header_of(&calls[1], "x-request-id")
    );
}

// ---------------------------------------------------------------- payments

#[tokio::test]
async fn get_payment_is_signed_without_digest_and_parsed_exactly() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    session_route()
        .and(header("x-request-id", FIRST_ID))
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let payment = client(&server).get_payment(SESSION).await.unwrap();
    assert_eq!(payment.meta.status, SessionStatus::PaymentCreated);
    assert_eq!(
        payment.data.attributes.transfer_state,
        Some(TransferState::Completed)
    );
    let sent = &requests_to(&server, &format!("/pis/v2/payments/{SESSION}")).await[0];
    assert!(sent.headers.get("digest").is_none());
    assert!(sent.body.is_empty());
    assert!(
        header_of(sent, "signature")
            .unwrap()
            .contains("headers=\"(request-target) date x-request-id\"")
    );
    insta::assert_json_snapshot!("get_payment_result", payment);
}

#[tokio::test]
async fn neutral_get_maps_status_amount_and_reference() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    session_route()
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .mount(&server)
        .await;
    let p = client(&server).fetch_payment(SESSION).await.unwrap();
    assert_eq!(p.status, PaymentStatus::Succeeded);
    assert_eq!(p.raw_status, "payment_created");
    assert_eq!(p.amount, Some(eur(27_300)));
    assert_eq!(p.reference.as_deref(), Some("B34970692"));
}

#[tokio::test]
async fn partial_and_pending_transfers_are_not_success() {
    for (status, transfer, expected) in [
        (
            "payment_partial",
            "insufficient",
            PaymentStatus::PartiallyPaid,
        ),
        ("payment_created", "pending", PaymentStatus::Authorized),
        ("payment_created", "overpaid", PaymentStatus::Overpaid),
        ("sca_required", "pending", PaymentStatus::RequiresAction),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, 1).await;
        let mut body = FIXTURES.json("payment_200.json");
        body["meta"]["status"] = json!(status);
        body["data"]["attributes"]["transfer_state"] = json!(transfer);
        api(Mock::given(method("GET")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
        let p = client(&server).fetch_payment(SESSION).await.unwrap();
        assert_eq!(p.status, expected, "{status} + {transfer}");
    }
}

#[tokio::test]
async fn list_payments_sends_filters_and_parses_the_page() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    list_route()
        .and(query_param("filter[status]", "payment_created"))
        .and(query_param("filter[date_from]", "2021-02-01"))
        .and(query_param("filter[date_to]", "2021-02-28"))
        .and(query_param("filter[communication]", "B34970692"))
        .and(query_param("page[number]", "1"))
        .and(query_param("page[size]", "20"))
        .respond_with(FIXTURES.json_answer(200, "payment_list_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .list_payments(
            &ListPaymentsQuery::new()
                .status("payment_created")
                .dates("2021-02-01", "2021-02-28")
                .communication("B34970692")
                .page(1, 20),
        )
        .await
        .unwrap();
    assert_eq!(page.data.len(), 1);
    let meta = page.meta.as_ref().unwrap();
    assert_eq!((meta.total_items, meta.total_pages), (Some(1), Some(1)));
    assert_eq!(
        page.data[0].attributes.status,
        Some(SessionStatus::PaymentCreated)
    );
    insta::assert_json_snapshot!("list_payments_result", page);
}

/// A list page as the *Pagination* guide shows it: `data`, `meta.totalItems` /
/// `meta.totalPages`, and `links.self` / `links.next` (absent on the last page).
fn list_page(number: u32, pages: u32, items: &[(&str, &str)]) -> Value {
    let template = FIXTURES.json("payment_list_200.json")["data"][0].clone();
    let data: Vec<Value> = items
        .iter()
        .map(|(id, communication)| {
            let mut p = template.clone();
            p["id"] = json!(id);
            p["attributes"]["communication"] = json!(communication);
            p
        })
        .collect();
    let link = |n: u32| format!("https://api.fintecture.com/pis/v2/payments?page[number]={n}");
    let mut links = json!({"self": link(number)});
    if number < pages {
        links["next"] = json!(link(number + 1));
    }
    json!({"meta": {"totalItems": 5, "totalPages": pages}, "data": data, "links": links})
}

async fn mount_page(server: &MockServer, number: u32, body: Value, size: &str) {
    list_route()
        .and(query_param("page[number]", number.to_string().as_str()))
        .and(query_param("page[size]", size))
        .and(query_param("filter[status]", "payment_created"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn list_all_payments_walks_every_page_in_order_with_the_filters() {
    use futures_util::TryStreamExt as _;
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let pages: [&[(&str, &str)]; 3] = [
        &[("a", "o-1"), ("b", "o-2")],
        &[("c", "o-3"), ("d", "o-4")],
        &[("e", "o-5")],
    ];
    for (i, items) in pages.iter().enumerate() {
        let n = u32::try_from(i).unwrap() + 1;
        mount_page(&server, n, list_page(n, 3, items), "2").await;
    }
    let c = client(&server);
    // The query's own paging is ignored: the stream starts at page 1.
    let query = ListPaymentsQuery::new()
        .status("payment_created")
        .page(7, 50);
    let all: Vec<_> = c.list_all_payments(&query, 2).try_collect().await.unwrap();
    let ids: Vec<_> = all.iter().map(|p| p.id.as_deref().unwrap()).collect();
    assert_eq!(ids, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn list_all_payments_stops_at_the_announced_last_page_and_on_an_empty_page() {
    use futures_util::TryStreamExt as _;
    // `links.next` on every page, but the first page announced 2 pages.
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let mut first = list_page(1, 2, &[("a", "o-1")]);
    let mut second = list_page(2, 2, &[("b", "o-2")]);
    second["links"]["next"] = json!("https://api.fintecture.com/pis/v2/payments?page[number]=3");
    first["meta"]["totalPages"] = json!(2);
    mount_page(&server, 1, first, "1").await;
    mount_page(&server, 2, second, "1").await;
    let query = ListPaymentsQuery::new().status("payment_created");
    let all: Vec<_> = client(&server)
        .list_all_payments(&query, 1)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);

    // No `meta`, `links.next` on an empty page: the empty page ends the list.
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let mut first = list_page(1, 9, &[("a", "o-1")]);
    first.as_object_mut().unwrap().remove("meta");
    let mut empty = list_page(2, 9, &[]);
    empty.as_object_mut().unwrap().remove("meta");
    mount_page(&server, 1, first, "1").await;
    mount_page(&server, 2, empty, "1").await;
    let all: Vec<_> = client(&server)
        .list_all_payments(&query, 1)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

#[tokio::test]
async fn a_server_ignoring_the_page_number_is_an_error_not_an_endless_or_silent_list() {
    use futures_util::TryStreamExt as _;
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    // Always page 1 of many, whatever is asked.
    list_route()
        .respond_with(ResponseTemplate::new(200).set_body_json(list_page(
            1,
            1_000_000,
            &[("a", "o-1")],
        )))
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server)
        .list_all_payments(&ListPaymentsQuery::new(), 1)
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    match err {
        Error::Decode { ref reason, .. } => assert!(reason.contains("page[number]"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn find_by_reference_lists_every_page_and_keeps_only_that_communication() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let page = |number: u32, items: &[(&str, &str)]| {
        let mut body = list_page(number, 2, items);
        body["data"][0]["attributes"]["status"] = json!("payment_pending");
        body
    };
    // Page 1: a session of another reference (a server that ignored the filter), the one
    // sought; page 2: the same session again (the list shifted), and a second session.
    for (n, items) in [
        (1u32, &[("x", "OTHER"), ("s1", "B34970692")][..]),
        (2, &[("s1", "B34970692"), ("s2", "B34970692")][..]),
    ] {
        list_route()
            .and(query_param("filter[communication]", "B34970692"))
            .and(query_param("page[number]", n.to_string().as_str()))
            .and(query_param("page[size]", "100"))
            .respond_with(ResponseTemplate::new(200).set_body_json(page(n, items)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let found = client(&server)
        .find_by_reference("B34970692")
        .await
        .unwrap();
    let ids: Vec<_> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["s1", "s2"]);
    assert!(
        found
            .iter()
            .all(|p| p.reference.as_deref() == Some("B34970692"))
    );
    assert_eq!(found[1].status, PaymentStatus::Succeeded);
    assert_eq!(found[1].raw_status, "payment_created");
    assert_eq!(found[1].amount, Some(eur(27_300)));
    assert_eq!(found[1].raw["id"], "s2");
}

#[tokio::test]
async fn find_by_reference_refuses_a_bad_reference_before_sending_and_inexact_amounts() {
    let server = MockServer::start().await;
    mount_token(&server, 0).await;
    for reference in ["", "a\nb", &"x".repeat(141)] {
        match client(&server).find_by_reference(reference).await {
            Err(Error::InvalidInput { ref field, .. }) => assert_eq!(field, "reference"),
            other => panic!("{reference:?}: {other:?}"),
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());

    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let mut body = list_page(1, 1, &[("s1", "B34970692")]);
    body["data"][0]["attributes"]["amount"] = json!("273.005");
    list_route()
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    match client(&server).find_by_reference("B34970692").await {
        Err(Error::Decode { ref reason, .. }) => assert!(reason.starts_with("amount: 273.005")),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn cancel_patches_the_status_and_tolerates_an_already_cancelled_session() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let p = format!("/pis/v2/payments/{SESSION}");
    api(Mock::given(method("PATCH")).and(path(p.clone())))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"meta": {"status": "payment_cancelled"}})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"meta": {"status": "payment_cancelled"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    client(&server).cancel_payment(SESSION).await.unwrap();

    // Refused, but the session is cancelled already: success. Refused and paid: the error.
    for (status, ok) in [("payment_cancelled", true), ("payment_created", false)] {
        let server = MockServer::start().await;
        mount_token(&server, 1).await;
        api(Mock::given(method("PATCH")).and(path(p.clone())))
            .respond_with(FIXTURES.json_answer(400, "error_400.json"))
            .expect(1)
            .mount(&server)
            .await;
        let mut body = FIXTURES.json("payment_200.json");
        body["meta"]["status"] = json!(status);
        api(Mock::given(method("GET")).and(path(p.clone())))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let result = client(&server).cancel_payment(SESSION).await;
        assert_eq!(result.is_ok(), ok, "{status}: {result:?}");
        if let Err(e) = result {
            assert_eq!(e.provider_code(), Some("invalid_request"));
        }
    }
}

// ---------------------------------------------------------------- refunds

#[tokio::test]
async fn refund_sends_the_documented_body_and_state() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let documented = refund_of("refund-1", "1.99", "Refund B34970692")
        .and(header("content-type", "application/json"));
    FIXTURES
        .mount(&server, documented, "refund_200.json", 1)
        .await;
    let refund = client(&server)
        .refund(
            &RefundPaymentRequest::new(SESSION, eur(199))
                .communication("Refund B34970692")
                .state("refund-1"),
        )
        .await
        .unwrap();
    assert_eq!(refund.meta.status, "refund_waiting");
    insta::assert_json_snapshot!("refund_result", refund);
}

#[tokio::test]
async fn repeated_refunds_never_exceed_what_was_paid() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    // The paid amount (273 EUR) is fetched when the caller gives only the history.
    mount_session(&server, FIXTURES.json("payment_200.json"), 2).await;
    mount_refunded(&server, 2).await;
    let c = client(&server);
    // 200 + 73 = 273: allowed.
    c.refund(&RefundPaymentRequest::new(SESSION, eur(7_300)).previous_refunds([eur(20_000)]))
        .await
        .unwrap();
    // 200 + 73.01: refused before sending.
    let err = c
        .refund(&RefundPaymentRequest::new(SESSION, eur(7_301)).previous_refunds([eur(20_000)]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(err.delivery(), Delivery::NotSent);
    // With the paid amount given, nothing is fetched.
    c.refund(&RefundPaymentRequest::new(SESSION, eur(100)).paid(eur(27_300)))
        .await
        .unwrap();
    let err = c
        .refund(&RefundPaymentRequest::new(SESSION, eur(27_301)).paid(eur(27_300)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert_eq!(requests_to(&server, "/pis/v2/refund").await.len(), 2);
}

#[tokio::test]
async fn the_neutral_refund_is_bounded_by_the_fetched_paid_amount() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    mount_session(&server, FIXTURES.json("payment_200.json"), 2).await;
    // A full refund is the paid amount (273 EUR in the fixture), as an exact decimal string.
    let full = refund_of("refund-order-9", "273.00", "refund-order-9");
    FIXTURES.mount(&server, full, "refund_200.json", 1).await;
    let c = client(&server);
    let full = RefundRequest::full(SESSION).reference("refund-order-9");
    let refund = c.refund_payment(&full).await.unwrap();
    assert_eq!(refund.status, RefundStatus::Pending);
    assert_eq!(refund.amount, Some(eur(27_300)));
    assert_eq!(refund.raw["meta"]["status"], "refund_waiting");
    // More than was paid: refused before sending.
    let err = c
        .refund_payment(&RefundRequest::partial(SESSION, eur(27_301)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    assert_eq!(requests_to(&server, "/pis/v2/refund").await.len(), 1);
}

#[tokio::test]
async fn refunds_are_bounded_by_the_money_actually_received() {
    // (status, transfer_state, received_amount, what a full neutral refund sends or None when
    // it must be refused before sending)
    let cases: [(&str, &str, Option<&str>, Option<&str>); 6] = [
        // Partially paid: only what arrived can be refunded, never the requested 273.
        (
            "payment_partial",
            "insufficient",
            Some("100.50"),
            Some("100.50"),
        ),
        // Partially paid with no received amount reported: cannot be bounded.
        ("payment_partial", "insufficient", None, None),
        // Overpaid: the whole amount received.
        ("payment_created", "overpaid", Some("300"), Some("300.00")),
        // Nothing received yet, or never: refused.
        ("payment_pending", "pending", None, None),
        ("payment_created", "processing", None, None),
        ("payment_cancelled", "cancelled", None, None),
    ];
    for (status, transfer, received, sent) in cases {
        let server = MockServer::start().await;
        mount_token(&server, 1).await;
        let mut body = FIXTURES.json("payment_200.json");
        body["meta"]["status"] = json!(status);
        body["data"]["attributes"]["transfer_state"] = json!(transfer);
        if let Some(r) = received {
            body["data"]["attributes"]["received_amount"] = json!(r);
        }
        mount_session(&server, body, 2).await;
        for amount in [sent.unwrap_or("-"), "0.01"] {
            refund_route()
                .and(body_json(json!({
                    "meta": {"session_id": SESSION},
                    "data": {"attributes": {"amount": amount}}
                })))
                .respond_with(FIXTURES.json_answer(200, "refund_200.json"))
                .expect(u64::from(sent.is_some()))
                .mount(&server)
                .await;
        }
        let c = client(&server);
        let neutral = c.refund_payment(&RefundRequest::full(SESSION)).await;
        // The native call with a history fetches the same paid amount.
        let native = c
            .refund(&RefundPaymentRequest::new(SESSION, eur(1)).previous_refunds([]))
            .await;
        match sent {
            Some(_) => {
                neutral.unwrap();
                native.unwrap();
            }
            None => {
                for result in [neutral.map(|_| ()), native.map(|_| ())] {
                    let err = result.unwrap_err();
                    assert!(
                        matches!(err, Error::InvalidInput { .. }),
                        "{status}: {err:?}"
                    );
                    assert_eq!(err.delivery(), Delivery::NotSent);
                }
            }
        }
    }
}

#[tokio::test]
async fn a_refund_timing_out_is_sent_once() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    refund_route()
        .respond_with(
            FIXTURES
                .json_answer(200, "refund_200.json")
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .refund(&RefundPaymentRequest::new(SESSION, eur(100)))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

// ---------------------------------------------------------------- settlements

#[tokio::test]
async fn settlements_list_and_get() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    api(Mock::given(method("GET")).and(path("/pis/v2/settlements")))
        .and(query_param("page[number]", "2"))
        .respond_with(FIXTURES.json_answer(200, "settlements_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let id = "0f6f1c2e-1d5a-4d1c-9a51-2c2b9d1e8e11";
    api(Mock::given(method("GET")).and(path(format!("/pis/v2/settlements/{id}"))))
        .respond_with(FIXTURES.json_answer(200, "settlement_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let list = c.list_settlements(&[("page[number]", "2")]).await.unwrap();
    assert_eq!(list.data.len(), 1);
    let one = c.get_settlement(id).await.unwrap();
    assert_eq!(one.data.id, id);
    assert_eq!(one.data.attributes.amount_money(), Ok(Some(eur(55_060))));
    insta::assert_json_snapshot!("settlements_result", list);
}

// ---------------------------------------------------------------- redirect callback

/// What the merchant stored for the order of the fixture's session (273 EUR, `B34970692`).
fn stored_fixture_order() -> StoredSession {
    StoredSession::new(SESSION, "order-B34970692", eur(27_300), "B34970692")
}

#[tokio::test]
async fn the_redirect_is_confirmed_by_fetching_never_by_its_query() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    let mut body = FIXTURES.json("payment_200.json");
    body["meta"]["status"] = json!("payment_pending");
    mount_session(&server, body, 1).await;
    let c = client(&server);
    // The query claims payment_created; Fintecture says pending.
    let query = format!(
        "session_id={SESSION}&status=payment_created&provider=cmcifr2a&customer_id=3621eacaccd04fa772638dec70da323c&state=order-B34970692"
    );
    let confirmed = c
        .confirm_redirect(&query, &stored_fixture_order())
        .await
        .unwrap();
    assert_eq!(confirmed.status, PaymentStatus::Processing);
    assert_eq!(
        confirmed.callback.untrusted_status.as_deref(),
        Some("payment_created")
    );
    // Another order's state: refused, nothing fetched (the mock expects one GET).
    let other = StoredSession::new(SESSION, "order-OTHER", eur(27_300), "B34970692");
    let err = c.confirm_redirect(&query, &other).await.unwrap_err();
    assert!(matches!(err, RedirectError::StateMismatch), "{err:?}");
    assert!(
        !err.to_string().contains("order-"),
        "the state is never shown: {err}"
    );
    let err: Error = err.into();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "state"));
}

/// The attack of issue 13: the payer pays a 1 EUR order B and returns with B's `session_id` but
/// the `state` of a 5 000 EUR order A. Checking `state` alone reported order A `Succeeded`; the
/// redirect is now bound to the session stored with order A, and nothing is fetched.
#[tokio::test]
async fn a_paid_cheap_session_returned_with_another_orders_state_is_refused() {
    let server = MockServer::start().await;
    mount_token(&server, 0).await;
    let session_b = "b00000000000000000000000000000b1";
    let mut paid_b = FIXTURES.json("payment_200.json");
    paid_b["meta"]["session_id"] = json!(session_b);
    paid_b["data"]["id"] = json!(session_b);
    paid_b["data"]["attributes"]["amount"] = json!("1.00");
    paid_b["data"]["attributes"]["communication"] = json!("ORDER-B");
    api(Mock::given(method("GET")))
        .respond_with(ResponseTemplate::new(200).set_body_json(paid_b))
        .expect(0)
        .mount(&server)
        .await;
    let c = client(&server);
    let order_a = StoredSession::new(SESSION, "state-of-order-A", eur(500_000), "ORDER-A");
    let query = format!("session_id={session_b}&status=payment_created&state=state-of-order-A");
    let err = c.confirm_redirect(&query, &order_a).await.unwrap_err();
    assert_eq!(err.field(), Some("session_id"));
    assert_eq!(
        err.to_string(),
        format!("redirect not confirmed: session_id is {session_b}, the order's is {SESSION}")
    );
    assert!(!err.to_string().contains("state-of-order-A"));
}

/// Fintecture's answer for the stored session must be the order: same session, currency, exact
/// amount and `communication`; the first field that differs is named with both values.
#[tokio::test]
async fn a_fetched_payment_that_is_not_the_order_is_refused_naming_the_field() {
    let query = format!("session_id={SESSION}&status=payment_created&state=order-B34970692");
    let cases: [(&str, Value, &str); 5] = [
        (
            "/meta/session_id",
            json!("c00000000000000000000000000000c1"),
            "session_id is c00000000000000000000000000000c1, the order's is 44f00841780445d4981be9ea2f8aafae",
        ),
        (
            "/data/attributes/currency",
            json!("GBP"),
            "currency is GBP, the order's is EUR",
        ),
        (
            "/data/attributes/amount",
            json!("1.00"),
            "amount is 1.00 EUR, the order's is 273.00 EUR",
        ),
        (
            "/data/attributes/amount",
            Value::Null,
            "amount is absent, the order's is 273.00 EUR",
        ),
        (
            "/data/attributes/communication",
            json!("ORDER-B"),
            "communication is ORDER-B, the order's is B34970692",
        ),
    ];
    for (pointer, value, message) in cases {
        let server = MockServer::start().await;
        mount_token(&server, 1).await;
        let mut body = FIXTURES.json("payment_200.json");
        *body.pointer_mut(pointer).unwrap() = value;
        mount_session(&server, body, 1).await;
        let err = client(&server)
            .confirm_redirect(&query, &stored_fixture_order())
            .await
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("redirect not confirmed: {message}")
        );
    }
    // An amount that is not exact in its currency: an unreadable answer, naming the field.
    let server = inexact_amount_server().await;
    let err = client(&server)
        .confirm_redirect(&query, &stored_fixture_order())
        .await
        .unwrap_err();
    match err {
        RedirectError::Fetch(Error::Decode { ref reason, .. }) => {
            assert!(reason.starts_with("amount: 273.005"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// [`StoredSession::from_connect`] keeps exactly what was sent and what Fintecture answered.
#[tokio::test]
async fn the_stored_session_is_built_from_the_connect_request_and_answer() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    mount_connected(&server, 1).await;
    let request = connect_request();
    let session = client(&server).connect(&request).await.unwrap();
    let stored = StoredSession::from_connect(&request, &session);
    assert_eq!(stored.session_id(), session.meta.session_id);
    assert_eq!(stored.state(), "order-B34970692");
    assert_eq!(stored.amount(), eur(55_060));
    assert_eq!(stored.communication(), "B34970692");
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn documented_errors_keep_status_and_code() {
    for status in [400u16, 403, 404, 409, 422] {
        let server = MockServer::start().await;
        mount_token(&server, 1).await;
        api(Mock::given(method("GET")))
            .respond_with(
                ResponseTemplate::new(status).set_body_json(FIXTURES.json("error_400.json")),
            )
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server).get_payment(SESSION).await.unwrap_err();
        assert!(matches!(err, Error::Provider { .. }), "{status}: {err:?}");
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(err.provider_code(), Some("invalid_request"));
        assert_eq!(err.delivery(), Delivery::Answered);
    }
}

#[tokio::test]
async fn reads_retry_429_and_503_then_give_up() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    api(Mock::given(method("GET")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    api(Mock::given(method("GET")))
        .respond_with(ResponseTemplate::new(429))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    api(Mock::given(method("GET")))
        .respond_with(FIXTURES.json_answer(200, "payment_200.json"))
        .mount(&server)
        .await;
    client(&server).get_payment(SESSION).await.unwrap();

    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    api(Mock::given(method("GET")))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "3600"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).get_payment(SESSION).await.unwrap_err();
    assert!(
        matches!(err, Error::RateLimited { retry_after: Some(d), .. } if d == Duration::from_secs(3600)),
        "{err:?}"
    );
}

#[tokio::test]
async fn malformed_answers_are_decode_errors() {
    for body in [
        "<html>oops</html>".to_string(),
        r#"{"meta":{"session_id":"x"}}"#.to_string(),
        FIXTURES
            .text("payment_200.json")
            .replace("\"273\"", "\"2,73\""),
    ] {
        let server = MockServer::start().await;
        mount_token(&server, 1).await;
        api(Mock::given(method("GET")))
            .respond_with(ResponseTemplate::new(200).set_body_string(body.clone()))
            .mount(&server)
            .await;
        let err = client(&server).get_payment(SESSION).await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
    }
}

// ---------------------------------------------------------------- neutral trait

#[tokio::test]
async fn neutral_create_returns_the_connect_url() {
    let server = MockServer::start().await;
    mount_token(&server, 1).await;
    connect_route()
        .and(query_param("state", "B34970692"))
        .and(query_param("redirect_uri", "https://shop.example/return"))
        .and(body_json(json!({
            "meta": {"psu_name": "Julien Lefebre", "psu_email": "julien@example.com", "expiry": 900},
            "data": {"type": "payments", "attributes": {"amount": "273.00", "currency": "EUR", "communication": "B34970692"}}
        })))
        .respond_with(FIXTURES.json_answer(200, "connect_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut customer = Customer::default();
    customer.name = Some("Julien Lefebre".into());
    customer.email = Some("julien@example.com".into());
    let request = CreatePayment::new(eur(27_300), "B34970692")
        .return_url("https://shop.example/return")
        .customer(customer)
        .expires_in(Duration::from_secs(900));
    let c = client(&server);
    let checkout = c.checkout(&request).await.unwrap();
    assert_eq!(checkout.payment_id, SESSION);
    assert_eq!(checkout.status, PaymentStatus::Pending);
    assert_eq!(
        checkout.expires_at,
        Some(datetime!(2020-02-26 17:44:51 UTC))
    );
    assert!(
        checkout
            .redirect_url
            .unwrap()
            .starts_with("https://connect-v2")
    );
    // A per-payment webhook URL cannot be honoured: refused, nothing sent.
    let err = c
        .checkout(&request.clone().webhook_url("https://shop.example/hook"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }));
    assert!(c.capabilities().supports(Capability::Refund));
    assert_eq!(requests_to(&server, "/pis/v2/connect").await.len(), 1);
}

#[tokio::test]
async fn configuration_errors_are_clear_and_secret_free() {
    let server = MockServer::start().await;
    let err = FintectureClient::new(config(
        &server,
        "-----BEGIN PRIVATE KEY-----\nSECRETSECRET\n-----END PRIVATE KEY-----",
    ))
    .unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(!err.to_string().contains("SECRETSECRET"));
    let c = client(&server);
    let shown = format!("{c:?} {:?}", config(&server, &generated_key().1));
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

#[tokio::test]
async fn a_fetched_amount_that_is_not_exact_is_a_decode_error_naming_the_field() {
    let server = inexact_amount_server().await;
    let result = client(&server).fetch_payment(SESSION).await;
    match result {
        Err(Error::Decode { ref reason, .. }) => assert!(reason.contains("amount"), "{reason}"),
        other => panic!("{other:?}"),
    }
}
