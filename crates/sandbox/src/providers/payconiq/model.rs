//! Payconiq's payments and the payer's moves between their statuses, rendered in Payconiq's JSON.
//! Pure: no HTTP, no shared state.

use std::time::Duration;

use serde_json::{Map, Value, json};
use time::OffsetDateTime;

use crate::support::rfc3339;
use crate::{ControlError, PayerAction, SANDBOX_OTP};

pub(super) const PENDING: &str = "PENDING";
pub(super) const IDENTIFIED: &str = "IDENTIFIED";
pub(super) const AUTHORIZED: &str = "AUTHORIZED";
pub(super) const SUCCEEDED: &str = "SUCCEEDED";
pub(super) const AUTHORIZATION_FAILED: &str = "AUTHORIZATION_FAILED";
pub(super) const CANCELLED: &str = "CANCELLED";
pub(super) const EXPIRED: &str = "EXPIRED";
pub(super) const PENDING_MERCHANT_ACKNOWLEDGEMENT: &str = "PENDING_MERCHANT_ACKNOWLEDGEMENT";

/// How long a payment can be paid (the API reference's examples: `expireAt` = `createdAt` + 2
/// minutes).
pub(super) const EXPIRY: Duration = Duration::from_secs(120);

/// The simulated payer.
pub(super) const DEBTOR_NAME: &str = "Sandbox Payer";
pub(super) const DEBTOR_IBAN: &str = "BE68539007547034";
/// The merchant behind the sandbox's payment profile.
pub(super) const CREDITOR_NAME: &str = "Sandbox Merchant";
const CREDITOR_IBAN: &str = "BE71096123456769";
const MERCHANT_ID: &str = "5b71369f5832fd09188e0915";

/// Now, to the millisecond (what the wire can carry, so that searches by date are exact).
pub(super) fn now_ms() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_millisecond(now.millisecond()).unwrap_or(now)
}

/// A payment as the sandbox keeps it.
#[derive(Debug, Clone)]
pub(super) struct Payment {
    pub(super) id: String,
    /// The raw status, reported verbatim.
    pub(super) status: String,
    pub(super) created_at: OffsetDateTime,
    pub(super) expire_at: OffsetDateTime,
    pub(super) succeeded_at: Option<OffsetDateTime>,
    pub(super) amount: i64,
    pub(super) currency: String,
    pub(super) description: Option<String>,
    pub(super) reference: Option<String>,
    pub(super) bulk_id: Option<String>,
    /// Where callbacks go (the `callbackUrl`, or the console URL at creation).
    pub(super) callback_url: Option<String>,
    pub(super) return_url: Option<String>,
    /// Shown on the checkout page (`posId` and `shopId` are validated, not kept).
    pub(super) shop_name: Option<String>,
    /// The payer is known (scanned / paid): `debtor` is reported.
    pub(super) debtor: bool,
    /// The app awaits the payer's one-time code.
    pub(super) otp_pending: bool,
}

/// Whether the payer can still pay or refuse: `PENDING`, `IDENTIFIED`, `AUTHORIZED`.
pub(super) fn is_open(status: &str) -> bool {
    matches!(status, PENDING | IDENTIFIED | AUTHORIZED)
}

/// Whether the payment can be cancelled (by the merchant or the payer) or expire.
pub(super) fn cancellable(status: &str) -> bool {
    status == PENDING || status == IDENTIFIED
}

/// Whether Payconiq sends a callback when a payment reaches `status`.
pub(super) fn notified(status: &str) -> bool {
    !is_open(status)
}

/// The payment is paid (by the payer, or acknowledged by the merchant).
fn succeed(p: &mut Payment) {
    p.status = SUCCEEDED.to_owned();
    p.succeeded_at = Some(now_ms());
    p.debtor = true;
    p.otp_pending = false;
}

/// The merchant's `DELETE`: cancels a `PENDING` or `IDENTIFIED` payment; `false` (nothing
/// changed) for any other status.
pub(super) fn cancel_by_merchant(p: &mut Payment) -> bool {
    if !cancellable(&p.status) {
        return false;
    }
    p.status = CANCELLED.to_owned();
    p.otp_pending = false;
    true
}

/// Why the merchant's `acknowledge` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Acknowledgement {
    /// The payment does not wait for the merchant.
    NotPending,
    /// The acknowledged amount is not the payment's.
    OtherAmount,
    /// The acknowledged reference is not the payment's (checked when both exist).
    OtherReference,
}

