//! The redirect callback: the payer's browser returning to `redirect_uri`.
//!
//! Fintecture appends `session_id`, `status`, `provider`, `customer_id` and `state` to the
//! redirect URI. Anyone can type such a URL, so none of it is trusted. When it creates the
//! session the merchant keeps a [`StoredSession`] with the order (the session id, the `state`,
//! the amount and the `communication`); on the payer's return the client's
//! `FintectureClient::confirm_redirect`:
//!
//! 1. parses the query ([`RedirectCallback`]);
//! 2. requires its `session_id` to be the stored one and its `state` to be the stored one (both
//!    compared in constant time) — otherwise nothing is fetched;
//! 3. fetches the payment by the stored session id, and requires Fintecture's answer to be about
//!    that session, with the order's currency, amount and `communication`.
//!
//! Any difference is a [`RedirectError`] that names the field. Binding the redirect to the
//! stored session is what stops a payer who paid a cheap order B from returning with B's
//! `session_id` and the `state` of an expensive order A: checking `state` alone would report
//! order A paid. The query's own `status` is kept only as [`RedirectCallback::untrusted_status`].

use std::fmt;

use payments_core::provider_support::constant_time_eq;
use payments_core::{Error, Money};

use crate::request::{ConnectRequest, check_session_id};
use crate::webhook::parse_form;
use crate::wire::ConnectSession;

/// The query string of a redirect back from Fintecture Connect. Nothing in it is verified.
/// `Debug` does not show the `state`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedirectCallback {
    /// The payment session to fetch.
    pub session_id: String,
    /// The `state` given at creation; compare it with the stored one.
    pub state: Option<String>,
    /// The status the query claims. **Never act on it**: fetch the payment.
    pub untrusted_status: Option<String>,
    /// The payer's bank, as claimed.
    pub provider: Option<String>,
    /// The payer's id, as claimed.
    pub customer_id: Option<String>,
}

impl fmt::Debug for RedirectCallback {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedirectCallback")
            .field("session_id", &self.session_id)
            .field("state", &self.state.as_ref().map(|_| "[REDACTED]"))
            .field("untrusted_status", &self.untrusted_status)
            .field("provider", &self.provider)
            .field("customer_id", &self.customer_id)
            .finish()
    }
}

impl RedirectCallback {
    /// Parses a query string (with or without the leading `?`, or a whole URL).
    pub fn from_query(query: &str) -> Result<Self, Error> {
        let query = match query.split_once('?') {
            Some((_, q)) => q,
            None => query,
        };
        let query = query.split('#').next().unwrap_or_default();
        let fields = parse_form(query.as_bytes())
            .map_err(|e| Error::invalid("redirect query", e.to_string()))?;
        let get = |k: &str| fields.get(k).filter(|v| !v.is_empty()).cloned();
        let session_id = get("session_id")
            .ok_or_else(|| Error::invalid("session_id", "missing from the redirect query"))?;
        check_session_id(&session_id)?;
        Ok(RedirectCallback {
            session_id,
            state: get("state"),
            untrusted_status: get("status"),
            provider: get("provider"),
            customer_id: get("customer_id"),
        })
    }
}

/// What the merchant stores with the order when it creates a payment session, and gives back to
/// `FintectureClient::confirm_redirect` when the payer returns: the session id, the `state`, the
/// amount and the `communication`.
///
/// Build it from the connect request and Fintecture's answer
/// ([`StoredSession::from_connect`]) so no field can be forgotten, persist its four parts with the
/// order, and rebuild it with [`StoredSession::new`]. `Debug` never shows the `state` (it is
/// what authenticates the payer's return); amounts and references are not secret.
#[derive(Clone)]
pub struct StoredSession {
    session_id: String,
    state: String,
    amount: Money,
    communication: String,
}

impl fmt::Debug for StoredSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredSession")
            .field("session_id", &self.session_id)
            .field("state", &"[REDACTED]")
            .field("amount", &self.amount)
            .field("communication", &self.communication)
            .finish()
    }
}

