//! Payconiq callback verification: detached JWS (ES256) over the raw body, with keys generated
//! here, a fixed clock, and one test per rejection reason.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use payments_core::PaymentStatus;
use payments_core::webhook::{
    Authenticity, FixedClock, WebhookRejection, WebhookRequest, WebhookVerifier,
};
use payments_payconiq::PROVIDER;
use payments_payconiq::webhook::{JwkSet, PayconiqWebhookVerifier, WebhookSettings};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use time::macros::{datetime, format_description};
use time::{OffsetDateTime, UtcOffset};

const PROFILE: &str = "5fd2a1f7e7a6b8e3b35c1a2b";
const URL: &str = "https://shop.example/payconiq/callback";
const KID: &str = "es.signature.test.payconiq.com";
const NOW: OffsetDateTime = datetime!(2024-05-01 10:00:00.5 UTC);

/// The `merchant-callback` example of the Payconiq swagger, as Payconiq would send it.
const BODY: &[u8] = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","transferAmount":122,"tippingAmount":0,"amount":122,"totalAmount":122,"description":"Sample description","createdAt":"2018-09-20T10:53:49.875Z","expireAt":"2018-09-20T10:55:49.875Z","status":"SUCCEEDED","debtor":{"name":"John","iban":"*************12636"},"currency":"EUR","reference":"12346816AFV"}"#;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A P-256 key pair usable for both signature encodings.
struct Signer {
    fixed: EcdsaKeyPair,
    asn1: EcdsaKeyPair,
}

impl Signer {
    fn generate() -> Signer {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Signer {
            fixed: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
                .unwrap(),
            asn1: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref())
                .unwrap(),
        }
    }

    /// `04 || x || y`.
    fn point(&self) -> &[u8] {
        self.fixed.public_key().as_ref()
    }

    fn jwk(&self, kid: &str) -> Value {
        let point = self.point();
        assert_eq!(point.len(), 65);
        assert_eq!(point[0], 0x04);
        json!({
            "kty": "EC",
            "crv": "P-256",
            "kid": kid,
            "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..]),
        })
    }

    fn sign_fixed(&self, message: &[u8]) -> Vec<u8> {
        let sig = self
            .fixed
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec();
        assert_eq!(sig.len(), 64);
        sig
    }

    fn sign_der(&self, message: &[u8]) -> Vec<u8> {
        let sig = self
            .asn1
            .sign(&SystemRandom::new(), message)
            .unwrap()
            .as_ref()
            .to_vec();
        assert_eq!(sig[0], 0x30);
        sig
    }
}

fn key_set(jwks: &[Value]) -> JwkSet {
    JwkSet::from_json(json!({ "keys": jwks }).to_string().as_bytes()).unwrap()
}

/// ISO-8601 UTC with milliseconds, as Payconiq writes `iat`.
fn iso_ms(t: OffsetDateTime) -> String {
    t.to_offset(UtcOffset::UTC)
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
        ))
        .unwrap()
}

/// A header as Payconiq sends it, signed `age` before [`NOW`].
fn header_at(iat: OffsetDateTime) -> Value {
    json!({
        "typ": "JOSE+JSON",
        "kid": KID,
        "alg": "ES256",
        "crit": [
            "https://payconiq.com/sub",
            "https://payconiq.com/iss",
            "https://payconiq.com/iat",
            "https://payconiq.com/jti",
            "https://payconiq.com/path"
        ],
        "https://payconiq.com/sub": PROFILE,
        "https://payconiq.com/iss": "Payconiq",
        "https://payconiq.com/iat": iso_ms(iat),
        "https://payconiq.com/jti": "jti-7f3c2a",
        "https://payconiq.com/path": URL,
    })
}

fn header() -> Value {
    header_at(NOW - Duration::from_secs(2))
}

fn signing_input(header_b64: &str, body: &[u8]) -> Vec<u8> {
    format!("{header_b64}.{}", URL_SAFE_NO_PAD.encode(body)).into_bytes()
}

fn encode_header(header: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap())
}

/// The `Signature` header value: `B64URL(header)..B64URL(raw r||s)`.
fn sign(signer: &Signer, header: &Value, body: &[u8]) -> String {
    let h = encode_header(header);
    let sig = signer.sign_fixed(&signing_input(&h, body));
    format!("{h}..{}", URL_SAFE_NO_PAD.encode(sig))
}

struct Fixture {
    signer: Signer,
    verifier: PayconiqWebhookVerifier,
}

fn settings() -> WebhookSettings {
    WebhookSettings::new(PROFILE, URL).clock(Arc::new(FixedClock::new(NOW)))
}

fn fixture() -> Fixture {
    fixture_with(settings())
}

fn fixture_with(settings: WebhookSettings) -> Fixture {
    let signer = Signer::generate();
    let keys = key_set(&[signer.jwk(KID)]);
    Fixture {
        verifier: PayconiqWebhookVerifier::new(settings, keys),
        signer,
    }
}

fn post<'a>(signature: &'a str, body: &'a [u8]) -> WebhookRequest<'a> {
    WebhookRequest::new("POST", URL, body)
        .header("Content-Type", "application/json")
        .header("User-Agent", "Payconiq Payments/v3")
        .header("Signature", signature)
}

impl Fixture {
    fn check(&self, signature: &str, body: &[u8]) -> Result<(), WebhookRejection> {
        self.verifier.verify(&post(signature, body)).map(|_| ())
    }

    fn check_header(&self, header: &Value) -> Result<(), WebhookRejection> {
        let signature = sign(&self.signer, header, BODY);
        self.check(&signature, BODY)
    }
}

fn malformed(result: Result<(), WebhookRejection>) -> bool {
    matches!(
        result,
        Err(WebhookRejection::MalformedHeader { ref header, .. }) if header == "Signature"
    )
}

// ---------------------------------------------------------------------------------------------
// Accepted callbacks
// ---------------------------------------------------------------------------------------------

