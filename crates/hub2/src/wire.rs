//! HUB2's JSON exactly as the PaymentIntent API sends and receives it.
//!
//! Response types tolerate unknown fields. Amounts are integers in the currency's smallest unit
//! (XOF, XAF and GNF have none below the franc), read as `i64`: a fractional amount is a decode
//! error, never a rounding. Fees are read as exact [`Decimal`]s. Tokens and webhook secrets are
//! held as [`SecretString`]: `Debug` never shows them and they are not serialized back.

use std::collections::BTreeMap;
use std::fmt;

use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::{Currency, Decimal, Money};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use time::OffsetDateTime;

payments_core::wire_enum! {
    /// A PaymentIntent status.
    IntentStatus {
        /// Created; no payment attempted yet (or the last attempt can be retried).
        PaymentRequired = "payment_required",
        /// An attempt is with the payment provider.
        Processing = "processing",
        /// The payer must act: see the payment's [`NextAction`].
        ActionRequired = "action_required",
        /// Paid.
        Successful = "successful",
        /// Failed.
        Failed = "failed",
        /// Cancelled.
        Canceled = "canceled",
    }
}

impl IntentStatus {
    /// True while polling is allowed: `processing` or `action_required`. HUB2 throttles or bans an
    /// IP that keeps polling an intent in any other status.
    pub fn is_pollable(&self) -> bool {
        matches!(
            self,
            IntentStatus::Processing | IntentStatus::ActionRequired
        )
    }

    /// True for `successful`, `failed` and `canceled`.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            IntentStatus::Successful | IntentStatus::Failed | IntentStatus::Canceled
        )
    }
}

payments_core::wire_enum! {
    /// A Payment (attempt) status.
    Hub2PaymentStatus {
        /// Recorded, not yet sent to the provider.
        Created = "created",
        /// With the provider, or waiting for the payer.
        Pending = "pending",
        /// Paid.
        Successful = "successful",
        /// Failed: see [`Hub2Payment::failure`].
        Failed = "failed",
    }
}

/// Reads an optional secret string (a token, a webhook secret).
fn secret_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.map(SecretString::from))
}

/// A PaymentIntent, as returned by create, get, attempt and authenticate, and sent in
/// `payment_intent.*` webhooks.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PaymentIntent {
    /// `pi_...`: store it with the order.
    pub id: String,
    /// Status.
    pub status: IntentStatus,
    /// Amount in the currency's smallest unit.
    pub amount: i64,
    /// ISO 4217 code (`XOF`).
    pub currency: String,
    /// The merchant's purchase reference.
    #[serde(default)]
    pub purchase_reference: Option<String>,
    /// The merchant's customer reference.
    #[serde(default)]
    pub customer_reference: Option<String>,
    /// The merchant.
    #[serde(default)]
    pub merchant_id: Option<String>,
    /// `sandbox` or `live`.
    #[serde(default)]
    pub mode: Option<String>,
    /// The JWT (HS256) that authorises the payer-side calls for this intent only. Never shown by
    /// `Debug` and never serialized: store it yourself with `expose_secret()`.
    #[serde(default, deserialize_with = "secret_opt", skip_serializing)]
    pub token: Option<SecretString>,
    /// The payment attempts, oldest first.
    #[serde(default)]
    pub payments: Vec<Hub2Payment>,
    /// Creation time.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub created_at: Option<OffsetDateTime>,
    /// Last update.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub updated_at: Option<OffsetDateTime>,
}

impl fmt::Debug for PaymentIntent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PaymentIntent")
            .field("id", &self.id)
            .field("status", &self.status)
            .field("amount", &self.amount)
            .field("currency", &self.currency)
            .field("purchase_reference", &self.purchase_reference)
            .field("customer_reference", &self.customer_reference)
            .field("merchant_id", &self.merchant_id)
            .field("mode", &self.mode)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("payments", &self.payments)
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .finish()
    }
}

