//! HUB2 ⇄ core: the status mapping tables, money, errors, and the neutral [`Payment`] and
//! [`Checkout`] of an intent.
//!
//! The tables mirror the `match`es in [`unified_intent_status`] and [`unified_payment_status`];
//! `docs/status-mapping.md` repeats them and the workspace conformance suite checks that file
//! against these functions.
//!
//! PaymentIntent:
//!
//! | HUB2 | unified | final |
//! |---|---|---|
//! | `payment_required` | `Pending` | no |
//! | `processing` | `Processing` | no |
//! | `action_required` | `RequiresAction` (see the payment's `nextAction`) | no |
//! | `successful` | `Succeeded` | yes |
//! | `failed` | `Failed` | yes |
//! | `canceled` | `Cancelled` | yes |
//! | anything else | `Unknown(raw)` | no |
//!
//! Payment (one attempt; final for the attempt, never for the intent, which may carry other
//! attempts — see [`crate::webhook`] for what an attempt's event says about the intent):
//!
//! | HUB2 | unified | final |
//! |---|---|---|
//! | `created` | `Pending` | no |
//! | `pending` | `Processing` | no |
//! | `successful` | `Succeeded` | yes |
//! | `failed` | `Failed` (reason in `failure.code`) | yes |
//! | anything else | `Unknown(raw)` | no |

use payments_core::provider_support::percent_encode;
use payments_core::{Checkout, Currency, Money, Payment, PaymentStatus, ProviderError};
use serde_json::Value;

use crate::config::INTENT_ID_PLACEHOLDER;
use crate::wire::{ErrorBody, Hub2PaymentStatus, IntentStatus, PaymentIntent};

/// The unified status of a PaymentIntent status (one exhaustive match).
pub fn unified_intent_status(status: &IntentStatus) -> PaymentStatus {
    match status {
        IntentStatus::PaymentRequired => PaymentStatus::Pending,
        IntentStatus::Processing => PaymentStatus::Processing,
        IntentStatus::ActionRequired => PaymentStatus::RequiresAction,
        IntentStatus::Successful => PaymentStatus::Succeeded,
        IntentStatus::Failed => PaymentStatus::Failed,
        IntentStatus::Canceled => PaymentStatus::Cancelled,
        IntentStatus::Other(raw) => PaymentStatus::Unknown(raw.clone()),
    }
}

/// The unified status of one payment attempt (one exhaustive match).
pub fn unified_payment_status(status: &Hub2PaymentStatus) -> PaymentStatus {
    match status {
        Hub2PaymentStatus::Created => PaymentStatus::Pending,
        Hub2PaymentStatus::Pending => PaymentStatus::Processing,
        Hub2PaymentStatus::Successful => PaymentStatus::Succeeded,
        Hub2PaymentStatus::Failed => PaymentStatus::Failed,
        Hub2PaymentStatus::Other(raw) => PaymentStatus::Unknown(raw.clone()),
    }
}

/// An amount in the smallest unit of `currency` as core money; `None` for a currency code this
/// toolkit does not know (rather than a wrong value).
pub fn money(amount: i64, currency: &str) -> Option<Money> {
    Currency::from_code(currency)
        .ok()
        .map(|c| Money::from_minor(amount, c))
}

// The amount of an intent as money, here rather than in `wire` so that `wire` depends on nothing
// else in the crate.
impl PaymentIntent {
    /// The amount as core money; `None` for a currency this toolkit does not know.
    pub fn money(&self) -> Option<Money> {
        money(self.amount, &self.currency)
    }
}

/// The core's view of an intent (the neutral "payment" is the intent); `raw` is HUB2's JSON for
/// it, token redacted.
pub fn to_payment(intent: &PaymentIntent, raw: Value) -> Payment {
    let mut out = Payment::new(
        intent.id.clone(),
        unified_intent_status(&intent.status),
        intent.status.as_str(),
    );
    out.amount = intent.money();
    out.reference = intent.purchase_reference.clone();
    out.created_at = intent.created_at;
    out.raw = raw;
    out
}

/// The core's checkout for a created intent: HUB2 hosts no payer page, so `redirect_url` is the
/// merchant's own ([`payer_page_url`] of the configured template), when there is one; `raw` is
/// HUB2's answer, token redacted.
pub fn to_checkout(
    intent: &PaymentIntent,
    payer_page_template: Option<&str>,
    raw: Value,
) -> Checkout {
    let mut out = Checkout::new(intent.id.clone(), unified_intent_status(&intent.status));
    out.redirect_url = payer_page_template.map(|template| payer_page_url(template, &intent.id));
    out.raw = raw;
    out
}

