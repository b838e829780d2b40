//! Typed requests, validated before anything is sent.

use payments_core::{Error, Money};

use crate::wire::{Beneficiary, PsuAddress};
#[cfg(feature = "client")]
use crate::wire::{
    ConnectAttributes, ConnectBody, ConnectData, ConnectMeta, RefundBody, RefundBodyAttributes,
    RefundBodyData, RefundBodyMeta,
};

/// Longest `communication` accepted: a SEPA unstructured remittance text.
pub const MAX_COMMUNICATION: usize = 140;

/// Longest session id accepted in a path or body.
pub const MAX_SESSION_ID: usize = 128;

/// A payment session (`POST /pis/v2/connect`): the amount, the remittance text, the `state`
/// echoed back on the redirect, and every documented `meta` field about the payer.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ConnectRequest {
    /// What to charge (sent as a decimal string in major units, `"550.60"`).
    pub amount: Money,
    /// Remittance text: put the merchant order reference here (reconciliation, refunds).
    pub communication: String,
    /// Opaque value echoed on the redirect; store it with the order and compare on return.
    pub state: String,
    /// Where the payer returns after paying.
    pub redirect_uri: String,
    /// Where the payer returns when abandoning (optional).
    pub origin_uri: Option<String>,
    /// Payer's name.
    pub psu_name: Option<String>,
    /// Payer's e-mail.
    pub psu_email: Option<String>,
    /// Payer's phone number.
    pub psu_phone: Option<String>,
    /// Payer's phone prefix (`+33`).
    pub psu_phone_prefix: Option<String>,
    /// Payer's IP address.
    pub psu_ip: Option<String>,
    /// Payer's company (B2B).
    pub psu_company: Option<String>,
    /// Payer's company registration number (B2B).
    pub psu_incorporation: Option<String>,
    /// Payer's postal address.
    pub psu_address: Option<PsuAddress>,
    /// Seconds the session stays payable.
    pub expiry: Option<u64>,
    /// Reconciliation options, passed through as given.
    pub reconciliation: Option<serde_json::Value>,
    /// Payment methods offered, passed through as given.
    pub payment_methods: Option<Vec<serde_json::Value>>,
    /// The account to credit, when not the application's default.
    pub beneficiary: Option<Beneficiary>,
    /// End-to-end id.
    pub end_to_end_id: Option<String>,
    /// Requested execution date, `YYYY-MM-DD`.
    pub execution_date: Option<String>,
    /// Payment scheme (`SEPA`, `INSTANT_SEPA`).
    pub scheme: Option<String>,
}

