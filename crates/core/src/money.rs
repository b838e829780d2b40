//! Money as integer minor units of an ISO 4217 currency.
//!
//! There is no floating point anywhere in this module. Every conversion is exact: a value with more
//! decimals than its currency has (`"1.005"` EUR, `"10.5"` XOF) is an error, never a rounding, and
//! arithmetic that would overflow is an error, never a panic or a wrap.
//!
//! ```
//! use payments_core::{Currency, Money};
//!
//! let price = Money::from_decimal_str("550.60", Currency::EUR)?;
//! assert_eq!(price.minor_units(), 55_060);
//! assert_eq!(price.to_decimal_string(), "550.60");
//!
//! // West African CFA francs have no minor unit: "5100" is 5100 francs.
//! let xof = Money::from_decimal_str("5100", Currency::XOF)?;
//! assert_eq!(xof.minor_units(), 5_100);
//! assert!(Money::from_decimal_str("5100.5", Currency::XOF).is_err());
//! # Ok::<(), payments_core::MoneyError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an amount could not be built or combined. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MoneyError {
    /// The text is not a plain decimal number (`"12"`, `"12.5"`, `"-0.01"`).
    #[error("not a decimal amount: {0:?}")]
    Syntax(String),
    /// The value has more decimals than the currency's exponent allows.
    #[error("{value} has {decimals} decimals but {currency} has {exponent}")]
    TooManyDecimals {
        /// The offending text, as given.
        value: String,
        /// Decimals found.
        decimals: u32,
        /// The currency.
        currency: Currency,
        /// Decimals the currency has.
        exponent: u8,
    },
    /// The value does not fit in 64-bit minor units.
    #[error("amount out of range")]
    Overflow,
    /// Two amounts in different currencies were combined.
    #[error("currency mismatch: {0} and {1}")]
    CurrencyMismatch(Currency, Currency),
    /// The currency code is not an ISO 4217 code this crate knows the exponent of.
    #[error("unknown currency code {0:?}")]
    UnknownCurrency(String),
}

macro_rules! currencies {
    ($($code:ident = $exp:literal, $name:literal;)*) => {
        /// An ISO 4217 currency with its minor-unit exponent.
        ///
        /// Only currencies whose exponent is known are representable, so every [`Money`] converts exactly.
        #[allow(clippy::upper_case_acronyms)]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Currency {
            $(
                #[doc = $name]
                $code,
            )*
        }

        impl Currency {
            /// Every currency this crate knows.
            pub const ALL: &'static [Currency] = &[$(Currency::$code),*];

            /// The three-letter ISO 4217 code.
            pub const fn code(self) -> &'static str {
                match self { $(Currency::$code => stringify!($code),)* }
            }

            /// The number of decimals of the minor unit (EUR 2, XOF 0, KWD 3).
            pub const fn exponent(self) -> u8 {
                match self { $(Currency::$code => $exp,)* }
            }

            /// Looks a currency up by its ISO 4217 code (case-sensitive, as on the wire).
            pub fn from_code(code: &str) -> Result<Self, MoneyError> {
                match code {
                    $(stringify!($code) => Ok(Currency::$code),)*
                    other => Err(MoneyError::UnknownCurrency(other.chars().take(8).collect())),
                }
            }
        }
    };
}

currencies! {
    EUR = 2, "Euro";
    USD = 2, "US dollar";
    GBP = 2, "Pound sterling";
    CHF = 2, "Swiss franc";
    CAD = 2, "Canadian dollar";
    SEK = 2, "Swedish krona";
    DKK = 2, "Danish krone";
    NOK = 2, "Norwegian krone";
    PLN = 2, "Polish zloty";
    CZK = 2, "Czech koruna";
    HUF = 2, "Hungarian forint";
    RON = 2, "Romanian leu";
    MAD = 2, "Moroccan dirham";
    CDF = 2, "Congolese franc";
    NGN = 2, "Nigerian naira";
    GHS = 2, "Ghanaian cedi";
    KES = 2, "Kenyan shilling";
    ZAR = 2, "South African rand";
    XOF = 0, "West African CFA franc (BCEAO)";
    XAF = 0, "Central African CFA franc (BEAC)";
    GNF = 0, "Guinean franc";
    RWF = 0, "Rwandan franc";
    UGX = 0, "Ugandan shilling";
    BIF = 0, "Burundian franc";
    DJF = 0, "Djiboutian franc";
    KMF = 0, "Comorian franc";
    JPY = 0, "Japanese yen";
    KWD = 3, "Kuwaiti dinar";
    BHD = 3, "Bahraini dinar";
    TND = 3, "Tunisian dinar";
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::from_code(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Currency::from_code(&code).map_err(serde::de::Error::custom)
    }
}