/// The merchant's payer page for `intent_id`: `template` with [`INTENT_ID_PLACEHOLDER`] replaced
/// by the id, percent-encoded.
pub fn payer_page_url(template: &str, intent_id: &str) -> String {
    template.replace(INTENT_ID_PLACEHOLDER, &percent_encode(intent_id))
}

/// Reads HUB2's error body into the core's provider error. The format is not documented; this
/// reads `code` (string or number), else the NestJS `error` name, as the code, and `message` (a
/// string, or an array of validation messages joined with `; `). A body of another shape (an
/// HTML page) yields only what the status says.
pub fn provider_error(body: &[u8]) -> ProviderError {
    let mut error = ProviderError::default();
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return error;
    };
    let code = match parsed.code {
        Some(Value::String(code)) => Some(code),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => parsed.error,
    };
    if let Some(code) = code {
        error = error.with_code(code);
    }
    let message = match parsed.message {
        Some(Value::String(m)) => Some(m),
        Some(Value::Array(items)) => {
            let parts: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
            (!parts.is_empty()).then(|| parts.join("; "))
        }
        _ => None,
    };
    if let Some(message) = message {
        error = error.with_message(message);
    }
    error
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn payer_page_urls_encode_the_id() {
        assert_eq!(
            payer_page_url("https://shop.example/pay/{intent_id}?x=1", "pi_abc-1"),
            "https://shop.example/pay/pi_abc-1?x=1"
        );
        assert_eq!(
            payer_page_url("https://s/{intent_id}", "a/b"),
            "https://s/a%2Fb"
        );
    }

    #[test]
    fn every_documented_intent_status_maps_and_unknown_is_never_success() {
        let expected = [
            ("payment_required", PaymentStatus::Pending),
            ("processing", PaymentStatus::Processing),
            ("action_required", PaymentStatus::RequiresAction),
            ("successful", PaymentStatus::Succeeded),
            ("failed", PaymentStatus::Failed),
            ("canceled", PaymentStatus::Cancelled),
        ];
        assert_eq!(expected.len(), IntentStatus::DOCUMENTED.len());
        for (raw, unified) in expected {
            assert_eq!(
                unified_intent_status(&IntentStatus::parse(raw)),
                unified,
                "{raw}"
            );
        }
        let unknown = unified_intent_status(&IntentStatus::parse("cancelled"));
        assert_eq!(unknown, PaymentStatus::Unknown("cancelled".into()));
        assert!(!unknown.is_success() && !unknown.is_final());
    }

    #[test]
    fn every_documented_payment_status_maps() {
        let expected = [
            ("created", PaymentStatus::Pending),
            ("pending", PaymentStatus::Processing),
            ("successful", PaymentStatus::Succeeded),
            ("failed", PaymentStatus::Failed),
        ];
        assert_eq!(expected.len(), Hub2PaymentStatus::DOCUMENTED.len());
        for (raw, unified) in expected {
            assert_eq!(
                unified_payment_status(&Hub2PaymentStatus::parse(raw)),
                unified,
                "{raw}"
            );
        }
        assert_eq!(
            unified_payment_status(&Hub2PaymentStatus::parse("action_required")),
            PaymentStatus::Unknown("action_required".into())
        );
    }

    #[test]
    fn error_bodies_keep_code_and_message() {
        let e = provider_error(
            br#"{"statusCode":400,"message":["purchaseReference must match /^[a-zA-Z0-9-_. ]+$/"],"error":"Bad Request"}"#,
        );
        assert_eq!(e.code.as_deref(), Some("Bad Request"));
        assert!(
            e.message
                .unwrap()
                .starts_with("purchaseReference must match")
        );
        let e = provider_error(br#"{"code":"intent_not_found","message":"Not found"}"#);
        assert_eq!(e.code.as_deref(), Some("intent_not_found"));
        assert_eq!(e.message.as_deref(), Some("Not found"));
        assert_eq!(
            provider_error(b"<html>502</html>"),
            ProviderError::default()
        );
    }

    #[test]
    fn money_needs_a_known_currency() {
        assert_eq!(
            money(200, "XOF"),
            Some(Money::from_minor(200, Currency::XOF))
        );
        assert_eq!(money(200, "XYZ"), None);
    }
}
