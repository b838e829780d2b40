//! Banq webhooks: unsigned notices, and the fetch-back that turns one into a trusted event.
//!
//! # Banq does not sign its webhooks
//!
//! Banq `POST`s a JSON event to the URL registered with `webhook-config`:
//!
//! ```json
//! {"action": "completed", "resourceType": "Payment", "resourceId": "<payment id>", ...}
//! ```
//!
//! Nothing in the request proves it comes from Banq: anyone who learns the URL can post
//! `{"action":"completed",...}` for any payment. **Never act on the raw event.** Banq's documented
//! integrity check is the *fetch-back*: when `action` is `completed` and `resourceType` is
//! `Payment`, call `GET /payments/{resourceId}` and trust only that answer.
//!
//! This module keeps the two apart in the types:
//!
//! - [`WebhookReceiver::receive`] checks the request (method, size, the optional URL secret)
//!   and parses it into an [`UnconfirmedNotice`]. A notice has **no payment status**: only the
//!   claimed `action`, `resourceType` and `resourceId`. It needs no HTTP client.
//! - `BanqClient::confirm` (feature `client`) fetches the payment for a `completed` Payment
//!   notice and returns [`Confirmation::Confirmed`] with a [`ConfirmedPayment`] — a core
//!   [`VerifiedEvent`] whose [`Authenticity`] is [`Authenticity::FetchedBack`] and whose status is
//!   the one the API reports, whatever the notice claimed; an answer naming another payment id
//!   than the notice's `resourceId` confirms nothing. Every other notice comes back as
//!   [`Confirmation::Notice`], unconfirmed.
//!
//! A [`ConfirmedPayment`] can only be made by fetching: there is no conversion from a notice.
//!
//! # The optional URL secret
//!
//! Register the webhook URL with a long random token in its query
//! (`https://shop.example/banq/webhook?token=<secret>`) and give the receiver a
//! [`UrlSecretGuard`] (the one guard of `payments-core`, shared with Paylican): a request without
//! the token, with it twice, or with another value is rejected with
//! [`WebhookRejection::Unauthenticated`] (401) before the body is read. The comparison is
//! constant-time over SHA-256 digests (neither the content nor the length of a secret leaks
//! through timing; only the digests are kept), and the rejection never contains the expected
//! value.
//!
//! To rotate the secret, add the one you are moving away from with
//! [`UrlSecretGuard::with_previous`]: both are accepted (each is compared on every request),
//! until you build the guard without it once Banq posts with the new one (re-register the URL
//! with `webhook-config`). The guard stops strangers from making you call Banq; it does not make
//! the event trustworthy (the URL travels in logs and proxies), so the fetch-back stays the only
//! source of truth.
//!
//! # Answering Banq
//!
//! Answer 2xx once the outcome is stored. A [`WebhookRejection`] is answered with its
//! [`WebhookRejection::http_status`]. If the fetch-back fails (`Error::NotSent`,
//! `Error::OutcomeUnknown`, 5xx, rate limit) answer 5xx so Banq retries (the configuration's
//! `retryCount`); a 404 from the fetch-back means the payment is not yours: answer 2xx or 4xx, and
//! do not process it.
//!
//! ```
//! use payments_banq::webhook::WebhookReceiver;
//! use payments_core::webhook::{UrlSecretGuard, WebhookRequest};
//!
//! let guard = UrlSecretGuard::query_param("token", "9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9")?;
//! let receiver = WebhookReceiver::new().with_guard(guard);
//!
//! let body = br#"{"action":"completed","resourceType":"Payment","resourceId":"pay-123"}"#;
//! let url = "https://shop.example/banq/webhook?token=9f3c1d0e7b2a4c58a1e6d4b3c2f1a0e9";
//! let notice = receiver.receive(&WebhookRequest::new("POST", url, body))?;
//! assert!(notice.needs_fetch_back());
//! assert_eq!(notice.payment_id(), Some("pay-123"));
//! // With the `client` feature: `client.confirm(notice).await?` fetches the payment.
//!
//! let forged = WebhookRequest::new("POST", "https://shop.example/banq/webhook?token=guess", body);
//! assert_eq!(receiver.receive(&forged).unwrap_err().http_status(), 401);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use payments_core::webhook::{
    Authenticity, UrlSecretGuard, VerifiedEvent, WebhookRejection, WebhookRequest, WebhookVerifier,
    event_id_from_parts,
};
use serde_json::Value;

use crate::PROVIDER;
use crate::wire::BanqPayment;

/// Largest webhook body accepted.
pub const MAX_BODY: usize = 64 * 1024;

