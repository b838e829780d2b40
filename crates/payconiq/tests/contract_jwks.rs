//! The JWKS-fetching callback verifier against a local key-set server: caching, exactly one refetch
//! when an unknown `kid` arrives, rate-limited refetches for forged key ids, and 503-worthy
//! rejections when the key set cannot be had.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use payments_core::PaymentStatus;
use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::webhook::{AsyncWebhookVerifier, WebhookRejection, WebhookRequest};
use payments_payconiq::jwks::{JwksFetcher, JwksWebhookVerifier};
use payments_payconiq::testing::WebhookSigner;
use payments_payconiq::webhook::WebhookSettings;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROFILE: &str = "5b71369f5832fd22658e0ef4";
const URL: &str = "https://shop.example/payconiq/callback";
const BODY: &[u8] = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","amount":122,"currency":"EUR","status":"SUCCEEDED"}"#;

/// A signing key under `kid`.
fn key(kid: &str) -> WebhookSigner {
    WebhookSigner::generate(kid, PROFILE, URL).unwrap()
}

/// A Signature header for BODY made with `key` but naming `kid` (which may be forged).
fn sign_as(key: &WebhookSigner, kid: &str) -> String {
    let renamed = if kid == key.kid() {
        None
    } else {
        Some(WebhookSigner::generate(kid, PROFILE, URL).unwrap())
    };
    renamed
        .as_ref()
        .unwrap_or(key)
        .sign(BODY, "jti-1", time::OffsetDateTime::now_utc())
        .unwrap()
}

fn set(keys: &[&WebhookSigner]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| serde_json::from_str::<Value>(&k.jwks_json()).unwrap()["keys"][0].clone())
        .collect();
    json!({ "keys": keys })
}

/// A verifier of this profile's callbacks to [`URL`], its keys fetched by `fetcher`.
fn verifier(fetcher: JwksFetcher) -> JwksWebhookVerifier {
    JwksWebhookVerifier::new(WebhookSettings::new(PROFILE, URL), fetcher)
}

/// The first `/jwks` request (expected exactly once) answers the set of `keys`; the later ones
/// go to the mocks mounted after this one.
async fn serve_keys_first(server: &MockServer, keys: &[&WebhookSigner]) {
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(keys)))
        .up_to_n_times(1)
        .expect(1)
        .mount(server)
        .await;
}

/// `/jwks` answering the set of `keys`, expected exactly `times` times.
async fn serve_keys(server: &MockServer, keys: &[&WebhookSigner], times: u64) {
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(keys)))
        .expect(times)
        .mount(server)
        .await;
}

fn fetcher(server: &MockServer) -> JwksFetcher {
    let http = HttpConfig::default()
        .retry(RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(2)));
    JwksFetcher::new(&format!("{}/jwks", server.uri()), &http).unwrap()
}

async fn verify(
    verifier: &JwksWebhookVerifier,
    signature: &str,
) -> Result<Option<PaymentStatus>, WebhookRejection> {
    let request = WebhookRequest::new("POST", URL, BODY).header("Signature", signature);
    verifier.verify(&request).await.map(|e| e.status)
}

#[tokio::test]
async fn the_key_set_is_fetched_once_and_cached() {
    let server = MockServer::start().await;
    let key = key("es.signature.payconiq.com");
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .expect(1)
        .mount(&server)
        .await;
    let verifier = verifier(fetcher(&server));
    for _ in 0..3 {
        assert_eq!(
            verify(&verifier, &sign_as(&key, "es.signature.payconiq.com")).await,
            Ok(Some(PaymentStatus::Succeeded))
        );
    }
}

