//! `Hub2-Signature` verification over the raw body (HMAC-SHA256, s1/s0 rotation) and typed event
//! parsing. Runs without the `client` feature: no HTTP stack, no runtime.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use payments_core::PaymentStatus;
use payments_core::webhook::{
    Authenticity, DedupStore, InMemoryDedupStore, VerifiedEvent, WebhookRejection, WebhookRequest,
    WebhookVerifier,
};
use payments_hub2::PROVIDER;
use payments_hub2::testing::{WebhookSigner, event_body};
use payments_hub2::webhook::{EventData, EventType, Hub2Event, Hub2WebhookVerifier};
use payments_hub2::{Hub2PaymentStatus, IntentStatus};
use payments_test_support::{Fixtures, fixtures};
use serde_json::json;

const FIXTURES: Fixtures = fixtures!();

const SECRET: &str = "whsec_7f3c1b2a9d8e4f60a1b2c3d4e5f60718";
const PREVIOUS: &str = "whsec_previous_0123456789abcdef";
const URL: &str = "https://shop.example/hub2/webhook";
/// HMAC-SHA256 of `event_payment_succeeded.json` under `SECRET` and `PREVIOUS`, computed
/// independently (Python's `hmac`), so the signer and the verifier cannot share a mistake.
const KNOWN_S1: &str = "9066543350172b49d2c7e4d0ba54dd35d3f72dcecc44c678e454749f30d6ae79";
const KNOWN_S0: &str = "ae19e29d31eea9a69001807cd53c9657154d15e8a4a2c065deda3c3c0da519b3";

fn verifier() -> Hub2WebhookVerifier {
    Hub2WebhookVerifier::new(SECRET).unwrap()
}

fn verify_with(
    verifier: &Hub2WebhookVerifier,
    body: &[u8],
    signature: Option<&str>,
) -> Result<VerifiedEvent<Hub2Event>, WebhookRejection> {
    let mut request =
        WebhookRequest::new("POST", URL, body).header("Content-Type", "application/json");
    if let Some(signature) = signature {
        request = request.header("Hub2-Signature", signature);
    }
    verifier.verify(&request)
}

fn verify(body: &[u8], signature: &str) -> Result<VerifiedEvent<Hub2Event>, WebhookRejection> {
    verify_with(&verifier(), body, Some(signature))
}

fn is_malformed(r: &Result<VerifiedEvent<Hub2Event>, WebhookRejection>) -> bool {
    matches!(r, Err(WebhookRejection::MalformedHeader { header, .. }) if header == "Hub2-Signature")
}

#[test]
fn the_signer_matches_an_independent_hmac() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    assert_eq!(WebhookSigner::hmac_hex(SECRET, &body), KNOWN_S1);
    assert_eq!(
        WebhookSigner::new(SECRET).previous(PREVIOUS).sign(&body),
        format!("s1={KNOWN_S1},s0={KNOWN_S0}")
    );
}

#[test]
fn a_valid_s1_verifies_and_yields_a_typed_payment_event() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    let event = verify(&body, &format!("s1={KNOWN_S1}")).unwrap();
    assert_eq!(event.provider, PROVIDER);
    assert_eq!(event.event_id, "evt_9Qm2Xr7Lp0Ws3Ky5Tb1Nd");
    assert_eq!(event.dedup_key(), "hub2:evt_9Qm2Xr7Lp0Ws3Ky5Tb1Nd");
    assert_eq!(event.event_type.as_deref(), Some("payment.succeeded"));
    assert_eq!(
        event.payment_id.as_deref(),
        Some("pi_tffiDaXyWQu203rIXhujW")
    );
    // The attempt succeeded; whether the intent is paid is the intent's to say.
    assert_eq!(event.status, None);
    assert_eq!(event.raw_status, None);
    assert_eq!(
        event.data.attempt_status(),
        Some((PaymentStatus::Succeeded, "successful".to_owned()))
    );
    assert_eq!(event.authenticity, Authenticity::Signed);
    assert_eq!(event.raw_body, body);
    assert!(event.occurred_at.is_some());
    assert_eq!(event.data.event_type, EventType::PaymentSucceeded);
    let EventData::Payment(payment) = &event.data.data else {
        panic!("{:?}", event.data.data)
    };
    assert_eq!(payment.status, Hub2PaymentStatus::Successful);
    assert_eq!(payment.id, "pay_Y2q9LxS4bMw0EoWcJr1Qd");
    let event: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&event.data).unwrap()).unwrap();
    insta::assert_json_snapshot!("payment_succeeded_event", event);
}

