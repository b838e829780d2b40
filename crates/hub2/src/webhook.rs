//! Verified HUB2 webhooks: HMAC-SHA256 over the raw body, with secret rotation.
//!
//! HUB2 `POST`s a JSON envelope `{id, type, createdAt, data}` to each registered webhook URL,
//! where `data` is a Payment (`payment.*` events) or a PaymentIntent (`payment_intent.*` events),
//! and signs the raw body:
//!
//! ```text
//! Hub2-Signature: s1=<hex HMAC-SHA256(current secret, body)>,s0=<hex HMAC-SHA256(previous secret, body)>
//! ```
//!
//! `s0` is sent for 24 hours after the merchant rotates the secret, so a server still holding the
//! previous secret keeps accepting deliveries. [`Hub2WebhookVerifier`] accepts a delivery when
//! **any** signature in the header matches **any** configured secret, comparing in constant time.
//! Configure the secret HUB2 returned when the webhook was registered (and, while you roll your
//! own deployment, the previous one as well with [`Hub2WebhookVerifier::with_previous`]).
//!
//! # Checks, in order
//! 1. the method is `POST` ([`WebhookRejection::MethodNotAllowed`]);
//! 2. `Hub2-Signature` is present exactly once ([`WebhookRejection::MissingHeader`],
//!    [`WebhookRejection::DuplicateHeader`]);
//! 3. the header parses (see below; [`WebhookRejection::MalformedHeader`]);
//! 4. an HMAC-SHA256 of the **raw body bytes** under a configured secret equals a signature of
//!    the header ([`WebhookRejection::BadSignature`]);
//! 5. only then is the body parsed ([`WebhookRejection::MalformedPayload`] when a documented
//!    event type does not carry its object; an undocumented type whose `data` is not the
//!    family's whole object is kept as [`EventData::Other`]).
//!
//! # How the header is read (deliberate choices)
//! - Items are separated by `,`; spaces and tabs around items, keys and values are ignored
//!   (`s1=ab, s0=cd` is accepted: HTTP allows optional whitespace, and it carries no meaning).
//!   Empty items (a trailing comma) are ignored.
//! - Keys are `s1` and `s0`, exactly, in lower case. Any other key (`t=`, `v1=`, a future `s2=`,
//!   also `S1=`) is **ignored**, so a scheme extension does not break verification; but a header
//!   with neither `s1` nor `s0` is malformed. An item without `=` is malformed.
//! - An `s1`/`s0` value must be 64 hex digits (32 bytes). Upper-case hex is **accepted**: the
//!   comparison is on the decoded bytes, so the case of the digits cannot help a forger, and
//!   refusing it would only drop genuine deliveries. A value of another length or with a non-hex
//!   character makes the header malformed (it is not silently skipped).
//! - A key given twice contributes both values as candidates (at most 8 signatures, and a header
//!   of at most 1 KiB, bound the work).
//!
//! # Replays and duplicates
//! The scheme has no timestamp, so a captured delivery verifies forever. De-duplicate on the
//! event id ([`VerifiedEvent::dedup_key`]) with a
//! [`DedupStore`](payments_core::webhook::DedupStore) that remembers ids at least as long as
//! HUB2 retries (10 attempts over about 34 hours; keep them 48 hours or more). Intermediate events
//! (`pending`, `action_required`) may be delivered more than once with different ids; use
//! [`PaymentStatus::transition_to`](payments_core::PaymentStatus::transition_to) so a late one
//! never moves an intent backwards.
//!
//! # What an event says about the intent
//! The neutral "payment" is the intent ([`VerifiedEvent::payment_id`] is the intent id, also for
//! an attempt's event). An intent can carry several attempts: HUB2's API reference ("Attempt a
//! payment on a PaymentIntent object") states that whenever a payment fails, or does not have
//! the amount that matches the intent, other payments can be created on the same intent. So the
//! end of one attempt does not decide the intent: a failed attempt leaves it payable again
//! (`payment_required`), and a successful one pays it only when its amount matches. Only a
//! `payment_intent.*` event (its `data` is the intent) or a fetched intent says what the intent
//! is. [`VerifiedEvent::status`] and [`VerifiedEvent::raw_status`] therefore hold:
//!
//! | the event's `data` | `status` / `raw_status` (the intent) | the attempt ([`Hub2Event::attempt_status`]) |
//! |---|---|---|
//! | a PaymentIntent (`payment_intent.*`) | the intent's status, final ones included | — |
//! | a Payment `created` | `Processing` / `processing` (the intent is processing once an attempt exists) | `Pending` |
//! | a Payment `pending` with a `nextAction` | `RequiresAction` / `action_required` (the payer must act on the attempt) | `Processing` |
//! | a Payment `pending` without one | `Processing` / `processing` | `Processing` |
//! | a Payment `successful` | `None`: the intent is `successful` only if this payment covers it | `Succeeded` |
//! | a Payment `failed` | `None`: the intent is payable again, unless HUB2 ended it | `Failed` (reason in `failure`) |
//! | a Payment in a status this crate does not know | `None` | `Unknown(raw)` |
//!
//! An attempt's event never gives the intent a final status. What a merchant's ledger applies:
//! `status` when it is `Some` (through `transition_to`); when it is `None` after a
//! `payment.succeeded` or `payment.failed`, the intent's own event, or one read of the intent
//! (`Hub2Client::get_intent_status`, or the neutral `fetch_payment`), which is a single call, not a
//! poll. The attempt's id and status are on [`Hub2Event::attempt`] and
//! [`Hub2Event::attempt_status`]. The status precedence has no way back from `processing` to
//! `payment_required`: after a failed attempt the ledger stays where it was (never final, never
//! paid) until the intent's outcome.
//!
//! # Example
//! ```
//! use payments_core::webhook::{WebhookRequest, WebhookVerifier};
//! use payments_hub2::testing::WebhookSigner;
//! use payments_hub2::webhook::{EventData, Hub2WebhookVerifier};
//!
//! let secret = "whsec_from_create_webhook";
//! let verifier = Hub2WebhookVerifier::new(secret)?;
//!
//! // What HUB2 sends (built here with the test signer).
//! let body = br#"{"id":"evt_1","type":"payment_intent.succeeded","createdAt":"2022-07-18T06:40:00.000Z","data":{"id":"pi_tffiDaXyWQu203rIXhujW","status":"successful","amount":200,"currency":"XOF","payments":[]}}"#;
//! let signature = WebhookSigner::new(secret).sign(body);
//!
//! // In the web handler: the raw body bytes, exactly as received.
//! let request = WebhookRequest::new("POST", "https://shop.example/hub2/webhook", body)
//!     .header("Hub2-Signature", &signature);
//! let event = verifier.verify(&request)?;
//! assert_eq!(event.event_id, "evt_1");
//! assert!(event.status.is_some_and(|s| s.is_success()));
//! assert!(matches!(event.data.data, EventData::Intent(_)));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use payments_core::provider_support::{constant_time_eq, describe_json_error};
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::webhook::{
    Authenticity, VerifiedEvent, WebhookRejection, WebhookRequest, WebhookVerifier,
};
use payments_core::{Error, PaymentStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;
use sha2::Sha256;
use time::OffsetDateTime;

use crate::PROVIDER;
use crate::convert::{unified_intent_status, unified_payment_status};
use crate::wire::{Hub2Payment, Hub2PaymentStatus, IntentStatus, PaymentIntent};

/// The header carrying the signatures.
pub const SIGNATURE_HEADER: &str = "Hub2-Signature";

/// Longest header accepted.
const MAX_HEADER_LEN: usize = 1024;
/// Most signatures accepted in one header.
const MAX_SIGNATURES: usize = 8;
/// Bytes of an HMAC-SHA256.
const MAC_LEN: usize = 32;

type HmacSha256 = Hmac<Sha256>;

/// HMAC-SHA256 of `body` under `secret` (the bytes of the secret string).
pub(crate) fn mac(secret: &str, body: &[u8]) -> [u8; MAC_LEN] {
    let mut out = [0u8; MAC_LEN];
    // HMAC takes keys of any length: this cannot fail.
    if let Ok(mut m) = <HmacSha256 as KeyInit>::new_from_slice(secret.as_bytes()) {
        m.update(body);
        out.copy_from_slice(&m.finalize().into_bytes());
    }
    out
}

/// Which secret a signature says it was made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureSlot {
    /// `s1`: the current secret.
    Current,
    /// `s0`: the previous secret, during the 24 hours after a rotation.
    Previous,
}

