//! Contract tests: every Banq endpoint and both token flows against a local wiremock server.
//! Each test pins the exact request (method, path, query, headers, JSON body) and answers with
//! the bodies in `tests/fixtures/` (see its README for which are documented and which assumed).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_banq::config::{BANQ_API_AUDIENCE, BANQ_API_CLIENT_ID, OPEN_API_AUDIENCE};
use payments_banq::testing::token_json;
use payments_banq::{
    BanqClient, BanqConfig, BanqStatus, CredentialFieldNames, FailureReason,
    MerchantUserCredentials, OpenApiCredentials, PaymentLinkRequest, RecurringPeriod, TokenFlow,
    WebhookConfigRequest,
};
use payments_core::token::{StaticTokenSource, TokenCache};
use payments_core::{
    Capability, CreatePayment, Currency, Decimal, Delivery, Error, Money, PaymentProvider,
    PaymentStatus, RefundRequest,
};
use payments_test_support::{Fixtures, bearer, fixtures, mock_http};
use serde_json::{Value, json};
use time::macros::date;
use wiremock::matchers::{
    body_json, body_partial_json, header, header_exists, method, path, query_param,
};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const COMPANY: &str = "company-42";
const CLIENT_ID: &str = "YOUR-CLIENT-ID";
const USERNAME: &str = "YOUR-CLIENT-USERNAME";
const PASSWORD: &str = "client_pw_SECRET";
const EMAIL: &str = "merchant@shop.example";
const MERCHANT_PASSWORD: &str = "merchant_pw_SECRET";
const GUID: &str = "3f2c8a51-7d4e-4b9a-9c1f-2e6b5d8a0c17";
const PAYMENT_ID: &str = "8b1e4f0c-2a57-4c3e-b6d9-71f0a2c4e5b3";
const OPEN_TOKEN: &str = "tok-open-SECRET";
const USER_TOKEN: &str = "tok-user-SECRET";

fn config(server: &MockServer) -> BanqConfig {
    BanqConfig::new(
        COMPANY,
        OpenApiCredentials::new(CLIENT_ID, USERNAME, PASSWORD),
    )
    .merchant_user(MerchantUserCredentials::new(EMAIL, MERCHANT_PASSWORD))
    .api_base_url(format!("{}/api/v1", server.uri()))
    .token_url(format!("{}/oauth/token", server.uri()))
    .default_destination(GUID)
    .http(mock_http())
}

fn client(server: &MockServer) -> BanqClient {
    BanqClient::new(config(server)).unwrap()
}

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::USD)
}

fn open_api_token_body() -> Value {
    json!({
        "grant_type": "password",
        "client_id": CLIENT_ID,
        "username": USERNAME,
        "password": PASSWORD,
        "audience": OPEN_API_AUDIENCE,
    })
}

/// The guide's merchant-user token body (fixture), with this test's login.
fn merchant_user_token_body() -> Value {
    let mut body = FIXTURES.json("token_request_merchant_user.json");
    body["username"] = json!(EMAIL);
    body["password"] = json!(MERCHANT_PASSWORD);
    assert_eq!(body["client_id"], BANQ_API_CLIENT_ID);
    assert_eq!(body["audience"], BANQ_API_AUDIENCE);
    body
}

/// Both token endpoints, each matched on its exact body, each expected `times` times.
async fn mount_tokens(server: &MockServer, open_times: u64, user_times: u64) {
    token_route()
        .and(header("content-type", "application/json"))
        .and(body_json(open_api_token_body()))
        .respond_with(token_answer(OPEN_TOKEN, 86_400))
        .expect(open_times)
        .named("open api token")
        .mount(server)
        .await;
    token_route()
        .and(header("content-type", "application/json"))
        .and(body_json(merchant_user_token_body()))
        .respond_with(token_answer(USER_TOKEN, 86_400))
        .expect(user_times)
        .named("merchant user token")
        .mount(server)
        .await;
}

fn token_route() -> MockBuilder {
    Mock::given(method("POST")).and(path("/oauth/token"))
}

fn token_answer(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(token_json(token, expires_in))
}

/// `GET` of payment [`PAYMENT_ID`].
fn payment_route() -> MockBuilder {
    Mock::given(method("GET")).and(path(format!("/api/v1/payments/{PAYMENT_ID}")))
}

fn link_route() -> MockBuilder {
    Mock::given(method("POST")).and(path("/api/v1/payments/get-paid-link"))
}

