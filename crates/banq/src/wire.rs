//! Banq's JSON, read tolerantly.
//!
//! Banq publishes its request bodies but not the field names of its answers. Each answer is
//! therefore read by looking for the documented or likely names in order, and the full JSON is
//! kept in `raw` for anything else:
//!
//! | value | names tried (exact, then case-insensitively) |
//! |---|---|
//! | payment link | `link`, `url`, `paymentLink`, `paidLink`, `href` (a string, or an object with `href`/`url`); a bare JSON string or a plain-text URL body |
//! | payment id | `id`, `guid`, `paymentId`, `paymentGuid` (string or integer) |
//! | status | `status`, `paymentStatus`, `state` (a string, or an object with `name`/`value`/`code`) |
//! | amount | `funds`, `amount` (a JSON number or a decimal string, read exactly; or an object with `value`/`amount`); the first name present must hold one, or the answer is a decode error naming it |
//! | order code | `externalOrderCode`, `orderCode`, `externalId` |
//! | failure reason | `failureReason`, `reason`, `errorCode` |
//! | created | `createdAt`, `created`, `createdDate`, `dateCreated` (RFC 3339) |
//!
//! An answer wrapped in a `{"data": {...}}` envelope is unwrapped when the names are not found at
//! the top level. A payment link that is missing or not an http(s) URL, and a payment without a
//! status, are decode errors: never an empty string, never a guessed status.

use std::collections::HashMap;
use std::fmt;

use payments_core::Decimal;
use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Names tried for a payment link.
pub const LINK_FIELDS: &[&str] = &["link", "url", "paymentLink", "paidLink", "href"];
/// Names tried for an id.
pub const ID_FIELDS: &[&str] = &["id", "guid", "paymentId", "paymentGuid"];
/// Names tried for a status.
pub const STATUS_FIELDS: &[&str] = &["status", "paymentStatus", "state"];
/// Names tried for an amount.
pub const FUNDS_FIELDS: &[&str] = &["funds", "amount"];
/// Names tried for the merchant's order code.
pub const ORDER_FIELDS: &[&str] = &["externalOrderCode", "orderCode", "externalId"];
/// Names tried for a failure reason.
pub const REASON_FIELDS: &[&str] = &["failureReason", "reason", "errorCode"];
/// Names tried for the creation time.
pub const CREATED_FIELDS: &[&str] = &["createdAt", "created", "createdDate", "dateCreated"];

/// A Banq payment status, compared case-insensitively.
///
/// Banq does not publish its payment statuses; these are the ones its documentation and
/// webhooks use (`completed` is the action of the event that triggers the fetch-back).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BanqStatus {
    /// `pending`: created, not paid.
    Pending,
    /// `processing`: the payer paid; the transfer is under way.
    Processing,
    /// `completed`: paid.
    Completed,
    /// `failed`.
    Failed,
    /// `cancelled` (or the US spelling `canceled`).
    Cancelled,
    /// Any other value, kept verbatim. Never success.
    Other(String),
}

impl BanqStatus {
    /// Every known value, in flow order, with its canonical wire spelling.
    pub const DOCUMENTED: &'static [BanqStatus] = &[
        BanqStatus::Pending,
        BanqStatus::Processing,
        BanqStatus::Completed,
        BanqStatus::Failed,
        BanqStatus::Cancelled,
    ];

    /// Other spellings accepted for a known value.
    pub const ALIASES: &'static [(&'static str, BanqStatus)] =
        &[("canceled", BanqStatus::Cancelled)];

    /// The canonical lowercase value (the raw value for [`BanqStatus::Other`]).
    pub fn as_str(&self) -> &str {
        match self {
            BanqStatus::Pending => "pending",
            BanqStatus::Processing => "processing",
            BanqStatus::Completed => "completed",
            BanqStatus::Failed => "failed",
            BanqStatus::Cancelled => "cancelled",
            BanqStatus::Other(raw) => raw,
        }
    }

    /// Reads a wire value, ignoring case and surrounding spaces; anything else is
    /// [`BanqStatus::Other`] with the value verbatim.
    pub fn parse(raw: &str) -> Self {
        let value = raw.trim();
        Self::DOCUMENTED
            .iter()
            .find(|s| s.as_str().eq_ignore_ascii_case(value))
            .or_else(|| {
                Self::ALIASES
                    .iter()
                    .find(|(alias, _)| alias.eq_ignore_ascii_case(value))
                    .map(|(_, s)| s)
            })
            .cloned()
            .unwrap_or_else(|| BanqStatus::Other(raw.to_string()))
    }
}

