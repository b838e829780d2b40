//! Paylican's JSON exactly as the Payment Creation API and the invoice webhooks carry it.
//!
//! Response and webhook types ignore unknown fields; enumerations keep values this crate does not
//! know verbatim (`Other(raw)`), so a new Paylican value is never a decode failure and never
//! mistaken for a known one. Amounts are [`Decimal`]s read from the raw JSON token (never through
//! `f64`): decode bodies straight from their bytes with `serde_json::from_slice`.

use payments_core::Decimal;
use serde::{Deserialize, Deserializer, Serialize};
use time::OffsetDateTime;

payments_core::wire_enum! {
    /// `data.status`: the invoice's status. Paid-ness is decided from this value alone.
    InvoiceStatus {
        /// Not paid (yet). Also the status of a failed or rejected payment attempt.
        Unpaid = "UNPAID",
        /// Paid.
        Paid = "PAID",
    }
}

payments_core::wire_enum! {
    /// The webhook `type`.
    ///
    /// Paylican's Payment Creation API documents `invoice.payment_initiated`,
    /// `invoice.payment_error` and `invoice.payment_rejected` by example (its "Payment Executed"
    /// example reuses `invoice.payment_initiated` with `status: PAID`); `invoice.paid` is seen in
    /// production integrations, not in Paylican's documentation; "invoice created" and "invoice
    /// viewed" are named in prose only, and their wire names `invoice.created` /
    /// `invoice.viewed` are inferred.
    EventType {
        /// A payment was started (and, with `status: PAID`, executed).
        PaymentInitiated = "invoice.payment_initiated",
        /// A payment attempt failed.
        PaymentError = "invoice.payment_error",
        /// A payment attempt was rejected.
        PaymentRejected = "invoice.payment_rejected",
        /// The invoice was paid.
        Paid = "invoice.paid",
        /// The invoice was created (wire name inferred).
        Created = "invoice.created",
        /// The invoice was viewed by the payer (wire name inferred).
        Viewed = "invoice.viewed",
    }
}

payments_core::wire_enum! {
    /// `data.paymentMode`: how the payer paid.
    PaymentMode {
        /// Cash at a counter.
        Cash = "CASH",
        /// Direct payment.
        DirectPayment = "DIRECT_PAYMENT",
        /// Mobile money.
        MobileMoney = "MOBILE_MONEY",
        /// Bank transfer.
        BankTransfer = "BANK_TRANSFER",
    }
}

/// A code/value pair: meta information sent at creation and echoed in webhooks. Both parts are
/// optional in Paylican's documentation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct AdditionalField {
    /// The field's code (`documentNo`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The field's value (`TST1201901260`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

impl AdditionalField {
    /// A field with both a code and a value.
    pub fn new(code: impl Into<String>, value: impl Into<String>) -> Self {
        AdditionalField {
            code: Some(code.into()),
            value: Some(value.into()),
        }
    }
}

/// The answer to `POST /api/v1/payment`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatePaymentResponse {
    /// Paylican's invoice id (`XYZ2024-ade08`): store it with the order.
    pub invoice_id: String,
    /// The merchant reference, echoed.
    #[serde(default)]
    pub merchant_reference: Option<String>,
}

/// An invoice as the webhook's `data` carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Invoice {
    /// The invoice id (the `invoiceId` returned at creation).
    pub id: String,
    /// The invoice status.
    pub status: InvoiceStatus,
    /// Total amount to be paid, in major units, exact (Java's scientific notation, `1E+2`, is
    /// read exactly too, see [`big_decimal`]).
    #[serde(
        default,
        deserialize_with = "big_decimal::deserialize_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub total_amount: Option<Decimal>,
    /// The merchant reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_no: Option<String>,
    /// The transaction reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_no: Option<String>,
    /// When the payment was executed.
    #[serde(
        default,
        with = "zoned_date_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub payment_date: Option<OffsetDateTime>,
    /// How the payer paid.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_mode: Option<PaymentMode>,
    /// The bank that processed the transaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collector: Option<String>,
    /// The bank that processed the transaction (code).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank_code: Option<String>,
    /// The additional fields sent at creation (`null` reads as empty).
    #[serde(default, deserialize_with = "null_as_empty")]
    pub additional_fields: Vec<AdditionalField>,
}

