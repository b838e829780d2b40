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
use payments_payconiq::jwks::{JwksCallbackVerifier, JwksFetcher};
use payments_payconiq::testing::CallbackSigner;
use payments_payconiq::webhook::CallbackSettings;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROFILE: &str = "5b71369f5832fd22658e0ef4";
const URL: &str = "https://shop.example/payconiq/callback";
const BODY: &[u8] = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","amount":122,"currency":"EUR","status":"SUCCEEDED"}"#;

/// A signing key under `kid`.
fn key(kid: &str) -> CallbackSigner {
    CallbackSigner::generate(kid, PROFILE, URL).unwrap()
}

/// A Signature header for BODY made with `key` but naming `kid` (which may be forged).
fn sign_as(key: &CallbackSigner, kid: &str) -> String {
    let renamed = if kid == key.kid() {
        None
    } else {
        Some(CallbackSigner::generate(kid, PROFILE, URL).unwrap())
    };
    renamed
        .as_ref()
        .unwrap_or(key)
        .sign(BODY, "jti-1", time::OffsetDateTime::now_utc())
        .unwrap()
}

fn set(keys: &[&CallbackSigner]) -> Value {
    let keys: Vec<Value> = keys
        .iter()
        .map(|k| serde_json::from_str::<Value>(&k.jwks_json()).unwrap()["keys"][0].clone())
        .collect();
    json!({ "keys": keys })
}

fn fetcher(server: &MockServer) -> JwksFetcher {
    let http = HttpConfig::default()
        .retry(RetryPolicy::default().backoff(Duration::from_millis(1), Duration::from_millis(2)));
    JwksFetcher::new(&format!("{}/jwks", server.uri()), &http).unwrap()
}

async fn verify(
    verifier: &JwksCallbackVerifier,
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
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
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
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&old])))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&old, &new])))
        .expect(1)
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
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
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
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
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
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
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
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
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(
        CallbackSettings::new(PROFILE, URL),
        fetcher(&server).ttl(Duration::ZERO),
    );
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
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    let err = verify(&verifier, &sign_as(&key, "k")).await.unwrap_err();
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
async fn an_expired_cache_is_fetched_again() {
    let server = MockServer::start().await;
    let key = key("k");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .expect(2)
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(
        CallbackSettings::new(PROFILE, URL),
        fetcher(&server).ttl(Duration::ZERO),
    );
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
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    let mut body = BODY.to_vec();
    body[20] ^= 1;
    let signature = sign_as(&key, "k");
    let request = WebhookRequest::new("POST", URL, &body).header("Signature", &signature);
    assert_eq!(
        verifier.verify(&request).await.unwrap_err(),
        WebhookRejection::BadSignature
    );
}