macro_rules! setters {
    ($($(#[$m:meta])* $name:ident),* $(,)?) => {
        $(
            $(#[$m])*
            pub fn $name(mut self, value: impl Into<String>) -> Self {
                self.$name = Some(value.into());
                self
            }
        )*
    };
}

impl ConnectRequest {
    /// A session for `amount`, with `communication` (the order reference), the `state` to check
    /// on return, and the `redirect_uri`.
    pub fn new(
        amount: Money,
        communication: impl Into<String>,
        state: impl Into<String>,
        redirect_uri: impl Into<String>,
    ) -> Self {
        ConnectRequest {
            amount,
            communication: communication.into(),
            state: state.into(),
            redirect_uri: redirect_uri.into(),
            origin_uri: None,
            psu_name: None,
            psu_email: None,
            psu_phone: None,
            psu_phone_prefix: None,
            psu_ip: None,
            psu_company: None,
            psu_incorporation: None,
            psu_address: None,
            expiry: None,
            reconciliation: None,
            payment_methods: None,
            beneficiary: None,
            end_to_end_id: None,
            execution_date: None,
            scheme: None,
        }
    }

    setters! {
        /// Sets `origin_uri`.
        origin_uri,
        /// Sets `psu_name`.
        psu_name,
        /// Sets `psu_email`.
        psu_email,
        /// Sets `psu_phone`.
        psu_phone,
        /// Sets `psu_phone_prefix`.
        psu_phone_prefix,
        /// Sets `psu_ip`.
        psu_ip,
        /// Sets `psu_company`.
        psu_company,
        /// Sets `psu_incorporation`.
        psu_incorporation,
        /// Sets `end_to_end_id`.
        end_to_end_id,
        /// Sets `execution_date` (`YYYY-MM-DD`).
        execution_date,
        /// Sets `scheme`.
        scheme,
    }

    /// Sets the payer's address.
    pub fn psu_address(mut self, address: PsuAddress) -> Self {
        self.psu_address = Some(address);
        self
    }

    /// Sets how long the session stays payable.
    pub fn expiry(mut self, expiry: std::time::Duration) -> Self {
        self.expiry = Some(expiry.as_secs());
        self
    }

    /// Sets the reconciliation options.
    pub fn reconciliation(mut self, value: serde_json::Value) -> Self {
        self.reconciliation = Some(value);
        self
    }

    /// Sets the payment methods.
    pub fn payment_methods(mut self, methods: Vec<serde_json::Value>) -> Self {
        self.payment_methods = Some(methods);
        self
    }

    /// Sets the beneficiary.
    pub fn beneficiary(mut self, beneficiary: Beneficiary) -> Self {
        self.beneficiary = Some(beneficiary);
        self
    }

    /// Checks the request before it is sent.
    pub fn validate(&self) -> Result<(), Error> {
        if !self.amount.is_positive() {
            return Err(Error::invalid("amount", "must be positive"));
        }
        check_text("communication", &self.communication, MAX_COMMUNICATION)?;
        check_text("state", &self.state, 512)?;
        check_uri("redirect_uri", &self.redirect_uri)?;
        if let Some(origin) = &self.origin_uri {
            check_uri("origin_uri", origin)?;
        }
        if self.expiry == Some(0) {
            return Err(Error::invalid("expiry", "must be at least one second"));
        }
        if let Some(date) = &self.execution_date {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(date, format)
                .map_err(|_| Error::invalid("execution_date", "must be YYYY-MM-DD"))?;
        }
        Ok(())
    }

    #[cfg(feature = "client")]
    pub(crate) fn body(&self) -> ConnectBody<'_> {
        ConnectBody {
            meta: ConnectMeta {
                psu_name: self.psu_name.as_deref(),
                psu_email: self.psu_email.as_deref(),
                psu_phone: self.psu_phone.as_deref(),
                psu_phone_prefix: self.psu_phone_prefix.as_deref(),
                psu_ip: self.psu_ip.as_deref(),
                psu_company: self.psu_company.as_deref(),
                psu_incorporation: self.psu_incorporation.as_deref(),
                psu_address: self.psu_address.as_ref(),
                expiry: self.expiry,
                reconciliation: self.reconciliation.as_ref(),
                payment_methods: self.payment_methods.as_deref(),
            },
            data: ConnectData {
                kind: "payments",
                attributes: ConnectAttributes {
                    amount: self.amount.to_decimal_string(),
                    currency: self.amount.currency().code(),
                    communication: &self.communication,
                    beneficiary: self.beneficiary.as_ref(),
                    end_to_end_id: self.end_to_end_id.as_deref(),
                    execution_date: self.execution_date.as_deref(),
                    scheme: self.scheme.as_deref(),
                },
            },
        }
    }
}

/// A refund (`POST /pis/v2/refund`) of part or all of a paid session; repeated refunds are
/// allowed up to the paid amount.
///
/// Give the refunds already made with [`RefundPaymentRequest::previous_refunds`] and the client
/// refuses, before sending, a refund that would take the total above what was paid (the paid
/// amount is [`RefundPaymentRequest::paid`], or fetched from the payment when not given).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefundPaymentRequest {
    /// The paid session to refund.
    pub session_id: String,
    /// How much to refund now.
    pub amount: Money,
    /// Remittance text of the refund.
    pub communication: Option<String>,
    /// `state` query parameter, echoed in the refund's webhooks.
    pub state: Option<String>,
    /// What the payer paid, if the caller knows it.
    pub paid: Option<Money>,
    /// Refunds already made on this session (the history), when the caller tracks them.
    pub previous_refunds: Option<Vec<Money>>,
}

impl RefundPaymentRequest {
    /// A refund of `amount` on `session_id`.
    pub fn new(session_id: impl Into<String>, amount: Money) -> Self {
        RefundPaymentRequest {
            session_id: session_id.into(),
            amount,
            communication: None,
            state: None,
            paid: None,
            previous_refunds: None,
        }
    }

    /// Sets the remittance text.
    pub fn communication(mut self, communication: impl Into<String>) -> Self {
        self.communication = Some(communication.into());
        self
    }

    /// Sets the `state`.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(state.into());
        self
    }

    /// Sets the amount the payer paid.
    pub fn paid(mut self, paid: Money) -> Self {
        self.paid = Some(paid);
        self
    }

    /// Sets the refunds already made on this session.
    pub fn previous_refunds(mut self, refunds: impl IntoIterator<Item = Money>) -> Self {
        self.previous_refunds = Some(refunds.into_iter().collect());
        self
    }

    /// Checks what can be checked without the paid amount.
    pub fn validate(&self) -> Result<(), Error> {
        check_session_id(&self.session_id)?;
        if !self.amount.is_positive() {
            return Err(Error::invalid("amount", "a refund must be positive"));
        }
        if let Some(c) = &self.communication {
            check_text("communication", c, MAX_COMMUNICATION)?;
        }
        if let Some(s) = &self.state {
            check_text("state", s, 512)?;
        }
        Ok(())
    }

    /// Refuses a refund that takes the total refunded above `paid`.
    pub fn check_total(&self, paid: Money) -> Result<(), Error> {
        let previous = self.previous_refunds.as_deref().unwrap_or_default();
        let mut total = self.amount;
        for refund in previous {
            if !refund.is_positive() {
                return Err(Error::invalid(
                    "previous_refunds",
                    "every previous refund must be positive",
                ));
            }
            total = total.checked_add(*refund)?;
        }
        let over = total.checked_sub(paid)?;
        if over.is_positive() {
            return Err(Error::invalid(
                "amount",
                format!(
                    "refunding {} would bring the total refunded to {} {}, above the {} {} paid",
                    self.amount.to_decimal_string(),
                    total.to_decimal_string(),
                    total.currency(),
                    paid.to_decimal_string(),
                    paid.currency()
                ),
            ));
        }
        Ok(())
    }

    #[cfg(feature = "client")]
    pub(crate) fn body(&self) -> RefundBody<'_> {
        RefundBody {
            meta: RefundBodyMeta {
                session_id: &self.session_id,
            },
            data: RefundBodyData {
                attributes: RefundBodyAttributes {
                    amount: self.amount.to_decimal_string(),
                    communication: self.communication.as_deref(),
                },
            },
        }
    }
}