/// A Banq webhook event as posted: what it *claims*. Never trust it without the fetch-back.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct WebhookEvent {
    /// `action` (`completed`, ...).
    pub action: String,
    /// `resourceType` (`Payment`, `Transaction`, ...).
    pub resource_type: String,
    /// `resourceId` (a string, or an integer as text), when present.
    pub resource_id: Option<String>,
    /// The event's own id (`id` / `eventId`), when present.
    pub id: Option<String>,
    /// The whole body as parsed.
    pub raw: Value,
}

impl WebhookEvent {
    /// Parses an event body. The body must be a JSON object with non-empty `action` and
    /// `resourceType` strings; `resourceId` may be a string or an integer. A `completed` Payment
    /// event needs a `resourceId` usable as a path segment (1 to 128 bytes, no spaces or control
    /// characters, not `.` or `..`).
    pub fn parse(body: &[u8]) -> Result<Self, WebhookRejection> {
        let malformed = |reason: &str| WebhookRejection::MalformedPayload(reason.to_string());
        let raw: Value =
            serde_json::from_slice(body).map_err(|_| malformed("the body is not JSON"))?;
        let Some(map) = raw.as_object() else {
            return Err(malformed("the body is not a JSON object"));
        };
        let text = |name: &str| -> Result<Option<String>, WebhookRejection> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
                Some(Value::Number(n)) if n.is_i64() || n.is_u64() => Ok(Some(n.to_string())),
                Some(_) => Err(WebhookRejection::MalformedPayload(format!(
                    "{name} is not a non-empty string"
                ))),
            }
        };
        let action = text("action")?.ok_or_else(|| malformed("no action"))?;
        let resource_type = text("resourceType")?.ok_or_else(|| malformed("no resourceType"))?;
        let resource_id = text("resourceId")?;
        let id = match text("id")? {
            Some(id) => Some(id),
            None => text("eventId")?,
        };
        let event = WebhookEvent {
            action,
            resource_type,
            resource_id,
            id,
            raw,
        };
        if event.is_payment_completed() {
            let Some(resource_id) = &event.resource_id else {
                return Err(malformed("a completed Payment event without resourceId"));
            };
            // The id becomes a path segment of the fetch-back: refuse what cannot be one. `.` and
            // `..` are checked here too, although core's `join_path` refuses them when the URL is
            // built: that happens only at `BanqClient::confirm` (and only with the `client`
            // feature), where the refusal is a not-sent error that a handler answers with 5xx,
            // so Banq would retry a notice that can never be confirmed. Here it is a malformed
            // notice (400), found without any HTTP stack.
            if crate::request::check_id("resourceId", resource_id).is_err()
                || matches!(resource_id.as_str(), "." | "..")
            {
                return Err(malformed(
                    "the resourceId of a completed Payment event is not a usable payment id",
                ));
            }
        }
        Ok(event)
    }

    /// True for a `Payment` event (compared case-insensitively).
    pub fn is_payment(&self) -> bool {
        self.resource_type.trim().eq_ignore_ascii_case("payment")
    }

    /// True for the event Banq documents as the trigger of the fetch-back: `action` `completed`
    /// on a `Payment` (compared case-insensitively).
    pub fn is_payment_completed(&self) -> bool {
        self.is_payment() && self.action.trim().eq_ignore_ascii_case("completed")
    }
}

/// A webhook that passed the receiver's checks but whose content is **not established**.
///
/// It carries the claim only; the status of a payment comes from `BanqClient::confirm` (the
/// fetch-back) or `BanqClient::get_payment`.
#[derive(Clone, PartialEq)]
pub struct UnconfirmedNotice {
    event: WebhookEvent,
    authenticity: Authenticity,
    raw_body: Vec<u8>,
}

impl fmt::Debug for UnconfirmedNotice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnconfirmedNotice")
            .field("action", &self.event.action)
            .field("resource_type", &self.event.resource_type)
            .field("resource_id", &self.event.resource_id)
            .field("authenticity", &self.authenticity)
            .finish_non_exhaustive()
    }
}

impl UnconfirmedNotice {
    /// The event as claimed.
    pub fn event(&self) -> &WebhookEvent {
        &self.event
    }

    /// [`Authenticity::Guarded`] when a [`UrlSecretGuard`] passed, else
    /// [`Authenticity::Unverified`]. Neither is enough to ship goods.
    pub fn authenticity(&self) -> Authenticity {
        self.authenticity
    }

    /// The raw body as received.
    pub fn raw_body(&self) -> &[u8] {
        &self.raw_body
    }

