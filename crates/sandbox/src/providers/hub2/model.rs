//! Intents, payment attempts and their transitions, rendered in HUB2's JSON.

use serde_json::{Map, Value, json};

use crate::support::{new_id, now_rfc3339};

/// Intent statuses (documented).
pub(super) const PAYMENT_REQUIRED: &str = "payment_required";
pub(super) const PROCESSING: &str = "processing";
pub(super) const ACTION_REQUIRED: &str = "action_required";
pub(super) const SUCCESSFUL: &str = "successful";
pub(super) const FAILED: &str = "failed";
pub(super) const CANCELED: &str = "canceled";

/// Payment (attempt) statuses that are not final.
const PAYMENT_PENDING: &str = "pending";
const PAYMENT_CREATED: &str = "created";

/// The documented sandbox OTP message, with the code this sandbox accepts instead of "any 4
/// digits" (see the module docs).
pub(super) fn otp_message() -> String {
    format!(
        "Mode Sandbox. Entrez le code {} pour authentifier le paiement.",
        crate::SANDBOX_OTP
    )
}

/// A webhook to send: its `type` and its `data` object.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) kind: String,
    pub(super) data: Value,
}

/// The four redirection URLs of a mobile money attempt.
#[derive(Debug, Clone, Default)]
pub(super) struct Redirections {
    pub(super) success: Option<String>,
    pub(super) failed: Option<String>,
    pub(super) cancel: Option<String>,
    pub(super) finish: Option<String>,
}

/// One payment attempt.
#[derive(Debug, Clone)]
pub(super) struct Attempt {
    pub(super) id: String,
    pub(super) intent_id: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) status: String,
    pub(super) method: String,
    pub(super) country: String,
    pub(super) provider: String,
    pub(super) redirections: Redirections,
    pub(super) next_action: Option<Value>,
    pub(super) failure: Option<(String, String)>,
    pub(super) fees: Vec<Value>,
}

impl Attempt {
    pub(super) fn is_open(&self) -> bool {
        self.status == PAYMENT_PENDING || self.status == PAYMENT_CREATED
    }

    pub(super) fn has_otp_action(&self) -> bool {
        self.next_action
            .as_ref()
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            == Some("otp")
    }

    /// HUB2's Payment object.
    pub(super) fn json(&self) -> Value {
        let mut payment = json!({
            "id": self.id,
            "intentId": self.intent_id,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "amount": self.amount,
            "currency": self.currency,
            "status": self.status,
            "method": self.method,
            "country": self.country,
            "provider": self.provider,
            "fees": self.fees,
        });
        if let Some(object) = payment.as_object_mut() {
            if let Some(action) = &self.next_action {
                object.insert("nextAction".into(), action.clone());
            }
            if let Some((code, message)) = &self.failure {
                object.insert(
                    "failure".into(),
                    json!({ "code": code, "message": message }),
                );
            }
        }
        payment
    }
}

/// What a new attempt is, as the payer sent it.
#[derive(Debug, Clone)]
pub(super) struct NewAttempt {
    pub(super) method: String,
    pub(super) country: String,
    pub(super) provider: String,
    pub(super) redirections: Redirections,
}

impl NewAttempt {
    /// The attempt the simulated payer makes when a control action needs one and the intent has
    /// none open (Orange Money in Côte d'Ivoire).
    pub(super) fn simulated() -> NewAttempt {
        NewAttempt {
            method: "mobile_money".into(),
            country: "CI".into(),
            provider: "orange".into(),
            redirections: Redirections::default(),
        }
    }
}

/// How an open attempt ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Settle {
    /// Paid.
    Succeeded,
    /// Failed with a HUB2 failure code and message.
    Failed {
        code: &'static str,
        message: &'static str,
    },
    /// The payer cancelled the attempt (it fails as `customer_canceled`).
    Canceled,
}

impl Settle {
    pub(super) const INSUFFICIENT_FUNDS: Settle = Settle::Failed {
        code: "customer_insufficient_funds",
        message: "The customer does not have enough funds",
    };
    pub(super) const INVALID_OTP: Settle = Settle::Failed {
        code: "invalid_otp",
        message: "The one-time password is invalid",
    };
}