/// An exact decimal number as a provider writes it: `"550.60"`, `5100.00`, `-3`.
///
/// It remembers the digits it was given (`5100.00` keeps its two decimals), so it serializes back
/// exactly; equality and hashing compare values (`5100.00 == 5100`). Use [`Money::from_decimal`]
/// to turn it into money.
///
/// In JSON it deserializes from a number *or* a string without ever passing through `f64`, and
/// serializes as a JSON number — when serde_json reads or writes **text** (`from_slice`,
/// `from_str`, `to_vec`, `to_string`). Going through `serde_json::Value` (`json!`, `to_value`,
/// `from_value`) converts numbers to `f64` and loses that exactness, and `#[serde(flatten)]` or
/// untagged enums cannot carry it: decode provider bodies straight from their bytes.
#[derive(Debug, Clone, Copy)]
pub struct Decimal {
    /// All digits as one integer (`550.60` -> 55060).
    mantissa: i128,
    /// Number of digits after the point (`550.60` -> 2).
    scale: u32,
}

/// Longest text accepted as a decimal; far beyond any real amount, it bounds the work on hostile input.
const MAX_DECIMAL_LEN: usize = 40;

impl Decimal {
    /// Most digits after the point (an `i128` holds at most 38 significant digits).
    pub const MAX_SCALE: u32 = 38;

    /// Builds `mantissa × 10^-scale`; a scale above [`Decimal::MAX_SCALE`] is an error.
    pub const fn new(mantissa: i128, scale: u32) -> Result<Self, MoneyError> {
        if scale > Self::MAX_SCALE {
            return Err(MoneyError::Overflow);
        }
        Ok(Decimal { mantissa, scale })
    }

    /// The same value without trailing zeros after the point (`5100.00` → `5100`).
    pub const fn normalized(self) -> Self {
        let (mut mantissa, mut scale) = (self.mantissa, self.scale);
        while scale > 0 && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        Decimal { mantissa, scale }
    }

    /// The digits as one integer.
    pub const fn mantissa(self) -> i128 {
        self.mantissa
    }

    /// Digits after the decimal point.
    pub const fn scale(self) -> u32 {
        self.scale
    }

    /// Parses plain decimal notation: optional `-`, digits, optional `.` and digits. No exponent, no
    /// `+`, no spaces, no thousands separators.
    pub fn parse(text: &str) -> Result<Self, MoneyError> {
        let syntax = || MoneyError::Syntax(text.chars().take(MAX_DECIMAL_LEN).collect());
        if text.len() > MAX_DECIMAL_LEN {
            return Err(syntax());
        }
        let (negative, digits) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (int_part, frac_part) = match digits.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (digits, None),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if int_part.is_empty() || !all_digits(int_part) {
            return Err(syntax());
        }
        if let Some(f) = frac_part
            && (f.is_empty() || !all_digits(f))
        {
            return Err(syntax());
        }
        let frac = frac_part.unwrap_or("");
        let mut mantissa: i128 = 0;
        for b in int_part.bytes().chain(frac.bytes()) {
            mantissa = mantissa
                .checked_mul(10)
                .and_then(|m| m.checked_add(i128::from(b - b'0')))
                .ok_or(MoneyError::Overflow)?;
        }
        if negative {
            mantissa = -mantissa;
        }
        let scale = u32::try_from(frac.len()).map_err(|_| syntax())?;
        Decimal::new(mantissa, scale)
    }
}

impl PartialEq for Decimal {
    fn eq(&self, other: &Self) -> bool {
        let (a, b) = (self.normalized(), other.normalized());
        a.mantissa == b.mantissa && a.scale == b.scale
    }
}