    /// True when this notice is confirmed by fetching the payment back (`completed` Payment).
    pub fn needs_fetch_back(&self) -> bool {
        self.event.is_payment_completed()
    }

    /// The claimed payment id of a `Payment` event.
    pub fn payment_id(&self) -> Option<&str> {
        self.event
            .is_payment()
            .then_some(self.event.resource_id.as_deref())
            .flatten()
    }

    /// A key to de-duplicate notices: `banq:` and the [`UnconfirmedNotice::event_id`].
    pub fn dedup_key(&self) -> String {
        format!("{PROVIDER}:{}", self.event_id())
    }

    /// The notice's id: `event:<id>` when Banq sends an event id, else
    /// `<resourceType>:<resourceId>:<action>`, each value escaped
    /// ([`event_id_from_parts`]), so two different notices never share an id.
    pub fn event_id(&self) -> String {
        match &self.event.id {
            Some(id) => event_id_from_parts(["event", id]),
            None => event_id_from_parts([
                self.event.resource_type.as_str(),
                self.event.resource_id.as_deref().unwrap_or(""),
                self.event.action.as_str(),
            ]),
        }
    }

    #[cfg(feature = "client")]
    pub(crate) fn into_parts(self) -> (WebhookEvent, Vec<u8>) {
        (self.event, self.raw_body)
    }
}

/// A payment event confirmed by fetching the payment from Banq's API: `authenticity` is
/// [`Authenticity::FetchedBack`], `status`/`raw_status` are the API's, `data` is the fetched
/// payment, `raw_body` the webhook body. `event_id` is `<payment id>:<status>`, so de-duplicating
/// on [`VerifiedEvent::dedup_key`] processes each confirmed status of a payment once.
pub type ConfirmedPayment = VerifiedEvent<BanqPayment>;

/// The outcome of confirming a notice: exactly two cases, so a `match` must handle both.
#[derive(Debug, Clone)]
pub enum Confirmation {
    /// A `completed` Payment notice, fetched back: trust this.
    Confirmed(Box<ConfirmedPayment>),
    /// Any other notice: nothing confirmed. Fetch the resource yourself if you need its state.
    Notice(UnconfirmedNotice),
}

impl Confirmation {
    /// The confirmed payment, if this is one.
    pub fn confirmed(&self) -> Option<&ConfirmedPayment> {
        match self {
            Confirmation::Confirmed(event) => Some(event),
            Confirmation::Notice(_) => None,
        }
    }
}

/// Checks and parses incoming Banq webhooks into [`UnconfirmedNotice`]s. No HTTP client needed.
#[derive(Debug, Clone, Default)]
pub struct WebhookReceiver {
    guard: Option<UrlSecretGuard>,
}

impl WebhookReceiver {
    /// A receiver without a URL-secret guard.
    pub fn new() -> Self {
        WebhookReceiver { guard: None }
    }

    /// Requires the secret in the URL (a query parameter, as Banq's `webhook-config` takes a
    /// URL: [`UrlSecretGuard::query_param`]).
    pub fn with_guard(mut self, guard: UrlSecretGuard) -> Self {
        self.guard = Some(guard);
        self
    }

    /// Checks, in order: the method is `POST`; the URL secret (when configured); the body is
    /// at most [`MAX_BODY`] bytes; only then parses the body ([`WebhookEvent::parse`]).
    pub fn receive(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<UnconfirmedNotice, WebhookRejection> {
        request.require_method("POST")?;
        if let Some(guard) = &self.guard {
            guard.check(request.url())?;
        }
        let body = request.body();
        if body.len() > MAX_BODY {
            return Err(WebhookRejection::MalformedPayload(format!(
                "body larger than {MAX_BODY} bytes"
            )));
        }
        let event = WebhookEvent::parse(body)?;
        Ok(UnconfirmedNotice {
            event,
            authenticity: if self.guard.is_some() {
                Authenticity::Guarded
            } else {
                Authenticity::Unverified
            },
            raw_body: body.to_vec(),
        })
    }
}

/// The receiver as a [`WebhookVerifier`], for code written against every provider (a ledger, a
/// web-framework adapter): the event is the notice with **no status** (`status` and
/// `raw_status` are `None`), because a Banq notice establishes none; its `payment_id` is the
/// claimed payment, `event_id` the [`UnconfirmedNotice::event_id`], `event_type` the action, and
/// `authenticity` [`Authenticity::Guarded`] or [`Authenticity::Unverified`]. Fetch the payment
/// (`BanqClient::confirm`, or the neutral `fetch_payment`) to learn its status.
impl WebhookVerifier for WebhookReceiver {
    type Payload = UnconfirmedNotice;

