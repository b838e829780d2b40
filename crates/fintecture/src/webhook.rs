//! Fintecture webhook verification: RSA-OAEP-encrypted signing strings, checked on the raw body.
//!
//! Fintecture "signs with your public key": the `signature="..."` value of the `Signature`
//! header is the signing string `date: <Date>\ndigest: SHA-256=<b64>[\nx-request-id: <id>]`
//! (in the order of `headers="..."`) **encrypted** with the application's public key using
//! RSA-OAEP (SHA-1, MGF1-SHA-1, empty label). [`FintectureWebhookVerifier`] accepts a delivery
//! only when, in this order:
//!
//! 1. the method is POST and the `Signature` header parses (`k="v"` pairs) —
//!    [`WebhookRejection::MalformedHeader`];
//! 2. `algorithm` is `rsa-sha256` — [`WebhookRejection::AlgorithmNotAllowed`];
//! 3. `keyId` is the application id (or the id given to one of the configured keys) —
//!    [`WebhookRejection::ClaimMismatch`] `keyId`;
//! 4. `headers` lists `date` and `digest` (and optionally `x-request-id`), nothing else;
//! 5. the `Digest` header equals `SHA-256=` + base64(sha256(raw body)), in constant time —
//!    [`WebhookRejection::DigestMismatch`];
//! 6. `Date` is within the freshness window of the injectable clock (72 hours by default, see
//!    [`WebhookSettings::DEFAULT_MAX_AGE`]) — [`WebhookRejection::TooOld`] /
//!    [`WebhookRejection::FromTheFuture`];
//! 7. the signature is base64 ([`WebhookRejection::MalformedHeader`]) and decrypts with one of
//!    the configured private keys ([`WebhookRejection::Undecryptable`]): a key labelled with the
//!    delivery's `keyId` first, then the others in the order given (key rotation, see
//!    [`WebhookSettings::previous_key`]);
//! 8. the plaintext has exactly the listed lines in order ([`WebhookRejection::BadSignature`]);
//! 9. its `digest` line equals the body's digest (constant time; `ClaimMismatch` `digest`), its
//!    `date` and `x-request-id` lines equal the request's headers (`ClaimMismatch` `date` /
//!    `x-request-id`);
//!
//! and only then parses the body (form-urlencoded by default, JSON when configured) into a
//! [`FintectureEvent`]. An authentic body whose `amount` or `received_amount` is not an exact
//! amount of its `currency` (`273.005` EUR), or whose `currency` is unknown, is refused as
//! [`WebhookRejection::MalformedPayload`] naming the field: an amount is never dropped. Steps
//! 1–6 are cheap public checks done before the private key is used, so most forged deliveries
//! never reach the RSA decryption.
//!
//! ## Freshness and replays
//! Fintecture retries a delivery 10 times with exponentially growing spacing, after an optional
//! delay (`offset`, minutes) set per webhook in the console, and does not document whether a
//! retry is signed again with a new `Date`; its official SDKs check no date at all. A short
//! window would refuse Fintecture's own late retries, so the default window
//! ([`WebhookSettings::DEFAULT_MAX_AGE`], 72 hours) covers the whole retry schedule. The window
//! bounds how long a captured delivery can be replayed; replays inside it are stopped by
//! de-duplication: keep [`payments_core::webhook::VerifiedEvent::dedup_key`] in a
//! [`payments_core::webhook::DedupStore`] for at least the window.
//!
//! ```
//! use std::sync::Arc;
//! use payments_core::webhook::{WebhookRequest, WebhookVerifier};
//! use payments_fintecture::keys::AppPrivateKey;
//! use payments_fintecture::testing::WebhookSigner;
//! use payments_fintecture::webhook::{FintectureWebhookVerifier, WebhookSettings};
//!
//! let key = Arc::new(AppPrivateKey::generate()?);
//! let verifier = FintectureWebhookVerifier::new(WebhookSettings::new("my-app-id", key.clone()));
//!
//! // What Fintecture sends (here produced with the public key, as Fintecture does).
//! let body = b"session_id=b2bca2bcd3b64a32a7da0766df59a7d2&status=payment_created&state=order-42";
//! let signed = WebhookSigner::new("my-app-id", key.public_key().clone())
//!     .sign(body, time::OffsetDateTime::now_utc(), "88c414df-6895-48db-8ef3-1fd1ce4272c6")?;
//! let mut request = WebhookRequest::new("POST", "https://shop.example/fintecture/webhook", body)
//!     .header("Content-Type", "application/x-www-form-urlencoded");
//! for (name, value) in &signed.headers {
//!     request = request.header(name, value);
//! }
//! let event = verifier.verify(&request)?;
//! assert_eq!(event.data.state.as_deref(), Some("order-42"));
//! assert!(event.status.is_some_and(|s| s.is_success()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use payments_core::provider_support::{constant_time_eq, describe_json_error, form_decode};
use payments_core::webhook::{
    Authenticity, Clock, SystemClock, VerifiedEvent, WebhookRejection, WebhookRequest,
    WebhookVerifier,
};
use payments_core::{Decimal, Money};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use time::OffsetDateTime;