#[test]
fn a_signed_callback_verifies_and_is_parsed() {
    let f = fixture();
    let signature = sign(&f.signer, &header(), BODY);
    let request = post(&signature, BODY);
    let (event, claims) = f.verifier.verify_detailed(&request).unwrap();

    assert_eq!(event.provider, PROVIDER);
    assert_eq!(event.event_id, "jti-7f3c2a");
    assert_eq!(event.dedup_key(), "payconiq:jti-7f3c2a");
    assert_eq!(event.event_type, None);
    assert_eq!(event.authenticity, Authenticity::Signed);
    assert_eq!(
        event.payment_id.as_deref(),
        Some("5ba37c3d0989e3000758b9d8")
    );
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.raw_status.as_deref(), Some("SUCCEEDED"));
    let iat = datetime!(2024-05-01 09:59:58.5 UTC);
    assert_eq!(event.occurred_at, Some(iat));
    assert_eq!(event.raw_body, BODY);

    let data = &event.data;
    assert_eq!(data.payment_id, "5ba37c3d0989e3000758b9d8");
    assert_eq!(data.amount, Some(122));
    assert_eq!(data.transfer_amount, Some(122));
    assert_eq!(data.tipping_amount, Some(0));
    assert_eq!(data.total_amount, Some(122));
    assert_eq!(data.currency.as_deref(), Some("EUR"));
    assert_eq!(data.reference.as_deref(), Some("12346816AFV"));
    assert_eq!(data.description.as_deref(), Some("Sample description"));
    assert_eq!(
        data.created_at,
        Some(time::macros::datetime!(2018-09-20 10:53:49.875 UTC))
    );
    assert_eq!(
        data.expire_at,
        Some(time::macros::datetime!(2018-09-20 10:55:49.875 UTC))
    );
    assert_eq!(data.succeeded_at, None);
    let debtor = data.debtor.as_ref().unwrap();
    assert_eq!(debtor.name.as_deref(), Some("John"));
    assert_eq!(debtor.iban.as_deref(), Some("*************12636"));

    assert_eq!(claims.kid, KID);
    assert_eq!(claims.jti, "jti-7f3c2a");
    assert_eq!(claims.iat, iat);
    assert_eq!(claims.sub, PROFILE);
    assert_eq!(claims.path, URL);

    // The plain verify (trait and settings) agree.
    let via_trait = WebhookVerifier::verify(&f.verifier, &request).unwrap();
    assert_eq!(via_trait.event_id, "jti-7f3c2a");
    let via_settings = f
        .verifier
        .settings()
        .verify(f.verifier.keys(), &request)
        .unwrap();
    assert_eq!(via_settings.payment_id, event.payment_id);
}

#[test]
fn typ_is_compared_case_insensitively_and_is_optional() {
    let f = fixture();
    for typ in ["jose+json", "JOSE+JSON", "Jose+Json"] {
        let mut h = header();
        h["typ"] = json!(typ);
        assert_eq!(f.check_header(&h), Ok(()), "typ {typ}");
    }
    let mut h = header();
    h.as_object_mut().unwrap().remove("typ");
    assert_eq!(f.check_header(&h), Ok(()));

    let mut h = header();
    h["typ"] = json!("JWT");
    assert!(malformed(f.check_header(&h)));
}

/// Header values are read as JSON says: escapes mean what they escape; a missing or mistyped
/// value is refused.
#[test]
fn header_values_are_read_as_json_says() {
    let f = fixture();
    // An escaped kid and claim read as their unescaped text.
    let h = encode_header(&header()).replace('=', "");
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&h).unwrap()).unwrap();
    let escaped = json.replacen(
        &format!("\"{KID}\""),
        &format!("\"\\u{:04x}{}\"", KID.as_bytes()[0], &KID[1..]),
        1,
    );
    assert_ne!(escaped, json);
    let h = URL_SAFE_NO_PAD.encode(escaped.as_bytes());
    let sig = f.signer.sign_fixed(&signing_input(&h, BODY));
    let signature = format!("{h}..{}", URL_SAFE_NO_PAD.encode(sig));
    assert_eq!(f.check(&signature, BODY), Ok(()));

    // `\/` (how some JSON writers send every `/`) in the claim names and values: the claims are
    // the unescaped text, and the signed path compares equal to the callback URL.
    let slashes = json.replace('/', "\\/");
    assert!(slashes.contains(r#""https:\/\/payconiq.com\/path":"https:\/\/"#));
    let h = URL_SAFE_NO_PAD.encode(slashes.as_bytes());
    let sig = f.signer.sign_fixed(&signing_input(&h, BODY));
    let signature = format!("{h}..{}", URL_SAFE_NO_PAD.encode(sig));
    let (_, claims) = f.verifier.verify_detailed(&post(&signature, BODY)).unwrap();
    assert_eq!((claims.path.as_str(), claims.sub.as_str()), (URL, PROFILE));

    // A header that is not UTF-8 is malformed, and says so.
    let h = URL_SAFE_NO_PAD.encode(b"{\"alg\":\"ES256\xff\"}");
    let rejection = f.check(&format!("{h}..AAAA"), BODY).unwrap_err();
    assert!(rejection.to_string().contains("not UTF-8"), "{rejection}");

    let mut h = header();
    h["alg"] = Value::Null;
    assert!(malformed(f.check_header(&h)));
    let mut h = header();
    h["kid"] = json!(7);
    assert!(malformed(f.check_header(&h)));
}

#[test]
fn crit_order_is_irrelevant() {
    let f = fixture();
    let mut h = header();
    h["crit"] = json!([
        "https://payconiq.com/path",
        "https://payconiq.com/jti",
        "https://payconiq.com/iat",
        "https://payconiq.com/iss",
        "https://payconiq.com/sub"
    ]);
    assert_eq!(f.check_header(&h), Ok(()));
}

#[test]
fn a_der_signature_is_accepted() {
    let f = fixture();
    let h = encode_header(&header());
    let der = f.signer.sign_der(&signing_input(&h, BODY));
    let signature = format!("{h}..{}", URL_SAFE_NO_PAD.encode(der));
    assert_eq!(f.check(&signature, BODY), Ok(()));
}

#[test]
fn iat_with_nanoseconds_is_accepted() {
    let f = fixture();
    let mut h = header();
    h["https://payconiq.com/iat"] = json!("2024-05-01T09:59:00.123456789Z");
    let signature = sign(&f.signer, &h, BODY);
    let (event, _) = f.verifier.verify_detailed(&post(&signature, BODY)).unwrap();
    assert_eq!(
        event.occurred_at,
        Some(datetime!(2024-05-01 09:59:00.123456789 UTC))
    );
}

#[test]
fn a_retry_24_hours_later_is_accepted_by_default() {
    let f = fixture();
    let h = header_at(NOW - Duration::from_secs(24 * 3600));
    assert_eq!(f.check_header(&h), Ok(()));
    // The edge of the window: exactly 25 hours.
    let h = header_at(NOW - Duration::from_secs(25 * 3600));
    assert_eq!(f.check_header(&h), Ok(()));
}

#[test]
fn a_small_clock_skew_is_accepted() {
    let f = fixture();
    let h = header_at(NOW + Duration::from_secs(4 * 60));
    assert_eq!(f.check_header(&h), Ok(()));
}

#[test]
fn an_unknown_status_is_unknown_and_never_success() {
    let f = fixture();
    let body = br#"{"paymentId":"5ba37c3d0989e3000758b9d8","status":"HALF_PAID","amount":122}"#;
    let signature = sign(&f.signer, &header(), body);
    let event = f.verifier.verify(&post(&signature, body)).unwrap();
    assert_eq!(
        event.status,
        Some(PaymentStatus::Unknown("HALF_PAID".into()))
    );
    assert_eq!(event.raw_status.as_deref(), Some("HALF_PAID"));
    assert_ne!(event.status, Some(PaymentStatus::Succeeded));
}

#[test]
fn unknown_body_fields_and_header_parameters_are_tolerated() {
    let f = fixture();
    let body = br#"{"paymentId":"p1","status":"PENDING","newField":{"a":[1,2]},"expiresAt":"2030-01-01T00:00:00Z"}"#;
    let mut h = header();
    h["x-something-new"] = json!(42);
    let signature = sign(&f.signer, &h, body);
    let event = f.verifier.verify(&post(&signature, body)).unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Pending));
    assert_eq!(
        event.data.expire_at,
        Some(time::macros::datetime!(2030-01-01 0:00 UTC))
    );
}