fn me_route() -> MockBuilder {
    Mock::given(method("GET")).and(path("/api/v1/users/me"))
}

/// The Open API token endpoint answering [`OPEN_TOKEN`] to exactly `body`, once.
async fn mount_open_token(server: &MockServer, body: &Value) {
    token_route()
        .and(body_json(body))
        .respond_with(token_answer(OPEN_TOKEN, 3600))
        .expect(1)
        .mount(server)
        .await;
}

/// Reads payment [`PAYMENT_ID`] with a client logging in with `credentials`.
async fn get_payment_with(server: &MockServer, credentials: OpenApiCredentials) {
    let mut config = config(server);
    config.credentials = credentials;
    let c = BanqClient::new(config).unwrap();
    c.get_payment(PAYMENT_ID).await.unwrap();
}

/// Matchers every API call with `token` must satisfy.
fn api(m: MockBuilder, token: &str) -> MockBuilder {
    m.and(bearer(token))
        .and(header("x-company-id", COMPANY))
        .and(header_exists("user-agent"))
}

async fn api_requests(server: &MockServer) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap()
        .into_iter()
        .filter(|r| r.url.path().starts_with("/api/"))
        .collect()
}

fn link_request() -> PaymentLinkRequest {
    PaymentLinkRequest::once(GUID, usd(10_000), "Blue T-shirt", "order-1234")
}

// ---------------------------------------------------------------- payment links

