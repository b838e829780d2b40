//! Typed requests, validated before anything is sent.
//!
//! HUB2 answers 400 when a reference uses characters outside `A-Z a-z 0-9 - _ .` and space; these
//! checks catch that (and the other mistakes a merchant can make locally) naming the field, so a
//! payer never learns it from a failed checkout.

use payments_core::provider_support::http_url;
use payments_core::secret::{ExposeSecret, SecretString};
use payments_core::{Error, Money};
use serde::Serialize;
use time::OffsetDateTime;
#[cfg(feature = "client")]
use time::format_description::well_known::Rfc3339;

use crate::config::Environment;
#[cfg(feature = "client")]
use crate::wire::{AttemptBody, CreateIntentBody};
use crate::wire::{MobileMoney, PaymentMethod};

/// Longest reference accepted locally. HUB2 documents no limit; this bound only stops absurd input.
pub const MAX_REFERENCE: usize = 255;
/// Longest `overrideBusinessName` accepted locally (no documented limit).
pub const MAX_BUSINESS_NAME: usize = 255;

/// True for a character HUB2 accepts in `customerReference` and `purchaseReference`.
pub const fn is_reference_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ')
}

/// Checks a reference: non-empty, at most [`MAX_REFERENCE`], only HUB2's allowed characters.
pub fn check_reference(field: &str, value: &str) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    let count = value.chars().count();
    if count > MAX_REFERENCE {
        return Err(Error::invalid(
            field,
            format!("{count} characters, at most {MAX_REFERENCE} allowed"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !is_reference_char(*c)) {
        return Err(Error::invalid(
            field,
            format!(
                "character {bad:?} (U+{:04X}) is not allowed: only A-Z, a-z, 0-9, '-', '_', '.' and space",
                u32::from(bad)
            ),
        ));
    }
    Ok(())
}

/// A payment intent to create with `POST /payment-intents`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreateIntentRequest {
    /// What to collect; sent as an integer in the currency's smallest unit.
    pub amount: Money,
    /// The merchant's customer reference.
    pub customer_reference: String,
    /// The merchant's purchase (order) reference.
    pub purchase_reference: String,
    /// A business name shown to the payer instead of the merchant's.
    pub override_business_name: Option<String>,
}

impl CreateIntentRequest {
    /// An intent for `amount`, for the customer and purchase references given.
    pub fn new(
        amount: Money,
        customer_reference: impl Into<String>,
        purchase_reference: impl Into<String>,
    ) -> Self {
        CreateIntentRequest {
            amount,
            customer_reference: customer_reference.into(),
            purchase_reference: purchase_reference.into(),
            override_business_name: None,
        }
    }

    /// Shows `name` to the payer instead of the merchant's business name.
    pub fn override_business_name(mut self, name: impl Into<String>) -> Self {
        self.override_business_name = Some(name.into());
        self
    }

    /// Checks every field.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.amount.is_positive() {
            return Err(Error::invalid(
                "amount",
                format!("must be positive, got {}", self.amount.minor_units()),
            ));
        }
        check_reference("customerReference", &self.customer_reference)?;
        check_reference("purchaseReference", &self.purchase_reference)?;
        if let Some(name) = &self.override_business_name {
            let count = name.chars().count();
            if name.trim().is_empty() || count > MAX_BUSINESS_NAME {
                return Err(Error::invalid(
                    "overrideBusinessName",
                    format!("must be 1 to {MAX_BUSINESS_NAME} characters"),
                ));
            }
            if name.chars().any(char::is_control) {
                return Err(Error::invalid(
                    "overrideBusinessName",
                    "must not contain control characters",
                ));
            }
        }
        Ok(())
    }

    #[cfg(feature = "client")]
    pub(crate) fn body(&self) -> CreateIntentBody<'_> {
        CreateIntentBody {
            customer_reference: &self.customer_reference,
            purchase_reference: &self.purchase_reference,
            amount: self.amount.minor_units(),
            currency: self.amount.currency().code(),
            override_business_name: self.override_business_name.as_deref(),
        }
    }
}

/// HUB2's default page size for `GET /payment-intents` (its API reference: "The default value is
/// 10").
pub const DEFAULT_PER_PAGE: u32 = 10;
/// Largest `perPage` accepted locally. HUB2's API reference gives no maximum; this bound only
/// stops absurd input (a server that returns fewer than asked is handled: see
/// [`crate::IntentPage::is_last`]).
pub const MAX_PER_PAGE: u32 = 1000;

