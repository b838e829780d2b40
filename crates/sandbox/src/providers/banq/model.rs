//! Banq's payment links, the merchant's accounts and webhook configurations, and the payer's
//! moves between payment statuses, rendered in Banq's JSON. Pure: no HTTP, no shared state.

use std::collections::BTreeMap;

use payments_core::Decimal;
use serde::Serialize;
use serde_json::{Value, json};

use crate::{ControlError, PayerAction, SANDBOX_OTP};

/// The banq guid of the merchant's receiving account (in the `Shop` account space).
pub(super) const DESTINATION_GUID: &str = "5b1c4e2a-0d7f-4a3b-9e8c-1f2a3b4c5d6e";
/// The account space holding [`DESTINATION_GUID`].
pub(super) const ACCOUNT_SPACE_ID: &str = "as-sandbox-shop";
/// A second account (savings) in a second account space.
const SAVINGS_GUID: &str = "0d9e2b6a-1c4f-4e7d-8a5b-3f6c1e2d9b80";
const SAVINGS_SPACE_ID: &str = "as-sandbox-personal";

/// The merchant's accounts: (banq guid, name, account space id).
pub(super) const ACCOUNTS: [(&str, &str, &str); 2] = [
    (DESTINATION_GUID, "Shop receipts", ACCOUNT_SPACE_ID),
    (SAVINGS_GUID, "Savings", SAVINGS_SPACE_ID),
];
/// The merchant's account spaces: (id, name).
pub(super) const SPACES: [(&str, &str); 2] =
    [(ACCOUNT_SPACE_ID, "Shop"), (SAVINGS_SPACE_ID, "Personal")];

/// The account space holding the account `guid`, if it is the merchant's.
pub(super) fn space_of(guid: &str) -> Option<&'static str> {
    ACCOUNTS
        .iter()
        .find(|(account, _, _)| *account == guid)
        .map(|(_, _, space)| *space)
}

/// An 11-character link code, as in `https://link.banq.com/4x1t09WiOjb`.
pub(super) fn link_code() -> String {
    (0..11).map(|_| fastrand::alphanumeric()).collect()
}

/// Whether the raw `status` is `value` (Banq's statuses compared trimmed, case-blind).
pub(super) fn is(status: &str, value: &str) -> bool {
    status.trim().eq_ignore_ascii_case(value)
}

/// A payment link as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(super) struct Payment {
    pub(super) id: String,
    pub(super) code: String,
    pub(super) destination: String,
    /// Raw status, verbatim.
    pub(super) status: String,
    pub(super) funds: Decimal,
    pub(super) comment: Option<String>,
    pub(super) external_order_code: Option<String>,
    pub(super) frequency: String,
    pub(super) start_date: Option<String>,
    pub(super) end_date: Option<String>,
    pub(super) failure_reason: Option<String>,
    pub(super) created_at: String,
    pub(super) awaiting_otp: bool,
}

impl Payment {
    /// Whether the payer can still pay or fail it: `pending` or `processing`.
    pub(super) fn is_open(&self) -> bool {
        is(&self.status, "pending") || is(&self.status, "processing")
    }

    /// The status as the sandbox shows it (with the awaited one-time code).
    pub(super) fn shown_status(&self) -> String {
        if self.awaiting_otp {
            format!("{} (awaiting the payer's one-time code)", self.status)
        } else {
            self.status.clone()
        }
    }

    /// Applies a payer action.
    pub(super) fn apply(&mut self, action: PayerAction) -> Result<(), ControlError> {
        let conflict = |action: &str, payment: &Payment| ControlError::Conflict {
            action: action.to_owned(),
            status: payment.shown_status(),
        };
        let open = self.is_open();
        match action {
            PayerAction::Pay => {
                if !open || self.awaiting_otp {
                    return Err(conflict("pay", self));
                }
                self.status = "completed".into();
            }
            PayerAction::Fail => {
                if !open {
                    return Err(conflict("fail", self));
                }
                self.status = "failed".into();
                self.failure_reason = Some("InsufficientBalance".into());
                self.awaiting_otp = false;
            }
            PayerAction::Cancel => {
                if !is(&self.status, "pending") {
                    return Err(conflict("cancel", self));
                }
                self.status = "cancelled".into();
                self.awaiting_otp = false;
            }
            PayerAction::Expire => {
                return Err(ControlError::Unsupported(
                    "Banq documents no expiry of payment links".into(),
                ));
            }
            PayerAction::RequireOtp => {
                if !is(&self.status, "pending") || self.awaiting_otp {
                    return Err(conflict("require a one-time code for", self));
                }
                self.awaiting_otp = true;
            }
            PayerAction::SubmitOtp(code) => {
                if !self.awaiting_otp {
                    return Err(conflict("submit a one-time code for", self));
                }
                if code != SANDBOX_OTP {
                    return Err(ControlError::WrongOtp);
                }
                self.awaiting_otp = false;
                self.status = "completed".into();
            }
            PayerAction::SetStatus(raw) => {
                self.status = raw;
                self.awaiting_otp = false;
            }
        }
        Ok(())
    }
}