#[tokio::test]
async fn get_paid_link_sends_the_documented_body_and_reads_the_link() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    api(link_route(), OPEN_TOKEN)
        .and(header("content-type", "application/json"))
        .and(body_json(FIXTURES.json("get_paid_link_request.json")))
        .respond_with(FIXTURES.json_answer(200, "get_paid_link_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let link = client(&server)
        .create_payment_link(&link_request())
        .await
        .unwrap();
    assert_eq!(link.url, "https://link.banq.com/4x1t09WiOjb");
    assert_eq!(link.id.as_deref(), Some(PAYMENT_ID));
    assert_eq!(link.raw, FIXTURES.json("get_paid_link_200.json"));
    let sent = api_requests(&server).await.remove(0);
    // `funds` is the exact JSON number 100, as in Banq's guide.
    assert!(String::from_utf8_lossy(&sent.body).contains(r#""funds":100,"#));
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    insta::assert_json_snapshot!("get_paid_link_request", sent);
    insta::assert_json_snapshot!("get_paid_link_result", link);
}

#[tokio::test]
async fn a_recurring_link_sends_frequency_and_dates() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    link_route()
        .and(body_partial_json(json!({
            "frequency": "monthly", "startDate": "2021-06-15", "endDate": "2021-12-15"
        })))
        .respond_with(FIXTURES.json_answer(200, "get_paid_link_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let request = PaymentLinkRequest::once(GUID, usd(1050), "Gym membership", "sub-7").recurring(
        RecurringPeriod::Monthly,
        Some(date!(2021 - 06 - 15)),
        Some(date!(2021 - 12 - 15)),
    );
    client(&server).create_payment_link(&request).await.unwrap();
    let sent = api_requests(&server).await.remove(0);
    assert!(String::from_utf8_lossy(&sent.body).contains(r#""funds":10.5,"#));
    let sent: Value = serde_json::from_slice(&sent.body).unwrap();
    insta::assert_json_snapshot!("get_paid_link_recurring_request", sent);
}

#[tokio::test]
async fn invalid_links_are_rejected_before_anything_is_sent() {
    let server = MockServer::start().await;
    let c = client(&server);
    let cases = [
        (
            PaymentLinkRequest::once(GUID, Money::from_minor(100, Currency::EUR), "c", "o"),
            "funds",
        ),
        (PaymentLinkRequest::once(GUID, usd(0), "c", "o"), "funds"),
        (
            PaymentLinkRequest::once("", usd(1), "c", "o"),
            "destination.banqGuid",
        ),
        (PaymentLinkRequest::once(GUID, usd(1), "", "o"), "comment"),
        (
            PaymentLinkRequest::once(GUID, usd(1), "c", "o").recurring(
                RecurringPeriod::Weekly,
                Some(date!(2021 - 06 - 15)),
                Some(date!(2021 - 06 - 01)),
            ),
            "endDate",
        ),
    ];
    for (request, field) in cases {
        match c.create_payment_link(&request).await {
            Err(e @ Error::InvalidInput { .. }) => {
                assert!(
                    matches!(&e, Error::InvalidInput { field: f, .. } if f == field),
                    "{e}"
                );
                assert_eq!(e.delivery(), Delivery::NotSent);
            }
            other => panic!("expected InvalidInput({field}), got {other:?}"),
        }
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "not even a token request"
    );
}

#[tokio::test]
async fn the_guides_credential_field_names_are_selectable() {
    let server = MockServer::start().await;
    // The guide's own token body, with our values.
    let mut expected = FIXTURES.json("token_request_open_api.json");
    expected["client_password"] = json!(PASSWORD);
    mount_open_token(&server, &expected).await;
    payment_route()
        .and(bearer(OPEN_TOKEN))
        .respond_with(FIXTURES.text_answer(200, "payment_pending_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let credentials = OpenApiCredentials::new(CLIENT_ID, USERNAME, PASSWORD)
        .field_names(CredentialFieldNames::ClientPrefixed);
    get_payment_with(&server, credentials).await;
}

#[tokio::test]
async fn a_client_secret_is_sent_when_configured() {
    let server = MockServer::start().await;
    let mut expected = open_api_token_body();
    expected["client_secret"] = json!("cs_SECRET");
    mount_open_token(&server, &expected).await;
    Mock::given(method("GET"))
        .respond_with(FIXTURES.text_answer(200, "payment_pending_200.json"))
        .mount(&server)
        .await;
    let credentials =
        OpenApiCredentials::new(CLIENT_ID, USERNAME, PASSWORD).client_secret("cs_SECRET");
    get_payment_with(&server, credentials).await;
}

// ---------------------------------------------------------------- payments

#[tokio::test]
async fn get_payment_reads_status_and_exact_funds() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    api(payment_route(), OPEN_TOKEN)
        .respond_with(FIXTURES.text_answer(200, "payment_completed_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let payment = client(&server).get_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(payment.status, BanqStatus::Completed);
    assert_eq!(payment.funds, Some(Decimal::parse("100.10").unwrap()));
    assert_eq!(payment.funds.unwrap().to_string(), "100.10");
    assert_eq!(payment.external_order_code.as_deref(), Some("order-1234"));
    assert!(api_requests(&server).await[0].body.is_empty());
    insta::assert_json_snapshot!("get_payment_result", payment);
}

#[tokio::test]
async fn the_neutral_get_maps_status_amount_and_reference() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    payment_route()
        .respond_with(FIXTURES.text_answer(200, "payment_failed_200.json"))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let payment = c.fetch_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Failed);
    assert_eq!(payment.raw_status, "failed");
    assert_eq!(payment.amount, Some(usd(10_010)));
    assert_eq!(payment.reference.as_deref(), Some("order-1234"));
    assert!(payment.created_at.is_some());
    let native = c.get_payment(PAYMENT_ID).await;
    // The second call reuses the cached token (the token mock expects exactly one request).
    assert_eq!(
        native.unwrap().failure_reason,
        Some(FailureReason::InsufficientBalance)
    );
}

/// `funds` that USD cannot hold exactly (`100.105`), or that is not a number at all, is a wrong
/// answer: an error naming the field, never a payment whose amount silently went missing.
#[tokio::test]
async fn funds_that_are_not_exact_money_are_a_decode_error_naming_the_field() {
    let documented = FIXTURES.text("payment_completed_200.json");
    for (from, to) in [
        ("100.10", "100.105"),
        ("100.10", "\"100,10\""),
        ("100.10", "{\"currency\": \"USD\"}"),
        ("100.10", "1e30"),
    ] {
        let body = documented.replacen(from, to, 1);
        assert_ne!(body, documented);
        let server = MockServer::start().await;
        mount_tokens(&server, 1, 0).await;
        payment_route()
            .respond_with(ResponseTemplate::new(200).set_body_string(body))
            .expect(2)
            .mount(&server)
            .await;
        let c = client(&server);
        let native = c.get_payment(PAYMENT_ID).await.map(|p| format!("{p:?}"));
        let neutral = c.fetch_payment(PAYMENT_ID).await.map(|p| format!("{p:?}"));
        for result in [native, neutral] {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::Decode { reason, .. } if reason.contains("funds")),
                "{to}: {err:?}"
            );
        }
    }
}

#[tokio::test]
async fn unknown_and_differently_cased_statuses() {
    for (raw, expected) in [
        ("Completed", PaymentStatus::Succeeded),
        ("PROCESSING", PaymentStatus::Processing),
        ("Canceled", PaymentStatus::Cancelled),
        ("refunded", PaymentStatus::Unknown("refunded".into())),
        ("paid", PaymentStatus::Unknown("paid".into())),
    ] {
        let server = MockServer::start().await;
        mount_tokens(&server, 1, 0).await;
        Mock::given(method("GET"))
            .respond_with(
                ResponseTemplate::new(200).set_body_json(json!({"id": PAYMENT_ID, "status": raw})),
            )
            .mount(&server)
            .await;
        let payment = client(&server).fetch_payment(PAYMENT_ID).await.unwrap();
        assert_eq!(payment.status, expected, "{raw}");
        assert_eq!(payment.raw_status, raw);
        if let PaymentStatus::Unknown(_) = payment.status {
            assert!(!payment.status.is_success());
        }
    }
}

#[tokio::test]
async fn ids_are_checked_and_encoded_in_paths() {
    let server = MockServer::start().await;
    let c = client(&server);
    for id in ["", "a b", &"x".repeat(200), ".", ".."] {
        let err = c.get_payment(id).await.unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    mount_tokens(&server, 1, 0).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/payments/a%2Fb%3Fc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": "pending"})))
        .expect(1)
        .mount(&server)
        .await;
    let payment = c.fetch_payment("a/b?c").await.unwrap();
    assert_eq!(
        payment.id, "a/b?c",
        "the requested id when the answer has none"
    );
}

/// A dot segment would climb out of the resource (`GET /payments/..` is `GET /`): core's
/// `join_path` refuses it before anything is sent, naming the field.
#[tokio::test]
async fn a_dot_segment_id_sends_nothing_and_names_the_field() {
    let server = MockServer::start().await;
    // Tokens would be served (so a refusal cannot come from a failed token request), and none
    // may be asked for.
    mount_tokens(&server, 0, 0).await;
    let c = client(&server);
    for id in [".", ".."] {
        let errors = [
            ("paymentId", c.get_payment(id).await.map(|_| ())),
            ("paymentId", c.fetch_payment(id).await.map(|_| ())),
            (
                "accountSpaceId",
                c.register_webhook_config(
                    id,
                    &WebhookConfigRequest::new("https://shop.example/banq/webhook"),
                )
                .await
                .map(|_| ()),
            ),
        ];
        for (expected, result) in errors {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field, reason }
                    if field == expected && reason.starts_with("must not be")),
                "{id:?}: {err:?}"
            );
            assert_eq!(err.delivery(), Delivery::NotSent);
        }
    }
    assert!(
        server.received_requests().await.unwrap().is_empty(),
        "nothing sent, not even a token request"
    );
}

#[tokio::test]
async fn an_answer_about_another_payment_is_a_decode_error() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    payment_route()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "other-payment", "status": "completed"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let err = c.get_payment(PAYMENT_ID).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let err = c.fetch_payment(PAYMENT_ID).await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
}

// ---------------------------------------------------------------- users/me, account spaces

#[tokio::test]
async fn users_me_uses_the_merchant_user_token_and_finds_the_account_space() {
    let server = MockServer::start().await;
    mount_tokens(&server, 0, 1).await;
    api(me_route(), USER_TOKEN)
        .and(query_param("include", "accountSpaces,banqAccounts"))
        .respond_with(FIXTURES.json_answer(200, "users_me_200.json"))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let me = c.me().await.unwrap();
    assert_eq!(me.email.as_deref(), Some(EMAIL));
    assert_eq!(me.account_spaces.len(), 2);
    assert_eq!(me.account_space_id_for(GUID).as_deref(), Some("as-4711"));
    assert_eq!(
        c.account_space_id_for("0d9e2b6a-1c4f-4e7d-8a5b-3f6c1e2d9b80")
            .await
            .unwrap()
            .as_deref(),
        Some("as-4712")
    );
    // The query is written as documented, with a literal comma.
    let sent = api_requests(&server).await;
    assert_eq!(
        sent[0].url.query(),
        Some("include=accountSpaces,banqAccounts")
    );
    insta::assert_json_snapshot!("users_me_result", me);
}

#[tokio::test]
async fn calls_needing_the_merchant_user_fail_before_sending_without_it() {
    let server = MockServer::start().await;
    let mut config = config(&server);
    config.merchant_user = None;
    let c = BanqClient::new(config).unwrap();
    let err = c.me().await.unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    let err = c
        .register_webhook_config("as-1", &WebhookConfigRequest::new("https://s.example/h"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- webhook configuration

#[tokio::test]
async fn webhook_config_sends_the_documented_body() {
    let server = MockServer::start().await;
    mount_tokens(&server, 0, 1).await;
    api(
        Mock::given(method("POST")).and(path("/api/v1/account-spaces/as-4711/webhook-config")),
        USER_TOKEN,
    )
    .and(header("content-type", "application/json"))
    .and(body_json(FIXTURES.json("webhook_config_request.json")))
    .respond_with(ResponseTemplate::new(201).set_body_json(json!({
        "id": 77, "url": "https://shop.example/your-web-hooks/payment-status", "enabled": true
    })))
    .expect(1)
    .mount(&server)
    .await;
    let config = client(&server)
        .register_webhook_config(
            "as-4711",
            &WebhookConfigRequest::new("https://shop.example/your-web-hooks/payment-status"),
        )
        .await
        .unwrap();
    assert_eq!(config.id.as_deref(), Some("77"));
    assert_eq!(config.enabled, Some(true));
    let sent: Value = serde_json::from_slice(&api_requests(&server).await[0].body).unwrap();
    insta::assert_json_snapshot!("webhook_config_request", sent);
}

#[tokio::test]
async fn webhook_config_accepts_an_empty_answer_and_can_use_the_open_api_token() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    api(
        Mock::given(method("POST")).and(path("/api/v1/account-spaces/as-1/webhook-config")),
        OPEN_TOKEN,
    )
    .respond_with(ResponseTemplate::new(204))
    .expect(1)
    .mount(&server)
    .await;
    let c = BanqClient::new(config(&server).webhook_config_token(TokenFlow::OpenApi)).unwrap();
    let config = c
        .register_webhook_config("as-1", &WebhookConfigRequest::new("https://s.example/h"))
        .await
        .unwrap();
    assert_eq!(config.raw, Value::Null);
}

#[tokio::test]
async fn setup_webhooks_looks_up_the_space_then_registers_once() {
    let server = MockServer::start().await;
    mount_tokens(&server, 0, 1).await;
    me_route()
        .respond_with(FIXTURES.json_answer(200, "users_me_200.json"))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/v1/account-spaces/as-4711/webhook-config"))
        .respond_with(ResponseTemplate::new(201))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    let request = WebhookConfigRequest::new("https://shop.example/banq?token=abc");
    c.setup_webhooks(GUID, &request).await.unwrap();
    // An account the merchant user does not have: nothing is registered.
    let err = c
        .setup_webhooks("no-such-account", &request)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::InvalidInput { field, .. } if field == "banqGuid"),
        "{err:?}"
    );
}

#[tokio::test]
async fn invalid_webhook_configs_are_not_sent() {
    let server = MockServer::start().await;
    let c = client(&server);
    for request in [
        WebhookConfigRequest::new("http://shop.example/h"),
        WebhookConfigRequest::new("https://shop.example/h").web_hook_types([]),
    ] {
        let err = c
            .register_webhook_config("as-1", &request)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidInput { .. }), "{err:?}");
    }
    // `..` would be dropped by URL normalisation: POST /account-spaces/webhook-config.
    for space in ["", "..", "."] {
        let err = c
            .register_webhook_config(space, &WebhookConfigRequest::new("https://s.example/h"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::InvalidInput { .. }),
            "{space}: {err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

// ---------------------------------------------------------------- tokens

#[tokio::test]
async fn each_flow_fetches_its_token_once_and_reuses_it_across_clones() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 1).await;
    payment_route()
        .and(bearer(OPEN_TOKEN))
        .respond_with(FIXTURES.text_answer(200, "payment_pending_200.json"))
        .expect(3)
        .mount(&server)
        .await;
    me_route()
        .and(bearer(USER_TOKEN))
        .respond_with(FIXTURES.json_answer(200, "users_me_200.json"))
        .expect(2)
        .mount(&server)
        .await;
    let c = client(&server);
    let clone = c.clone();
    c.get_payment(PAYMENT_ID).await.unwrap();
    clone.get_payment(PAYMENT_ID).await.unwrap();
    c.me().await.unwrap();
    clone.me().await.unwrap();
    c.get_payment(PAYMENT_ID).await.unwrap();
}

