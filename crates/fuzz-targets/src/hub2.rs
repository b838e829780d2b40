//! HUB2: the `Hub2-Signature` header, events, API answers.

use payments_core::webhook::{WebhookRequest, WebhookVerifier};
use payments_hub2::testing::WebhookSigner;
use payments_hub2::webhook::{Hub2WebhookVerifier, SignatureHeader, parse_event};
use payments_hub2::wire::{Hub2Payment, IntentStatusResponse, PaymentIntent, Webhook};

use crate::support::{round_trip, select, text};

const SECRET: &str = "whsec_fuzz_current_secret";
const PREVIOUS: &str = "whsec_fuzz_previous_secret";
const URL: &str = "https://shop.example/hub2/webhook";
/// A `payment_intent.succeeded` event in the shape of HUB2's API reference (a PaymentIntent in
/// an `{id, type, createdAt, data}` envelope).
const BODY: &[u8] = br#"{"id":"evt_2Hx7Rk4Nq9Wb1Ls6Pz3Ty","type":"payment_intent.succeeded","createdAt":"2022-07-18T06:37:40.650Z","data":{"id":"pi_tffiDaXyWQu203rIXhujW","createdAt":"2022-07-18T06:35:25.932Z","updatedAt":"2022-07-18T06:37:40.503Z","merchantId":"MTE1ODE2","purchaseReference":"Test_YYYY_MM_DD_01","customerReference":"Test_01","amount":200,"currency":"XOF","status":"successful","mode":"sandbox"}}"#;

/// HUB2's webhook verification and parsing. The first byte selects (modulo 3):
///
/// - `0`: the `Hub2-Signature` header value
///   ([`SignatureHeader::parse`](payments_hub2::webhook::SignatureHeader::parse)), checked
///   against a fixed body under the current and the previous secret: it verifies only when it
///   holds the body's HMAC under one of them.
/// - `1`: the event body, correctly signed (`s1=` and `s0=`): the verifier accepts it exactly
///   when [`parse_event`](payments_hub2::webhook::parse_event) does, with the event's id.
/// - `2`: API answers: an intent (and its neutral payment and money), an attempt, an intent
///   status, a webhook and a webhook list (each written back and read again to the same value
///   where the type compares), and the error body.
pub fn hub2(data: &[u8]) {
    let Some((selector, input)) = select(data, 3) else {
        return;
    };
    match selector {
        0 => signature_header(input),
        1 => event(input),
        _ => api_answers(input),
    }
}

fn verifier() -> Option<Hub2WebhookVerifier> {
    Hub2WebhookVerifier::new(SECRET)
        .ok()?
        .with_previous(PREVIOUS)
        .ok()
}

fn signature_header(input: &[u8]) {
    let header = text(input);
    if let Ok(parsed) = SignatureHeader::parse(&header) {
        assert!(
            parsed.slots().count() > 0,
            "a header without signatures parsed"
        );
    }
    let Some(verifier) = verifier() else { return };
    let verified = verifier.verify_signature(BODY, &header);
    if verified.is_ok() {
        let lower = header.to_ascii_lowercase();
        let signed = [SECRET, PREVIOUS]
            .iter()
            .any(|secret| lower.contains(&WebhookSigner::hmac_hex(secret, BODY)));
        assert!(signed, "a header without the body's HMAC verified");
    }
    // The verifier reads the same text the same way (the raw bytes are compared only when they
    // are that text: a header that is not UTF-8 is refused before it is parsed).
    let request = WebhookRequest::new("POST", URL, BODY).header("Hub2-Signature", &header);
    assert_eq!(verifier.verify(&request).is_ok(), verified.is_ok());
    let raw = WebhookRequest::new("POST", URL, BODY).header_bytes("Hub2-Signature", input);
    let raw_verified = verifier.verify(&raw);
    if std::str::from_utf8(input).is_ok() {
        assert_eq!(raw_verified.is_ok(), verified.is_ok());
    } else {
        assert!(raw_verified.is_err(), "a header that is not UTF-8 verified");
    }
}

fn event(input: &[u8]) {
    let Some(verifier) = verifier() else { return };
    let signature = WebhookSigner::new(SECRET).previous(PREVIOUS).sign(input);
    let request = WebhookRequest::new("POST", URL, input).header("Hub2-Signature", &signature);
    let verified = verifier.verify(&request);
    let parsed = parse_event(input);
    assert_eq!(
        verified.is_ok(),
        parsed.is_ok(),
        "an authentic event is accepted exactly when it parses"
    );
    if let (Ok(verified), Ok(parsed)) = (verified, parsed) {
        assert_eq!(verified.event_id, parsed.id);
        assert_eq!(verified.raw_body, input);
        let _ = parsed.attempt_status();
    }
}

fn api_answers(input: &[u8]) {
    if let Ok(intent) = serde_json::from_slice::<PaymentIntent>(input) {
        let _ = intent.money();
        let raw = serde_json::from_slice(input).unwrap_or_default();
        let _ = payments_hub2::convert::to_payment(&intent, raw);
    }
    if let Ok(payment) = serde_json::from_slice::<Hub2Payment>(input) {
        round_trip(&payment);
    }
    if let Ok(status) = serde_json::from_slice::<IntentStatusResponse>(input) {
        round_trip(&status);
    }
    let _ = serde_json::from_slice::<Webhook>(input);
    let _ = serde_json::from_slice::<Vec<Webhook>>(input);
    let _ = payments_hub2::convert::provider_error(input);
}