/// Why an OTP authentication was not applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum OtpProblem {
    /// No attempt waits for an OTP.
    NotPending,
    /// The code is not the sandbox's.
    WrongCode,
}

/// A payment intent.
#[derive(Debug, Clone)]
pub(super) struct Intent {
    pub(super) id: String,
    pub(super) created_at: String,
    pub(super) updated_at: String,
    pub(super) merchant_id: String,
    pub(super) purchase_reference: String,
    pub(super) customer_reference: String,
    pub(super) override_business_name: Option<String>,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) token: String,
    pub(super) status: String,
    pub(super) mode: String,
    pub(super) payments: Vec<Attempt>,
}

/// The event suffix of an intent status (`successful` → `succeeded`).
fn intent_event_suffix(status: &str) -> &str {
    match status {
        SUCCESSFUL => "succeeded",
        FAILED => "failed",
        CANCELED => "canceled",
        PROCESSING => "processing",
        ACTION_REQUIRED => "action_required",
        PAYMENT_REQUIRED => "payment_required",
        _ => "updated",
    }
}

impl Intent {
    /// HUB2's PaymentIntent object; the token only where HUB2 returns it (create, get, attempt,
    /// authentication), never in webhooks or sandbox views.
    pub(super) fn json(&self, with_token: bool) -> Value {
        let mut object = Map::new();
        let mut put = |k: &str, v: Value| {
            object.insert(k.to_owned(), v);
        };
        put("id", json!(self.id));
        put("createdAt", json!(self.created_at));
        put("updatedAt", json!(self.updated_at));
        put("merchantId", json!(self.merchant_id));
        put("purchaseReference", json!(self.purchase_reference));
        put("customerReference", json!(self.customer_reference));
        if let Some(name) = &self.override_business_name {
            put("overrideBusinessName", json!(name));
        }
        put("amount", json!(self.amount));
        put("currency", json!(self.currency));
        if with_token {
            put("token", json!(self.token));
        }
        put("status", json!(self.status));
        put(
            "payments",
            Value::Array(self.payments.iter().map(Attempt::json).collect()),
        );
        put("mode", json!(self.mode));
        Value::Object(object)
    }

    /// Whether the payer can still act: `payment_required`, `processing`, `action_required`.
    pub(super) fn is_open(&self) -> bool {
        matches!(
            self.status.as_str(),
            PAYMENT_REQUIRED | PROCESSING | ACTION_REQUIRED
        )
    }

    pub(super) fn open_attempt(&self) -> Option<&Attempt> {
        self.payments.last().filter(|a| a.is_open())
    }

    fn touch(&mut self) -> String {
        let now = now_rfc3339();
        self.updated_at.clone_from(&now);
        now
    }

    fn intent_event(&self) -> Event {
        Event {
            kind: format!("payment_intent.{}", intent_event_suffix(&self.status)),
            data: self.json(false),
        }
    }

    /// Adds a pending attempt (with `next_action`, if any) and returns its index.
    pub(super) fn add_attempt(&mut self, new: NewAttempt, next_action: Option<Value>) -> usize {
        let now = self.touch();
        self.payments.push(Attempt {
            id: new_id("pay_"),
            intent_id: self.id.clone(),
            created_at: now.clone(),
            updated_at: now,
            amount: self.amount,
            currency: self.currency.clone(),
            status: PAYMENT_PENDING.into(),
            method: new.method,
            country: new.country,
            provider: new.provider,
            redirections: new.redirections,
            next_action,
            failure: None,
            fees: Vec::new(),
        });
        self.payments.len() - 1
    }

    /// The intent after an attempt started: `action_required` when the payer must act,
    /// `processing` otherwise; the events HUB2 notifies.
    pub(super) fn attempt_started(&mut self, index: usize) -> Vec<Event> {
        let Some(attempt) = self.payments.get(index) else {
            return Vec::new();
        };
        let (status, payment_event) = if attempt.next_action.is_some() {
            (ACTION_REQUIRED, "payment.action_required")
        } else {
            (PROCESSING, "payment.pending")
        };
        let payment = Event {
            kind: payment_event.into(),
            data: attempt.json(),
        };
        self.status = status.into();
        self.touch();
        vec![payment, self.intent_event()]
    }