impl fmt::Display for BanqStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for BanqStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// Why a Banq transaction failed (the reasons named in Banq's documentation).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FailureReason {
    /// `PlaidBalanceCheckFailed`.
    PlaidBalanceCheckFailed,
    /// `InsufficientBalance`.
    InsufficientBalance,
    /// `TierPlanLimits`.
    TierPlanLimits,
    /// `BlacklistedFingerprint`.
    BlacklistedFingerprint,
    /// `IsaBalanceIsInsufficient`.
    IsaBalanceIsInsufficient,
    /// `PlaidRequiresReAuthentication`.
    PlaidRequiresReAuthentication,
    /// `CustodialAccountContactIsNotApproved`.
    CustodialAccountContactIsNotApproved,
    /// Any other value, verbatim.
    Other(String),
}

impl FailureReason {
    /// Every documented reason.
    pub const DOCUMENTED: &'static [FailureReason] = &[
        FailureReason::PlaidBalanceCheckFailed,
        FailureReason::InsufficientBalance,
        FailureReason::TierPlanLimits,
        FailureReason::BlacklistedFingerprint,
        FailureReason::IsaBalanceIsInsufficient,
        FailureReason::PlaidRequiresReAuthentication,
        FailureReason::CustodialAccountContactIsNotApproved,
    ];

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            FailureReason::PlaidBalanceCheckFailed => "PlaidBalanceCheckFailed",
            FailureReason::InsufficientBalance => "InsufficientBalance",
            FailureReason::TierPlanLimits => "TierPlanLimits",
            FailureReason::BlacklistedFingerprint => "BlacklistedFingerprint",
            FailureReason::IsaBalanceIsInsufficient => "IsaBalanceIsInsufficient",
            FailureReason::PlaidRequiresReAuthentication => "PlaidRequiresReAuthentication",
            FailureReason::CustodialAccountContactIsNotApproved => {
                "CustodialAccountContactIsNotApproved"
            }
            FailureReason::Other(raw) => raw,
        }
    }

    /// Reads a wire value (case-insensitively); anything else is [`FailureReason::Other`].
    pub fn parse(raw: &str) -> Self {
        Self::DOCUMENTED
            .iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw.trim()))
            .cloned()
            .unwrap_or_else(|| FailureReason::Other(raw.to_string()))
    }
}

impl Serialize for FailureReason {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

fn decimal_as_string<S: Serializer>(value: &Option<Decimal>, s: S) -> Result<S::Ok, S::Error> {
    match value {
        Some(d) => s.serialize_some(&d.to_string()),
        None => s.serialize_none(),
    }
}

fn time_as_rfc3339<S: Serializer>(value: &Option<OffsetDateTime>, s: S) -> Result<S::Ok, S::Error> {
    match value.map(|t| t.format(&Rfc3339)) {
        Some(Ok(text)) => s.serialize_some(&text),
        Some(Err(e)) => Err(serde::ser::Error::custom(e)),
        None => s.serialize_none(),
    }
}

/// The answer to `POST /payments/get-paid-link`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct PaymentLink {
    /// The link to send the payer to (`https://link.banq.com/...`).
    pub url: String,
    /// The payment's id, when the answer names one.
    pub id: Option<String>,
    /// The payment's status, when the answer has one.
    pub status: Option<BanqStatus>,
    /// The answer as received (numbers in it are not exact; use the typed fields for money).
    pub raw: Value,
}

/// A payment as `GET /payments/{id}` reports it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BanqPayment {
    /// The payment's id, when the answer names one.
    pub id: Option<String>,
    /// The status.
    pub status: BanqStatus,
    /// The status verbatim.
    pub raw_status: String,
    /// The amount in major units, exact.
    #[serde(serialize_with = "decimal_as_string")]
    pub funds: Option<Decimal>,
    /// The merchant's order code.
    pub external_order_code: Option<String>,
    /// The comment shown to the payer.
    pub comment: Option<String>,
    /// The frequency (`once` or a period).
    pub frequency: Option<String>,
    /// Why it failed, when it did and Banq says.
    pub failure_reason: Option<FailureReason>,
    /// When it was created.
    #[serde(serialize_with = "time_as_rfc3339")]
    pub created_at: Option<OffsetDateTime>,
    /// The answer as received (numbers in it are not exact; use the typed fields for money).
    pub raw: Value,
    /// Every id the answer names (the values of all of [`ID_FIELDS`] present).
    #[serde(skip)]
    ids: Vec<String>,
}