#[tokio::test]
async fn an_unknown_kid_causes_exactly_one_refetch_then_verifies() {
    let server = MockServer::start().await;
    let old = key("old");
    let new = key("new");
    serve_keys_first(&server, &[&old]).await;
    serve_keys(&server, &[&old, &new], 1).await;
    let verifier = verifier(fetcher(&server));
    assert_eq!(
        verify(&verifier, &sign_as(&old, "old")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    // Payconiq rotated its key: one refetch brings it.
    assert_eq!(
        verify(&verifier, &sign_as(&new, "new")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    // Both keys are now cached: no more fetches.
    assert_eq!(
        verify(&verifier, &sign_as(&new, "new")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    assert_eq!(
        verify(&verifier, &sign_as(&old, "old")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
}

#[tokio::test]
async fn forged_key_ids_cannot_turn_the_endpoint_into_a_jwks_hammer() {
    let server = MockServer::start().await;
    let real = key("real");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&real])))
        // One initial fetch plus one refetch for the first unknown kid; none for the others.
        .expect(2)
        .mount(&server)
        .await;
    let verifier = verifier(fetcher(&server));
    for i in 0..20 {
        let kid = format!("forged-{i}");
        let result = verify(&verifier, &sign_as(&real, &kid)).await;
        assert_eq!(result, Err(WebhookRejection::UnknownKey(kid)));
    }
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_503_worthy_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(500))
        // The second callback comes within the failure backoff: no second fetch.
        .expect(1)
        .mount(&server)
        .await;
    let key = key("k");
    let verifier = verifier(fetcher(&server));
    for _ in 0..2 {
        let err = verify(&verifier, &sign_as(&key, "k")).await.unwrap_err();
        assert!(
            matches!(err, WebhookRejection::KeysUnavailable(_)),
            "{err:?}"
        );
        assert_eq!(
            err.http_status(),
            503,
            "answer 503 so that Payconiq retries"
        );
    }
}

#[tokio::test]
async fn malformed_requests_are_refused_without_fetching_keys() {
    let server = MockServer::start().await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&server)
        .await;
    let verifier = verifier(fetcher(&server));
    let no_signature = WebhookRequest::new("POST", URL, BODY);
    assert_eq!(
        verifier.verify(&no_signature).await.unwrap_err(),
        WebhookRejection::MissingHeader("Signature".into())
    );
    let junk = WebhookRequest::new("POST", URL, BODY).header("Signature", "not.a.jws");
    assert!(matches!(
        verifier.verify(&junk).await.unwrap_err(),
        WebhookRejection::MalformedHeader { .. }
    ));
}

#[tokio::test]
async fn a_stale_key_set_is_kept_when_a_refresh_fails() {
    let server = MockServer::start().await;
    let key = key("k");
    serve_keys_first(&server, &[&key]).await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let verifier = verifier(fetcher(&server).ttl(Duration::ZERO));
    for _ in 0..3 {
        assert_eq!(
            verify(&verifier, &sign_as(&key, "k")).await,
            Ok(Some(PaymentStatus::Succeeded))
        );
    }
}

#[tokio::test]
async fn a_garbage_key_set_is_a_503_worthy_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let key = key("k");
    let verifier = verifier(fetcher(&server));
    let err = verify(&verifier, &sign_as(&key, "k")).await.unwrap_err();
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
async fn an_expired_cache_is_fetched_again() {
    let server = MockServer::start().await;
    let key = key("k");
    serve_keys(&server, &[&key], 2).await;
    let verifier = verifier(fetcher(&server).ttl(Duration::ZERO));
    verify(&verifier, &sign_as(&key, "k")).await.unwrap();
    verify(&verifier, &sign_as(&key, "k")).await.unwrap();
}

#[tokio::test]
async fn a_tampered_body_is_rejected_even_with_fetched_keys() {
    let server = MockServer::start().await;
    let key = key("k");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .mount(&server)
        .await;
    let verifier = verifier(fetcher(&server));
    let mut body = BODY.to_vec();
    body[20] ^= 1;
    let signature = sign_as(&key, "k");
    let request = WebhookRequest::new("POST", URL, &body).header("Signature", &signature);
    assert_eq!(
        verifier.verify(&request).await.unwrap_err(),
        WebhookRejection::BadSignature
    );
}

// ---------------------------------------------------------------------------------------------
// A key-endpoint outage once the cached set has expired
// ---------------------------------------------------------------------------------------------

/// A fetcher whose every fetch is exactly one request (no retry), so that counting the requests
/// the key-set server received counts fetches.
fn one_attempt_fetcher(server: &MockServer) -> JwksFetcher {
    let http = HttpConfig::default()
        .request_timeout(Duration::from_secs(10))
        .retry(RetryPolicy::default().max_attempts(1));
    JwksFetcher::new(&format!("{}/jwks", server.uri()), &http).unwrap()
}

/// The first request gets the key set, every later one fails with 500 after `delay`.
async fn key_set_then_outage(server: &MockServer, key: &WebhookSigner, delay: Duration) {
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[key])))
        .up_to_n_times(1)
        .mount(server)
        .await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(500).set_delay(delay))
        .mount(server)
        .await;
}

