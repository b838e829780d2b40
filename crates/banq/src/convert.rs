//! Banq ⇄ core: the status mapping table, money, errors.
//!
//! The table below mirrors the `match` in [`unified_status`]; `docs/status-mapping.md` repeats it
//! and the workspace conformance suite (`tests/`) checks that file against this function. Banq
//! compares status values case-insensitively (`Completed` and `completed` are the same).
//!
//! | Banq | unified | final |
//! |---|---|---|
//! | `pending` | `Pending` | no |
//! | `processing` | `Processing` | no |
//! | `completed` | `Succeeded` | yes |
//! | `failed` | `Failed` | yes |
//! | `cancelled` (also `canceled`) | `Cancelled` | yes |
//! | anything else | `Unknown(raw)` | no |

use payments_core::{Checkout, Currency, Money, MoneyError, Payment, PaymentStatus, ProviderError};

use crate::wire::{BanqPayment, BanqStatus, PaymentLink, parse_error};

/// The unified status of a Banq status (one exhaustive match: a new variant will not compile
/// until it is mapped).
pub fn unified_status(status: &BanqStatus) -> PaymentStatus {
    match status {
        BanqStatus::Pending => PaymentStatus::Pending,
        BanqStatus::Processing => PaymentStatus::Processing,
        BanqStatus::Completed => PaymentStatus::Succeeded,
        BanqStatus::Failed => PaymentStatus::Failed,
        BanqStatus::Cancelled => PaymentStatus::Cancelled,
        BanqStatus::Other(raw) => PaymentStatus::Unknown(raw.clone()),
    }
}

/// Banq's `funds` (major units) as core money in `currency`: `Ok(None)` when the answer has no
/// amount; an error naming `funds` when the currency cannot hold it exactly (more decimals than
/// the currency has, or out of range) — never a rounded value, never a silently missing one.
/// The reason does not repeat the amount.
pub fn money(
    funds: Option<payments_core::Decimal>,
    currency: Currency,
) -> Result<Option<Money>, String> {
    let Some(funds) = funds else {
        return Ok(None);
    };
    Money::from_decimal(funds, currency)
        .map(Some)
        .map_err(|e| match e {
            MoneyError::TooManyDecimals {
                decimals, exponent, ..
            } => format!(
                "funds has {decimals} decimals but {} has {exponent}: it cannot be represented exactly",
                currency.code()
            ),
            _ => format!("funds is out of range for {}", currency.code()),
        })
}

/// Reads a Banq error body (whatever its shape, see [`crate::wire`]) into the core's provider
/// error. A body that is not JSON (an HTML error page) yields only what the status says.
pub fn provider_error(body: &[u8]) -> ProviderError {
    let fields = parse_error(body);
    let mut error = ProviderError::default();
    if let Some(code) = fields.code {
        error = error.with_code(code);
    }
    if let Some(message) = fields.message {
        error = error.with_message(message);
    }
    if let Some(trace) = fields.trace_id {
        error = error.with_trace_id(trace);
    }
    error
}

/// The core's view of a Banq payment. `requested_id` is the id it was fetched by, used when the
/// answer names none.
///
/// # Errors
/// The reason for a decode error, naming `funds`, when `currency` cannot hold the amount exactly.
pub fn to_payment(
    payment: &BanqPayment,
    requested_id: &str,
    currency: Currency,
) -> Result<Payment, String> {
    let mut out = Payment::new(
        payment
            .id
            .clone()
            .unwrap_or_else(|| requested_id.to_string()),
        unified_status(&payment.status),
        payment.raw_status.clone(),
    );
    out.amount = money(payment.funds, currency)?;
    out.reference = payment.external_order_code.clone();
    out.created_at = payment.created_at;
    out.raw = payment.raw.clone();
    Ok(out)
}

/// The core's checkout for a payment link: the link is the redirect URL; a link without a
/// status is `Pending`. `None` when the answer names no payment id (the neutral flow needs one).
pub fn to_checkout(link: &PaymentLink) -> Option<Checkout> {
    let id = link.id.clone()?;
    let status = link
        .status
        .as_ref()
        .map_or(PaymentStatus::Pending, unified_status);
    let mut out = Checkout::new(id, status);
    out.redirect_url = Some(link.url.clone());
    out.raw = link.raw.clone();
    Some(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use payments_core::Decimal;

    #[test]
    fn every_known_status_maps_and_unknown_is_never_success() {
        let expected = [
            ("pending", PaymentStatus::Pending),
            ("processing", PaymentStatus::Processing),
            ("completed", PaymentStatus::Succeeded),
            ("failed", PaymentStatus::Failed),
            ("cancelled", PaymentStatus::Cancelled),
        ];
        assert_eq!(expected.len(), BanqStatus::DOCUMENTED.len());
        for (raw, unified) in expected {
            assert_eq!(unified_status(&BanqStatus::parse(raw)), unified, "{raw}");
            let upper = raw.to_uppercase();
            assert_eq!(
                unified_status(&BanqStatus::parse(&upper)),
                unified,
                "{upper}"
            );
        }
        assert_eq!(
            unified_status(&BanqStatus::parse("Canceled")),
            PaymentStatus::Cancelled
        );
        for raw in ["succeeded", "paid", "complete", "completed_partially", ""] {
            let unknown = unified_status(&BanqStatus::parse(raw));
            assert_eq!(unknown, PaymentStatus::Unknown(raw.into()));
            assert!(!unknown.is_success() && !unknown.is_final());
        }
    }

    #[test]
    fn money_is_exact_absent_or_an_error_naming_the_field() {
        let d = |s| Some(Decimal::parse(s).unwrap());
        assert_eq!(
            money(d("100.10"), Currency::USD),
            Ok(Some(Money::from_minor(10_010, Currency::USD)))
        );
        assert_eq!(
            money(d("100"), Currency::USD),
            Ok(Some(Money::from_minor(10_000, Currency::USD)))
        );
        assert_eq!(
            money(d("0.001"), Currency::USD),
            Err("funds has 3 decimals but USD has 2: it cannot be represented exactly".into()),
            "never rounded, never dropped"
        );
        assert_eq!(
            money(d("100000000000000000000"), Currency::USD),
            Err("funds is out of range for USD".into())
        );
        assert_eq!(money(None, Currency::USD), Ok(None));
    }

    #[test]
    fn checkout_needs_an_id_and_defaults_to_pending() {
        let link = crate::wire::parse_payment_link(
            br#"{"id":"p-1","link":"https://link.banq.com/4x1t09WiOjb"}"#,
        )
        .unwrap();
        let checkout = to_checkout(&link).unwrap();
        assert_eq!(checkout.payment_id, "p-1");
        assert_eq!(checkout.status, PaymentStatus::Pending);
        assert_eq!(
            checkout.redirect_url.as_deref(),
            Some("https://link.banq.com/4x1t09WiOjb")
        );
        let no_id =
            crate::wire::parse_payment_link(br#"{"link":"https://link.banq.com/x"}"#).unwrap();
        assert!(to_checkout(&no_id).is_none());
    }
}
