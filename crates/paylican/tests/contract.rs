//! Contract tests: the Keycloak token endpoint and the Payment Creation API against a local
//! wiremock server. Each test pins the exact request (method, path, headers, byte-exact body) and
//! answers with Paylican's documented responses (`tests/fixtures/`, see its README).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;
use std::time::Duration;

use payments_core::http::HttpClient;
use payments_core::token::TokenCache;
use payments_core::webhook::FixedClock;
use payments_core::{
    Capability, CreatePayment, Currency, Decimal, Delivery, Error, Money, PaymentProvider,
    PaymentStatus, RefundRequest,
};
use payments_paylican::auth::KeycloakTokenSource;
use payments_paylican::{
    CreatePaymentRequest, CreatedPayment, InvoiceStatus, PaylicanClient, PaylicanConfig,
};
use payments_test_support::{Fixtures, fixtures, mock_http, mount_json, requests_to};
use time::macros::datetime;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

const FIXTURES: Fixtures = fixtures!();

const TOKEN_PATH: &str = "/auth/realms/PGW/protocol/openid-connect/token";
const USERNAME: &str = "shop-user";
/// Needs form encoding: `@`, space, `&`, `=`, `+` and a non-ASCII letter.
const PASSWORD: &str = "p@ss w&rd=+ö-SECRET";
const PASSWORD_FORM: &str = "username=shop-user&password=p%40ss+w%26rd%3D%2B%C3%B6-SECRET\
                             &grant_type=password&client_id=invoice-system-client";
const ACCESS_1: &str = "eyJhbGciOiJSUzI1NiJ9.access-1-SECRET.sig";
const REFRESH_1: &str = "eyJhbGciOiJIUzI1NiJ9.refresh-1-SECRET.sig";

/// Removes whitespace outside JSON strings, keeping every other byte (numbers digit for digit).
fn minify(json: &str) -> String {
    let mut out = String::new();
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn config(server: &MockServer) -> PaylicanConfig {
    PaylicanConfig::new(
        server.uri(),
        format!("{}/pgw", server.uri()),
        USERNAME,
        PASSWORD,
    )
    .http(mock_http())
}

fn client(server: &MockServer) -> PaylicanClient {
    PaylicanClient::new(config(server)).unwrap()
}

/// A token answer; `expires_in: 0` makes the cache fetch again on the next call.
fn token_body(access: &str, expires_in: u64, refresh: Option<&str>) -> serde_json::Value {
    let mut body: serde_json::Value =
        serde_json::from_str(&FIXTURES.text("token_200.json")).unwrap();
    body["access_token"] = access.into();
    body["expires_in"] = expires_in.into();
    match refresh {
        Some(r) => body["refresh_token"] = r.into(),
        None => {
            body.as_object_mut().unwrap().remove("refresh_token");
        }
    }
    body
}

/// Keycloak's token endpoint asked for the password grant, exactly this form.
fn password_grant() -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(body_string(PASSWORD_FORM))
}

/// Keycloak's token endpoint asked to renew `refresh_token`.
fn refresh_grant(refresh_token: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string(refresh_form(refresh_token)))
}

/// The password grant answering `token` (see [`token_body`]), expected exactly `times` times.
async fn mount_token(server: &MockServer, token: serde_json::Value, times: u64) {
    mount_json(server, password_grant(), 200, token, times).await;
}

/// The refresh grant for `refresh_token` answering `token`, expected exactly `times` times.
async fn mount_refreshed(
    server: &MockServer,
    refresh_token: &str,
    token: serde_json::Value,
    times: u64,
) {
    mount_json(server, refresh_grant(refresh_token), 200, token, times).await;
}

async fn mount_password_grant(server: &MockServer, response: ResponseTemplate, times: u64) {
    password_grant()
        .respond_with(response)
        .expect(times)
        .mount(server)
        .await;
}

fn refresh_form(refresh_token: &str) -> String {
    format!(
        "grant_type=refresh_token&refresh_token={refresh_token}&client_id=invoice-system-client"
    )
}

/// The payment endpoint answering the documented creation, expected exactly `times` times.
async fn mount_created(server: &MockServer, times: u64) {
    payment_route()
        .respond_with(created())
        .expect(times)
        .mount(server)
        .await;
}

