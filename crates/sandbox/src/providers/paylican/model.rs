//! Paylican's invoices, the payer's attempts and their webhooks' JSON. Pure: no HTTP, no shared
//! state.

use payments_core::Decimal;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::support::new_id;
use crate::{ControlError, PayerAction, SANDBOX_OTP};

/// Retries left announced in `pendingWebhooks` (Paylican's examples).
const PENDING_WEBHOOKS: u32 = 2;

pub(super) const UNPAID: &str = "UNPAID";
pub(super) const PAID: &str = "PAID";
const PAYMENT_MODE: &str = "BANK_TRANSFER";
const BANK: &str = "SANDBOXBANK";

/// A code/value pair, both optional (as documented).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Field {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) value: Option<String>,
}

/// One payment attempt of the payer.
#[derive(Debug, Clone)]
pub(super) struct Attempt {
    pub(super) payment_no: String,
    pub(super) payment_date: String,
}

impl Attempt {
    pub(super) fn new() -> Attempt {
        Attempt {
            payment_no: new_id("").chars().take(9).collect(),
            payment_date: now_nanos(),
        }
    }
}

#[derive(Debug, Clone)]
pub(super) struct Invoice {
    pub(super) id: String,
    pub(super) payment_type: String,
    pub(super) merchant_reference: String,
    pub(super) amount: Decimal,
    pub(super) customer_code: Option<String>,
    pub(super) item_name: Option<String>,
    pub(super) beneficiary_code: Option<String>,
    pub(super) redirection_url: Option<String>,
    pub(super) additional_fields: Vec<Field>,
    /// The raw status, reported verbatim.
    pub(super) status: String,
    pub(super) awaiting_otp: bool,
    pub(super) attempt: Option<Attempt>,
    pub(super) created_at: String,
    /// Webhooks sent about it (`type status`), in order.
    pub(super) webhooks: Vec<String>,
    /// The webhook `id` of every event about it, given at its first webhook.
    pub(super) webhook_id: Option<i64>,
}

impl Invoice {
    pub(super) fn shown_status(&self) -> String {
        if self.awaiting_otp {
            format!("{} (awaiting a one-time code)", self.status)
        } else {
            self.status.clone()
        }
    }

    pub(super) fn payable(&self) -> bool {
        self.status == UNPAID && !self.awaiting_otp
    }
}

/// `data` of a webhook (and the body of the status extension): keys in the order of Paylican's examples.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct InvoiceJson<'a> {
    additional_fields: &'a [Field],
    #[serde(skip_serializing_if = "Option::is_none")]
    bank_code: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    collector: Option<&'a str>,
    document_no: &'a str,
    id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_date: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_mode: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    payment_no: Option<&'a str>,
    status: &'a str,
    /// Written as a raw JSON number, digit for digit.
    total_amount: Decimal,
}

/// A webhook body: keys in the order of Paylican's examples.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WebhookJson<'a> {
    created_at: String,
    data: InvoiceJson<'a>,
    id: i64,
    pending_webhooks: u32,
    #[serde(rename = "type")]
    event_type: &'a str,
}

/// `data` with the attempt's bank details (`detailed`) or only its `paymentNo`.
pub(super) fn invoice_json(invoice: &Invoice, detailed: bool) -> InvoiceJson<'_> {
    let attempt = invoice.attempt.as_ref();
    let bank = attempt.filter(|_| detailed).map(|_| BANK);
    InvoiceJson {
        additional_fields: &invoice.additional_fields,
        bank_code: bank,
        collector: bank,
        document_no: &invoice.merchant_reference,
        id: &invoice.id,
        payment_date: attempt
            .filter(|_| detailed)
            .map(|a| a.payment_date.as_str()),
        payment_mode: attempt.filter(|_| detailed).map(|_| PAYMENT_MODE),
        payment_no: attempt.map(|a| a.payment_no.as_str()),
        status: &invoice.status,
        total_amount: invoice.amount,
    }
}

/// Now, RFC 3339 with nanoseconds (`2024-03-28T14:32:47.238686329Z`), as Paylican writes.
pub(super) fn now_nanos() -> String {
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Which webhook a transition sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Event {
    /// `invoice.payment_initiated` with the bank details (initiated, executed, raw status).
    Initiated,
    /// `invoice.payment_error`.
    Error,
    /// `invoice.payment_rejected`.
    Rejected,
}

impl Event {
    pub(super) fn wire(self) -> &'static str {
        match self {
            Event::Initiated => "invoice.payment_initiated",
            Event::Error => "invoice.payment_error",
            Event::Rejected => "invoice.payment_rejected",
        }
    }
}

fn conflict(action: &str, invoice: &Invoice) -> ControlError {
    ControlError::Conflict {
        action: action.to_owned(),
        status: invoice.shown_status(),
    }
}