/// A webhook configuration of an account space.
#[derive(Debug, Clone)]
pub(super) struct WebhookConfig {
    pub(super) id: u64,
    pub(super) url: String,
    pub(super) enabled: bool,
    pub(super) retry_count: u32,
    pub(super) types: Vec<String>,
}

impl WebhookConfig {
    /// Whether payment events go to this configuration.
    pub(super) fn delivers_payments(&self) -> bool {
        self.enabled
            && self
                .types
                .iter()
                .any(|t| t.trim().eq_ignore_ascii_case("payment"))
    }

    /// The configuration as the API answers it.
    pub(super) fn answer(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url,
            "enabled": self.enabled,
            "retryCount": self.retry_count,
            "webHookTypes": self.types,
        })
    }
}

/// Every payment and webhook configuration of the sandbox.
#[derive(Debug, Default)]
pub(super) struct Store {
    /// In creation order.
    pub(super) payments: Vec<Payment>,
    /// Webhook configuration per account space.
    pub(super) configs: BTreeMap<String, WebhookConfig>,
    pub(super) next_config_id: u64,
}

/// The API's answer for a payment: `funds` is written from the exact decimal.
pub(super) fn payment_answer(p: &Payment) -> String {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Answer<'a> {
        id: &'a str,
        status: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        failure_reason: Option<&'a str>,
        funds: Decimal,
        #[serde(skip_serializing_if = "Option::is_none")]
        comment: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        external_order_code: Option<&'a str>,
        frequency: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        start_date: Option<&'a str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        end_date: Option<&'a str>,
        created_at: &'a str,
    }
    serde_json::to_string(&Answer {
        id: &p.id,
        status: &p.status,
        failure_reason: p.failure_reason.as_deref(),
        funds: p.funds,
        comment: p.comment.as_deref(),
        external_order_code: p.external_order_code.as_deref(),
        frequency: &p.frequency,
        start_date: p.start_date.as_deref(),
        end_date: p.end_date.as_deref(),
        created_at: &p.created_at,
    })
    .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    fn payment(status: &str) -> Payment {
        Payment {
            id: "p".into(),
            code: "c".into(),
            destination: DESTINATION_GUID.into(),
            status: status.into(),
            funds: Decimal::parse("1234567890.10").unwrap(),
            comment: None,
            external_order_code: Some("o".into()),
            frequency: "once".into(),
            start_date: None,
            end_date: None,
            failure_reason: None,
            created_at: "2021-06-15T10:21:07.000Z".into(),
            awaiting_otp: false,
        }
    }

    #[test]
    fn link_codes_look_like_banqs() {
        let code = link_code();
        assert_eq!(code.len(), 11);
        assert!(code.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_eq!(space_of(DESTINATION_GUID), Some(ACCOUNT_SPACE_ID));
        assert_eq!(space_of("elsewhere"), None);
    }

    #[test]
    fn answers_write_funds_exactly() {
        let p = payment("pending");
        let text = payment_answer(&p);
        assert!(text.contains(r#""funds":1234567890.10,"#), "{text}");
        assert!(
            !text.contains("failureReason") && !text.contains("comment"),
            "{text}"
        );
    }

    #[test]
    fn the_payer_moves_links_through_banq_statuses() {
        let mut p = payment("pending");
        p.apply(PayerAction::RequireOtp).unwrap();
        assert_eq!(p.status, "pending");
        assert!(matches!(
            p.apply(PayerAction::Pay),
            Err(ControlError::Conflict { status, .. }) if status.contains("one-time code")
        ));
        assert_eq!(
            p.apply(PayerAction::SubmitOtp("000000".into())),
            Err(ControlError::WrongOtp)
        );
        p.apply(PayerAction::SubmitOtp(SANDBOX_OTP.into())).unwrap();
        assert_eq!(p.status, "completed");
        assert!(p.apply(PayerAction::Fail).is_err());

        let mut p = payment(" Processing ");
        assert!(
            p.apply(PayerAction::Cancel).is_err(),
            "only pending cancels"
        );
        p.apply(PayerAction::Fail).unwrap();
        assert_eq!(p.status, "failed");
        assert_eq!(p.failure_reason.as_deref(), Some("InsufficientBalance"));
        assert!(payment_answer(&p).contains(r#""failureReason":"InsufficientBalance""#));

        let mut p = payment("pending");
        assert!(matches!(
            p.apply(PayerAction::Expire),
            Err(ControlError::Unsupported(_))
        ));
        p.apply(PayerAction::Cancel).unwrap();
        assert_eq!(p.status, "cancelled");
        p.apply(PayerAction::SetStatus("refunded".into())).unwrap();
        assert_eq!(p.status, "refunded");
    }

    #[test]
    fn a_configuration_delivers_payments_when_enabled_for_them() {
        let config = WebhookConfig {
            id: 1,
            url: "https://shop.example/hook".into(),
            enabled: true,
            retry_count: 5,
            types: vec!["transaction".into(), " Payment ".into()],
        };
        assert!(config.delivers_payments());
        assert_eq!(config.answer()["retryCount"], 5);
        let off = WebhookConfig {
            enabled: false,
            ..config.clone()
        };
        assert!(!off.delivers_payments());
        let other = WebhookConfig {
            types: vec!["transaction".into()],
            ..config
        };
        assert!(!other.delivers_payments());
    }
}
