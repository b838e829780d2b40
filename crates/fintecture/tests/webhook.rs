//! Webhook verification against deliveries built like Fintecture's: the signing string
//! encrypted (RSA-OAEP SHA-1) with the public half of a key pair generated for the test run.
//! Runs without the `client` feature.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use base64::Engine as _;
use payments_core::webhook::{
    Authenticity, FixedClock, WebhookRejection, WebhookRequest, WebhookVerifier,
};
use payments_core::{Currency, Money, PaymentStatus};
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::signing::digest_header;
use payments_fintecture::testing::{SignedWebhook, WebhookSigner};
use payments_fintecture::webhook::{FintectureEvent, FintectureWebhookVerifier, WebhookSettings};
use payments_fintecture::{SessionStatus, TransferState};
use payments_test_support::{Fixtures, fixtures};
use time::OffsetDateTime;
use time::macros::datetime;

const FIXTURES: Fixtures = fixtures!();

const APP_ID: &str = "2dfdcf57-5b2f-4309-846f-913d0b2802cf";
const URL: &str = "https://shop.example/fintecture/webhook";
const REQUEST_ID: &str = "88c414df-6895-48db-8ef3-1fd1ce4272c6";
const SENT_AT: OffsetDateTime = datetime!(2020-06-08 23:11:23 UTC);
const FORM: &str = "application/x-www-form-urlencoded";

fn key() -> Arc<AppPrivateKey> {
    static KEY: OnceLock<Arc<AppPrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(AppPrivateKey::generate().unwrap()))
        .clone()
}

fn other_key() -> Arc<AppPrivateKey> {
    static KEY: OnceLock<Arc<AppPrivateKey>> = OnceLock::new();
    KEY.get_or_init(|| Arc::new(AppPrivateKey::generate().unwrap()))
        .clone()
}

fn verifier_at(now: OffsetDateTime) -> FintectureWebhookVerifier {
    FintectureWebhookVerifier::new(
        WebhookSettings::new(APP_ID, key())
            .clock(Arc::new(FixedClock::new(now)))
            .max_age(Duration::from_secs(600)),
    )
}

fn verifier() -> FintectureWebhookVerifier {
    verifier_at(SENT_AT + time::Duration::seconds(30))
}

fn signer() -> WebhookSigner {
    WebhookSigner::new(APP_ID, key().public_key().clone())
}

fn signed(body: &[u8]) -> SignedWebhook {
    signer().sign(body, SENT_AT, REQUEST_ID).unwrap()
}

/// The form fixture, its `Digest` and the `Date` of [`signed`]: the parts a hand-made signing
/// string is built from.
fn form_delivery() -> (Vec<u8>, String, &'static str) {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let digest = digest_header(&body);
    (body, digest, "Mon, 08 Jun 2020 23:11:23 GMT")
}

/// [`signed`], with `signature` in place of its own `Signature` header.
fn resigned(body: &[u8], signature: String) -> SignedWebhook {
    let mut delivery = signed(body);
    delivery.set_header("Signature", signature);
    delivery
}

fn verify_with(
    v: &FintectureWebhookVerifier,
    body: &[u8],
    content_type: &str,
    delivery: &SignedWebhook,
) -> Result<payments_core::webhook::VerifiedEvent<FintectureEvent>, WebhookRejection> {
    let mut request = WebhookRequest::new("POST", URL, body).header("Content-Type", content_type);
    for (n, v) in &delivery.headers {
        request = request.header(n, v);
    }
    v.verify(&request)
}

fn verify(
    body: &[u8],
    delivery: &SignedWebhook,
) -> Result<payments_core::webhook::VerifiedEvent<FintectureEvent>, WebhookRejection> {
    verify_with(&verifier(), body, FORM, delivery)
}