use crate::PROVIDER;
use crate::convert::{exact_money, unified_status};
use crate::keys::AppPrivateKey;
use crate::signing::{ALGORITHM, SignatureHeader, digest_header, parse_http_date};
use crate::wire::{SessionStatus, TransferState};

/// Largest webhook body accepted (Fintecture's are a few hundred bytes).
pub const MAX_BODY: usize = 64 * 1024;

/// What the verifier needs: the application id, its private key(s), a freshness window and a
/// clock.
///
/// One key is the usual case ([`WebhookSettings::new`]). While the application's key pair is
/// being replaced, deliveries (and retries of deliveries) may still be encrypted to the previous
/// key: add it with [`WebhookSettings::previous_key`] until no event reports
/// [`FintectureEvent::key_index`] `> 0` any more.
#[derive(Clone)]
pub struct WebhookSettings {
    app_id: String,
    keys: Vec<WebhookKey>,
    max_age: Duration,
    max_future_skew: Duration,
    clock: Arc<dyn Clock>,
}

/// One private key the verifier may decrypt with, and the `keyId` it is known by (if any).
#[derive(Debug, Clone)]
struct WebhookKey {
    key_id: Option<String>,
    key: Arc<AppPrivateKey>,
}

impl fmt::Debug for WebhookSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookSettings")
            .field("app_id", &self.app_id)
            .field("keys", &self.keys)
            .field("max_age", &self.max_age)
            .field("max_future_skew", &self.max_future_skew)
            .finish_non_exhaustive()
    }
}

impl WebhookSettings {
    /// Default freshness window of `Date`: 72 hours.
    ///
    /// Fintecture retries a refused delivery 10 times "with an exponential time increment",
    /// after the console's optional `offset` delay, and does not document whether a retry gets
    /// a new `Date` and signature; its official SDKs do not check the date at all. 72 hours
    /// covers the whole schedule (10 doublings from a few seconds stay under a day; the
    /// `offset` adds minutes) with room for a receiver that was down over a weekend. A replay
    /// inside the window is caught by de-duplication
    /// ([`payments_core::webhook::DedupStore`], keyed by
    /// [`payments_core::webhook::VerifiedEvent::dedup_key`]); narrow the window with
    /// [`WebhookSettings::max_age`] only if you know your deliveries are re-signed.
    pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(72 * 3600);
    /// Default allowance for a `Date` ahead of our clock.
    pub const DEFAULT_MAX_FUTURE_SKEW: Duration = Duration::from_secs(60);

    /// Settings for `app_id` with its private key, on the system clock.
    pub fn new(app_id: impl Into<String>, key: Arc<AppPrivateKey>) -> Self {
        WebhookSettings {
            app_id: app_id.into(),
            keys: vec![WebhookKey { key_id: None, key }],
            max_age: Self::DEFAULT_MAX_AGE,
            max_future_skew: Self::DEFAULT_MAX_FUTURE_SKEW,
            clock: Arc::new(SystemClock),
        }
    }

    /// Adds a key tried after the ones already configured: the previous application key during
    /// a key rotation. A delivery encrypted to it verifies; remove it once no event reports
    /// [`FintectureEvent::key_index`] pointing at it.
    pub fn previous_key(mut self, key: Arc<AppPrivateKey>) -> Self {
        self.keys.push(WebhookKey { key_id: None, key });
        self
    }