/// Filters and page of `GET /payment-intents` ("Retrieve a PaymentIntent collection" in HUB2's
/// API reference). Every field is optional; HUB2's defaults apply to what is left out:
///
/// | field | query parameter | HUB2's default |
/// |---|---|---|
/// | [`purchase_reference`](Self::purchase_reference) | `purchaseReference` | no filter |
/// | [`customer_reference`](Self::customer_reference) | `customerReference` | no filter |
/// | [`from`](Self::from) | `from` | **the first day of the current month** |
/// | [`to`](Self::to) | `to` | now |
/// | [`page`](Self::page) | `page` | 1 |
/// | [`per_page`](Self::per_page) | `perPage` | 10 ([`DEFAULT_PER_PAGE`]) |
///
/// The reference documents the two reference filters, both dates (UTC, ISO 8601, inclusive),
/// `page` and `perPage` by their descriptions; the names `from` and `to` are this crate's reading
/// of them. Dates are sent in RFC 3339 (`2024-05-01T00:00:00Z`), to the second. Because of the
/// `from` default, an intent created in an earlier month is only listed when `from` is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListIntentsRequest {
    /// Only intents created with this `purchaseReference`.
    pub purchase_reference: Option<String>,
    /// Only intents created with this `customerReference`.
    pub customer_reference: Option<String>,
    /// Only intents created at or after this time.
    pub from: Option<OffsetDateTime>,
    /// Only intents created at or before this time.
    pub to: Option<OffsetDateTime>,
    /// The page, from 1.
    pub page: Option<u32>,
    /// Intents per page.
    pub per_page: Option<u32>,
}

impl ListIntentsRequest {
    /// Every intent (within HUB2's default dates and page).
    pub fn new() -> Self {
        Self::default()
    }

    /// Only intents with this purchase reference.
    pub fn purchase_reference(mut self, reference: impl Into<String>) -> Self {
        self.purchase_reference = Some(reference.into());
        self
    }

    /// Only intents with this customer reference.
    pub fn customer_reference(mut self, reference: impl Into<String>) -> Self {
        self.customer_reference = Some(reference.into());
        self
    }

    /// Only intents created at or after `from`.
    pub fn from(mut self, from: OffsetDateTime) -> Self {
        self.from = Some(from);
        self
    }

    /// Only intents created at or before `to`.
    pub fn to(mut self, to: OffsetDateTime) -> Self {
        self.to = Some(to);
        self
    }

    /// The page to read, from 1.
    pub fn page(mut self, page: u32) -> Self {
        self.page = Some(page);
        self
    }

    /// How many intents per page.
    pub fn per_page(mut self, per_page: u32) -> Self {
        self.per_page = Some(per_page);
        self
    }

    /// Checks every field: references as at creation (an intent cannot carry another one),
    /// `page` from 1, `perPage` from 1 to [`MAX_PER_PAGE`], `from` not after `to`.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(reference) = &self.purchase_reference {
            check_reference("purchaseReference", reference)?;
        }
        if let Some(reference) = &self.customer_reference {
            check_reference("customerReference", reference)?;
        }
        if self.page == Some(0) {
            return Err(Error::invalid("page", "pages are counted from 1"));
        }
        if let Some(per_page) = self.per_page
            && !(1..=MAX_PER_PAGE).contains(&per_page)
        {
            return Err(Error::invalid(
                "perPage",
                format!("must be 1 to {MAX_PER_PAGE}, got {per_page}"),
            ));
        }
        if let (Some(from), Some(to)) = (self.from, self.to)
            && from > to
        {
            return Err(Error::invalid("from", "is after `to`"));
        }
        Ok(())
    }

    /// The query pairs, in the order above; dates in UTC, to the second.
    #[cfg(feature = "client")]
    pub(crate) fn query(&self) -> Result<Vec<(&'static str, String)>, Error> {
        let date = |field: &str, at: OffsetDateTime| {
            at.to_offset(time::UtcOffset::UTC)
                .replace_nanosecond(0)
                .ok()
                .and_then(|t| t.format(&Rfc3339).ok())
                .ok_or_else(|| Error::invalid(field, "cannot be written as an RFC 3339 date"))
        };
        let mut pairs = Vec::new();
        if let Some(reference) = &self.purchase_reference {
            pairs.push(("purchaseReference", reference.clone()));
        }
        if let Some(reference) = &self.customer_reference {
            pairs.push(("customerReference", reference.clone()));
        }
        if let Some(from) = self.from {
            pairs.push(("from", date("from", from)?));
        }
        if let Some(to) = self.to {
            pairs.push(("to", date("to", to)?));
        }
        if let Some(page) = self.page {
            pairs.push(("page", page.to_string()));
        }
        if let Some(per_page) = self.per_page {
            pairs.push(("perPage", per_page.to_string()));
        }
        Ok(pairs)
    }
}

