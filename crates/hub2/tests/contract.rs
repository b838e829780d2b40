//! Contract tests: every endpoint of the HUB2 PaymentIntent API against a local wiremock server.
//! Each test pins the exact request (method, path, query, headers, JSON body) and answers with
//! HUB2's documented bodies (`tests/fixtures/`, sources in `tests/fixtures/README.md`).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_core::http::RetryPolicy;
use payments_core::secret::ExposeSecret;
use payments_core::{
    Capability, CreatePayment, Currency, Delivery, Error, Money, PaymentProvider, PaymentStatus,
    RefundRequest,
};
use payments_hub2::{
    AttemptRequest, CreateIntentRequest, CreateWebhookRequest, Environment, Hub2Client, Hub2Config,
    Hub2PaymentStatus, IntentStatus, ListIntentsRequest, NextAction, PayerClient, PayerConfig,
    PayerCredentials,
};
use payments_test_support::{Fixtures, answer, fixtures, mock_http, only_request};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, header_exists, method, path, query_param};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const API_KEY: &str = "hub2_sk_test_SECRET_api_key";
const MERCHANT_ID: &str = "MTE1ODE2";
const INTENT_ID: &str = "pi_tffiDaXyWQu203rIXhujW";
const TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.TOKEN_SECRET_claims.sig";

fn config(server: &MockServer) -> Hub2Config {
    Hub2Config::new(API_KEY, MERCHANT_ID, Environment::Sandbox)
        .base_url(server.uri())
        .http(mock_http())
}

fn client(server: &MockServer) -> Hub2Client {
    Hub2Client::new(config(server)).unwrap()
}

fn client_without_retries(server: &MockServer) -> Hub2Client {
    Hub2Client::new(config(server).http(mock_http().retry(RetryPolicy::none()))).unwrap()
}

fn payer(server: &MockServer) -> PayerClient {
    PayerClient::new(
        PayerConfig::new(
            PayerCredentials::new(INTENT_ID, TOKEN),
            Environment::Sandbox,
        )
        .base_url(server.uri())
        .http(mock_http()),
    )
    .unwrap()
}

fn xof(amount: i64) -> Money {
    Money::from_minor(amount, Currency::XOF)
}

/// Matchers every merchant call must satisfy.
fn merchant(m: MockBuilder) -> MockBuilder {
    m.and(header("apikey", API_KEY))
        .and(header("merchantid", MERCHANT_ID))
        .and(header("environment", "sandbox"))
        .and(header_exists("user-agent"))
}

/// Merchant `GET` of intent [`INTENT_ID`].
fn intent_route() -> MockBuilder {
    merchant(Mock::given(method("GET")).and(path(format!("/payment-intents/{INTENT_ID}"))))
}

/// A server answering one read of intent [`INTENT_ID`], successful after a failed attempt.
async fn serving_successful_intent() -> MockServer {
    let server = MockServer::start().await;
    FIXTURES
        .mount(&server, intent_route(), "get_intent_successful_200.json", 1)
        .await;
    server
}

/// `GET` of intent [`INTENT_ID`]'s status (by API key or by payer token).
fn status_route() -> MockBuilder {
    Mock::given(method("GET")).and(path(format!("/payment-intents/{INTENT_ID}/status")))
}

/// A value as JSON text read back: exact decimals (fees) become plain JSON numbers for the
/// snapshot, as a consumer of the serialized form sees them.
fn as_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(value).unwrap()).unwrap()
}

fn body_of(request: &Request) -> Value {
    serde_json::from_slice(&request.body).unwrap()
}

/// A payer-side request carries `Environment` and never the merchant's credentials.
fn assert_payer_headers(request: &Request) {
    assert_eq!(request.headers.get("environment").unwrap(), "sandbox");
    assert!(
        request.headers.get("apikey").is_none(),
        "payer calls carry no API key"
    );
    assert!(request.headers.get("merchantid").is_none());
    assert!(request.headers.get("authorization").is_none());
}

fn create_request() -> CreateIntentRequest {
    CreateIntentRequest::new(xof(200), "Test_01", "Test_YYYY_MM_DD_01")
}

// ---------------------------------------------------------------- create intent

