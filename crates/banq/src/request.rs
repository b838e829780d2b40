//! Typed requests, validated before anything is sent.
//!
//! Banq publishes few limits. The rules here are the ones the documentation implies (a
//! destination guid, an amount, an order code; `startDate`/`endDate` only for recurring payments,
//! the end not before the start) plus what keeps a request from being misread (no empty or
//! whitespace-padded identifiers, no control characters, money exact and positive). Banq
//! itself may refuse more: its answer comes back as [`payments_core::Error::Provider`].

use payments_core::{Currency, Decimal, Error, Money, Result};
use serde::Serialize;
use time::Date;

#[cfg(feature = "client")]
use crate::wire::{Destination, PaymentLinkBody};

/// Longest text accepted in a free-text field (the comment, the order code). Banq publishes no
/// limit; this bound only keeps absurd input from being sent.
pub const MAX_TEXT: usize = 1024;

/// Longest identifier accepted (banq guid, account space id, payment id).
pub const MAX_ID: usize = 128;

/// How often a payment link charges.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Schedule {
    /// One payment (`"frequency": "once"`, no dates).
    Once,
    /// A recurring payment, with optional first and last dates.
    Recurring {
        /// The period.
        period: RecurringPeriod,
        /// The first payment date (`startDate`).
        start_date: Option<Date>,
        /// The last payment date (`endDate`), not before `start_date`.
        end_date: Option<Date>,
    },
}

/// The period of a recurring payment, as the `frequency` value.
///
/// Banq's guide says only "check the BANQ API docs for recurrent payment options"; the values
/// are not published with it. The named ones are the obvious English periods; use
/// [`RecurringPeriod::Custom`] with the exact value from Banq's Swagger for anything else.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RecurringPeriod {
    /// `"weekly"`.
    Weekly,
    /// `"monthly"`.
    Monthly,
    /// `"yearly"`.
    Yearly,
    /// Any other value, sent verbatim.
    Custom(String),
}

impl RecurringPeriod {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            RecurringPeriod::Weekly => "weekly",
            RecurringPeriod::Monthly => "monthly",
            RecurringPeriod::Yearly => "yearly",
            RecurringPeriod::Custom(value) => value,
        }
    }
}

/// `POST /payments/get-paid-link`: a payment link for the payer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PaymentLinkRequest {
    /// The banq guid of the merchant's account receiving the money (`destination.banqGuid`).
    pub destination: String,
    /// What to charge; sent as `funds`, an exact JSON number in major units.
    pub funds: Money,
    /// Shown to the payer in the Banq app (e.g. the product's title).
    pub comment: String,
    /// The merchant's order id (`externalOrderCode`).
    pub external_order_code: String,
    /// Once or recurring.
    pub schedule: Schedule,
}

impl PaymentLinkRequest {
    /// A one-off payment of `funds` into the banq account `destination`, for order
    /// `external_order_code`, described to the payer by `comment`.
    pub fn once(
        destination: impl Into<String>,
        funds: Money,
        comment: impl Into<String>,
        external_order_code: impl Into<String>,
    ) -> Self {
        PaymentLinkRequest {
            destination: destination.into(),
            funds,
            comment: comment.into(),
            external_order_code: external_order_code.into(),
            schedule: Schedule::Once,
        }
    }

    /// Makes the payment recurring every `period`, from `start_date` until `end_date`.
    pub fn recurring(
        mut self,
        period: RecurringPeriod,
        start_date: Option<Date>,
        end_date: Option<Date>,
    ) -> Self {
        self.schedule = Schedule::Recurring {
            period,
            start_date,
            end_date,
        };
        self
    }

