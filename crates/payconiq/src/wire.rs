//! Payconiq's JSON exactly as the Merchant Payment API v3 sends and receives it.
//!
//! Response types tolerate unknown fields and the fields removed in spec 3.6.2 (`transferAmount`,
//! `tippingAmount`, `totalAmount`), and accept both `expiresAt` (create) and `expireAt` (get,
//! search, callbacks).

use serde::{Deserialize, Serialize, Serializer};
use time::OffsetDateTime;

payments_core::wire_enum! {
    /// A Payconiq payment status, as on the wire; [`PayconiqStatus::DOCUMENTED`] lists the
    /// documented values in flow order.
    PayconiqStatus {
        /// Created, not scanned yet.
        Pending = "PENDING",
        /// The payer scanned the QR code / opened the link.
        Identified = "IDENTIFIED",
        /// The payer confirmed and the bank authorised.
        Authorized = "AUTHORIZED",
        /// Waiting for the merchant's acknowledge call.
        PendingMerchantAcknowledgement = "PENDING_MERCHANT_ACKNOWLEDGEMENT",
        /// Paid.
        Succeeded = "SUCCEEDED",
        /// The bank refused the authorisation.
        AuthorizationFailed = "AUTHORIZATION_FAILED",
        /// Failed during processing.
        Failed = "FAILED",
        /// Cancelled by the merchant or the payer.
        Cancelled = "CANCELLED",
        /// Not paid in time.
        Expired = "EXPIRED",
        /// Voided.
        Voided = "VOIDED",
    }
}

/// Body of `POST /payments` and `POST /payments/pos`.
#[cfg(feature = "client")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatePaymentBody<'a> {
    pub(crate) amount: i64,
    pub(crate) currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) bulk_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) callback_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) return_url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) pos_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) shop_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) shop_name: Option<&'a str>,
}

/// A `{"href": ...}` hypermedia link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    /// The URL.
    pub href: String,
}

/// The `_links` of a payment. Which are present depends on the status (`cancel` while
/// cancellable, `refund` once succeeded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Links {
    /// The payment itself.
    #[serde(rename = "self", default, skip_serializing_if = "Option::is_none")]
    pub self_: Option<Link>,
    /// Opens the Payconiq / Bancontact app on a phone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deeplink: Option<Link>,
    /// A QR code image to show on a screen.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qrcode: Option<Link>,
    /// Payconiq's hosted checkout page (when a `returnUrl` was given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout: Option<Link>,
    /// Cancels the payment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<Link>,
    /// Gets the refund IBAN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund: Option<Link>,
}

/// The merchant side of a payment.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Creditor {
    /// Payment profile id (the `sub` of callback signatures).
    pub profile_id: Option<String>,
    /// Merchant id.
    pub merchant_id: Option<String>,
    /// Name shown to the payer.
    pub name: Option<String>,
    /// The merchant's IBAN.
    pub iban: Option<String>,
    /// The callback URL in effect.
    pub callback_url: Option<String>,
}

/// The payer side of a payment (IBAN masked by Payconiq).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Debtor {
    /// The payer's name.
    pub name: Option<String>,
    /// The payer's masked IBAN (`*************12636`).
    pub iban: Option<String>,
}

/// A payment as returned by create, get, search and sent in callbacks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PayconiqPayment {
    /// Payconiq's payment id.
    pub payment_id: String,
    /// Status.
    pub status: PayconiqStatus,
    /// Creation time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// When it can no longer be paid (`expiresAt` on create, `expireAt` elsewhere).
    #[serde(
        default,
        alias = "expiresAt",
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub expire_at: Option<OffsetDateTime>,
    /// When it succeeded.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub succeeded_at: Option<OffsetDateTime>,
    /// Amount in euro cents (0 when the payer chose the amount).
    #[serde(default)]
    pub amount: Option<i64>,
    /// Currency (`EUR`).
    #[serde(default)]
    pub currency: Option<String>,
    /// Description shown to the payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The merchant's reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// The merchant's bulk id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bulk_id: Option<String>,
    /// A message from the payer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The merchant side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creditor: Option<Creditor>,
    /// The payer side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debtor: Option<Debtor>,
    /// Legacy (removed in 3.6.2): amount charged, in cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transfer_amount: Option<i64>,
    /// Legacy (removed in 3.6.2): tip, in cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tipping_amount: Option<i64>,
    /// Legacy (removed in 3.6.2): total, in cents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_amount: Option<i64>,
    /// Hypermedia links.
    #[serde(rename = "_links", default)]
    pub links: Links,
}