async fn key_set_requests(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/jwks")
        .count()
}

/// Verifies `signature` on a task of its own; returns the result and how long it took.
fn spawn_verify(
    verifier: &JwksWebhookVerifier,
    signature: String,
) -> tokio::task::JoinHandle<(Result<Option<PaymentStatus>, WebhookRejection>, Duration)> {
    let verifier = verifier.clone();
    tokio::spawn(async move {
        let started = std::time::Instant::now();
        let result = verify(&verifier, &signature).await;
        (result, started.elapsed())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_callbacks_during_an_outage_cause_at_most_one_key_set_request() {
    let server = MockServer::start().await;
    let real = key("real");
    key_set_then_outage(&server, &real, Duration::ZERO).await;
    // The cached set expires at once: every callback finds it stale.
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(PROFILE, URL),
        one_attempt_fetcher(&server).ttl(Duration::ZERO),
    );
    assert_eq!(
        verify(&verifier, &sign_as(&real, "real")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    assert_eq!(key_set_requests(&server).await, 1);

    // The key endpoint is down. Fifty forged but well-formed callbacks arrive together: half name
    // the real key id (signed with another key), half name key ids nobody knows; three genuine
    // callbacks arrive among them.
    let forger = key("real");
    let mut forged = Vec::new();
    let mut genuine = Vec::new();
    for i in 0..50 {
        let signature = if i % 2 == 0 {
            sign_as(&forger, "real")
        } else {
            sign_as(&real, &format!("forged-{i}"))
        };
        forged.push(spawn_verify(&verifier, signature));
        if [5, 25, 45].contains(&i) {
            genuine.push(spawn_verify(&verifier, sign_as(&real, "real")));
        }
    }
    for task in forged {
        let (result, _) = task.await.unwrap();
        assert!(result.is_err(), "a forged callback verified: {result:?}");
    }
    assert_eq!(genuine.len(), 3);
    for task in genuine {
        let (result, took) = task.await.unwrap();
        assert_eq!(result, Ok(Some(PaymentStatus::Succeeded)));
        assert!(
            took < Duration::from_secs(1),
            "a genuine callback took {took:?}"
        );
    }
    assert!(
        key_set_requests(&server).await <= 2,
        "50 forged callbacks during an outage caused {} key-set requests after the first",
        key_set_requests(&server).await - 1
    );
    // Genuine callbacks still verify with the stale set.
    assert_eq!(
        verify(&verifier, &sign_as(&real, "real")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    assert!(key_set_requests(&server).await <= 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn genuine_callbacks_during_a_slow_outage_do_not_wait_for_each_others_refresh() {
    // The key endpoint answers 500 after 1.5 s. With the lock held across the fetch, three
    // callbacks arriving together finished after 1.5, 3 and 4.5 s (each refetching in turn).
    // Now one of them refreshes (and waits for the endpoint), the two others verify at once
    // with the stale set, and nobody fetches again during the failure backoff.
    const DELAY: Duration = Duration::from_millis(1500);
    let server = MockServer::start().await;
    let real = key("real");
    key_set_then_outage(&server, &real, DELAY).await;
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(PROFILE, URL),
        one_attempt_fetcher(&server).ttl(Duration::ZERO),
    );
    verify(&verifier, &sign_as(&real, "real")).await.unwrap();

    let tasks: Vec<_> = (0..3)
        .map(|_| spawn_verify(&verifier, sign_as(&real, "real")))
        .collect();
    let mut took = Vec::new();
    for task in tasks {
        let (result, elapsed) = task.await.unwrap();
        assert_eq!(result, Ok(Some(PaymentStatus::Succeeded)));
        took.push(elapsed);
    }
    took.sort();
    assert!(
        took[1] < Duration::from_secs(1),
        "two of three callbacks waited for another one's refresh: {took:?}"
    );
    assert!(
        took[2] < DELAY + Duration::from_secs(1),
        "the slowest waited for more than one fetch: {took:?}"
    );
    assert_eq!(key_set_requests(&server).await, 2, "one refresh, no more");
}

#[tokio::test]
async fn an_unknown_kid_while_the_set_cannot_be_refreshed_is_a_503_worthy_rejection() {
    let server = MockServer::start().await;
    let old = key("old");
    let rotated = key("rotated");
    key_set_then_outage(&server, &old, Duration::ZERO).await;
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(PROFILE, URL),
        one_attempt_fetcher(&server),
    );
    verify(&verifier, &sign_as(&old, "old")).await.unwrap();
    // Payconiq rotated its key while its key endpoint is down: the refetch fails. Answering 401
    // would lose the callback (Payconiq does not retry a 401); 503 has it retried.
    for expected_requests in [2, 2] {
        let err = verify(&verifier, &sign_as(&rotated, "rotated"))
            .await
            .unwrap_err();
        assert!(
            matches!(err, WebhookRejection::KeysUnavailable(_)),
            "{err:?}"
        );
        assert_eq!(err.http_status(), 503);
        // The second one comes within the failure backoff: no fetch.
        assert_eq!(key_set_requests(&server).await, expected_requests);
    }
    // The cached key still verifies.
    assert_eq!(
        verify(&verifier, &sign_as(&old, "old")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_callbacks_arriving_together_share_one_fetch() {
    let server = MockServer::start().await;
    let real = key("real");
    Mock::given(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(set(&[&real]))
                .set_delay(Duration::from_millis(300)),
        )
        .mount(&server)
        .await;
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(PROFILE, URL),
        one_attempt_fetcher(&server),
    );
    let tasks: Vec<_> = (0..10)
        .map(|_| spawn_verify(&verifier, sign_as(&real, "real")))
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().0, Ok(Some(PaymentStatus::Succeeded)));
    }
    assert_eq!(key_set_requests(&server).await, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn callers_behind_a_failed_first_fetch_fail_fast_and_the_fetch_is_retried_after_the_backoff()
{
    let server = MockServer::start().await;
    let real = key("real");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(500).set_delay(Duration::from_millis(300)))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&real])))
        .mount(&server)
        .await;
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(PROFILE, URL),
        one_attempt_fetcher(&server).failure_backoff(Duration::from_millis(400)),
    );
    let tasks: Vec<_> = (0..5)
        .map(|_| spawn_verify(&verifier, sign_as(&real, "real")))
        .collect();
    for task in tasks {
        let err = task.await.unwrap().0.unwrap_err();
        assert!(
            matches!(err, WebhookRejection::KeysUnavailable(_)),
            "{err:?}"
        );
    }
    assert_eq!(key_set_requests(&server).await, 1, "one fetch for all five");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        verify(&verifier, &sign_as(&real, "real")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    assert_eq!(key_set_requests(&server).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_cancelled_mid_fetch_does_not_block_the_next_ones() {
    let server = MockServer::start().await;
    let real = key("real");
    Mock::given(path("/jwks"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(set(&[&real]))
                .set_delay(Duration::from_secs(2)),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&real])))
        .mount(&server)
        .await;
    let verifier = JwksWebhookVerifier::new(
        WebhookSettings::new(PROFILE, URL),
        one_attempt_fetcher(&server),
    );
    // The merchant's framework gives up on the first callback while its fetch is in flight.
    let signature = sign_as(&real, "real");
    assert!(
        tokio::time::timeout(Duration::from_millis(200), verify(&verifier, &signature))
            .await
            .is_err()
    );
    let next = tokio::time::timeout(Duration::from_secs(1), verify(&verifier, &signature)).await;
    assert_eq!(next.ok(), Some(Ok(Some(PaymentStatus::Succeeded))));
}
