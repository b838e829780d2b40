//! Contract tests of the HTTP policy against a local wiremock server: which requests are retried,
//! how often, and what the caller is told. The `expect(n)` on each mock is verified when the
//! server drops, so a policy that sends a request once too often fails the test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use payments_core::http::{ApiRequest, Auth, HttpClient, HttpConfig, Method, RetryPolicy, Url};
use payments_core::secret::SecretString;
use payments_core::{Delivery, Error, ProviderError};
use payments_test_support::{answer, answer_first};
use serde_json::json;
use wiremock::matchers::{header, header_regex, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(config: HttpConfig) -> HttpClient {
    HttpClient::new("test", "payments-test", "9.9.9", &config).unwrap()
}

/// Quick retries so the suite stays fast; the policy's shape is what is tested.
fn fast() -> HttpConfig {
    HttpConfig::default()
        .retry(
            RetryPolicy::default()
                .max_attempts(3)
                .backoff(Duration::from_millis(1), Duration::from_millis(5)),
        )
        .request_timeout(Duration::from_millis(500))
}

fn url(server: &MockServer, p: &str) -> Url {
    Url::parse(&format!("{}{p}", server.uri())).unwrap()
}

fn get(server: &MockServer) -> ApiRequest {
    ApiRequest::new("get_payment", Method::GET, url(server, "/payments/1"))
}

fn create(server: &MockServer) -> ApiRequest {
    ApiRequest::new("create_payment", Method::POST, url(server, "/payments"))
        .json(&json!({"amount": 100}))
        .unwrap()
}

fn parse_nothing(_: &[u8]) -> ProviderError {
    ProviderError::default()
}

/// What the fast client makes of the answer to `request`: an error status, as an error.
async fn error_for(request: ApiRequest) -> Error {
    client(fast())
        .send(request)
        .await
        .unwrap()
        .error_for_status(parse_nothing)
        .unwrap_err()
}

#[tokio::test]
async fn idempotent_get_is_retried_on_503_then_succeeds() {
    let server = MockServer::start().await;
    answer_first(&server, "GET", ResponseTemplate::new(503)).await;
    answer(
        &server,
        "GET",
        ResponseTemplate::new(200).set_body_json(json!({"ok": true})),
        1,
    )
    .await;
    let response = client(fast()).send(get(&server)).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = MockServer::start().await;
    answer(&server, "GET", ResponseTemplate::new(502), 3).await;
    let err = error_for(get(&server)).await;
    assert!(
        matches!(err, Error::Provider { ref error, .. } if error.status == 502),
        "{err:?}"
    );
    assert!(err.is_retryable());
}

#[tokio::test]
async fn idempotent_get_is_not_retried_on_500_or_404() {
    let server = MockServer::start().await;
    Mock::given(path("/payments/1"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let err = error_for(get(&server)).await;
    assert_eq!(err.http_status(), Some(500));
}

#[tokio::test]
async fn post_answered_500_is_sent_exactly_once_and_outcome_is_unknown() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(500).set_body_json(json!({"code": "TECHNICAL_ERROR"})),
        1,
    )
    .await;
    let err = client(fast())
        .send(create(&server))
        .await
        .unwrap()
        .error_for_status(|_| ProviderError::default().with_code("TECHNICAL_ERROR"))
        .unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Unknown);
    assert_eq!(err.provider_code(), Some("TECHNICAL_ERROR"));
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn post_answered_503_is_sent_exactly_once() {
    let server = MockServer::start().await;
    answer(&server, "POST", ResponseTemplate::new(503), 1).await;
    let err = error_for(create(&server)).await;
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

#[tokio::test]
async fn post_timing_out_is_sent_exactly_once() {
    let server = MockServer::start().await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(201).set_delay(Duration::from_secs(3)),
        1,
    )
    .await;
    let config = fast().request_timeout(Duration::from_millis(200));
    let err = client(config).send(create(&server)).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
    assert_eq!(err.delivery(), Delivery::Unknown);
}

#[tokio::test]
async fn get_timing_out_is_retried_up_to_the_bound() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        ResponseTemplate::new(200).set_delay(Duration::from_secs(3)),
        3,
    )
    .await;
    let config = fast().request_timeout(Duration::from_millis(150));
    let err = client(config).send(get(&server)).await.unwrap_err();
    assert!(matches!(err, Error::OutcomeUnknown { .. }), "{err:?}");
}

#[tokio::test]
async fn post_answered_429_is_retried_because_it_was_not_processed() {
    let server = MockServer::start().await;
    answer_first(&server, "POST", ResponseTemplate::new(429)).await;
    answer(
        &server,
        "POST",
        ResponseTemplate::new(201).set_body_json(json!({"id": "p1"})),
        1,
    )
    .await;
    let response = client(fast()).send(create(&server)).await.unwrap();
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let server = MockServer::start().await;
    answer_first(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
    )
    .await;
    answer(&server, "GET", ResponseTemplate::new(200), 1).await;
    let started = Instant::now();
    client(fast()).send(get(&server)).await.unwrap();
    // The backoff alone is at most 5 ms: waiting a full second proves Retry-After was used.
    assert!(started.elapsed() >= Duration::from_millis(950));
}