/// The signatures of a `Hub2-Signature` header, parsed as described in the [module docs](self).
#[derive(Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    /// The first `len` entries are the header's signatures, in order (an array, not a `Vec`:
    /// parsing a header allocates nothing).
    signatures: [(SignatureSlot, [u8; MAC_LEN]); MAX_SIGNATURES],
    len: usize,
}

impl fmt::Debug for SignatureHeader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignatureHeader")
            .field("slots", &self.slots().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl SignatureHeader {
    /// Parses a header value.
    pub fn parse(value: &str) -> Result<Self, WebhookRejection> {
        let malformed = |reason: &str| WebhookRejection::MalformedHeader {
            header: SIGNATURE_HEADER.into(),
            reason: reason.into(),
        };
        if value.len() > MAX_HEADER_LEN {
            return Err(malformed("longer than 1 KiB"));
        }
        let mut signatures = [(SignatureSlot::Current, [0u8; MAC_LEN]); MAX_SIGNATURES];
        let mut len = 0;
        for item in value.split(',') {
            let item = item.trim_matches([' ', '\t']);
            if item.is_empty() {
                continue;
            }
            let Some((key, sig)) = item.split_once('=') else {
                return Err(malformed("an item is not key=value"));
            };
            let slot = match key.trim_matches([' ', '\t']) {
                "s1" => SignatureSlot::Current,
                "s0" => SignatureSlot::Previous,
                _ => continue,
            };
            let sig = sig.trim_matches([' ', '\t']);
            let mut bytes = [0u8; MAC_LEN];
            if !crate::hex::decode_into(sig, &mut bytes) {
                return Err(malformed("a signature is not 64 hex digits"));
            }
            let Some(entry) = signatures.get_mut(len) else {
                return Err(malformed("too many signatures"));
            };
            *entry = (slot, bytes);
            len += 1;
        }
        if len == 0 {
            return Err(malformed("no s1 or s0 signature"));
        }
        Ok(SignatureHeader { signatures, len })
    }

    fn present(&self) -> &[(SignatureSlot, [u8; MAC_LEN])] {
        self.signatures.get(..self.len).unwrap_or_default()
    }

    /// The slots present, in header order.
    pub fn slots(&self) -> impl Iterator<Item = SignatureSlot> + '_ {
        self.present().iter().map(|(slot, _)| *slot)
    }

    /// True when a signature matches `mac`. Every signature is compared, in constant time each.
    fn matches(&self, mac: &[u8; MAC_LEN]) -> bool {
        self.present()
            .iter()
            .fold(false, |found, (_, sig)| constant_time_eq(sig, mac) | found)
    }
}