    /// Adds a key that deliveries name with `keyId="<key_id>"`. Such a `keyId` is accepted (as
    /// well as the application id), and a delivery carrying it is decrypted with this key first,
    /// then with the others in the order they were configured.
    pub fn key_with_id(mut self, key_id: impl Into<String>, key: Arc<AppPrivateKey>) -> Self {
        self.keys.push(WebhookKey {
            key_id: Some(key_id.into()),
            key,
        });
        self
    }

    /// Sets how old a `Date` may be.
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Sets how far ahead of our clock a `Date` may be.
    pub fn max_future_skew(mut self, skew: Duration) -> Self {
        self.max_future_skew = skew;
        self
    }

    /// Sets the clock (tests).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Whether `key_id` names this application or one of its labelled keys.
    fn accepts_key_id(&self, key_id: &str) -> bool {
        key_id == self.app_id
            || self
                .keys
                .iter()
                .any(|k| k.key_id.as_deref() == Some(key_id))
    }

    /// The configured keys' positions in the order they are tried for `key_id`: the keys
    /// labelled with it first, then every other key, each group in configuration order.
    fn key_order(&self, key_id: &str) -> Vec<usize> {
        let labelled = |k: &WebhookKey| k.key_id.as_deref() == Some(key_id);
        let first = self.keys.iter().enumerate().filter(|(_, k)| labelled(k));
        let rest = self.keys.iter().enumerate().filter(|(_, k)| !labelled(k));
        first.chain(rest).map(|(i, _)| i).collect()
    }
}

/// Verifies Fintecture webhooks. Synchronous; needs no HTTP client or runtime.
#[derive(Debug, Clone)]
pub struct FintectureWebhookVerifier {
    settings: WebhookSettings,
}

impl FintectureWebhookVerifier {
    /// A verifier with `settings`.
    pub fn new(settings: WebhookSettings) -> Self {
        FintectureWebhookVerifier { settings }
    }

    /// The settings.
    pub fn settings(&self) -> &WebhookSettings {
        &self.settings
    }
}

/// A verified webhook's content. Every field is as Fintecture sent it; `fields` keeps all of
/// them (JSON numbers as their exact text).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FintectureEvent {
    /// The payment session.
    pub session_id: Option<String>,
    /// The session status.
    pub status: Option<SessionStatus>,
    /// The money's state.
    pub transfer_state: Option<TransferState>,
    /// The `state` given when the session was created (the merchant's order link).
    pub state: Option<String>,
    /// Event name (`payment_session.status.payment_created`).
    pub event: Option<String>,
    /// The payer's id.
    pub customer_id: Option<String>,
    /// The payer's bank.
    pub provider: Option<String>,
    /// `type` (`PayByBank`, `RequestToPay`, `Refund`, ...).
    pub payment_type: Option<String>,
    /// Requested amount, exact.
    #[serde(serialize_with = "crate::wire::decimal_string")]
    pub amount: Option<Decimal>,
    /// Amount received, exact.
    #[serde(serialize_with = "crate::wire::decimal_string")]
    pub received_amount: Option<Decimal>,
    /// Currency code.
    pub currency: Option<String>,
    /// For refund events: the session that was refunded.
    pub refunded_session_id: Option<String>,
    /// The delivery's `X-Request-ID`, only when it was signed (listed in `headers=`); an
    /// unsigned one is not reported.
    pub request_id: Option<String>,
    /// Every field of the body.
    pub fields: BTreeMap<String, String>,
    /// `amount` in `currency`, checked exact when the delivery was verified.
    #[serde(skip)]
    amount_money: Option<Money>,
    /// `received_amount` in `currency`, checked exact when the delivery was verified.
    #[serde(skip)]
    received_money: Option<Money>,
    /// Which configured key decrypted the signature.
    #[serde(skip)]
    key_index: usize,
}

impl FintectureEvent {
    /// `amount` as exact money. `None` when the body has no `amount`, or no `currency` to read
    /// it in (the exact text is still in [`FintectureEvent::amount`]); an amount that is not
    /// exact in its currency, or a currency this crate does not know, was refused at
    /// verification.
    pub fn amount_money(&self) -> Option<Money> {
        self.amount_money
    }

    /// `received_amount` as exact money, like [`FintectureEvent::amount_money`].
    pub fn received_money(&self) -> Option<Money> {
        self.received_money
    }

