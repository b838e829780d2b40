//! Typed requests, validated before anything is sent.
//!
//! Payconiq refuses a request with `FIELD_IS_INVALID` when a text is too long or uses characters
//! outside the SEPA set; these checks catch that locally, naming the field, so a merchant never
//! learns it from a failed checkout.

use payments_core::{Currency, Error, Money};

use crate::config::Environment;
#[cfg(feature = "client")]
use crate::wire::{AcknowledgeBody, CreatePaymentBody};

/// Longest `reference` and `bulkId`.
pub const MAX_REFERENCE: usize = 35;
/// Longest `description` (only the first 35 characters reach the bank statement).
pub const MAX_DESCRIPTION: usize = 140;
/// Longest `shopId`, `shopName` and `posId`.
pub const MAX_SHOP: usize = 36;

/// A payment to create with `POST /payments` (or `POST /payments/pos` when a POS id is set).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CreatePaymentRequest {
    /// Amount, in EUR.
    pub amount: Money,
    /// The merchant's reference (≤ 35, SEPA characters).
    pub reference: Option<String>,
    /// Bulk id for grouping on bank statements (≤ 35, SEPA characters).
    pub bulk_id: Option<String>,
    /// Shown to the payer (≤ 140, SEPA characters).
    pub description: Option<String>,
    /// Where Payconiq POSTs status callbacks (https in production).
    pub callback_url: Option<String>,
    /// Where the payer returns after the hosted checkout.
    pub return_url: Option<String>,
    /// Point-of-sale id: the payment is created at `/payments/pos`.
    pub pos_id: Option<String>,
    /// Shop id (≤ 36).
    pub shop_id: Option<String>,
    /// Shop name (≤ 36, SEPA characters).
    pub shop_name: Option<String>,
}

impl CreatePaymentRequest {
    /// A payment of `amount` (must be EUR).
    pub fn new(amount: Money) -> Self {
        CreatePaymentRequest {
            amount,
            reference: None,
            bulk_id: None,
            description: None,
            callback_url: None,
            return_url: None,
            pos_id: None,
            shop_id: None,
            shop_name: None,
        }
    }

    /// Sets the reference.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Sets the bulk id.
    pub fn bulk_id(mut self, bulk_id: impl Into<String>) -> Self {
        self.bulk_id = Some(bulk_id.into());
        self
    }

    /// Sets the description.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the callback URL.
    pub fn callback_url(mut self, url: impl Into<String>) -> Self {
        self.callback_url = Some(url.into());
        self
    }

    /// Sets the return URL (hosted checkout flow).
    pub fn return_url(mut self, url: impl Into<String>) -> Self {
        self.return_url = Some(url.into());
        self
    }

    /// Creates the payment for a point of sale (`POST /payments/pos`).
    pub fn pos_id(mut self, pos_id: impl Into<String>) -> Self {
        self.pos_id = Some(pos_id.into());
        self
    }

    /// Sets the shop id and name.
    pub fn shop(mut self, id: impl Into<String>, name: impl Into<String>) -> Self {
        self.shop_id = Some(id.into());
        self.shop_name = Some(name.into());
        self
    }

    /// Checks every field; the error names the first field that is wrong.
    pub fn validate(&self, environment: Environment, max_amount_cents: i64) -> Result<(), Error> {
        euro_cents(self.amount, max_amount_cents)?;
        text("reference", self.reference.as_deref(), MAX_REFERENCE)?;
        text("bulkId", self.bulk_id.as_deref(), MAX_REFERENCE)?;
        text("description", self.description.as_deref(), MAX_DESCRIPTION)?;
        text("shopId", self.shop_id.as_deref(), MAX_SHOP)?;
        text("shopName", self.shop_name.as_deref(), MAX_SHOP)?;
        text("posId", self.pos_id.as_deref(), MAX_SHOP)?;
        if let Some(url) = &self.callback_url {
            payments_core::provider_support::http_url(
                "callbackUrl",
                url,
                environment.is_production().then_some("production"),
            )?;
        }
        if let Some(url) = &self.return_url {
            payments_core::provider_support::http_url("returnUrl", url, None)?;
        }
        Ok(())
    }

