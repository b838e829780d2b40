//! Fintecture's Connect page (where a session's `meta.url` sends the payer), under
//! `/fintecture/connect`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;

use super::act;
use super::model::{SANDBOX_BANK, SCA_REQUIRED, Session};
use crate::app::App;
use crate::support::lock;
use crate::support::page::{self, Button, HostedPage, Page};
use crate::{ControlError, PayerAction, Provider};

const PROVIDER: &str = "Fintecture Connect";

pub(super) fn router() -> Router<App> {
    Router::new().route("/connect/{id}", get(connect_page).post(connect_action))
}

/// The Connect page's URL for session `id` (what the session's `meta.url` says).
pub(super) fn connect_url(app: &App, id: &str) -> String {
    format!("{}/connect/{id}", app.provider_url(Provider::Fintecture))
}

fn hosted(app: &App, id: &str) -> HostedPage {
    HostedPage {
        provider: PROVIDER,
        what: "payment session",
        url: connect_url(app, id),
    }
}

fn find(app: &App, id: &str) -> Option<Session> {
    lock(&app.fintecture.store).session(id).cloned()
}

/// The Connect page: what is paid, and the payer's buttons while the session is open.
fn connect_view(app: &App, s: &Session, notice: Option<&str>) -> Page {
    let amount = format!("{} {}", s.amount_text, s.amount.currency().code());
    let status = s.raw_status();
    let mut page = Page::new(PROVIDER, format!("Pay {amount} by bank transfer")).facts(&[
        ("Amount", &amount),
        ("Communication", &s.communication),
        ("Session", &s.id),
        ("Status", &status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    if s.is_final() {
        // Reached from the control plane (or a stale tab): Fintecture's redirect has happened
        // or will not; the page says where the session stands.
        return page.outcome(
            &status,
            "This payment session is closed.",
            Some(s.redirect_uri.as_str()),
        );
    }
    let here = connect_url(app, &s.id);
    if s.status == SCA_REQUIRED {
        page = page.otp_step(
            "Your bank asks for a one-time code",
            &here,
            &[("action", "otp")],
        );
    } else {
        page = page.button(
            &here,
            &[],
            Button::new("pay", "Pay from my bank").sends("action", "pay"),
        );
    }
    page.button(
        &here,
        &[],
        Button::new("fail", "The bank refuses").sends("action", "fail"),
    )
    .button(
        &here,
        &[],
        Button::new("cancel", "Cancel").sends("action", "cancel"),
    )
}

/// `GET /connect/{session_id}`.
async fn connect_page(State(app): State<App>, Path(id): Path<String>) -> Response {
    match find(&app, &id) {
        Some(s) => connect_view(&app, &s, None).render(),
        None => hosted(&app, &id).not_found(),
    }
}

/// `POST /connect/{session_id}` (form `action=pay|fail|cancel|otp`, `code=` for `otp`): the payer
/// acts, then `303` to the session's `redirect_uri` with Fintecture's query (`session_id`,
/// `status`, `provider`, `customer_id`, `state`), or to `origin_uri` after a cancel when given.
async fn connect_action(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let hosted = hosted(&app, &id);
    let Some(action) = hosted.requested_action(&body) else {
        return hosted.bad_form();
    };
    let cancelled = action == PayerAction::Cancel;
    let outcome = act(&app, &id, action).await;
    hosted.answer(
        outcome,
        |notice| find(&app, &id).map(|s| connect_view(&app, &s, notice)),
        || match find(&app, &id) {
            Some(s) => redirect(&s, cancelled, &hosted),
            None => hosted.not_found(),
        },
    )
}

/// Where Fintecture sends the payer once the session moved: `redirect_uri` with Fintecture's
/// query, or `origin_uri` after a cancel when the merchant gave one.
fn redirect(s: &Session, cancelled: bool, hosted: &HostedPage) -> Response {
    let back = match (&s.origin_uri, cancelled) {
        (Some(origin), true) => origin,
        _ => &s.redirect_uri,
    };
    let Ok(mut url) = reqwest::Url::parse(back) else {
        return page::refused(
            PROVIDER,
            &ControlError::Unsupported("the session's redirect_uri is not a URL".into()),
            &hosted.url,
        );
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("session_id", &s.id)
            .append_pair("status", &s.status)
            .append_pair("provider", s.bank.as_deref().unwrap_or(SANDBOX_BANK))
            .append_pair("customer_id", &s.customer_id);
        if let Some(state) = &s.state {
            q.append_pair("state", state);
        }
    }
    page::see_other(url.as_str())
}
