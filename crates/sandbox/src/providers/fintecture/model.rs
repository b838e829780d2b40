//! Fintecture's payment sessions, refunds and settlements, the payer's moves between session
//! statuses, and their JSON:API rendering. Pure: no HTTP, no shared state.

use payments_core::Money;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::support::{random_hex, uuid};
use crate::{ControlError, PayerAction, Provider, SANDBOX_OTP};

/// The bank code a sandbox payer "pays" from (`meta.provider`).
pub(super) const SANDBOX_BANK: &str = "sandboxbank";
/// The merchant account credited (`bank_account_id`).
const BANK_ACCOUNT_ID: &str = "5a4db0c0-0000-4000-8000-00000000f1e7";

pub(super) const ORDER_CREATED: &str = "order_created";
pub(super) const PAYMENT_CREATED: &str = "payment_created";
pub(super) const PAYMENT_CANCELLED: &str = "payment_cancelled";
pub(super) const SCA_REQUIRED: &str = "sca_required";

const FINAL_STATUSES: [&str; 4] = [
    PAYMENT_CREATED,
    PAYMENT_CANCELLED,
    "payment_unsuccessful",
    "payment_expired",
];

const FINAL_TRANSFERS: [&str; 6] = [
    "completed",
    "sent",
    "received",
    "cancelled",
    "rejected",
    "overpaid",
];

/// A session id, a customer id, a refund id: 32 lowercase hex digits.
pub(super) fn hex_id() -> String {
    random_hex(32)
}

/// `at`'s date, `YYYY-MM-DD`.
pub(super) fn today(at: OffsetDateTime) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    at.date().format(&format).unwrap_or_default()
}

/// A payment session.
#[derive(Debug, Clone)]
pub(super) struct Session {
    pub(super) id: String,
    pub(super) status: String,
    pub(super) transfer_state: Option<String>,
    pub(super) amount: Money,
    /// The amount exactly as the merchant sent it (`"273"`, `"550.60"`), echoed back.
    pub(super) amount_text: String,
    pub(super) communication: String,
    pub(super) end_to_end_id: String,
    pub(super) execution_date: Option<String>,
    pub(super) scheme: String,
    pub(super) state: Option<String>,
    pub(super) redirect_uri: String,
    pub(super) origin_uri: Option<String>,
    pub(super) customer_id: String,
    pub(super) bank: Option<String>,
    pub(super) created: OffsetDateTime,
    /// `meta` as sent (payer details), for the control view.
    pub(super) meta: Value,
}

impl Session {
    pub(super) fn is_final(&self) -> bool {
        FINAL_STATUSES.contains(&self.status.as_str())
    }

    /// `payment_created` whose transfer is still moving (`pending`, `processing`...).
    fn transfer_in_progress(&self) -> bool {
        self.status == PAYMENT_CREATED
            && self
                .transfer_state
                .as_deref()
                .is_some_and(|t| !FINAL_TRANSFERS.contains(&t))
    }

    /// Paid: money arrived and can be refunded.
    pub(super) fn is_paid(&self) -> bool {
        self.status == PAYMENT_CREATED
            && matches!(
                self.transfer_state.as_deref(),
                None | Some("completed" | "sent" | "received")
            )
    }

    /// The status as the sandbox shows it: `status`, or `status + transfer_state`.
    pub(super) fn raw_status(&self) -> String {
        match &self.transfer_state {
            Some(t) => format!("{} + {t}", self.status),
            None => self.status.clone(),
        }
    }

    /// The merchant's `PATCH` to `payment_cancelled`: `Ok(true)` when it cancelled the session,
    /// `Ok(false)` when it was cancelled already, `Err` with the status when it is final.
    pub(super) fn cancel_by_merchant(&mut self) -> Result<bool, String> {
        if self.status == PAYMENT_CANCELLED {
            Ok(false)
        } else if self.is_final() {
            Err(self.raw_status())
        } else {
            self.status = PAYMENT_CANCELLED.into();
            Ok(true)
        }
    }
}

/// A refund of a paid session.
#[derive(Debug, Clone)]
pub(super) struct RefundRecord {
    pub(super) id: String,
    pub(super) session_id: String,
    pub(super) amount: Money,
    pub(super) communication: Option<String>,
    pub(super) state: Option<String>,
    pub(super) status: &'static str,
}

/// The settlement of a paid session.
#[derive(Debug, Clone)]
pub(super) struct SettlementRecord {
    pub(super) id: String,
    pub(super) session_id: String,
    pub(super) amount: Money,
    pub(super) date: String,
}

/// Why a refund was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum RefundRefusal {
    /// No such session.
    UnknownSession,
    /// The session is not paid (its status).
    NotPaid(String),
    /// The amount is not a positive amount of the session's currency.
    InvalidAmount(String),
    /// The refunds would exceed what was paid.
    Exceeded(String),
}