/// Body of `POST /payments/search`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SearchQuery {
    /// Created at or after (Payconiq's default: now minus one day).
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "search_time"
    )]
    pub from: Option<OffsetDateTime>,
    /// Created at or before (Payconiq's default: now). Fix it when paging through a busy profile
    /// so that new payments do not shift the pages.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "search_time"
    )]
    pub to: Option<OffsetDateTime>,
    /// Only these statuses.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub payment_statuses: Vec<PayconiqStatus>,
    /// Only this merchant reference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

impl SearchQuery {
    /// Everything Payconiq's defaults select (the last day).
    pub fn new() -> Self {
        Self::default()
    }

    /// Created at or after `from`.
    pub fn from(mut self, from: OffsetDateTime) -> Self {
        self.from = Some(from);
        self
    }

    /// Created at or before `to`.
    pub fn to(mut self, to: OffsetDateTime) -> Self {
        self.to = Some(to);
        self
    }

    /// Adds a status to the filter.
    pub fn status(mut self, status: PayconiqStatus) -> Self {
        self.payment_statuses.push(status);
        self
    }

    /// Only this reference.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }
}

/// `YYYY-MM-DDTHH:mm:ss.SSSZ` in UTC, as the search endpoint documents.
fn search_time<S: Serializer>(value: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    const FORMAT: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    match value {
        Some(t) => {
            let text = t
                .checked_to_offset(time::UtcOffset::UTC)
                .ok_or_else(|| serde::ser::Error::custom("search date out of range"))?
                .format(FORMAT)
                .map_err(serde::ser::Error::custom)?;
            s.serialize_str(&text)
        }
        None => s.serialize_none(),
    }
}

/// One page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct SearchPage {
    /// Number of elements on this page.
    #[serde(default)]
    pub size: u32,
    /// Number of pages.
    #[serde(default)]
    pub total_pages: u32,
    /// Number of elements in all pages.
    #[serde(default)]
    pub total_elements: u64,
    /// This page's zero-based index.
    #[serde(default)]
    pub number: u32,
    /// The payments, newest first.
    #[serde(default)]
    pub details: Vec<PayconiqPayment>,
}

/// Answer of `GET /payments/{id}/debtor/refundIban`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefundIban {
    /// The payer's IBAN, to which the merchant transfers the refund itself.
    pub iban: String,
}

/// Body of `POST /payments/{id}/acknowledge`.
#[cfg(feature = "client")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AcknowledgeBody<'a> {
    pub(crate) currency: &'static str,
    pub(crate) amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reference: Option<&'a str>,
}

/// Payconiq's error body.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ErrorBody {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) trace_id: Option<String>,
    pub(crate) span_id: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_values_are_kept() {
        for status in PayconiqStatus::DOCUMENTED {
            assert_eq!(&PayconiqStatus::parse(status.as_str()), status);
        }
        assert_eq!(
            PayconiqStatus::parse("HALF_PAID"),
            PayconiqStatus::Other("HALF_PAID".into())
        );
        assert_eq!(
            PayconiqStatus::parse("succeeded"),
            PayconiqStatus::Other("succeeded".into()),
            "values are case-sensitive on the wire"
        );
    }

    #[test]
    fn search_dates_use_the_documented_format() {
        let q = SearchQuery::new()
            .from(time::macros::datetime!(2018-08-01 0:10:10 UTC))
            .to(time::macros::datetime!(2018-08-31 2:10:10.999 +02:00))
            .status(PayconiqStatus::Succeeded)
            .reference("1234568");
        assert_eq!(
            serde_json::to_value(&q).unwrap(),
            serde_json::json!({
                "from": "2018-08-01T00:10:10.000Z",
                "to": "2018-08-31T00:10:10.999Z",
                "paymentStatuses": ["SUCCEEDED"],
                "reference": "1234568"
            })
        );
        assert_eq!(serde_json::to_string(&SearchQuery::new()).unwrap(), "{}");
    }
}
