//! Payconiq: the `Signature` header (detached JWS, ES256), JWK sets, callbacks, API answers.

use std::sync::OnceLock;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use payments_core::webhook::{WebhookRequest, WebhookVerifier};
use payments_payconiq::webhook::{
    JwkSet, PayconiqEvent, PayconiqWebhookVerifier, WebhookSettings, signing_key_id,
};
use payments_payconiq::wire::{PayconiqPayment, RefundIban, SearchPage};
use time::format_description::well_known::Rfc3339;

use crate::support::{clock, now, round_trip, select};

const KID: &str = "fuzz-key";
const PROFILE: &str = "5fxxxxxxxxxxxxxxxxxxxxxx";
const URL: &str = "https://shop.example/payconiq/callback";
/// A callback body as Payconiq's API reference shows it.
const BODY: &[u8] = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","transferAmount":122,"tippingAmount":0,"amount":122,"totalAmount":122,"description":"Sample description","createdAt":"2018-09-20T10:53:49.875Z","expireAt":"2018-09-20T10:55:49.875Z","status":"SUCCEEDED","debtor":{"name":"John","iban":"*************12636"},"currency":"EUR","reference":"12346816AFV"}"#;

/// The test key and the verifier that trusts it (and nothing else).
struct Fixture {
    key: EcdsaKeyPair,
    verifier: PayconiqWebhookVerifier,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).ok()?;
            let point = key.public_key().as_ref().get(1..)?;
            let (x, y) = point.split_at(point.len() / 2);
            let jwks = serde_json::json!({"keys": [{
                "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": KID,
                "x": B64URL.encode(x), "y": B64URL.encode(y)
            }]});
            let keys = JwkSet::from_json(jwks.to_string().as_bytes()).ok()?;
            let settings = WebhookSettings::new(PROFILE, URL).clock(clock());
            Some(Fixture {
                key,
                verifier: PayconiqWebhookVerifier::new(settings, keys),
            })
        })
        .as_ref()
}

/// Payconiq's callback verification and parsing. The first byte selects (modulo 6):
///
/// - `0`: the whole `Signature` header value, on a callback with a fixed body: the checks before
///   the key ([`signing_key_id`](payments_payconiq::webhook::signing_key_id)) and the verifier,
///   which must refuse it (nobody but this process holds its key).
/// - `1`: the JOSE header (the JSON before base64url), signed with the verifier's test key over
///   a fixed body: the header checks (`alg`, `typ`, `crit`, the `https://payconiq.com/*`
///   parameters, `kid`, `x5t#S256`, `iat`) past a valid signature. An accepted callback carries
///   the configured key id, subject and path.
/// - `2`: a JWK set document ([`JwkSet::from_json`](payments_payconiq::webhook::JwkSet::from_json)):
///   a set that loads names each of its keys.
/// - `3`: a certificate: the bytes as the DER of `x5c[0]` of an EC P-256 JWK (the SubjectPublicKeyInfo
///   search in the certificate).
/// - `4`: the callback body, correctly signed: the verifier accepts it exactly when it is UTF-8
///   and a [`PayconiqEvent`](payments_payconiq::webhook::PayconiqEvent), and reports its payment
///   id.
/// - `5`: API answers: a payment, a search page, a refund IBAN (each written back and read
///   again to the same value), the neutral payment, and the error body.
pub fn payconiq(data: &[u8]) {
    let Some((selector, input)) = select(data, 6) else {
        return;
    };
    match selector {
        0 => signature_header(input),
        1 => jose_header(input),
        2 => jwks(input),
        3 => certificate(input),
        4 => callback_body(input),
        _ => api_answers(input),
    }
}

fn signature_header(input: &[u8]) {
    let Some(fixture) = fixture() else { return };
    let request = WebhookRequest::new("POST", URL, BODY).header_bytes("Signature", input);
    let _ = signing_key_id(&request);
    assert!(
        fixture.verifier.verify(&request).is_err(),
        "a forged Signature verified"
    );
}