#[test]
fn a_valid_s0_alone_verifies_during_a_rotation() {
    // HUB2 rotated to a secret this server does not have yet: s1 is unknown, s0 uses ours.
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    let header = WebhookSigner::new("whsec_brand_new_unknown_here")
        .previous(SECRET)
        .sign(&body);
    let event = verify(&body, &header).unwrap();
    assert_eq!(event.event_id, "evt_9Qm2Xr7Lp0Ws3Ky5Tb1Nd");
    // And the merchant's own rotation: the verifier holds the new and the previous secret.
    let rotating = Hub2WebhookVerifier::new("whsec_new_one")
        .unwrap()
        .with_previous(PREVIOUS)
        .unwrap();
    let header = format!("s1={},s0={KNOWN_S0}", "0".repeat(64));
    verify_with(&rotating, &body, Some(&header)).unwrap();
}

#[test]
fn both_signatures_wrong_is_a_bad_signature() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    let header = WebhookSigner::new("whsec_someone_else")
        .previous("whsec_also_wrong")
        .sign(&body);
    assert_eq!(
        verify(&body, &header).unwrap_err(),
        WebhookRejection::BadSignature
    );
    assert_eq!(WebhookRejection::BadSignature.http_status(), 401);
    // A signature of the right body under the verifier's secret used as... the body.
    let header = format!("s1={}", WebhookSigner::hmac_hex(SECRET, b"{}"));
    assert_eq!(
        verify(&body, &header).unwrap_err(),
        WebhookRejection::BadSignature
    );
}

#[test]
fn a_changed_body_is_rejected() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    let header = format!("s1={KNOWN_S1},s0={KNOWN_S0}");
    // One flipped byte, an appended newline, re-serialised JSON: all rejected.
    let mut flipped = body.clone();
    let at = flipped.len() / 2;
    flipped[at] ^= 0x01;
    let mut appended = body.clone();
    appended.push(b'\n');
    let reserialised =
        serde_json::to_vec(&serde_json::from_slice::<serde_json::Value>(&body).unwrap()).unwrap();
    let upgraded = String::from_utf8(body.clone())
        .unwrap()
        .replace("\"amount\":200", "\"amount\":20000")
        .into_bytes();
    for tampered in [flipped, appended, reserialised, upgraded] {
        assert_ne!(tampered, body);
        assert_eq!(
            verify(&tampered, &header).unwrap_err(),
            WebhookRejection::BadSignature
        );
    }
}

#[test]
fn a_missing_or_duplicated_header_is_rejected() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    let missing = verify_with(&verifier(), &body, None).unwrap_err();
    assert_eq!(
        missing,
        WebhookRejection::MissingHeader("Hub2-Signature".into())
    );
    assert_eq!(missing.http_status(), 400);
    let header = format!("s1={KNOWN_S1}");
    let request = WebhookRequest::new("POST", URL, &body)
        .header("Hub2-Signature", &header)
        .header("hub2-signature", &header);
    assert!(matches!(
        verifier().verify(&request),
        Err(WebhookRejection::DuplicateHeader(_))
    ));
    let request = WebhookRequest::new("GET", URL, &body).header("Hub2-Signature", &header);
    assert!(matches!(
        verifier().verify(&request),
        Err(WebhookRejection::MethodNotAllowed(_))
    ));
}