impl Eq for Decimal {}

impl std::hash::Hash for Decimal {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let n = self.normalized();
        n.mantissa.hash(state);
        n.scale.hash(state);
    }
}

impl fmt::Display for Decimal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sign = if self.mantissa < 0 { "-" } else { "" };
        let abs = self.mantissa.unsigned_abs();
        if self.scale == 0 {
            return write!(f, "{sign}{abs}");
        }
        let digits = abs.to_string();
        let scale = self.scale as usize;
        let padded = if digits.len() <= scale {
            format!("{}{digits}", "0".repeat(scale - digits.len() + 1))
        } else {
            digits
        };
        let (int_part, frac_part) = padded.split_at(padded.len() - scale);
        write!(f, "{sign}{int_part}.{frac_part}")
    }
}

impl FromStr for Decimal {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Decimal::parse(s)
    }
}

impl Serialize for Decimal {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A RawValue is written verbatim by serde_json: `5100.00` stays `5100.00`.
        let raw = serde_json::value::RawValue::from_string(self.to_string())
            .map_err(serde::ser::Error::custom)?;
        raw.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Decimal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Read the raw JSON token so a number never goes through f64.
        let raw = <Box<serde_json::value::RawValue>>::deserialize(d)?;
        let text = raw.get();
        let text = if let Some(quoted) = text.strip_prefix('"') {
            quoted.strip_suffix('"').unwrap_or(quoted)
        } else {
            text
        };
        Decimal::parse(text).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: integer minor units of a [`Currency`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Minor units (cents for EUR, francs for XOF).
    minor: i64,
    currency: Currency,
}

impl Money {
    /// Money from minor units (`1050` EUR is €10.50).
    pub const fn from_minor(minor: i64, currency: Currency) -> Self {
        Money { minor, currency }
    }

    /// Zero in a currency.
    pub const fn zero(currency: Currency) -> Self {
        Money { minor: 0, currency }
    }

    /// The amount in minor units.
    pub const fn minor_units(self) -> i64 {
        self.minor
    }

    /// The currency.
    pub const fn currency(self) -> Currency {
        self.currency
    }

    /// True for a strictly positive amount.
    pub const fn is_positive(self) -> bool {
        self.minor > 0
    }

    /// Exact conversion from a decimal in major units. More decimals than the currency has is an
    /// error (trailing zeros are fine: `"5100.00"` XOF is 5100); out of range is an error.
    pub fn from_decimal(value: Decimal, currency: Currency) -> Result<Self, MoneyError> {
        let exponent = u32::from(currency.exponent());
        let mut mantissa = value.mantissa;
        let mut scale = value.scale;
        // Drop trailing zeros beyond the currency's exponent: 5100.00 XOF is exact.
        while scale > exponent && mantissa % 10 == 0 {
            mantissa /= 10;
            scale -= 1;
        }
        if scale > exponent {
            return Err(MoneyError::TooManyDecimals {
                value: value.to_string(),
                decimals: value.scale,
                currency,
                exponent: currency.exponent(),
            });
        }
        let factor = 10i128
            .checked_pow(exponent - scale)
            .ok_or(MoneyError::Overflow)?;
        let minor = mantissa.checked_mul(factor).ok_or(MoneyError::Overflow)?;
        let minor = i64::try_from(minor).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// Exact conversion from a decimal string in major units (`"550.60"`).
    pub fn from_decimal_str(text: &str, currency: Currency) -> Result<Self, MoneyError> {
        Money::from_decimal(Decimal::parse(text)?, currency)
    }

    /// The amount in major units with exactly the currency's decimals (`"550.60"`, `"5100"` for XOF).
    pub fn to_decimal(self) -> Decimal {
        Decimal {
            mantissa: i128::from(self.minor),
            scale: self.currency.exponent() as u32,
        }
    }

    /// [`Money::to_decimal`] as text.
    pub fn to_decimal_string(self) -> String {
        self.to_decimal().to_string()
    }

    /// Sum of two amounts of the same currency.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_add(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    /// Difference of two amounts of the same currency.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        let minor = self
            .minor
            .checked_sub(other.minor)
            .ok_or(MoneyError::Overflow)?;
        Ok(Money { minor, ..self })
    }