#[tokio::test]
async fn create_intent_sends_the_documented_body_and_parses_the_documented_answer() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("POST")).and(path("/payment-intents")))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "customerReference": "Test_01",
            "purchaseReference": "Test_YYYY_MM_DD_01",
            "amount": 200,
            "currency": "XOF"
        })))
        .respond_with(FIXTURES.json_answer(201, "create_intent_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let intent = client(&server)
        .create_intent(&create_request())
        .await
        .unwrap();
    assert_eq!(intent.id, INTENT_ID);
    assert_eq!(intent.status, IntentStatus::PaymentRequired);
    assert_eq!(intent.money(), Some(xof(200)));
    assert!(intent.payments.is_empty());
    let token = intent.token.as_ref().unwrap().expose_secret();
    assert!(token.starts_with("eyJhbGciOiJIUzI1NiIs"));
    assert!(
        !format!("{intent:?}").contains(token),
        "Debug never shows the token"
    );
    let credentials = PayerCredentials::from_intent(&intent).unwrap();
    assert_eq!(credentials.intent_id, INTENT_ID);
    insta::assert_json_snapshot!(
        "create_intent_request",
        body_of(&only_request(&server).await)
    );
    insta::assert_json_snapshot!("create_intent_result", as_json(&intent));
}

#[tokio::test]
async fn create_intent_with_an_override_business_name() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("POST")).and(path("/payment-intents")))
        .and(body_json(json!({
            "customerReference": "client-42", "purchaseReference": "order 2024.05_01",
            "amount": 15000, "currency": "XAF", "overrideBusinessName": "Boutique Akwa"
        })))
        .respond_with(FIXTURES.json_answer(201, "create_intent_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let request = CreateIntentRequest::new(
        Money::from_minor(15000, Currency::XAF),
        "client-42",
        "order 2024.05_01",
    )
    .override_business_name("Boutique Akwa");
    client(&server).create_intent(&request).await.unwrap();
}

#[tokio::test]
async fn bad_references_are_rejected_before_anything_is_sent() {
    let server = MockServer::start().await;
    answer(&server, "POST", ResponseTemplate::new(201), 0).await;
    let c = client(&server);
    let cases = [
        (
            CreateIntentRequest::new(xof(200), "Test_01", "commande#1"),
            "purchaseReference",
        ),
        (
            CreateIntentRequest::new(xof(200), "client/é", "p"),
            "customerReference",
        ),
        (CreateIntentRequest::new(xof(0), "c", "p"), "amount"),
    ];
    for (request, field) in cases {
        match c.create_intent(&request).await {
            Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_400_on_references_keeps_hub2s_message() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payment-intents"))
        .respond_with(FIXTURES.json_answer(400, "error_400_reference.json"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .create_intent(&create_request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(err.provider_code(), Some("Bad Request"));
    assert_eq!(err.delivery(), Delivery::Answered);
    let message = err.provider_error().unwrap().message.clone().unwrap();
    assert!(
        message.starts_with("purchaseReference must match"),
        "{message}"
    );
}

#[tokio::test]
async fn a_401_is_not_retried_and_never_shows_the_key() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        FIXTURES.json_answer(401, "error_401.json"),
        1,
    )
    .await;
    let err = client(&server).get_intent(INTENT_ID).await.unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert!(!err.is_retryable());
    assert!(!format!("{err} {err:?}").contains("SECRET_api_key"));
}

#[tokio::test]
async fn a_429_with_retry_after_is_waited_for_then_the_creation_goes_through() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/payment-intents"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/payment-intents"))
        .respond_with(FIXTURES.json_answer(201, "create_intent_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let started = std::time::Instant::now();
    let intent = client(&server)
        .create_intent(&create_request())
        .await
        .unwrap();
    assert_eq!(intent.id, INTENT_ID);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After honoured"
    );
}

#[tokio::test]
async fn a_429_is_reported_with_and_without_retry_after() {
    for (retry_after, expected) in [(Some("7"), Some(Duration::from_secs(7))), (None, None)] {
        let server = MockServer::start().await;
        let mut response = ResponseTemplate::new(429).set_body_json(
            json!({"statusCode": 429, "message": "ThrottlerException: Too Many Requests"}),
        );
        if let Some(value) = retry_after {
            response = response.insert_header("retry-after", value);
        }
        answer(&server, "GET", response, 1).await;
        let err = client_without_retries(&server)
            .get_intent_status(INTENT_ID)
            .await
            .unwrap_err();
        match &err {
            Error::RateLimited { retry_after, .. } => assert_eq!(*retry_after, expected),
            other => panic!("expected RateLimited, got {other:?}"),
        }
        assert!(err.is_retryable());
    }
}

#[tokio::test]
async fn a_5xx_on_a_creation_is_sent_once_and_outcome_unknown() {
    for status in [500, 502, 503] {
        let server = MockServer::start().await;
        answer(&server, "POST", ResponseTemplate::new(status), 1).await;
        let err = client(&server)
            .create_intent(&create_request())
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::OutcomeUnknown { .. }),
            "{status}: {err:?}"
        );
        assert_eq!(err.delivery(), Delivery::Unknown);
    }
}

