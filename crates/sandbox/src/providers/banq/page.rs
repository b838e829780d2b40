//! Banq's payment-link page (the sandbox's stand-in for what a Banq payment link opens), under
//! `/banq/link`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use payments_core::{Currency, Money};

use super::act;
use super::model::{ACCOUNTS, Payment, is};
use crate::Provider;
use crate::app::App;
use crate::support::lock;
use crate::support::page::{self, Button, HostedPage, Page};

const PROVIDER: &str = "Banq";

pub(super) fn router() -> Router<App> {
    Router::new().route("/link/{code}", get(link_page).post(link_action))
}

/// The page of the link with code `code`.
pub(super) fn link_url(app: &App, code: &str) -> String {
    format!("{}/link/{code}", app.provider_url(Provider::Banq))
}

fn hosted(app: &App, code: &str) -> HostedPage {
    HostedPage {
        provider: PROVIDER,
        what: "payment link",
        url: link_url(app, code),
    }
}

/// The payment link's page: what is paid, to whom, and the payer's buttons.
fn link_view(app: &App, p: &Payment, notice: Option<&str>) -> Page {
    let amount = Money::from_decimal(p.funds, Currency::USD)
        .map_or_else(|_| format!("{} USD", p.funds), |m| m.to_string());
    let payee = ACCOUNTS
        .iter()
        .find(|(guid, _, _)| *guid == p.destination)
        .map_or(p.destination.as_str(), |(_, name, _)| *name);
    let shown_status = p.shown_status();
    let mut page = Page::new(PROVIDER, format!("Pay {amount}")).facts(&[
        ("Amount", &amount),
        ("To", payee),
        ("For", p.comment.as_deref().unwrap_or("-")),
        ("Order", p.external_order_code.as_deref().unwrap_or("-")),
        ("Payment", &p.id),
        ("Status", &shown_status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    let here = link_url(app, &p.code);
    let pending = is(&p.status, "pending");
    if !p.is_open() {
        let explanation = match p.status.trim().to_ascii_lowercase().as_str() {
            "completed" => "Paid: the funds were sent from your banq account.",
            "failed" => "The payment failed (insufficient balance).",
            "cancelled" => "You cancelled this payment.",
            _ => "The payment is no longer open.",
        };
        // Banq documents no return URL for payment links: the payer stays with Banq.
        return page.outcome(&p.status, explanation, None);
    }
    if p.awaiting_otp {
        page = page.otp_step(
            "Your bank asks for a one-time code",
            &here,
            &[("action", "otp")],
        );
    } else {
        page = page.button(
            &here,
            &[],
            Button::new("pay", &format!("Pay {amount}")).sends("action", "pay"),
        );
        page = page.button(
            &here,
            &[],
            Button::new("fail", "Pay, but the balance is insufficient").sends("action", "fail"),
        );
    }
    if pending {
        page = page.button(
            &here,
            &[],
            Button::new("cancel", "Cancel").sends("action", "cancel"),
        );
    }
    page
}

fn payment_of_link(app: &App, code: &str) -> Option<Payment> {
    lock(&app.banq.store)
        .payments
        .iter()
        .find(|p| p.code == code)
        .cloned()
}

/// `GET /link/{code}`: the sandbox's stand-in for Banq's payment-link page.
async fn link_page(State(app): State<App>, Path(code): Path<String>) -> Response {
    match payment_of_link(&app, &code) {
        Some(p) => link_view(&app, &p, None).render(),
        None => hosted(&app, &code).not_found(),
    }
}

/// `POST /link/{code}` (form `action=pay|fail|cancel|otp`, `code=` for `otp`): the payer acts,
/// then sees the link page again, which says how the payment ended.
async fn link_action(State(app): State<App>, Path(code): Path<String>, body: Bytes) -> Response {
    let hosted = hosted(&app, &code);
    let Some(p) = payment_of_link(&app, &code) else {
        return hosted.not_found();
    };
    let Some(action) = hosted.requested_action(&body) else {
        return hosted.bad_form();
    };
    let outcome = act(&app, &p.id, action).await;
    hosted.answer(
        outcome,
        |notice| payment_of_link(&app, &code).map(|p| link_view(&app, &p, notice)),
        || page::see_other(&hosted.url),
    )
}