impl BanqPayment {
    /// Every id the answer names, under any of [`ID_FIELDS`] (`id` may be a number while `guid`
    /// is the id the webhook used).
    pub fn ids(&self) -> &[String] {
        &self.ids
    }

    /// True when this answer is about payment `payment_id`: one of its ids is exactly
    /// `payment_id`, or it names no id at all (Banq's field names are not published). False
    /// when it names ids and none is `payment_id`: the answer is about another payment.
    pub fn answers_for(&self, payment_id: &str) -> bool {
        self.ids.is_empty() || self.ids.iter().any(|id| id == payment_id)
    }
}

/// An account space of the merchant user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct AccountSpace {
    /// Its id (what `webhook-config` takes).
    pub id: String,
    /// Its name, when given.
    pub name: Option<String>,
    /// The object as received.
    pub raw: Value,
}

/// A banq account of the merchant user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BanqAccount {
    /// The account's banq guid (`guid` or `banqGuid`), the `destination.banqGuid` of payment links.
    pub guid: Option<String>,
    /// Its id, when distinct from the guid.
    pub id: Option<String>,
    /// The account space it belongs to (`accountSpaceId`, or the account space it is listed in).
    pub account_space_id: Option<String>,
    /// Its name, when given.
    pub name: Option<String>,
    /// The object as received.
    pub raw: Value,
}

impl BanqAccount {
    /// True when `guid` is this account's guid or id.
    pub fn is(&self, guid: &str) -> bool {
        self.guid.as_deref() == Some(guid) || self.id.as_deref() == Some(guid)
    }
}

/// `GET /users/me?include=accountSpaces,banqAccounts`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct BanqUser {
    /// The user's id.
    pub id: Option<String>,
    /// The user's e-mail address.
    pub email: Option<String>,
    /// The account spaces listed.
    pub account_spaces: Vec<AccountSpace>,
    /// The banq accounts listed, at the top level or inside an account space.
    pub banq_accounts: Vec<BanqAccount>,
    /// The answer as received.
    pub raw: Value,
}

impl BanqUser {
    /// The id of the account space that holds the banq account `banq_guid`.
    ///
    /// Looks at the typed accounts first, then anywhere in the raw answer for an object whose
    /// `guid`/`banqGuid`/`id` is `banq_guid` and that has an `accountSpaceId` (or sits in an
    /// `accountSpaces` entry).
    pub fn account_space_id_for(&self, banq_guid: &str) -> Option<String> {
        if banq_guid.is_empty() {
            return None;
        }
        self.banq_accounts
            .iter()
            .filter(|a| a.is(banq_guid))
            .find_map(|a| a.account_space_id.clone())
            .or_else(|| find_account_space(&self.raw, banq_guid, None, 0))
    }
}

/// The answer to `POST /account-spaces/{id}/webhook-config` (possibly empty).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct WebhookConfig {
    /// The configuration's id, when given.
    pub id: Option<String>,
    /// The URL Banq will post to, when echoed.
    pub url: Option<String>,
    /// Whether deliveries are on, when echoed.
    pub enabled: Option<bool>,
    /// The answer as received (`null` for an empty body).
    pub raw: Value,
}

// ------------------------------------------------------------------ parsing

/// A JSON object with its values kept as raw text (so numbers stay exact).
struct Object(HashMap<String, Box<RawValue>>);

impl Object {
    fn parse(text: &str) -> Result<Self, String> {
        serde_json::from_str::<HashMap<String, Box<RawValue>>>(text)
            .map(Object)
            .map_err(|e| {
                format!(
                    "expected a JSON object: {}",
                    payments_core::provider_support::describe_json_error(&e)
                )
            })
    }

    /// The object, or its `data` member when none of `names` is at the top level.
    fn unwrap_envelope(self, names: &[&str]) -> Self {
        if names.iter().any(|n| self.get(n).is_some()) {
            return self;
        }
        match self
            .get("data")
            .filter(|raw| raw.get().trim_start().starts_with('{'))
            .map(|raw| Object::parse(raw.get()))
        {
            Some(Ok(inner)) => inner,
            _ => self,
        }
    }

    /// The raw value of `name`: exact match first, then case-insensitive; `null` counts as absent.
    fn get(&self, name: &str) -> Option<&RawValue> {
        let found = self.0.get(name).or_else(|| {
            self.0
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v)
        })?;
        (found.get().trim() != "null").then_some(&**found)
    }

    fn first<T>(&self, names: &[&str], read: impl Fn(&RawValue) -> Option<T>) -> Option<T> {
        names.iter().filter_map(|n| self.get(n)).find_map(read)
    }
}