#[tokio::test]
async fn a_503_on_a_read_is_retried() {
    let server = MockServer::start().await;
    status_route()
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    FIXTURES
        .mount(&server, status_route(), "status_200.json", 1)
        .await;
    let status = client(&server).get_intent_status(INTENT_ID).await.unwrap();
    assert_eq!(status.status, IntentStatus::Successful);
}

#[tokio::test]
async fn malformed_bodies_are_decode_errors_with_redacted_excerpts() {
    let cases = [
        // A fractional amount is never rounded.
        r#"{"id":"pi_1","status":"processing","amount":200.5,"currency":"XOF","token":"eyJ.TOKEN_SECRET.x"}"#,
        r#"{"id":"pi_1","token":"eyJ.TOKEN_SECRET.x"}"#,
        "<html>502 Bad Gateway</html>",
        "",
    ];
    for body in cases {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .mount(&server)
            .await;
        let err = client(&server).get_intent(INTENT_ID).await.unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{body}: {err:?}");
        assert_eq!(err.delivery(), Delivery::Unknown);
        assert!(!err.to_string().contains("TOKEN_SECRET"), "{err}");
    }
}

#[tokio::test]
async fn ids_that_could_change_the_path_are_refused_locally() {
    let server = MockServer::start().await;
    let c = client(&server);
    for id in ["", "../webhooks", "pi_1/payments", "pi_1?token=x"] {
        assert!(
            matches!(c.get_intent(id).await, Err(Error::InvalidInput { .. })),
            "{id}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- get intent / status

#[tokio::test]
async fn get_intent_reads_attempts_failures_and_fees() {
    let server = serving_successful_intent().await;
    let intent = client(&server).get_intent(INTENT_ID).await.unwrap();
    assert_eq!(intent.status, IntentStatus::Successful);
    assert_eq!(intent.payments.len(), 2);
    let failed = &intent.payments[0];
    assert_eq!(failed.status, Hub2PaymentStatus::Failed);
    assert_eq!(
        failed.failure.as_ref().unwrap().code.as_deref(),
        Some("customer_insufficient_funds")
    );
    let paid = intent.latest_payment().unwrap();
    assert_eq!(paid.status, Hub2PaymentStatus::Successful);
    assert_eq!(paid.total_fees().unwrap(), Some(xof(3)));
    insta::assert_json_snapshot!("get_intent_result", as_json(&intent));
}

#[tokio::test]
async fn get_intent_status_by_api_key() {
    let server = MockServer::start().await;
    FIXTURES
        .mount(&server, merchant(status_route()), "status_200.json", 1)
        .await;
    let status = client(&server).get_intent_status(INTENT_ID).await.unwrap();
    assert_eq!(status.id, INTENT_ID);
    assert_eq!(status.status, IntentStatus::Successful);
    assert!(only_request(&server).await.url.query().is_none());
}

// ---------------------------------------------------------------- payer side

#[tokio::test]
async fn a_mobile_money_attempt_sends_the_token_and_mobile_money_object_without_the_api_key() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/payment-intents/{INTENT_ID}/payments")))
        .and(header("environment", "sandbox"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "token": TOKEN,
            "paymentMethod": "mobile_money",
            "country": "CI",
            "provider": "orange",
            "mobileMoney": {
                "msisdn": "0709000000",
                "otp": "1234",
                "onSuccessRedirectionUrl": "https://shop.example/pay/ok",
                "onFailedRedirectionUrl": "https://shop.example/pay/failed",
                "onCancelRedirectionUrl": "https://shop.example/pay/cancel",
                "onFinishRedirectionUrl": "https://shop.example/pay/done"
            }
        })))
        .respond_with(FIXTURES.json_answer(201, "attempt_otp_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let request = AttemptRequest::mobile_money("CI", "orange", "0709000000")
        .otp("1234")
        .redirection_urls(
            Some("https://shop.example/pay/ok"),
            Some("https://shop.example/pay/failed"),
            Some("https://shop.example/pay/cancel"),
            Some("https://shop.example/pay/done"),
        );
    let intent = payer(&server).attempt(&request).await.unwrap();
    assert_eq!(intent.status, IntentStatus::Processing);
    let attempt = intent.latest_payment().unwrap();
    assert_eq!(attempt.id, "pay_Y2q9LxS4bMw0EoWcJr1Qd");
    match intent.next_action().unwrap() {
        NextAction::Otp { message, .. } => assert_eq!(
            message.as_deref(),
            Some("Mode Sandbox. Entrez un numéro à 4 chiffres pour authentifier le paiement.")
        ),
        other => panic!("expected an OTP action, got {other:?}"),
    }
    let sent = only_request(&server).await;
    assert_payer_headers(&sent);
    let mut body = body_of(&sent);
    body["token"] = json!("<intent token>");
    insta::assert_json_snapshot!("attempt_mobile_money_request", body);
    insta::assert_json_snapshot!("attempt_result", as_json(&intent));
}

#[tokio::test]
async fn a_wave_attempt_yields_a_typed_redirection() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/payment-intents/{INTENT_ID}/payments")))
        .and(body_json(json!({
            "token": TOKEN, "paymentMethod": "mobile_money", "country": "SN", "provider": "wave",
            "mobileMoney": {"msisdn": "771234567"}
        })))
        .respond_with(FIXTURES.json_answer(201, "attempt_wave_redirection_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let intent = payer(&server)
        .attempt(&AttemptRequest::mobile_money("SN", "wave", "771234567"))
        .await
        .unwrap();
    assert_eq!(intent.status, IntentStatus::ActionRequired);
    match intent.next_action().unwrap() {
        NextAction::Redirection {
            message,
            redirection,
        } => {
            assert_eq!(message.as_deref(), Some("mm_wave_live.redirection"));
            assert!(redirection.url.starts_with("https://pay.wave.com/c/"));
            assert_eq!(redirection.method, "get");
            assert!(redirection.headers.is_empty());
        }
        other => panic!("expected a redirection, got {other:?}"),
    }
}

#[tokio::test]
async fn a_card_attempt_uses_the_sync_variant_when_asked() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/payment-intents/{INTENT_ID}/payments/sync")))
        .and(body_json(json!({
            "token": TOKEN, "paymentMethod": "credit_card", "country": "CI", "provider": "visa"
        })))
        .respond_with(FIXTURES.json_answer(201, "attempt_wave_redirection_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    payer(&server)
        .attempt_sync(&AttemptRequest::card("CI", "visa"))
        .await
        .unwrap();
    assert_payer_headers(&only_request(&server).await);
}

#[tokio::test]
async fn an_attempt_is_never_sent_twice() {
    for status in [500, 504] {
        let server = MockServer::start().await;
        answer(&server, "POST", ResponseTemplate::new(status), 1).await;
        let err = payer(&server)
            .attempt(&AttemptRequest::mobile_money("CI", "orange", "0709000000"))
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    }
}

#[tokio::test]
async fn an_invalid_attempt_is_not_sent() {
    let server = MockServer::start().await;
    let err = payer(&server)
        .attempt(&AttemptRequest::mobile_money("CI", "orange", "07-09"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "mobileMoney.msisdn"));
    let err = payer(&server).authenticate("12 34").await.unwrap_err();
    assert!(matches!(err, Error::InvalidInput { ref field, .. } if field == "confirmationCode"));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn authenticate_sends_the_token_and_confirmation_code() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/payment-intents/{INTENT_ID}/authentication")))
        .and(header("environment", "sandbox"))
        .and(body_json(
            json!({"token": TOKEN, "confirmationCode": "4321"}),
        ))
        .respond_with(FIXTURES.json_answer(201, "attempt_otp_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let intent = payer(&server).authenticate("4321").await.unwrap();
    assert_eq!(intent.id, INTENT_ID);
    assert_payer_headers(&only_request(&server).await);
}

#[tokio::test]
async fn status_by_token_sends_the_token_as_a_query_parameter() {
    let server = MockServer::start().await;
    status_route()
        .and(query_param("token", TOKEN))
        .and(header("environment", "sandbox"))
        .respond_with(FIXTURES.json_answer(200, "status_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let status = payer(&server).status().await.unwrap();
    assert_eq!(status.status, IntentStatus::Successful);
    assert_payer_headers(&only_request(&server).await);
}

#[tokio::test]
async fn the_token_in_the_status_url_never_shows_in_errors() {
    // Nothing listens on this port: the transport error must not carry the URL with `?token=`.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable = PayerClient::new(
        PayerConfig::new(
            PayerCredentials::new(INTENT_ID, TOKEN),
            Environment::Sandbox,
        )
        .base_url(format!("http://127.0.0.1:{port}"))
        .http(mock_http().retry(RetryPolicy::none())),
    )
    .unwrap();
    let err = unreachable.status().await.unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err:?}");
    let shown = format!("{err} {err:?} {unreachable:?}");
    assert!(!shown.contains("TOKEN_SECRET"), "{shown}");

    // Nor in an error answer's excerpt (a body that echoes the token back).
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"token": TOKEN})))
        .mount(&server)
        .await;
    let err = payer(&server).status().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("TOKEN_SECRET"), "{shown}");
}

#[tokio::test]
async fn a_merchant_client_hands_out_payer_clients_that_send_no_api_key() {
    let server = MockServer::start().await;
    FIXTURES
        .mount(&server, status_route(), "status_200.json", 1)
        .await;
    let payer = client(&server)
        .payer(PayerCredentials::new(INTENT_ID, TOKEN))
        .unwrap();
    payer.status().await.unwrap();
    assert_payer_headers(&only_request(&server).await);
}

// ---------------------------------------------------------------- webhooks

#[tokio::test]
async fn create_webhook_returns_the_secret() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("POST")).and(path("/webhooks")))
        .and(body_json(json!({
            "url": "https://shop.example/hub2/webhook",
            "events": ["payment_intent.created", "payment.action_required", "payment.succeeded", "payment.failed"],
            "description": "Shop notifications",
            "metadata": {"shop": "main"}
        })))
        .respond_with(FIXTURES.json_answer(201, "webhook_created_201.json"))
        .expect(1)
        .mount(&server)
        .await;
    let mut metadata = serde_json::Map::new();
    metadata.insert("shop".into(), json!("main"));
    let request = CreateWebhookRequest::new(
        "https://shop.example/hub2/webhook",
        [
            "payment_intent.created",
            "payment.action_required",
            "payment.succeeded",
            "payment.failed",
        ],
    )
    .description("Shop notifications")
    .metadata(metadata);
    let webhook = client(&server).create_webhook(&request).await.unwrap();
    let secret = webhook.secret.as_ref().unwrap().expose_secret();
    assert_eq!(secret, "whsec_7f3c1b2a9d8e4f60a1b2c3d4e5f60718");
    assert!(!format!("{webhook:?}").contains(secret));
    payments_hub2::Hub2WebhookVerifier::new(secret).unwrap();
    insta::assert_json_snapshot!(
        "create_webhook_request",
        body_of(&only_request(&server).await)
    );
    insta::assert_json_snapshot!("create_webhook_result", as_json(&webhook));
}