/// Applies `action`; the webhook to send, if any.
pub(super) fn transition(
    invoice: &mut Invoice,
    action: PayerAction,
) -> Result<Event, ControlError> {
    match action {
        PayerAction::Pay => {
            if !invoice.payable() {
                return Err(conflict("pay", invoice));
            }
            invoice.attempt = Some(Attempt::new());
            invoice.status = PAID.to_owned();
            Ok(Event::Initiated)
        }
        PayerAction::Fail | PayerAction::Cancel => {
            if invoice.status != UNPAID {
                let verb = if action == PayerAction::Fail {
                    "fail"
                } else {
                    "cancel"
                };
                return Err(conflict(verb, invoice));
            }
            invoice.awaiting_otp = false;
            invoice.attempt = Some(Attempt::new());
            Ok(if action == PayerAction::Fail {
                Event::Error
            } else {
                Event::Rejected
            })
        }
        PayerAction::Expire => Err(ControlError::Unsupported(
            "Paylican invoices do not expire: the Payment Creation API sets no expiry".into(),
        )),
        PayerAction::RequireOtp => {
            if !invoice.payable() {
                return Err(conflict("require a one-time code for", invoice));
            }
            invoice.awaiting_otp = true;
            invoice.attempt = Some(Attempt::new());
            Ok(Event::Initiated)
        }
        PayerAction::SubmitOtp(code) => {
            if !(invoice.status == UNPAID && invoice.awaiting_otp) {
                return Err(conflict("submit a one-time code for", invoice));
            }
            if code != SANDBOX_OTP {
                return Err(ControlError::WrongOtp);
            }
            invoice.awaiting_otp = false;
            let attempt = invoice.attempt.get_or_insert_with(Attempt::new);
            attempt.payment_date = now_nanos();
            invoice.status = PAID.to_owned();
            Ok(Event::Initiated)
        }
        PayerAction::SetStatus(raw) => {
            invoice.status = raw;
            invoice.awaiting_otp = false;
            Ok(Event::Initiated)
        }
    }
}

/// The webhook body of `event` about `invoice` as it stands.
pub(super) fn webhook_body(
    invoice: &Invoice,
    event: Event,
    id: i64,
) -> Result<String, serde_json::Error> {
    serde_json::to_string(&WebhookJson {
        created_at: now_nanos(),
        data: invoice_json(invoice, event == Event::Initiated),
        id,
        pending_webhooks: PENDING_WEBHOOKS,
        event_type: event.wire(),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn invoice() -> Invoice {
        Invoice {
            id: "XYZ2024-ade08".into(),
            payment_type: "XYZ".into(),
            merchant_reference: "REF-1234".into(),
            amount: Decimal::parse("5100.00").unwrap(),
            customer_code: None,
            item_name: None,
            beneficiary_code: None,
            redirection_url: None,
            additional_fields: vec![Field {
                code: Some("documentNo".into()),
                value: Some("TST1201901260".into()),
            }],
            status: UNPAID.into(),
            awaiting_otp: false,
            attempt: None,
            created_at: now_nanos(),
            webhooks: Vec::new(),
            webhook_id: None,
        }
    }

    #[test]
    fn transitions_follow_the_invoice_status() {
        let mut i = invoice();
        assert_eq!(transition(&mut i, PayerAction::Fail), Ok(Event::Error));
        assert_eq!(transition(&mut i, PayerAction::Cancel), Ok(Event::Rejected));
        assert_eq!(i.status, UNPAID);
        assert!(matches!(
            transition(&mut i, PayerAction::Expire),
            Err(ControlError::Unsupported(_))
        ));
        assert!(matches!(
            transition(&mut i, PayerAction::SubmitOtp(SANDBOX_OTP.into())),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            transition(&mut i, PayerAction::RequireOtp),
            Ok(Event::Initiated)
        );
        assert!(matches!(
            transition(&mut i, PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            transition(&mut i, PayerAction::SubmitOtp("000000".into())),
            Err(ControlError::WrongOtp)
        );
        assert_eq!(
            transition(&mut i, PayerAction::SubmitOtp(SANDBOX_OTP.into())),
            Ok(Event::Initiated)
        );
        assert_eq!(i.status, PAID);
        assert!(matches!(
            transition(&mut i, PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert!(matches!(
            transition(&mut i, PayerAction::Fail),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            transition(&mut i, PayerAction::SetStatus("PARTIALLY_PAID".into())),
            Ok(Event::Initiated)
        );
        assert_eq!(i.status, "PARTIALLY_PAID");
    }

    #[test]
    fn webhook_bodies_follow_paylicans_examples() {
        let mut i = invoice();
        transition(&mut i, PayerAction::Pay).unwrap();
        let body = webhook_body(&i, Event::Initiated, 7).unwrap();
        assert!(
            body.starts_with("{\"createdAt\":\"") && body.contains("\"totalAmount\":5100.00}"),
            "{body}"
        );
        let parsed: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(parsed["type"], "invoice.payment_initiated");
        assert_eq!(parsed["id"], 7);
        assert_eq!(parsed["pendingWebhooks"], 2);
        assert_eq!(parsed["data"]["status"], "PAID");
        assert_eq!(parsed["data"]["documentNo"], "REF-1234");
        assert_eq!(parsed["data"]["paymentMode"], "BANK_TRANSFER");
        assert_eq!(parsed["data"]["additionalFields"][0]["code"], "documentNo");
        // The key order of Paylican's examples (alphabetical), checked on the bytes.
        let order = [
            "\"createdAt\"",
            "\"additionalFields\"",
            "\"bankCode\"",
            "\"collector\"",
            "\"documentNo\":\"REF",
            "\"id\":\"",
            "\"paymentDate\"",
            "\"paymentMode\"",
            "\"paymentNo\"",
            "\"status\"",
            "\"totalAmount\"",
            "\"id\":7",
            "\"pendingWebhooks\"",
            "\"type\"",
        ];
        let positions: Vec<usize> = order.iter().map(|k| body.find(k).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{body}");

        let error = webhook_body(&i, Event::Error, 8).unwrap();
        let parsed: Value = serde_json::from_str(&error).unwrap();
        assert!(parsed["data"].get("paymentMode").is_none(), "{error}");
        assert!(parsed["data"]["paymentNo"].is_string(), "{error}");
    }
}