/// A payment attempt on an intent (`POST /payment-intents/{id}/payments`). `Debug` shows the
/// mobile money details as [`MobileMoney`]'s does: phone number masked, OTP redacted.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AttemptRequest {
    /// Mobile money or card.
    pub payment_method: PaymentMethod,
    /// ISO 3166-1 alpha-2 country (`CI`, `SN`, ...).
    pub country: String,
    /// The payment provider (`orange`, `mtn`, `moov`, `wave`, ...).
    pub provider: String,
    /// Mobile money details (required for mobile money).
    pub mobile_money: Option<MobileMoney>,
}

impl AttemptRequest {
    /// A mobile money attempt with the payer's `msisdn` at `provider` in `country`.
    pub fn mobile_money(
        country: impl Into<String>,
        provider: impl Into<String>,
        msisdn: impl Into<String>,
    ) -> Self {
        AttemptRequest {
            payment_method: PaymentMethod::MobileMoney,
            country: country.into(),
            provider: provider.into(),
            mobile_money: Some(MobileMoney {
                msisdn: msisdn.into(),
                ..MobileMoney::default()
            }),
        }
    }

    /// A card attempt through `provider` in `country`. No card data is sent: HUB2 answers with a
    /// `redirection` next action to its card page.
    pub fn card(country: impl Into<String>, provider: impl Into<String>) -> Self {
        AttemptRequest {
            payment_method: PaymentMethod::CreditCard,
            country: country.into(),
            provider: provider.into(),
            mobile_money: None,
        }
    }

    fn mm(&mut self) -> &mut MobileMoney {
        self.mobile_money.get_or_insert_with(MobileMoney::default)
    }

    /// Sends an OTP the payer generated beforehand with the attempt (held as a secret).
    pub fn otp(mut self, otp: impl Into<String>) -> Self {
        self.mm().otp = Some(SecretString::from(otp.into()));
        self
    }

    /// Sets the four redirection URLs (success, failed, cancel, finish); `None` leaves one out.
    pub fn redirection_urls(
        mut self,
        on_success: Option<&str>,
        on_failed: Option<&str>,
        on_cancel: Option<&str>,
        on_finish: Option<&str>,
    ) -> Self {
        let mm = self.mm();
        mm.on_success_redirection_url = on_success.map(str::to_string);
        mm.on_failed_redirection_url = on_failed.map(str::to_string);
        mm.on_cancel_redirection_url = on_cancel.map(str::to_string);
        mm.on_finish_redirection_url = on_finish.map(str::to_string);
        self
    }

    /// Checks every field; redirection URLs must be https in live.
    pub fn validate(&self, environment: Environment) -> Result<(), Error> {
        let country_ok =
            self.country.len() == 2 && self.country.bytes().all(|b| b.is_ascii_uppercase());
        if !country_ok {
            return Err(Error::invalid(
                "country",
                "must be an ISO 3166-1 alpha-2 code in upper case (CI, SN, ...)",
            ));
        }
        let provider_ok = !self.provider.is_empty()
            && self.provider.len() <= 64
            && self
                .provider
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        if !provider_ok {
            return Err(Error::invalid(
                "provider",
                "must be a lower-case provider name (orange, mtn, moov, wave, ...)",
            ));
        }
        match (self.payment_method, &self.mobile_money) {
            (PaymentMethod::MobileMoney, None) => {
                return Err(Error::invalid(
                    "mobileMoney",
                    "required for a mobile money attempt",
                ));
            }
            (PaymentMethod::CreditCard, Some(_)) => {
                return Err(Error::invalid(
                    "mobileMoney",
                    "not allowed in a card attempt",
                ));
            }
            _ => {}
        }
        if let Some(mm) = &self.mobile_money {
            let digits = mm.msisdn.strip_prefix('+').unwrap_or(&mm.msisdn);
            if !(4..=20).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(Error::invalid(
                    "mobileMoney.msisdn",
                    "must be 4 to 20 digits, optionally after a '+'",
                ));
            }
            if let Some(otp) = &mm.otp {
                check_code("mobileMoney.otp", otp.expose_secret())?;
            }
            for (field, url) in [
                (
                    "mobileMoney.onSuccessRedirectionUrl",
                    &mm.on_success_redirection_url,
                ),
                (
                    "mobileMoney.onFailedRedirectionUrl",
                    &mm.on_failed_redirection_url,
                ),
                (
                    "mobileMoney.onCancelRedirectionUrl",
                    &mm.on_cancel_redirection_url,
                ),
                (
                    "mobileMoney.onFinishRedirectionUrl",
                    &mm.on_finish_redirection_url,
                ),
            ] {
                if let Some(url) = url {
                    http_url(field, url, environment.is_live().then_some("live"))?;
                }
            }
        }
        Ok(())
    }

    #[cfg(feature = "client")]
    pub(crate) fn body<'a>(&'a self, token: &'a str) -> AttemptBody<'a> {
        AttemptBody {
            token,
            payment_method: self.payment_method,
            country: &self.country,
            provider: &self.provider,
            mobile_money: self.mobile_money.as_ref(),
        }
    }
}