// ---------------------------------------------------------------------------------------------
// Tampering
// ---------------------------------------------------------------------------------------------

#[test]
fn a_body_that_is_not_utf8_is_refused_even_in_a_field_nobody_reads() {
    // JSON is UTF-8 (RFC 8259): a signed body with a stray byte is malformed and says where,
    // even when the byte sits in a field the event type ignores.
    let f = fixture();
    let mut body = b"{\"ignored\":\"\xc1\xc0\",".to_vec();
    body.extend_from_slice(&BODY[1..]);
    let at = body.iter().position(|&b| b == 0xc1).unwrap();
    let signature = sign(&f.signer, &header(), &body);
    assert_eq!(
        f.check(&signature, &body),
        Err(WebhookRejection::MalformedPayload(format!(
            "not a Payconiq callback: not UTF-8 (at byte {at})"
        )))
    );
}

#[test]
fn a_body_changed_by_one_byte_is_rejected() {
    let f = fixture();
    let signature = sign(&f.signer, &header(), BODY);
    let tampered = String::from_utf8(BODY.to_vec())
        .unwrap()
        .replace("\"amount\":122", "\"amount\":123");
    assert_eq!(tampered.len(), BODY.len());
    assert_eq!(
        f.check(&signature, tampered.as_bytes()),
        Err(WebhookRejection::BadSignature)
    );
}

#[test]
fn a_reformatted_body_is_rejected() {
    let f = fixture();
    let signature = sign(&f.signer, &header(), BODY);
    let mut spaced = BODY.to_vec();
    spaced.push(b'\n');
    assert_eq!(
        f.check(&signature, &spaced),
        Err(WebhookRejection::BadSignature)
    );
    let pretty =
        serde_json::to_vec_pretty(&serde_json::from_slice::<Value>(BODY).unwrap()).unwrap();
    assert_eq!(
        f.check(&signature, &pretty),
        Err(WebhookRejection::BadSignature)
    );
}

#[test]
fn a_signature_by_another_key_with_the_same_kid_is_rejected() {
    let f = fixture();
    let impostor = Signer::generate();
    let signature = sign(&impostor, &header(), BODY);
    assert_eq!(
        f.check(&signature, BODY),
        Err(WebhookRejection::BadSignature)
    );
}

#[test]
fn garbage_signatures_of_the_wrong_length_are_rejected() {
    let f = fixture();
    let h = encode_header(&header());
    for len in [0usize, 1, 32, 63, 65, 72, 96] {
        let garbage: Vec<u8> = (0..len).map(|i| (i * 37 + 11) as u8).collect();
        let signature = format!("{h}..{}", URL_SAFE_NO_PAD.encode(&garbage));
        assert_eq!(
            f.check(&signature, BODY),
            Err(WebhookRejection::BadSignature),
            "{len} bytes"
        );
    }
    // A DER-looking prefix that is not DER.
    let mut fake_der = vec![0x30u8; 70];
    fake_der[1] = 68;
    let signature = format!("{h}..{}", URL_SAFE_NO_PAD.encode(&fake_der));
    assert_eq!(
        f.check(&signature, BODY),
        Err(WebhookRejection::BadSignature)
    );
    // 64 zero bytes (r = s = 0).
    let signature = format!("{h}..{}", URL_SAFE_NO_PAD.encode([0u8; 64]));
    assert_eq!(
        f.check(&signature, BODY),
        Err(WebhookRejection::BadSignature)
    );
}

#[test]
fn a_header_changed_after_signing_is_rejected() {
    let f = fixture();
    let signature = sign(&f.signer, &header(), BODY);
    let sig_part = signature.split("..").nth(1).unwrap();
    let mut other = header();
    other["https://payconiq.com/jti"] = json!("jti-replayed");
    let forged = format!("{}..{sig_part}", encode_header(&other));
    assert_eq!(f.check(&forged, BODY), Err(WebhookRejection::BadSignature));
}

// ---------------------------------------------------------------------------------------------
// Claims
// ---------------------------------------------------------------------------------------------

#[test]
fn a_callback_for_another_profile_is_rejected() {
    let f = fixture();
    let mut h = header();
    h["https://payconiq.com/sub"] = json!("5fd2a1f7e7a6b8e3b35c1a2c");
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::ClaimMismatch {
            claim: "sub".into()
        })
    );
}