impl PaymentIntent {
    /// The most recent attempt (HUB2 appends attempts).
    pub fn latest_payment(&self) -> Option<&Hub2Payment> {
        self.payments.last()
    }

    /// The attempt with `payment_id`.
    pub fn payment(&self, payment_id: &str) -> Option<&Hub2Payment> {
        self.payments.iter().find(|p| p.id == payment_id)
    }

    /// The action the payer must take now: the latest attempt's `nextAction`.
    pub fn next_action(&self) -> Option<&NextAction> {
        self.latest_payment()?.next_action.as_ref()
    }
}

/// One page of `GET /payment-intents` ("Retrieve a PaymentIntent collection"). HUB2 answers a
/// bare JSON array of intents and says that what a client needs to paginate is in the
/// answer's headers, without naming them; this crate pages by count instead: a page holding
/// fewer intents than asked for is the last.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct IntentPage {
    /// The intents of this page, in HUB2's order.
    pub intents: Vec<PaymentIntent>,
    /// The page asked for (HUB2's default 1 when the request left it out).
    pub page: u32,
    /// The page size asked for (HUB2's default 10 when the request left it out).
    pub per_page: u32,
}

impl IntentPage {
    /// True when no page follows: this one holds fewer intents than `per_page`.
    pub fn is_last(&self) -> bool {
        self.intents.len() < usize::try_from(self.per_page).unwrap_or(usize::MAX)
    }
}

/// Answer of `GET /payment-intents/{id}/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IntentStatusResponse {
    /// The intent.
    pub id: String,
    /// Its status.
    pub status: IntentStatus,
}

/// Why a payment failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Failure {
    /// Machine-readable (`customer_insufficient_funds`, `wave_payment_expired`,
    /// `customer_canceled`, ...).
    #[serde(default)]
    pub code: Option<String>,
    /// Human-readable.
    #[serde(default)]
    pub message: Option<String>,
}

/// One fee HUB2 charged on a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Fee {
    /// Fee id, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Amount in the currency's smallest unit, exact.
    pub amount: Decimal,
    /// Currency, when sent (else the payment's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// Rate, when sent, exact.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Decimal>,
    /// Kind of fee, when sent.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Label, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

impl Fee {
    /// The fee as money in its own currency or else `payment_currency`. An error when the amount
    /// has a fraction of the smallest unit or the currency is unknown (never rounded).
    pub fn money(&self, payment_currency: &str) -> Result<Money, payments_core::MoneyError> {
        let code = self.currency.as_deref().unwrap_or(payment_currency);
        let currency = Currency::from_code(code)?;
        let minor = self.amount;
        // The amount is already in minor units: it must be an integer.
        let as_major = Decimal::new(
            minor.mantissa(),
            minor.scale() + u32::from(currency.exponent()),
        )?;
        Money::from_decimal(as_major, currency)
    }
}

/// A payment attempt on an intent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Hub2Payment {
    /// The attempt's id: keep it, an intent can have several.
    pub id: String,
    /// Status.
    pub status: Hub2PaymentStatus,
    /// The intent it belongs to, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent_id: Option<String>,
    /// Amount in the smallest unit, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub amount: Option<i64>,
    /// Currency, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `mobile_money` or `credit_card`, when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Country (`CI`), when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Provider (`orange`, `mtn`, `moov`, `wave`), when sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider: Option<String>,
    /// Why it failed (status `failed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<Failure>,
    /// Fees charged.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fees: Vec<Fee>,
    /// What the payer must do now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_action: Option<NextAction>,
    /// Creation time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
    /// Last update.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub updated_at: Option<OffsetDateTime>,
}