/// A non-empty string, or an integer as text.
fn id_value(raw: &RawValue) -> Option<String> {
    match serde_json::from_str::<Value>(raw.get()).ok()? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn string_value(raw: &RawValue) -> Option<String> {
    match serde_json::from_str::<Value>(raw.get()).ok()? {
        Value::String(s) if !s.trim().is_empty() => Some(s),
        _ => None,
    }
}

/// A status: a string, or an object naming it.
fn status_value(raw: &RawValue) -> Option<String> {
    string_value(raw).or_else(|| {
        let inner = Object::parse(raw.get()).ok()?;
        inner.first(&["name", "value", "code"], string_value)
    })
}

/// An exact decimal from a number or a decimal string, or from an object holding one.
fn decimal_value(raw: &RawValue) -> Option<Decimal> {
    serde_json::from_str::<Decimal>(raw.get()).ok().or_else(|| {
        let inner = Object::parse(raw.get()).ok()?;
        inner.first(&["value", "amount"], |r| {
            serde_json::from_str::<Decimal>(r.get()).ok()
        })
    })
}

/// The amount under the first of [`FUNDS_FIELDS`] present: absent is `None`, present but not an
/// exact decimal (`"100,10"`, an object without `value`/`amount`) is an error naming the field,
/// never a silently missing amount.
fn funds_value(object: &Object) -> Result<Option<Decimal>, String> {
    let Some((name, raw)) = FUNDS_FIELDS
        .iter()
        .find_map(|name| object.get(name).map(|raw| (*name, raw)))
    else {
        return Ok(None);
    };
    decimal_value(raw)
        .map(Some)
        .ok_or_else(|| format!("{name} is not an exact decimal amount"))
}

fn time_value(raw: &RawValue) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(&string_value(raw)?, &Rfc3339).ok()
}

/// An absolute http(s) URL with a host and no whitespace.
fn is_link(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    let rest = if lower.starts_with("https://") {
        text.get(8..)
    } else if lower.starts_with("http://") {
        text.get(7..)
    } else {
        None
    };
    rest.is_some_and(|r| {
        !r.is_empty()
            && !r.starts_with(['/', '?', '#'])
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
    })
}

fn link_value(raw: &RawValue) -> Option<String> {
    string_value(raw).filter(|s| is_link(s)).or_else(|| {
        let inner = Object::parse(raw.get()).ok()?;
        inner.first(&["href", "url", "link"], |r| {
            string_value(r).filter(|s| is_link(s))
        })
    })
}

fn raw_json(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or(Value::Null)
}

/// Reads the answer to `get-paid-link`. `Err` holds the reason for a decode error.
pub fn parse_payment_link(body: &[u8]) -> Result<PaymentLink, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_string())?;
    let trimmed = text.trim();
    // A bare JSON string, or a plain-text URL.
    if let Ok(link) = serde_json::from_str::<String>(trimmed)
        && is_link(&link)
    {
        return Ok(PaymentLink {
            url: link,
            id: None,
            status: None,
            raw: raw_json(body),
        });
    }
    if is_link(trimmed) {
        return Ok(PaymentLink {
            url: trimmed.to_string(),
            id: None,
            status: None,
            raw: Value::String(trimmed.to_string()),
        });
    }
    let object = Object::parse(trimmed)?.unwrap_envelope(LINK_FIELDS);
    let url = object.first(LINK_FIELDS, link_value).ok_or_else(|| {
        format!(
            "the answer has no payment link (an http(s) URL under one of {})",
            LINK_FIELDS.join(", ")
        )
    })?;
    Ok(PaymentLink {
        url,
        id: object.first(ID_FIELDS, id_value),
        status: object
            .first(STATUS_FIELDS, status_value)
            .map(|s| BanqStatus::parse(&s)),
        raw: raw_json(body),
    })
}