impl Invoice {
    /// True when the invoice is paid: decided from `status`, never from the event type.
    pub fn is_paid(&self) -> bool {
        self.status == InvoiceStatus::Paid
    }

    /// The value of the first additional field with `code`.
    pub fn additional_field(&self, code: &str) -> Option<&str> {
        self.additional_fields
            .iter()
            .find(|f| f.code.as_deref() == Some(code))
            .and_then(|f| f.value.as_deref())
    }
}

/// A webhook body, as Paylican posts it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaylicanEvent {
    /// The webhook id (a Java `Long`). Not unique per event on its own: de-duplicate on
    /// [`PaylicanEvent::event_id`].
    pub id: i64,
    /// The event type.
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the webhook was sent (nanosecond precision).
    #[serde(
        default,
        with = "zoned_date_time",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// How many delivery attempts are left after this one (maximum retries minus calls made).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_webhooks: Option<u32>,
    /// The invoice.
    pub data: Invoice,
}

impl PaylicanEvent {
    /// True when the invoice is paid (`data.status == PAID`), whatever the event type.
    pub fn is_paid(&self) -> bool {
        self.data.is_paid()
    }

    /// The id of this event for de-duplication:
    /// `<id>:<type>:<data.status>[:<data.paymentNo>]` (`41768:invoice.payment_initiated:PAID:gup87876f`).
    ///
    /// Paylican's webhook `id` alone is not enough: its documented examples carry one `id` with
    /// different types and statuses, so keying on it would drop a `PAID` event that follows an
    /// `UNPAID` one. A retry of the same delivery (only `pendingWebhooks` or `createdAt` differ)
    /// gets the same id. In each value `%` and `:` are percent-encoded (`%25`, `%3A`), and
    /// `:<paymentNo>` is left out only when `paymentNo` is absent, so two different events never
    /// share an id.
    pub fn event_id(&self) -> String {
        let id = self.id.to_string();
        let mut parts = vec![
            id.as_str(),
            self.event_type.as_str(),
            self.data.status.as_str(),
        ];
        parts.extend(self.data.payment_no.as_deref());
        payments_core::webhook::event_id_from_parts(parts)
    }
}

/// An error body; Paylican documents only "JSON with the error message", so the usual field
/// names of Spring and Keycloak answers are all read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    pub(crate) message: Option<String>,
    pub(crate) error_message: Option<String>,
    pub(crate) detail: Option<String>,
    pub(crate) error: Option<String>,
    #[serde(rename = "error_description")]
    pub(crate) error_description: Option<String>,
    pub(crate) code: Option<serde_json::Value>,
    pub(crate) error_code: Option<serde_json::Value>,
    pub(crate) trace_id: Option<String>,
    pub(crate) request_id: Option<String>,
}

fn null_as_empty<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
    Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
}

/// Java `BigDecimal` as Jackson writes it by default (`BigDecimal.toString()`): plain digits
/// (`5100.00`), or scientific notation when the scale is negative or the value very small
/// (`1E+2` — what `stripTrailingZeros()` makes of `100` — or `1E-7`). Both are read exactly,
/// never through `f64`; a value that does not fit a [`Decimal`] is an error, never a rounding.
pub mod big_decimal {
    use payments_core::Decimal;
    use serde::{Deserialize, Deserializer};

    /// Largest exponent magnitude accepted (money never needs more).
    const MAX_EXPONENT: u32 = 38;