impl Hub2Payment {
    /// The sum of the fees, in the payment's currency. An error when a fee is in another currency,
    /// has a fraction of the smallest unit, or the sum overflows.
    pub fn total_fees(&self) -> Result<Option<Money>, payments_core::MoneyError> {
        let Some(currency) = self.currency.as_deref() else {
            return Ok(None);
        };
        let mut total = Money::zero(Currency::from_code(currency)?);
        for fee in &self.fees {
            total = total.checked_add(fee.money(currency)?)?;
        }
        Ok(Some(total))
    }
}

/// How a redirection must be followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Redirection {
    /// Where to send the payer.
    pub url: String,
    /// HTTP method as HUB2 writes it (`get`, `post`); compare case-insensitively.
    #[serde(default = "default_method")]
    pub method: String,
    /// Headers to send with the redirection.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// Form data for a `post` redirection (usually `{}`).
    #[serde(default)]
    pub data: Value,
}

fn default_method() -> String {
    "get".into()
}

impl Redirection {
    /// True when the payer's browser must POST `data` (an auto-submitting form), not follow a link.
    pub fn is_post(&self) -> bool {
        self.method.eq_ignore_ascii_case("post")
    }
}

/// What the payer must do to complete a payment (`nextAction` on a payment).
///
/// Show `message` to the payer in every case. An action type this crate does not know is kept as
/// [`NextAction::Other`] with everything HUB2 sent, never dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NextAction {
    /// The payer must produce a one-time password (e.g. by dialling a code) and enter it; send it
    /// with `authenticate` (the `/authentication` endpoint).
    Otp {
        /// How to get the OTP.
        message: Option<String>,
        /// Anything else HUB2 sent in `data`.
        data: Value,
    },
    /// The payer must follow a USSD procedure on their phone.
    Ussd {
        /// The procedure.
        message: Option<String>,
        /// The USSD code to dial, when HUB2 sends one in `data.code`.
        code: Option<String>,
        /// Everything HUB2 sent in `data`.
        data: Value,
    },
    /// The payer must be sent to an external page.
    Redirection {
        /// A message (often a translation key such as `mm_wave_live.redirection`).
        message: Option<String>,
        /// Where and how.
        redirection: Redirection,
    },
    /// An action type this crate does not know (or a known type with an unusable `data`), kept.
    Other {
        /// The `type` as sent.
        kind: String,
        /// The message.
        message: Option<String>,
        /// The `data` as sent.
        data: Value,
    },
}

#[derive(Serialize, Deserialize)]
struct NextActionWire {
    // Absent `type`: kept as `Other` with an empty kind rather than failing the whole intent.
    #[serde(rename = "type", default)]
    kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(default, skip_serializing_if = "Value::is_null")]
    data: Value,
}

impl NextAction {
    /// The wire `type` (`otp`, `ussd`, `redirection`, or the unknown one).
    pub fn kind(&self) -> &str {
        match self {
            NextAction::Otp { .. } => "otp",
            NextAction::Ussd { .. } => "ussd",
            NextAction::Redirection { .. } => "redirection",
            NextAction::Other { kind, .. } => kind,
        }
    }

    /// The message to show the payer.
    pub fn message(&self) -> Option<&str> {
        match self {
            NextAction::Otp { message, .. }
            | NextAction::Ussd { message, .. }
            | NextAction::Redirection { message, .. }
            | NextAction::Other { message, .. } => message.as_deref(),
        }
    }

    fn from_wire(wire: NextActionWire) -> Self {
        let NextActionWire {
            kind,
            message,
            data,
        } = wire;
        match kind.as_str() {
            "otp" => NextAction::Otp { message, data },
            "ussd" => {
                let code = data.get("code").and_then(Value::as_str).map(str::to_string);
                NextAction::Ussd {
                    message,
                    code,
                    data,
                }
            }
            "redirection" => match serde_json::from_value::<Redirection>(data.clone()) {
                Ok(redirection) => NextAction::Redirection {
                    message,
                    redirection,
                },
                Err(_) => NextAction::Other {
                    kind,
                    message,
                    data,
                },
            },
            _ => NextAction::Other {
                kind,
                message,
                data,
            },
        }
    }