    fn same_currency(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch(self.currency, other.currency))
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.to_decimal(), self.currency)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exponents_follow_iso_4217() {
        let expected = [
            (Currency::EUR, 2),
            (Currency::USD, 2),
            (Currency::GBP, 2),
            (Currency::XOF, 0),
            (Currency::XAF, 0),
            (Currency::GNF, 0),
            (Currency::CDF, 2),
            (Currency::MAD, 2),
            (Currency::KWD, 3),
        ];
        for (currency, exponent) in expected {
            assert_eq!(currency.exponent(), exponent, "{currency}");
            assert_eq!(Currency::from_code(currency.code()).unwrap(), currency);
        }
        assert_eq!(
            Currency::from_code("XYZ"),
            Err(MoneyError::UnknownCurrency("XYZ".into()))
        );
        assert!(Currency::from_code("eur").is_err());
    }

    #[test]
    fn decimal_strings_convert_exactly() {
        let m = Money::from_decimal_str("550.60", Currency::EUR).unwrap();
        assert_eq!(m.minor_units(), 55_060);
        assert_eq!(m.to_decimal_string(), "550.60");
        assert_eq!(
            Money::from_decimal_str("5100.00", Currency::EUR)
                .unwrap()
                .minor_units(),
            510_000
        );
        assert_eq!(
            Money::from_decimal_str("5100.00", Currency::XOF)
                .unwrap()
                .minor_units(),
            5_100
        );
        assert_eq!(
            Money::from_decimal_str("1.5", Currency::EUR)
                .unwrap()
                .minor_units(),
            150
        );
        assert_eq!(
            Money::from_decimal_str("0.01", Currency::EUR)
                .unwrap()
                .to_decimal_string(),
            "0.01"
        );
        assert_eq!(
            Money::from_decimal_str("-0.01", Currency::EUR)
                .unwrap()
                .minor_units(),
            -1
        );
        assert_eq!(
            Money::from_minor(5100, Currency::XOF).to_decimal_string(),
            "5100"
        );
        assert_eq!(
            Money::from_minor(1, Currency::KWD).to_decimal_string(),
            "0.001"
        );
    }

    #[test]
    fn too_many_decimals_is_an_error_never_a_rounding() {
        let err = Money::from_decimal_str("1.005", Currency::EUR).unwrap_err();
        assert!(matches!(
            err,
            MoneyError::TooManyDecimals {
                decimals: 3,
                exponent: 2,
                ..
            }
        ));
        assert!(Money::from_decimal_str("10.5", Currency::XOF).is_err());
        assert!(Money::from_decimal_str("0.0001", Currency::KWD).is_err());
    }