    /// Parses `[-]digits[.digits][(e|E)[+|-]digits]` exactly.
    pub fn parse(text: &str) -> Result<Decimal, String> {
        let Some((coefficient, exponent)) = text.split_once(['e', 'E']) else {
            return Decimal::parse(text).map_err(|_| "not a decimal number".to_string());
        };
        let coefficient =
            Decimal::parse(coefficient).map_err(|_| "not a decimal number".to_string())?;
        let (negative, digits) = match exponent.as_bytes().first() {
            Some(b'-') => (true, exponent.get(1..).unwrap_or("")),
            Some(b'+') => (false, exponent.get(1..).unwrap_or("")),
            _ => (false, exponent),
        };
        if digits.is_empty() || digits.len() > 3 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err("malformed exponent".into());
        }
        let magnitude: u32 = digits.parse().map_err(|_| "malformed exponent")?;
        if magnitude > MAX_EXPONENT {
            return Err("exponent out of range".into());
        }
        // value = mantissa × 10^(exponent − scale)
        let exponent = if negative {
            -i64::from(magnitude)
        } else {
            i64::from(magnitude)
        };
        let shift = exponent - i64::from(coefficient.scale());
        let out_of_range = || "number out of range".to_string();
        if shift >= 0 {
            let factor = u32::try_from(shift)
                .ok()
                .and_then(|k| 10i128.checked_pow(k))
                .ok_or_else(out_of_range)?;
            let mantissa = coefficient
                .mantissa()
                .checked_mul(factor)
                .ok_or_else(out_of_range)?;
            Decimal::new(mantissa, 0).map_err(|_| out_of_range())
        } else {
            let scale = u32::try_from(-shift).map_err(|_| out_of_range())?;
            Decimal::new(coefficient.mantissa(), scale).map_err(|_| out_of_range())
        }
    }

    /// Deserializes a JSON number or numeric string; `null` is `None`.
    pub fn deserialize_option<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Decimal>, D::Error> {
        let Some(raw) = Option::<Box<serde_json::value::RawValue>>::deserialize(d)? else {
            return Ok(None);
        };
        let token = raw.get();
        if token == "null" {
            return Ok(None);
        }
        let text = match token.strip_prefix('"') {
            Some(quoted) => quoted
                .strip_suffix('"')
                .ok_or_else(|| serde::de::Error::custom("malformed number string"))?,
            None => token,
        };
        parse(text).map(Some).map_err(serde::de::Error::custom)
    }
}

/// Java `ZonedDateTime` as Jackson writes it: RFC 3339 text with up to nanosecond precision,
/// optionally followed by a `[Region/City]` zone id; or a number of seconds since the epoch with a
/// decimal fraction (Jackson's `WRITE_DATES_AS_TIMESTAMPS`).
pub mod zoned_date_time {
    use payments_core::Decimal;
    use serde::{Deserialize, Deserializer, Serializer};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    /// Longest text parsed.
    const MAX_LEN: usize = 80;

    /// Parses one timestamp text (see the module docs).
    pub fn parse(text: &str) -> Result<OffsetDateTime, String> {
        if text.len() > MAX_LEN {
            return Err("timestamp too long".into());
        }
        let without_zone = match text.split_once('[') {
            Some((head, zone)) if zone.ends_with(']') => head,
            Some(_) => return Err("malformed zone id".into()),
            None => text,
        };
        OffsetDateTime::parse(without_zone, &Rfc3339)
            .map_err(|_| "not an RFC 3339 timestamp".to_string())
    }

    fn from_epoch(value: Decimal) -> Result<OffsetDateTime, String> {
        let scale = value.scale();
        if scale > 9 {
            return Err("more than nanosecond precision".into());
        }
        let factor = 10i128.pow(9 - scale);
        let nanos = value
            .mantissa()
            .checked_mul(factor)
            .ok_or("timestamp out of range")?;
        OffsetDateTime::from_unix_timestamp_nanos(nanos)
            .map_err(|_| "timestamp out of range".into())
    }