#[test]
fn malformed_headers_are_rejected() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    for header in [
        "".to_string(),
        "garbage".into(),
        format!("s1:{KNOWN_S1}"),
        format!("s1={}", &KNOWN_S1[..62]),
        format!("s1={KNOWN_S1}00"),
        format!("s1={}zz", &KNOWN_S1[..62]),
        format!("S1={KNOWN_S1}"),
        format!("t=1,v1={KNOWN_S1}"),
        format!("s1={KNOWN_S1},s0=not-hex"),
        format!("sha256={KNOWN_S1}"),
    ] {
        assert!(is_malformed(&verify(&body, &header)), "{header:?}");
    }
}

#[test]
fn tolerated_header_forms_are_deliberate() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    for header in [
        // Optional whitespace around items, keys and values.
        format!(" s1 = {KNOWN_S1} , s0 = {KNOWN_S0} "),
        format!("s1={KNOWN_S1},\ts0={KNOWN_S0}"),
        // Upper-case hex: compared as bytes.
        format!("s1={}", KNOWN_S1.to_uppercase()),
        // Unknown keys are ignored; order does not matter; a trailing comma is fine.
        format!("t=1700000000,s0={KNOWN_S0},s1={KNOWN_S1},s9=future,"),
        // s0 first and wrong, s1 right.
        format!("s0={},s1={KNOWN_S1}", "f".repeat(64)),
    ] {
        verify(&body, &header).unwrap_or_else(|e| panic!("{header:?}: {e:?}"));
    }
    // An unknown key never verifies on its own, even with the right value.
    assert!(is_malformed(&verify(&body, &format!("v1={KNOWN_S1}"))));
}

#[test]
fn intent_events_and_failures_are_typed() {
    let body = FIXTURES.bytes("event_intent_created.json");
    let header = WebhookSigner::new(SECRET).sign(&body);
    let event = verify(&body, &header).unwrap();
    assert_eq!(event.data.event_type, EventType::PaymentIntentCreated);
    assert_eq!(event.status, Some(PaymentStatus::Pending));
    assert_eq!(event.raw_status.as_deref(), Some("payment_required"));
    assert_eq!(
        event.payment_id.as_deref(),
        Some("pi_tffiDaXyWQu203rIXhujW")
    );
    let EventData::Intent(intent) = &event.data.data else {
        panic!("{:?}", event.data.data)
    };
    assert_eq!(intent.status, IntentStatus::PaymentRequired);

    let body = FIXTURES.bytes("event_payment_failed.json");
    let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
    assert_eq!(
        event.status, None,
        "an attempt's failure does not end the intent"
    );
    assert_eq!(
        event.data.attempt_status(),
        Some((PaymentStatus::Failed, "failed".to_owned()))
    );
    let payment = event.data.attempt().unwrap();
    assert_eq!(payment.id, "pay_Wv8nH2kPq5sTz1aRb7Cde");
    assert_eq!(
        payment.failure.as_ref().unwrap().code.as_deref(),
        Some("wave_payment_expired")
    );
}