    /// Checks the request against the rules above and the configured `currency`.
    pub fn validate(&self, currency: Currency) -> Result<()> {
        check_id("destination.banqGuid", &self.destination)?;
        if self.funds.currency() != currency {
            return Err(Error::invalid(
                "funds",
                format!(
                    "Banq takes {currency}; this amount is in {}",
                    self.funds.currency()
                ),
            ));
        }
        if !self.funds.is_positive() {
            return Err(Error::invalid("funds", "must be greater than zero"));
        }
        check_text("comment", &self.comment)?;
        check_text("externalOrderCode", &self.external_order_code)?;
        if self.external_order_code.trim() != self.external_order_code {
            return Err(Error::invalid(
                "externalOrderCode",
                "must not start or end with spaces",
            ));
        }
        if let Schedule::Recurring {
            period,
            start_date,
            end_date,
        } = &self.schedule
        {
            let value = period.as_str();
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                return Err(Error::invalid("frequency", "must not be empty"));
            }
            if value.trim().eq_ignore_ascii_case("once") {
                return Err(Error::invalid(
                    "frequency",
                    "a recurring schedule cannot be \"once\"; start and end dates are only \
                     for recurring payments",
                ));
            }
            if let (Some(start), Some(end)) = (start_date, end_date)
                && end < start
            {
                return Err(Error::invalid(
                    "endDate",
                    format!("{end} is before startDate {start}"),
                ));
            }
        }
        Ok(())
    }

    /// The JSON body (call [`PaymentLinkRequest::validate`] first).
    #[cfg(feature = "client")]
    pub(crate) fn body(&self) -> PaymentLinkBody<'_> {
        let (frequency, start_date, end_date) = match &self.schedule {
            Schedule::Once => ("once", None, None),
            Schedule::Recurring {
                period,
                start_date,
                end_date,
            } => (
                period.as_str(),
                start_date.map(iso_date),
                end_date.map(iso_date),
            ),
        };
        PaymentLinkBody {
            destination: Destination {
                banq_guid: &self.destination,
            },
            comment: &self.comment,
            funds: funds(self.funds),
            external_order_code: &self.external_order_code,
            frequency,
            start_date,
            end_date,
        }
    }
}

/// An amount as Banq's `funds`: the exact major-unit decimal without trailing zeros.
pub fn funds(amount: Money) -> Decimal {
    amount.to_decimal().normalized()
}

/// `YYYY-MM-DD`.
#[cfg(feature = "client")]
fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// The kinds of webhook a configuration subscribes to (`webHookTypes`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WebhookType {
    /// `"payment"`.
    Payment,
    /// `"transaction"`.
    Transaction,
    /// Any other value, sent verbatim.
    Other(String),
}

impl WebhookType {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            WebhookType::Payment => "payment",
            WebhookType::Transaction => "transaction",
            WebhookType::Other(value) => value,
        }
    }
}

impl Serialize for WebhookType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// `POST /account-spaces/{accountSpaceId}/webhook-config`: where Banq posts webhooks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WebhookConfigRequest {
    /// The merchant's receiving URL (https; http only for a loopback host).
    pub url: String,
    /// Whether deliveries are on.
    pub enabled: bool,
    /// How often Banq retries a failed delivery.
    pub retry_count: u32,
    /// The kinds of event delivered.
    #[serde(rename = "webHookTypes")]
    pub web_hook_types: Vec<WebhookType>,
}

impl WebhookConfigRequest {
    /// The documented configuration: enabled, 5 retries, `payment` and `transaction` events.
    pub fn new(url: impl Into<String>) -> Self {
        WebhookConfigRequest {
            url: url.into(),
            enabled: true,
            retry_count: 5,
            web_hook_types: vec![WebhookType::Payment, WebhookType::Transaction],
        }
    }

