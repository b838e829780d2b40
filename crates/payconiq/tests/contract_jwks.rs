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

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use payments_core::PaymentStatus;
use payments_core::http::{HttpConfig, RetryPolicy};
use payments_core::webhook::{AsyncWebhookVerifier, WebhookRejection, WebhookRequest};
use payments_payconiq::jwks::{JwksCallbackVerifier, JwksFetcher};
use payments_payconiq::webhook::CallbackSettings;
use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PROFILE: &str = "5b71369f5832fd22658e0ef4";
const URL: &str = "https://shop.example/payconiq/callback";
const BODY: &[u8] = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","amount":122,"currency":"EUR","status":"SUCCEEDED"}"#;

struct Key {
    kid: &'static str,
    pair: EcdsaKeyPair,
}

impl Key {
    fn new(kid: &'static str) -> Self {
        Key {
            kid,
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        json!({"kty": "EC", "crv": "P-256", "use": "sig", "kid": self.kid,
               "x": B64URL.encode(&point[1..33]), "y": B64URL.encode(&point[33..])})
    }

    /// A Signature header for BODY, naming `kid`.
    fn sign(&self, kid: &str) -> String {
        let iat = time::OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap();
        let header = json!({
            "typ": "JOSE+JSON", "kid": kid, "alg": "ES256",
            "crit": ["https://payconiq.com/sub", "https://payconiq.com/iss", "https://payconiq.com/iat",
                     "https://payconiq.com/jti", "https://payconiq.com/path"],
            "https://payconiq.com/sub": PROFILE, "https://payconiq.com/iss": "Payconiq",
            "https://payconiq.com/iat": iat, "https://payconiq.com/jti": "jti-1",
            "https://payconiq.com/path": URL,
        });
        let header = B64URL.encode(serde_json::to_vec(&header).unwrap());
        let input = format!("{header}.{}", B64URL.encode(BODY));
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .unwrap();
        format!("{header}..{}", B64URL.encode(sig.as_ref()))
    }
}

fn set(keys: &[&Key]) -> Value {
    json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()})
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
    let key = Key::new("es.signature.payconiq.com");
    Mock::given(method("GET"))
        .and(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .expect(1)
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    for _ in 0..3 {
        assert_eq!(
            verify(&verifier, &key.sign(key.kid)).await,
            Ok(Some(PaymentStatus::Succeeded))
        );
    }
}

#[tokio::test]
async fn an_unknown_kid_causes_exactly_one_refetch_then_verifies() {
    let server = MockServer::start().await;
    let old = Key::new("old");
    let new = Key::new("new");
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
        verify(&verifier, &old.sign("old")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    // Payconiq rotated its key: one refetch brings it.
    assert_eq!(
        verify(&verifier, &new.sign("new")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    // Both keys are now cached: no more fetches.
    assert_eq!(
        verify(&verifier, &new.sign("new")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
    assert_eq!(
        verify(&verifier, &old.sign("old")).await,
        Ok(Some(PaymentStatus::Succeeded))
    );
}

#[tokio::test]
async fn forged_key_ids_cannot_turn_the_endpoint_into_a_jwks_hammer() {
    let server = MockServer::start().await;
    let key = Key::new("real");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        // One initial fetch plus one refetch for the first unknown kid; none for the others.
        .expect(2)
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    for i in 0..20 {
        let kid = format!("forged-{i}");
        let result = verify(&verifier, &key.sign(&kid)).await;
        assert_eq!(result, Err(WebhookRejection::UnknownKey(kid)));
    }
}

#[tokio::test]
async fn an_unreachable_key_set_is_a_503_worthy_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;
    let key = Key::new("k");
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    let err = verify(&verifier, &key.sign("k")).await.unwrap_err();
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

#[tokio::test]
async fn a_garbage_key_set_is_a_503_worthy_rejection() {
    let server = MockServer::start().await;
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>maintenance</html>"))
        .mount(&server)
        .await;
    let key = Key::new("k");
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    let err = verify(&verifier, &key.sign("k")).await.unwrap_err();
    assert_eq!(err.http_status(), 503);
}

#[tokio::test]
async fn an_expired_cache_is_fetched_again() {
    let server = MockServer::start().await;
    let key = Key::new("k");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .expect(2)
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(
        CallbackSettings::new(PROFILE, URL),
        fetcher(&server).ttl(Duration::ZERO),
    );
    verify(&verifier, &key.sign("k")).await.unwrap();
    verify(&verifier, &key.sign("k")).await.unwrap();
}

#[tokio::test]
async fn a_tampered_body_is_rejected_even_with_fetched_keys() {
    let server = MockServer::start().await;
    let key = Key::new("k");
    Mock::given(path("/jwks"))
        .respond_with(ResponseTemplate::new(200).set_body_json(set(&[&key])))
        .mount(&server)
        .await;
    let verifier = JwksCallbackVerifier::new(CallbackSettings::new(PROFILE, URL), fetcher(&server));
    let mut body = BODY.to_vec();
    body[20] ^= 1;
    let signature = key.sign("k");
    let request = WebhookRequest::new("POST", URL, &body).header("Signature", &signature);
    assert_eq!(
        verifier.verify(&request).await.unwrap_err(),
        WebhookRejection::BadSignature
    );
}
