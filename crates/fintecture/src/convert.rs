//! Fintecture ⇄ core: the status mapping table, money, errors, and the neutral [`Payment`],
//! [`Checkout`] and refund status of Fintecture's answers.
//!
//! A Fintecture payment has two status fields: the session `status` and the money's
//! `transfer_state`. [`unified_status`] reads them together, by these rules, in order:
//!
//! 1. an undocumented `status` is `Unknown(status)`;
//! 2. `payment_cancelled`, `payment_unsuccessful`, `payment_expired` are `Cancelled`, `Failed`,
//!    `Expired` whatever the transfer state;
//! 3. an undocumented `transfer_state` is `Unknown("<status> + <transfer_state>")` (never success);
//! 4. a decisive transfer state wins: `rejected` → `Failed`, `cancelled` → `Cancelled`,
//!    `overpaid` → `Overpaid`, `insufficient` → `PartiallyPaid`;
//! 5. otherwise the status decides; `payment_created` is `Succeeded` only when the transfer
//!    state is absent or final (`completed`, `sent`, `received`); with a transfer still in
//!    progress (`processing`, `pending`, `authorized`, `accepted`, `initiated`, `blocked`,
//!    `multi-signature`) it is `Authorized`: the bank accepted the initiation but the money can
//!    still be rejected.
//!
//! | `status` [+ `transfer_state`] | unified | final |
//! |---|---|---|
//! | `order_created`, `session_initiated` | `Pending` | no |
//! | `provider_required`, `sca_required`, `iban_required`, `payment_error` | `RequiresAction` | no |
//! | `payment_pending`, `payment_waiting`, `payment_unknown`, `iban_received` | `Processing` | no |
//! | `payment_created` (+ `completed`/`sent`/`received`) | `Succeeded` | yes |
//! | `payment_created` + a transfer in progress | `Authorized` | no |
//! | `payment_partial`, or any + `insufficient` | `PartiallyPaid` | no |
//! | any + `overpaid` | `Overpaid` | yes |
//! | any + `rejected`; `payment_unsuccessful` | `Failed` | yes |
//! | any + `cancelled`; `payment_cancelled` | `Cancelled` | yes |
//! | `payment_expired` | `Expired` | yes |
//!
//! `docs/status-mapping.md` lists every row of [`documented_mapping`]; the workspace
//! conformance suite checks that file against this code.
//!
//! `payment_unsuccessful` and `payment_expired` are final or intermediate depending on a
//! merchant setting at Fintecture. They map to final statuses here; a merchant who made them
//! intermediate sees a later `payment_created` reported by
//! [`PaymentStatus::transition_to`](payments_core::PaymentStatus::transition_to) as
//! `ConflictingFinal` — a payment arrived for an order already closed, which a human should see.

use payments_core::{
    Checkout, Currency, Decimal, Money, Payment, PaymentStatus, ProviderError, RefundStatus,
};

use crate::wire::{
    ConnectSession, ErrorBody, FintecturePayment, PaymentAttributes, PaymentResource,
    SessionStatus, SettlementAttributes, TransferState,
};

/// The unified status of a session status and a transfer state (see the module docs).
pub fn unified_status(status: &SessionStatus, transfer: Option<&TransferState>) -> PaymentStatus {
    use PaymentStatus as P;
    use SessionStatus as S;
    use TransferState as T;
    match status {
        S::Other(raw) => return P::Unknown(raw.clone()),
        S::PaymentCancelled => return P::Cancelled,
        S::PaymentUnsuccessful => return P::Failed,
        S::PaymentExpired => return P::Expired,
        _ => {}
    }
    match transfer {
        Some(T::Other(raw)) => return P::Unknown(format!("{} + {raw}", status.as_str())),
        Some(T::Rejected) => return P::Failed,
        Some(T::Cancelled) => return P::Cancelled,
        Some(T::Overpaid) => return P::Overpaid,
        Some(T::Insufficient) => return P::PartiallyPaid,
        _ => {}
    }
    match status {
        S::PaymentCreated => match transfer {
            None | Some(T::Completed | T::Sent | T::Received) => P::Succeeded,
            Some(
                T::Processing
                | T::Pending
                | T::Authorized
                | T::Accepted
                | T::Initiated
                | T::Blocked
                | T::MultiSignature,
            ) => P::Authorized,
            // Handled above; listed so a new variant cannot slip through as success.
            Some(T::Rejected | T::Cancelled | T::Overpaid | T::Insufficient | T::Other(_)) => {
                P::Unknown(status.as_str().to_string())
            }
        },
        S::PaymentPartial => P::PartiallyPaid,
        S::OrderCreated | S::SessionInitiated => P::Pending,
        S::ScaRequired | S::ProviderRequired | S::IbanRequired | S::PaymentError => {
            P::RequiresAction
        }
        S::PaymentPending | S::PaymentWaiting | S::PaymentUnknown | S::IbanReceived => {
            P::Processing
        }
        S::PaymentCancelled => P::Cancelled,
        S::PaymentUnsuccessful => P::Failed,
        S::PaymentExpired => P::Expired,
        S::Other(raw) => P::Unknown(raw.clone()),
    }
}