#[tokio::test]
async fn retry_after_beyond_the_limit_is_returned_not_waited_for() {
    let server = MockServer::start().await;
    answer(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "120"),
        1,
    )
    .await;
    let err = error_for(get(&server)).await;
    match err {
        Error::RateLimited { retry_after, .. } => {
            assert_eq!(retry_after, Some(Duration::from_secs(120)));
        }
        other => panic!("expected RateLimited, got {other:?}"),
    }
}

#[tokio::test]
async fn retry_after_as_http_date_is_honoured() {
    let server = MockServer::start().await;
    let soon = httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(600));
    answer(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", soon.as_str()),
        1,
    )
    .await;
    let err = error_for(get(&server)).await;
    let Error::RateLimited {
        retry_after: Some(wait),
        ..
    } = err
    else {
        panic!("expected RateLimited with a delay, got {err:?}");
    };
    assert!(wait > Duration::from_secs(590) && wait <= Duration::from_secs(600));
}

#[tokio::test]
async fn connection_refused_is_not_sent() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let request = ApiRequest::new(
        "create_payment",
        Method::POST,
        Url::parse(&format!("http://{addr}/payments")).unwrap(),
    );
    let err = client(fast()).send(request).await.unwrap_err();
    assert!(matches!(err, Error::NotSent { .. }), "{err:?}");
    assert_eq!(err.delivery(), Delivery::NotSent);
    assert!(err.is_retryable());
}

#[tokio::test]
async fn user_agent_names_the_crate_and_version_and_auth_is_sent() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(header_regex(
            "user-agent",
            r"^payments-test/9\.9\.9 payments-core/\d+\.\d+\.\d+ my-shop/1\.0$",
        ))
        .and(header("authorization", "Bearer key_SECRET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let config = fast().user_agent_suffix("my-shop/1.0");
    let request = get(&server).auth(Auth::bearer(&SecretString::from("key_SECRET")).unwrap());
    client(config).send(request).await.unwrap();
}

#[tokio::test]
async fn undecodable_bodies_give_a_bounded_redacted_excerpt_and_no_secret() {
    let server = MockServer::start().await;
    let html = format!(
        "<html><body>{}\"access_token\":\"tok_LEAKED\"</body></html>",
        "x".repeat(5000)
    );
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(html))
        .mount(&server)
        .await;
    let request = get(&server).auth(Auth::bearer(&SecretString::from("key_SECRET")).unwrap());
    let response = client(fast()).send(request).await.unwrap();
    let err = response.json::<serde_json::Value>().unwrap_err();
    let Error::Decode {
        excerpt, status, ..
    } = &err
    else {
        panic!("expected Decode, got {err:?}");
    };
    assert_eq!(*status, 200);
    assert!(excerpt.starts_with("<html><body>xxx"));
    assert!(excerpt.len() < 300);
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("SECRET"));
    assert!(!shown.contains("LEAKED"));
}

#[tokio::test]
async fn redirects_are_not_followed_so_credentials_stay_with_the_provider() {
    let elsewhere = MockServer::start().await;
    answer(&elsewhere, "GET", ResponseTemplate::new(200), 0).await;
    let server = MockServer::start().await;
    let steal = format!("{}/steal", elsewhere.uri());
    let redirect = ResponseTemplate::new(302).insert_header("Location", steal);
    answer(&server, "GET", redirect, 1).await;
    let request = get(&server).auth(
        Auth::header(
            payments_core::http::header::HeaderName::from_static("apikey"),
            &SecretString::from("key_SECRET"),
        )
        .unwrap(),
    );
    let response = client(fast()).send(request).await.unwrap();
    assert_eq!(response.status(), 302);
    assert!(response.error_for_status(parse_nothing).is_err());
}

#[tokio::test]
async fn an_oversized_body_is_a_decode_error_not_an_allocation() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(vec![b'x'; 2 * 1024 * 1024]))
        .mount(&server)
        .await;
    let err = client(fast()).send(get(&server)).await.unwrap_err();
    assert!(matches!(err, Error::Decode { status: 200, .. }), "{err:?}");
}

#[tokio::test]
async fn decode_errors_do_not_quote_values_from_the_body() {
    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Wire {
        amount: i64,
    }
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_string(r#"{"amount":"hunter2"}"#))
        .mount(&server)
        .await;
    let response = client(fast()).send(get(&server)).await.unwrap();
    let err = response.json::<Wire>().unwrap_err();
    let Error::Decode { reason, .. } = &err else {
        panic!("expected Decode, got {err:?}");
    };
    // The excerpt shows the (non-sensitive) body; the serde message does not repeat values.
    assert!(!reason.contains("hunter2"), "{reason}");
    assert!(reason.contains("invalid type"), "{reason}");
}