    /// The position of the configured key that decrypted the signature: 0 for the key given to
    /// [`WebhookSettings::new`], then the added keys in the order they were added. During a key
    /// rotation, the previous key can be removed once no event reports it.
    pub fn key_index(&self) -> usize {
        self.key_index
    }
}

fn malformed(header: &str, reason: impl Into<String>) -> WebhookRejection {
    WebhookRejection::MalformedHeader {
        header: header.to_string(),
        reason: reason.into(),
    }
}

fn claim(name: &str) -> WebhookRejection {
    WebhookRejection::ClaimMismatch {
        claim: name.to_string(),
    }
}

impl WebhookVerifier for FintectureWebhookVerifier {
    type Payload = FintectureEvent;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<FintectureEvent>, WebhookRejection> {
        let s = &self.settings;
        request.require_method("POST")?;
        let body = request.body();
        if body.len() > MAX_BODY {
            return Err(WebhookRejection::MalformedPayload(format!(
                "body larger than {MAX_BODY} bytes"
            )));
        }
        let signature = SignatureHeader::parse(request.require_header("Signature")?)
            .map_err(|reason| malformed("Signature", reason))?;
        if signature.algorithm != ALGORITHM {
            return Err(WebhookRejection::AlgorithmNotAllowed(
                signature.algorithm.chars().take(32).collect(),
            ));
        }
        if !s.accepts_key_id(&signature.key_id) {
            return Err(claim("keyId"));
        }
        check_signed_headers(&signature.headers)?;

        // Public checks first: the body digest and freshness, before the private key is used.
        let computed = digest_header(body);
        let digest = request.require_header("Digest")?;
        if !constant_time_eq(digest.as_bytes(), computed.as_bytes()) {
            return Err(WebhookRejection::DigestMismatch);
        }
        let date_header = request.require_header("Date")?;
        let date =
            parse_http_date(date_header).ok_or_else(|| malformed("Date", "not an HTTP date"))?;
        check_freshness(date, s.clock.now(), s.max_age, s.max_future_skew)?;
        let request_id = request.header_value("X-Request-ID")?;
        let signs_request_id = signature.headers.iter().any(|h| h == "x-request-id");
        if signs_request_id && request_id.is_none() {
            return Err(WebhookRejection::MissingHeader("X-Request-ID".into()));
        }

        let ciphertext = B64
            .decode(signature.signature.as_bytes())
            .map_err(|_| malformed("Signature", "signature is not base64"))?;
        // The first key that decrypts wins: RSA-OAEP with another key fails (padding check).
        let (key_index, plaintext) = s
            .key_order(&signature.key_id)
            .into_iter()
            .find_map(|i| {
                let key = s.keys.get(i)?;
                key.key.decrypt_oaep_sha1(&ciphertext).map(|p| (i, p))
            })
            .ok_or(WebhookRejection::Undecryptable)?;
        let plaintext =
            std::str::from_utf8(&plaintext).map_err(|_| WebhookRejection::BadSignature)?;
        let lines: Vec<&str> = plaintext.split('\n').collect();
        if lines.len() != signature.headers.len() {
            return Err(WebhookRejection::BadSignature);
        }
        for (line, name) in lines.iter().zip(&signature.headers) {
            let (line_name, value) = line
                .split_once(": ")
                .ok_or(WebhookRejection::BadSignature)?;
            if !line_name.eq_ignore_ascii_case(name) {
                return Err(WebhookRejection::BadSignature);
            }
            let ok = match name.as_str() {
                "digest" => constant_time_eq(value.trim().as_bytes(), computed.as_bytes()),
                "date" => value.trim() == date_header,
                "x-request-id" => Some(value.trim()) == request_id,
                _ => false,
            };
            if !ok {
                return Err(claim(name));
            }
        }

        let fields = parse_body(request)?;
        // An X-Request-ID outside the signing string is unauthenticated: not reported.
        let mut event = build_event(fields, request_id.filter(|_| signs_request_id))?;
        event.key_index = key_index;
        let digest_hex: String = Sha256::digest(body)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let event_id = format!(
            "{}:{}",
            event.session_id.as_deref().unwrap_or("-"),
            digest_hex.get(..32).unwrap_or(&digest_hex)
        );
        let mut verified = VerifiedEvent::new(
            PROVIDER,
            event_id,
            Authenticity::Signed,
            event,
            body.to_vec(),
        );
        verified.event_type = verified.data.event.clone();
        verified.payment_id = verified.data.session_id.clone();
        verified.raw_status = verified
            .data
            .status
            .as_ref()
            .map(|s| s.as_str().to_string());
        verified.status = verified
            .data
            .status
            .as_ref()
            .map(|st| unified_status(st, verified.data.transfer_state.as_ref()));
        verified.occurred_at = Some(date);
        Ok(verified)
    }
}