/// Every documented row of the mapping, as `(raw, unified)`: each session status alone, then
/// `payment_created + <transfer_state>` for every transfer state, then the partial-payment
/// combinations. `raw` is `status` or `status + transfer_state` (the form used in
/// `docs/status-mapping.md`).
pub fn documented_mapping() -> Vec<(String, PaymentStatus)> {
    let mut rows: Vec<(String, PaymentStatus)> = SessionStatus::DOCUMENTED
        .iter()
        .map(|s| (s.as_str().to_string(), unified_status(s, None)))
        .collect();
    for t in TransferState::DOCUMENTED {
        let s = SessionStatus::PaymentCreated;
        rows.push((
            format!("{} + {}", s.as_str(), t.as_str()),
            unified_status(&s, Some(t)),
        ));
    }
    for t in [TransferState::Insufficient, TransferState::Overpaid] {
        let s = SessionStatus::PaymentPartial;
        rows.push((
            format!("{} + {}", s.as_str(), t.as_str()),
            unified_status(&s, Some(&t)),
        ));
    }
    rows
}

/// An amount Fintecture sent that cannot be represented as exact [`Money`]: the field, and why.
///
/// Its one-line `Display` names the field and the value (`amount: 273.005 has 3 decimals but
/// EUR has 2`); amounts and currency codes are not secret.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AmountError {
    /// The field as Fintecture names it (`amount`, `received_amount`, `currency`).
    pub field: &'static str,
    /// What is wrong with it.
    pub reason: String,
}

impl std::fmt::Display for AmountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.reason)
    }
}

impl std::error::Error for AmountError {}

/// The amount `field` (`amount`, `received_amount`) with its currency code as exact core money.
///
/// `Ok(None)` only when the amount is absent. An amount is never dropped: one without a
/// currency, with a currency code this crate does not know, or with more decimals than its
/// currency has (`273.005` EUR) is an [`AmountError`] naming the field, never a rounded value or
/// a silent `None`.
pub fn exact_money(
    field: &'static str,
    amount: Option<Decimal>,
    currency: Option<&str>,
) -> Result<Option<Money>, AmountError> {
    let Some(amount) = amount else {
        return Ok(None);
    };
    let Some(code) = currency else {
        return Err(AmountError {
            field: "currency",
            reason: format!("missing, so {field} {amount} has no exact value"),
        });
    };
    let currency = Currency::from_code(code).map_err(|e| AmountError {
        field: "currency",
        reason: format!("{e}, so {field} {amount} has no exact value"),
    })?;
    Money::from_decimal(amount, currency)
        .map(Some)
        .map_err(|e| AmountError {
            field,
            reason: e.to_string(),
        })
}

// The amounts of the wire types as exact money, here rather than in `wire` so that `wire`
// depends on nothing else in the crate.
impl PaymentAttributes {
    /// `amount` in `currency` as exact money: `Ok(None)` without an amount, an [`AmountError`]
    /// naming the field when it cannot be represented exactly.
    pub fn amount_money(&self) -> Result<Option<Money>, AmountError> {
        exact_money("amount", self.amount, self.currency.as_deref())
    }

    /// `received_amount` in `currency`, like [`PaymentAttributes::amount_money`].
    pub fn received_money(&self) -> Result<Option<Money>, AmountError> {
        exact_money(
            "received_amount",
            self.received_amount,
            self.currency.as_deref(),
        )
    }
}