#[test]
fn a_valid_form_webhook_verifies_and_parses() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let event = verify(&body, &signed(&body)).unwrap();
    assert_eq!(event.provider, "fintecture");
    assert_eq!(event.authenticity, Authenticity::Signed);
    assert_eq!(
        event.payment_id.as_deref(),
        Some("b2bca2bcd3b64a32a7da0766df59a7d2")
    );
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.raw_status.as_deref(), Some("payment_created"));
    assert_eq!(event.occurred_at, Some(SENT_AT));
    assert_eq!(event.data.state.as_deref(), Some("thisisastate"));
    assert_eq!(event.data.request_id.as_deref(), Some(REQUEST_ID));
    assert_eq!(event.raw_body, body);
    // A redelivery of the same body has the same dedup key.
    let again = verify(&body, &signer().sign(&body, SENT_AT, "another-id").unwrap()).unwrap();
    assert_eq!(again.dedup_key(), event.dedup_key());
    insta::assert_json_snapshot!("webhook_form_event", event.data);
}

#[test]
fn a_valid_json_webhook_verifies_with_exact_amounts() {
    let body = FIXTURES.bytes("webhook_payment_partial.json");
    let event = verify_with(&verifier(), &body, "application/json", &signed(&body)).unwrap();
    assert_eq!(event.data.status, Some(SessionStatus::PaymentPartial));
    assert_eq!(event.data.transfer_state, Some(TransferState::Insufficient));
    assert_eq!(event.status, Some(PaymentStatus::PartiallyPaid));
    assert_eq!(
        event.data.amount_money(),
        Some(Money::from_minor(27_300, Currency::EUR))
    );
    assert_eq!(
        event.data.received_money(),
        Some(Money::from_minor(10_050, Currency::EUR))
    );
    assert_eq!(
        event.event_type.as_deref(),
        Some("payment_session.status.payment_partial")
    );
    insta::assert_json_snapshot!("webhook_json_event", event.data);
}

#[test]
fn the_x_request_id_may_be_left_unsigned() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let delivery = signer()
        .without_request_id()
        .sign(&body, SENT_AT, REQUEST_ID)
        .unwrap();
    assert!(
        delivery
            .header("Signature")
            .unwrap()
            .contains("headers=\"date digest\"")
    );
    let event = verify(&body, &delivery).unwrap();
    // The X-Request-ID header was not signed: it is not reported as the delivery's id.
    assert_eq!(event.data.request_id, None);
}

#[test]
fn a_changed_body_is_rejected() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let delivery = signed(&body);
    let changed = String::from_utf8(body)
        .unwrap()
        .replace("payment_created", "payment_createe");
    assert_eq!(
        verify(changed.as_bytes(), &delivery).unwrap_err(),
        WebhookRejection::DigestMismatch
    );
}

#[test]
fn a_changed_digest_header_is_rejected() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let mut delivery = signed(&body);
    delivery.set_header("Digest", digest_header(b"something else"));
    assert_eq!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::DigestMismatch
    );
}

#[test]
fn a_signing_string_with_the_digest_of_another_body_is_rejected() {
    // The attacker sends their own body with a matching Digest header, and replays a
    // signature made for another body.
    let original = FIXTURES.bytes("webhook_payment_created.form");
    let mut delivery = signed(&original);
    let forged = b"session_id=b2bca2bcd3b64a32a7da0766df59a7d2&status=payment_created&state=forged";
    delivery.set_header("Digest", digest_header(forged));
    assert_eq!(
        verify(forged, &delivery).unwrap_err(),
        WebhookRejection::ClaimMismatch {
            claim: "digest".into()
        }
    );
}

#[test]
fn a_stale_or_future_date_is_rejected() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let delivery = signed(&body);
    let late = verifier_at(SENT_AT + time::Duration::seconds(601));
    assert!(matches!(
        verify_with(&late, &body, FORM, &delivery).unwrap_err(),
        WebhookRejection::TooOld { .. }
    ));
    let early = verifier_at(SENT_AT - time::Duration::seconds(120));
    assert!(matches!(
        verify_with(&early, &body, FORM, &delivery).unwrap_err(),
        WebhookRejection::FromTheFuture { .. }
    ));
}