/// Filters and paging of `GET /pis/v2/payments`; unset ones are not sent.
///
/// Paging is documented in Fintecture's *Pagination* guide
/// (<https://doc.fintecture.com/docs/api-pagination>): `page[number]` and `page[size]` (default
/// 100), `meta.totalItems` / `meta.totalPages` and `links.next` / `links.self` in the answer.
/// The filter names are not spelled out there and are *inferred* from Fintecture's JSON:API
/// conventions (`filter[...]`): `filter[status]`, `filter[date_from]`, `filter[date_to]` and
/// `filter[communication]`. A server that ignored a filter would answer more payments, never
/// fewer: `FintectureClient::find_by_reference` (feature `client`) checks the
/// `communication` of every payment it returns itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListPaymentsQuery {
    /// `filter[status]`.
    pub status: Option<String>,
    /// `filter[date_from]` (`YYYY-MM-DD`).
    pub date_from: Option<String>,
    /// `filter[date_to]` (`YYYY-MM-DD`).
    pub date_to: Option<String>,
    /// `filter[communication]`: the remittance text given at creation (the order reference).
    pub communication: Option<String>,
    /// `page[number]` (from 1).
    pub page_number: Option<u32>,
    /// `page[size]`.
    pub page_size: Option<u32>,
}

impl ListPaymentsQuery {
    /// No filters.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only payments in `status`.
    pub fn status(mut self, status: impl Into<String>) -> Self {
        self.status = Some(status.into());
        self
    }

    /// Only payments between two dates (`YYYY-MM-DD`).
    pub fn dates(mut self, from: impl Into<String>, to: impl Into<String>) -> Self {
        self.date_from = Some(from.into());
        self.date_to = Some(to.into());
        self
    }

    /// Only payments whose `communication` is `communication` (the merchant order reference the
    /// neutral `checkout` puts there).
    pub fn communication(mut self, communication: impl Into<String>) -> Self {
        self.communication = Some(communication.into());
        self
    }

    /// One page.
    pub fn page(mut self, number: u32, size: u32) -> Self {
        self.page_number = Some(number);
        self.page_size = Some(size);
        self
    }

    /// Checks the query before it is sent: a `communication` filter is 1 to 140 characters
    /// without control characters, and page numbers and sizes start at 1.
    pub fn validate(&self) -> Result<(), Error> {
        if let Some(c) = &self.communication {
            check_text("communication", c, MAX_COMMUNICATION)?;
        }
        if self.page_number == Some(0) {
            return Err(Error::invalid("page[number]", "pages are numbered from 1"));
        }
        if self.page_size == Some(0) {
            return Err(Error::invalid("page[size]", "must be at least 1"));
        }
        Ok(())
    }

