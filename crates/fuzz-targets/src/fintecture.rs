//! Fintecture: the `Signature` header, webhook bodies, the decrypted signing string, API answers.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use payments_core::provider_support::form_encode;
use payments_core::webhook::{WebhookRequest, WebhookVerifier};
use payments_fintecture::callback::RedirectCallback;
use payments_fintecture::keys::AppPrivateKey;
use payments_fintecture::signing::{
    ALGORITHM, SignatureHeader, digest_header, http_date, parse_http_date,
};
use payments_fintecture::testing::WebhookSigner;
use payments_fintecture::webhook::{
    FintectureWebhookVerifier, WebhookSettings, parse_form, parse_json_fields,
};
use payments_fintecture::wire::{
    ConnectSession, FintecturePayment, PaymentList, RefundResponse, SettlementEnvelope,
    SettlementList,
};
use time::OffsetDateTime;

use crate::support::{clock, now, round_trip, select, text};

const APP_ID: &str = "fuzz-app-id";
const URL: &str = "https://shop.example/fintecture/webhook";
const REQUEST_ID: &str = "88c414df-6895-48db-8ef3-1fd1ce4272c6";
/// A webhook body as Fintecture's documentation shows it (form-urlencoded).
const BODY: &[u8] = b"session_id=b2bca2bcd3b64a32a7da0766df59a7d2&status=payment_created&customer_id=1ef74051a77673de120820fb370dc382&provider=provider&state=thisisastate";

/// The application key and the verifier that decrypts with it.
struct Fixture {
    key: Arc<AppPrivateKey>,
    verifier: FintectureWebhookVerifier,
}

fn fixture() -> Option<&'static Fixture> {
    static FIXTURE: OnceLock<Option<Fixture>> = OnceLock::new();
    FIXTURE
        .get_or_init(|| {
            let key = Arc::new(AppPrivateKey::generate().ok()?);
            let settings = WebhookSettings::new(APP_ID, key.clone()).clock(clock());
            Some(Fixture {
                key,
                verifier: FintectureWebhookVerifier::new(settings),
            })
        })
        .as_ref()
}

/// Fintecture's webhook verification and parsing. The first byte selects (modulo 6):
///
/// - `0`: the `Signature` header value
///   ([`SignatureHeader::parse`](payments_fintecture::signing::SignatureHeader::parse)): a header
///   that parses, written back, parses to the same (quotes and backslashes escaped again); then
///   the whole verifier with it, which must refuse it.
/// - `1`: a webhook body as form fields and as JSON fields
///   ([`parse_form`](payments_fintecture::webhook::parse_form),
///   [`parse_json_fields`](payments_fintecture::webhook::parse_json_fields)): form fields that
///   parse, encoded again, parse to the same; and the payer's redirect query
///   ([`RedirectCallback::from_query`](payments_fintecture::callback::RedirectCallback::from_query)).
/// - `2`: the decrypted signing string: the bytes (at most 214, what RSA-OAEP with a 2048-bit key
///   holds) encrypted with the application's public key, in an otherwise valid delivery; the
///   second byte's low bit says whether `headers=` lists `x-request-id`. The verifier accepts only
///   the signing string of the delivery's own headers.
/// - `3`: the webhook body in a correctly signed delivery; the second byte picks the
///   `Content-Type` (form, JSON, none). The event's fields are the ones the body parser reads.
/// - `4`: API answers: a payment, a payment list, a refund, settlements, a connect session (each
///   written back and read again to the same value), the neutral payment, and the error body.
/// - `5`: the `Date` header
///   ([`parse_http_date`](payments_fintecture::signing::parse_http_date)): a date from 1970 to
///   9999 prints back to itself.
pub fn fintecture(data: &[u8]) {
    let Some((selector, input)) = select(data, 6) else {
        return;
    };
    match selector {
        0 => signature_header(input),
        1 => bodies(input),
        2 => signing_string(input),
        3 => event(input),
        4 => api_answers(input),
        _ => date(input),
    }
}

/// The headers of a delivery of [`BODY`] at [`now`], but for `Signature`.
fn delivery_headers(body: &[u8]) -> [(&'static str, String); 3] {
    [
        ("Digest", digest_header(body)),
        ("Date", http_date(now())),
        ("X-Request-ID", REQUEST_ID.to_string()),
    ]
}

fn request<'a>(
    body: &'a [u8],
    headers: &'a [(&'static str, String)],
    signature: &'a [u8],
) -> WebhookRequest<'a> {
    let mut request = WebhookRequest::new("POST", URL, body)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .header_bytes("Signature", signature);
    for (name, value) in headers {
        request = request.header(name, value);
    }
    request
}

fn signature_header(input: &[u8]) {
    let value = text(input);
    if let Ok(parsed) = SignatureHeader::parse(&value) {
        let written = parsed.to_header_value();
        assert_eq!(
            SignatureHeader::parse(&written).as_ref(),
            Ok(&parsed),
            "Signature round trip: {written:?}"
        );
    }
    let Some(fixture) = fixture() else { return };
    let headers = delivery_headers(BODY);
    let request = request(BODY, &headers, input);
    assert!(
        fixture.verifier.verify(&request).is_err(),
        "a forged Signature verified"
    );
}