#[tokio::test]
async fn list_webhooks_accepts_a_bare_or_wrapped_array() {
    let list = FIXTURES.json("webhooks_list_200.json");
    for body in [list.clone(), json!({"data": list})] {
        let server = MockServer::start().await;
        merchant(Mock::given(method("GET")).and(path("/webhooks")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .expect(1)
            .mount(&server)
            .await;
        let hooks = client(&server).list_webhooks().await.unwrap();
        assert_eq!(hooks.len(), 1);
        assert_eq!(hooks[0].id, "wh_3kT9uQ1rXb7YpZ0sLm2Ne");
        assert_eq!(hooks[0].events, ["payment.succeeded", "payment.failed"]);
    }
}

#[tokio::test]
async fn delete_webhook() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("DELETE")).and(path("/webhooks/wh_3kT9uQ1rXb7YpZ0sLm2Ne")))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    client(&server)
        .delete_webhook("wh_3kT9uQ1rXb7YpZ0sLm2Ne")
        .await
        .unwrap();
}

// ---------------------------------------------------------------- provider-neutral trait

#[tokio::test]
async fn the_neutral_flow_creates_an_intent_and_hands_back_the_payer_credentials() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("POST")).and(path("/payment-intents")))
        .and(body_json(json!({
            "customerReference": "order-77", "purchaseReference": "order-77",
            "amount": 200, "currency": "XOF"
        })))
        .respond_with(FIXTURES.json_answer(201, "create_intent_201.json"))
        .expect(2)
        .mount(&server)
        .await;
    let c = Hub2Client::new(config(&server).payer_page_url("https://shop.example/pay/{intent_id}"))
        .unwrap();
    let request = CreatePayment::new(xof(200), "order-77").description("not sent to HUB2");
    let (checkout, credentials) = c.create_checkout(&request).await.unwrap();
    assert_eq!(checkout.payment_id, INTENT_ID);
    assert_eq!(checkout.status, PaymentStatus::Pending);
    assert_eq!(
        checkout.redirect_url.as_deref(),
        Some("https://shop.example/pay/pi_tffiDaXyWQu203rIXhujW")
    );
    assert_eq!(checkout.raw["token"], "[REDACTED]");
    assert!(credentials.token.expose_secret().starts_with("eyJ"));
    let neutral: &dyn PaymentProvider = &c;
    let checkout = neutral.checkout(&request).await.unwrap();
    assert!(!format!("{checkout:?}").contains("eyJhbGciOiJIUzI1NiIs"));
}