#[test]
fn a_callback_for_another_path_is_rejected() {
    let f = fixture();
    for path in [
        "https://evil.example/payconiq/callback",
        "https://shop.example/payconiq/callback/",
        "https://SHOP.example/payconiq/callback",
    ] {
        let mut h = header();
        h["https://payconiq.com/path"] = json!(path);
        assert_eq!(
            f.check_header(&h),
            Err(WebhookRejection::ClaimMismatch {
                claim: format!("path {path:?} (expected {URL:?})")
            }),
            "{path}"
        );
    }
}

/// `payments webhook verify` without `--url` rejected a genuine capture with only "signed claim
/// path does not match": the rejection names both URLs (the callback URL is not secret).
#[test]
fn a_path_mismatch_names_the_expected_and_the_signed_path() {
    let f = fixture();
    let mut h = header();
    h["https://payconiq.com/path"] = json!("https://shop.example/other/callback");
    let err = f.check_header(&h).unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("\"https://shop.example/other/callback\""),
        "the signed path: {message}"
    );
    assert!(
        message.contains(&format!("expected \"{URL}\"")),
        "{message}"
    );
    assert!(
        matches!(&err, WebhookRejection::ClaimMismatch { claim } if claim.starts_with("path ")),
        "{err:?}"
    );
    // A signed path too long to echo is cut, not printed whole.
    let mut h = header();
    h["https://payconiq.com/path"] = json!(format!("https://shop.example/{}", "a".repeat(5000)));
    let message = f.check_header(&h).unwrap_err().to_string();
    assert!(message.len() < 1000, "{message}");
}

#[test]
fn another_issuer_is_rejected() {
    let f = fixture();
    for iss in ["payconiq", "Bancontact", ""] {
        let mut h = header();
        h["https://payconiq.com/iss"] = json!(iss);
        assert_eq!(
            f.check_header(&h),
            Err(WebhookRejection::ClaimMismatch {
                claim: "iss".into()
            }),
            "{iss:?}"
        );
    }
}