/// Paylican's Payment Creation API.
fn payment_route() -> MockBuilder {
    Mock::given(method("POST")).and(path("/pgw/api/v1/payment"))
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_string(FIXTURES.text("create_payment_200.json"))
}

fn documented_request() -> CreatePaymentRequest {
    CreatePaymentRequest::new(Decimal::parse("5100.00").unwrap(), "XYZ", "REF-1234")
        .customer_code("ABC123")
        .redirection_url("https://merchant-url.com/")
        .item_name("Item name")
        .beneficiary_code("20")
        .additional_field("documentNo", "TST1201901260")
        .additional_field("documentDate", "2018-01-03Z")
        .additional_field("documentReference", "LIC201900001430")
}

fn small_request(amount: &str, reference: &str) -> CreatePaymentRequest {
    CreatePaymentRequest::new(Decimal::parse(amount).unwrap(), "XYZ", reference)
}

/// Creates a 1.00 invoice with merchant reference `reference`.
async fn create(c: &PaylicanClient, reference: &str) -> Result<CreatedPayment, Error> {
    c.create_payment(&small_request("1.00", reference)).await
}

/// A client reading invoices at `/api/v1/invoice/{invoiceId}`, its account in GNF.
fn status_client(server: &MockServer) -> PaylicanClient {
    PaylicanClient::new(
        config(server)
            .status_path("/api/v1/invoice/{invoiceId}")
            .currency(Currency::GNF),
    )
    .unwrap()
}

// ---------------------------------------------------------------- token + create

#[tokio::test]
async fn create_sends_the_documented_body_byte_for_byte_with_a_password_grant_token() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, Some(REFRESH_1)), 1).await;
    let documented = minify(&FIXTURES.text("create_payment_request.json"));
    assert!(documented.starts_with(r#"{"amount":5100.00,"type":"XYZ""#));
    payment_route()
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_1}").as_str(),
        ))
        .and(header("content-type", "application/json"))
        .and(body_string(documented.clone()))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    payment_route()
        .and(body_string(
            r#"{"amount":0.10,"type":"XYZ","merchantReference":"REF-2"}"#,
        ))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;

    let c = client(&server);
    let payment = c.create_payment(&documented_request()).await.unwrap();
    assert_eq!(payment.invoice_id, "XYZ2024-ade08");
    assert_eq!(payment.merchant_reference, "REF-1234");
    assert_eq!(
        payment.payment_page_url,
        format!(
            "{uri}/auth/realms/PGW/protocol/openid-connect/auth?client_id=invoice-system-client\
             &redirect_uri={encoded}%2Fpgw%2Fapi%2Fv1%2Fpay%2FXYZ%2FREF-1234%2FXYZ2024-ade08",
            uri = server.uri(),
            encoded = server.uri().replace(':', "%3A").replace('/', "%2F"),
        )
    );
    let sent = String::from_utf8(
        requests_to(&server, "/pgw/api/v1/payment").await[0]
            .body
            .clone(),
    )
    .unwrap();
    assert_eq!(sent, documented);
    insta::assert_snapshot!("create_request_body", sent);
    let mut shown = payment.clone();
    let encoded_uri = server.uri().replace(':', "%3A").replace('/', "%2F");
    shown.payment_page_url = shown
        .payment_page_url
        .replace(&server.uri(), "http://mock")
        .replace(&encoded_uri, "http%3A%2F%2Fmock");
    insta::assert_debug_snapshot!("create_result", shown);

    // The token is cached: a second creation asks Keycloak nothing (`expect(1)` above).
    c.create_payment(&small_request("0.10", "REF-2"))
        .await
        .unwrap();
}

