//! Fintecture's redirect return (feature `fintecture`): the payer's browser back from
//! Fintecture Connect, confirmed by a fetch and recorded in the ledger.
//!
//! Fintecture appends `session_id`, `status`, `state` and more to the `redirect_uri` given at
//! creation; anyone can type such a URL, so nothing in it is trusted. [`RedirectReturn`]:
//!
//! 1. finds the order the ledger holds for the query's `session_id` (the provider payment id of
//!    a payment created with [`Ledger::create_once`]);
//! 2. rebuilds the [`StoredSession`] from what the ledger stored: the session id, the merchant
//!    reference as `state` and as `communication` (where the neutral `checkout` puts it),
//!    and the order's amount;
//! 3. calls [`FintectureClient::confirm_redirect`]: the query's `session_id` and `state` must be
//!    the stored ones, and the payment fetched from Fintecture must carry the order's amount,
//!    currency and communication;
//! 4. records the fetched status with [`Ledger::observe`] (`Source::Redirect`), where it is
//!    applied by the same precedence rules as a webhook;
//! 5. sends the payer to the merchant's page for the outcome (or shows a small page).
//!
//! The query's own `status` is never used. The neutral creation uses the merchant reference as
//! `state`, which is not a secret: what makes the outcome trustworthy is the fetch (step 3), not
//! the `state`; a forged return at most makes this server fetch the real status once more.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use payments_core::provider_support::percent_encode;
use payments_fintecture::callback::RedirectCallback;
use payments_fintecture::convert::to_payment;
use payments_fintecture::{FintectureClient, RedirectError, StoredSession};
use payments_ledger::{Ledger, LedgerPayment, Source};

/// The provider name Fintecture's payments carry in the ledger.
const PROVIDER: &str = "fintecture";

/// Where a payer's return stands, after it was confirmed (or not).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReturnOutcome {
    /// The ledger holds the order as paid ([`LedgerPayment::is_paid`]).
    Paid {
        /// The merchant reference.
        reference: String,
    },
    /// Not final yet (the bank is still processing): the webhook or the reconciler will tell.
    Pending {
        /// The merchant reference.
        reference: String,
    },
    /// Final and not paid (rejected, cancelled, expired), or held for review.
    NotPaid {
        /// The merchant reference.
        reference: String,
    },
    /// The return could not be confirmed; nothing was recorded.
    Unconfirmed {
        /// The HTTP status of the page shown.
        status: u16,
        /// One line for the log (never the `state`).
        reason: String,
    },
}

impl ReturnOutcome {
    /// `paid`, `pending`, `not_paid` or `unconfirmed`: the `{outcome}` of
    /// [`RedirectReturn::outcome_url`].
    pub fn name(&self) -> &'static str {
        match self {
            ReturnOutcome::Paid { .. } => "paid",
            ReturnOutcome::Pending { .. } => "pending",
            ReturnOutcome::NotPaid { .. } => "not_paid",
            ReturnOutcome::Unconfirmed { .. } => "unconfirmed",
        }
    }

    /// The merchant reference, when the order was found.
    pub fn reference(&self) -> Option<&str> {
        match self {
            ReturnOutcome::Paid { reference }
            | ReturnOutcome::Pending { reference }
            | ReturnOutcome::NotPaid { reference } => Some(reference),
            ReturnOutcome::Unconfirmed { .. } => None,
        }
    }

    fn of(payment: &LedgerPayment) -> Self {
        let reference = payment.reference.clone();
        if payment.is_paid() {
            ReturnOutcome::Paid { reference }
        } else if payment.status.is_final() || payment.review.is_some() {
            ReturnOutcome::NotPaid { reference }
        } else {
            ReturnOutcome::Pending { reference }
        }
    }
}

fn unconfirmed(status: StatusCode, reason: impl Into<String>) -> ReturnOutcome {
    ReturnOutcome::Unconfirmed {
        status: status.as_u16(),
        reason: reason.into(),
    }
}

/// Handles the payer's return from Fintecture Connect into the ledger.
///
/// ```no_run
/// # async fn run(ledger: payments_ledger::Ledger, client: std::sync::Arc<payments_fintecture::FintectureClient>) {
/// use payments_axum::fintecture::RedirectReturn;
///
/// // Create payments with `return_url` = "https://shop.example/fintecture/return".
/// let app = axum::Router::new().merge(
///     RedirectReturn::new(ledger, client)
///         .outcome_url("https://shop.example/orders/{reference}?payment={outcome}")
///         .router("/fintecture/return"),
/// );
/// # let _ = app; }
/// ```
#[derive(Clone)]
pub struct RedirectReturn {
    ledger: Ledger,
    client: Arc<FintectureClient>,
    outcome_url: Option<String>,
}

impl std::fmt::Debug for RedirectReturn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedirectReturn")
            .field("outcome_url", &self.outcome_url)
            .finish_non_exhaustive()
    }
}

impl RedirectReturn {
    /// Returns confirmed with `client` into `ledger`.
    pub fn new(ledger: Ledger, client: Arc<FintectureClient>) -> Self {
        RedirectReturn {
            ledger,
            client,
            outcome_url: None,
        }
    }