/// Checks an OTP or confirmation code: 1 to 32 ASCII letters or digits.
pub fn check_code(field: &str, code: &str) -> Result<(), Error> {
    if code.is_empty() || code.len() > 32 || !code.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(Error::invalid(field, "must be 1 to 32 letters or digits"));
    }
    Ok(())
}

/// A webhook to register with `POST /webhooks`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateWebhookRequest {
    /// Where HUB2 posts the events.
    pub url: String,
    /// Event types (`payment_intent.created`, `payment.succeeded`, ...; see
    /// [`crate::webhook::EventType`]).
    pub events: Vec<String>,
    /// A description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The merchant's metadata, echoed back by HUB2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

impl CreateWebhookRequest {
    /// A webhook posting `events` to `url`.
    pub fn new<I, S>(url: impl Into<String>, events: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        CreateWebhookRequest {
            url: url.into(),
            events: events.into_iter().map(Into::into).collect(),
            description: None,
            metadata: None,
        }
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the metadata.
    pub fn metadata(mut self, metadata: serde_json::Map<String, serde_json::Value>) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Checks every field; the URL must be https in live.
    pub fn validate(&self, environment: Environment) -> Result<(), Error> {
        http_url("url", &self.url, environment.is_live().then_some("live"))?;
        if self.events.is_empty() {
            return Err(Error::invalid("events", "at least one event type"));
        }
        for event in &self.events {
            let ok = !event.is_empty()
                && event.len() <= 128
                && event
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'*' | b'-'));
            if !ok {
                return Err(Error::invalid(
                    "events",
                    format!(
                        "{:?} is not an event type",
                        event.chars().take(64).collect::<String>()
                    ),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]
mod tests {
    use super::*;
    use crate::wire::mask_msisdn;
    use payments_core::Currency;

    fn xof(amount: i64) -> Money {
        Money::from_minor(amount, Currency::XOF)
    }

    fn field_of(err: Error) -> String {
        match err {
            Error::InvalidInput { field, .. } => field,
            other => format!("not InvalidInput: {other:?}"),
        }
    }

    #[test]
    fn references_use_only_the_allowed_characters() {
        CreateIntentRequest::new(xof(200), "Test_01", "Test_YYYY_MM_DD_01")
            .validate()
            .unwrap();
        CreateIntentRequest::new(xof(200), "client 42.a-b", "order-1.2_3 x")
            .validate()
            .unwrap();
        for bad in [
            "order#1",
            "commande-é",
            "a/b",
            "a,b",
            "tab\there",
            "",
            "   ",
            "x@y",
        ] {
            let req = CreateIntentRequest::new(xof(200), "c", bad);
            assert_eq!(
                field_of(req.validate().unwrap_err()),
                "purchaseReference",
                "{bad:?}"
            );
            let req = CreateIntentRequest::new(xof(200), bad, "p");
            assert_eq!(
                field_of(req.validate().unwrap_err()),
                "customerReference",
                "{bad:?}"
            );
        }
        let long = "x".repeat(MAX_REFERENCE + 1);
        assert!(
            CreateIntentRequest::new(xof(1), "c", long)
                .validate()
                .is_err()
        );
    }

    #[test]
    fn amounts_must_be_positive_and_are_minor_units() {
        for bad in [0, -1] {
            let req = CreateIntentRequest::new(xof(bad), "c", "p");
            assert_eq!(field_of(req.validate().unwrap_err()), "amount");
        }
        #[cfg(feature = "client")]
        {
            let req = CreateIntentRequest::new(Money::from_minor(1050, Currency::EUR), "c", "p");
            let body = serde_json::to_value(req.body()).unwrap();
            assert_eq!(body["amount"], 1050);
            assert_eq!(body["currency"], "EUR");
        }
    }

    #[test]
    fn attempts_are_validated() {
        let ok = AttemptRequest::mobile_money("CI", "orange", "0709000000").otp("1234");
        ok.validate(Environment::Live).unwrap();
        AttemptRequest::card("CI", "visa")
            .validate(Environment::Live)
            .unwrap();
        let cases = [
            (
                AttemptRequest::mobile_money("ci", "orange", "0709"),
                "country",
            ),
            (
                AttemptRequest::mobile_money("CIV", "orange", "0709"),
                "country",
            ),
            (
                AttemptRequest::mobile_money("CI", "Orange", "0709"),
                "provider",
            ),
            (AttemptRequest::mobile_money("CI", "", "0709"), "provider"),
            (
                AttemptRequest::mobile_money("CI", "mtn", "07 09"),
                "mobileMoney.msisdn",
            ),
            (
                AttemptRequest::mobile_money("CI", "mtn", "12"),
                "mobileMoney.msisdn",
            ),
            (
                AttemptRequest::mobile_money("CI", "orange", "0709").otp("12 34"),
                "mobileMoney.otp",
            ),
            (
                AttemptRequest::mobile_money("SN", "wave", "0709").redirection_urls(
                    Some("http://shop.example/ok"),
                    None,
                    None,
                    None,
                ),
                "mobileMoney.onSuccessRedirectionUrl",
            ),
            (
                AttemptRequest::card("CI", "visa").otp("1234"),
                "mobileMoney",
            ),
        ];
        for (req, field) in cases {
            assert_eq!(
                field_of(req.validate(Environment::Live).unwrap_err()),
                field
            );
        }
        // Plain http is fine in the sandbox.
        AttemptRequest::mobile_money("SN", "wave", "0709")
            .redirection_urls(Some("http://localhost:3000/ok"), None, None, None)
            .validate(Environment::Sandbox)
            .unwrap();
        let mut missing = AttemptRequest::card("CI", "orange");
        missing.payment_method = PaymentMethod::MobileMoney;
        assert_eq!(
            field_of(missing.validate(Environment::Sandbox).unwrap_err()),
            "mobileMoney"
        );
    }

    #[test]
    fn debug_hides_the_one_time_code_and_masks_the_phone_number() {
        let request = AttemptRequest::mobile_money("CI", "orange", "+2250709123456")
            .otp("4821")
            .redirection_urls(Some("https://shop.example/ok"), None, None, None);
        let mobile_money = request.mobile_money.clone().unwrap();
        for shown in [format!("{request:?}"), format!("{mobile_money:?}")] {
            assert!(!shown.contains("4821"), "the OTP shows: {shown}");
            assert!(
                !shown.contains("0709123456"),
                "the phone number shows: {shown}"
            );
            assert!(
                shown.contains("56"),
                "the last digits help support: {shown}"
            );
            assert!(shown.contains("https://shop.example/ok"), "{shown}");
        }
        assert!(format!("{request:?}").contains("orange"));
        // The wire body still carries both.
        #[cfg(feature = "client")]
        {
            let body = serde_json::to_value(request.body("tok")).unwrap();
            assert_eq!(body["mobileMoney"]["otp"], "4821");
            assert_eq!(body["mobileMoney"]["msisdn"], "+2250709123456");
        }
        assert_eq!(mask_msisdn("0700000000"), "********00");
        assert_eq!(mask_msisdn("+221770000012"), "+**********12");
        assert_eq!(mask_msisdn("0709"), "****");
        assert_eq!(
            AttemptRequest::mobile_money("CI", "orange", "07").otp("1"),
            AttemptRequest::mobile_money("CI", "orange", "07").otp("1")
        );
        assert_ne!(
            AttemptRequest::mobile_money("CI", "orange", "07").otp("1"),
            AttemptRequest::mobile_money("CI", "orange", "07").otp("2")
        );
    }

    #[test]
    fn webhooks_are_validated() {
        CreateWebhookRequest::new("https://shop.example/hub2", ["payment.succeeded"])
            .validate(Environment::Live)
            .unwrap();
        let no_events: [&str; 0] = [];
        for (req, field) in [
            (
                CreateWebhookRequest::new("http://shop.example/hub2", ["payment.succeeded"]),
                "url",
            ),
            (
                CreateWebhookRequest::new("https://shop.example/hub2", no_events),
                "events",
            ),
            (
                CreateWebhookRequest::new("https://shop.example/hub2", ["pay ment"]),
                "events",
            ),
        ] {
            assert_eq!(
                field_of(req.validate(Environment::Live).unwrap_err()),
                field
            );
        }
    }
}