    fn to_wire(&self) -> NextActionWire {
        let (message, data) = match self {
            NextAction::Otp { message, data } | NextAction::Ussd { message, data, .. } => {
                (message.clone(), data.clone())
            }
            NextAction::Redirection {
                message,
                redirection,
            } => (
                message.clone(),
                serde_json::to_value(redirection).unwrap_or(Value::Null),
            ),
            NextAction::Other { message, data, .. } => (message.clone(), data.clone()),
        };
        NextActionWire {
            kind: self.kind().to_string(),
            message,
            data,
        }
    }
}

impl Serialize for NextAction {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_wire().serialize(s)
    }
}

impl<'de> Deserialize<'de> for NextAction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        NextActionWire::deserialize(d).map(NextAction::from_wire)
    }
}

/// A registered webhook endpoint.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Webhook {
    /// Webhook id (for `DELETE /webhooks/{id}`).
    pub id: String,
    /// Where HUB2 posts.
    #[serde(default)]
    pub url: Option<String>,
    /// Subscribed event types.
    #[serde(default)]
    pub events: Vec<String>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The merchant's metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
    /// The signing secret: returned at creation. Keep it to verify `Hub2-Signature`. Never shown
    /// by `Debug` and never serialized.
    #[serde(default, deserialize_with = "secret_opt", skip_serializing)]
    pub secret: Option<SecretString>,
    /// Creation time.
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_at: Option<OffsetDateTime>,
}

impl fmt::Debug for Webhook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhook")
            .field("id", &self.id)
            .field("url", &self.url)
            .field("events", &self.events)
            .field("description", &self.description)
            .field("metadata", &self.metadata)
            .field("secret", &self.secret.as_ref().map(|_| "[REDACTED]"))
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// `GET /webhooks` answers either a JSON array or an object holding it under `data` (both shapes
/// are seen in integrations).
#[cfg(feature = "client")]
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum WebhookList {
    Bare(Vec<Webhook>),
    Wrapped { data: Vec<Webhook> },
}

#[cfg(feature = "client")]
impl WebhookList {
    pub(crate) fn into_vec(self) -> Vec<Webhook> {
        match self {
            WebhookList::Bare(list) | WebhookList::Wrapped { data: list } => list,
        }
    }
}

/// HUB2's error body. The format is not documented; integrations see NestJS-style bodies
/// (`{"statusCode":400,"message":"..."|["..."],"error":"Bad Request"}`), sometimes with a `code`.
#[derive(Debug, Clone, Default, Deserialize)]
pub(crate) struct ErrorBody {
    #[serde(default)]
    pub(crate) code: Option<Value>,
    #[serde(default)]
    pub(crate) message: Option<Value>,
    #[serde(default)]
    pub(crate) error: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Request bodies (built from the typed requests of `crate::request`)
// ---------------------------------------------------------------------------------------------

#[cfg(feature = "client")]
/// Body of `POST /payment-intents`.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreateIntentBody<'a> {
    pub(crate) customer_reference: &'a str,
    pub(crate) purchase_reference: &'a str,
    pub(crate) amount: i64,
    pub(crate) currency: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) override_business_name: Option<&'a str>,
}

/// How the payer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PaymentMethod {
    /// Mobile money (Orange Money, MTN MoMo, Moov, Wave, ...).
    MobileMoney,
    /// A bank card.
    CreditCard,
}

/// The `mobileMoney` object of an attempt. The redirection URLs belong inside it.
///
/// `Debug` masks the phone number (all but its last two digits) and never shows the one-time
/// code, which is a [`SecretString`] sent only in the attempt's body.
#[derive(Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct MobileMoney {
    /// The payer's phone number (digits, optionally a leading `+`).
    pub msisdn: String,
    /// An OTP generated beforehand, for providers that take it with the attempt (Orange): the
    /// payer's secret, never shown by `Debug`.
    #[serde(
        serialize_with = "expose_optional",
        skip_serializing_if = "Option::is_none"
    )]
    pub otp: Option<SecretString>,
    /// Where the payer returns after a success (redirection providers such as Wave).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_success_redirection_url: Option<String>,
    /// Where the payer returns after a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_failed_redirection_url: Option<String>,
    /// Where the payer returns after cancelling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_cancel_redirection_url: Option<String>,
    /// Where the payer returns in any case.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub on_finish_redirection_url: Option<String>,
}