payments_core::wire_enum! {
    /// A `type` of HUB2 webhook event. Any other type is kept verbatim in `Other`
    /// (`payment_intent.succeeded`, `payment.pending`, ...): its [`family`](EventType::family)
    /// (`payment_intent.` or `payment.`) still decides how `data` is read, and when `data` is not
    /// that family's whole object, it is kept as [`EventData::Other`].
    EventType {
        /// `payment_intent.created`.
        PaymentIntentCreated = "payment_intent.created",
        /// `payment.action_required`: the payer must act (see the payment's `nextAction`).
        PaymentActionRequired = "payment.action_required",
        /// `payment.succeeded`.
        PaymentSucceeded = "payment.succeeded",
        /// `payment.failed`.
        PaymentFailed = "payment.failed",
    }
}

impl EventType {
    /// Which object `data` holds for this type.
    pub fn family(&self) -> EventFamily {
        let raw = self.as_str();
        if raw.starts_with("payment_intent.") {
            EventFamily::PaymentIntent
        } else if raw.starts_with("payment.") {
            EventFamily::Payment
        } else {
            EventFamily::Other
        }
    }
}

/// The object an event type carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventFamily {
    /// `payment_intent.*`: a [`PaymentIntent`].
    PaymentIntent,
    /// `payment.*`: a [`Hub2Payment`].
    Payment,
    /// Anything else: kept as JSON.
    Other,
}