#[tokio::test]
async fn decimal_amounts_reach_the_wire_exactly() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, None), 1).await;
    mount_created(&server, 4).await;
    let c = client(&server);
    for amount in ["0.10", "5100.00", "100", "90071992547409.93"] {
        c.create_payment(&small_request(amount, "R-1"))
            .await
            .unwrap();
    }
    let bodies: Vec<String> = requests_to(&server, "/pgw/api/v1/payment")
        .await
        .into_iter()
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect();
    assert_eq!(
        bodies,
        [
            r#"{"amount":0.10,"type":"XYZ","merchantReference":"R-1"}"#,
            r#"{"amount":5100.00,"type":"XYZ","merchantReference":"R-1"}"#,
            r#"{"amount":100,"type":"XYZ","merchantReference":"R-1"}"#,
            r#"{"amount":90071992547409.93,"type":"XYZ","merchantReference":"R-1"}"#,
        ]
    );
}

// ---------------------------------------------------------------- refresh token

#[tokio::test]
async fn an_expired_access_token_is_renewed_with_the_refresh_token() {
    let server = MockServer::start().await;
    // First: the password grant, an access token that is immediately due and a refresh token.
    mount_token(&server, token_body(ACCESS_1, 0, Some(REFRESH_1)), 1).await;
    // Then: the refresh grant, exactly this form, answering a new pair (Keycloak rotates).
    refresh_grant(REFRESH_1)
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body(
            "access-2",
            0,
            Some("refresh-2"),
        )))
        .expect(1)
        .mount(&server)
        .await;
    mount_refreshed(&server, "refresh-2", token_body("access-3", 300, None), 1).await;
    mount_created(&server, 3).await;

    let c = client(&server);
    for i in 0..3 {
        c.create_payment(&small_request("1.00", &format!("R-{i}")))
            .await
            .unwrap();
    }
    let bearers: Vec<String> = requests_to(&server, "/pgw/api/v1/payment")
        .await
        .iter()
        .map(|r| r.headers["authorization"].to_str().unwrap().to_string())
        .collect();
    assert_eq!(
        bearers,
        [
            format!("Bearer {ACCESS_1}"),
            "Bearer access-2".into(),
            "Bearer access-3".into()
        ]
    );
}

#[tokio::test]
async fn a_refused_refresh_token_falls_back_to_the_password_grant() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 0, Some(REFRESH_1)), 2).await;
    refresh_grant(REFRESH_1)
        .respond_with(
            ResponseTemplate::new(400)
                .set_body_string(FIXTURES.text("token_400_refresh_invalid.json")),
        )
        .expect(1)
        .mount(&server)
        .await;
    mount_created(&server, 2).await;
    let c = client(&server);
    create(&c, "R-1").await.unwrap();
    create(&c, "R-2").await.unwrap();
    let forms: Vec<String> = requests_to(&server, TOKEN_PATH)
        .await
        .into_iter()
        .map(|r| String::from_utf8(r.body).unwrap())
        .collect();
    assert_eq!(
        forms,
        [
            PASSWORD_FORM.to_string(),
            refresh_form(REFRESH_1),
            PASSWORD_FORM.to_string()
        ]
    );
}

#[tokio::test]
async fn an_expired_refresh_token_is_not_sent_and_the_password_grant_is_used() {
    let server = MockServer::start().await;
    // refresh_expires_in is 1800 s in the fixture.
    mount_token(&server, token_body(ACCESS_1, 0, Some(REFRESH_1)), 2).await;
    mount_refreshed(&server, REFRESH_1, token_body("x", 0, None), 0).await;
    mount_created(&server, 2).await;
    let cfg = config(&server);
    let http = HttpClient::new("paylican", "test", "0", &mock_http()).unwrap();
    let clock = FixedClock::new(datetime!(2026-01-01 0:00 UTC));
    let source = KeycloakTokenSource::for_config(http.clone(), &cfg)
        .unwrap()
        .with_clock(Arc::new(clock.clone()));
    let c = PaylicanClient::with_token_cache(cfg, TokenCache::new(source)).unwrap();
    create(&c, "R-1").await.unwrap();
    // 1771 s later the refresh token has 29 s left: inside the 30 s margin, so it is not used.
    clock.advance(Duration::from_secs(1771));
    create(&c, "R-2").await.unwrap();
}

#[tokio::test]
async fn without_a_refresh_token_every_renewal_is_a_password_grant() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 0, None), 2).await;
    mount_created(&server, 2).await;
    let c = client(&server);
    create(&c, "R-1").await.unwrap();
    create(&c, "R-2").await.unwrap();
}