#[tokio::test]
async fn the_neutral_flow_refuses_what_hub2_cannot_do_without_sending() {
    let server = MockServer::start().await;
    let c = client(&server);
    let with_hook = CreatePayment::new(xof(200), "o-1").webhook_url("https://shop.example/h");
    assert!(matches!(
        c.create_checkout(&with_hook).await,
        Err(Error::InvalidInput { ref field, .. }) if field == "webhook_url"
    ));
    let expiring = CreatePayment::new(xof(200), "o-1").expires_in(Duration::from_secs(60));
    assert!(c.create_checkout(&expiring).await.is_err());
    assert!(!c.capabilities().supports(Capability::CancelPayment));
    assert!(!c.capabilities().supports(Capability::Refund));
    assert!(matches!(
        c.cancel(INTENT_ID).await,
        Err(Error::Unsupported { .. })
    ));
    assert!(matches!(
        c.refund_payment(&RefundRequest::full(INTENT_ID)).await,
        Err(Error::Unsupported { .. })
    ));
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_neutral_get_maps_the_intent() {
    let server = serving_successful_intent().await;
    let payment = client(&server).fetch_payment(INTENT_ID).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.raw_status, "successful");
    assert_eq!(payment.amount, Some(xof(200)));
    assert_eq!(payment.reference.as_deref(), Some("Test_YYYY_MM_DD_01"));
    assert_eq!(payment.raw["token"], "[REDACTED]");
    assert_eq!(
        payment.raw["payments"][0]["failure"]["code"],
        "customer_insufficient_funds"
    );
}