/// The payload of an event.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", content = "object", rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventData {
    /// A payment attempt (`payment.*`).
    Payment(Hub2Payment),
    /// A payment intent (`payment_intent.*`).
    Intent(PaymentIntent),
    /// An event of a family this crate does not know, kept as sent.
    Other(Value),
}

/// A verified HUB2 webhook event.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Hub2Event {
    /// The event id: de-duplicate on it.
    pub id: String,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When HUB2 created the event.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// The object.
    pub data: EventData,
}

impl Hub2Event {
    /// The intent the event is about: the intent's id, or a payment's `intentId` when sent.
    pub fn intent_id(&self) -> Option<&str> {
        match &self.data {
            EventData::Intent(intent) => Some(&intent.id),
            EventData::Payment(payment) => payment.intent_id.as_deref(),
            EventData::Other(_) => None,
        }
    }

    /// The intent's unified status the event establishes, and HUB2's intent status value: the
    /// intent's own status for an intent event; for an attempt's event only the non-final status
    /// an attempt in progress puts the intent in, and `None` once the attempt ended (see
    /// [What an event says about the intent](self#what-an-event-says-about-the-intent)).
    pub fn intent_status(&self) -> Option<(PaymentStatus, String)> {
        let implied = match &self.data {
            EventData::Intent(i) => {
                return Some((unified_intent_status(&i.status), i.status.to_string()));
            }
            EventData::Payment(p) => match p.status {
                Hub2PaymentStatus::Pending if p.next_action.is_some() => {
                    IntentStatus::ActionRequired
                }
                Hub2PaymentStatus::Created | Hub2PaymentStatus::Pending => IntentStatus::Processing,
                Hub2PaymentStatus::Successful
                | Hub2PaymentStatus::Failed
                | Hub2PaymentStatus::Other(_) => return None,
            },
            EventData::Other(_) => return None,
        };
        Some((unified_intent_status(&implied), implied.to_string()))
    }

    /// The attempt a `payment.*` event is about (its `id` identifies it among the intent's
    /// attempts); `None` for an intent event.
    pub fn attempt(&self) -> Option<&Hub2Payment> {
        match &self.data {
            EventData::Payment(payment) => Some(payment),
            EventData::Intent(_) | EventData::Other(_) => None,
        }
    }

    /// The attempt's own unified status and raw value (`successful`, `failed`, ...): what
    /// happened to this attempt, not to the intent.
    pub fn attempt_status(&self) -> Option<(PaymentStatus, String)> {
        self.attempt()
            .map(|p| (unified_payment_status(&p.status), p.status.to_string()))
    }
}

/// Which part of the body a parse error is in.
#[derive(Clone, Copy)]
enum Stage {
    Envelope,
    Data(EventFamily),
}

/// `data` as the envelope parse left it.
// Lives on the stack for one parse: boxing the large variant would cost an allocation an event.
#[allow(clippy::large_enum_variant)]
enum Data<'a> {
    /// Parsed in the same pass: `type` came first and names a known family.
    Typed(EventData),
    /// Kept as raw JSON: `type` came after `data`, or names no known family.
    Raw(&'a RawValue),
}