/// The merchant's `acknowledge` of a `PENDING_MERCHANT_ACKNOWLEDGEMENT` payment: `SUCCEEDED`.
pub(super) fn acknowledge_payment(
    p: &mut Payment,
    amount: i64,
    reference: Option<&str>,
) -> Result<(), Acknowledgement> {
    if p.status != PENDING_MERCHANT_ACKNOWLEDGEMENT {
        return Err(Acknowledgement::NotPending);
    }
    if amount != p.amount {
        return Err(Acknowledgement::OtherAmount);
    }
    if let (Some(given), Some(own)) = (reference, &p.reference)
        && given != own
    {
        return Err(Acknowledgement::OtherReference);
    }
    succeed(p);
    Ok(())
}

/// Applies a payer action to `p`.
pub(super) fn apply(p: &mut Payment, action: &PayerAction) -> Result<(), ControlError> {
    let before = p.status.clone();
    let status = before.as_str();
    let conflict = |action: &str| ControlError::Conflict {
        action: action.to_owned(),
        status: before.clone(),
    };
    let open = is_open(status);
    match action {
        PayerAction::Pay => {
            if p.otp_pending {
                return Err(ControlError::Conflict {
                    action: "pay".into(),
                    status: format!("{status} (awaiting the payer's one-time code)"),
                });
            }
            if !open {
                return Err(conflict("pay"));
            }
            succeed(p);
        }
        PayerAction::Fail => {
            if !open {
                return Err(conflict("fail"));
            }
            p.status = AUTHORIZATION_FAILED.to_owned();
            p.debtor = true;
            p.otp_pending = false;
        }
        PayerAction::Cancel | PayerAction::Expire => {
            if !cancellable(status) {
                let name = if *action == PayerAction::Cancel {
                    "cancel"
                } else {
                    "expire"
                };
                return Err(conflict(name));
            }
            p.status = if *action == PayerAction::Cancel {
                CANCELLED
            } else {
                EXPIRED
            }
            .to_owned();
            p.otp_pending = false;
        }
        PayerAction::RequireOtp => {
            if !cancellable(status) || p.otp_pending {
                return Err(conflict("require a one-time code for"));
            }
            p.status = IDENTIFIED.to_owned();
            p.debtor = true;
            p.otp_pending = true;
        }
        PayerAction::SubmitOtp(code) => {
            if !p.otp_pending {
                return Err(conflict("submit a one-time code for"));
            }
            if code != SANDBOX_OTP {
                return Err(ControlError::WrongOtp);
            }
            succeed(p);
        }
        PayerAction::SetStatus(raw) => {
            p.status = raw.clone();
            p.otp_pending = false;
            if raw != PENDING {
                p.debtor = true;
            }
            if raw == SUCCEEDED && p.succeeded_at.is_none() {
                p.succeeded_at = Some(now_ms());
            }
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------ the wire

/// Which answer a payment is shown in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum View {
    /// The answer to a creation (`expiresAt`, no payer yet).
    Create,
    /// `GET`, search results, the sandbox's views.
    Get,
    /// A callback body (no `creditor`, no `_links`).
    Callback,
}

/// What a rendered payment refers to beyond itself.
#[derive(Debug, Clone)]
pub(super) struct Wire {
    /// The API base URL (`{sandbox}/payconiq/v3`).
    pub(super) api_base_url: String,
    /// The provider's URL (`{sandbox}/payconiq`), under which the checkout pages are.
    pub(super) base_url: String,
    /// The merchant's payment profile id (`creditor.profileId`).
    pub(super) profile_id: String,
}

impl Wire {
    /// The checkout page's URL for payment `id`.
    pub(super) fn checkout_url(&self, id: &str) -> String {
        format!("{}/checkout/{id}", self.base_url)
    }
}

/// `iban` with all but its last 5 characters masked, as Payconiq shows the debtor's.
pub(super) fn masked_iban(iban: &str) -> String {
    let keep = 5.min(iban.len());
    let (hidden, shown) = iban.split_at(iban.len() - keep);
    format!("{}{shown}", "*".repeat(hidden.len()))
}

fn links(wire: &Wire, p: &Payment) -> Value {
    let payment_url = format!("{}/payments/{}", wire.api_base_url, p.id);
    let deeplink = format!("https://payconiq.com/pay/2/{}", p.id);
    let mut qrcode = reqwest::Url::parse("https://portal.ext.payconiq.com/qrcode")
        .map(|mut u| {
            u.query_pairs_mut().append_pair("c", &deeplink);
            u.to_string()
        })
        .unwrap_or_default();
    if qrcode.is_empty() {
        qrcode = deeplink.clone();
    }
    let mut links = Map::new();
    let mut link = |name: &str, href: String| {
        links.insert(name.to_owned(), json!({ "href": href }));
    };
    link("self", payment_url.clone());
    link("deeplink", deeplink);
    link("qrcode", qrcode);
    if p.return_url.is_some() {
        link("checkout", wire.checkout_url(&p.id));
    }
    if cancellable(&p.status) {
        link("cancel", payment_url.clone());
    }
    if p.status == SUCCEEDED {
        link("refund", format!("{payment_url}/debtor/refundIban"));
    }
    Value::Object(links)
}

/// The payment in Payconiq's JSON, as the answer `kind` shows it.
pub(super) fn view(wire: &Wire, p: &Payment, kind: View) -> Value {
    let mut out = Map::new();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_owned(), v);
    };
    put("paymentId", json!(p.id));
    put("status", json!(p.status));
    put("createdAt", json!(rfc3339(p.created_at)));
    put(
        if kind == View::Create {
            "expiresAt"
        } else {
            "expireAt"
        },
        json!(rfc3339(p.expire_at)),
    );
    put("amount", json!(p.amount));
    put("currency", json!(p.currency));
    if let Some(d) = &p.description {
        put("description", json!(d));
    }
    if let Some(r) = &p.reference {
        put("reference", json!(r));
    }
    if kind != View::Create {
        if let Some(b) = &p.bulk_id {
            put("bulkId", json!(b));
        }
        if let Some(at) = p.succeeded_at {
            put("succeededAt", json!(rfc3339(at)));
        }
        if p.debtor {
            put(
                "debtor",
                json!({"name": DEBTOR_NAME, "iban": masked_iban(DEBTOR_IBAN)}),
            );
        }
    }
    if kind != View::Callback {
        let mut creditor = Map::new();
        creditor.insert("profileId".into(), json!(wire.profile_id));
        creditor.insert("merchantId".into(), json!(MERCHANT_ID));
        creditor.insert("name".into(), json!(CREDITOR_NAME));
        creditor.insert("iban".into(), json!(CREDITOR_IBAN));
        if let Some(url) = &p.callback_url {
            creditor.insert("callbackUrl".into(), json!(url));
        }
        put("creditor", Value::Object(creditor));
        put("_links", links(wire, p));
    }
    Value::Object(out)
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::support::random_hex;

    fn payment(status: &str) -> Payment {
        let now = now_ms();
        Payment {
            id: random_hex(24),
            status: status.to_owned(),
            created_at: now,
            expire_at: now + EXPIRY,
            succeeded_at: None,
            amount: 1250,
            currency: "EUR".into(),
            description: None,
            reference: None,
            bulk_id: None,
            callback_url: None,
            return_url: None,
            shop_name: None,
            debtor: false,
            otp_pending: false,
        }
    }

    #[test]
    fn ids_dates_and_ibans_have_the_wire_shape() {
        let id = random_hex(24);
        assert_eq!(id.len(), 24);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
        let at = time::macros::datetime!(2018-09-18 11:43:29.16 UTC);
        assert_eq!(rfc3339(at), "2018-09-18T11:43:29.160Z");
        assert_eq!(masked_iban("NL47FRBK0293412636"), "*************12636");
    }

    #[test]
    fn the_payer_moves_payments_through_payconiq_statuses() {
        let mut p = payment(PENDING);
        assert!(apply(&mut p, &PayerAction::Pay).is_ok());
        assert_eq!(p.status, SUCCEEDED);
        assert!(p.succeeded_at.is_some() && p.debtor);
        assert!(matches!(
            apply(&mut p, &PayerAction::Cancel),
            Err(ControlError::Conflict { .. })
        ));

        let mut p = payment(PENDING);
        assert!(apply(&mut p, &PayerAction::RequireOtp).is_ok());
        assert_eq!(p.status, IDENTIFIED);
        assert!(matches!(
            apply(&mut p, &PayerAction::Pay),
            Err(ControlError::Conflict { .. })
        ));
        assert_eq!(
            apply(&mut p, &PayerAction::SubmitOtp("000000".into())),
            Err(ControlError::WrongOtp)
        );
        assert_eq!(p.status, IDENTIFIED);
        assert!(apply(&mut p, &PayerAction::SubmitOtp(SANDBOX_OTP.into())).is_ok());
        assert_eq!(p.status, SUCCEEDED);

        let mut p = payment(AUTHORIZED);
        assert!(matches!(
            apply(&mut p, &PayerAction::Expire),
            Err(ControlError::Conflict { .. })
        ));
        assert!(apply(&mut p, &PayerAction::Fail).is_ok());
        assert_eq!(p.status, AUTHORIZATION_FAILED);
        assert!(apply(&mut p, &PayerAction::SetStatus("NEW_2031".into())).is_ok());
        assert_eq!(p.status, "NEW_2031");
        assert!(notified("NEW_2031") && !notified(IDENTIFIED) && notified(EXPIRED));
    }

    #[test]
    fn cancelling_and_expiring_close_only_unconfirmed_payments() {
        for from in [PENDING, IDENTIFIED] {
            let mut p = payment(from);
            assert_eq!(apply(&mut p, &PayerAction::Cancel), Ok(()));
            assert_eq!(p.status, CANCELLED);
            let mut p = payment(from);
            assert_eq!(apply(&mut p, &PayerAction::Expire), Ok(()));
            assert_eq!(p.status, EXPIRED);
        }
        let mut p = payment(SUCCEEDED);
        assert!(matches!(
            apply(&mut p, &PayerAction::Expire),
            Err(ControlError::Conflict { action, .. }) if action == "expire"
        ));
        assert_eq!(p.status, SUCCEEDED);
    }

    #[test]
    fn the_merchant_cancels_unconfirmed_payments_and_acknowledges_waiting_ones() {
        let mut p = payment(IDENTIFIED);
        p.otp_pending = true;
        assert!(cancel_by_merchant(&mut p));
        assert_eq!(p.status, CANCELLED);
        assert!(!p.otp_pending);
        assert!(!cancel_by_merchant(&mut p), "already cancelled");

        let mut p = payment(PENDING);
        assert_eq!(
            acknowledge_payment(&mut p, 1250, None),
            Err(Acknowledgement::NotPending)
        );
        let mut p = payment(PENDING_MERCHANT_ACKNOWLEDGEMENT);
        p.reference = Some("order-1".into());
        assert_eq!(
            acknowledge_payment(&mut p, 1251, None),
            Err(Acknowledgement::OtherAmount)
        );
        assert_eq!(
            acknowledge_payment(&mut p, 1250, Some("order-2")),
            Err(Acknowledgement::OtherReference)
        );
        assert_eq!(p.status, PENDING_MERCHANT_ACKNOWLEDGEMENT);
        assert_eq!(acknowledge_payment(&mut p, 1250, Some("order-1")), Ok(()));
        assert_eq!(p.status, SUCCEEDED);
        assert!(p.succeeded_at.is_some() && p.debtor);
    }

    #[test]
    fn a_callback_carries_the_payer_but_no_creditor_or_links() {
        let wire = Wire {
            api_base_url: "http://127.0.0.1:1/payconiq/v3".into(),
            base_url: "http://127.0.0.1:1/payconiq".into(),
            profile_id: "profile".into(),
        };
        let mut p = payment(PENDING);
        p.return_url = Some("https://shop.example/back".into());
        let created = view(&wire, &p, View::Create);
        assert!(created.get("expiresAt").is_some() && created.get("expireAt").is_none());
        assert_eq!(created["creditor"]["profileId"], "profile");
        assert_eq!(
            created["_links"]["checkout"]["href"],
            format!("http://127.0.0.1:1/payconiq/checkout/{}", p.id)
        );
        assert_eq!(
            created["_links"]["cancel"]["href"],
            format!("http://127.0.0.1:1/payconiq/v3/payments/{}", p.id)
        );
        apply(&mut p, &PayerAction::Pay).unwrap_or_default();
        let callback = view(&wire, &p, View::Callback);
        assert!(callback.get("creditor").is_none() && callback.get("_links").is_none());
        assert_eq!(callback["debtor"]["iban"], masked_iban(DEBTOR_IBAN));
        assert!(callback["succeededAt"].is_string());
        let got = view(&wire, &p, View::Get);
        assert!(got["_links"]["refund"]["href"].is_string());
        assert!(got["_links"].get("cancel").is_none());
    }
}
