//! Contract tests of the access-token cache against a local wiremock token endpoint: single-flight,
//! sharing across clones, refresh margin, and exactly one retry after a 401.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use payments_core::Error;
use payments_core::http::{ApiRequest, Auth, HttpClient, HttpConfig, Method, RetryPolicy, Url};
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::token::{OAuth2TokenSource, TokenCache, TokenRequestFormat};
use serde_json::json;
use wiremock::matchers::{body_string, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn http() -> HttpClient {
    let config = HttpConfig::default()
        .retry(RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(5)));
    HttpClient::new("test", "payments-test", "0.0.0", &config).unwrap()
}

fn source(server: &MockServer) -> OAuth2TokenSource {
    OAuth2TokenSource::new(
        http(),
        Url::parse(&format!("{}/oauth/token", server.uri())).unwrap(),
        TokenRequestFormat::Form,
    )
    .basic_auth("app-id", SecretString::from("app-SECRET"))
    .param("grant_type", "client_credentials")
    .param("scope", "PIS")
}

fn token_body(token: &str, expires_in: u64) -> serde_json::Value {
    json!({"token_type": "Bearer", "access_token": token, "expires_in": expires_in})
}

fn api_call(server: &MockServer, cache: &TokenCache) -> ApiRequest {
    ApiRequest::new(
        "get_payment",
        Method::GET,
        Url::parse(&format!("{}/payments/1", server.uri())).unwrap(),
    )
    .auth(Auth::Token(cache.clone()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_concurrent_calls_without_a_token_cause_one_token_request() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("tok-1", 3600))
                // Slow enough that every caller arrives while the first fetch is in flight.
                .set_delay(Duration::from_millis(300)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    let mut tasks = Vec::new();
    for _ in 0..1000 {
        let cache = cache.clone();
        tasks.push(tokio::spawn(async move { cache.get().await }));
    }
    for task in tasks {
        let lease = task.await.unwrap().unwrap();
        assert_eq!(lease.secret().expose_secret(), "tok-1");
    }
    // wiremock's Drop verifies the expectations inside a nested `block_on`. The 1000 awaits above
    // can leave this task's tokio cooperative budget spent, and a spent budget makes every tokio
    // lock poll in that nested `block_on` return Pending forever (seen once in CI as a test
    // spinning at 100% CPU). Verify here, in the runtime, after a yield that resets the budget.
    tokio::task::yield_now().await;
    server.verify().await;
}

#[tokio::test]
async fn the_token_request_is_the_documented_form_with_basic_auth() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        // base64("app-id:app-SECRET")
        .and(header("authorization", "Basic YXBwLWlkOmFwcC1TRUNSRVQ="))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .and(header("accept", "application/json"))
        .and(body_string("grant_type=client_credentials&scope=PIS"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    assert_eq!(cache.get().await.unwrap().secret().expose_secret(), "tok-1");
}

#[tokio::test]
async fn clones_share_one_cache_and_api_calls_carry_the_token() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("tok-1", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/payments/1"))
        .and(header("authorization", "Bearer tok-1"))
        .respond_with(ResponseTemplate::new(200))
        .expect(4)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    let client = http();
    let other = client.clone();
    for c in [&client, &other, &client, &other] {
        let r = c.send(api_call(&server, &cache.clone())).await.unwrap();
        assert_eq!(r.status(), 200);
    }
}

#[tokio::test]
async fn a_token_inside_the_margin_is_refreshed_and_one_outside_is_reused() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("short", 2)))
        .expect(2)
        .mount(&server)
        .await;
    // Expires in 2 s with a 60 s margin: the margin is capped at half the lifetime, so the token
    // is used for 1 s and then refreshed.
    let cache = TokenCache::with_margin(source(&server), Duration::from_secs(60));
    cache.get().await.unwrap();
    cache.get().await.unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    cache.get().await.unwrap();
    drop(server);

    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("long", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    let cache = TokenCache::with_margin(source(&server), Duration::from_secs(60));
    cache.get().await.unwrap();
    cache.get().await.unwrap();
}

#[tokio::test]
async fn a_401_invalidates_the_token_and_retries_exactly_once() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("revoked", 3600)))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("fresh", 3600)))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/payments/1"))
        .and(header("authorization", "Bearer revoked"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/payments/1"))
        .and(header("authorization", "Bearer fresh"))
        .respond_with(ResponseTemplate::new(200))
        .expect(1)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    let response = http().send(api_call(&server, &cache)).await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_second_401_is_returned_not_retried_again() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(token_body("t", 3600)))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(path("/payments/1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(2)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    let response = http().send(api_call(&server, &cache)).await.unwrap();
    let err = response
        .error_for_status(|_| payments_core::ProviderError::default())
        .unwrap_err();
    assert_eq!(err.http_status(), Some(401));
}

#[tokio::test]
async fn a_refused_token_request_is_a_provider_error_without_secrets() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "Client authentication failed"
        })))
        .expect(1)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    let err = cache.get().await.unwrap_err();
    assert!(matches!(err, Error::Provider { .. }), "{err:?}");
    assert_eq!(err.provider_code(), Some("invalid_client"));
    let shown = format!("{err} {err:?} {cache:?}");
    assert!(!shown.contains("SECRET"), "{shown}");
}

#[tokio::test]
async fn waiters_behind_a_failed_fetch_do_not_each_retry_it() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(ResponseTemplate::new(400).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&server)
        .await;
    let cache = TokenCache::new(source(&server));
    let calls: Vec<_> = (0..50)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await })
        })
        .collect();
    for call in calls {
        assert!(call.await.unwrap().is_err());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn short_lived_tokens_are_shared_by_concurrent_callers() {
    let server = MockServer::start().await;
    Mock::given(path("/oauth/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(token_body("short", 30))
                .set_delay(Duration::from_millis(200)),
        )
        .expect(1)
        .mount(&server)
        .await;
    // A 30 s token with a 60 s margin: every waiter gets the one fetched token.
    let cache = TokenCache::with_margin(source(&server), Duration::from_secs(60));
    let calls: Vec<_> = (0..20)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get().await })
        })
        .collect();
    for call in calls {
        assert_eq!(
            call.await.unwrap().unwrap().secret().expose_secret(),
            "short"
        );
    }
}