/// The envelope, read in one pass.
struct Envelope<'a> {
    id: String,
    event_type: EventType,
    created_at: Option<OffsetDateTime>,
    data: Data<'a>,
}

/// `createdAt`: RFC 3339, or absent/null.
#[derive(Deserialize)]
struct CreatedAt(#[serde(with = "time::serde::rfc3339::option")] Option<OffsetDateTime>);

/// Reads the envelope in one pass: when `type` precedes `data` (HUB2's order) and names a known
/// family, `data` is parsed straight into its type; otherwise it is kept raw for
/// [`parse_event`] to read once `type` is known. `stage` tells, on error, where it happened.
struct EnvelopeVisitor<'s> {
    stage: &'s std::cell::Cell<Stage>,
}

impl<'de> serde::de::Visitor<'de> for EnvelopeVisitor<'_> {
    type Value = Envelope<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a HUB2 event object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::Error as _;
        let mut id: Option<String> = None;
        let mut event_type: Option<EventType> = None;
        let mut created_at: Option<Option<OffsetDateTime>> = None;
        let mut data: Option<Data<'de>> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "id" if id.is_some() => return Err(A::Error::duplicate_field("id")),
                "id" => id = Some(map.next_value()?),
                "type" if event_type.is_some() => return Err(A::Error::duplicate_field("type")),
                "type" => event_type = Some(EventType::parse(&map.next_value::<String>()?)),
                "createdAt" if created_at.is_some() => {
                    return Err(A::Error::duplicate_field("createdAt"));
                }
                "createdAt" => created_at = Some(map.next_value::<CreatedAt>()?.0),
                "data" if data.is_some() => return Err(A::Error::duplicate_field("data")),
                "data" => {
                    let family = event_type.as_ref().map(EventType::family);
                    data = Some(match family {
                        Some(family @ EventFamily::PaymentIntent) => {
                            self.stage.set(Stage::Data(family));
                            let intent = map.next_value()?;
                            self.stage.set(Stage::Envelope);
                            Data::Typed(EventData::Intent(intent))
                        }
                        Some(family @ EventFamily::Payment) => {
                            self.stage.set(Stage::Data(family));
                            let payment = map.next_value()?;
                            self.stage.set(Stage::Envelope);
                            Data::Typed(EventData::Payment(payment))
                        }
                        Some(EventFamily::Other) | None => Data::Raw(map.next_value()?),
                    });
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(Envelope {
            id: id.ok_or_else(|| A::Error::missing_field("id"))?,
            event_type: event_type.ok_or_else(|| A::Error::missing_field("type"))?,
            created_at: created_at.unwrap_or(None),
            data: data.ok_or_else(|| A::Error::missing_field("data"))?,
        })
    }
}

fn bad(what: &str, e: &serde_json::Error) -> WebhookRejection {
    WebhookRejection::MalformedPayload(format!("{what}: {}", describe_json_error(e)))
}

fn family_error(family: EventFamily) -> &'static str {
    match family {
        EventFamily::PaymentIntent => "data is not a PaymentIntent",
        EventFamily::Payment => "data is not a Payment",
        EventFamily::Other => "data",
    }
}

/// Reads `data` (kept raw) once the type is known.
fn typed_data(event_type: &EventType, raw: &str) -> Result<EventData, WebhookRejection> {
    let family = event_type.family();
    let typed = match family {
        EventFamily::PaymentIntent => serde_json::from_str(raw).map(EventData::Intent),
        EventFamily::Payment => serde_json::from_str(raw).map(EventData::Payment),
        EventFamily::Other => {
            return serde_json::from_str(raw)
                .map(EventData::Other)
                .map_err(|e| bad("data", &e));
        }
    };
    match typed {
        Ok(data) => Ok(data),
        // An undocumented type (`payment_intent.deleted`, a new family) may carry less than the
        // whole object: keep it as JSON rather than reject an authentic delivery (HUB2 would
        // retry it for 34 hours, then consider the endpoint dead).
        Err(_) if matches!(event_type, EventType::Other(_)) => serde_json::from_str(raw)
            .map(EventData::Other)
            .map_err(|e| bad("data", &e)),
        Err(e) => Err(bad(family_error(family), &e)),
    }
}