/// Writes an optional secret's value: the one place an OTP leaves its [`SecretString`].
fn expose_optional<S: Serializer>(
    secret: &Option<SecretString>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    secret
        .as_ref()
        .map(ExposeSecret::expose_secret)
        .serialize(serializer)
}

/// A phone number for logs: a leading `+` and the last two characters kept, the rest `*` (all
/// of it for four characters or fewer).
pub fn mask_msisdn(msisdn: &str) -> String {
    let count = msisdn.chars().count();
    let keep_from = if count > 4 { count - 2 } else { count };
    msisdn
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if i >= keep_from || (i == 0 && c == '+') {
                c
            } else {
                '*'
            }
        })
        .collect()
}

impl fmt::Debug for MobileMoney {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MobileMoney")
            .field("msisdn", &mask_msisdn(&self.msisdn))
            .field("otp", &self.otp.as_ref().map(|_| "[REDACTED]"))
            .field(
                "on_success_redirection_url",
                &self.on_success_redirection_url,
            )
            .field("on_failed_redirection_url", &self.on_failed_redirection_url)
            .field("on_cancel_redirection_url", &self.on_cancel_redirection_url)
            .field("on_finish_redirection_url", &self.on_finish_redirection_url)
            .finish()
    }
}

impl PartialEq for MobileMoney {
    fn eq(&self, other: &Self) -> bool {
        self.msisdn == other.msisdn
            && self.otp.as_ref().map(ExposeSecret::expose_secret)
                == other.otp.as_ref().map(ExposeSecret::expose_secret)
            && self.on_success_redirection_url == other.on_success_redirection_url
            && self.on_failed_redirection_url == other.on_failed_redirection_url
            && self.on_cancel_redirection_url == other.on_cancel_redirection_url
            && self.on_finish_redirection_url == other.on_finish_redirection_url
    }
}

impl Eq for MobileMoney {}

#[cfg(feature = "client")]
/// Body of an attempt: the request plus the intent token.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AttemptBody<'a> {
    pub(crate) token: &'a str,
    pub(crate) payment_method: PaymentMethod,
    pub(crate) country: &'a str,
    pub(crate) provider: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mobile_money: Option<&'a MobileMoney>,
}

