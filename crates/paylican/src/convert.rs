//! Paylican ⇄ core: the status mapping table, money, errors, and the neutral [`Payment`] and
//! [`Checkout`].
//!
//! The table below mirrors the `match` in [`unified_status`]; `docs/status-mapping.md` repeats it
//! and the workspace conformance suite (`tests/`) checks that file against this function.
//!
//! | Paylican `data.status` | unified | final |
//! |---|---|---|
//! | `UNPAID` | `Pending` | no |
//! | `PAID` | `Succeeded` | yes |
//! | anything else | `Unknown(raw)` | no |
//!
//! The status is the invoice's, whatever the event type: a failed or rejected payment attempt
//! leaves the invoice `UNPAID` (the payer may try again), and Paylican's own "Payment Executed"
//! example is an `invoice.payment_initiated` event with `status: PAID`.

use payments_core::{
    Checkout, Currency, Decimal, Money, MoneyError, Payment, PaymentStatus, ProviderError,
};

use crate::wire::{ErrorBody, Invoice, InvoiceStatus};

/// The unified status of an invoice status (one exhaustive match: a new variant will not compile
/// until it is mapped).
pub fn unified_status(status: &InvoiceStatus) -> PaymentStatus {
    match status {
        InvoiceStatus::Unpaid => PaymentStatus::Pending,
        InvoiceStatus::Paid => PaymentStatus::Succeeded,
        InvoiceStatus::Other(raw) => PaymentStatus::Unknown(raw.clone()),
    }
}

/// A Paylican amount (major units) as money in the account's currency; more decimals than the
/// currency has is an error, never a rounding.
pub fn money(amount: Decimal, currency: Currency) -> Result<Money, MoneyError> {
    Money::from_decimal(amount, currency)
}

/// An invoice's `totalAmount` as money in the account's `currency`: `Ok(None)` when the invoice
/// carries no amount, an error naming `field` when the currency cannot hold it exactly (more
/// decimals than the currency has, or out of range) — never a silently missing amount. The
/// reason does not repeat the amount.
pub fn total_amount(
    invoice: &Invoice,
    currency: Currency,
    field: &str,
) -> Result<Option<Money>, String> {
    let Some(amount) = invoice.total_amount else {
        return Ok(None);
    };
    money(amount, currency).map(Some).map_err(|e| match e {
        MoneyError::TooManyDecimals {
            decimals, exponent, ..
        } => format!(
            "{field} has {decimals} decimals but {} has {exponent}: it cannot be represented exactly",
            currency.code()
        ),
        _ => format!("{field} is out of range for {}", currency.code()),
    })
}

/// The core's view of an invoice; `raw` is Paylican's JSON for it. The amount is set only with
/// the account `currency` (Paylican's answers carry none).
///
/// # Errors
/// The reason for a decode error, naming `totalAmount`, when the currency cannot hold the amount
/// exactly: never a payment whose amount silently went missing.
pub fn to_payment(
    invoice: &Invoice,
    currency: Option<Currency>,
    raw: serde_json::Value,
) -> std::result::Result<Payment, String> {
    let mut out = Payment::new(
        invoice.id.clone(),
        unified_status(&invoice.status),
        invoice.status.as_str(),
    );
    out.amount = match currency {
        Some(currency) => total_amount(invoice, currency, "totalAmount")?,
        None => None,
    };
    out.reference = invoice.document_no.clone();
    out.raw = raw;
    Ok(out)
}

/// The core's checkout for a created payment: Paylican's invoice id, `Pending`, and the
/// payment-page URL to redirect the payer to; `raw` is Paylican's answer.
pub fn to_checkout(invoice_id: &str, payment_page_url: &str, raw: serde_json::Value) -> Checkout {
    let mut out = Checkout::new(invoice_id, PaymentStatus::Pending);
    out.redirect_url = Some(payment_page_url.to_string());
    out.raw = raw;
    out
}

