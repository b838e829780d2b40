//! What the ledger stores, as the merchant reads it.

use std::fmt;

use payments_core::webhook::Authenticity;
use payments_core::{Checkout, Currency, Money, PaymentStatus};
use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use crate::clock::from_unix_ms;
use crate::error::{LedgerError, Result};

/// Where an observation of a payment came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Source {
    /// The provider's answer to the creation (or the search that resolved a lost answer).
    Create,
    /// A webhook.
    Webhook,
    /// A fetch of the payment from the provider's API (the reconciler, a fetch-back).
    Fetch,
    /// The payer's return to the merchant's site, confirmed by a fetch (Fintecture's redirect).
    Redirect,
    /// A person resolving a review.
    Review,
}

/// Whether the provider holds the payment, as far as the ledger knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CreationState {
    /// Recorded; an instance is calling the provider now.
    Creating,
    /// The last call provably did not create it (not sent, or refused): safe to send again.
    Retryable,
    /// The last call may have created it; it is looked up by reference before anything is sent.
    Unknown,
    /// The provider holds it; its id is known.
    Created,
    /// Unknown and the provider cannot be searched: nothing is sent until a person resolves it.
    NeedsReview,
}

/// What the ledger did with an observation of a payment (a row of its history).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Verdict {
    /// The provider created the payment.
    Created,
    /// The status moved forward ([`payments_core::Transition::Advance`]).
    Advance,
    /// The same status again.
    Same,
    /// An older status than the stored one: kept in the history, not applied.
    Stale,
    /// The stored status is final: kept, not applied.
    FinalAlready,
    /// A different final status than the stored one: not applied; the payment needs review.
    ConflictingFinal,
    /// A status this crate does not know: not applied; a fetch is scheduled.
    UnknownIncoming,
    /// The amount or currency differs from the order: not applied; the payment needs review.
    AmountMismatch,
    /// The event carries no status the ledger trusts (an unsigned provider's notice): a fetch
    /// is scheduled to establish it.
    FetchRequested,
    /// A person resolved a review.
    Resolved,
    /// The reconciler stopped checking: past the payment's expiry and grace period.
    StoppedChecking,
}

impl Verdict {
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Verdict::Created => "created",
            Verdict::Advance => "advance",
            Verdict::Same => "same",
            Verdict::Stale => "stale",
            Verdict::FinalAlready => "final_already",
            Verdict::ConflictingFinal => "conflicting_final",
            Verdict::UnknownIncoming => "unknown_incoming",
            Verdict::AmountMismatch => "amount_mismatch",
            Verdict::FetchRequested => "fetch_requested",
            Verdict::Resolved => "resolved",
            Verdict::StoppedChecking => "stopped_checking",
        }
    }

    /// True when the observation changed the payment's status.
    pub const fn applied(self) -> bool {
        matches!(
            self,
            Verdict::Created | Verdict::Advance | Verdict::Resolved
        )
    }
}