#[test]
fn unknown_event_types_are_kept() {
    // A new type in a known family is read with its family's object.
    let intent =
        json!({"id":"pi_1","status":"canceled","amount":200,"currency":"XOF","payments":[]});
    let body = event_body(
        "evt_2",
        "payment_intent.canceled",
        "2024-05-01T10:00:00.000Z",
        &intent,
    );
    let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
    assert_eq!(
        event.data.event_type,
        EventType::Other("payment_intent.canceled".into())
    );
    assert_eq!(event.status, Some(PaymentStatus::Cancelled));
    // A new family is kept as JSON, with no status claimed.
    let data = json!({"id":"po_1","amount":5000});
    let body = event_body(
        "evt_3",
        "payout.completed",
        "2024-05-01T10:00:00.000Z",
        &data,
    );
    let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
    assert_eq!(event.event_type.as_deref(), Some("payout.completed"));
    assert_eq!(event.status, None);
    assert!(matches!(&event.data.data, EventData::Other(v) if v == &data));
    // A new type of a known family carrying less than the whole object is kept, not rejected
    // (a rejected authentic delivery is retried for 34 hours, then the endpoint is dead).
    let partial = json!({"id":"pi_1"});
    let body = event_body(
        "evt_5",
        "payment_intent.deleted",
        "2024-05-01T10:00:00.000Z",
        &partial,
    );
    let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
    assert_eq!(event.event_id, "evt_5");
    assert_eq!(event.status, None, "no status claimed");
    assert!(matches!(&event.data.data, EventData::Other(v) if v == &partial));
    // An unknown payment status is never success.
    let payment = json!({"id":"pay_1","intentId":"pi_1","status":"reversed"});
    let body = event_body(
        "evt_4",
        "payment.reversed",
        "2024-05-01T10:00:00.000Z",
        &payment,
    );
    let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
    assert_eq!(event.status, None);
    assert_eq!(
        event.data.attempt_status(),
        Some((PaymentStatus::Unknown("reversed".into()), "reversed".into()))
    );
}

#[test]
fn a_signed_but_undocumented_payload_is_malformed_payload() {
    for body in [
        br#"{"type":"payment.succeeded","data":{}}"#.to_vec(),
        br#"{"id":"evt_1","type":"payment.succeeded","data":{"status":"successful"}}"#.to_vec(),
        br#"{"id":"evt_1","type":"payment_intent.created","data":{"id":"pi_1","status":"x","amount":1.5,"currency":"XOF"}}"#.to_vec(),
        b"not json".to_vec(),
    ] {
        let header = WebhookSigner::new(SECRET).sign(&body);
        assert!(
            matches!(verify(&body, &header), Err(WebhookRejection::MalformedPayload(_))),
            "{}",
            String::from_utf8_lossy(&body)
        );
    }
    // A body that is not UTF-8 (JSON is) says so, with where.
    let body = b"{\"id\":\"evt_\xff\"}";
    let header = WebhookSigner::new(SECRET).sign(body);
    assert_eq!(
        verify(body, &header).unwrap_err(),
        WebhookRejection::MalformedPayload(
            "not a HUB2 event envelope: not UTF-8 (at byte 11)".into()
        )
    );
    // Nothing is parsed before the signature is checked: garbage with a bad signature is a
    // signature failure, not a payload one.
    assert_eq!(
        verify(b"not json", &format!("s1={KNOWN_S1}")).unwrap_err(),
        WebhookRejection::BadSignature
    );
}

#[test]
fn duplicates_are_caught_on_the_event_id() {
    let body = FIXTURES.bytes("event_payment_succeeded.json");
    let header = format!("s1={KNOWN_S1}");
    let seen = InMemoryDedupStore::new();
    let ttl = std::time::Duration::from_secs(48 * 3600);
    let first = verify(&body, &header).unwrap();
    assert!(seen.insert_if_new(&first.dedup_key(), ttl));
    let retry = verify(&body, &header).unwrap();
    assert!(
        !seen.insert_if_new(&retry.dedup_key(), ttl),
        "a redelivery is a duplicate"
    );
}

#[test]
fn secrets_never_show() {
    let v = Hub2WebhookVerifier::new(SECRET).unwrap();
    assert!(!format!("{v:?}").contains("whsec"));
    let signer = WebhookSigner::new(SECRET).previous(PREVIOUS);
    assert!(!format!("{signer:?}").contains("whsec"));
    let rejection = verify(b"{}", "s1=zz").unwrap_err();
    assert!(!format!("{rejection} {rejection:?}").contains("whsec"));
}