    /// Turns deliveries on or off.
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.enabled = enabled;
        self
    }

    /// Sets the retry count.
    pub fn retry_count(mut self, count: u32) -> Self {
        self.retry_count = count;
        self
    }

    /// Sets the event kinds.
    pub fn web_hook_types(mut self, types: impl IntoIterator<Item = WebhookType>) -> Self {
        self.web_hook_types = types.into_iter().collect();
        self
    }

    /// Checks the URL and the event kinds.
    pub fn validate(&self) -> Result<()> {
        check_webhook_url(&self.url)?;
        if self.web_hook_types.is_empty() {
            return Err(Error::invalid(
                "webHookTypes",
                "name at least one kind of event",
            ));
        }
        for (i, kind) in self.web_hook_types.iter().enumerate() {
            let value = kind.as_str();
            if value.trim().is_empty() || value.chars().any(char::is_control) {
                return Err(Error::invalid("webHookTypes", "empty event kind"));
            }
            if self
                .web_hook_types
                .iter()
                .take(i)
                .any(|k| k.as_str() == value)
            {
                return Err(Error::invalid(
                    "webHookTypes",
                    format!("{value:?} is listed twice"),
                ));
            }
        }
        Ok(())
    }
}

/// A webhook URL must be absolute https (http is accepted for `localhost` / loopback addresses,
/// for local tests), without spaces or a fragment.
fn check_webhook_url(url: &str) -> Result<()> {
    let bad = |reason: &str| Err(Error::invalid("url", reason));
    if url.len() > 2048 || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return bad("must be at most 2048 characters without spaces");
    }
    if url.contains('#') {
        return bad("must not have a fragment");
    }
    let (scheme, rest) = match url.split_once("://") {
        Some(parts) => parts,
        None => return bad("must be an absolute https URL"),
    };
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let host = authority.rsplit('@').next().unwrap_or_default();
    let host = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    if host.is_empty() {
        return bad("has no host");
    }
    let loopback = host == "localhost"
        || host == "::1"
        || (host.starts_with("127.") && host.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
    match scheme.to_ascii_lowercase().as_str() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => bad("must be https (http only for a loopback host)"),
    }
}

pub(crate) fn check_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() || value.len() > MAX_ID {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_ID} bytes"),
        ));
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(Error::invalid(
            field,
            "must not contain spaces or control characters",
        ));
    }
    // `.` and `..` as a path segment are refused by core's `join_path`, which builds every API
    // URL (and percent-encodes every other value as one segment).
    Ok(())
}