#[test]
fn a_key_id_of_another_app_is_rejected() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let delivery = WebhookSigner::new("another-app", key().public_key().clone())
        .sign(&body, SENT_AT, REQUEST_ID)
        .unwrap();
    assert_eq!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::ClaimMismatch {
            claim: "keyId".into()
        }
    );
}

#[test]
fn garbage_base64_is_rejected() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let mut delivery = signed(&body);
    delivery.set_header(
        "Signature",
        format!(
            "keyId=\"{APP_ID}\",algorithm=\"rsa-sha256\",headers=\"date digest x-request-id\",signature=\"!!!not*base64!!!\""
        ),
    );
    assert!(matches!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::MalformedHeader { ref header, .. } if header == "Signature"
    ));
}

#[test]
fn a_ciphertext_made_for_another_key_is_rejected() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let delivery = WebhookSigner::new(APP_ID, other_key().public_key().clone())
        .sign(&body, SENT_AT, REQUEST_ID)
        .unwrap();
    assert_eq!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::Undecryptable
    );
    // Right length, random bytes: also undecryptable.
    let mut delivery = signed(&body);
    let random = base64::engine::general_purpose::STANDARD.encode([7u8; 256]);
    delivery.set_header(
        "Signature",
        format!(
            "keyId=\"{APP_ID}\",algorithm=\"rsa-sha256\",headers=\"date digest x-request-id\",signature=\"{random}\""
        ),
    );
    assert_eq!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::Undecryptable
    );
}

#[test]
fn signed_date_and_request_id_must_equal_the_headers() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let mut delivery = signed(&body);
    delivery.set_header("X-Request-ID", "someone-elses-id");
    assert_eq!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::ClaimMismatch {
            claim: "x-request-id".into()
        }
    );
    // A Date header moved (still fresh) but not the signed one.
    let mut delivery = signed(&body);
    delivery.set_header("Date", "Mon, 08 Jun 2020 23:11:30 GMT");
    assert_eq!(
        verify(&body, &delivery).unwrap_err(),
        WebhookRejection::ClaimMismatch {
            claim: "date".into()
        }
    );
}

#[test]
fn malformed_signing_strings_and_headers_are_rejected() {
    let (body, digest, date) = form_delivery();
    let with_signature = |sig: String| resigned(&body, sig);
    // Lines out of the order of headers=.
    let swapped = signer()
        .signature_header(
            &format!("digest: {digest}\ndate: {date}\nx-request-id: {REQUEST_ID}"),
            &["date", "digest", "x-request-id"],
        )
        .unwrap();
    assert_eq!(
        verify(&body, &with_signature(swapped)).unwrap_err(),
        WebhookRejection::BadSignature
    );
    // A trailing newline (one line too many).
    let trailing = signer()
        .signature_header(
            &format!("date: {date}\ndigest: {digest}\nx-request-id: {REQUEST_ID}\n"),
            &["date", "digest", "x-request-id"],
        )
        .unwrap();
    assert_eq!(
        verify(&body, &with_signature(trailing)).unwrap_err(),
        WebhookRejection::BadSignature
    );
    // headers= without digest.
    let no_digest = signer()
        .signature_header(&format!("date: {date}"), &["date"])
        .unwrap();
    assert!(matches!(
        verify(&body, &with_signature(no_digest)).unwrap_err(),
        WebhookRejection::MalformedHeader { .. }
    ));
    // Another algorithm.
    let mut d = signed(&body);
    let sig = d
        .header("Signature")
        .unwrap()
        .replace("rsa-sha256", "hmac-sha256");
    d.set_header("Signature", sig);
    assert!(matches!(
        verify(&body, &d).unwrap_err(),
        WebhookRejection::AlgorithmNotAllowed(_)
    ));
    // Missing headers, a duplicate Signature, another method.
    let d = signed(&body);
    let only_sig =
        WebhookRequest::new("POST", URL, &body).header("Signature", d.header("Signature").unwrap());
    assert_eq!(
        verifier().verify(&only_sig).unwrap_err(),
        WebhookRejection::MissingHeader("Digest".into())
    );
    let twice = WebhookRequest::new("POST", URL, &body)
        .header("Signature", d.header("Signature").unwrap())
        .header("signature", d.header("Signature").unwrap());
    assert!(matches!(
        verifier().verify(&twice).unwrap_err(),
        WebhookRejection::DuplicateHeader(_)
    ));
    let get = WebhookRequest::new("GET", URL, &body);
    assert!(matches!(
        verifier().verify(&get).unwrap_err(),
        WebhookRejection::MethodNotAllowed(_)
    ));
}