/// Reads the answer to `GET /payments/{id}`. `Err` holds the reason for a decode error.
pub fn parse_payment(body: &[u8]) -> Result<BanqPayment, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the answer is not UTF-8".to_string())?;
    let object = Object::parse(text)?.unwrap_envelope(STATUS_FIELDS);
    let raw_status = object.first(STATUS_FIELDS, status_value).ok_or_else(|| {
        format!(
            "the answer has no payment status (looked for {})",
            STATUS_FIELDS.join(", ")
        )
    })?;
    Ok(BanqPayment {
        id: object.first(ID_FIELDS, id_value),
        status: BanqStatus::parse(&raw_status),
        raw_status,
        funds: funds_value(&object)?,
        external_order_code: object.first(ORDER_FIELDS, id_value),
        comment: object.first(&["comment", "description"], string_value),
        frequency: object.first(&["frequency"], string_value),
        failure_reason: object
            .first(REASON_FIELDS, string_value)
            .map(|r| FailureReason::parse(&r)),
        created_at: object.first(CREATED_FIELDS, time_value),
        raw: raw_json(body),
        ids: ID_FIELDS
            .iter()
            .filter_map(|n| object.get(n))
            .filter_map(id_value)
            .collect(),
    })
}

fn value_id(v: &Value, names: &[&str]) -> Option<String> {
    let map = v.as_object()?;
    names.iter().find_map(|n| match map.get(*n)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    })
}

fn value_str(v: &Value, names: &[&str]) -> Option<String> {
    let map = v.as_object()?;
    names
        .iter()
        .find_map(|n| map.get(*n)?.as_str().map(str::to_string))
}

fn banq_account(v: &Value, space: Option<&str>) -> BanqAccount {
    BanqAccount {
        guid: value_id(v, &["guid", "banqGuid"]),
        id: value_id(v, &["id"]),
        account_space_id: value_id(v, &["accountSpaceId"]).or_else(|| space.map(str::to_string)),
        name: value_str(v, &["name", "title", "displayName"]),
        raw: v.clone(),
    }
}

/// Reads the answer to `users/me`. `Err` holds the reason for a decode error.
pub fn parse_user(body: &[u8]) -> Result<BanqUser, String> {
    let raw: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "expected a JSON object: {}",
            payments_core::provider_support::describe_json_error(&e)
        )
    })?;
    let mut user = &raw;
    if !raw.is_object() {
        return Err("expected a JSON object".into());
    }
    if raw.get("accountSpaces").is_none()
        && raw.get("banqAccounts").is_none()
        && let Some(data) = raw.get("data").filter(|d| d.is_object())
    {
        user = data;
    }
    let list = |v: &Value, name: &str| -> Vec<Value> {
        v.get(name)
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    };
    let mut account_spaces = Vec::new();
    let mut banq_accounts: Vec<BanqAccount> = list(user, "banqAccounts")
        .iter()
        .filter(|a| a.is_object())
        .map(|a| banq_account(a, None))
        .collect();
    for space in list(user, "accountSpaces") {
        let Some(id) = value_id(&space, &["id", "accountSpaceId", "guid"]) else {
            continue;
        };
        for account in list(&space, "banqAccounts") {
            if account.is_object() {
                banq_accounts.push(banq_account(&account, Some(&id)));
            }
        }
        account_spaces.push(AccountSpace {
            name: value_str(&space, &["name", "title"]),
            id,
            raw: space,
        });
    }
    Ok(BanqUser {
        id: value_id(user, &["id", "guid", "userId"]),
        email: value_str(user, &["email"]),
        account_spaces,
        banq_accounts,
        raw,
    })
}

/// Deepest nesting searched by [`BanqUser::account_space_id_for`].
const MAX_DEPTH: usize = 16;

fn find_account_space(v: &Value, guid: &str, space: Option<&str>, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    match v {
        Value::Object(map) => {
            let names_it = ["guid", "banqGuid", "id"]
                .iter()
                .any(|n| map.get(*n).and_then(Value::as_str) == Some(guid));
            if names_it {
                if let Some(id) = value_id(v, &["accountSpaceId"]) {
                    return Some(id);
                }
                if let Some(space) = space {
                    return Some(space.to_string());
                }
            }
            map.iter().find_map(|(key, child)| {
                if key == "accountSpaces" {
                    child.as_array()?.iter().find_map(|s| {
                        let id = value_id(s, &["id", "accountSpaceId"]);
                        find_account_space(s, guid, id.as_deref(), depth + 1)
                    })
                } else {
                    find_account_space(child, guid, space, depth + 1)
                }
            })
        }
        Value::Array(items) => items
            .iter()
            .find_map(|i| find_account_space(i, guid, space, depth + 1)),
        _ => None,
    }
}