fn check_text(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.len() > MAX_TEXT {
        return Err(Error::invalid(
            field,
            format!("must be at most {MAX_TEXT} bytes"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use time::macros::date;

    fn usd(cents: i64) -> Money {
        Money::from_minor(cents, Currency::USD)
    }

    fn field_of(r: Result<()>) -> String {
        match r {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    #[cfg(feature = "client")]
    #[test]
    fn once_body_is_the_documented_shape_without_dates() {
        let r = PaymentLinkRequest::once("GUID-1", usd(10_000), "T-shirt", "order-1");
        r.validate(Currency::USD).unwrap();
        let body = serde_json::to_string(&r.body()).unwrap();
        assert_eq!(
            body,
            r#"{"destination":{"banqGuid":"GUID-1"},"comment":"T-shirt","funds":100,"externalOrderCode":"order-1","frequency":"once"}"#
        );
    }

    #[cfg(feature = "client")]
    #[test]
    fn funds_are_exact_decimal_numbers() {
        let body = |cents| {
            let r = PaymentLinkRequest::once("G", usd(cents), "c", "o");
            serde_json::to_string(&r.body()).unwrap()
        };
        assert!(body(1050).contains(r#""funds":10.5,"#));
        assert!(body(1).contains(r#""funds":0.01,"#));
        assert!(body(123_456_789_012).contains(r#""funds":1234567890.12,"#));
    }

    #[cfg(feature = "client")]
    #[test]
    fn recurring_body_has_frequency_and_dates() {
        let r = PaymentLinkRequest::once("G", usd(999), "Gym", "sub-7").recurring(
            RecurringPeriod::Monthly,
            Some(date!(2021 - 06 - 15)),
            Some(date!(2022 - 06 - 15)),
        );
        r.validate(Currency::USD).unwrap();
        let body = serde_json::to_string(&r.body()).unwrap();
        assert!(
            body.ends_with(
                r#""frequency":"monthly","startDate":"2021-06-15","endDate":"2022-06-15"}"#
            ),
            "{body}"
        );
        // Same day is allowed.
        PaymentLinkRequest::once("G", usd(999), "Gym", "sub-7")
            .recurring(
                RecurringPeriod::Weekly,
                Some(date!(2021 - 06 - 15)),
                Some(date!(2021 - 06 - 15)),
            )
            .validate(Currency::USD)
            .unwrap();
    }

    #[test]
    fn invalid_requests_name_the_field() {
        let ok = || PaymentLinkRequest::once("GUID", usd(100), "c", "o");
        let cases: Vec<(PaymentLinkRequest, &str)> = vec![
            (
                PaymentLinkRequest::once("", usd(100), "c", "o"),
                "destination.banqGuid",
            ),
            (
                PaymentLinkRequest::once("a b", usd(100), "c", "o"),
                "destination.banqGuid",
            ),
            (
                PaymentLinkRequest::once("G", Money::from_minor(100, Currency::EUR), "c", "o"),
                "funds",
            ),
            (PaymentLinkRequest::once("G", usd(0), "c", "o"), "funds"),
            (PaymentLinkRequest::once("G", usd(-5), "c", "o"), "funds"),
            (PaymentLinkRequest::once("G", usd(1), " ", "o"), "comment"),
            (
                PaymentLinkRequest::once("G", usd(1), "x".repeat(MAX_TEXT + 1), "o"),
                "comment",
            ),
            (
                PaymentLinkRequest::once("G", usd(1), "a\u{7}", "o"),
                "comment",
            ),
            (
                PaymentLinkRequest::once("G", usd(1), "c", ""),
                "externalOrderCode",
            ),
            (
                PaymentLinkRequest::once("G", usd(1), "c", " o"),
                "externalOrderCode",
            ),
            (
                ok().recurring(
                    RecurringPeriod::Monthly,
                    Some(date!(2021 - 06 - 15)),
                    Some(date!(2021 - 06 - 14)),
                ),
                "endDate",
            ),
            (
                ok().recurring(
                    RecurringPeriod::Custom("once".into()),
                    Some(date!(2021 - 06 - 15)),
                    None,
                ),
                "frequency",
            ),
            (
                ok().recurring(RecurringPeriod::Custom(" ".into()), None, None),
                "frequency",
            ),
        ];
        for (request, field) in cases {
            assert_eq!(
                field_of(request.validate(Currency::USD)),
                field,
                "{request:?}"
            );
        }
        ok().validate(Currency::USD).unwrap();
    }

    #[test]
    fn webhook_config_body_and_validation() {
        let r = WebhookConfigRequest::new("https://shop.example/banq/payment-status");
        r.validate().unwrap();
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"url":"https://shop.example/banq/payment-status","enabled":true,"retryCount":5,"webHookTypes":["payment","transaction"]}"#
        );
        for url in [
            "http://shop.example/x",
            "ftp://shop.example/x",
            "shop.example/x",
            "https://",
            "https://shop.example/a b",
            "https://shop.example/x#frag",
        ] {
            assert_eq!(
                field_of(WebhookConfigRequest::new(url).validate()),
                "url",
                "{url}"
            );
        }
        for url in [
            "http://localhost:8080/hook",
            "http://127.0.0.1:9/x?token=abc",
            "http://[::1]:8080/x",
            "https://user@shop.example:8443/x",
        ] {
            WebhookConfigRequest::new(url).validate().unwrap();
        }
        let empty = WebhookConfigRequest::new("https://s.example/x").web_hook_types([]);
        assert_eq!(field_of(empty.validate()), "webHookTypes");
        let twice = WebhookConfigRequest::new("https://s.example/x")
            .web_hook_types([WebhookType::Payment, WebhookType::Payment]);
        assert_eq!(field_of(twice.validate()), "webHookTypes");
    }
}