impl StoredSession {
    /// What to store for a session created from `request`, as Fintecture answered `session`.
    pub fn from_connect(request: &ConnectRequest, session: &ConnectSession) -> Self {
        StoredSession {
            session_id: session.meta.session_id.clone(),
            state: request.state.clone(),
            amount: request.amount,
            communication: request.communication.clone(),
        }
    }

    /// Rebuilds what was stored: the session id, the `state` given at creation, the amount and
    /// the `communication`.
    pub fn new(
        session_id: impl Into<String>,
        state: impl Into<String>,
        amount: Money,
        communication: impl Into<String>,
    ) -> Self {
        StoredSession {
            session_id: session_id.into(),
            state: state.into(),
            amount,
            communication: communication.into(),
        }
    }

    /// The payment session id.
    pub fn session_id(&self) -> &str {
        &self.session_id
    }

    /// The `state` given at creation. Store it with the order; do not log it.
    pub fn state(&self) -> &str {
        &self.state
    }

    /// The order's amount.
    pub fn amount(&self) -> Money {
        self.amount
    }

    /// The `communication` (remittance text) given at creation.
    pub fn communication(&self) -> &str {
        &self.communication
    }

    /// Checks the redirect `callback` against what was stored, before anything is fetched: the
    /// `session_id` and the `state` must be the stored ones (constant time).
    pub fn check_callback(&self, callback: &RedirectCallback) -> Result<(), RedirectError> {
        if !constant_time_eq(callback.session_id.as_bytes(), self.session_id.as_bytes()) {
            return Err(RedirectError::Mismatch {
                field: "session_id",
                expected: self.session_id.clone(),
                actual: callback.session_id.clone(),
            });
        }
        match &callback.state {
            Some(state) if constant_time_eq(state.as_bytes(), self.state.as_bytes()) => Ok(()),
            Some(_) => Err(RedirectError::StateMismatch),
            None => Err(RedirectError::StateMissing),
        }
    }
}

/// Why a payer's return was not confirmed. Its one-line `Display` names the field that differs
/// and, except for the `state` (never shown), the stored and the received values.
#[derive(Debug)]
#[non_exhaustive]
pub enum RedirectError {
    /// The query could not be read (no `session_id`, bad encoding). Nothing was fetched.
    Query(Error),
    /// The query has no `state`. Nothing was fetched.
    StateMissing,
    /// The query's `state` is not the one stored with the order. Nothing was fetched.
    StateMismatch,
    /// Fetching the payment failed (network, Fintecture's refusal, an unreadable answer, an
    /// amount that is not exact in its currency).
    Fetch(Error),
    /// `field` of the query (`session_id`) or of the fetched payment (`session_id`, `currency`,
    /// `amount`, `communication`) differs from what was stored with the order.
    Mismatch {
        /// The field as Fintecture names it.
        field: &'static str,
        /// What the order has.
        expected: String,
        /// What the query or Fintecture's answer has (`absent` when missing).
        actual: String,
    },
}

impl RedirectError {
    /// The field at fault: `redirect query`, `state`, `session_id`, `currency`, `amount`,
    /// `communication`; `None` when the fetch failed.
    pub fn field(&self) -> Option<&str> {
        match self {
            RedirectError::Query(_) => Some("redirect query"),
            RedirectError::StateMissing | RedirectError::StateMismatch => Some("state"),
            RedirectError::Fetch(_) => None,
            RedirectError::Mismatch { field, .. } => Some(field),
        }
    }
}

impl fmt::Display for RedirectError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedirectError::Query(e) => write!(f, "redirect not confirmed: {e}"),
            RedirectError::StateMissing => {
                f.write_str("redirect not confirmed: state is missing from the query")
            }
            RedirectError::StateMismatch => {
                f.write_str("redirect not confirmed: state is not the one stored with the order")
            }
            RedirectError::Fetch(e) => write!(f, "redirect not confirmed: {e}"),
            RedirectError::Mismatch {
                field,
                expected,
                actual,
            } => write!(
                f,
                "redirect not confirmed: {field} is {actual}, the order's is {expected}"
            ),
        }
    }
}