    #[cfg(feature = "client")]
    pub(crate) fn body(&self) -> CreatePaymentBody<'_> {
        CreatePaymentBody {
            amount: self.amount.minor_units(),
            currency: "EUR",
            reference: self.reference.as_deref(),
            bulk_id: self.bulk_id.as_deref(),
            description: self.description.as_deref(),
            callback_url: self.callback_url.as_deref(),
            return_url: self.return_url.as_deref(),
            pos_id: self.pos_id.as_deref(),
            shop_id: self.shop_id.as_deref(),
            shop_name: self.shop_name.as_deref(),
        }
    }
}

/// The merchant's acknowledgement of a `PENDING_MERCHANT_ACKNOWLEDGEMENT` payment.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AcknowledgeRequest {
    /// The amount acknowledged, in EUR.
    pub amount: Money,
    /// The merchant's reference (≤ 35, SEPA characters).
    pub reference: Option<String>,
}

impl AcknowledgeRequest {
    /// Acknowledges `amount`.
    pub fn new(amount: Money) -> Self {
        AcknowledgeRequest {
            amount,
            reference: None,
        }
    }

    /// Sets the reference.
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.reference = Some(reference.into());
        self
    }

    /// Checks every field.
    pub fn validate(&self, max_amount_cents: i64) -> Result<(), Error> {
        euro_cents(self.amount, max_amount_cents)?;
        text("reference", self.reference.as_deref(), MAX_REFERENCE)
    }

    #[cfg(feature = "client")]
    pub(crate) fn body(&self) -> AcknowledgeBody<'_> {
        AcknowledgeBody {
            currency: "EUR",
            amount: self.amount.minor_units(),
            reference: self.reference.as_deref(),
        }
    }
}

/// Checks a merchant reference as Payconiq accepts it: 1 to [`MAX_REFERENCE`] characters of the
/// SEPA set; the error names `reference`.
#[cfg(feature = "client")]
pub(crate) fn check_reference(reference: &str) -> Result<(), Error> {
    text("reference", Some(reference), MAX_REFERENCE)
}

fn euro_cents(amount: Money, max: i64) -> Result<i64, Error> {
    if amount.currency() != Currency::EUR {
        return Err(Error::invalid(
            "currency",
            format!("Payconiq accepts EUR only, not {}", amount.currency()),
        ));
    }
    let cents = amount.minor_units();
    if !(1..=max).contains(&cents) {
        return Err(Error::invalid(
            "amount",
            format!("must be between 1 and {max} cents, got {cents}"),
        ));
    }
    Ok(cents)
}