/// Every session, refund and settlement of the sandbox.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) sessions: Vec<Session>,
    pub(super) refunds: Vec<RefundRecord>,
    pub(super) settlements: Vec<SettlementRecord>,
}

impl Store {
    pub(super) fn session(&self, id: &str) -> Option<&Session> {
        self.sessions.iter().find(|s| s.id == id)
    }

    pub(super) fn session_mut(&mut self, id: &str) -> Option<&mut Session> {
        self.sessions.iter_mut().find(|s| s.id == id)
    }

    /// Whether session `id`'s money has settled.
    pub(super) fn settled(&self, session_id: &str) -> bool {
        self.settlements.iter().any(|r| r.session_id == session_id)
    }

    /// The payer paid: `payment_created` + `completed`, and the money settled.
    fn pay(&mut self, id: &str) {
        if let Some(s) = self.session_mut(id) {
            s.status = PAYMENT_CREATED.into();
            s.transfer_state = Some("completed".into());
        }
        self.settle(id);
    }

    /// Records the payer's bank and the settlement of a paid session (once).
    fn settle(&mut self, id: &str) {
        let Some(s) = self.session_mut(id) else {
            return;
        };
        s.bank.get_or_insert_with(|| SANDBOX_BANK.into());
        let (session_id, amount) = (s.id.clone(), s.amount);
        if !self.settled(&session_id) {
            self.settlements.push(SettlementRecord {
                id: uuid(),
                session_id,
                amount,
                date: today(OffsetDateTime::now_utc()),
            });
        }
    }

    /// Applies a payer action to session `id`.
    pub(super) fn apply(&mut self, id: &str, action: PayerAction) -> Result<(), ControlError> {
        let Some(s) = self.session_mut(id) else {
            return Err(ControlError::NotFound {
                provider: Provider::Fintecture,
                id: id.to_owned(),
            });
        };
        let conflict = |action: &str, s: &Session| ControlError::Conflict {
            action: action.to_owned(),
            status: s.raw_status(),
        };
        let open = !s.is_final();
        match action {
            PayerAction::Pay => {
                if s.status == SCA_REQUIRED {
                    return Err(conflict("pay (submit the one-time code)", s));
                }
                if !(open || s.transfer_in_progress()) {
                    return Err(conflict("pay", s));
                }
                self.pay(id);
            }
            PayerAction::Fail => {
                if s.transfer_in_progress() {
                    s.transfer_state = Some("rejected".into());
                } else if open {
                    s.status = "payment_unsuccessful".into();
                    s.bank.get_or_insert_with(|| SANDBOX_BANK.into());
                } else {
                    return Err(conflict("fail", s));
                }
            }
            PayerAction::Cancel => {
                if !open {
                    return Err(conflict("cancel", s));
                }
                s.status = PAYMENT_CANCELLED.into();
            }
            PayerAction::Expire => {
                if !open {
                    return Err(conflict("expire", s));
                }
                s.status = "payment_expired".into();
            }
            PayerAction::RequireOtp => {
                if !open {
                    return Err(conflict("require a one-time code for", s));
                }
                s.status = SCA_REQUIRED.into();
                s.bank.get_or_insert_with(|| SANDBOX_BANK.into());
            }
            PayerAction::SubmitOtp(code) => {
                if s.status != SCA_REQUIRED {
                    return Err(conflict("submit a one-time code for", s));
                }
                if !payments_core::provider_support::constant_time_eq(
                    code.as_bytes(),
                    SANDBOX_OTP.as_bytes(),
                ) {
                    return Err(ControlError::WrongOtp);
                }
                self.pay(id);
            }
            PayerAction::SetStatus(raw) => {
                match raw.split_once(" + ") {
                    Some((status, transfer)) => {
                        s.status = status.trim().to_owned();
                        s.transfer_state = Some(transfer.trim().to_owned());
                    }
                    None => {
                        s.status = raw;
                        s.transfer_state = None;
                    }
                }
                if s.is_paid() {
                    self.settle(id);
                }
            }
        }
        Ok(())
    }