    /// The open attempt, or a simulated one if none is open.
    fn open_or_simulated(&mut self) -> usize {
        match self.payments.last() {
            Some(last) if last.is_open() => self.payments.len() - 1,
            _ => self.add_attempt(NewAttempt::simulated(), None),
        }
    }

    /// Ends the open attempt (simulating one if none is open). A paid attempt pays the intent;
    /// a failed or cancelled one leaves it `payment_required`, payable by another attempt (HUB2's
    /// API reference: whenever a payment fails, other payments can be created on the intent).
    pub(super) fn settle(&mut self, how: Settle) -> Vec<Event> {
        let index = self.open_or_simulated();
        let now = self.touch();
        let mut events = Vec::new();
        if let Some(attempt) = self.payments.get_mut(index) {
            attempt.updated_at = now;
            attempt.next_action = None;
            let kind = match how {
                Settle::Succeeded => {
                    attempt.status = SUCCESSFUL.into();
                    // 1.5 % of the amount, rounded down to the smallest unit (sandbox fee).
                    let fee = attempt.amount.saturating_mul(3) / 200;
                    attempt.fees = vec![json!({"amount": fee, "currency": attempt.currency})];
                    "payment.succeeded"
                }
                Settle::Failed { code, message } => {
                    attempt.status = FAILED.into();
                    attempt.failure = Some((code.into(), message.into()));
                    "payment.failed"
                }
                Settle::Canceled => {
                    attempt.status = FAILED.into();
                    attempt.failure = Some((
                        "customer_canceled".into(),
                        "The customer canceled the payment".into(),
                    ));
                    "payment.failed"
                }
            };
            events.push(Event {
                kind: kind.into(),
                data: attempt.json(),
            });
        }
        self.status = match how {
            Settle::Succeeded => SUCCESSFUL,
            Settle::Failed { .. } | Settle::Canceled => PAYMENT_REQUIRED,
        }
        .into();
        events.push(self.intent_event());
        events
    }

    /// The failure of an attempt the payer never confirmed: Wave's documented code, else a
    /// generic one.
    pub(super) fn expiry(&self) -> Settle {
        let wave = self.open_attempt().is_some_and(|a| a.provider == "wave");
        if wave {
            Settle::Failed {
                code: "wave_payment_expired",
                message: "The Wave checkout session expired",
            }
        } else {
            Settle::Failed {
                code: "payment_expired",
                message: "The payer did not confirm the payment in time",
            }
        }
    }

    /// The open attempt (simulated if none) now waits for an OTP.
    pub(super) fn require_otp(&mut self) -> Vec<Event> {
        let index = self.open_or_simulated();
        if let Some(attempt) = self.payments.get_mut(index) {
            attempt.next_action = Some(json!({"type": "otp", "message": otp_message()}));
            attempt.status = PAYMENT_PENDING.into();
        }
        self.attempt_started(index)
    }

    /// Completes an `otp` next action with `code`.
    pub(super) fn authenticate(&mut self, code: &str) -> Result<Vec<Event>, OtpProblem> {
        let waiting = self.is_open() && self.open_attempt().is_some_and(Attempt::has_otp_action);
        if !waiting {
            return Err(OtpProblem::NotPending);
        }
        if code != crate::SANDBOX_OTP {
            return Err(OtpProblem::WrongCode);
        }
        Ok(self.settle(Settle::Succeeded))
    }

    /// Stores any raw status verbatim.
    pub(super) fn set_raw_status(&mut self, raw: String) -> Vec<Event> {
        self.status = raw;
        self.touch();
        vec![self.intent_event()]
    }
}

/// Every intent and webhook of the sandbox.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) intents: Vec<Intent>,
    pub(super) webhooks: Vec<super::webhooks::Webhook>,
}

impl Store {
    pub(super) fn intent(&self, id: &str) -> Option<&Intent> {
        self.intents.iter().find(|i| i.id == id)
    }

    pub(super) fn intent_mut(&mut self, id: &str) -> Option<&mut Intent> {
        self.intents.iter_mut().find(|i| i.id == id)
    }

