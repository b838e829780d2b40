//! The payment to create, validated before anything is sent.

use payments_core::provider_support::http_url;
use payments_core::{Currency, Decimal, Error, Money};
use serde::Serialize;

use crate::payment_page::check_segment;
use crate::wire::AdditionalField;

/// Longest `redirectionUrl`, in characters as Paylican (Java) counts them: UTF-16 code units.
pub const MAX_REDIRECTION_URL: usize = 900;

/// `POST {payment}/api/v1/payment`. Serializes to exactly Paylican's JSON, in the documented
/// field order; `amount` is a JSON number written digit for digit (`5100.00` stays `5100.00`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CreatePaymentRequest {
    /// Amount to be paid, in major units (a Java `BigDecimal`).
    pub amount: Decimal,
    /// Payment type (also a segment of the payment-page URL).
    #[serde(rename = "type")]
    pub payment_type: String,
    /// The code of the customer who is billed and pays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub customer_code: Option<String>,
    /// The merchant's reference of the document being paid (also a payment-page URL segment).
    pub merchant_reference: String,
    /// Where the payer returns after a successful payment (at most 900 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redirection_url: Option<String>,
    /// What is paid for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub item_name: Option<String>,
    /// Beneficiary code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beneficiary_code: Option<String>,
    /// Meta information echoed in webhooks.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub additional_fields: Vec<AdditionalField>,
}

impl CreatePaymentRequest {
    /// A payment of `amount` (major units, exact) of `payment_type` for `merchant_reference`.
    pub fn new(
        amount: Decimal,
        payment_type: impl Into<String>,
        merchant_reference: impl Into<String>,
    ) -> Self {
        CreatePaymentRequest {
            amount,
            payment_type: payment_type.into(),
            customer_code: None,
            merchant_reference: merchant_reference.into(),
            redirection_url: None,
            item_name: None,
            beneficiary_code: None,
            additional_fields: Vec::new(),
        }
    }

    /// A payment of `money` in major units with the currency's decimals (`Money` of 510000 EUR
    /// cents is `5100.00`; 5100 GNF is `5100`).
    pub fn from_money(
        money: Money,
        payment_type: impl Into<String>,
        merchant_reference: impl Into<String>,
    ) -> Self {
        Self::new(money.to_decimal(), payment_type, merchant_reference)
    }

    /// Sets the customer code.
    pub fn customer_code(mut self, code: impl Into<String>) -> Self {
        self.customer_code = Some(code.into());
        self
    }

    /// Sets the redirection URL.
    pub fn redirection_url(mut self, url: impl Into<String>) -> Self {
        self.redirection_url = Some(url.into());
        self
    }

    /// Sets the item name.
    pub fn item_name(mut self, name: impl Into<String>) -> Self {
        self.item_name = Some(name.into());
        self
    }

    /// Sets the beneficiary code.
    pub fn beneficiary_code(mut self, code: impl Into<String>) -> Self {
        self.beneficiary_code = Some(code.into());
        self
    }

    /// Adds an additional field.
    pub fn additional_field(mut self, code: impl Into<String>, value: impl Into<String>) -> Self {
        self.additional_fields
            .push(AdditionalField::new(code, value));
        self
    }

    /// Checks the request locally. With `currency` (the account's), the amount must also be
    /// representable in it (no more decimals than the currency has).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn validate(&self, currency: Option<Currency>) -> Result<(), Error> {
        if self.amount.mantissa() <= 0 {
            return Err(Error::invalid("amount", "must be greater than zero"));
        }
        if let Some(currency) = currency {
            Money::from_decimal(self.amount, currency)?;
        }
        check_segment("type", &self.payment_type)?;
        check_segment("merchantReference", &self.merchant_reference)?;
        if let Some(url) = &self.redirection_url {
            check_redirection_url(url)?;
        }
        for (field, value) in [
            ("customerCode", &self.customer_code),
            ("itemName", &self.item_name),
            ("beneficiaryCode", &self.beneficiary_code),
        ] {
            if let Some(value) = value
                && value.chars().any(char::is_control)
            {
                return Err(Error::invalid(field, "must not contain control characters"));
            }
        }
        Ok(())
    }
}

fn check_redirection_url(url: &str) -> Result<(), Error> {
    let units = url.encode_utf16().count();
    if units > MAX_REDIRECTION_URL {
        return Err(Error::invalid(
            "redirectionUrl",
            format!("{units} characters; Paylican accepts at most {MAX_REDIRECTION_URL}"),
        ));
    }
    http_url("redirectionUrl", url, None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn request() -> CreatePaymentRequest {
        CreatePaymentRequest::new(Decimal::parse("5100.00").unwrap(), "XYZ", "REF-1234")
    }

    #[test]
    fn redirection_url_is_limited_to_900_utf16_units() {
        let base = "https://merchant-url.com/";
        let exact = format!("{base}{}", "a".repeat(900 - base.len()));
        assert!(request().redirection_url(&exact).validate(None).is_ok());
        let over = format!("{exact}a");
        let err = request().redirection_url(over).validate(None).unwrap_err();
        assert!(err.to_string().contains("redirectionUrl"), "{err}");
        // '𝄞' is one char but two UTF-16 units, as Java counts it.
        let astral = format!("{base}{}", "𝄞".repeat(438));
        assert_eq!(astral.chars().count(), 463);
        assert!(request().redirection_url(astral).validate(None).is_err());
        assert!(
            request()
                .redirection_url("/relative")
                .validate(None)
                .is_err()
        );
        assert!(
            request()
                .redirection_url("javascript:alert(1)")
                .validate(None)
                .is_err()
        );
    }

    #[test]
    fn amounts_must_be_positive_and_fit_the_account_currency() {
        let with = |a: &str| CreatePaymentRequest::new(Decimal::parse(a).unwrap(), "XYZ", "R");
        assert!(with("0").validate(None).is_err());
        assert!(with("-1.00").validate(None).is_err());
        assert!(with("0.10").validate(None).is_ok());
        assert!(with("0.10").validate(Some(Currency::EUR)).is_ok());
        assert!(with("0.10").validate(Some(Currency::GNF)).is_err());
        assert!(with("5100.00").validate(Some(Currency::GNF)).is_ok());
        assert!(with("1.005").validate(Some(Currency::EUR)).is_err());
    }

    #[test]
    fn path_fields_are_checked() {
        let mut r = request();
        r.merchant_reference = "..".into();
        assert!(r.validate(None).is_err());
        let mut r = request();
        r.payment_type = String::new();
        assert!(r.validate(None).is_err());
        assert!(request().item_name("a\u{0}b").validate(None).is_err());
    }

    #[test]
    fn from_money_uses_the_currency_decimals() {
        let r =
            CreatePaymentRequest::from_money(Money::from_minor(510_000, Currency::EUR), "X", "R");
        assert_eq!(r.amount.to_string(), "5100.00");
        let r = CreatePaymentRequest::from_money(Money::from_minor(5100, Currency::GNF), "X", "R");
        assert_eq!(r.amount.to_string(), "5100");
    }
}