#[test]
fn a_headers_list_other_than_the_expected_one() {
    let (body, digest, date) = form_delivery();
    let with_signature = |sig: String| resigned(&body, sig);
    // The plaintext follows the order of headers=, whatever it is.
    let reordered = signer()
        .signature_header(
            &format!("x-request-id: {REQUEST_ID}\ndigest: {digest}\ndate: {date}"),
            &["x-request-id", "digest", "date"],
        )
        .unwrap();
    let event = verify(&body, &with_signature(reordered)).unwrap();
    assert_eq!(event.data.request_id.as_deref(), Some(REQUEST_ID));
    // A genuine three-line signing string presented as covering two headers: refused.
    let genuine = signed(&body);
    let downgraded = genuine.header("Signature").unwrap().replace(
        "headers=\"date digest x-request-id\"",
        "headers=\"date digest\"",
    );
    assert_eq!(
        verify(&body, &with_signature(downgraded)).unwrap_err(),
        WebhookRejection::BadSignature
    );
    // A two-line signing string presented as covering three: refused.
    let two_lines = signer()
        .signature_header(
            &format!("date: {date}\ndigest: {digest}"),
            &["date", "digest", "x-request-id"],
        )
        .unwrap();
    assert_eq!(
        verify(&body, &with_signature(two_lines)).unwrap_err(),
        WebhookRejection::BadSignature
    );
    // Headers Fintecture does not sign on webhooks, or one listed twice: malformed, before
    // the private key is used.
    for headers in [
        &["(request-target)", "date", "digest"][..],
        &["date", "digest", "content-type"],
        &["date", "digest", "digest"],
        &["date", "date", "digest"],
        &["digest"],
    ] {
        let plaintext = headers
            .iter()
            .map(|h| format!("{h}: x"))
            .collect::<Vec<_>>()
            .join("\n");
        let sig = signer().signature_header(&plaintext, headers).unwrap();
        assert!(
            matches!(
                verify(&body, &with_signature(sig)).unwrap_err(),
                WebhookRejection::MalformedHeader { ref header, .. } if header == "Signature"
            ),
            "{headers:?}"
        );
    }
    // x-request-id signed but the header is absent: missing header, not a silent pass.
    let d = signed(&body);
    let mut request = WebhookRequest::new("POST", URL, &body).header("Content-Type", FORM);
    for (n, v) in d.headers.iter().filter(|(n, _)| n != "X-Request-ID") {
        request = request.header(n, v);
    }
    assert_eq!(
        verifier().verify(&request).unwrap_err(),
        WebhookRejection::MissingHeader("X-Request-ID".into())
    );
}

#[test]
fn an_authentic_but_malformed_body_is_a_payload_error() {
    let body = b"session_id=abc&amount=12%2C50&currency=EUR";
    assert!(matches!(
        verify(body, &signed(body)).unwrap_err(),
        WebhookRejection::MalformedPayload(_)
    ));
    let body = b"{\"session_id\": ";
    assert!(matches!(
        verify_with(&verifier(), body, "application/json", &signed(body)).unwrap_err(),
        WebhookRejection::MalformedPayload(_)
    ));
}

#[test]
fn an_unknown_status_is_never_success() {
    let body = b"session_id=abc&status=payment_teleported";
    let event = verify(body, &signed(body)).unwrap();
    assert_eq!(
        event.status,
        Some(PaymentStatus::Unknown("payment_teleported".into()))
    );
}

