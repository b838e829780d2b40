//! The redirect callback: the payer's browser returning to `redirect_uri`.
//!
//! Fintecture appends `session_id`, `status`, `provider`, `customer_id` and `state` to the
//! redirect URI. Anyone can type such a URL, so none of it is trusted: [`RedirectCallback`]
//! parses the query, [`RedirectCallback::check_state`] compares `state` with what the merchant
//! stored for the order (in constant time), and the client's
//! `FintectureClient::confirm_redirect` then fetches the real status by `session_id`. The
//! query's own `status` is kept only as [`RedirectCallback::untrusted_status`].

use payments_core::Error;
use payments_core::webhook::constant_time_eq;

use crate::request::check_session_id;
use crate::webhook::parse_form;

/// The query string of a redirect back from Fintecture Connect. Nothing in it is verified.
#[derive(Debug, Clone, PartialEq, Eq)]
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

    /// Refuses a redirect whose `state` is not the one stored for the order.
    pub fn check_state(&self, expected_state: &str) -> Result<(), Error> {
        match &self.state {
            Some(state) if constant_time_eq(state.as_bytes(), expected_state.as_bytes()) => Ok(()),
            Some(_) => Err(Error::invalid(
                "state",
                "the redirect's state does not match the stored order",
            )),
            None => Err(Error::invalid("state", "missing from the redirect query")),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_query_and_checks_state() {
        let cb = RedirectCallback::from_query(
            "https://shop.example/return?session_id=44f00841780445d4981be9ea2f8aafae&status=payment_created&provider=cmcifr2a&customer_id=3621eacaccd04fa772638dec70da323c&state=order%2D42",
        )
        .unwrap();
        assert_eq!(cb.session_id, "44f00841780445d4981be9ea2f8aafae");
        assert_eq!(cb.untrusted_status.as_deref(), Some("payment_created"));
        assert_eq!(cb.provider.as_deref(), Some("cmcifr2a"));
        assert!(cb.check_state("order-42").is_ok());
        assert!(cb.check_state("order-43").is_err());
        assert!(RedirectCallback::from_query("status=payment_created").is_err());
        let no_state = RedirectCallback::from_query("?session_id=abc").unwrap();
        assert!(no_state.check_state("order-42").is_err());
    }
}