impl SettlementAttributes {
    /// `amount` in `currency` as exact money, like [`PaymentAttributes::amount_money`].
    pub fn amount_money(&self) -> Result<Option<Money>, AmountError> {
        exact_money("amount", self.amount, self.currency.as_deref())
    }
}

/// The core's view of a Fintecture payment; `raw` is Fintecture's JSON for it. An amount that cannot be represented exactly (more
/// decimals than its currency has, an unknown or missing currency) is an [`AmountError`] naming
/// the field, never a payment without an amount.
pub fn to_payment(
    payment: &FintecturePayment,
    raw: serde_json::Value,
) -> std::result::Result<Payment, AmountError> {
    let attributes = &payment.data.attributes;
    let mut out = Payment::new(
        payment.meta.session_id.clone(),
        unified_status(&payment.meta.status, attributes.transfer_state.as_ref()),
        payment.meta.status.as_str(),
    );
    out.amount = attributes.amount_money()?;
    out.reference = attributes.communication.clone();
    out.raw = raw;
    Ok(out)
}

/// The core's view of an item of the payment list (`GET /pis/v2/payments`), as
/// [`to_payment`] reports the same payment: the session id is the item's `id`, the status its
/// `attributes.status` with `attributes.transfer_state`. An item without an id or a status, or
/// with an amount that cannot be represented exactly, is refused naming the field.
pub fn list_item_to_payment(item: &PaymentResource) -> std::result::Result<Payment, String> {
    let a = &item.attributes;
    let id = item
        .id
        .clone()
        .filter(|id| !id.is_empty())
        .ok_or("id: a listed payment has no id")?;
    let status = a
        .status
        .as_ref()
        .ok_or_else(|| format!("status: the listed payment {id} has no status"))?;
    let mut out = Payment::new(
        id,
        unified_status(status, a.transfer_state.as_ref()),
        status.as_str(),
    );
    out.amount = a.amount_money().map_err(|e| e.to_string())?;
    out.reference = a.communication.clone();
    Ok(out)
}

/// The refund status of a refund answer's `meta.status` (`refund_waiting` is the documented
/// value; anything else is kept as `Unknown`).
pub fn refund_status(raw: &str) -> RefundStatus {
    match raw {
        "refund_waiting" => RefundStatus::Pending,
        other => RefundStatus::Unknown(other.to_string()),
    }
}

/// The core's checkout for a created session: the Connect URL is where the payer goes; the
/// status is `Pending` until the payer acts; `raw` is Fintecture's answer.
pub fn to_checkout(
    session: &ConnectSession,
    expires_at: Option<time::OffsetDateTime>,
    raw: serde_json::Value,
) -> Checkout {
    let mut out = Checkout::new(session.meta.session_id.clone(), PaymentStatus::Pending);
    out.redirect_url = Some(session.meta.url.clone());
    out.expires_at = expires_at;
    out.raw = raw;
    out
}