#[tokio::test]
async fn live_sends_the_live_environment_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("environment", "live"))
        .respond_with(FIXTURES.json_answer(200, "status_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = Hub2Client::new(
        Hub2Config::new(API_KEY, MERCHANT_ID, Environment::Live).base_url(server.uri()),
    )
    .unwrap();
    c.get_intent_status(INTENT_ID).await.unwrap();
}

// ---------------------------------------------------------------- find by reference

#[tokio::test]
async fn find_by_reference_lists_the_intents_of_the_purchase_reference_in_one_call() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .and(query_param("purchaseReference", "Test_YYYY_MM_DD_01"))
        .respond_with(FIXTURES.json_answer(200, "list_intents_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert!(c.capabilities().supports(Capability::FindByReference));
    let found = c.find_by_reference("Test_YYYY_MM_DD_01").await.unwrap();
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0].id, INTENT_ID);
    assert_eq!(found[0].status, PaymentStatus::Succeeded);
    assert_eq!(found[0].reference.as_deref(), Some("Test_YYYY_MM_DD_01"));
    assert_eq!(found[0].amount, Some(xof(200)));
    assert_eq!(found[0].raw["token"], "[REDACTED]");
}

fn listed(id: &str, reference: &str, created_at: &str) -> Value {
    let mut intent = FIXTURES.json("get_intent_successful_200.json");
    intent["id"] = json!(id);
    intent["purchaseReference"] = json!(reference);
    intent["createdAt"] = json!(created_at);
    intent
}