#[tokio::test]
async fn a_401_fetches_a_new_token_and_retries_exactly_once() {
    let server = MockServer::start().await;
    token_route()
        .respond_with(token_answer("tok-1", 3600))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    token_route()
        .respond_with(token_answer("tok-2", 3600))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer tok-2"))
        .and(header("x-company-id", COMPANY))
        .respond_with(FIXTURES.text_answer(200, "payment_completed_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let payment = client(&server).get_payment(PAYMENT_ID).await.unwrap();
    assert_eq!(payment.status, BanqStatus::Completed);
}

#[tokio::test]
async fn a_401_on_a_merchant_user_call_renews_only_the_merchant_user_token() {
    let server = MockServer::start().await;
    // The Open API token is never requested: the flows have separate caches.
    mount_tokens(&server, 0, 0).await;
    let user_token = |token: &str| {
        token_route()
            .and(body_json(merchant_user_token_body()))
            .respond_with(token_answer(token, 3600))
    };
    user_token("user-1")
        .up_to_n_times(1)
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    user_token("user-2")
        .expect(1)
        .with_priority(2)
        .mount(&server)
        .await;
    me_route()
        .and(header("authorization", "Bearer user-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    me_route()
        .and(header("authorization", "Bearer user-2"))
        .respond_with(FIXTURES.json_answer(200, "users_me_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let me = client(&server).me().await.unwrap();
    assert_eq!(me.account_space_id_for(GUID).as_deref(), Some("as-4711"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_calls_on_clones_share_one_token_request() {
    let server = MockServer::start().await;
    token_route()
        .and(body_json(open_api_token_body()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_json(OPEN_TOKEN, 3600))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(bearer(OPEN_TOKEN))
        .respond_with(FIXTURES.text_answer(200, "payment_pending_200.json"))
        .expect(20)
        .mount(&server)
        .await;
    let c = client(&server);
    let calls = (0..20).map(|_| {
        let c = c.clone();
        tokio::spawn(async move { c.get_payment(PAYMENT_ID).await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().unwrap();
    }
}

#[tokio::test]
async fn a_second_401_is_returned_not_retried_forever() {
    let server = MockServer::start().await;
    token_route()
        .respond_with(token_answer("tok", 3600))
        .expect(2)
        .mount(&server)
        .await;
    link_route()
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"message": "Unauthorized"})))
        .expect(2)
        .mount(&server)
        .await;
    let err = client(&server)
        .create_payment_link(&link_request())
        .await
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401));
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
}

#[tokio::test]
async fn a_refused_token_request_is_a_provider_error_without_credentials() {
    let server = MockServer::start().await;
    token_route()
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Wrong email or password."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
    assert_eq!(err.http_status(), Some(403));
    assert_eq!(err.provider_code(), Some("invalid_grant"));
    assert_eq!(err.delivery(), Delivery::Answered);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(
        api_requests(&server).await.is_empty(),
        "no API call without a token"
    );
}

#[tokio::test]
async fn a_static_token_source_can_replace_the_token_flows() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer external-token"))
        .and(header("x-company-id", COMPANY))
        .respond_with(FIXTURES.text_answer(200, "payment_pending_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = BanqClient::with_token_cache(
        config(&server),
        TokenCache::new(StaticTokenSource::new("external-token")),
    )
    .unwrap();
    c.get_payment(PAYMENT_ID).await.unwrap();
    assert!(!format!("{c:?}").contains("external-token"));
}

// ---------------------------------------------------------------- errors

#[tokio::test]
async fn provider_errors_keep_status_code_message_and_trace() {
    for (status, body, code) in [
        (
            404,
            FIXTURES.json("error_404.json"),
            Some("PaymentNotFound"),
        ),
        (
            400,
            json!({"error": {"code": "ValidationError", "message": "funds must be positive"}}),
            Some("ValidationError"),
        ),
        (403, json!({"message": "Forbidden"}), None),
    ] {
        let server = MockServer::start().await;
        mount_tokens(&server, 1, 0).await;
        Mock::given(method("GET"))
            .respond_with(ResponseTemplate::new(status).set_body_json(&body))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
        assert!(matches!(err, Error::Provider { .. }), "{err:?}");
        assert_eq!(err.http_status(), Some(status));
        assert_eq!(err.provider_code(), code);
        assert_eq!(err.delivery(), Delivery::Answered);
        if status == 404 {
            assert_eq!(err.trace_id(), Some("b7e1c3a2d4f5"));
            assert!(err.to_string().contains("Payment not found"));
        }
    }
}

#[tokio::test]
async fn a_429_is_retried_for_reads_and_creations() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    for (m, p, ok) in [
        (
            "GET",
            format!("/api/v1/payments/{PAYMENT_ID}"),
            FIXTURES.text_answer(200, "payment_pending_200.json"),
        ),
        (
            "POST",
            "/api/v1/payments/get-paid-link".to_string(),
            FIXTURES.json_answer(200, "get_paid_link_200.json"),
        ),
    ] {
        Mock::given(method(m))
            .and(path(p.as_str()))
            .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
            .up_to_n_times(1)
            .expect(1)
            .mount(&server)
            .await;
        Mock::given(method(m))
            .and(path(p.as_str()))
            .respond_with(ok)
            .expect(1)
            .mount(&server)
            .await;
    }
    let c = client(&server);
    c.get_payment(PAYMENT_ID).await.unwrap();
    c.create_payment_link(&link_request()).await.unwrap();
}

#[tokio::test]
async fn a_persistent_429_is_rate_limited_with_retry_after() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "120"))
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server).get_payment(PAYMENT_ID).await.unwrap_err();
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)))
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_link_creation_answered_5xx_is_sent_once_and_outcome_unknown() {
    for status in [500, 502, 503] {
        let server = MockServer::start().await;
        mount_tokens(&server, 1, 0).await;
        link_route()
            .respond_with(ResponseTemplate::new(status))
            .expect(1)
            .mount(&server)
            .await;
        let err = client(&server)
            .create_payment_link(&link_request())
            .await
            .unwrap_err();
        assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
        assert_eq!(err.delivery(), Delivery::Unknown);
    }
}