impl std::error::Error for RedirectError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedirectError::Query(e) | RedirectError::Fetch(e) => Some(e),
            _ => None,
        }
    }
}

/// A query or fetch failure is returned as it was; a mismatch becomes
/// [`Error::InvalidInput`] naming the field, with the same one-line reason.
impl From<RedirectError> for Error {
    fn from(e: RedirectError) -> Self {
        match e {
            RedirectError::Query(e) | RedirectError::Fetch(e) => e,
            other => {
                let field = other.field().unwrap_or("redirect").to_string();
                Error::invalid(field, other.to_string())
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_query_and_checks_it_against_the_stored_session() {
        let cb = RedirectCallback::from_query(
            "https://shop.example/return?session_id=44f00841780445d4981be9ea2f8aafae&status=payment_created&provider=cmcifr2a&customer_id=3621eacaccd04fa772638dec70da323c&state=order%2D42",
        )
        .unwrap();
        assert_eq!(cb.session_id, "44f00841780445d4981be9ea2f8aafae");
        assert_eq!(cb.untrusted_status.as_deref(), Some("payment_created"));
        assert_eq!(cb.provider.as_deref(), Some("cmcifr2a"));
        let amount = Money::from_minor(27_300, payments_core::Currency::EUR);
        let stored = |id: &str, state: &str| StoredSession::new(id, state, amount, "B34970692");
        assert!(
            stored("44f00841780445d4981be9ea2f8aafae", "order-42")
                .check_callback(&cb)
                .is_ok()
        );
        let e = stored("44f00841780445d4981be9ea2f8aafae", "order-43")
            .check_callback(&cb)
            .unwrap_err();
        assert!(matches!(e, RedirectError::StateMismatch), "{e:?}");
        assert!(!e.to_string().contains("order-4"), "{e}");
        let e = stored("b0000000000000000000000000000000", "order-42")
            .check_callback(&cb)
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "redirect not confirmed: session_id is 44f00841780445d4981be9ea2f8aafae, the order's is b0000000000000000000000000000000"
        );
        assert!(RedirectCallback::from_query("status=payment_created").is_err());
        let no_state = RedirectCallback::from_query("?session_id=abc").unwrap();
        let e = stored("abc", "order-42")
            .check_callback(&no_state)
            .unwrap_err();
        assert!(matches!(e, RedirectError::StateMissing), "{e:?}");
    }

    #[test]
    fn debug_never_shows_the_state_and_mismatches_convert_naming_the_field() {
        let amount = Money::from_minor(500_000, payments_core::Currency::EUR);
        let stored = StoredSession::new("s1", "secret-state-A", amount, "ORDER-A");
        let shown = format!("{stored:?}");
        assert!(!shown.contains("secret-state-A"), "{shown}");
        assert!(shown.contains("ORDER-A") && shown.contains("s1"), "{shown}");
        let cb = RedirectCallback::from_query("session_id=s1&state=secret-state-A").unwrap();
        let shown = format!("{cb:?}");
        assert!(
            !shown.contains("secret-state-A") && shown.contains("s1"),
            "{shown}"
        );
        let e = RedirectError::Mismatch {
            field: "amount",
            expected: "5000.00 EUR".into(),
            actual: "1.00 EUR".into(),
        };
        assert_eq!(
            e.to_string(),
            "redirect not confirmed: amount is 1.00 EUR, the order's is 5000.00 EUR"
        );
        let core: Error = e.into();
        assert!(
            matches!(core, Error::InvalidInput { ref field, .. } if field == "amount"),
            "{core:?}"
        );
        assert!(!format!("{}", RedirectError::StateMismatch).contains("secret"));
    }
}