fn text(field: &str, value: Option<&str>, max_chars: usize) -> Result<(), Error> {
    let Some(value) = value else { return Ok(()) };
    if value.is_empty() {
        return Err(Error::invalid(field, "must not be empty when given"));
    }
    let count = value.chars().count();
    if count > max_chars {
        return Err(Error::invalid(
            field,
            format!("{count} characters, at most {max_chars} allowed"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !is_sepa_char(*c)) {
        return Err(Error::invalid(
            field,
            format!(
                "character {bad:?} (U+{:04X}) is outside the SEPA character set",
                u32::from(bad)
            ),
        ));
    }
    Ok(())
}

/// The EPC "SEPA Requirements for an Extended Character Set (UNICODE Subset)" (EPC217-08): printable
/// Basic Latin, the Latin-1 Supplement letters and signs, Latin Extended-A, the Romanian
/// comma-below letters, Greek, and the euro sign. Control characters, emoji, CJK, and other scripts
/// are outside it.
pub fn is_sepa_char(c: char) -> bool {
    matches!(c,
        ' '..='~'
        | '\u{00A0}'..='\u{00FF}'
        | '\u{0100}'..='\u{017F}'
        | '\u{0218}'..='\u{021B}'
        | '\u{0386}'..='\u{03CE}'
        | '€'
    ) && !matches!(c, '\u{00A0}' | '\u{00AD}')
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn eur(cents: i64) -> Money {
        Money::from_minor(cents, Currency::EUR)
    }

    fn field_of(err: Error) -> String {
        match err {
            Error::InvalidInput { field, .. } => field,
            other => format!("not InvalidInput: {other:?}"),
        }
    }

    fn check(req: &CreatePaymentRequest) -> Result<(), Error> {
        req.validate(Environment::Production, 999_999)
    }

    #[test]
    fn a_complete_request_passes() {
        let req = CreatePaymentRequest::new(eur(1250))
            .reference("order-1234 é/ß")
            .bulk_id("Bulk-1-200")
            .description("Two coffees, Café Élise € 12,50")
            .callback_url("https://shop.example/payconiq/callback")
            .return_url("https://shop.example/return")
            .shop("shop-1", "Café Élise");
        check(&req).unwrap();
    }

    #[test]
    fn amount_must_be_euro_and_in_range() {
        let usd = Money::from_minor(100, Currency::USD);
        assert_eq!(
            field_of(check(&CreatePaymentRequest::new(usd)).unwrap_err()),
            "currency"
        );
        for bad in [0, -1, 1_000_000] {
            assert_eq!(
                field_of(check(&CreatePaymentRequest::new(eur(bad))).unwrap_err()),
                "amount"
            );
        }
        check(&CreatePaymentRequest::new(eur(1))).unwrap();
        check(&CreatePaymentRequest::new(eur(999_999))).unwrap();
        CreatePaymentRequest::new(eur(5_000_000))
            .validate(Environment::Production, 10_000_000)
            .unwrap();
    }

    #[test]
    fn lengths_are_counted_in_characters() {
        let ok = CreatePaymentRequest::new(eur(1)).reference("é".repeat(35));
        check(&ok).unwrap();
        let cases = [
            (
                CreatePaymentRequest::new(eur(1)).reference("x".repeat(36)),
                "reference",
            ),
            (
                CreatePaymentRequest::new(eur(1)).bulk_id("x".repeat(36)),
                "bulkId",
            ),
            (
                CreatePaymentRequest::new(eur(1)).description("x".repeat(141)),
                "description",
            ),
            (
                CreatePaymentRequest::new(eur(1)).shop("x".repeat(37), "n"),
                "shopId",
            ),
            (
                CreatePaymentRequest::new(eur(1)).shop("i", "x".repeat(37)),
                "shopName",
            ),
            (
                CreatePaymentRequest::new(eur(1)).pos_id("x".repeat(37)),
                "posId",
            ),
            (CreatePaymentRequest::new(eur(1)).reference(""), "reference"),
        ];
        for (req, field) in cases {
            assert_eq!(field_of(check(&req).unwrap_err()), field);
        }
        check(&CreatePaymentRequest::new(eur(1)).description("x".repeat(140))).unwrap();
    }

    #[test]
    fn texts_must_use_the_sepa_character_set() {
        for bad in [
            "pay 🍕",
            "订单",
            "line\nbreak",
            "tab\there",
            "zero\u{200B}width",
            "nbsp\u{00A0}",
        ] {
            let req = CreatePaymentRequest::new(eur(1)).description(bad);
            assert_eq!(field_of(check(&req).unwrap_err()), "description", "{bad:?}");
        }
        for good in [
            "ÀÉÎÕÜ àéîõü ÿ",
            "Łódź Świętokrzyska",
            "Ștefan",
            "Ελλάδα",
            "a-b/c?d:e(f).g,h'i+j",
        ] {
            check(&CreatePaymentRequest::new(eur(1)).description(good)).unwrap();
        }
    }

    #[test]
    fn callback_url_must_be_https_in_production_only() {
        let http = CreatePaymentRequest::new(eur(1)).callback_url("http://shop.example/cb");
        assert_eq!(field_of(check(&http).unwrap_err()), "callbackUrl");
        http.validate(Environment::PreProduction, 999_999).unwrap();
        for bad in [
            "shop.example/cb",
            "ftp://shop.example/cb",
            "https://",
            "https://sh op.example",
        ] {
            let req = CreatePaymentRequest::new(eur(1)).callback_url(bad);
            assert_eq!(field_of(check(&req).unwrap_err()), "callbackUrl", "{bad}");
        }
        let req = CreatePaymentRequest::new(eur(1)).return_url("nope");
        assert_eq!(field_of(check(&req).unwrap_err()), "returnUrl");
    }

    #[test]
    fn acknowledge_is_validated() {
        AcknowledgeRequest::new(eur(100))
            .reference("r")
            .validate(999_999)
            .unwrap();
        assert_eq!(
            field_of(
                AcknowledgeRequest::new(eur(0))
                    .validate(999_999)
                    .unwrap_err()
            ),
            "amount"
        );
        assert_eq!(
            field_of(
                AcknowledgeRequest::new(eur(1))
                    .reference("x".repeat(36))
                    .validate(999_999)
                    .unwrap_err()
            ),
            "reference"
        );
    }
}