/// Reads the answer to `webhook-config` (an empty body is accepted).
pub fn parse_webhook_config(body: &[u8]) -> Result<WebhookConfig, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(WebhookConfig {
            id: None,
            url: None,
            enabled: None,
            raw: Value::Null,
        });
    }
    let raw: Value = serde_json::from_slice(body).map_err(|e| {
        format!(
            "expected JSON: {}",
            payments_core::provider_support::describe_json_error(&e)
        )
    })?;
    let inner = match raw.get("data") {
        Some(d) if d.is_object() && raw.get("url").is_none() => d,
        _ => &raw,
    };
    Ok(WebhookConfig {
        id: value_id(inner, &["id", "guid"]),
        url: value_str(inner, &["url"]),
        enabled: inner.get("enabled").and_then(Value::as_bool),
        raw,
    })
}

/// The error body of a Banq answer, read tolerantly.
#[derive(Debug, Default)]
pub(crate) struct ErrorFields {
    pub(crate) code: Option<String>,
    pub(crate) message: Option<String>,
    pub(crate) trace_id: Option<String>,
}

/// Reads a Banq error body: `code`/`errorCode`/`error` (a string, or an object with
/// `code`/`message`), `message`/`error_description`/`detail`/`title`, the first entry of an
/// `errors` array, and `traceId`/`requestId`/`correlationId`.
pub(crate) fn parse_error(body: &[u8]) -> ErrorFields {
    let Ok(text) = std::str::from_utf8(body) else {
        return ErrorFields::default();
    };
    let Ok(object) = Object::parse(text) else {
        return ErrorFields::default();
    };
    let mut out = ErrorFields {
        code: object.first(&["code", "errorCode", "error", "type"], |r| {
            string_value(r).or_else(|| id_value(r))
        }),
        message: object.first(
            &[
                "message",
                "error_description",
                "errorMessage",
                "detail",
                "title",
            ],
            string_value,
        ),
        trace_id: object.first(
            &["traceId", "requestId", "correlationId", "trace_id"],
            id_value,
        ),
    };
    // `{"error": {"code": ..., "message": ...}}` and `{"errors": [{...}]}`.
    let nested = object
        .get("error")
        .and_then(|r| Object::parse(r.get()).ok())
        .or_else(|| {
            let list =
                serde_json::from_str::<Vec<Box<RawValue>>>(object.get("errors")?.get()).ok()?;
            Object::parse(list.first()?.get()).ok()
        });
    if let Some(inner) = nested {
        if out.code.is_none() {
            out.code = inner.first(&["code", "errorCode", "type"], id_value);
        }
        if out.message.is_none() {
            out.message = inner.first(&["message", "detail", "title"], string_value);
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Request bodies (built from the typed requests of `crate::request`)
// ---------------------------------------------------------------------------------------------

/// Body of `POST /payments/get-paid-link`, in Banq's documented field order. `funds` is the
/// exact major-unit decimal as a JSON number (100 USD is `100`, 10.50 USD is `10.5`).
#[cfg(feature = "client")]
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PaymentLinkBody<'a> {
    pub(crate) destination: Destination<'a>,
    pub(crate) comment: &'a str,
    pub(crate) funds: Decimal,
    pub(crate) external_order_code: &'a str,
    /// `once`, or the recurring period.
    pub(crate) frequency: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) start_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) end_date: Option<String>,
}

