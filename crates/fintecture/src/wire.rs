//! Fintecture's JSON exactly as the PIS v2 API sends and receives it.
//!
//! Response types tolerate unknown fields. Amounts are decimal strings in major units
//! (`"550.60"`) read into [`Decimal`] without ever passing through a float; decode them from
//! the response bytes (not through `serde_json::Value`) to keep that exactness.
//!
//! Sources: Fintecture's guide *Initiate an Immediate Transfer* and API reference
//! (<https://docs.fintecture.com>), and its *Pagination* guide
//! (<https://doc.fintecture.com/docs/api-pagination>) for the list envelopes. Shapes marked
//! *inferred* are not spelled out there (settlement attributes, error bodies) and are read
//! tolerantly.

use payments_core::Decimal;
use serde::{Deserialize, Serialize, Serializer};

payments_core::wire_enum! {
    /// A payment session's `status`.
    SessionStatus {
        /// Final: the payment was initiated and accepted (paid).
        PaymentCreated = "payment_created",
        /// Final: cancelled.
        PaymentCancelled = "payment_cancelled",
        /// Final or intermediate (merchant setting): refused or failed.
        PaymentUnsuccessful = "payment_unsuccessful",
        /// Final or intermediate (merchant setting): not paid in time.
        PaymentExpired = "payment_expired",
        /// The session exists; the payer has not started.
        OrderCreated = "order_created",
        /// The payer opened the session.
        SessionInitiated = "session_initiated",
        /// An error occurred during the flow; the payer may try again.
        PaymentError = "payment_error",
        /// Initiated, waiting for the bank.
        PaymentPending = "payment_pending",
        /// The payer must authenticate at the bank (strong customer authentication).
        ScaRequired = "sca_required",
        /// The payer must choose a bank.
        ProviderRequired = "provider_required",
        /// Waiting for the transfer to arrive.
        PaymentWaiting = "payment_waiting",
        /// The bank has not said yet.
        PaymentUnknown = "payment_unknown",
        /// Part of the amount arrived.
        PaymentPartial = "payment_partial",
        /// The payer must give an IBAN.
        IbanRequired = "iban_required",
        /// The payer gave an IBAN.
        IbanReceived = "iban_received",
    }
}

payments_core::wire_enum! {
    /// The `transfer_state` of a payment's money.
    TransferState {
        /// Final: the funds arrived.
        Completed = "completed",
        /// Final unless a Fintecture account is used: the bank sent the transfer.
        Sent = "sent",
        /// Final: received.
        Received = "received",
        /// Final: cancelled.
        Cancelled = "cancelled",
        /// Final: rejected by the bank.
        Rejected = "rejected",
        /// Final: more than the amount arrived.
        Overpaid = "overpaid",
        /// Being processed.
        Processing = "processing",
        /// Pending at the bank.
        Pending = "pending",
        /// Authorised by the payer.
        Authorized = "authorized",
        /// Accepted by the bank.
        Accepted = "accepted",
        /// Less than the amount arrived so far.
        Insufficient = "insufficient",
        /// Initiated.
        Initiated = "initiated",
        /// Blocked (e.g. a bank check).
        Blocked = "blocked",
        /// Waiting for more signatures (business accounts).
        MultiSignature = "multi-signature",
    }
}

/// Serializes an amount as Fintecture writes it: a decimal string (`"550.60"`), exact.
pub fn decimal_string<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_str(&d.to_string()),
        None => s.serialize_none(),
    }
}

/// `psu_address` of a connect session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PsuAddress {
    /// Street name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// House number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Complement (floor, building).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub complement: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// ISO 3166-1 alpha-2 country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
}

/// The `meta` of `POST /pis/v2/connect`: who pays and session options.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct ConnectMeta<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_phone: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_phone_prefix: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_ip: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_company: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_incorporation: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) psu_address: Option<&'a PsuAddress>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) expiry: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) reconciliation: Option<&'a serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) payment_methods: Option<&'a [serde_json::Value]>,
}