#[test]
fn an_unparsable_iat_is_malformed() {
    let f = fixture();
    for iat in ["yesterday", "2024-05-01 10:00:00", "1714557600", ""] {
        let mut h = header();
        h["https://payconiq.com/iat"] = json!(iat);
        assert!(malformed(f.check_header(&h)), "{iat:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// crit
// ---------------------------------------------------------------------------------------------

fn crit_rejected(result: Result<(), WebhookRejection>) -> bool {
    matches!(result, Err(WebhookRejection::CriticalHeaders(_)))
}

#[test]
fn a_missing_crit_name_is_rejected() {
    let f = fixture();
    let mut h = header();
    h["crit"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n != "https://payconiq.com/path");
    assert!(crit_rejected(f.check_header(&h)));

    let mut h = header();
    h.as_object_mut().unwrap().remove("crit");
    assert!(crit_rejected(f.check_header(&h)));

    let mut h = header();
    h["crit"] = json!([]);
    assert!(crit_rejected(f.check_header(&h)));
}

#[test]
fn an_extra_crit_name_is_rejected() {
    let f = fixture();
    let mut h = header();
    h["crit"].as_array_mut().unwrap().push(json!("b64"));
    h["b64"] = json!(false);
    assert!(crit_rejected(f.check_header(&h)));
}

#[test]
fn a_duplicate_crit_name_is_rejected() {
    let f = fixture();
    let mut h = header();
    h["crit"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://payconiq.com/iat"));
    assert!(crit_rejected(f.check_header(&h)));
    // Same count, one duplicated in place of another.
    let mut h = header();
    h["crit"][4] = json!("https://payconiq.com/sub");
    assert!(crit_rejected(f.check_header(&h)));
}

#[test]
fn crit_of_the_wrong_shape_is_rejected() {
    let f = fixture();
    for crit in [
        json!("https://payconiq.com/sub"),
        json!([1, 2, 3, 4, 5]),
        json!(null),
    ] {
        let mut h = header();
        h["crit"] = crit.clone();
        assert!(crit_rejected(f.check_header(&h)), "{crit}");
    }
}

#[test]
fn a_critical_parameter_absent_or_not_a_string_is_rejected() {
    let f = fixture();
    let mut h = header();
    h.as_object_mut()
        .unwrap()
        .remove("https://payconiq.com/jti");
    assert!(crit_rejected(f.check_header(&h)));
    let mut h = header();
    h["https://payconiq.com/iat"] = json!(1714557600);
    assert!(crit_rejected(f.check_header(&h)));
}

// ---------------------------------------------------------------------------------------------
// The two documented header shapes
// ---------------------------------------------------------------------------------------------

/// The JOSE header as Payconiq's API reference (v3.6.3, "Signature" header) shows it: a plain
/// `sub` claim and four `crit` names; `typ` in lower case.
fn api_reference_header() -> Value {
    json!({
        "typ": "jose+json",
        "kid": KID,
        "alg": "ES256",
        "sub": PROFILE,
        "https://payconiq.com/iss": "Payconiq",
        "https://payconiq.com/iat": iso_ms(NOW - Duration::from_secs(2)),
        "https://payconiq.com/jti": "jti-7f3c2a",
        "https://payconiq.com/path": URL,
        "crit": [
            "https://payconiq.com/iss",
            "https://payconiq.com/iat",
            "https://payconiq.com/jti",
            "https://payconiq.com/path"
        ],
    })
}

#[test]
fn the_api_reference_shape_with_a_plain_sub_and_four_crit_names_verifies() {
    let f = fixture();
    let signature = sign(&f.signer, &api_reference_header(), BODY);
    let (event, claims) = f.verifier.verify_detailed(&post(&signature, BODY)).unwrap();
    assert_eq!(claims.sub, PROFILE);
    assert_eq!(claims.jti, "jti-7f3c2a");
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    // The plain `sub` is checked like the namespaced one.
    let mut h = api_reference_header();
    h["sub"] = json!("5fd2a1f7e7a6b8e3b35c1a2c");
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::ClaimMismatch {
            claim: "sub".into()
        })
    );
}

#[test]
fn both_subject_names_present_and_equal_verify() {
    let f = fixture();
    // Five crit names and a plain `sub` as well.
    let mut h = header();
    h["sub"] = json!(PROFILE);
    assert_eq!(f.check_header(&h), Ok(()));
    // Four crit names and both subjects.
    let mut h = api_reference_header();
    h["https://payconiq.com/sub"] = json!(PROFILE);
    assert_eq!(f.check_header(&h), Ok(()));
    // `sub` is understood, so `crit` may list it.
    let mut h = api_reference_header();
    h["crit"].as_array_mut().unwrap().push(json!("sub"));
    assert_eq!(f.check_header(&h), Ok(()));
}

#[test]
fn both_subject_names_present_and_different_are_rejected() {
    let f = fixture();
    let other = "5fd2a1f7e7a6b8e3b35c1a2c";
    for (namespaced, plain) in [(PROFILE, other), (other, PROFILE)] {
        let mut h = header();
        h["https://payconiq.com/sub"] = json!(namespaced);
        h["sub"] = json!(plain);
        let result = f.check_header(&h);
        assert!(
            matches!(
                &result,
                Err(WebhookRejection::MalformedHeader { header, reason })
                    if header == "Signature" && reason.contains("sub")
            ),
            "{namespaced} / {plain}: {result:?}"
        );
    }
}

#[test]
fn a_callback_without_any_subject_is_rejected() {
    let f = fixture();
    let mut h = api_reference_header();
    h.as_object_mut().unwrap().remove("sub");
    assert!(f.check_header(&h).is_err());
    // A subject listed as critical must be there.
    let mut h = api_reference_header();
    h["crit"]
        .as_array_mut()
        .unwrap()
        .push(json!("https://payconiq.com/sub"));
    assert!(crit_rejected(f.check_header(&h)));
    let mut h = header();
    h["crit"].as_array_mut().unwrap().push(json!("sub"));
    assert!(crit_rejected(f.check_header(&h)));
    // And be a string.
    let mut h = api_reference_header();
    h["sub"] = json!(42);
    assert!(f.check_header(&h).is_err());
}

#[test]
fn a_missing_required_crit_name_is_rejected_in_either_shape() {
    let f = fixture();
    for shape in [header(), api_reference_header()] {
        for required in [
            "https://payconiq.com/iss",
            "https://payconiq.com/iat",
            "https://payconiq.com/jti",
            "https://payconiq.com/path",
        ] {
            let mut h = shape.clone();
            h["crit"].as_array_mut().unwrap().retain(|n| n != required);
            assert!(crit_rejected(f.check_header(&h)), "without {required}");
        }
    }
}

#[test]
fn an_unknown_crit_name_is_rejected_in_either_shape() {
    let f = fixture();
    for shape in [header(), api_reference_header()] {
        for unknown in ["b64", "https://payconiq.com/exp", "exp"] {
            let mut h = shape.clone();
            h["crit"].as_array_mut().unwrap().push(json!(unknown));
            h[unknown] = json!("x");
            assert!(crit_rejected(f.check_header(&h)), "{unknown}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Algorithm
// ---------------------------------------------------------------------------------------------

#[test]
fn alg_none_is_rejected() {
    let f = fixture();
    let mut h = header();
    h["alg"] = json!("none");
    let signature = format!("{}..", encode_header(&h));
    assert_eq!(
        f.check(&signature, BODY),
        Err(WebhookRejection::AlgorithmNotAllowed("none".into()))
    );
}

#[test]
fn hs256_with_the_public_key_as_secret_is_rejected() {
    use aws_lc_rs::hmac;
    let f = fixture();
    let mut h = header();
    h["alg"] = json!("HS256");
    let hb64 = encode_header(&h);
    let input = signing_input(&hb64, BODY);
    // The classic confusion: the verifier's public key (in any published form) as HMAC secret.
    let jwk_text = f.signer.jwk(KID).to_string();
    for secret in [f.signer.point(), jwk_text.as_bytes()] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, secret);
        let tag = hmac::sign(&key, &input);
        let signature = format!("{hb64}..{}", URL_SAFE_NO_PAD.encode(tag.as_ref()));
        assert_eq!(
            f.check(&signature, BODY),
            Err(WebhookRejection::AlgorithmNotAllowed("HS256".into()))
        );
    }
}

#[test]
fn other_algorithms_are_rejected() {
    let f = fixture();
    for alg in ["RS256", "ES384", "es256", "ES256 ", "EdDSA", "PS256"] {
        let mut h = header();
        h["alg"] = json!(alg);
        assert_eq!(
            f.check_header(&h),
            Err(WebhookRejection::AlgorithmNotAllowed(alg.into())),
            "{alg}"
        );
    }
    // Not a string at all.
    let mut h = header();
    h["alg"] = json!(["ES256"]);
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::AlgorithmNotAllowed(
            "not a string (an array)".into()
        ))
    );
    // Absent.
    let mut h = header();
    h.as_object_mut().unwrap().remove("alg");
    assert!(malformed(f.check_header(&h)));
}

#[test]
fn a_second_alg_cannot_hide_behind_the_first() {
    let f = fixture();
    let h = encode_header(&header());
    let json = String::from_utf8(URL_SAFE_NO_PAD.decode(&h).unwrap()).unwrap();
    let doubled = json.replacen('{', r#"{"alg":"none","#, 1);
    let hb64 = URL_SAFE_NO_PAD.encode(doubled.as_bytes());
    let sig = f.signer.sign_fixed(&signing_input(&hb64, BODY));
    let signature = format!("{hb64}..{}", URL_SAFE_NO_PAD.encode(sig));
    assert!(malformed(f.check(&signature, BODY)));
}

// ---------------------------------------------------------------------------------------------
// Keys and thumbprints
// ---------------------------------------------------------------------------------------------

#[test]
fn an_unknown_kid_is_rejected() {
    let f = fixture();
    let mut h = header();
    h["kid"] = json!("rs.signature.other");
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::UnknownKey("rs.signature.other".into()))
    );
    // The rejection carries the complete kid (a refreshing verifier looks it up) ...
    let long_kid = "k".repeat(256);
    let mut h = header();
    h["kid"] = json!(long_kid);
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::UnknownKey(long_kid.clone()))
    );
    // ... so an absurdly long one is refused as malformed instead.
    let mut h = header();
    h["kid"] = json!("k".repeat(257));
    assert!(malformed(f.check_header(&h)));
    // A kid is required.
    let mut h = header();
    h.as_object_mut().unwrap().remove("kid");
    assert!(malformed(f.check_header(&h)));
}