    /// Refunds `amount` (the rest of the paid amount when `None`) of paid session `session_id`;
    /// the refund's id.
    pub(super) fn refund(
        &mut self,
        session_id: &str,
        amount: Option<&str>,
        communication: Option<String>,
        state: Option<String>,
    ) -> Result<String, RefundRefusal> {
        let session = self
            .session(session_id)
            .ok_or(RefundRefusal::UnknownSession)?;
        if !session.is_paid() {
            return Err(RefundRefusal::NotPaid(format!(
                "the session is {}: only a paid session can be refunded",
                session.raw_status()
            )));
        }
        let paid = session.amount;
        let currency = paid.currency();
        let out_of_range = || RefundRefusal::InvalidAmount("refund total out of range".into());
        let mut refunded = Money::zero(currency);
        for r in self.refunds.iter().filter(|r| r.session_id == session_id) {
            refunded = refunded.checked_add(r.amount).map_err(|_| out_of_range())?;
        }
        let remaining = paid.checked_sub(refunded).map_err(|_| out_of_range())?;
        let amount = match amount {
            None => remaining,
            Some(text) => Money::from_decimal_str(text, currency)
                .ok()
                .filter(|m| m.is_positive())
                .ok_or_else(|| {
                    RefundRefusal::InvalidAmount(format!(
                        "amount {text:?} is not a positive amount in {currency}"
                    ))
                })?,
        };
        if !amount.is_positive() || amount.minor_units() > remaining.minor_units() {
            return Err(RefundRefusal::Exceeded(format!(
                "refunding {} {currency} would exceed the {} {currency} paid ({} already refunded)",
                amount.to_decimal_string(),
                paid.to_decimal_string(),
                refunded.to_decimal_string()
            )));
        }
        let id = hex_id();
        self.refunds.push(RefundRecord {
            id: id.clone(),
            session_id: session_id.to_owned(),
            amount,
            communication,
            state,
            status: "refund_waiting",
        });
        Ok(id)
    }
}

// ------------------------------------------------------------------------------------ the wire

/// `GET /pis/v2/payments/{session_id}`: the session, `meta` and `data`.
pub(super) fn payment_json(s: &Session, settled: bool) -> Value {
    let mut meta = Map::new();
    meta.insert("session_id".into(), json!(s.id));
    meta.insert("status".into(), json!(s.status));
    meta.insert("code".into(), json!(200));
    if let Some(bank) = &s.bank {
        meta.insert("provider".into(), json!(bank));
    }
    meta.insert("is_accepted".into(), json!(s.status == PAYMENT_CREATED));
    meta.insert("has_settlement_completed".into(), json!(settled));
    meta.insert("type".into(), json!("PayByBank"));
    meta.insert("initial_type".into(), json!("PayByBank"));
    meta.insert("customer_id".into(), json!(s.customer_id));
    json!({
        "meta": meta,
        "data": {
            "id": s.id,
            "type": "payments",
            "attributes": attributes(s, false),
        }
    })
}

/// A session's `attributes` (with its `status` in a list).
pub(super) fn attributes(s: &Session, with_status: bool) -> Value {
    let mut a = Map::new();
    a.insert("amount".into(), json!(s.amount_text));
    a.insert("currency".into(), json!(s.amount.currency().code()));
    a.insert("communication".into(), json!(s.communication));
    a.insert("end_to_end_id".into(), json!(s.end_to_end_id));
    a.insert(
        "execution_date".into(),
        json!(s.execution_date.clone().unwrap_or_else(|| today(s.created))),
    );
    a.insert("payment_scheme".into(), json!(s.scheme));
    if with_status {
        a.insert("status".into(), json!(s.status));
    }
    if let Some(t) = &s.transfer_state {
        a.insert("transfer_state".into(), json!(t));
    }
    a.insert("bank_account_id".into(), json!(BANK_ACCOUNT_ID));
    a.insert("account_type".into(), json!("external"));
    Value::Object(a)
}