    /// The intent holding the attempt `payment_id`.
    pub(super) fn intent_of_payment(&self, payment_id: &str) -> Option<&Intent> {
        self.intents
            .iter()
            .find(|i| i.payments.iter().any(|p| p.id == payment_id))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn intent() -> Intent {
        Intent {
            id: "pi_1".into(),
            created_at: now_rfc3339(),
            updated_at: now_rfc3339(),
            merchant_id: "m".into(),
            purchase_reference: "p".into(),
            customer_reference: "c".into(),
            override_business_name: None,
            amount: 5000,
            currency: "XOF".into(),
            token: "t".into(),
            status: PAYMENT_REQUIRED.into(),
            mode: "sandbox".into(),
            payments: Vec::new(),
        }
    }

    #[test]
    fn paying_without_an_attempt_simulates_one_and_charges_a_fee() {
        let mut i = intent();
        let events = i.settle(Settle::Succeeded);
        assert_eq!(i.status, SUCCESSFUL);
        assert_eq!(i.payments.len(), 1);
        assert_eq!(i.payments[0].status, SUCCESSFUL);
        let kinds: Vec<_> = events.iter().map(|e| e.kind.as_str()).collect();
        assert_eq!(kinds, ["payment.succeeded", "payment_intent.succeeded"]);
        assert_eq!(events[0].data["fees"][0]["amount"], 75);
        assert!(events[1].data.get("token").is_none());
        assert!(!i.is_open());
    }

    #[test]
    fn an_otp_is_required_then_only_the_sandbox_code_pays() {
        let mut i = intent();
        let events = i.require_otp();
        assert_eq!(i.status, ACTION_REQUIRED);
        assert_eq!(events[0].kind, "payment.action_required");
        assert_eq!(events[0].data["nextAction"]["type"], "otp");
        assert_eq!(i.authenticate("0000").unwrap_err(), OtpProblem::WrongCode);
        assert_eq!(i.status, ACTION_REQUIRED);
        i.authenticate(crate::SANDBOX_OTP).unwrap();
        assert_eq!(i.status, SUCCESSFUL);
        assert!(i.payments[0].next_action.is_none());
        assert_eq!(
            i.authenticate(crate::SANDBOX_OTP).unwrap_err(),
            OtpProblem::NotPending
        );
    }

    #[test]
    fn cancelling_fails_the_open_attempt_as_customer_canceled_and_the_intent_stays_payable() {
        let mut i = intent();
        let index = i.add_attempt(NewAttempt::simulated(), None);
        i.attempt_started(index);
        assert_eq!(i.status, PROCESSING);
        let events = i.settle(Settle::Canceled);
        assert_eq!(i.status, PAYMENT_REQUIRED);
        assert_eq!(events[0].kind, "payment.failed");
        assert_eq!(events[0].data["failure"]["code"], "customer_canceled");
        assert_eq!(events[1].kind, "payment_intent.payment_required");
        assert!(i.is_open());
        let mut bare = intent();
        let events = bare.settle(Settle::Canceled);
        assert_eq!(events.len(), 2, "an attempt is simulated, then failed");
        assert_eq!(bare.payments[0].status, FAILED);
    }

    #[test]
    fn a_failed_attempt_leaves_the_intent_payable_and_the_next_attempt_can_pay() {
        let mut i = intent();
        let events = i.settle(Settle::INSUFFICIENT_FUNDS);
        assert_eq!(i.status, PAYMENT_REQUIRED);
        assert_eq!(events[0].kind, "payment.failed");
        assert_eq!(events[1].data["status"], PAYMENT_REQUIRED);
        assert!(i.open_attempt().is_none());
        i.settle(Settle::Succeeded);
        assert_eq!(i.status, SUCCESSFUL);
        assert_eq!(i.payments.len(), 2);
        assert_eq!(i.payments[0].status, FAILED);
        assert_eq!(i.payments[1].status, SUCCESSFUL);
    }

    #[test]
    fn raw_statuses_are_kept_verbatim() {
        let mut i = intent();
        let events = i.set_raw_status("SOMETHING_NEW".into());
        assert_eq!(i.json(false)["status"], "SOMETHING_NEW");
        assert_eq!(events[0].kind, "payment_intent.updated");
        assert!(!i.is_open());
    }
}