fn thumbprint_fixture(thumbprint: [u8; 32]) -> Fixture {
    let signer = Signer::generate();
    let mut jwk = signer.jwk(KID);
    jwk["x5t#S256"] = json!(URL_SAFE_NO_PAD.encode(thumbprint));
    Fixture {
        verifier: PayconiqWebhookVerifier::new(settings(), key_set(&[jwk])),
        signer,
    }
}

#[test]
fn a_matching_thumbprint_is_accepted() {
    let f = thumbprint_fixture([9u8; 32]);
    let mut h = header();
    h["x5t#S256"] = json!(URL_SAFE_NO_PAD.encode([9u8; 32]));
    assert_eq!(f.check_header(&h), Ok(()));
    // And a callback naming none still verifies.
    assert_eq!(f.check_header(&header()), Ok(()));
}

#[test]
fn a_mismatching_thumbprint_is_rejected() {
    let f = thumbprint_fixture([9u8; 32]);
    let mut h = header();
    h["x5t#S256"] = json!(URL_SAFE_NO_PAD.encode([8u8; 32]));
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::ThumbprintMismatch)
    );
    // Not a thumbprint at all.
    let mut h = header();
    h["x5t#S256"] = json!("not-a-thumbprint");
    assert!(malformed(f.check_header(&h)));
}