/// One settlement, as `GET /pis/v2/settlements` lists it.
pub(super) fn settlement_json(r: &SettlementRecord) -> Value {
    json!({
        "id": r.id,
        "type": "settlements",
        "attributes": {
            "amount": r.amount.to_decimal_string(),
            "currency": r.amount.currency().code(),
            "status": "completed",
            "execution_date": r.date,
            "communication": format!("FINTECTURE-SETTLEMENT-{}", r.date),
        }
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use payments_core::Currency;

    fn store(status: &str, transfer: Option<&str>) -> Store {
        let session = Session {
            id: "s1".into(),
            status: status.into(),
            transfer_state: transfer.map(str::to_owned),
            amount: Money::from_minor(55_060, Currency::EUR),
            amount_text: "550.60".into(),
            communication: "Order 1".into(),
            end_to_end_id: "s1".into(),
            execution_date: None,
            scheme: "SEPA".into(),
            state: None,
            redirect_uri: "https://shop.example/back".into(),
            origin_uri: None,
            customer_id: hex_id(),
            bank: None,
            created: OffsetDateTime::now_utc(),
            meta: json!({}),
        };
        Store {
            sessions: vec![session],
            ..Store::default()
        }
    }

    fn status(store: &Store) -> String {
        store.session("s1").unwrap().raw_status()
    }

    #[test]
    fn paying_completes_the_transfer_and_settles_once() {
        let mut s = store(ORDER_CREATED, None);
        s.apply("s1", PayerAction::Pay).unwrap();
        assert_eq!(status(&s), "payment_created + completed");
        assert_eq!(s.session("s1").unwrap().bank.as_deref(), Some(SANDBOX_BANK));
        assert!(s.settled("s1"));
        assert!(matches!(
            s.apply("s1", PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(s.settlements.len(), 1);
        let json = payment_json(s.session("s1").unwrap(), true);
        assert_eq!(json["meta"]["is_accepted"], true);
        assert_eq!(json["data"]["attributes"]["transfer_state"], "completed");
        assert_eq!(json["data"]["attributes"]["amount"], "550.60");
    }

    #[test]
    fn a_code_is_required_then_only_the_sandbox_code_pays() {
        let mut s = store(ORDER_CREATED, None);
        s.apply("s1", PayerAction::RequireOtp).unwrap();
        assert_eq!(status(&s), SCA_REQUIRED);
        assert!(matches!(
            s.apply("s1", PayerAction::Pay),
            Err(ControlError::Conflict { action, .. }) if action.contains("one-time code")
        ));
        assert_eq!(
            s.apply("s1", PayerAction::SubmitOtp("000000".into())),
            Err(ControlError::WrongOtp)
        );
        assert_eq!(status(&s), SCA_REQUIRED);
        s.apply("s1", PayerAction::SubmitOtp(SANDBOX_OTP.into()))
            .unwrap();
        assert_eq!(status(&s), "payment_created + completed");
    }

    #[test]
    fn a_transfer_in_progress_can_still_be_paid_or_rejected() {
        let mut s = store(PAYMENT_CREATED, Some("processing"));
        s.apply("s1", PayerAction::Fail).unwrap();
        assert_eq!(status(&s), "payment_created + rejected");
        assert!(s.apply("s1", PayerAction::Cancel).is_err());
        let mut s = store(PAYMENT_CREATED, Some("pending"));
        s.apply("s1", PayerAction::Pay).unwrap();
        assert_eq!(status(&s), "payment_created + completed");
        let mut s = store(ORDER_CREATED, None);
        s.apply("s1", PayerAction::Fail).unwrap();
        assert_eq!(status(&s), "payment_unsuccessful");
        assert!(matches!(
            store(ORDER_CREATED, None).apply("nope", PayerAction::Pay),
            Err(ControlError::NotFound { .. })
        ));
    }

    #[test]
    fn raw_statuses_set_both_fields_and_a_paid_one_settles() {
        let mut s = store(ORDER_CREATED, None);
        s.apply(
            "s1",
            PayerAction::SetStatus("payment_created + sent".into()),
        )
        .unwrap();
        assert_eq!(status(&s), "payment_created + sent");
        assert!(s.settled("s1"));
        s.apply("s1", PayerAction::SetStatus("brand_new".into()))
            .unwrap();
        assert_eq!(status(&s), "brand_new");
    }

    #[test]
    fn the_merchant_cancels_open_sessions_once_and_never_final_ones() {
        let mut s = store(ORDER_CREATED, None);
        let session = s.session_mut("s1").unwrap();
        assert_eq!(session.cancel_by_merchant(), Ok(true));
        assert_eq!(session.cancel_by_merchant(), Ok(false));
        let mut paid = store(PAYMENT_CREATED, Some("completed"));
        assert_eq!(
            paid.session_mut("s1").unwrap().cancel_by_merchant(),
            Err("payment_created + completed".into())
        );
    }

    #[test]
    fn refunds_are_bounded_by_the_paid_amount() {
        let mut s = store(ORDER_CREATED, None);
        assert!(matches!(
            s.refund("s1", None, None, None),
            Err(RefundRefusal::NotPaid(_))
        ));
        s.apply("s1", PayerAction::Pay).unwrap();
        s.refund("s1", Some("500.60"), None, None).unwrap();
        assert!(matches!(
            s.refund("s1", Some("50.01"), None, None),
            Err(RefundRefusal::Exceeded(_))
        ));
        assert!(matches!(
            s.refund("s1", Some("-1"), None, None),
            Err(RefundRefusal::InvalidAmount(_))
        ));
        s.refund("s1", None, Some("rest".into()), None).unwrap();
        assert_eq!(s.refunds.len(), 2);
        assert_eq!(s.refunds[1].amount, Money::from_minor(5_000, Currency::EUR));
        assert!(matches!(
            s.refund("s1", None, None, None),
            Err(RefundRefusal::Exceeded(_))
        ));
        assert_eq!(
            s.refund("nope", None, None, None),
            Err(RefundRefusal::UnknownSession)
        );
    }
}
