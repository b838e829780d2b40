//! Paylican's payment page (where Keycloak's login step sends the payer), under
//! `/paylican/api/v1/pay`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::act;
use super::model::{Event, Invoice, PAID, UNPAID};
use crate::Provider;
use crate::app::App;
use crate::support::lock;
use crate::support::page::{self, Button, HostedPage, Page};
use payments_core::provider_support::percent_encode as encode_segment;

const PROVIDER: &str = "Paylican";

pub(super) fn router() -> Router<App> {
    Router::new().route(
        "/api/v1/pay/{payment_type}/{merchant_reference}/{invoice_id}",
        get(payment_page).post(payment_action),
    )
}

/// The payment page's URL for `invoice` (each path segment percent-encoded).
pub(super) fn page_url(app: &App, invoice: &Invoice) -> String {
    format!(
        "{}/api/v1/pay/{}/{}/{}",
        app.provider_url(Provider::Paylican),
        encode_segment(&invoice.payment_type),
        encode_segment(&invoice.merchant_reference),
        encode_segment(&invoice.id)
    )
}

/// The invoice a payment-page path names (all three segments must match).
fn invoice_at(app: &App, payment_type: &str, reference: &str, id: &str) -> Option<Invoice> {
    lock(&app.paylican.invoices)
        .iter()
        .find(|i| i.id == id && i.payment_type == payment_type && i.merchant_reference == reference)
        .cloned()
}

/// The payment page: the invoice, and the payer's buttons while it is payable.
fn payment_view(app: &App, invoice: &Invoice, notice: Option<&str>) -> Page {
    let amount = invoice.amount.to_string();
    let status = invoice.shown_status();
    let mut page = Page::new(PROVIDER, format!("Pay invoice {}", invoice.id)).facts(&[
        ("Invoice", &invoice.id),
        ("Reference", &invoice.merchant_reference),
        ("Item", invoice.item_name.as_deref().unwrap_or("-")),
        ("Amount", &amount),
        ("Status", &status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    } else if invoice.status == UNPAID
        && !invoice.awaiting_otp
        && let Some(last) = invoice.webhooks.last()
    {
        // A failed or declined attempt leaves the invoice payable: say what happened.
        if last.starts_with(Event::Error.wire()) {
            page = page.notice("Your last attempt ended in a payment error: you can try again.");
        } else if last.starts_with(Event::Rejected.wire()) {
            page = page.notice("You declined the last attempt: you can try again.");
        }
    }
    if invoice.status != UNPAID {
        let explanation = if invoice.status == PAID {
            "Paid."
        } else {
            "The invoice is no longer payable."
        };
        return page.outcome(
            &invoice.status,
            explanation,
            invoice.redirection_url.as_deref(),
        );
    }
    let here = page_url(app, invoice);
    if invoice.awaiting_otp {
        page = page.otp_step(
            "Your bank asks for a one-time code",
            &here,
            &[("action", "otp")],
        );
    } else {
        page = page
            .button(
                &here,
                &[],
                Button::new("pay", &format!("Pay {amount}")).sends("action", "pay"),
            )
            .button(
                &here,
                &[],
                Button::new("fail", "Pay, but the bank answers an error").sends("action", "fail"),
            );
    }
    page.button(
        &here,
        &[],
        Button::new("cancel", "Decline").sends("action", "cancel"),
    )
}

fn hosted(app: &App, invoice: &Invoice) -> HostedPage {
    HostedPage {
        provider: PROVIDER,
        what: "payment",
        url: page_url(app, invoice),
    }
}

/// `GET /api/v1/pay/{type}/{merchantReference}/{invoiceId}`: the page the payer lands on after
/// Keycloak.
async fn payment_page(
    State(app): State<App>,
    Path((payment_type, merchant_reference, invoice_id)): Path<(String, String, String)>,
) -> Response {
    match invoice_at(&app, &payment_type, &merchant_reference, &invoice_id) {
        Some(invoice) => payment_view(&app, &invoice, None).render(),
        None => page::not_found(PROVIDER, "payment"),
    }
}

/// `POST` on the payment page (form `action=pay|fail|cancel|otp`, `code=` for `otp`): the payer
/// acts. Paid: `303` to the invoice's `redirectionUrl` (the page itself when it has none, which
/// then says the invoice is paid). A payment error or a decline leaves the invoice payable:
/// `303` back to the page, which says what happened.
async fn payment_action(
    State(app): State<App>,
    Path((payment_type, merchant_reference, invoice_id)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let Some(invoice) = invoice_at(&app, &payment_type, &merchant_reference, &invoice_id) else {
        return page::not_found(PROVIDER, "payment");
    };
    let hosted = hosted(&app, &invoice);
    let Some(action) = hosted.requested_action(&body) else {
        return hosted.bad_form();
    };
    let outcome = act(&app, &invoice.id, action).await;
    let now = || invoice_at(&app, &payment_type, &merchant_reference, &invoice_id);
    hosted.answer(
        outcome,
        |notice| now().map(|invoice| payment_view(&app, &invoice, notice)),
        || match now()
            .filter(|i| i.status == PAID)
            .and_then(|i| i.redirection_url)
        {
            Some(url) => page::see_other(&url),
            None => page::see_other(&hosted.url),
        },
    )
}