    /// Sends the payer (303) to `template` with `{reference}` (percent-encoded) and `{outcome}`
    /// ([`ReturnOutcome::name`]) filled in. Without it the payer sees a small page saying the
    /// outcome.
    pub fn outcome_url(mut self, template: impl Into<String>) -> Self {
        self.outcome_url = Some(template.into());
        self
    }

    /// Confirms a return whose query string is `query` (`session_id=..&state=..&status=..`).
    pub async fn confirm(&self, query: &str) -> ReturnOutcome {
        let callback = match RedirectCallback::from_query(query) {
            Ok(callback) => callback,
            Err(e) => return unconfirmed(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let payment = match self
            .ledger
            .payment_by_provider_id(PROVIDER, &callback.session_id)
            .await
        {
            Ok(Some(payment)) => payment,
            Ok(None) => {
                return unconfirmed(
                    StatusCode::NOT_FOUND,
                    "no order in the ledger for this payment session",
                );
            }
            Err(e) => return unconfirmed(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        };
        let stored = StoredSession::new(
            callback.session_id.clone(),
            payment.reference.clone(),
            payment.amount,
            payment.reference.clone(),
        );
        let confirmed = match self.client.confirm_redirect(query, &stored).await {
            Ok(confirmed) => confirmed,
            Err(e @ RedirectError::Fetch(_)) => {
                return unconfirmed(StatusCode::BAD_GATEWAY, e.to_string());
            }
            Err(e) => return unconfirmed(StatusCode::BAD_REQUEST, e.to_string()),
        };
        let fetched = match to_payment(&confirmed.payment, serde_json::Value::Null) {
            Ok(fetched) => fetched,
            Err(e) => return unconfirmed(StatusCode::BAD_GATEWAY, e.to_string()),
        };
        if let Err(e) = self
            .ledger
            .observe(PROVIDER, &fetched, Source::Redirect)
            .await
        {
            return unconfirmed(StatusCode::SERVICE_UNAVAILABLE, e.to_string());
        }
        match self
            .ledger
            .payment_by_provider_id(PROVIDER, &callback.session_id)
            .await
        {
            Ok(Some(payment)) => ReturnOutcome::of(&payment),
            Ok(None) => unconfirmed(StatusCode::NOT_FOUND, "the order disappeared"),
            Err(e) => unconfirmed(StatusCode::SERVICE_UNAVAILABLE, e.to_string()),
        }
    }

    /// A router serving `GET path` (the `redirect_uri` given at creation, without its query).
    pub fn router(self, path: &str) -> Router {
        Router::new()
            .route(path, get(handle_return))
            .with_state(Arc::new(self))
    }

    fn respond(&self, outcome: &ReturnOutcome) -> Response {
        if let Some(template) = &self.outcome_url {
            let location = template
                .replace(
                    "{reference}",
                    &percent_encode(outcome.reference().unwrap_or_default()),
                )
                .replace("{outcome}", outcome.name());
            return (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
        }
        let (status, text) = match outcome {
            ReturnOutcome::Paid { reference } => (
                StatusCode::OK,
                format!(
                    "Thank you: the payment of order {} is received.",
                    html(reference)
                ),
            ),
            ReturnOutcome::Pending { reference } => (
                StatusCode::OK,
                format!(
                    "Thank you: the payment of order {} is being processed by your bank.",
                    html(reference)
                ),
            ),
            ReturnOutcome::NotPaid { reference } => (
                StatusCode::OK,
                format!("Order {} is not paid.", html(reference)),
            ),
            ReturnOutcome::Unconfirmed { status, .. } => (
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST),
                "This payment could not be confirmed.".to_string(),
            ),
        };
        (
            status,
            Html(format!(
                "<!doctype html><meta charset=\"utf-8\"><title>Payment</title><p>{text}</p>\n"
            )),
        )
            .into_response()
    }
}

async fn handle_return(
    State(this): State<Arc<RedirectReturn>>,
    RawQuery(query): RawQuery,
) -> Response {
    let span = tracing::info_span!(
        "fintecture_return",
        reference = tracing::field::Empty,
        outcome = tracing::field::Empty
    );
    let outcome = {
        use tracing::Instrument as _;
        this.confirm(query.as_deref().unwrap_or_default())
            .instrument(span.clone())
            .await
    };
    if let Some(reference) = outcome.reference() {
        span.record("reference", reference);
    }
    span.record("outcome", outcome.name());
    span.in_scope(|| match &outcome {
        ReturnOutcome::Unconfirmed { status, reason } => {
            tracing::warn!(status, %reason, "payer's return not confirmed");
        }
        _ => tracing::info!("payer's return confirmed"),
    });
    this.respond(&outcome)
}

/// Escapes text for an HTML page.
fn html(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_are_encoded_for_urls_and_pages() {
        assert_eq!(
            percent_encode("order 1/2&x=é"),
            "order%201%2F2%26x%3D%C3%A9"
        );
        assert_eq!(percent_encode("A-b_c.d~"), "A-b_c.d~");
        assert_eq!(html("<b>&\"</b>"), "&lt;b&gt;&amp;&quot;&lt;/b&gt;");
    }
}