    fn verify(
        &self,
        request: &WebhookRequest<'_>,
    ) -> Result<VerifiedEvent<UnconfirmedNotice>, WebhookRejection> {
        let notice = self.receive(request)?;
        let mut event = VerifiedEvent::new(
            PROVIDER,
            notice.event_id(),
            notice.authenticity(),
            notice.clone(),
            notice.raw_body().to_vec(),
        );
        event.event_type = Some(notice.event().action.clone());
        event.payment_id = notice.payment_id().map(str::to_string);
        Ok(event)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    const SECRET: &str = "s3cr3t-0123456789abcdef";

    fn guard() -> UrlSecretGuard {
        UrlSecretGuard::query_param("token", SECRET).unwrap()
    }

    #[test]
    fn guard_rejects_short_secrets_and_hides_them() {
        assert!(UrlSecretGuard::query_param("token", "short").is_err());
        assert!(UrlSecretGuard::query_param("a&b", SECRET).is_err());
        assert!(!format!("{:?}", guard()).contains(SECRET));
        let receiver = WebhookReceiver::new().with_guard(guard());
        assert!(!format!("{receiver:?}").contains(SECRET));
    }

    #[test]
    fn events_parse_strictly_enough() {
        let e = WebhookEvent::parse(
            br#"{"action":"completed","resourceType":"Payment","resourceId":12,"id":"ev-1"}"#,
        )
        .unwrap();
        assert!(e.is_payment_completed());
        assert_eq!(e.resource_id.as_deref(), Some("12"));
        assert_eq!(e.id.as_deref(), Some("ev-1"));
        let e = WebhookEvent::parse(
            br#"{"action":"Completed","resourceType":"payment","resourceId":"p"}"#,
        )
        .unwrap();
        assert!(e.is_payment_completed());
        let e = WebhookEvent::parse(
            br#"{"action":"created","resourceType":"Transaction","resourceId":"t"}"#,
        )
        .unwrap();
        assert!(!e.is_payment_completed() && !e.is_payment());
        for body in [
            &b""[..],
            b"garbage",
            b"[]",
            b"null",
            br#"{"resourceType":"Payment","resourceId":"p"}"#,
            br#"{"action":"completed","resourceId":"p"}"#,
            br#"{"action":"completed","resourceType":"Payment"}"#,
            br#"{"action":"completed","resourceType":"Payment","resourceId":""}"#,
            br#"{"action":["completed"],"resourceType":"Payment","resourceId":"p"}"#,
            br#"{"action":"completed","resourceType":"Payment","resourceId":1.5}"#,
            br#"{"action":"completed","resourceType":"Payment","resourceId":".."}"#,
            br#"{"action":"completed","resourceType":"Payment","resourceId":"a b"}"#,
        ] {
            assert!(
                matches!(
                    WebhookEvent::parse(body),
                    Err(WebhookRejection::MalformedPayload(_))
                ),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn the_receiver_checks_method_guard_and_size_before_parsing() {
        let body = br#"{"action":"completed","resourceType":"Payment","resourceId":"p-1"}"#;
        let url = format!("https://s.example/hook?token={SECRET}");
        let open = WebhookReceiver::new();
        let notice = open
            .receive(&WebhookRequest::new("POST", "https://s.example/hook", body))
            .unwrap();
        assert_eq!(notice.authenticity(), Authenticity::Unverified);
        assert_eq!(notice.payment_id(), Some("p-1"));
        assert_eq!(notice.raw_body(), body);
        assert_eq!(notice.dedup_key(), "banq:Payment:p-1:completed");

        let guarded = WebhookReceiver::new().with_guard(guard());
        let notice = guarded
            .receive(&WebhookRequest::new("POST", &url, body))
            .unwrap();
        assert_eq!(notice.authenticity(), Authenticity::Guarded);
        // The guard runs before the body is looked at: garbage with a wrong token is a 401.
        let err = guarded
            .receive(&WebhookRequest::new(
                "POST",
                "https://s.example/hook",
                b"garbage",
            ))
            .unwrap_err();
        assert!(matches!(err, WebhookRejection::Unauthenticated(_)));
        let err = guarded
            .receive(&WebhookRequest::new("GET", &url, body))
            .unwrap_err();
        assert_eq!(err.http_status(), 405);
        let big = vec![b' '; MAX_BODY + 1];
        let err = open
            .receive(&WebhookRequest::new("POST", &url, &big))
            .unwrap_err();
        assert!(matches!(err, WebhookRejection::MalformedPayload(_)));
    }
}