    /// Serializes as RFC 3339 (`None` as `null`).
    pub fn serialize<S: Serializer>(
        value: &Option<OffsetDateTime>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            None => s.serialize_none(),
            Some(at) => {
                let text = at
                    .format(&Rfc3339)
                    .map_err(|e| serde::ser::Error::custom(e.to_string()))?;
                s.serialize_str(&text)
            }
        }
    }

    /// Deserializes text or an epoch number; `null` is `None`.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<OffsetDateTime>, D::Error> {
        let Some(raw) = Option::<Box<serde_json::value::RawValue>>::deserialize(d)? else {
            return Ok(None);
        };
        let token = raw.get();
        if token == "null" {
            return Ok(None);
        }
        let parsed = if token.starts_with('"') {
            let text: String = serde_json::from_str(token).map_err(serde::de::Error::custom)?;
            parse(&text)
        } else {
            Decimal::parse(token)
                .map_err(|_| "not a timestamp".to_string())
                .and_then(from_epoch)
        };
        parsed.map(Some).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn enums_keep_unknown_values_verbatim() {
        assert_eq!(InvoiceStatus::parse("PAID"), InvoiceStatus::Paid);
        assert_eq!(
            InvoiceStatus::parse("paid"),
            InvoiceStatus::Other("paid".into()),
            "case-sensitive: a lowercase value is not assumed to be PAID"
        );
        assert_eq!(
            EventType::parse("invoice.payment_error"),
            EventType::PaymentError
        );
        assert_eq!(
            EventType::parse("invoice.refunded").as_str(),
            "invoice.refunded"
        );
        for mode in PaymentMode::DOCUMENTED {
            assert_eq!(&PaymentMode::parse(mode.as_str()), mode);
        }
    }

    #[test]
    fn java_big_decimals_are_read_exactly_in_both_notations() {
        let read = |text: &str| big_decimal::parse(text).map(|d| d.to_string());
        assert_eq!(read("5100.00").unwrap(), "5100.00");
        assert_eq!(read("0.10").unwrap(), "0.10");
        assert_eq!(read("1E+2").unwrap(), "100");
        assert_eq!(read("5.1E+3").unwrap(), "5100");
        assert_eq!(read("1.00E+2").unwrap(), "100");
        assert_eq!(read("1e3").unwrap(), "1000");
        assert_eq!(read("1E-7").unwrap(), "0.0000001");
        assert_eq!(read("-2.5E-1").unwrap(), "-0.25");
        assert_eq!(read("12.34E1").unwrap(), "123.4");
        for bad in [
            "1e",
            "1e+",
            "1e-",
            "1e+-3",
            "e3",
            "1.e3",
            "1e3.0",
            "1e400",
            "1e39",
            "1E0001",
            "1e38000000000",
            "9e38",
            "1,5",
            "",
        ] {
            assert!(read(bad).is_err(), "{bad:?}");
        }
        #[derive(Deserialize)]
        struct W {
            #[serde(default, deserialize_with = "big_decimal::deserialize_option")]
            amount: Option<Decimal>,
        }
        let amount = |json: &str| serde_json::from_str::<W>(json).map(|w| w.amount);
        assert_eq!(
            amount(r#"{"amount": 1E+2}"#).unwrap(),
            Some(Decimal::new(100, 0).unwrap())
        );
        assert_eq!(
            amount(r#"{"amount": "0.10"}"#)
                .unwrap()
                .unwrap()
                .to_string(),
            "0.10"
        );
        assert_eq!(amount(r#"{"amount": null}"#).unwrap(), None);
        assert_eq!(amount(r#"{}"#).unwrap(), None);
        assert!(amount(r#"{"amount": true}"#).is_err());
        assert!(amount(r#"{"amount": "1"#).is_err());
    }

    #[test]
    fn timestamps_keep_nanoseconds_and_accept_zone_ids_and_epochs() {
        let at = zoned_date_time::parse("2024-03-28T14:32:47.238686329Z").unwrap();
        assert_eq!(at, datetime!(2024-03-28 14:32:47.238686329 UTC));
        let zoned = zoned_date_time::parse("2024-03-28T15:32:47.5+01:00[Europe/Paris]").unwrap();
        assert_eq!(zoned, datetime!(2024-03-28 14:32:47.5 UTC));
        assert!(zoned_date_time::parse("2024-03-28 14:32:47").is_err());
        assert!(zoned_date_time::parse("2024-03-28T14:32:47Z[Europe").is_err());
        #[derive(Deserialize)]
        struct W {
            #[serde(default, with = "zoned_date_time")]
            at: Option<OffsetDateTime>,
        }
        let w: W = serde_json::from_str(r#"{"at": 1711636367.238686329}"#).unwrap();
        assert_eq!(w.at, Some(datetime!(2024-03-28 14:32:47.238686329 UTC)));
        let w: W = serde_json::from_str(r#"{"at": null}"#).unwrap();
        assert_eq!(w.at, None);
        let w: W = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(w.at, None);
        assert!(serde_json::from_str::<W>(r#"{"at": 1.0000000001}"#).is_err());
        assert!(serde_json::from_str::<W>(r#"{"at": 1e400}"#).is_err());
        assert!(serde_json::from_str::<W>(r#"{"at": true}"#).is_err());
    }
}