    /// The query pairs, in a fixed order.
    pub fn pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(v) = &self.status {
            pairs.push(("filter[status]", v.clone()));
        }
        if let Some(v) = &self.date_from {
            pairs.push(("filter[date_from]", v.clone()));
        }
        if let Some(v) = &self.date_to {
            pairs.push(("filter[date_to]", v.clone()));
        }
        if let Some(v) = &self.communication {
            pairs.push(("filter[communication]", v.clone()));
        }
        if let Some(v) = self.page_number {
            pairs.push(("page[number]", v.to_string()));
        }
        if let Some(v) = self.page_size {
            pairs.push(("page[size]", v.to_string()));
        }
        pairs
    }
}

/// Refuses empty, too long or control-character-bearing session ids.
pub fn check_session_id(session_id: &str) -> Result<(), Error> {
    if session_id.is_empty()
        || session_id.len() > MAX_SESSION_ID
        || session_id.chars().any(char::is_control)
    {
        return Err(Error::invalid(
            "session_id",
            format!("must be 1 to {MAX_SESSION_ID} printable characters"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str, max: usize) -> Result<(), Error> {
    if value.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(Error::invalid(field, format!("at most {max} characters")));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(field, "must not contain control characters"));
    }
    Ok(())
}

fn check_uri(field: &str, value: &str) -> Result<(), Error> {
    let ok = (value.starts_with("https://") || value.starts_with("http://"))
        && !value.chars().any(|c| c.is_control() || c == ' ');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(field, "must be an absolute http(s) URL"))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use payments_core::Currency;

    fn eur(cents: i64) -> Money {
        Money::from_minor(cents, Currency::EUR)
    }

    #[test]
    fn refund_totals_never_exceed_what_was_paid() {
        let r = RefundPaymentRequest::new("s1", eur(500)).previous_refunds([eur(300), eur(200)]);
        assert!(r.check_total(eur(1000)).is_ok());
        assert!(r.check_total(eur(999)).is_err());
        let r = RefundPaymentRequest::new("s1", eur(1001));
        assert!(r.check_total(eur(1000)).is_err());
        let r = RefundPaymentRequest::new("s1", eur(1)).previous_refunds([eur(-5)]);
        assert!(r.check_total(eur(1000)).is_err());
        let r = RefundPaymentRequest::new("s1", Money::from_minor(1, Currency::USD));
        assert!(r.check_total(eur(1000)).is_err(), "currency mismatch");
    }

    #[test]
    fn list_queries_are_checked_and_keep_their_order() {
        let q = ListPaymentsQuery::new()
            .status("payment_created")
            .dates("2021-02-01", "2021-02-28")
            .communication("B34970692")
            .page(2, 50);
        assert!(q.validate().is_ok());
        let names: Vec<&str> = q.pairs().iter().map(|(k, _)| *k).collect();
        assert_eq!(
            names,
            [
                "filter[status]",
                "filter[date_from]",
                "filter[date_to]",
                "filter[communication]",
                "page[number]",
                "page[size]"
            ]
        );
        let field = |q: ListPaymentsQuery| match q.validate() {
            Err(Error::InvalidInput { field, .. }) => field,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            field(ListPaymentsQuery::new().communication(" ")),
            "communication"
        );
        assert_eq!(
            field(ListPaymentsQuery::new().communication("a\nb")),
            "communication"
        );
        assert_eq!(field(ListPaymentsQuery::new().page(0, 10)), "page[number]");
        assert_eq!(field(ListPaymentsQuery::new().page(1, 0)), "page[size]");
    }

    #[test]
    fn connect_validation() {
        let ok = ConnectRequest::new(eur(100), "order-1", "st", "https://shop/cb");
        assert!(ok.validate().is_ok());
        let cases = [
            (ConnectRequest::new(eur(0), "o", "s", "https://x"), "amount"),
            (
                ConnectRequest::new(eur(1), " ", "s", "https://x"),
                "communication",
            ),
            (ConnectRequest::new(eur(1), "o", "", "https://x"), "state"),
            (
                ConnectRequest::new(eur(1), "o", "s", "shop/cb"),
                "redirect_uri",
            ),
            (
                ConnectRequest::new(eur(1), "o", "s", "https://x").execution_date("28/02/2021"),
                "execution_date",
            ),
            (
                ConnectRequest::new(eur(1), "o".repeat(141), "s", "https://x"),
                "communication",
            ),
        ];
        for (request, field) in cases {
            match request.validate() {
                Err(Error::InvalidInput { field: f, .. }) => assert_eq!(f, field),
                other => panic!("expected {field}: {other:?}"),
            }
        }
    }
}