#[test]
fn a_retry_signed_30_hours_ago_verifies_by_default_and_an_older_one_than_the_window_does_not() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let delivery = signed(&body);
    let settings = |now: OffsetDateTime| {
        WebhookSettings::new(APP_ID, key()).clock(Arc::new(FixedClock::new(now)))
    };
    let default = FintectureWebhookVerifier::new(settings(SENT_AT + time::Duration::hours(30)));
    let event = verify_with(&default, &body, FORM, &delivery);
    assert!(event.is_ok(), "{event:?}");
    let narrowed = FintectureWebhookVerifier::new(
        settings(SENT_AT + time::Duration::hours(30)).max_age(Duration::from_secs(29 * 3600)),
    );
    assert!(matches!(
        verify_with(&narrowed, &body, FORM, &delivery).unwrap_err(),
        WebhookRejection::TooOld { .. }
    ));
}

#[test]
fn an_amount_that_is_not_exact_in_its_currency_is_a_payload_error_naming_the_field() {
    for (body, field) in [
        (&b"session_id=abc&status=payment_created&amount=273.005&currency=EUR"[..], "amount"),
        (
            &b"session_id=abc&status=payment_partial&amount=273.00&received_amount=0.001&currency=EUR"[..],
            "received_amount",
        ),
    ] {
        match verify(body, &signed(body)) {
            Err(WebhookRejection::MalformedPayload(reason)) => {
                assert!(reason.contains(field), "{reason}")
            }
            other => panic!("{}: {other:?}", String::from_utf8_lossy(body)),
        }
    }
}

#[test]
fn during_a_key_rotation_a_webhook_encrypted_to_the_previous_key_verifies() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let now = SENT_AT + time::Duration::seconds(30);
    // `other_key()` is the new key, `key()` the previous one the delivery was encrypted to.
    let rotating = FintectureWebhookVerifier::new(
        WebhookSettings::new(APP_ID, other_key())
            .previous_key(key())
            .clock(Arc::new(FixedClock::new(now))),
    );
    let event = verify_with(&rotating, &body, FORM, &signed(&body)).unwrap();
    assert_eq!(event.data.key_index(), 1, "decrypted with the previous key");
    let to_new = WebhookSigner::new(APP_ID, other_key().public_key().clone())
        .sign(&body, SENT_AT, REQUEST_ID)
        .unwrap();
    let event = verify_with(&rotating, &body, FORM, &to_new).unwrap();
    assert_eq!(event.data.key_index(), 0, "decrypted with the current key");
    // Once the previous key is removed, its deliveries no longer verify.
    let rotated = FintectureWebhookVerifier::new(
        WebhookSettings::new(APP_ID, other_key()).clock(Arc::new(FixedClock::new(now))),
    );
    assert_eq!(
        verify_with(&rotated, &body, FORM, &signed(&body)).unwrap_err(),
        WebhookRejection::Undecryptable
    );
}

#[test]
fn a_key_labelled_with_the_delivery_key_id_decrypts_it_and_unknown_key_ids_are_refused() {
    let body = FIXTURES.bytes("webhook_payment_created.form");
    let now = SENT_AT + time::Duration::seconds(30);
    let labelled = FintectureWebhookVerifier::new(
        WebhookSettings::new(APP_ID, other_key())
            .key_with_id("key-2024", key())
            .clock(Arc::new(FixedClock::new(now))),
    );
    let delivery = WebhookSigner::new("key-2024", key().public_key().clone())
        .sign(&body, SENT_AT, REQUEST_ID)
        .unwrap();
    let event = verify_with(&labelled, &body, FORM, &delivery).unwrap();
    assert_eq!(event.data.key_index(), 1);
    let unknown = WebhookSigner::new("key-2023", key().public_key().clone())
        .sign(&body, SENT_AT, REQUEST_ID)
        .unwrap();
    assert_eq!(
        verify_with(&labelled, &body, FORM, &unknown).unwrap_err(),
        WebhookRejection::ClaimMismatch {
            claim: "keyId".into()
        }
    );
}