#[tokio::test]
async fn find_by_reference_sends_one_list_call_reaching_back_a_year() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([])))
        .expect(1)
        .mount(&server)
        .await;
    let before = time::OffsetDateTime::now_utc();
    let found = client(&server)
        .find_by_reference("order 77.a")
        .await
        .unwrap();
    assert!(found.is_empty(), "HUB2 holds none: {found:?}");
    let request = only_request(&server).await;
    let query: Vec<(String, String)> = request.url.query_pairs().into_owned().collect();
    let names: Vec<&str> = query.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(names, ["purchaseReference", "from", "page", "perPage"]);
    assert_eq!(query[0].1, "order 77.a");
    let from =
        time::OffsetDateTime::parse(&query[1].1, &time::format_description::well_known::Rfc3339)
            .unwrap();
    let reach = before - from;
    assert!(
        reach >= time::Duration::days(365) && reach <= time::Duration::days(367),
        "{}",
        query[1].1
    );
    assert!(query[1].1.ends_with('Z'), "UTC: {}", query[1].1);
    assert_eq!((query[2].1.as_str(), query[3].1.as_str()), ("1", "10"));
}

#[tokio::test]
async fn find_by_reference_reads_a_next_page_only_after_a_full_one_and_sorts_oldest_first() {
    let server = MockServer::start().await;
    // Page 1 is full (10 intents): another reference listed by a loose filter, and nine others.
    let mut first: Vec<Value> = (0..9)
        .map(|i| {
            listed(
                &format!("pi_other{i}"),
                "order-7",
                "2024-05-01T10:00:00.000Z",
            )
        })
        .collect();
    first.push(listed("pi_late", "order-77", "2024-05-03T10:00:00.000Z"));
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .and(query_param("page", "1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(first)))
        .expect(1)
        .mount(&server)
        .await;
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .and(query_param("page", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!([listed(
            "pi_early",
            "order-77",
            "2024-05-02T10:00:00.000Z"
        )])))
        .expect(1)
        .mount(&server)
        .await;
    let found = client(&server).find_by_reference("order-77").await.unwrap();
    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["pi_early", "pi_late"]);
    assert!(found.iter().all(|p| p.raw["token"] == "[REDACTED]"));
}

#[tokio::test]
async fn find_by_reference_never_returns_an_incomplete_list() {
    // HUB2 ignoring `page`: the same full page again is an error, not a list.
    let server = MockServer::start().await;
    let page: Vec<Value> = (0..10)
        .map(|i| listed(&format!("pi_{i}"), "order-77", "2024-05-01T10:00:00.000Z"))
        .collect();
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(page)))
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server)
        .find_by_reference("order-77")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Decode { reason, .. } if reason.contains("again")),
        "{err:?}"
    );

    // More than ten full pages: an error naming what to do instead.
    let server = MockServer::start().await;
    for n in 1..=10 {
        let page: Vec<Value> = (0..10)
            .map(|i| {
                listed(
                    &format!("pi_{n}_{i}"),
                    "order-77",
                    "2024-05-01T10:00:00.000Z",
                )
            })
            .collect();
        merchant(Mock::given(method("GET")).and(path("/payment-intents")))
            .and(query_param("page", n.to_string()))
            .respond_with(ResponseTemplate::new(200).set_body_json(Value::Array(page)))
            .expect(1)
            .mount(&server)
            .await;
    }
    let err = client(&server)
        .find_by_reference("order-77")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("list_intents"), "{err}");

    // A malformed entry is an error, never a shorter list.
    let server = MockServer::start().await;
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!([{"id": "pi_1", "status": "successful", "amount": 2.5}])),
        )
        .mount(&server)
        .await;
    let err = client(&server)
        .find_by_reference("order-77")
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

