//! Payconiq's checkout page (what `_links.checkout` opens), under `/payconiq/checkout`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::{get, post};

use super::model::{
    AUTHORIZATION_FAILED, CANCELLED, CREDITOR_NAME, EXPIRED, PENDING_MERCHANT_ACKNOWLEDGEMENT,
    Payment, SUCCEEDED, cancellable, is_open,
};
use super::{act, wire};
use crate::PayerAction;
use crate::app::App;
use crate::support::lock;
use crate::support::page::{self, Button, HostedPage, Page};

const PROVIDER: &str = "Payconiq by Bancontact";

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/checkout/{id}", get(checkout_page))
        .route("/checkout/{id}/{action}", post(checkout_action))
}

fn hosted(app: &App, id: &str) -> HostedPage {
    HostedPage {
        provider: PROVIDER,
        what: "payment",
        url: wire(app).checkout_url(id),
    }
}

fn find(app: &App, id: &str) -> Option<Payment> {
    lock(&app.payconiq.payments)
        .iter()
        .find(|p| p.id == id)
        .cloned()
}

/// The checkout page: what is paid, and the payer's buttons while the payment is open.
fn checkout_view(app: &App, p: &Payment, notice: Option<&str>) -> Page {
    let amount = format!("{}.{:02} {}", p.amount / 100, p.amount % 100, p.currency);
    let mut page = Page::new(PROVIDER, format!("Pay {amount}")).facts(&[
        ("Merchant", p.shop_name.as_deref().unwrap_or(CREDITOR_NAME)),
        ("Amount", &amount),
        ("Description", p.description.as_deref().unwrap_or("-")),
        ("Reference", p.reference.as_deref().unwrap_or("-")),
        ("Payment", &p.id),
        ("Status", &p.status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    if !is_open(&p.status) {
        let explanation = match p.status.as_str() {
            SUCCEEDED => "Paid with the Payconiq app.",
            AUTHORIZATION_FAILED => "Your bank refused the payment.",
            CANCELLED => "The payment was cancelled.",
            EXPIRED => "The payment expired before it was paid.",
            PENDING_MERCHANT_ACKNOWLEDGEMENT => "Paid: the merchant still has to acknowledge it.",
            _ => "The payment is no longer open.",
        };
        return page.outcome(&p.status, explanation, p.return_url.as_deref());
    }
    let here = wire(app).checkout_url(&p.id);
    let action = |name: &str| format!("{here}/{name}");
    if p.otp_pending {
        page = page.otp_step("The app asks for your one-time code", &action("otp"), &[]);
    } else {
        page = page
            .button(
                &action("pay"),
                &[],
                Button::new("pay", &format!("Pay {amount}")),
            )
            .button(
                &action("fail"),
                &[],
                Button::new("fail", "Pay, but the bank refuses"),
            );
    }
    if cancellable(&p.status) {
        page = page.button(&action("cancel"), &[], Button::new("cancel", "Cancel"));
    }
    page
}

/// `GET /checkout/{paymentId}`: the payer's page (what `_links.checkout` points to).
async fn checkout_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Some(p) => checkout_view(&app, &p, None).render(),
        None => hosted(&app, &id).not_found(),
    }
}

/// `POST /checkout/{paymentId}/{pay|fail|cancel|otp}` (form `code=` for `otp`): the payer acts,
/// then `303` to the payment's `returnUrl`, or back to the page (which then says how the
/// payment ended) when the merchant gave none.
async fn checkout_action(
    State(app): State<App>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let action = match action.as_str() {
        "pay" => PayerAction::Pay,
        "fail" => PayerAction::Fail,
        "cancel" => PayerAction::Cancel,
        "otp" => {
            let code = page::form_fields(&body).and_then(|mut f| f.remove("code"));
            PayerAction::SubmitOtp(code.unwrap_or_default().trim().to_owned())
        }
        _ => return page::not_found(PROVIDER, "checkout action"),
    };
    let hosted = hosted(&app, &id);
    let outcome = act(&app, &id, action).await;
    hosted.answer(
        outcome,
        |notice| find(&app, &id).map(|p| checkout_view(&app, &p, notice)),
        || match find(&app, &id).and_then(|p| p.return_url) {
            Some(url) => page::see_other(&url),
            None => page::see_other(&hosted.url),
        },
    )
}