#[tokio::test]
async fn wrong_credentials_are_a_provider_error_and_nothing_is_created() {
    let server = MockServer::start().await;
    mount_password_grant(
        &server,
        ResponseTemplate::new(401).set_body_string(FIXTURES.text("token_401_invalid_grant.json")),
        1,
    )
    .await;
    mount_created(&server, 0).await;
    let err = create(&client(&server), "R-1").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Provider {
                operation: "access_token",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.http_status(), Some(401));
    assert_eq!(err.provider_code(), Some("invalid_grant"));
    assert_eq!(err.delivery(), Delivery::Answered);
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains("SECRET") && !shown.contains("p@ss"),
        "{shown}"
    );
}

#[tokio::test]
async fn a_malformed_token_answer_is_a_decode_error_without_the_token() {
    let server = MockServer::start().await;
    mount_password_grant(
        &server,
        ResponseTemplate::new(200)
            .set_body_string(r#"{"access_token": "tok-SECRET", "expires_in": "soon"}"#),
        1,
    )
    .await;
    let err = create(&client(&server), "R-1").await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    assert!(!format!("{err} {err:?}").contains("tok-SECRET"));
}

// ---------------------------------------------------------------- documented errors

async fn answering(status: u16, body: Option<&str>) -> (MockServer, PaylicanClient) {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, Some(REFRESH_1)), 1).await;
    let mut response = ResponseTemplate::new(status);
    if let Some(body) = body {
        response = response.set_body_string(body);
    }
    payment_route().respond_with(response).mount(&server).await;
    let c = client(&server);
    (server, c)
}

async fn creations_sent(server: &MockServer) -> usize {
    requests_to(server, "/pgw/api/v1/payment").await.len()
}

#[tokio::test]
async fn a_400_carries_the_error_message() {
    let (server, c) = answering(400, Some(&FIXTURES.text("error_400.json"))).await;
    let err = create(&c, "R-1").await.unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Provider {
                operation: "create_payment",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.http_status(), Some(400));
    assert_eq!(
        err.provider_error().unwrap().message.as_deref(),
        Some("Payment type XYZ is not configured for this merchant")
    );
    assert_eq!(err.delivery(), Delivery::Answered);
    assert!(!err.is_retryable());
    assert_eq!(creations_sent(&server).await, 1);
}

#[tokio::test]
async fn a_401_renews_the_token_once_then_is_an_error() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, Some(REFRESH_1)), 1).await;
    mount_refreshed(&server, REFRESH_1, token_body("access-2", 300, None), 1).await;
    payment_route()
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let err = create(&client(&server), "R-1").await.unwrap_err();
    assert!(matches!(&err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(401));
}

#[tokio::test]
async fn a_404_is_a_provider_error() {
    let body = r#"{"status":404,"error":"Not Found","message":"No such object","path":"/pgw/api/v1/payment"}"#;
    let (server, c) = answering(404, Some(body)).await;
    let err = create(&c, "R-1").await.unwrap_err();
    assert!(matches!(&err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(404));
    assert_eq!(err.provider_code(), Some("Not Found"));
    assert_eq!(
        err.provider_error().unwrap().message.as_deref(),
        Some("No such object")
    );
    assert_eq!(creations_sent(&server).await, 1);
}

#[tokio::test]
async fn a_500_on_create_is_sent_once_and_outcome_unknown() {
    let (server, c) = answering(500, Some("Internal Server Error")).await;
    let err = create(&c, "R-1").await.unwrap_err();
    assert!(matches!(&err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Unknown);
    assert_eq!(creations_sent(&server).await, 1);
}

#[tokio::test]
async fn a_503_on_create_is_sent_once_and_outcome_unknown() {
    // "The connection is being throttled or the service is down for maintenance": for a creation
    // that does not prove the invoice was not created, so it is never re-sent.
    let (server, c) = answering(503, None).await;
    let err = create(&c, "R-1").await.unwrap_err();
    assert!(matches!(&err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.http_status(), Some(503));
    assert_eq!(creations_sent(&server).await, 1);
}

#[tokio::test]
async fn a_creation_timing_out_is_sent_once() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, None), 1).await;
    payment_route()
        .respond_with(created().set_delay(Duration::from_secs(5)))
        .expect(1)
        .mount(&server)
        .await;
    let err = create(&client(&server), "R-1").await.unwrap_err();
    assert!(matches!(&err, Error::OutcomeUnknown { .. }), "{err:?}");
}