/// Reads an error body ("JSON with the error message"; Spring's `{status, error, message, path}`,
/// Keycloak's `{error, error_description}`) into the core's provider error: the code is `code`,
/// `errorCode` or else `error` (`Not Found`, `invalid_grant`); the message is `message`,
/// `errorMessage`, `error_description` or `detail`; the trace id `traceId` or `requestId`. A body of another
/// shape (an HTML page from a proxy) yields only what the status says.
pub fn provider_error(body: &[u8]) -> ProviderError {
    let mut error = ProviderError::default();
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return error;
    };
    let code = [parsed.code, parsed.error_code]
        .into_iter()
        .flatten()
        .find_map(|v| match v {
            serde_json::Value::String(s) => Some(s),
            serde_json::Value::Number(n) => Some(n.to_string()),
            _ => None,
        })
        // Spring's `"error": "Not Found"`, Keycloak's `"error": "invalid_grant"`.
        .or(parsed.error);
    if let Some(code) = code {
        error = error.with_code(code);
    }
    let message = parsed
        .message
        .or(parsed.error_message)
        .or(parsed.error_description)
        .or(parsed.detail);
    if let Some(message) = message {
        error = error.with_message(message);
    }
    if let Some(trace) = parsed.trace_id.or(parsed.request_id) {
        error = error.with_trace_id(trace);
    }
    error
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_status_maps_and_unknown_is_never_success() {
        let expected = [
            ("UNPAID", PaymentStatus::Pending),
            ("PAID", PaymentStatus::Succeeded),
        ];
        assert_eq!(expected.len(), InvoiceStatus::DOCUMENTED.len());
        for (raw, unified) in expected {
            assert_eq!(unified_status(&InvoiceStatus::parse(raw)), unified, "{raw}");
        }
        for raw in ["PARTIALLY_PAID", "paid", "Paid", ""] {
            let s = unified_status(&InvoiceStatus::parse(raw));
            assert_eq!(s, PaymentStatus::Unknown(raw.into()));
            assert!(!s.is_success() && !s.is_final());
        }
    }

    #[test]
    fn error_bodies_of_the_usual_shapes_are_read() {
        let spring = br#"{"timestamp":"2024-03-28T14:32:47.238Z","status":400,"error":"Bad Request","message":"amount must not be null","path":"/api/v1/payment"}"#;
        let e = provider_error(spring);
        assert_eq!(e.message.as_deref(), Some("amount must not be null"));
        assert_eq!(e.code.as_deref(), Some("Bad Request"));
        let keycloak =
            br#"{"error":"invalid_grant","error_description":"Invalid user credentials"}"#;
        let e = provider_error(keycloak);
        assert_eq!(e.code.as_deref(), Some("invalid_grant"));
        assert_eq!(e.message.as_deref(), Some("Invalid user credentials"));
        let coded = br#"{"code":1042,"message":"Unknown payment type","traceId":"t-1"}"#;
        let e = provider_error(coded);
        assert_eq!(e.code.as_deref(), Some("1042"));
        assert_eq!(e.trace_id.as_deref(), Some("t-1"));
        assert_eq!(
            provider_error(b"<html>503</html>"),
            ProviderError::default()
        );
    }

    #[test]
    fn a_total_amount_is_exact_absent_or_an_error_naming_the_field() {
        let invoice = |amount: Option<&str>| Invoice {
            total_amount: amount.map(|a| crate::wire::big_decimal::parse(a).unwrap()),
            ..crate::testing::EventBuilder::executed().build().data
        };
        assert_eq!(
            total_amount(&invoice(Some("5100")), Currency::GNF, "totalAmount"),
            Ok(Some(Money::from_minor(5100, Currency::GNF)))
        );
        assert_eq!(
            total_amount(&invoice(None), Currency::GNF, "totalAmount"),
            Ok(None)
        );
        let reason =
            total_amount(&invoice(Some("5100.005")), Currency::GNF, "totalAmount").unwrap_err();
        assert!(
            reason.starts_with("totalAmount has 3 decimals but GNF has 0"),
            "{reason}"
        );
        assert!(!reason.contains("5100"), "{reason}");
        let reason =
            total_amount(&invoice(Some("1E+30")), Currency::EUR, "data.totalAmount").unwrap_err();
        assert_eq!(reason, "data.totalAmount is out of range for EUR");
    }

    #[test]
    fn money_is_exact() {
        let d = Decimal::parse("100").unwrap();
        assert_eq!(money(d, Currency::GNF).unwrap().minor_units(), 100);
        assert_eq!(money(d, Currency::EUR).unwrap().minor_units(), 10_000);
        assert!(money(Decimal::parse("0.5").unwrap(), Currency::GNF).is_err());
    }
}