/// `destination` of a payment link.
#[cfg(feature = "client")]
#[derive(Debug, Serialize)]
pub(crate) struct Destination<'a> {
    #[serde(rename = "banqGuid")]
    pub(crate) banq_guid: &'a str,
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn statuses_parse_case_insensitively_and_unknown_stays_unknown() {
        assert_eq!(BanqStatus::parse("Completed"), BanqStatus::Completed);
        assert_eq!(BanqStatus::parse(" PENDING "), BanqStatus::Pending);
        assert_eq!(BanqStatus::parse("canceled"), BanqStatus::Cancelled);
        assert_eq!(
            BanqStatus::parse("CompletedPartially"),
            BanqStatus::Other("CompletedPartially".into())
        );
        assert_eq!(BanqStatus::parse(""), BanqStatus::Other(String::new()));
        for s in BanqStatus::DOCUMENTED {
            assert_eq!(&BanqStatus::parse(s.as_str()), s);
        }
    }

    #[test]
    fn failure_reasons_round_trip() {
        for r in FailureReason::DOCUMENTED {
            assert_eq!(&FailureReason::parse(r.as_str()), r);
        }
        assert_eq!(
            FailureReason::parse("insufficientbalance"),
            FailureReason::InsufficientBalance
        );
        assert_eq!(
            FailureReason::parse("Nope"),
            FailureReason::Other("Nope".into())
        );
    }

    #[test]
    fn the_link_is_found_under_every_accepted_name_and_shape() {
        let url = "https://link.banq.com/4x1t09WiOjb";
        for body in [
            format!(r#"{{"link":"{url}","id":"p-1"}}"#),
            format!(r#"{{"url":"{url}","guid":"p-1"}}"#),
            format!(r#"{{"paymentLink":"{url}","paymentId":"p-1"}}"#),
            format!(r#"{{"PaymentLink":"{url}","ID":"p-1"}}"#),
            format!(r#"{{"link":{{"href":"{url}"}},"id":"p-1"}}"#),
            format!(r#"{{"data":{{"link":"{url}","id":"p-1"}}}}"#),
        ] {
            let link = parse_payment_link(body.as_bytes()).unwrap();
            assert_eq!(link.url, url, "{body}");
            assert_eq!(link.id.as_deref(), Some("p-1"), "{body}");
        }
        for body in [format!(r#""{url}""#), url.to_string(), format!("  {url}\n")] {
            let link = parse_payment_link(body.as_bytes()).unwrap();
            assert_eq!(link.url, url);
            assert_eq!(link.id, None);
        }
        let numeric = parse_payment_link(br#"{"url":"https://l.example/x","id":42}"#).unwrap();
        assert_eq!(numeric.id.as_deref(), Some("42"));
    }

    #[test]
    fn a_missing_or_bogus_link_is_an_error_not_an_empty_string() {
        for body in [
            &br#"{"id":"p-1"}"#[..],
            br#"{"link":""}"#,
            br#"{"link":null,"url":"  "}"#,
            br#"{"link":"javascript:alert(1)"}"#,
            br#"{"link":"https://"}"#,
            br#"{"link":"https://a b"}"#,
            br#"{"link":17}"#,
            br#"[]"#,
            b"",
            b"<html>oops</html>",
            &[0xff, 0xfe],
        ] {
            let err = parse_payment_link(body).unwrap_err();
            assert!(!err.is_empty());
        }
    }

    #[test]
    fn payments_read_exact_funds_and_keep_unknown_statuses() {
        let p = parse_payment(
            br#"{"id":"p-1","status":"Completed","funds":100.10,"externalOrderCode":"o-1",
                "createdAt":"2021-06-15T10:00:00Z","failureReason":null}"#,
        )
        .unwrap();
        assert_eq!(p.status, BanqStatus::Completed);
        assert_eq!(p.raw_status, "Completed");
        assert_eq!(p.funds, Some(Decimal::parse("100.10").unwrap()));
        assert_eq!(p.funds.unwrap().to_string(), "100.10");
        assert_eq!(p.external_order_code.as_deref(), Some("o-1"));
        assert!(p.created_at.is_some());
        assert_eq!(p.failure_reason, None);

        let p = parse_payment(br#"{"data":{"guid":"g","paymentStatus":{"name":"Failed"},"amount":"7.5","failureReason":"InsufficientBalance"}}"#).unwrap();
        assert_eq!(p.status, BanqStatus::Failed);
        assert_eq!(p.id.as_deref(), Some("g"));
        assert_eq!(p.funds, Some(Decimal::parse("7.5").unwrap()));
        assert_eq!(p.failure_reason, Some(FailureReason::InsufficientBalance));

        let p = parse_payment(br#"{"status":"half-paid","amount":{"value":3,"currency":"USD"}}"#)
            .unwrap();
        assert_eq!(p.status, BanqStatus::Other("half-paid".into()));
        assert_eq!(p.funds, Some(Decimal::parse("3").unwrap()));
    }

    #[test]
    fn an_amount_field_that_holds_no_exact_decimal_is_an_error_naming_it() {
        for (body, field) in [
            (&br#"{"status":"pending","funds":"100,10"}"#[..], "funds"),
            (br#"{"status":"pending","funds":true}"#, "funds"),
            (
                br#"{"status":"pending","amount":{"currency":"USD"}}"#,
                "amount",
            ),
            (br#"{"status":"pending","funds":"12.5","amount":3}"#, ""),
        ] {
            match parse_payment(body) {
                Err(reason) => assert_eq!(
                    reason,
                    format!("{field} is not an exact decimal amount"),
                    "{}",
                    String::from_utf8_lossy(body)
                ),
                Ok(p) => {
                    assert!(field.is_empty(), "{}", String::from_utf8_lossy(body));
                    assert_eq!(p.funds, Some(Decimal::parse("12.5").unwrap()));
                }
            }
        }
        let p = parse_payment(br#"{"status":"pending","funds":null}"#).unwrap();
        assert_eq!(p.funds, None, "null is absent");
    }

    #[test]
    fn a_payment_knows_which_ids_it_answers_for() {
        let p = parse_payment(br#"{"id":7,"guid":"G-1","status":"completed"}"#).unwrap();
        assert_eq!(p.ids(), ["7", "G-1"]);
        assert!(p.answers_for("G-1") && p.answers_for("7"));
        assert!(!p.answers_for("g-1"), "exact, not case-insensitive");
        assert!(!p.answers_for("G-2"));
        let p = parse_payment(br#"{"data":{"paymentId":"P","status":"pending"}}"#).unwrap();
        assert!(p.answers_for("P") && !p.answers_for("Q"));
        let p = parse_payment(br#"{"status":"pending"}"#).unwrap();
        assert!(p.ids().is_empty() && p.answers_for("anything"));
    }

    #[test]
    fn a_payment_without_status_is_an_error() {
        for body in [
            &br#"{"id":"p-1"}"#[..],
            br#"{"status":null}"#,
            br#"{"status":""}"#,
            br#"{"status":5}"#,
            br#"null"#,
            br#""completed""#,
        ] {
            assert!(
                parse_payment(body).is_err(),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn users_me_finds_the_account_space_in_every_shape() {
        // Accounts listed at the top level with their space id.
        let u = parse_user(
            br#"{"id":7,"email":"m@shop.example","accountSpaces":[{"id":"as-1","name":"Shop"}],
                "banqAccounts":[{"guid":"BQ-1","accountSpaceId":"as-1"},{"guid":"BQ-2","accountSpaceId":"as-2"}]}"#,
        )
        .unwrap();
        assert_eq!(u.id.as_deref(), Some("7"));
        assert_eq!(u.account_spaces.len(), 1);
        assert_eq!(u.account_space_id_for("BQ-2").as_deref(), Some("as-2"));
        assert_eq!(u.account_space_id_for("BQ-3"), None);
        assert_eq!(u.account_space_id_for(""), None);
        // Accounts nested inside their space.
        let u = parse_user(
            br#"{"data":{"accountSpaces":[{"id":11,"banqAccounts":[{"banqGuid":"BQ-9"}]}]}}"#,
        )
        .unwrap();
        assert_eq!(u.account_space_id_for("BQ-9").as_deref(), Some("11"));
        assert_eq!(u.banq_accounts.len(), 1);
        // Somewhere unforeseen: found in the raw answer.
        let u = parse_user(
            br#"{"user":{"included":[{"type":"banqAccount","id":"BQ-5","accountSpaceId":"as-5"}]}}"#,
        )
        .unwrap();
        assert_eq!(u.account_space_id_for("BQ-5").as_deref(), Some("as-5"));
        assert!(parse_user(b"[]").is_err());
        assert!(parse_user(b"garbage").is_err());
    }

    #[test]
    fn error_bodies_are_read_in_several_shapes() {
        let e = parse_error(br#"{"statusCode":404,"code":"PaymentNotFound","message":"Payment not found","traceId":"t-1"}"#);
        assert_eq!(e.code.as_deref(), Some("PaymentNotFound"));
        assert_eq!(e.message.as_deref(), Some("Payment not found"));
        assert_eq!(e.trace_id.as_deref(), Some("t-1"));
        let e = parse_error(br#"{"error":{"code":"Invalid","message":"funds must be > 0"}}"#);
        assert_eq!(e.code.as_deref(), Some("Invalid"));
        assert_eq!(e.message.as_deref(), Some("funds must be > 0"));
        let e = parse_error(br#"{"errors":[{"code":"X1","detail":"bad"}]}"#);
        assert_eq!(e.code.as_deref(), Some("X1"));
        assert_eq!(e.message.as_deref(), Some("bad"));
        let e = parse_error(
            br#"{"error":"invalid_grant","error_description":"Wrong email or password."}"#,
        );
        assert_eq!(e.code.as_deref(), Some("invalid_grant"));
        let e = parse_error(b"<html>502</html>");
        assert!(e.code.is_none() && e.message.is_none());
    }

    #[test]
    fn webhook_config_answers_may_be_empty() {
        assert_eq!(parse_webhook_config(b"").unwrap().raw, Value::Null);
        let c = parse_webhook_config(br#"{"id":3,"url":"https://s/x","enabled":true}"#).unwrap();
        assert_eq!(c.id.as_deref(), Some("3"));
        assert_eq!(c.enabled, Some(true));
        assert!(parse_webhook_config(b"<html>").is_err());
    }
}