/// `B64URL(header) ".." B64URL(ES256 signature)` over `body`, with the fixture's key.
fn sign(fixture: &Fixture, header_json: &[u8], body: &[u8]) -> Option<String> {
    let header = B64URL.encode(header_json);
    let input = format!("{header}.{}", B64URL.encode(body));
    let signature = fixture
        .key
        .sign(&SystemRandom::new(), input.as_bytes())
        .ok()?;
    Some(format!("{header}..{}", B64URL.encode(signature.as_ref())))
}

fn jose_header(input: &[u8]) {
    let Some(fixture) = fixture() else { return };
    let Some(signature) = sign(fixture, input, BODY) else {
        return;
    };
    let request = WebhookRequest::new("POST", URL, BODY).header("Signature", &signature);
    let _ = signing_key_id(&request);
    if let Ok((event, claims)) = fixture.verifier.verify_detailed(&request) {
        assert_eq!(claims.kid, KID);
        assert_eq!(claims.sub, PROFILE);
        assert_eq!(claims.path, URL);
        assert_eq!(event.event_id, claims.jti);
    }
}

fn jwks(input: &[u8]) {
    if let Ok(keys) = JwkSet::from_json(input) {
        let kids: Vec<&str> = keys.kids().collect();
        assert!(!kids.is_empty(), "a JWK set without a usable key loaded");
        assert!(kids.iter().all(|kid| keys.contains(kid)));
    }
}

fn certificate(input: &[u8]) {
    let jwks = serde_json::json!({"keys": [{
        "kty": "EC", "crv": "P-256", "use": "sig", "kid": KID, "x5c": [B64.encode(input)]
    }]});
    let _ = JwkSet::from_json(jwks.to_string().as_bytes());
}

fn callback_body(input: &[u8]) {
    let Some(fixture) = fixture() else { return };
    let Ok(iat) = now().format(&Rfc3339) else {
        return;
    };
    let header = serde_json::json!({
        "typ": "JOSE+JSON", "kid": KID, "alg": "ES256",
        "crit": [
            "https://payconiq.com/sub", "https://payconiq.com/iss", "https://payconiq.com/iat",
            "https://payconiq.com/jti", "https://payconiq.com/path"
        ],
        "https://payconiq.com/sub": PROFILE,
        "https://payconiq.com/iss": "Payconiq",
        "https://payconiq.com/iat": iat,
        "https://payconiq.com/jti": "fuzz-jti",
        "https://payconiq.com/path": URL,
    });
    let Some(signature) = sign(fixture, header.to_string().as_bytes(), input) else {
        return;
    };
    let request = WebhookRequest::new("POST", URL, input).header("Signature", &signature);
    let verified = fixture.verifier.verify(&request);
    // JSON is UTF-8 (RFC 8259): a body that is not is refused even where serde_json's byte
    // parser would skip the bad bytes (inside a field it ignores).
    let parsed = std::str::from_utf8(input)
        .ok()
        .and_then(|text| serde_json::from_str::<PayconiqEvent>(text).ok());
    assert_eq!(
        verified.is_ok(),
        parsed.is_some(),
        "an authentic callback is accepted exactly when it parses: {:?}",
        verified.as_ref().err()
    );
    if let Ok(event) = verified {
        assert_eq!(event.raw_body, input);
        assert_eq!(
            event.payment_id.as_deref(),
            Some(event.data.payment_id.as_str())
        );
    }
}

fn api_answers(input: &[u8]) {
    if let Ok(payment) = serde_json::from_slice::<PayconiqPayment>(input) {
        round_trip(&payment);
        let raw = serde_json::from_slice(input).unwrap_or_default();
        let _ = payments_payconiq::convert::to_payment(&payment, raw);
    }
    if let Ok(page) = serde_json::from_slice::<SearchPage>(input) {
        round_trip(&page);
    }
    if let Ok(refund) = serde_json::from_slice::<RefundIban>(input) {
        round_trip(&refund);
    }
    let _ = payments_payconiq::convert::provider_error(input);
}