    #[test]
    fn malformed_text_is_rejected() {
        for bad in [
            "", "-", ".5", "5.", "1e3", "+1", " 1", "1 ", "1,00", "NaN", "1.2.3", "--1", "0x10",
            "١٢",
        ] {
            assert!(Decimal::parse(bad).is_err(), "{bad:?} must be rejected");
        }
        assert!(Decimal::parse(&"9".repeat(200)).is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        assert_eq!(
            Money::from_decimal_str("92233720368547758.08", Currency::EUR),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::from_decimal_str("99999999999999999999999999999999999999", Currency::EUR),
            Err(MoneyError::Overflow)
        );
        let max = Money::from_minor(i64::MAX, Currency::EUR);
        assert_eq!(
            max.checked_add(Money::from_minor(1, Currency::EUR)),
            Err(MoneyError::Overflow)
        );
        let min = Money::from_minor(i64::MIN, Currency::EUR);
        assert_eq!(min.to_decimal_string(), "-92233720368547758.08");
        assert_eq!(
            min.checked_sub(Money::from_minor(1, Currency::EUR)),
            Err(MoneyError::Overflow)
        );
    }

    #[test]
    fn arithmetic_refuses_mixed_currencies() {
        let eur = Money::from_minor(100, Currency::EUR);
        let usd = Money::from_minor(100, Currency::USD);
        assert_eq!(
            eur.checked_add(usd),
            Err(MoneyError::CurrencyMismatch(Currency::EUR, Currency::USD))
        );
        assert_eq!(
            eur.checked_sub(Money::from_minor(30, Currency::EUR))
                .unwrap()
                .minor_units(),
            70
        );
    }

    #[test]
    fn json_numbers_never_pass_through_f64() {
        #[derive(Deserialize, Serialize)]
        struct Wire {
            amount: Decimal,
        }
        // 0.1 + 0.2 style values and long mantissas survive exactly.
        let w: Wire = serde_json::from_str(r#"{"amount": 5100.00}"#).unwrap();
        assert_eq!(w.amount, Decimal::new(510_000, 2).unwrap());
        assert_eq!(
            w.amount,
            Decimal::new(5100, 0).unwrap(),
            "equality compares values"
        );
        assert_eq!(w.amount.to_string(), "5100.00", "while the digits are kept");
        assert_eq!(serde_json::to_string(&w).unwrap(), r#"{"amount":5100.00}"#);
        let w: Wire = serde_json::from_str(r#"{"amount": 90071992547409.93}"#).unwrap();
        assert_eq!(
            Money::from_decimal(w.amount, Currency::EUR)
                .unwrap()
                .minor_units(),
            9_007_199_254_740_993
        );
        let w: Wire = serde_json::from_str(r#"{"amount": "550.60"}"#).unwrap();
        assert_eq!(w.amount.to_string(), "550.60");
        assert!(serde_json::from_str::<Wire>(r#"{"amount": 1e3}"#).is_err());
        assert!(serde_json::from_str::<Wire>(r#"{"amount": true}"#).is_err());
        assert!(serde_json::from_str::<Wire>(r#"{"amount": null}"#).is_err());
    }

    #[test]
    fn currency_serializes_as_its_code() {
        assert_eq!(serde_json::to_string(&Currency::XAF).unwrap(), r#""XAF""#);
        assert_eq!(
            serde_json::from_str::<Currency>(r#""GNF""#).unwrap(),
            Currency::GNF
        );
        assert!(serde_json::from_str::<Currency>(r#""ABC""#).is_err());
    }

    fn any_currency() -> impl Strategy<Value = Currency> {
        proptest::sample::select(Currency::ALL)
    }

    proptest! {
        #[test]
        fn minor_units_round_trip_through_decimal_strings(minor in any::<i64>(), currency in any_currency()) {
            let money = Money::from_minor(minor, currency);
            let text = money.to_decimal_string();
            prop_assert_eq!(Money::from_decimal_str(&text, currency), Ok(money));
        }

        #[test]
        fn minor_units_round_trip_through_json_numbers(minor in any::<i64>(), currency in any_currency()) {
            let money = Money::from_minor(minor, currency);
            let json = serde_json::to_string(&money.to_decimal()).unwrap();
            let back: Decimal = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(Money::from_decimal(back, currency), Ok(money));
        }

        #[test]
        fn trailing_zeros_never_change_the_value(minor in -1_000_000_000i64..1_000_000_000, zeros in 0usize..6) {
            let text = format!("{}{}", Money::from_minor(minor, Currency::EUR).to_decimal_string(), "0".repeat(zeros));
            prop_assert_eq!(Money::from_decimal_str(&text, Currency::EUR).map(Money::minor_units), Ok(minor));
        }

        #[test]
        fn an_extra_nonzero_decimal_is_always_rejected(minor in any::<i64>(), digit in 1u8..10, currency in any_currency()) {
            let mut text = Money::from_minor(minor, currency).to_decimal_string();
            if currency.exponent() == 0 { text.push('.'); }
            text.push(char::from(b'0' + digit));
            let is_too_many_decimals = matches!(
                Money::from_decimal_str(&text, currency),
                Err(MoneyError::TooManyDecimals { .. })
            );
            prop_assert!(is_too_many_decimals);
        }

        #[test]
        fn parsing_arbitrary_text_never_panics(text in "\\PC{0,60}") {
            let _ = Decimal::parse(&text);
            let _ = Money::from_decimal_str(&text, Currency::EUR);
        }
    }
}