fn bodies(input: &[u8]) {
    if let Ok(fields) = parse_form(input) {
        let encoded: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v)))
            .collect();
        let again = parse_form(encoded.join("&").as_bytes());
        assert_eq!(again.ok().as_ref(), Some(&fields), "form round trip");
    }
    let _ = parse_json_fields(input);
    let _ = RedirectCallback::from_query(&text(input));
}

fn signing_string(input: &[u8]) {
    let Some(fixture) = fixture() else { return };
    let Some((&flags, plaintext)) = input.split_first() else {
        return;
    };
    let plaintext = plaintext.get(..214).unwrap_or(plaintext);
    let names: &[&str] = if flags & 1 == 0 {
        &["date", "digest", "x-request-id"]
    } else {
        &["date", "digest"]
    };
    let Ok(ciphertext) = fixture.key.public_key().encrypt_oaep_sha1(plaintext) else {
        return;
    };
    let signature = SignatureHeader {
        key_id: APP_ID.into(),
        algorithm: ALGORITHM.into(),
        headers: names.iter().map(|h| (*h).to_string()).collect(),
        signature: B64.encode(ciphertext),
    }
    .to_header_value();
    let headers = delivery_headers(BODY);
    let request = request(BODY, &headers, signature.as_bytes());
    if fixture.verifier.verify(&request).is_ok() {
        // Accepted: the plaintext is the signing string of these headers, up to the case of the
        // names and the whitespace around the values.
        let expected: Vec<String> = names
            .iter()
            .filter_map(|name| {
                let (_, value) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name))?;
                Some(format!("{name}: {value}"))
            })
            .collect();
        let normalized: Vec<String> = String::from_utf8_lossy(plaintext)
            .split('\n')
            .filter_map(|line| {
                let (name, value) = line.split_once(": ")?;
                Some(format!("{}: {}", name.to_ascii_lowercase(), value.trim()))
            })
            .collect();
        assert_eq!(normalized, expected, "a wrong signing string was accepted");
    }
}

fn event(input: &[u8]) {
    let Some(fixture) = fixture() else { return };
    let Some((&pick, body)) = input.split_first() else {
        return;
    };
    let Ok(signed) =
        WebhookSigner::new(APP_ID, fixture.key.public_key().clone()).sign(body, now(), REQUEST_ID)
    else {
        return;
    };
    let content_type = match pick % 3 {
        0 => Some("application/x-www-form-urlencoded"),
        1 => Some("application/json"),
        _ => None,
    };
    let mut request = WebhookRequest::new("POST", URL, body);
    if let Some(content_type) = content_type {
        request = request.header("Content-Type", content_type);
    }
    for (name, value) in &signed.headers {
        request = request.header(name, value);
    }
    let Ok(event) = fixture.verifier.verify(&request) else {
        return;
    };
    assert_eq!(event.raw_body, body);
    let json = match content_type {
        Some(content_type) => content_type.contains("json"),
        None => body.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{'),
    };
    let fields: Option<BTreeMap<String, String>> = if json {
        parse_json_fields(body).ok()
    } else {
        parse_form(body).ok()
    };
    assert_eq!(fields.as_ref(), Some(&event.data.fields), "event fields");
    assert_eq!(event.payment_id, event.data.session_id);
}

fn api_answers(input: &[u8]) {
    if let Ok(payment) = serde_json::from_slice::<FintecturePayment>(input) {
        round_trip(&payment);
        let raw = serde_json::from_slice(input).unwrap_or_default();
        let _ = payments_fintecture::convert::to_payment(&payment, raw);
    }
    if let Ok(list) = serde_json::from_slice::<PaymentList>(input) {
        round_trip(&list);
        for item in &list.data {
            let _ = payments_fintecture::convert::list_item_to_payment(item);
        }
    }
    if let Ok(refund) = serde_json::from_slice::<RefundResponse>(input) {
        round_trip(&refund);
    }
    if let Ok(settlements) = serde_json::from_slice::<SettlementList>(input) {
        round_trip(&settlements);
    }
    if let Ok(settlement) = serde_json::from_slice::<SettlementEnvelope>(input) {
        round_trip(&settlement);
    }
    if let Ok(session) = serde_json::from_slice::<ConnectSession>(input) {
        round_trip(&session);
    }
    let _ = payments_fintecture::convert::provider_error(input);
}

fn date(input: &[u8]) {
    let Some(date) = parse_http_date(&text(input)) else {
        return;
    };
    let in_range = OffsetDateTime::UNIX_EPOCH <= date && date.year() <= 9999;
    if in_range {
        let printed = http_date(date);
        assert_eq!(parse_http_date(&printed), Some(date), "Date round trip");
    }
}
