//! Payconiq ⇄ core: the status mapping table, money, errors, and the neutral
//! [`Payment`] / [`Checkout`] of a Payconiq payment.
//!
//! The table below mirrors the `match` in [`unified_status`]; `docs/status-mapping.md` repeats it
//! and the workspace conformance suite (`tests/`) checks that file against this function.
//!
//! | Payconiq | unified | final |
//! |---|---|---|
//! | `PENDING` | `Pending` | no |
//! | `IDENTIFIED` | `RequiresAction` (scanned; the payer must confirm in the app) | no |
//! | `AUTHORIZED` | `Authorized` | no |
//! | `PENDING_MERCHANT_ACKNOWLEDGEMENT` | `RequiresMerchantAction` (call `acknowledge`) | no |
//! | `SUCCEEDED` | `Succeeded` | yes |
//! | `AUTHORIZATION_FAILED` | `Failed` | yes |
//! | `FAILED` | `Failed` | yes |
//! | `CANCELLED` | `Cancelled` | yes |
//! | `EXPIRED` | `Expired` | yes |
//! | `VOIDED` | `Cancelled` | yes |
//! | anything else | `Unknown(raw)` | no |

use payments_core::{Checkout, Currency, Money, Payment, PaymentStatus, ProviderError};

use crate::wire::{ErrorBody, Link, PayconiqPayment, PayconiqStatus};

/// The unified status of a Payconiq status (one exhaustive match: a new variant will not compile
/// until it is mapped).
pub fn unified_status(status: &PayconiqStatus) -> PaymentStatus {
    match status {
        PayconiqStatus::Pending => PaymentStatus::Pending,
        PayconiqStatus::Identified => PaymentStatus::RequiresAction,
        PayconiqStatus::Authorized => PaymentStatus::Authorized,
        PayconiqStatus::PendingMerchantAcknowledgement => PaymentStatus::RequiresMerchantAction,
        PayconiqStatus::Succeeded => PaymentStatus::Succeeded,
        PayconiqStatus::AuthorizationFailed | PayconiqStatus::Failed => PaymentStatus::Failed,
        PayconiqStatus::Cancelled | PayconiqStatus::Voided => PaymentStatus::Cancelled,
        PayconiqStatus::Expired => PaymentStatus::Expired,
        PayconiqStatus::Other(raw) => PaymentStatus::Unknown(raw.clone()),
    }
}

/// Euro cents as core money (Payconiq is EUR-only; an amount in another currency is not
/// representable and yields `None` rather than a wrong value).
pub fn money(amount: Option<i64>, currency: Option<&str>) -> Option<Money> {
    let amount = amount?;
    match currency {
        None | Some("EUR") => Some(Money::from_minor(amount, Currency::EUR)),
        Some(_) => None,
    }
}

/// Reads Payconiq's `{code, message, traceId, spanId}` error body into the core's provider error.
/// A body that is not that shape (an HTML error page) yields only what the status says.
pub fn provider_error(body: &[u8]) -> ProviderError {
    let mut error = ProviderError::default();
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return error;
    };
    if let Some(code) = parsed.code {
        error = error.with_code(code);
    }
    if let Some(message) = parsed.message {
        error = error.with_message(message);
    }
    match (parsed.trace_id, parsed.span_id) {
        (Some(trace), Some(span)) => error = error.with_trace_id(format!("{trace}/{span}")),
        (Some(trace), None) => error = error.with_trace_id(trace),
        _ => {}
    }
    error
}

/// The core's view of a Payconiq payment; `raw` is Payconiq's JSON for it.
pub fn to_payment(payment: &PayconiqPayment, raw: serde_json::Value) -> Payment {
    let mut out = Payment::new(
        payment.payment_id.clone(),
        unified_status(&payment.status),
        payment.status.as_str(),
    );
    out.amount = money(payment.amount, payment.currency.as_deref());
    out.reference = payment.reference.clone();
    out.created_at = payment.created_at;
    out.raw = raw;
    out
}

/// The core's checkout for a freshly created Payconiq payment; `raw` is Payconiq's answer.
pub fn to_checkout(payment: &PayconiqPayment, raw: serde_json::Value) -> Checkout {
    let mut out = Checkout::new(payment.payment_id.clone(), unified_status(&payment.status));
    let href = |link: &Option<Link>| link.as_ref().map(|l| l.href.clone());
    out.redirect_url = href(&payment.links.checkout);
    out.deeplink = href(&payment.links.deeplink);
    out.qr_code_url = href(&payment.links.qrcode);
    out.expires_at = payment.expire_at;
    out.raw = raw;
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_and_unknown_is_never_success() {
        let expected = [
            ("PENDING", PaymentStatus::Pending),
            ("IDENTIFIED", PaymentStatus::RequiresAction),
            ("AUTHORIZED", PaymentStatus::Authorized),
            (
                "PENDING_MERCHANT_ACKNOWLEDGEMENT",
                PaymentStatus::RequiresMerchantAction,
            ),
            ("SUCCEEDED", PaymentStatus::Succeeded),
            ("AUTHORIZATION_FAILED", PaymentStatus::Failed),
            ("FAILED", PaymentStatus::Failed),
            ("CANCELLED", PaymentStatus::Cancelled),
            ("EXPIRED", PaymentStatus::Expired),
            ("VOIDED", PaymentStatus::Cancelled),
        ];
        assert_eq!(expected.len(), PayconiqStatus::DOCUMENTED.len());
        for (raw, unified) in expected {
            assert_eq!(
                unified_status(&PayconiqStatus::parse(raw)),
                unified,
                "{raw}"
            );
        }
        let unknown = unified_status(&PayconiqStatus::parse("PARTIALLY_SUCCEEDED"));
        assert_eq!(
            unknown,
            PaymentStatus::Unknown("PARTIALLY_SUCCEEDED".into())
        );
        assert!(!unknown.is_success());
    }

    #[test]
    fn error_bodies_keep_code_message_and_trace() {
        let body = br#"{"traceId":"b2586833395d4750","spanId":"c235e54376fab4b9","code":"FIELD_IS_REQUIRED","message":"Field 'amount' is mandatory"}"#;
        let e = provider_error(body);
        assert_eq!(e.code.as_deref(), Some("FIELD_IS_REQUIRED"));
        assert_eq!(e.message.as_deref(), Some("Field 'amount' is mandatory"));
        assert_eq!(
            e.trace_id.as_deref(),
            Some("b2586833395d4750/c235e54376fab4b9")
        );
        assert_eq!(
            provider_error(b"<html>502 Bad Gateway</html>"),
            ProviderError::default()
        );
    }

    #[test]
    fn money_is_euro_cents() {
        assert_eq!(
            money(Some(112), Some("EUR")),
            Some(Money::from_minor(112, Currency::EUR))
        );
        assert_eq!(
            money(Some(112), None),
            Some(Money::from_minor(112, Currency::EUR))
        );
        assert_eq!(money(Some(112), Some("USD")), None);
        assert_eq!(money(None, Some("EUR")), None);
    }
}