fn check_signed_headers(headers: &[String]) -> Result<(), WebhookRejection> {
    let count = |n: &str| headers.iter().filter(|h| *h == n).count();
    let known = headers
        .iter()
        .all(|h| matches!(h.as_str(), "date" | "digest" | "x-request-id"));
    if !known || count("date") != 1 || count("digest") != 1 || count("x-request-id") > 1 {
        return Err(malformed(
            "Signature",
            "headers must list date and digest (and optionally x-request-id), each once",
        ));
    }
    Ok(())
}

fn check_freshness(
    date: OffsetDateTime,
    now: OffsetDateTime,
    max_age: Duration,
    max_skew: Duration,
) -> Result<(), WebhookRejection> {
    if date <= now {
        let age: Duration = (now - date).try_into().unwrap_or(Duration::MAX);
        if age > max_age {
            return Err(WebhookRejection::TooOld { age, max: max_age });
        }
    } else {
        let ahead: Duration = (date - now).try_into().unwrap_or(Duration::MAX);
        if ahead > max_skew {
            return Err(WebhookRejection::FromTheFuture {
                ahead,
                max: max_skew,
            });
        }
    }
    Ok(())
}

/// Reads the body's fields: JSON when the content type says so (or the body is an object and
/// no content type was sent), form-urlencoded otherwise.
fn parse_body(request: &WebhookRequest<'_>) -> Result<BTreeMap<String, String>, WebhookRejection> {
    let content_type = request
        .header_value("Content-Type")?
        .unwrap_or_default()
        .to_ascii_lowercase();
    let body = request.body();
    let json = if content_type.is_empty() {
        body.iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'{')
    } else {
        content_type.contains("json")
    };
    if json {
        parse_json_fields(body)
    } else {
        parse_form(body)
    }
}

/// A flat JSON object as text fields: strings unescaped, numbers and other values as their exact
/// JSON text (a number never passes through a float), `null` dropped.
pub fn parse_json_fields(body: &[u8]) -> Result<BTreeMap<String, String>, WebhookRejection> {
    let map: BTreeMap<String, Box<serde_json::value::RawValue>> = serde_json::from_slice(body)
        .map_err(|e| {
            WebhookRejection::MalformedPayload(format!(
                "not a JSON object: {}",
                describe_json_error(&e)
            ))
        })?;
    let mut fields = BTreeMap::new();
    for (key, raw) in map {
        let text = raw.get();
        if text == "null" {
            continue;
        }
        let value = if text.starts_with('"') {
            serde_json::from_str::<String>(text)
                .map_err(|_| WebhookRejection::MalformedPayload(format!("field {key}")))?
        } else {
            text.to_string()
        };
        fields.insert(key, value);
    }
    Ok(fields)
}

/// An `application/x-www-form-urlencoded` body as fields. A field sent twice is ambiguous and
/// refused; bad percent-encoding or non-UTF-8 text is refused.
pub fn parse_form(body: &[u8]) -> Result<BTreeMap<String, String>, WebhookRejection> {
    let text = std::str::from_utf8(body)
        .map_err(|_| WebhookRejection::MalformedPayload("form body is not UTF-8".into()))?;
    let mut fields = BTreeMap::new();
    for pair in text.trim().split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = form_field(key)?;
        let value = form_field(value)?;
        if fields.insert(key.clone(), value).is_some() {
            return Err(WebhookRejection::MalformedPayload(format!(
                "field {key} sent twice"
            )));
        }
    }
    Ok(fields)
}

/// One name or value of the form, strictly decoded: a malformed escape refuses the body (the
/// signature covers these fields; nothing is guessed).
fn form_field(text: &str) -> Result<String, WebhookRejection> {
    let bytes = form_decode(text)
        .ok_or_else(|| WebhookRejection::MalformedPayload("invalid percent-encoding".into()))?;
    String::from_utf8(bytes)
        .map_err(|_| WebhookRejection::MalformedPayload("form field is not UTF-8".into()))
}