#[test]
fn a_thumbprint_is_not_checked_when_the_key_has_none() {
    let f = fixture();
    let mut h = header();
    h["x5t#S256"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
    assert_eq!(f.check_header(&h), Ok(()));
}

// ---------------------------------------------------------------------------------------------
// The window
// ---------------------------------------------------------------------------------------------

#[test]
fn a_signature_older_than_25_hours_is_rejected() {
    let f = fixture();
    let iat = NOW - Duration::from_secs(25 * 3600 + 1);
    assert_eq!(
        f.check_header(&header_at(iat)),
        Err(WebhookRejection::TooOld {
            age: Duration::from_secs(25 * 3600 + 1),
            max: Duration::from_secs(25 * 3600),
        })
    );
}

#[test]
fn a_signature_from_the_future_is_rejected() {
    let f = fixture();
    let iat = NOW + Duration::from_secs(600);
    assert_eq!(
        f.check_header(&header_at(iat)),
        Err(WebhookRejection::FromTheFuture {
            ahead: Duration::from_secs(600),
            max: Duration::from_secs(300),
        })
    );
}

#[test]
fn the_window_is_configurable() {
    let f = fixture_with(
        settings()
            .max_age(Duration::from_secs(5 * 60))
            .max_future_skew(Duration::from_secs(10)),
    );
    assert_eq!(
        f.check_header(&header_at(NOW - Duration::from_secs(6 * 60))),
        Err(WebhookRejection::TooOld {
            age: Duration::from_secs(6 * 60),
            max: Duration::from_secs(5 * 60),
        })
    );
    assert_eq!(
        f.check_header(&header_at(NOW - Duration::from_secs(4 * 60))),
        Ok(())
    );
    assert_eq!(
        f.check_header(&header_at(NOW + Duration::from_secs(11))),
        Err(WebhookRejection::FromTheFuture {
            ahead: Duration::from_secs(11),
            max: Duration::from_secs(10),
        })
    );
}

#[test]
fn the_clock_is_injectable() {
    let clock = FixedClock::new(NOW);
    let f = fixture_with(settings().clock(Arc::new(clock.clone())));
    let signature = sign(&f.signer, &header(), BODY);
    assert_eq!(f.check(&signature, BODY), Ok(()));
    // The very same request (a retry) a day later still verifies, a little later it does not.
    clock.advance(Duration::from_secs(24 * 3600));
    assert_eq!(f.check(&signature, BODY), Ok(()));
    clock.advance(Duration::from_secs(3600));
    assert!(matches!(
        f.check(&signature, BODY),
        Err(WebhookRejection::TooOld { .. })
    ));
}

// ---------------------------------------------------------------------------------------------
// The request
// ---------------------------------------------------------------------------------------------

#[test]
fn a_missing_signature_header_is_rejected() {
    let f = fixture();
    let request = WebhookRequest::new("POST", URL, BODY).header("Content-Type", "application/json");
    assert_eq!(
        f.verifier.verify(&request).map(|_| ()),
        Err(WebhookRejection::MissingHeader("Signature".into()))
    );
}

#[test]
fn two_signature_headers_are_rejected() {
    let f = fixture();
    let signature = sign(&f.signer, &header(), BODY);
    let request = post(&signature, BODY).header("signature", &signature);
    assert_eq!(
        f.verifier.verify(&request).map(|_| ()),
        Err(WebhookRejection::DuplicateHeader("Signature".into()))
    );
}

#[test]
fn a_get_is_rejected() {
    let f = fixture();
    let signature = sign(&f.signer, &header(), BODY);
    let request = WebhookRequest::new("GET", URL, BODY).header("Signature", &signature);
    assert_eq!(
        f.verifier.verify(&request).map(|_| ()),
        Err(WebhookRejection::MethodNotAllowed("GET".into()))
    );
}

#[test]
fn a_non_detached_jws_is_rejected() {
    let f = fixture();
    let h = encode_header(&header());
    let payload = URL_SAFE_NO_PAD.encode(BODY);
    let sig = f.signer.sign_fixed(&signing_input(&h, BODY));
    let attached = format!("{h}.{payload}.{}", URL_SAFE_NO_PAD.encode(sig));
    assert!(malformed(f.check(&attached, BODY)));
}

#[test]
fn malformed_signature_headers_are_rejected() {
    let f = fixture();
    let valid = sign(&f.signer, &header(), BODY);
    let (h, s) = valid.split_once("..").unwrap();
    let long = "A".repeat(8 * 1024 + 4);
    let cases = [
        String::new(),
        "abc".into(),
        format!("{h}.{s}"),
        format!("{h}...{s}"),
        format!("..{s}"),
        format!("{h}..{s}=="),
        format!("{h}=..{s}"),
        format!("{h}..{s}+"),
        format!("+{}..{s}", &h[1..]),
        format!("{long}..{s}"),
        format!("{h}..{}", "A".repeat(300)),
        format!("{}..{s}", URL_SAFE_NO_PAD.encode(b"not json")),
        format!("{}..{s}", URL_SAFE_NO_PAD.encode(b"[1,2]")),
    ];
    for case in &cases {
        let result = f.check(case, BODY);
        assert!(malformed(result.clone()), "{case:.40}: {result:?}");
    }
}

#[test]
fn a_valid_signature_over_a_non_json_body_is_malformed_payload() {
    let f = fixture();
    for body in [
        &b"paymentId=1&status=SUCCEEDED"[..],
        b"",
        br#"{"status":"SUCCEEDED"}"#,
    ] {
        let signature = sign(&f.signer, &header(), body);
        let result = f.check(&signature, body);
        assert!(
            matches!(result, Err(WebhookRejection::MalformedPayload(_))),
            "{result:?}"
        );
    }
}

#[test]
fn malformed_payload_reasons_do_not_echo_the_body() {
    let f = fixture();
    let body = br#"{"paymentId":"p1","status":"SUCCEEDED","amount":"SECRET-VALUE"}"#;
    let signature = sign(&f.signer, &header(), body);
    let Err(WebhookRejection::MalformedPayload(reason)) = f.check(&signature, body) else {
        panic!("expected MalformedPayload");
    };
    assert!(!reason.contains("SECRET"), "{reason}");
}

// ---------------------------------------------------------------------------------------------
// Key sets
// ---------------------------------------------------------------------------------------------

#[test]
fn garbage_key_sets_are_config_errors_that_do_not_echo_the_input() {
    for garbage in [
        &b"SECRET-GARBAGE"[..],
        b"",
        b"{}",
        br#"{"keys":"SECRET"}"#,
        br#"{"keys":[]}"#,
        br#"[{"kty":"EC"}]"#,
        br#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k","x":"AAAA","y":"AAAA"}]}"#,
    ] {
        let err = JwkSet::from_json(garbage).unwrap_err();
        assert!(matches!(err, payments_core::Error::Config(_)), "{err:?}");
        assert!(!err.to_string().contains("SECRET"), "{err}");
    }
}

#[test]
fn non_p256_keys_are_left_out() {
    let ec = Signer::generate();
    let rsa = json!({
        "kty": "RSA", "kid": "rsa-key", "use": "sig", "alg": "RS256",
        "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw",
        "e": "AQAB"
    });
    let mut p384 = ec.jwk("p384-key");
    p384["crv"] = json!("P-384");
    let mut encryption = ec.jwk("enc-key");
    encryption["use"] = json!("enc");
    let mut hs = ec.jwk("hs-key");
    hs["alg"] = json!("HS256");
    let oct = json!({"kty": "oct", "kid": "oct-key", "k": "c2VjcmV0"});
    let set = key_set(&[
        rsa,
        p384,
        encryption,
        hs,
        oct,
        json!("not a key"),
        ec.jwk("ec-key"),
    ]);
    assert_eq!(set.kids().collect::<Vec<_>>(), ["ec-key"]);
    assert!(set.contains("ec-key"));
    assert!(!set.contains("rsa-key"));

    // A key set with only RSA keys has no usable key.
    let only_rsa = json!({"keys":[{"kty":"RSA","kid":"r","n":"AQAB","e":"AQAB"}]});
    assert!(matches!(
        JwkSet::from_json(only_rsa.to_string().as_bytes()),
        Err(payments_core::Error::Config(_))
    ));
}

#[test]
fn malformed_ec_keys_are_left_out() {
    let ec = Signer::generate();
    let mut short_x = ec.jwk("short-x");
    short_x["x"] = json!(URL_SAFE_NO_PAD.encode([1u8; 31]));
    let mut off_curve = ec.jwk("off-curve");
    off_curve["y"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
    let mut no_kid = ec.jwk("x");
    no_kid.as_object_mut().unwrap().remove("kid");
    let mut only_x = ec.jwk("only-x");
    only_x.as_object_mut().unwrap().remove("y");
    let set = key_set(&[short_x, off_curve, no_kid, only_x, ec.jwk("good")]);
    assert_eq!(set.kids().collect::<Vec<_>>(), ["good"]);
}

#[test]
fn keys_sharing_a_kid_are_both_tried() {
    let old = Signer::generate();
    let new = Signer::generate();
    let verifier = PayconiqWebhookVerifier::new(settings(), key_set(&[old.jwk(KID), new.jwk(KID)]));
    for signer in [&old, &new] {
        let signature = sign(signer, &header(), BODY);
        assert!(verifier.verify(&post(&signature, BODY)).is_ok());
    }
    let stranger = Signer::generate();
    let signature = sign(&stranger, &header(), BODY);
    assert_eq!(
        verifier.verify(&post(&signature, BODY)).map(|_| ()),
        Err(WebhookRejection::BadSignature)
    );
}

#[test]
fn unknown_jwk_fields_are_ignored_and_debug_shows_no_secrets() {
    let ec = Signer::generate();
    let mut jwk = ec.jwk(KID);
    jwk["key_ops"] = json!(["verify"]);
    jwk["x-vendor"] = json!({"nested": true});
    let set = key_set(&[jwk]);
    assert!(set.contains(KID));
    let verifier = PayconiqWebhookVerifier::new(settings(), set);
    let shown = format!("{verifier:?}");
    assert!(shown.contains(KID), "{shown}");
    assert!(shown.contains(PROFILE), "{shown}");
}

// ---------------------------------------------------------------------------------------------
// x5c
// ---------------------------------------------------------------------------------------------

/// Minimal DER writer, enough for a self-signed certificate.
fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else if len < 0x100 {
        out.extend_from_slice(&[0x81, len as u8]);
    } else {
        out.extend_from_slice(&[0x82, (len >> 8) as u8, len as u8]);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn name(cn: &str) -> Vec<u8> {
    // SEQUENCE { SET { SEQUENCE { OID commonName, UTF8String cn } } }
    seq(&[der(
        0x31,
        &seq(&[der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, cn.as_bytes())]),
    )])
}

/// A self-signed X.509 v3 certificate for the signer's key, signed ecdsa-with-SHA256.
fn self_signed_certificate(signer: &Signer, cn: &str) -> Vec<u8> {
    let ecdsa_with_sha256 = seq(&[der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])]);
    let spki = seq(&[
        seq(&[
            der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01]),
            der(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
        ]),
        der(0x03, &[&[0u8][..], signer.point()].concat()),
    ]);
    let tbs = seq(&[
        der(0xa0, &der(0x02, &[0x02])),
        der(0x02, &[0x01, 0x23, 0x45]),
        ecdsa_with_sha256.clone(),
        name(cn),
        seq(&[der(0x17, b"240101000000Z"), der(0x17, b"340101000000Z")]),
        name(cn),
        spki,
    ]);
    let signature = signer.sign_der(&tbs);
    seq(&[
        tbs,
        ecdsa_with_sha256,
        der(0x03, &[&[0u8][..], &signature].concat()),
    ])
}