/// `beneficiary` of a connect session (the account to credit, when not the merchant's default).
/// Field names inferred from Fintecture's API reference; all optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Beneficiary {
    /// Account holder name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// IBAN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iban: Option<String>,
    /// BIC.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swift_bic: Option<String>,
    /// Street.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub street: Option<String>,
    /// Number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Postal code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zip: Option<String>,
    /// City.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub city: Option<String>,
    /// Country code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Bank name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct ConnectAttributes<'a> {
    /// Decimal string in major units (`"550.60"`).
    pub(crate) amount: String,
    pub(crate) currency: &'a str,
    pub(crate) communication: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) beneficiary: Option<&'a Beneficiary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_to_end_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) execution_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) scheme: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct ConnectData<'a> {
    #[serde(rename = "type")]
    pub(crate) kind: &'static str,
    pub(crate) attributes: ConnectAttributes<'a>,
}

/// Body of `POST /pis/v2/connect`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct ConnectBody<'a> {
    pub(crate) meta: ConnectMeta<'a>,
    pub(crate) data: ConnectData<'a>,
}

/// Answer of `POST /pis/v2/connect`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectSession {
    /// Session id and the URL to send the payer to.
    pub meta: ConnectSessionMeta,
}

/// `meta` of [`ConnectSession`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ConnectSessionMeta {
    /// The payment session id: store it with the order.
    pub session_id: String,
    /// The Connect URL to redirect the payer to.
    pub url: String,
}

/// Answer of `GET /pis/v2/payments/{session_id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FintecturePayment {
    /// Session-level facts (status, bank, payer).
    pub meta: PaymentMeta,
    /// The payment resource.
    pub data: PaymentResource,
}

/// `meta` of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentMeta {
    /// Session id.
    pub session_id: String,
    /// Session status.
    pub status: SessionStatus,
    /// HTTP-like code Fintecture reports with the status.
    #[serde(default)]
    pub code: Option<serde_json::Number>,
    /// The payer's bank code (`cmcifr2a`).
    #[serde(default)]
    pub provider: Option<String>,
    /// Whether the bank accepted the payment.
    #[serde(default)]
    pub is_accepted: Option<bool>,
    /// Whether the settlement to the merchant is complete.
    #[serde(default)]
    pub has_settlement_completed: Option<bool>,
    /// `PayByBank` or `RequestToPay`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The type the session was created with.
    #[serde(default)]
    pub initial_type: Option<String>,
    /// The payer's id at Fintecture.
    #[serde(default)]
    pub customer_id: Option<String>,
}

/// `data` of a payment (a JSON:API resource).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentResource {
    /// The session id again.
    #[serde(default)]
    pub id: Option<String>,
    /// `payments`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// The payment's attributes.
    pub attributes: PaymentAttributes,
}

/// `data.attributes` of a payment (and of list items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentAttributes {
    /// Requested amount, major units, exact.
    #[serde(default, serialize_with = "decimal_string")]
    pub amount: Option<Decimal>,
    /// Amount received so far, when Fintecture reports it.
    #[serde(default, serialize_with = "decimal_string")]
    pub received_amount: Option<Decimal>,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
    /// The remittance text (the merchant's order reference).
    #[serde(default)]
    pub communication: Option<String>,
    /// End-to-end id.
    #[serde(default)]
    pub end_to_end_id: Option<String>,
    /// Execution date (`YYYY-MM-DD`).
    #[serde(default)]
    pub execution_date: Option<String>,
    /// `SEPA`, `INSTANT_SEPA`, ...
    #[serde(default)]
    pub payment_scheme: Option<String>,
    /// Where the money is.
    #[serde(default)]
    pub transfer_state: Option<TransferState>,
    /// Status (list items carry it in the attributes).
    #[serde(default)]
    pub status: Option<SessionStatus>,
    /// The account credited.
    #[serde(default)]
    pub bank_account_id: Option<String>,
    /// `external`, `internal`, ...
    #[serde(default)]
    pub account_type: Option<String>,
}

/// Answer of `GET /pis/v2/payments`: a JSON:API `data` array with `meta` and `links`, as
/// Fintecture's *Pagination* guide shows it (<https://doc.fintecture.com/docs/api-pagination>).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PaymentList {
    /// The payments on this page.
    #[serde(default)]
    pub data: Vec<PaymentResource>,
    /// Paging facts, as sent.
    #[serde(default)]
    pub meta: Option<ListMeta>,
    /// Paging links, as sent.
    #[serde(default)]
    pub links: Option<ListLinks>,
}