#[tokio::test]
async fn malformed_answers_are_decode_errors() {
    for body in [
        "<html>Bad Gateway</html>",
        r#"{"merchantReference":"REF-1234"}"#,
        r#"{"invoiceId":"","merchantReference":"REF-1234"}"#,
        r#"{"invoiceId":"..","merchantReference":"REF-1234"}"#,
        r#"{"invoiceId":42}"#,
        "",
    ] {
        let (server, c) = answering(200, Some(body)).await;
        let err = create(&c, "R-1").await.unwrap_err();
        assert!(matches!(&err, Error::Decode { .. }), "{body}: {err:?}");
        assert_eq!(err.delivery(), Delivery::Unknown, "the invoice may exist");
        assert_eq!(creations_sent(&server).await, 1);
    }
}

#[tokio::test]
async fn invalid_input_is_rejected_before_anything_is_sent() {
    let server = MockServer::start().await;
    let c = client(&server);
    let long = format!("https://merchant-url.com/{}", "a".repeat(900));
    for request in [
        small_request("1.00", "R-1").redirection_url(long),
        small_request("0", "R-1"),
        small_request("-5.00", "R-1"),
        small_request("1.00", ".."),
        small_request("1.00", ""),
    ] {
        let err = c.create_payment(&request).await.unwrap_err();
        assert!(matches!(&err, Error::InvalidInput { .. }), "{err:?}");
        assert_eq!(err.delivery(), Delivery::NotSent);
    }
    let gnf = PaylicanClient::new(config(&server).currency(Currency::GNF)).unwrap();
    let err = gnf
        .create_payment(&small_request("0.10", "R-1"))
        .await
        .unwrap_err();
    assert!(matches!(&err, Error::InvalidInput { .. }), "{err:?}");
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn the_merchant_reference_paylican_echoes_is_used_in_the_page_url() {
    let (_server, c) = answering(
        200,
        Some(r#"{"invoiceId":"XYZ2024/ade 08","merchantReference":"REF 1234"}"#),
    )
    .await;
    let payment = create(&c, "REF 1234").await.unwrap();
    assert!(
        payment
            .payment_page_url
            .ends_with("%2Fapi%2Fv1%2Fpay%2FXYZ%2FREF%25201234%2FXYZ2024%252Fade%252008"),
        "{}",
        payment.payment_page_url
    );
}

// ---------------------------------------------------------------- status endpoint

#[tokio::test]
async fn get_invoice_uses_the_configured_status_endpoint_and_retries_a_503() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, None), 1).await;
    let invoice: serde_json::Value =
        serde_json::from_str(&FIXTURES.text("webhook_payment_executed.json")).unwrap();
    Mock::given(method("GET"))
        .and(path("/pgw/api/v1/invoice/ABC2024-123"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/pgw/api/v1/invoice/ABC2024-123"))
        .and(header(
            "authorization",
            format!("Bearer {ACCESS_1}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&invoice["data"]))
        .expect(2)
        .mount(&server)
        .await;
    let c = status_client(&server);
    let got = c.get_invoice("ABC2024-123").await.unwrap();
    assert_eq!(got.status, InvoiceStatus::Paid);
    let payment = c.fetch_payment("ABC2024-123").await.unwrap();
    assert_eq!(payment.status, PaymentStatus::Succeeded);
    assert_eq!(payment.raw_status, "PAID");
    assert_eq!(payment.amount, Some(Money::from_minor(100, Currency::GNF)));
    assert_eq!(payment.reference.as_deref(), Some("REF-178T876"));
}

/// Paylican's invoice amounts are decimals in the account's currency: one the currency cannot
/// hold (`5100.005` GNF, a zero-decimal currency) is a wrong answer, never a payment without an
/// amount.
#[tokio::test]
async fn an_invoice_amount_the_account_currency_cannot_hold_is_a_decode_error_naming_the_field() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, None), 1).await;
    let invoice = minify(&FIXTURES.text("webhook_payment_executed.json"));
    let data = invoice
        .split_once(r#""data":"#)
        .and_then(|(_, rest)| rest.split_once(r#","id":41768"#))
        .map(|(data, _)| data.replace(r#""totalAmount":100"#, r#""totalAmount":5100.005"#))
        .unwrap();
    assert!(data.contains("5100.005"), "{data}");
    Mock::given(method("GET"))
        .and(path("/pgw/api/v1/invoice/ABC2024-123"))
        .respond_with(ResponseTemplate::new(200).set_body_string(data))
        .expect(2)
        .mount(&server)
        .await;
    let c = status_client(&server);
    let neutral = c.fetch_payment("ABC2024-123").await;
    let native = c.get_invoice("ABC2024-123").await;
    for result in [
        neutral.map(|p| format!("{p:?}")),
        native.map(|i| format!("{i:?}")),
    ] {
        let err = result.unwrap_err();
        assert!(
            matches!(&err, Error::Decode { reason, .. } if reason.contains("totalAmount")),
            "{err:?}"
        );
    }
}

/// A dot segment would climb out of the status endpoint (`/invoice/..` is `/api/v1`): refused
/// before anything is sent, naming the field; any other id is one percent-encoded segment.
#[tokio::test]
async fn a_dot_segment_invoice_id_sends_nothing_and_names_the_field() {
    let server = MockServer::start().await;
    // Tokens would be served (so a refusal cannot come from a failed token request), and none
    // may be asked for.
    mount_token(&server, token_body(ACCESS_1, 300, None), 0).await;
    let c = status_client(&server);
    for id in ["", ".", ".."] {
        let native = c.get_invoice(id).await.map(|_| ());
        let neutral = c.fetch_payment(id).await.map(|_| ());
        for result in [native, neutral] {
            let err = result.unwrap_err();
            assert!(
                matches!(&err, Error::InvalidInput { field, reason }
                    if field == "invoiceId" && reason.starts_with("must not be")),
                "{id:?}: {err:?}"
            );
            assert_eq!(err.delivery(), Delivery::NotSent);
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn an_invoice_id_is_one_encoded_segment_of_the_status_path() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, None), 1).await;
    Mock::given(method("GET"))
        .and(path("/pgw/api/v1/invoice/a%2Fb%3Fc%23d%20e/status"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"id": "a/b?c#d e", "status": "UNPAID"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let c = PaylicanClient::new(config(&server).status_path("api/v1/invoice/{invoiceId}/status/"))
        .unwrap();
    let invoice = c.get_invoice("a/b?c#d e").await.unwrap();
    assert_eq!(invoice.status, InvoiceStatus::Unpaid);
}

#[test]
fn a_status_path_takes_the_invoice_id_as_one_whole_segment() {
    let server_uri = "http://127.0.0.1:9";
    let config = |template: &str| {
        PaylicanConfig::new(server_uri, server_uri, USERNAME, PASSWORD).status_path(template)
    };
    for good in [
        "/api/v1/invoice/{invoiceId}",
        "api/v1/invoice/{invoiceId}/status",
        "/{invoiceId}",
    ] {
        assert!(PaylicanClient::new(config(good)).is_ok(), "{good}");
    }
    for bad in [
        "/api/v1/invoice/INV-{invoiceId}",
        "/api/v1/invoice/{invoiceId}.json",
        "/api/v1/invoice",
        "/api/{invoiceId}/{invoiceId}",
        "/api/../{invoiceId}",
        "/api/./{invoiceId}",
    ] {
        let err = PaylicanClient::new(config(bad)).unwrap_err();
        assert!(
            matches!(&err, Error::Config(m) if m.contains("status_path")),
            "{bad}: {err:?}"
        );
    }
}

// ---------------------------------------------------------------- provider-neutral trait

fn neutral_config(server: &MockServer) -> PaylicanConfig {
    config(server).currency(Currency::XOF).payment_type("XYZ")
}

#[tokio::test]
async fn the_neutral_create_returns_the_invoice_id_and_the_payment_page() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, None), 1).await;
    payment_route()
        .and(body_string(
            r#"{"amount":5100,"type":"XYZ","merchantReference":"REF-1234","redirectionUrl":"https://merchant-url.com/","itemName":"Item name"}"#,
        ))
        .respond_with(created())
        .expect(1)
        .mount(&server)
        .await;
    let c = PaylicanClient::new(neutral_config(&server).openid_code_flow()).unwrap();
    let request = CreatePayment::new(Money::from_minor(5100, Currency::XOF), "REF-1234")
        .description("Item name")
        .return_url("https://merchant-url.com/");
    let checkout = c.checkout(&request).await.unwrap();
    assert_eq!(checkout.payment_id, "XYZ2024-ade08");
    assert_eq!(checkout.status, PaymentStatus::Pending);
    let url = checkout.redirect_url.unwrap();
    assert!(
        url.ends_with("XYZ2024-ade08&response_type=code&scope=openid"),
        "{url}"
    );
    assert_eq!(checkout.raw["invoiceId"], "XYZ2024-ade08");
}

#[tokio::test]
async fn the_neutral_create_refuses_what_paylican_cannot_do_before_sending() {
    let server = MockServer::start().await;
    let money = Money::from_minor(5100, Currency::XOF);
    let cases: Vec<(PaylicanConfig, CreatePayment)> = vec![
        (
            config(&server).payment_type("XYZ"),
            CreatePayment::new(money, "R"),
        ),
        (
            config(&server).currency(Currency::XOF),
            CreatePayment::new(money, "R"),
        ),
        (
            neutral_config(&server),
            CreatePayment::new(Money::from_minor(5100, Currency::EUR), "R"),
        ),
        (
            neutral_config(&server),
            CreatePayment::new(money, "R").webhook_url("https://shop/hook"),
        ),
        (
            neutral_config(&server),
            CreatePayment::new(money, "R").expires_in(Duration::from_secs(60)),
        ),
    ];
    for (cfg, request) in cases {
        let c = PaylicanClient::new(cfg).unwrap();
        let err = c.checkout(&request).await.unwrap_err();
        assert!(
            matches!(err, Error::Config(_) | Error::InvalidInput { .. }),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn undeclared_operations_are_unsupported_and_send_nothing() {
    let server = MockServer::start().await;
    let c = client(&server);
    assert!(!c.capabilities().supports(Capability::GetPayment));
    assert!(c.capabilities().supports(Capability::CreatePayment));
    assert!(c.capabilities().supports(Capability::UnsignedWebhooks));
    for err in [
        c.fetch_payment("ABC2024-123").await.unwrap_err(),
        c.cancel("ABC2024-123").await.unwrap_err(),
        c.refund_payment(&RefundRequest::full("ABC2024-123"))
            .await
            .unwrap_err(),
    ] {
        assert!(
            matches!(
                err,
                Error::Unsupported {
                    provider: "paylican",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert!(server.received_requests().await.unwrap().is_empty());
    let with_status =
        PaylicanClient::new(config(&server).status_path("/api/v1/invoice/{invoiceId}")).unwrap();
    assert!(with_status.capabilities().supports(Capability::GetPayment));
}

// ---------------------------------------------------------------- secrets

#[tokio::test]
async fn debug_output_never_shows_credentials_or_tokens() {
    let server = MockServer::start().await;
    mount_token(&server, token_body(ACCESS_1, 300, Some(REFRESH_1)), 1).await;
    payment_route().respond_with(created()).mount(&server).await;
    let cfg = config(&server);
    let http = HttpClient::new("paylican", "test", "0", &mock_http()).unwrap();
    let source = KeycloakTokenSource::for_config(http.clone(), &cfg).unwrap();
    let cache = TokenCache::new(source);
    let c = PaylicanClient::with_token_cache(cfg.clone(), cache.clone()).unwrap();
    create(&c, "R-1").await.unwrap();
    let lease = cache.get().await.unwrap();
    for shown in [
        format!("{cfg:?}"),
        format!("{c:?}"),
        format!("{cache:?}"),
        format!("{lease:?}"),
    ] {
        assert!(
            !shown.contains("SECRET") && !shown.contains("p@ss"),
            "{shown}"
        );
    }
    assert!(format!("{cache:?}").contains("has_refresh_token: true"));
}