#[test]
fn an_x5c_only_key_is_read_from_its_certificate_and_its_thumbprint_checked() {
    let signer = Signer::generate();
    let cert = self_signed_certificate(&signer, "es.signature.test.payconiq.com");
    let jwk = json!({
        "kty": "EC", "crv": "P-256", "kid": KID, "use": "sig",
        "x5c": [STANDARD.encode(&cert)],
    });
    let f = Fixture {
        verifier: PayconiqWebhookVerifier::new(settings(), key_set(&[jwk])),
        signer,
    };
    assert_eq!(f.check_header(&header()), Ok(()));

    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(&cert));
    let mut h = header();
    h["x5t#S256"] = json!(thumbprint);
    assert_eq!(f.check_header(&h), Ok(()));

    let mut h = header();
    h["x5t#S256"] = json!(URL_SAFE_NO_PAD.encode([0u8; 32]));
    assert_eq!(
        f.check_header(&h),
        Err(WebhookRejection::ThumbprintMismatch)
    );
}

#[test]
fn an_x5c_key_with_a_declared_thumbprint_and_coordinates_must_be_consistent() {
    let signer = Signer::generate();
    let cert = self_signed_certificate(&signer, "a");
    let thumbprint = URL_SAFE_NO_PAD.encode(Sha256::digest(&cert));

    // Consistent: x/y, x5c and x5t#S256 all describe the same key.
    let mut full = signer.jwk("full");
    full["x5c"] = json!([STANDARD.encode(&cert)]);
    full["x5t#S256"] = json!(thumbprint);
    // x/y of another key than the certificate's.
    let mut other_point = Signer::generate().jwk("other-point");
    other_point["x5c"] = json!([STANDARD.encode(&cert)]);
    // A declared thumbprint that is not the certificate's.
    let mut other_thumbprint = signer.jwk("other-thumbprint");
    other_thumbprint["x5c"] = json!([STANDARD.encode(&cert)]);
    other_thumbprint["x5t#S256"] = json!(URL_SAFE_NO_PAD.encode([3u8; 32]));
    // A certificate without a P-256 key.
    let not_a_cert = json!({
        "kty": "EC", "crv": "P-256", "kid": "not-a-cert",
        "x5c": [STANDARD.encode(b"not a certificate")],
    });

    let set = key_set(&[full, other_point, other_thumbprint, not_a_cert]);
    assert_eq!(set.kids().collect::<Vec<_>>(), ["full"]);
}

#[test]
fn the_hand_built_certificate_is_well_formed() {
    // The SPKI prefix the verifier looks for appears exactly once, followed by the point.
    let signer = Signer::generate();
    let cert = self_signed_certificate(&signer, "x");
    let prefix = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let at: Vec<usize> = cert
        .windows(prefix.len())
        .enumerate()
        .filter(|(_, w)| *w == prefix)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(at.len(), 1);
    assert_eq!(&cert[at[0] + 26..at[0] + 26 + 65], signer.point());
    // Outer SEQUENCE with a two-byte long-form length covering the rest.
    assert_eq!(cert[0], 0x30);
    assert_eq!(cert[1], 0x82);
    assert_eq!(((cert[2] as usize) << 8 | cert[3] as usize) + 4, cert.len());
}

// ---------------------------------------------------------------------------------------------
// Robustness
// ---------------------------------------------------------------------------------------------

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn random_signature_headers_never_panic() {
    let f = fixture();
    let valid = sign(&f.signer, &header(), BODY);
    const ALPHABET: &[u8] =
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_..==+/ {}\"\\\x00\xc3\xa9";
    let json_fragments = [
        r#"{"alg":"ES256"}"#,
        r#"{"alg":null,"crit":{}}"#,
        r#"{"alg":"ES256","crit":[],"kid":7}"#,
        r#"{"alg":"ES256","kid":"es.signature.test.payconiq.com","crit":["https://payconiq.com/sub","https://payconiq.com/iss","https://payconiq.com/iat","https://payconiq.com/jti","https://payconiq.com/path"],"https://payconiq.com/sub":1}"#,
        r#"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["#,
        r#"{"x5t#S256":"@@@","alg":"ES256"}"#,
        "\u{feff}{}",
    ];
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..2000 {
        let candidate: Vec<u8> = match round % 4 {
            // Random bytes from a JWS-ish alphabet.
            0 => (0..rng.below(200))
                .map(|_| ALPHABET[rng.below(ALPHABET.len())])
                .collect(),
            // A valid header value with a few bytes changed, inserted or removed.
            1 => {
                let mut v = valid.clone().into_bytes();
                for _ in 0..=rng.below(3) {
                    let at = rng.below(v.len());
                    match rng.below(3) {
                        0 => v[at] = ALPHABET[rng.below(ALPHABET.len())],
                        1 => v.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                        _ => {
                            v.remove(at);
                        }
                    }
                }
                v
            }
            // A structured header with random JSON fragments and random signature bytes.
            2 => {
                let json = json_fragments[rng.below(json_fragments.len())];
                let sig: Vec<u8> = (0..rng.below(100)).map(|_| rng.next() as u8).collect();
                format!(
                    "{}..{}",
                    URL_SAFE_NO_PAD.encode(json),
                    URL_SAFE_NO_PAD.encode(sig)
                )
                .into_bytes()
            }
            // Random bytes, any value.
            _ => (0..rng.below(120)).map(|_| rng.next() as u8).collect(),
        };
        // The request view trims surrounding whitespace: such a value is the valid one.
        if std::str::from_utf8(&candidate).map(str::trim) == Ok(valid.as_str()) {
            continue;
        }
        let request = WebhookRequest::new("POST", URL, BODY).header_bytes("Signature", &candidate);
        let result = f.verifier.verify(&request);
        assert!(result.is_err(), "round {round} verified: {candidate:?}");
    }
    // The valid one still verifies after all that.
    assert_eq!(f.check(&valid, BODY), Ok(()));
}