/// The events HUB2 sends for one intent whose first attempt failed and whose second succeeded
/// (the attempts of `get_intent_successful_200.json`), in order: `payment.failed`,
/// `payment.succeeded`, then the intent's own event.
fn failed_then_paid() -> Vec<Vec<u8>> {
    let intent: serde_json::Value =
        serde_json::from_slice(&FIXTURES.bytes("get_intent_successful_200.json")).unwrap();
    let first_attempt = &intent["payments"][0];
    assert_eq!(first_attempt["status"], "failed");
    vec![
        event_body(
            "evt_7Jc0Ve5Mr2Ya8Kt4Wn6Qs",
            "payment.failed",
            "2022-07-18T06:35:52.114Z",
            first_attempt,
        ),
        FIXTURES.bytes("event_payment_succeeded.json"),
        FIXTURES.bytes("event_intent_succeeded.json"),
    ]
}

#[test]
fn a_failed_attempt_then_a_paid_one_ends_succeeded_without_a_conflict() {
    use payments_core::Transition;
    let mut ledger = PaymentStatus::Pending;
    for body in failed_then_paid() {
        let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
        assert_eq!(
            event.payment_id.as_deref(),
            Some("pi_tffiDaXyWQu203rIXhujW")
        );
        let Some(status) = event.status else { continue };
        match ledger.transition_to(&status) {
            Transition::Advance => ledger = status,
            Transition::ConflictingFinal => panic!(
                "{:?} after {ledger:?}: a failed attempt must not have finalised the intent",
                event.event_type
            ),
            _ => {}
        }
    }
    assert_eq!(ledger, PaymentStatus::Succeeded);
}

#[test]
fn a_failed_attempt_event_never_gives_the_intent_a_final_status() {
    for body in [
        FIXTURES.bytes("event_payment_failed.json"),
        failed_then_paid().swap_remove(0),
    ] {
        let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
        assert!(
            event.status.as_ref().is_none_or(|s| !s.is_final()),
            "a payment.failed event set the intent to {:?}",
            event.status
        );
        let (attempt, raw) = event.data.attempt_status().unwrap();
        assert_eq!((attempt, raw.as_str()), (PaymentStatus::Failed, "failed"));
        assert!(
            event
                .data
                .attempt()
                .is_some_and(|a| a.id.starts_with("pay_"))
        );
    }
}

#[test]
fn an_attempt_in_progress_says_what_the_intent_is_doing() {
    let otp = json!({"type":"otp","message":"Mode Sandbox. Entrez un numéro à 4 chiffres pour authentifier le paiement."});
    for (payment, intent) in [
        (
            json!({"id":"pay_1","intentId":"pi_1","status":"pending","nextAction":otp}),
            Some((PaymentStatus::RequiresAction, "action_required")),
        ),
        (
            json!({"id":"pay_1","intentId":"pi_1","status":"pending"}),
            Some((PaymentStatus::Processing, "processing")),
        ),
        (
            json!({"id":"pay_1","intentId":"pi_1","status":"created"}),
            Some((PaymentStatus::Processing, "processing")),
        ),
        (
            json!({"id":"pay_1","intentId":"pi_1","status":"successful"}),
            None,
        ),
    ] {
        let body = event_body(
            "evt_6",
            "payment.action_required",
            "2024-05-01T10:00:00.000Z",
            &payment,
        );
        let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
        assert_eq!(
            (event.status.clone(), event.raw_status.as_deref()),
            intent.map_or((None, None), |(s, r)| (Some(s), Some(r))),
            "{payment}"
        );
        assert!(event.status.is_none_or(|s| !s.is_final()));
    }
    // The intent's own event decides, final statuses included.
    let body = FIXTURES.bytes("event_intent_succeeded.json");
    let event = verify(&body, &WebhookSigner::new(SECRET).sign(&body)).unwrap();
    assert_eq!(event.status, Some(PaymentStatus::Succeeded));
    assert_eq!(event.raw_status.as_deref(), Some("successful"));
    assert_eq!(event.data.attempt(), None);
}