fn build_event(
    fields: BTreeMap<String, String>,
    request_id: Option<&str>,
) -> Result<FintectureEvent, WebhookRejection> {
    let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
    let decimal = |k: &str| {
        get(k)
            .map(|v| {
                Decimal::parse(&v).map_err(|_| {
                    WebhookRejection::MalformedPayload(format!("{k} is not a decimal"))
                })
            })
            .transpose()
    };
    let amount = decimal("amount")?;
    let received_amount = decimal("received_amount")?;
    let currency = get("currency");
    // With a currency, an amount must be exact in it; without one, only the text is kept.
    let exact = |field: &'static str, value: Option<Decimal>| match &currency {
        Some(code) => exact_money(field, value, Some(code))
            .map_err(|e| WebhookRejection::MalformedPayload(e.to_string())),
        None => Ok(None),
    };
    let amount_money = exact("amount", amount)?;
    let received_money = exact("received_amount", received_amount)?;
    Ok(FintectureEvent {
        session_id: get("session_id"),
        status: get("status").map(|s| SessionStatus::parse(&s)),
        transfer_state: get("transfer_state").map(|s| TransferState::parse(&s)),
        state: get("state"),
        event: get("event"),
        customer_id: get("customer_id"),
        provider: get("provider"),
        payment_type: get("type"),
        amount,
        received_amount,
        currency,
        refunded_session_id: get("refunded_session_id"),
        request_id: request_id.map(str::to_string),
        fields,
        amount_money,
        received_money,
        key_index: 0,
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn form_bodies_decode() {
        let f = parse_form(b"a=1&b=x+y%26z&c=&d").unwrap();
        assert_eq!(f["a"], "1");
        assert_eq!(f["b"], "x y&z");
        assert_eq!(f["c"], "");
        assert_eq!(f["d"], "");
        assert!(parse_form(b"a=%zz").is_err());
        assert!(parse_form(b"a=%4").is_err());
        assert!(parse_form(b"a=1&a=2").is_err());
        assert!(parse_form(&[0xff]).is_err());
    }

    #[test]
    fn json_fields_keep_numbers_exact() {
        let f = parse_json_fields(br#"{"amount": 550.60, "s": "a\"b", "n": null}"#).unwrap();
        assert_eq!(f["amount"], "550.60");
        assert_eq!(f["s"], "a\"b");
        assert!(!f.contains_key("n"));
        assert!(parse_json_fields(b"[1]").is_err());
    }

    #[test]
    fn a_key_labelled_with_the_delivery_key_id_is_tried_first_then_the_others_in_order() {
        let key = || Arc::new(AppPrivateKey::generate().unwrap());
        let settings = WebhookSettings::new("app", key())
            .previous_key(key())
            .key_with_id("key-2024", key())
            .key_with_id("key-2025", key());
        assert_eq!(settings.key_order("key-2025"), [3, 0, 1, 2]);
        assert_eq!(settings.key_order("key-2024"), [2, 0, 1, 3]);
        assert_eq!(settings.key_order("app"), [0, 1, 2, 3]);
        assert!(settings.accepts_key_id("app"));
        assert!(settings.accepts_key_id("key-2024"));
        assert!(!settings.accepts_key_id("key-2023"));
        let single = WebhookSettings::new("app", key());
        assert_eq!(single.key_order("app"), [0]);
        assert!(!single.accepts_key_id("key-2024"));
    }

    #[test]
    fn freshness_window() {
        let now = OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000);
        let w = Duration::from_secs(600);
        let skew = Duration::from_secs(60);
        assert!(check_freshness(now, now, w, skew).is_ok());
        assert!(check_freshness(now - time::Duration::seconds(600), now, w, skew).is_ok());
        assert!(matches!(
            check_freshness(now - time::Duration::seconds(601), now, w, skew),
            Err(WebhookRejection::TooOld { .. })
        ));
        assert!(matches!(
            check_freshness(now + time::Duration::seconds(61), now, w, skew),
            Err(WebhookRejection::FromTheFuture { .. })
        ));
    }
}