#[tokio::test]
async fn a_link_creation_timing_out_is_sent_once_and_outcome_unknown() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    link_route()
        .respond_with(
            FIXTURES
                .json_answer(200, "get_paid_link_200.json")
                .set_delay(Duration::from_secs(5)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .create_payment_link(&link_request())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

#[tokio::test]
async fn reads_retry_on_503_but_not_on_500() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    Mock::given(method("GET"))
        .and(path("/api/v1/payments/p-503"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/payments/p-503"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"id": "p-503", "status": "pending"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v1/payments/p-500"))
        .respond_with(ResponseTemplate::new(500).set_body_string("<html>boom</html>"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    c.get_payment("p-503").await.unwrap();
    let err = c.get_payment("p-500").await.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(500));
    assert!(err.is_retryable());
}

#[tokio::test]
async fn malformed_and_unexpected_answers_are_decode_errors() {
    let cases: Vec<(&str, &str, ResponseTemplate)> = vec![
        // A link answer without a link: an error, never an empty string.
        (
            "POST",
            "/api/v1/payments/get-paid-link",
            ResponseTemplate::new(200).set_body_json(json!({"id": PAYMENT_ID})),
        ),
        (
            "POST",
            "/api/v1/payments/get-paid-link",
            ResponseTemplate::new(200).set_body_json(json!({"link": ""})),
        ),
        (
            "POST",
            "/api/v1/payments/get-paid-link",
            ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"),
        ),
        (
            "POST",
            "/api/v1/payments/get-paid-link",
            ResponseTemplate::new(200),
        ),
        // A payment without a status.
        (
            "GET",
            "/api/v1/payments/p1",
            ResponseTemplate::new(200).set_body_json(json!({"id": "p1", "funds": 3})),
        ),
        (
            "GET",
            "/api/v1/payments/p1",
            ResponseTemplate::new(200).set_body_json(json!(["completed"])),
        ),
        (
            "GET",
            "/api/v1/payments/p1",
            ResponseTemplate::new(200).set_body_string(r#"{"status":"completed""#),
        ),
        (
            "GET",
            "/api/v1/users/me",
            ResponseTemplate::new(200).set_body_string("not json"),
        ),
    ];
    for (m, p, response) in cases {
        let server = MockServer::start().await;
        let user = u64::from(p == "/api/v1/users/me");
        mount_tokens(&server, 1 - user, user).await;
        Mock::given(method(m))
            .and(path(p))
            .respond_with(response)
            .expect(1)
            .mount(&server)
            .await;
        let c = client(&server);
        let err = match (m, p) {
            ("POST", _) => c.create_payment_link(&link_request()).await.map(drop),
            (_, "/api/v1/users/me") => c.me().await.map(drop),
            _ => c.get_payment("p1").await.map(drop),
        }
        .unwrap_err();
        assert!(matches!(err, Error::Decode { .. }), "{m} {p}: {err:?}");
        if m == "POST" {
            assert_eq!(
                err.delivery(),
                Delivery::Unknown,
                "a link may exist: reconcile"
            );
        }
    }
}

// ---------------------------------------------------------------- provider-neutral

#[tokio::test]
async fn the_neutral_create_makes_a_once_link_into_the_default_destination() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    link_route()
        .and(body_json(FIXTURES.json("get_paid_link_request.json")))
        .respond_with(FIXTURES.json_answer(201, "get_paid_link_200.json"))
        .expect(1)
        .mount(&server)
        .await;
    let c = client(&server);
    assert_eq!(c.name(), "banq");
    let checkout = c
        .checkout(&CreatePayment::new(usd(10_000), "order-1234").description("Blue T-shirt"))
        .await
        .unwrap();
    assert_eq!(checkout.payment_id, PAYMENT_ID);
    assert_eq!(checkout.status, PaymentStatus::Pending);
    assert_eq!(
        checkout.redirect_url.as_deref(),
        Some("https://link.banq.com/4x1t09WiOjb")
    );
}

#[tokio::test]
async fn the_neutral_create_refuses_what_banq_cannot_do_before_sending() {
    let server = MockServer::start().await;
    let c = client(&server);
    let base = || CreatePayment::new(usd(100), "o-1");
    for (request, field) in [
        (base().return_url("https://s.example/back"), "return_url"),
        (base().webhook_url("https://s.example/hook"), "webhook_url"),
        (base().expires_in(Duration::from_secs(60)), "expires_in"),
        (
            CreatePayment::new(Money::from_minor(100, Currency::EUR), "o"),
            "funds",
        ),
    ] {
        let err = c.checkout(&request).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidInput { field: f, .. } if f == field),
            "{err:?}"
        );
    }
    let mut no_destination = config(&server);
    no_destination.default_destination = None;
    let err = BanqClient::new(no_destination)
        .unwrap()
        .checkout(&base())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    for capability in [Capability::CancelPayment, Capability::Refund] {
        assert!(!c.capabilities().supports(capability));
    }
    let err = c.cancel("p1").await.unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    let err = c
        .refund_payment(&RefundRequest::full("p1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn a_neutral_create_answered_without_an_id_is_a_decode_error() {
    let server = MockServer::start().await;
    mount_tokens(&server, 1, 0).await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(201)
                .set_body_json(json!({"link": "https://link.banq.com/4x1t09WiOjb"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let err = client(&server)
        .checkout(&CreatePayment::new(usd(100), "o-1"))
        .await
        .unwrap_err();
    match &err {
        Error::Decode {
            status, excerpt, ..
        } => {
            assert_eq!(*status, 201);
            assert!(excerpt.contains("https://link.banq.com/4x1t09WiOjb"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(err.delivery(), Delivery::Unknown);
}

// ---------------------------------------------------------------- configuration and secrets

#[test]
fn misconfigurations_are_config_errors_and_debug_shows_no_secret() {
    let ok = || {
        BanqConfig::new(
            COMPANY,
            OpenApiCredentials::new(CLIENT_ID, USERNAME, PASSWORD),
        )
        .merchant_user(MerchantUserCredentials::new(EMAIL, MERCHANT_PASSWORD))
    };
    let c = BanqClient::new(ok()).unwrap();
    let shown = format!("{c:?} {:?}", ok());
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(!shown.contains(EMAIL), "{shown}");
    for config in [
        BanqConfig::new("", OpenApiCredentials::new(CLIENT_ID, USERNAME, PASSWORD)),
        BanqConfig::new(
            "comp any",
            OpenApiCredentials::new(CLIENT_ID, USERNAME, PASSWORD),
        ),
        BanqConfig::new(COMPANY, OpenApiCredentials::new("", USERNAME, PASSWORD)),
        BanqConfig::new(COMPANY, OpenApiCredentials::new(CLIENT_ID, USERNAME, " ")),
        ok().merchant_user(MerchantUserCredentials::new(EMAIL, "")),
        ok().api_base_url("not a url"),
        ok().token_url("::"),
        ok().default_destination("has space"),
    ] {
        let err = BanqClient::new(config).unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRET"));
    }
}