/// Paging facts of a list (`meta.totalItems`, `meta.totalPages`; both optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListMeta {
    /// Number of items over all pages.
    #[serde(default, rename = "totalItems")]
    pub total_items: Option<u64>,
    /// Number of pages.
    #[serde(default, rename = "totalPages")]
    pub total_pages: Option<u64>,
}

/// JSON:API paging links (all optional).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ListLinks {
    /// This page.
    #[serde(default, rename = "self")]
    pub this: Option<String>,
    /// Next page.
    #[serde(default)]
    pub next: Option<String>,
    /// Previous page.
    #[serde(default)]
    pub prev: Option<String>,
    /// Last page.
    #[serde(default)]
    pub last: Option<String>,
}

/// Body of `PATCH /pis/v2/payments/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct StatusPatch {
    pub(crate) meta: StatusPatchMeta,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct StatusPatchMeta {
    pub(crate) status: &'static str,
}

/// Body of `POST /pis/v2/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct RefundBody<'a> {
    pub(crate) meta: RefundBodyMeta<'a>,
    pub(crate) data: RefundBodyData<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct RefundBodyMeta<'a> {
    pub(crate) session_id: &'a str,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct RefundBodyData<'a> {
    pub(crate) attributes: RefundBodyAttributes<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg(feature = "client")]
pub(crate) struct RefundBodyAttributes<'a> {
    pub(crate) amount: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) communication: Option<&'a str>,
}

/// Answer of `POST /pis/v2/refund`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefundResponse {
    /// The refund's status and ids.
    pub meta: RefundMeta,
}

/// `meta` of a [`RefundResponse`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefundMeta {
    /// `refund_waiting`, `refund_created`, ...
    pub status: String,
    /// The refund's own session id, when sent.
    #[serde(default)]
    pub session_id: Option<String>,
    /// Status code, when sent.
    #[serde(default)]
    pub code: Option<serde_json::Number>,
}

/// A settlement (JSON:API resource; attributes inferred, all optional).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Settlement {
    /// Settlement id.
    pub id: String,
    /// `settlements`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    /// What was settled.
    #[serde(default)]
    pub attributes: SettlementAttributes,
}

/// Attributes of a [`Settlement`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SettlementAttributes {
    /// Settled amount, major units, exact.
    #[serde(default, serialize_with = "decimal_string")]
    pub amount: Option<Decimal>,
    /// ISO 4217 code.
    #[serde(default)]
    pub currency: Option<String>,
    /// Settlement status.
    #[serde(default)]
    pub status: Option<String>,
    /// Execution date.
    #[serde(default)]
    pub execution_date: Option<String>,
    /// Remittance text of the payout.
    #[serde(default)]
    pub communication: Option<String>,
}

/// Answer of `GET /pis/v2/settlements`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SettlementList {
    /// Settlements on this page.
    #[serde(default)]
    pub data: Vec<Settlement>,
    /// Paging facts.
    #[serde(default)]
    pub meta: Option<ListMeta>,
    /// Paging links.
    #[serde(default)]
    pub links: Option<ListLinks>,
}

/// Answer of `GET /pis/v2/settlements/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SettlementEnvelope {
    /// The settlement.
    pub data: Settlement,
}

/// Fintecture's error body (`{"errors":[{code?, title?, message?, detail?}]}`; field names
/// inferred, all optional; `code` may be a string or a number).
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) errors: Vec<ErrorItem>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorItem {
    #[serde(default)]
    pub(crate) code: Option<serde_json::Value>,
    #[serde(default)]
    pub(crate) title: Option<String>,
    #[serde(default)]
    pub(crate) message: Option<String>,
    #[serde(default)]
    pub(crate) detail: Option<String>,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_unknown_is_kept() {
        for s in SessionStatus::DOCUMENTED {
            assert_eq!(&SessionStatus::parse(s.as_str()), s);
        }
        for s in TransferState::DOCUMENTED {
            assert_eq!(&TransferState::parse(s.as_str()), s);
        }
        assert_eq!(SessionStatus::DOCUMENTED.len(), 15);
        assert_eq!(TransferState::DOCUMENTED.len(), 14);
        assert_eq!(
            SessionStatus::parse("payment_new"),
            SessionStatus::Other("payment_new".into())
        );
    }
}