/// Parses an envelope that has already been verified. Public for tools that verify elsewhere
/// (the `payments` CLI); merchants should go through [`Hub2WebhookVerifier`].
///
/// One pass over the body in HUB2's field order (`type` before `data`); a second only for a
/// body in another order, or when an undocumented type's `data` is not its family's whole object.
/// A body that is not UTF-8 is malformed (JSON is UTF-8: RFC 8259, section 8.1), wherever the
/// stray byte is.
pub fn parse_event(body: &[u8]) -> Result<Hub2Event, WebhookRejection> {
    // JSON is UTF-8 (RFC 8259): checked once for the whole body, so the parser need not check
    // each string again.
    let body = std::str::from_utf8(body).map_err(|e| {
        WebhookRejection::MalformedPayload(format!(
            "not a HUB2 event envelope: not UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })?;
    let stage = std::cell::Cell::new(Stage::Envelope);
    let mut deserializer = serde_json::Deserializer::from_str(body);
    let parsed =
        serde::Deserializer::deserialize_map(&mut deserializer, EnvelopeVisitor { stage: &stage })
            .and_then(|envelope| deserializer.end().map(|()| envelope));
    let envelope = match parsed {
        Ok(envelope) => envelope,
        Err(e) => match stage.get() {
            Stage::Envelope => return Err(bad("not a HUB2 event envelope", &e)),
            // `data` did not fit its family's type: rejected for a documented type; for an
            // undocumented one, read again keeping `data` raw, so it can be kept as JSON.
            Stage::Data(family) => {
                let Some(envelope) = reparse_keeping_data_raw(body) else {
                    return Err(bad(family_error(family), &e));
                };
                if !matches!(envelope.event_type, EventType::Other(_)) {
                    return Err(bad(family_error(family), &e));
                }
                envelope
            }
        },
    };
    if envelope.id.is_empty() {
        return Err(WebhookRejection::MalformedPayload("empty event id".into()));
    }
    let data = match envelope.data {
        Data::Typed(data) => data,
        Data::Raw(raw) => typed_data(&envelope.event_type, raw.get())?,
    };
    Ok(Hub2Event {
        id: envelope.id,
        event_type: envelope.event_type,
        created_at: envelope.created_at,
        data,
    })
}

/// The envelope with `data` kept raw whatever its type (the slow path of [`parse_event`]).
fn reparse_keeping_data_raw(body: &str) -> Option<Envelope<'_>> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct RawEnvelope<'a> {
        id: String,
        #[serde(rename = "type")]
        kind: String,
        #[serde(default, with = "time::serde::rfc3339::option")]
        created_at: Option<OffsetDateTime>,
        #[serde(borrow)]
        data: &'a RawValue,
    }
    let raw: RawEnvelope<'_> = serde_json::from_str(body).ok()?;
    Some(Envelope {
        id: raw.id,
        event_type: EventType::parse(&raw.kind),
        created_at: raw.created_at,
        data: Data::Raw(raw.data),
    })
}

/// Verifies `Hub2-Signature` and parses the event. Synchronous, no HTTP, no runtime.
#[derive(Clone)]
pub struct Hub2WebhookVerifier {
    /// One HMAC state a secret, keyed once here: each delivery clones it instead of deriving
    /// the key's inner and outer pads again.
    keys: Vec<HmacSha256>,
}

impl fmt::Debug for Hub2WebhookVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub2WebhookVerifier")
            .field("secrets", &self.keys.len())
            .finish()
    }
}

impl Hub2WebhookVerifier {
    /// A verifier for the webhook secret HUB2 returned at registration. An empty secret is a
    /// configuration error (anyone could sign with it).
    pub fn new(secret: impl Into<String>) -> Result<Self, Error> {
        Hub2WebhookVerifier { keys: Vec::new() }.with_previous(secret)
    }

    /// Also accepts signatures made with another secret (the one you are rotating away from).
    pub fn with_previous(mut self, secret: impl Into<String>) -> Result<Self, Error> {
        let secret = SecretString::from(secret.into());
        if secret.expose_secret().is_empty() {
            return Err(Error::Config("the HUB2 webhook secret is empty".into()));
        }
        let key = <HmacSha256 as KeyInit>::new_from_slice(secret.expose_secret().as_bytes())
            .map_err(|_| Error::Config("the HUB2 webhook secret cannot key HMAC".into()))?;
        self.keys.push(key);
        Ok(self)
    }

    /// Checks the header against the raw body only (no parsing of the body).
    pub fn verify_signature(&self, body: &[u8], header: &str) -> Result<(), WebhookRejection> {
        let header = SignatureHeader::parse(header)?;
        let matched = self.keys.iter().fold(false, |found, key| {
            let mut mac = key.clone();
            mac.update(body);
            let mut out = [0u8; MAC_LEN];
            out.copy_from_slice(&mac.finalize().into_bytes());
            header.matches(&out) | found
        });
        if matched {
            Ok(())
        } else {
            Err(WebhookRejection::BadSignature)
        }
    }
}

impl WebhookVerifier for Hub2WebhookVerifier {
    type Payload = Hub2Event;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<Hub2Event>, WebhookRejection> {
        request.require_method("POST")?;
        let header = request.require_header(SIGNATURE_HEADER)?;
        let body = request.body();
        self.verify_signature(body, header)?;
        let event = parse_event(body)?;
        // What the event says, read before it moves into the verified event (no deep copy).
        let event_type = event.event_type.to_string();
        let payment_id = event.intent_id().map(str::to_string);
        let intent_status = event.intent_status();
        let occurred_at = event.created_at;
        let mut verified = VerifiedEvent::new(
            PROVIDER,
            event.id.clone(),
            Authenticity::Signed,
            event,
            body.to_vec(),
        );
        verified.event_type = Some(event_type);
        verified.payment_id = payment_id;
        if let Some((status, raw)) = intent_status {
            verified.status = Some(status);
            verified.raw_status = Some(raw);
        }
        verified.occurred_at = occurred_at;
        Ok(verified)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_the_rfc_4231_vector() {
        // RFC 4231 test case 2: key "Jefe".
        let mac = mac("Jefe", b"what do ya want for nothing?");
        assert_eq!(
            crate::hex::encode(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn header_parsing_is_deliberate() {
        let sig = "a".repeat(64);
        let upper = "A".repeat(64);
        for ok in [
            format!("s1={sig},s0={sig}"),
            format!(" s1 = {sig} ,\ts0={sig} "),
            format!("s1={upper}"),
            format!("t=123,s1={sig},v9=whatever"),
            format!("s0={sig},"),
        ] {
            SignatureHeader::parse(&ok).unwrap();
        }
        for bad in [
            String::new(),
            "t=1".into(),
            format!("S1={sig}"),
            "s1=abc".into(),
            format!("s1={}", "g".repeat(64)),
            format!("s1{sig}"),
            format!("s1={sig}{sig}"),
            format!("s1={sig},{}", "x".repeat(2000)),
        ] {
            assert!(
                matches!(
                    SignatureHeader::parse(&bad),
                    Err(WebhookRejection::MalformedHeader { .. })
                ),
                "{bad:?}"
            );
        }
        let many = vec![format!("s1={sig}"); 9].join(",");
        assert!(SignatureHeader::parse(&many).is_err());
        let parsed = SignatureHeader::parse(&format!("s0={sig},s1={sig}")).unwrap();
        assert_eq!(
            parsed.slots().collect::<Vec<_>>(),
            vec![SignatureSlot::Previous, SignatureSlot::Current]
        );
    }

    #[test]
    fn empty_secrets_are_refused_and_never_shown() {
        assert!(Hub2WebhookVerifier::new("").is_err());
        let v = Hub2WebhookVerifier::new("whsec_SECRET").unwrap();
        assert!(!format!("{v:?}").contains("SECRET"));
    }

    /// The one-pass reader gives what the two-pass one gave, whatever the field order, and
    /// falls back to JSON for an undocumented type whose `data` is not the whole object.
    #[test]
    fn field_order_and_partial_data_read_alike() {
        let fixture = include_str!("../tests/fixtures/event_intent_succeeded.json");
        let value: Value = serde_json::from_str(fixture).unwrap();
        let data = value["data"].to_string();
        let in_order = parse_event(fixture.as_bytes()).unwrap();
        // `data` first: kept raw, read once `type` is known.
        let data_first = format!(
            r#"{{"data":{data},"createdAt":"2022-07-18T06:37:40.650Z","type":"payment_intent.succeeded","id":"evt_2Hx7Rk4Nq9Wb1Ls6Pz3Ty","extra":[1,{{"a":null}}]}}"#
        );
        let reordered = parse_event(data_first.as_bytes()).unwrap();
        assert_eq!(
            serde_json::to_value(&in_order).unwrap(),
            serde_json::to_value(&reordered).unwrap()
        );
        assert!(matches!(in_order.data, EventData::Intent(_)));

        // An undocumented type with a partial object: kept as JSON, in either order.
        for body in [
            r#"{"id":"evt_1","type":"payment_intent.deleted","data":{"id":"pi_1"}}"#,
            r#"{"data":{"id":"pi_1"},"id":"evt_1","type":"payment_intent.deleted"}"#,
        ] {
            let event = parse_event(body.as_bytes()).unwrap();
            assert!(
                matches!(&event.data, EventData::Other(v) if v["id"] == "pi_1"),
                "{body}"
            );
            assert_eq!(event.intent_id(), None);
        }
        // A documented type with a partial object is refused, naming the type it expected.
        for body in [
            r#"{"id":"evt_1","type":"payment_intent.created","data":{"id":"pi_1"}}"#,
            r#"{"data":{"id":"pi_1"},"id":"evt_1","type":"payment_intent.created"}"#,
        ] {
            let Err(WebhookRejection::MalformedPayload(message)) = parse_event(body.as_bytes())
            else {
                panic!("accepted {body}");
            };
            assert!(
                message.starts_with("data is not a PaymentIntent: "),
                "{message}"
            );
        }
        // Envelope faults.
        for (body, expected) in [
            (
                r#"{"id":"a","id":"b","type":"x.y","data":{}}"#,
                "duplicate field",
            ),
            (r#"{"type":"x.y","data":{}}"#, "missing field"),
            (r#"{"id":"a","data":{}}"#, "missing field"),
            (r#"{"id":"a","type":"x.y"}"#, "missing field"),
            (r#"{"id":"","type":"x.y","data":{}}"#, "empty event id"),
            (
                r#"{"id":"a","type":"x.y","data":{}} trailing"#,
                "not a HUB2 event envelope",
            ),
            (r#"["a","x.y",{}]"#, "not a HUB2 event envelope"),
        ] {
            let Err(WebhookRejection::MalformedPayload(message)) = parse_event(body.as_bytes())
            else {
                panic!("accepted {body}");
            };
            assert!(message.contains(expected), "{body}: {message}");
        }
    }

    #[test]
    fn event_types_keep_unknown_values_and_their_family() {
        assert_eq!(
            EventType::parse("payment.succeeded"),
            EventType::PaymentSucceeded
        );
        let t = EventType::parse("payment_intent.succeeded");
        assert_eq!(t, EventType::Other("payment_intent.succeeded".into()));
        assert_eq!(t.family(), EventFamily::PaymentIntent);
        assert_eq!(EventType::parse("payout.done").family(), EventFamily::Other);
    }
}