/// Reads Fintecture's `{"errors":[{code, title, message, detail}]}` into the core's provider
/// error: the first error's code, and the messages of all errors. A body of another shape (an
/// HTML error page) yields only what the status says.
pub fn provider_error(body: &[u8]) -> ProviderError {
    let mut error = ProviderError::default();
    let Ok(parsed) = serde_json::from_slice::<ErrorBody>(body) else {
        return error;
    };
    if let Some(code) = parsed.errors.iter().find_map(|e| e.code.as_ref()) {
        let code = match code {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        error = error.with_code(code);
    }
    let messages: Vec<String> = parsed
        .errors
        .iter()
        .filter_map(|e| {
            let text: Vec<&str> = [
                e.title.as_deref(),
                e.message.as_deref(),
                e.detail.as_deref(),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!text.is_empty()).then(|| text.join(": "))
        })
        .collect();
    if !messages.is_empty() {
        error = error.with_message(messages.join("; "));
    }
    error
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn issue_examples_map_as_required() {
        use PaymentStatus as P;
        use SessionStatus as S;
        use TransferState as T;
        let cases = [
            (S::PaymentCreated, None, P::Succeeded),
            (S::PaymentCreated, Some(T::Completed), P::Succeeded),
            (S::PaymentCreated, Some(T::Pending), P::Authorized),
            (S::PaymentPending, None, P::Processing),
            (S::ScaRequired, None, P::RequiresAction),
            (S::ProviderRequired, None, P::RequiresAction),
            (S::PaymentPartial, Some(T::Insufficient), P::PartiallyPaid),
            (S::PaymentCreated, Some(T::Overpaid), P::Overpaid),
            (S::PaymentExpired, None, P::Expired),
            (S::PaymentCancelled, Some(T::Completed), P::Cancelled),
            (S::PaymentUnsuccessful, None, P::Failed),
            (S::PaymentCreated, Some(T::Rejected), P::Failed),
        ];
        for (s, t, expected) in cases {
            assert_eq!(unified_status(&s, t.as_ref()), expected, "{s} {t:?}");
        }
    }

    #[test]
    fn success_only_for_paid_sessions_with_money_in() {
        for s in SessionStatus::DOCUMENTED {
            let transfers = TransferState::DOCUMENTED.iter().map(Some).chain([None]);
            for t in transfers {
                let u = unified_status(s, t);
                if u.is_success() {
                    let paid = *s == SessionStatus::PaymentCreated
                        && matches!(
                            t,
                            None | Some(
                                TransferState::Completed
                                    | TransferState::Sent
                                    | TransferState::Received
                            )
                        );
                    let overpaid = t == Some(&TransferState::Overpaid);
                    assert!(paid || overpaid, "{s} + {t:?} -> {u}");
                }
            }
        }
    }

    #[test]
    fn unknown_values_are_unknown_never_success() {
        let u = unified_status(&SessionStatus::parse("payment_new"), None);
        assert_eq!(u, PaymentStatus::Unknown("payment_new".into()));
        let u = unified_status(
            &SessionStatus::PaymentCreated,
            Some(&TransferState::parse("teleported")),
        );
        assert_eq!(
            u,
            PaymentStatus::Unknown("payment_created + teleported".into())
        );
        assert!(!u.is_success() && !u.is_final());
    }

    #[test]
    fn documented_mapping_has_every_status() {
        let rows = documented_mapping();
        assert_eq!(rows.len(), 15 + 14 + 2);
        assert!(rows.contains(&("payment_created".into(), PaymentStatus::Succeeded)));
        assert!(rows.contains(&(
            "payment_partial + insufficient".into(),
            PaymentStatus::PartiallyPaid
        )));
    }

    #[test]
    fn money_is_exact_absent_or_an_error_naming_the_field() {
        let d = |s: &str| Some(Decimal::parse(s).unwrap());
        assert_eq!(
            exact_money("amount", d("550.60"), Some("EUR")),
            Ok(Some(Money::from_minor(55_060, Currency::EUR)))
        );
        assert_eq!(
            exact_money("amount", d("273"), Some("EUR")),
            Ok(Some(Money::from_minor(27_300, Currency::EUR)))
        );
        assert_eq!(exact_money("amount", None, Some("EUR")), Ok(None));
        assert_eq!(exact_money("amount", None, None), Ok(None));
        let e = exact_money("received_amount", d("1.005"), Some("EUR")).unwrap_err();
        assert_eq!(e.field, "received_amount");
        assert_eq!(
            e.to_string(),
            "received_amount: 1.005 has 3 decimals but EUR has 2"
        );
        let e = exact_money("amount", d("1"), Some("ZZZ")).unwrap_err();
        assert_eq!(e.field, "currency");
        assert!(
            e.to_string().contains("ZZZ") && e.to_string().contains("amount 1"),
            "{e}"
        );
        let e = exact_money("amount", d("1"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "currency: missing, so amount 1 has no exact value"
        );
    }

    #[test]
    fn error_bodies_keep_code_and_messages() {
        let e = provider_error(
            br#"{"errors":[{"code":"invalid_amount","title":"Bad Request","detail":"amount must be positive"},{"message":"second"}]}"#,
        );
        assert_eq!(e.code.as_deref(), Some("invalid_amount"));
        assert_eq!(
            e.message.as_deref(),
            Some("Bad Request: amount must be positive; second")
        );
        let e = provider_error(br#"{"errors":[{"code":404,"title":"Not Found"}]}"#);
        assert_eq!(e.code.as_deref(), Some("404"));
        assert_eq!(
            provider_error(b"<html>502</html>"),
            ProviderError::default()
        );
    }
}