#[cfg(feature = "client")]
/// Body of `POST /payment-intents/{id}/authentication`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuthenticationBody<'a> {
    pub(crate) token: &'a str,
    pub(crate) confirmation_code: &'a str,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn statuses_round_trip_and_unknown_values_are_kept() {
        for s in IntentStatus::DOCUMENTED {
            assert_eq!(&IntentStatus::parse(s.as_str()), s);
        }
        for s in Hub2PaymentStatus::DOCUMENTED {
            assert_eq!(&Hub2PaymentStatus::parse(s.as_str()), s);
        }
        assert_eq!(
            IntentStatus::parse("Successful"),
            IntentStatus::Other("Successful".into())
        );
        assert!(IntentStatus::Processing.is_pollable());
        assert!(IntentStatus::ActionRequired.is_pollable());
        for s in [
            IntentStatus::PaymentRequired,
            IntentStatus::Successful,
            IntentStatus::Failed,
            IntentStatus::Canceled,
            IntentStatus::Other("x".into()),
        ] {
            assert!(!s.is_pollable(), "{s}");
        }
    }

    #[test]
    fn next_actions_are_typed_and_unknown_ones_kept() {
        let otp: NextAction =
            serde_json::from_value(json!({"type":"otp","message":"Entrez le code"})).unwrap();
        assert_eq!(otp.kind(), "otp");
        assert_eq!(otp.message(), Some("Entrez le code"));
        let ussd: NextAction = serde_json::from_value(
            json!({"type":"ussd","message":"Composez #144#","data":{"code":"#144*82#"}}),
        )
        .unwrap();
        assert!(matches!(&ussd, NextAction::Ussd { code: Some(c), .. } if c == "#144*82#"));
        let redirection: NextAction = serde_json::from_value(json!({"type":"redirection","message":"mm_wave_live.redirection","data":{"url":"https://pay.wave.com/c/cos-1","method":"get","headers":{},"data":{}}})).unwrap();
        let NextAction::Redirection { redirection: r, .. } = &redirection else {
            panic!("{redirection:?}")
        };
        assert_eq!(r.url, "https://pay.wave.com/c/cos-1");
        assert!(!r.is_post());
        let unknown: NextAction =
            serde_json::from_value(json!({"type":"qr_code","message":"Scan","data":{"qr":"abc"}}))
                .unwrap();
        assert_eq!(
            unknown,
            NextAction::Other {
                kind: "qr_code".into(),
                message: Some("Scan".into()),
                data: json!({"qr":"abc"})
            }
        );
        // A redirection without a URL is kept, not dropped.
        let broken: NextAction =
            serde_json::from_value(json!({"type":"redirection","data":{"method":"get"}})).unwrap();
        assert_eq!(broken.kind(), "redirection");
        assert!(matches!(broken, NextAction::Other { .. }));
        // No `type` at all: kept, and the intent around it still decodes.
        let untyped: NextAction = serde_json::from_value(json!({"message":"Patientez"})).unwrap();
        assert!(matches!(&untyped, NextAction::Other { kind, .. } if kind.is_empty()));
        assert_eq!(untyped.message(), Some("Patientez"));
        // Round trip to the wire form.
        for action in [otp, ussd, redirection, unknown] {
            let back: NextAction =
                serde_json::from_value(serde_json::to_value(&action).unwrap()).unwrap();
            assert_eq!(back, action);
        }
    }

    #[test]
    fn fees_are_exact_minor_units() {
        let fee: Fee = serde_json::from_str(r#"{"amount":3,"rate":1.5}"#).unwrap();
        assert_eq!(
            fee.money("XOF").unwrap(),
            Money::from_minor(3, Currency::XOF)
        );
        assert_eq!(fee.rate.unwrap().to_string(), "1.5");
        let fraction: Fee = serde_json::from_str(r#"{"amount":3.5}"#).unwrap();
        assert!(
            fraction.money("XOF").is_err(),
            "half a franc is not rounded"
        );
        let cents: Fee = serde_json::from_str(r#"{"amount":150,"currency":"EUR"}"#).unwrap();
        assert_eq!(
            cents.money("XOF").unwrap(),
            Money::from_minor(150, Currency::EUR)
        );
    }

    #[test]
    fn secrets_are_neither_debugged_nor_serialized() {
        let intent: PaymentIntent = serde_json::from_value(json!({
            "id":"pi_1","status":"payment_required","amount":200,"currency":"XOF",
            "token":"eyJhbGciOiJIUzI1NiJ9.SECRET_CLAIMS.sig"
        }))
        .unwrap();
        assert!(!format!("{intent:?}").contains("SECRET_CLAIMS"));
        assert!(
            !serde_json::to_string(&intent)
                .unwrap()
                .contains("SECRET_CLAIMS")
        );
        let hook: Webhook =
            serde_json::from_value(json!({"id":"wh_1","secret":"whsec_SECRET"})).unwrap();
        assert!(!format!("{hook:?}").contains("whsec_SECRET"));
        assert!(
            !serde_json::to_string(&hook)
                .unwrap()
                .contains("whsec_SECRET")
        );
    }
}