#[tokio::test]
async fn find_by_reference_refuses_a_reference_hub2_could_not_hold_without_sending() {
    let server = MockServer::start().await;
    let err = client(&server)
        .find_by_reference("order#1")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "reference"),
        "{err:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- list intents

#[tokio::test]
async fn list_intents_sends_the_documented_filters_and_reads_the_page() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .and(query_param("purchaseReference", "Test_YYYY_MM_DD_01"))
        .and(query_param("customerReference", "Test_01"))
        .and(query_param("from", "2022-07-01T00:00:00Z"))
        .and(query_param("to", "2022-07-31T23:59:59Z"))
        .and(query_param("page", "2"))
        .and(query_param("perPage", "5"))
        .respond_with(FIXTURES.json_answer(200, "list_intents_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let from = time::macros::datetime!(2022-07-01 00:00:00 UTC);
    // Another offset is sent in UTC; sub-seconds are dropped.
    let to = time::macros::datetime!(2022-08-01 01:59:59.750 +02:00);
    let page = client(&server)
        .list_intents(
            &ListIntentsRequest::new()
                .purchase_reference("Test_YYYY_MM_DD_01")
                .customer_reference("Test_01")
                .from(from)
                .to(to)
                .page(2)
                .per_page(5),
        )
        .await
        .unwrap();
    assert_eq!((page.page, page.per_page), (2, 5));
    assert!(page.is_last());
    assert_eq!(page.intents.len(), 1);
    let intent = &page.intents[0];
    assert_eq!(intent.id, INTENT_ID);
    assert_eq!(intent.status, IntentStatus::Successful);
    assert_eq!(intent.payments.len(), 2);
    assert!(!format!("{page:?}").contains("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"));
}

#[tokio::test]
async fn list_intents_without_filters_sends_no_query_and_reads_a_wrapped_array() {
    let server = MockServer::start().await;
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"data": FIXTURES.json("list_intents_200.json")})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client(&server)
        .list_intents(&ListIntentsRequest::new())
        .await
        .unwrap();
    assert_eq!((page.page, page.per_page), (1, 10));
    assert_eq!(page.intents.len(), 1);
    assert!(page.is_last());
    assert_eq!(only_request(&server).await.url.query(), None);
}

#[tokio::test]
async fn list_intents_is_validated_before_sending_and_reads_only_arrays() {
    let server = MockServer::start().await;
    let c = client(&server);
    let from = time::macros::datetime!(2022-08-01 00:00:00 UTC);
    let to = time::macros::datetime!(2022-07-01 00:00:00 UTC);
    for (request, field) in [
        (ListIntentsRequest::new().page(0), "page"),
        (ListIntentsRequest::new().per_page(0), "perPage"),
        (ListIntentsRequest::new().per_page(1001), "perPage"),
        (ListIntentsRequest::new().from(from).to(to), "from"),
        (
            ListIntentsRequest::new().purchase_reference("a/b"),
            "purchaseReference",
        ),
        (
            ListIntentsRequest::new().customer_reference(""),
            "customerReference",
        ),
    ] {
        let err = c.list_intents(&request).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: f, .. } if f == field),
            "{request:?}: {err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    merchant(Mock::given(method("GET")).and(path("/payment-intents")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": INTENT_ID})))
        .mount(&server)
        .await;
    let err = c
        .list_intents(&ListIntentsRequest::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}