/// Text forms of the enums above, as stored.
macro_rules! text_enum {
    ($ty:ident { $($variant:ident => $text:literal),* $(,)? }) => {
        impl $ty {
            /// The stored name (`"webhook"`).
            pub const fn name(self) -> &'static str {
                match self { $($ty::$variant => $text),* }
            }
            pub(crate) fn parse(text: &str) -> Result<Self> {
                match text {
                    $($text => Ok($ty::$variant),)*
                    other => Err(LedgerError::Store(format!(
                        concat!("unexpected ", stringify!($ty), " {:?} in the database"), other
                    ))),
                }
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

text_enum!(Source { Create => "create", Webhook => "webhook", Fetch => "fetch", Redirect => "redirect", Review => "review" });
text_enum!(CreationState { Creating => "creating", Retryable => "retryable", Unknown => "unknown", Created => "created", NeedsReview => "needs_review" });

impl Verdict {
    pub(crate) fn parse(text: &str) -> Result<Self> {
        const ALL: [Verdict; 11] = [
            Verdict::Created,
            Verdict::Advance,
            Verdict::Same,
            Verdict::Stale,
            Verdict::FinalAlready,
            Verdict::ConflictingFinal,
            Verdict::UnknownIncoming,
            Verdict::AmountMismatch,
            Verdict::FetchRequested,
            Verdict::Resolved,
            Verdict::StoppedChecking,
        ];
        ALL.into_iter().find(|v| v.as_str() == text).ok_or_else(|| {
            LedgerError::Store(format!("unexpected verdict {text:?} in the database"))
        })
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A status as stored: its snake_case name, or `unknown:<raw>` for a value no crate knew.
pub(crate) fn status_text(status: &PaymentStatus) -> String {
    match serde_json::to_value(status) {
        Ok(Value::Object(map)) => match (map.get("status"), map.get("raw")) {
            (Some(Value::String(name)), Some(Value::String(raw))) => format!("{name}:{raw}"),
            (Some(Value::String(name)), _) => name.clone(),
            _ => "unknown:?".into(),
        },
        _ => "unknown:?".into(),
    }
}

/// The inverse of [`status_text`]; a name this build does not know comes back as `Unknown`.
pub(crate) fn parse_status(text: &str) -> PaymentStatus {
    let value = match text.split_once(':') {
        Some((name, raw)) => json!({ "status": name, "raw": raw }),
        None => json!({ "status": text }),
    };
    serde_json::from_value(value).unwrap_or_else(|_| PaymentStatus::Unknown(text.to_string()))
}

pub(crate) fn authenticity_text(a: Authenticity) -> &'static str {
    match a {
        Authenticity::Signed => "signed",
        Authenticity::FetchedBack => "fetched_back",
        Authenticity::Guarded => "guarded",
        Authenticity::Unverified => "unverified",
        _ => "unverified",
    }
}

pub(crate) fn parse_authenticity(text: &str) -> Authenticity {
    match text {
        "signed" => Authenticity::Signed,
        "fetched_back" => Authenticity::FetchedBack,
        "guarded" => Authenticity::Guarded,
        _ => Authenticity::Unverified,
    }
}

/// How much an authenticity level proves, for comparing with the configured minimum.
pub(crate) fn trust_rank(a: Authenticity) -> u8 {
    match a {
        Authenticity::Signed | Authenticity::FetchedBack => 3,
        Authenticity::Guarded => 2,
        _ => 1,
    }
}

/// A payment as the ledger holds it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct LedgerPayment {
    /// The ledger's own id.
    pub id: i64,
    /// The provider (`"payconiq"`).
    pub provider: String,
    /// The merchant reference (the order).
    pub reference: String,
    /// The amount ordered.
    pub amount: Money,
    /// Whether the provider holds it.
    pub creation: CreationState,
    /// Why the last creation attempt failed, when it did.
    pub creation_error: Option<String>,
    /// The provider's payment id, once known.
    pub provider_payment_id: Option<String>,
    /// The unified status.
    pub status: PaymentStatus,
    /// The provider's own status value, as last applied.
    pub raw_status: Option<String>,
    /// How the last applied status was established.
    pub authenticity: Option<Authenticity>,
    /// Why a person must look at this payment; `None` when nothing is wrong.
    pub review: Option<String>,
    /// When the payer can no longer pay, when the provider said.
    pub expires_at: Option<OffsetDateTime>,
    /// When the reconciler checks it next; `None` once final.
    pub next_check_at: Option<OffsetDateTime>,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
    /// When it last changed.
    pub updated_at: OffsetDateTime,
}

impl LedgerPayment {
    /// True only when the provider reports the full amount paid and nothing needs review: the
    /// one test before shipping goods.
    pub fn is_paid(&self) -> bool {
        self.status.is_success() && self.review.is_none()
    }

    pub(crate) const COLUMNS: &'static str = "id, provider, reference, amount_minor, currency, \
        creation, creation_error, provider_payment_id, status, raw_status, authenticity, \
        review_reason, expires_at, next_check_at, created_at, updated_at";

    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        let currency: String = row.try_get("currency")?;
        let currency = Currency::from_code(&currency).map_err(|_| {
            LedgerError::Store(format!("unknown currency {currency:?} in the database"))
        })?;
        let opt_time = |name: &str| -> Result<Option<OffsetDateTime>> {
            Ok(row.try_get::<Option<i64>, _>(name)?.map(from_unix_ms))
        };
        Ok(LedgerPayment {
            id: row.try_get("id")?,
            provider: row.try_get("provider")?,
            reference: row.try_get("reference")?,
            amount: Money::from_minor(row.try_get("amount_minor")?, currency),
            creation: CreationState::parse(&row.try_get::<String, _>("creation")?)?,
            creation_error: row.try_get("creation_error")?,
            provider_payment_id: row.try_get("provider_payment_id")?,
            status: parse_status(&row.try_get::<String, _>("status")?),
            raw_status: row.try_get("raw_status")?,
            authenticity: row
                .try_get::<Option<String>, _>("authenticity")?
                .map(|a| parse_authenticity(&a)),
            review: row.try_get("review_reason")?,
            expires_at: opt_time("expires_at")?,
            next_check_at: opt_time("next_check_at")?,
            created_at: from_unix_ms(row.try_get("created_at")?),
            updated_at: from_unix_ms(row.try_get("updated_at")?),
        })
    }
}

/// One row of a payment's history: an observation and what the ledger did with it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct HistoryEntry {
    /// The history row's id (increasing).
    pub id: i64,
    /// Where the observation came from.
    pub source: Source,
    /// The webhook's de-duplication key, for a webhook.
    pub event_key: Option<String>,
    /// The provider's own status value.
    pub raw_status: Option<String>,
    /// The unified status observed, when there was one.
    pub status: Option<PaymentStatus>,
    /// How the observation was established.
    pub authenticity: Option<Authenticity>,
    /// What the ledger did with it.
    pub verdict: Verdict,
    /// The payment's status before.
    pub before: PaymentStatus,
    /// The payment's status after.
    pub after: PaymentStatus,
    /// A remark (why a review is needed, an error).
    pub note: Option<String>,
    /// When.
    pub at: OffsetDateTime,
}

impl HistoryEntry {
    pub(crate) fn from_row(row: &AnyRow) -> Result<Self> {
        Ok(HistoryEntry {
            id: row.try_get("id")?,
            source: Source::parse(&row.try_get::<String, _>("source")?)?,
            event_key: row.try_get("dedup_key")?,
            raw_status: row.try_get("raw_status")?,
            status: row
                .try_get::<Option<String>, _>("status")?
                .map(|s| parse_status(&s)),
            authenticity: row
                .try_get::<Option<String>, _>("authenticity")?
                .map(|a| parse_authenticity(&a)),
            verdict: Verdict::parse(&row.try_get::<String, _>("verdict")?)?,
            before: parse_status(&row.try_get::<String, _>("status_before")?),
            after: parse_status(&row.try_get::<String, _>("status_after")?),
            note: row.try_get("note")?,
            at: from_unix_ms(row.try_get("at")?),
        })
    }
}

/// A checkout as stored: every field of [`Checkout`].
pub(crate) fn checkout_json(checkout: &Checkout) -> String {
    let at = |t: Option<OffsetDateTime>| t.map(crate::clock::unix_ms);
    json!({
        "payment_id": checkout.payment_id,
        "status": status_text(&checkout.status),
        "redirect_url": checkout.redirect_url,
        "deeplink": checkout.deeplink,
        "qr_code_url": checkout.qr_code_url,
        "expires_at": at(checkout.expires_at),
        "raw": checkout.raw,
    })
    .to_string()
}

/// The inverse of [`checkout_json`].
pub(crate) fn parse_checkout(text: &str) -> Result<Checkout> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| LedgerError::Store(format!("stored checkout is not JSON: {e}")))?;
    let text_field = |name: &str| value.get(name).and_then(Value::as_str).map(str::to_string);
    let mut checkout = Checkout::new(
        text_field("payment_id").unwrap_or_default(),
        parse_status(&text_field("status").unwrap_or_else(|| "pending".into())),
    );
    checkout.redirect_url = text_field("redirect_url");
    checkout.deeplink = text_field("deeplink");
    checkout.qr_code_url = text_field("qr_code_url");
    checkout.expires_at = value
        .get("expires_at")
        .and_then(Value::as_i64)
        .map(from_unix_ms);
    checkout.raw = value.get("raw").cloned().unwrap_or(Value::Null);
    Ok(checkout)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_text() {
        for status in [
            PaymentStatus::Pending,
            PaymentStatus::RequiresMerchantAction,
            PaymentStatus::PartiallyPaid,
            PaymentStatus::Succeeded,
            PaymentStatus::Unknown("HALF:PAID".into()),
        ] {
            assert_eq!(parse_status(&status_text(&status)), status);
        }
        assert_eq!(status_text(&PaymentStatus::Succeeded), "succeeded");
        assert_eq!(
            parse_status("from_the_future"),
            PaymentStatus::Unknown("from_the_future".into())
        );
    }

    #[test]
    fn checkouts_round_trip() {
        let mut checkout = Checkout::new("p-1", PaymentStatus::Pending);
        checkout.redirect_url = Some("https://pay.example/p-1".into());
        checkout.expires_at = Some(from_unix_ms(1_700_000_000_123));
        checkout.raw = json!({"id": "p-1"});
        let back = parse_checkout(&checkout_json(&checkout));
        assert!(matches!(back, Ok(c) if c == checkout));
    }

    #[test]
    fn enums_have_one_text_each() {
        for verdict in [Verdict::Stale, Verdict::FetchRequested, Verdict::Resolved] {
            assert!(matches!(Verdict::parse(verdict.as_str()), Ok(v) if v == verdict));
        }
        assert!(matches!(Source::parse("redirect"), Ok(Source::Redirect)));
        assert!(CreationState::parse("exploded").is_err());
        assert!(trust_rank(Authenticity::Signed) > trust_rank(Authenticity::Guarded));
    }
}
