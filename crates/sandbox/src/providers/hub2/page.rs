//! The sandbox's payer pages for HUB2, under `/hub2/_sandbox`: the stand-in for a merchant's
//! payer page (`/_sandbox/pay`), and the stand-in for the wallet's or card network's page a
//! `redirection` next action sends the payer to (`/_sandbox/checkout`).
//!
//! HUB2 hosts no payment page: the merchant's own page asks the payer how to pay, runs the
//! attempt with the intent's token (`POST /payment-intents/{id}/payments`), then follows the
//! attempt's next action — a one-time code sent to `POST .../authentication`, a redirection to
//! the wallet's page, or a USSD confirmation on the payer's phone. This page does the same, so
//! that a merchant's integration can be clicked through before its own page exists: point the
//! client's `payer_page_url` at `{sandbox}/hub2/_sandbox/pay/{intent_id}`, optionally with
//! `?return_url=<where the payer goes once paid>` (an absolute http(s) URL, percent-encoded).
//!
//! | route | what |
//! |---|---|
//! | `GET /_sandbox/pay/{intentId}` | the intent and what the payer can do now: choose Orange Money (OTP), Wave (redirection) or MTN (USSD) while it is `payment_required`; the code field, the wallet link or the phone's buttons while an attempt waits; how it ended once it is not payable |
//! | `POST /_sandbox/pay/{intentId}` | form `choice=orange\|wave\|mtn`, `msisdn`, `return_url`: the attempt, sent to HUB2's payer API over HTTP (it appears in `GET /_sandbox/requests`); a redirection is followed (`303` to the wallet's page, whose success URL is the return URL), any other next action brings the payer back here |
//! | `POST /_sandbox/pay/{intentId}/otp` | form `code`, `return_url`: `POST .../authentication`; paid → `303` to the return URL (or back here, where the page says it is paid); a wrong code → this page again, `422` |
//! | `POST /_sandbox/pay/{intentId}/phone` | form `answer=confirm\|decline`, `return_url`: the payer's phone answering the USSD prompt (the simulated payer: `pay`, or `cancel` which leaves the intent payable) |
//!
//! What a real merchant page adds and this one does not: the merchant's own order view, card
//! payments, and polling the intent's status while a USSD or Wave payment is confirmed elsewhere
//! (reload the page instead).

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::model::{ACTION_REQUIRED, PAYMENT_REQUIRED, PROCESSING, SUCCESSFUL};
use crate::app::App;
use crate::support::page::{self as pages, Button, Input, Page};
use crate::support::{form_params, is_http_url, lock};
use crate::{PayerAction, Provider, SANDBOX_OTP};

const TITLE: &str = "HUB2 (merchant payer page stand-in)";
/// The phone number the form starts with (an Ivorian mobile number).
const DEFAULT_MSISDN: &str = "+2250700000000";

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/_sandbox/checkout/{payment_id}", get(checkout_page))
        .route(
            "/_sandbox/checkout/{payment_id}/{choice}",
            post(checkout_choice),
        )
        .route("/_sandbox/pay/{intent_id}", get(page).post(attempt))
        .route("/_sandbox/pay/{intent_id}/otp", post(otp))
        .route("/_sandbox/pay/{intent_id}/phone", post(phone))
}

/// This page's URL for `intent_id`, keeping the return URL.
pub(super) fn page_url(app: &App, intent_id: &str, return_url: Option<&str>) -> String {
    let base = format!(
        "{}/_sandbox/pay/{intent_id}",
        app.provider_url(Provider::Hub2)
    );
    match (return_url, reqwest::Url::parse(&base)) {
        (Some(back), Ok(mut url)) => {
            url.query_pairs_mut().append_pair("return_url", back);
            url.to_string()
        }
        _ => base,
    }
}

/// What the page needs of an intent, read under the lock.
struct Snapshot {
    id: String,
    token: String,
    status: String,
    amount: String,
    reference: String,
    /// The open attempt: (provider, next action).
    open: Option<(String, Option<Value>)>,
    /// Why the latest attempt failed, if it did.
    last_failure: Option<String>,
}

fn snapshot(app: &App, id: &str) -> Option<Snapshot> {
    let store = lock(&app.hub2.store);
    let intent = store.intent(id)?;
    Some(Snapshot {
        id: intent.id.clone(),
        token: intent.token.clone(),
        status: intent.status.clone(),
        amount: format!("{} {}", intent.amount, intent.currency),
        reference: intent.purchase_reference.clone(),
        open: intent
            .open_attempt()
            .map(|a| (a.provider.clone(), a.next_action.clone())),
        last_failure: intent
            .payments
            .last()
            .and_then(|a| a.failure.as_ref())
            .map(|(code, message)| format!("{message} ({code})")),
    })
}

/// A `return_url` that is not an absolute http(s) URL.
struct BadReturnUrl;

impl BadReturnUrl {
    fn page(self) -> Response {
        Page::new(TITLE, "Invalid return_url")
            .status(StatusCode::BAD_REQUEST)
            .text(
                "return_url must be an absolute http(s) URL (percent-encoded in the page's \
                 query).",
            )
            .render()
    }
}

/// The return URL of a query or form: absent, or an absolute http(s) URL.
fn return_url(fields: Option<&HashMap<String, String>>) -> Result<Option<String>, BadReturnUrl> {
    match fields
        .and_then(|f| f.get("return_url"))
        .filter(|u| !u.is_empty())
    {
        None => Ok(None),
        Some(url) if is_http_url(url) => Ok(Some(url.clone())),
        Some(_) => Err(BadReturnUrl),
    }
}

/// How the page names a wallet (`orange` → Orange Money).
fn wallet(provider: &str) -> &str {
    match provider {
        "orange" => "Orange Money",
        "mtn" => "MTN Mobile Money",
        "moov" => "Moov Money",
        "wave" => "Wave",
        other => other,
    }
}

fn view(app: &App, s: &Snapshot, back: Option<&str>, notice: Option<&str>) -> Page {
    let mut page = Page::new(TITLE, format!("Pay {}", s.amount)).facts(&[
        ("Amount", &s.amount),
        ("Order", &s.reference),
        ("Payment intent", &s.id),
        ("Status", &s.status),
    ]);
    if let Some(notice) = notice {
        page = page.notice(notice);
    }
    let here = page_url(app, &s.id, back);
    let back_field = [("return_url", back.unwrap_or(""))];
    match (s.status.as_str(), &s.open) {
        (PAYMENT_REQUIRED, _) => {
            if let Some(failure) = &s.last_failure {
                page = page.notice(&format!("Your last attempt failed: {failure}. Try again."));
            }
            page.text(
                "This page stands in for the merchant's own payer page: it sends the attempt to \
                 HUB2's payer API with the intent's token, as the merchant's page would.",
            )
            .form(
                &here,
                &back_field,
                &[Input {
                    name: "msisdn",
                    label: "Mobile number",
                    value: DEFAULT_MSISDN,
                }],
                &[
                    Button::new("orange", "Orange Money (one-time code)").sends("choice", "orange"),
                    Button::new("wave", "Wave (redirection)").sends("choice", "wave"),
                    Button::new("mtn", "MTN Mobile Money (USSD)").sends("choice", "mtn"),
                ],
            )
        }
        (PROCESSING | ACTION_REQUIRED, Some((provider, action))) => {
            let provider = wallet(provider);
            let kind = action
                .as_ref()
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str);
            match kind {
                Some("otp") => page
                    .text(&format!(
                        "{provider} sent a one-time code to your phone (the sandbox accepts \
                         {SANDBOX_OTP})."
                    ))
                    .form(
                        &format!("{}/otp", page_url(app, &s.id, None)),
                        &back_field,
                        &[Input {
                            name: "code",
                            label: "One-time code",
                            value: "",
                        }],
                        &[Button::new("otp", "Confirm")],
                    ),
                Some("redirection") => {
                    let url = action
                        .as_ref()
                        .and_then(|a| a.pointer("/data/url"))
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    page.link("continue", url, &format!("Continue to {provider}"))
                }
                Some("ussd") => {
                    let code = action
                        .as_ref()
                        .and_then(|a| a.pointer("/data/code"))
                        .and_then(Value::as_str)
                        .unwrap_or("the code");
                    page.text(&format!(
                        "Dial {code} on your phone and confirm the payment there. In the \
                         sandbox, these buttons are the phone:"
                    ))
                    .form(
                        &format!("{}/phone", page_url(app, &s.id, None)),
                        &back_field,
                        &[],
                        &[
                            Button::new("phone-confirm", "Confirm on the phone")
                                .sends("answer", "confirm"),
                            Button::new("phone-decline", "Decline on the phone")
                                .sends("answer", "decline"),
                        ],
                    )
                }
                _ => page.text("The payment is being processed: reload this page."),
            }
        }
        (SUCCESSFUL, _) => page.outcome(&s.status, "Paid.", back),
        (PROCESSING | ACTION_REQUIRED, None) => {
            page.text("The payment is being processed: reload this page.")
        }
        _ => page.outcome(&s.status, "This payment intent is closed.", back),
    }
}

fn unknown() -> Response {
    pages::not_found(TITLE, "payment intent")
}

/// `GET /_sandbox/pay/{intentId}[?return_url=]`.
async fn page(State(app): State<App>, Path(id): Path<String>, uri: Uri) -> Response {
    let query = form_params(uri.query().unwrap_or(""));
    let back = match return_url(query.as_ref()) {
        Ok(back) => back,
        Err(bad) => return bad.page(),
    };
    match snapshot(&app, &id) {
        Some(s) => view(&app, &s, back.as_deref(), None).render(),
        None => unknown(),
    }
}

/// Calls HUB2's payer API at `path` (relative to `/hub2`) with `body`: the answer's status and
/// JSON, or why there was no answer.
async fn payer_call(app: &App, path: &str, body: &Value) -> Result<(StatusCode, Value), String> {
    let url = format!("{}{path}", app.provider_url(Provider::Hub2));
    let answer = app
        .loopback_client
        .post(&url)
        .header("Environment", &app.credentials.hub2_environment)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| crate::deliveries::describe(&e))?;
    let status = StatusCode::from_u16(answer.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let text = answer
        .text()
        .await
        .map_err(|e| crate::deliveries::describe(&e))?;
    Ok((status, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The page saying HUB2's payer API did not answer.
fn no_answer(why: &str) -> Response {
    Page::new(TITLE, "HUB2 did not answer")
        .status(StatusCode::BAD_GATEWAY)
        .notice(why)
        .render()
}

/// HUB2's error message (a string, or a list of problems).
fn message(body: &Value) -> String {
    match body.get("message") {
        Some(Value::String(m)) => m.clone(),
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        _ => body.to_string(),
    }
}

/// A refusal of HUB2's payer API, as a page with the intent's current state.
fn api_refusal(
    app: &App,
    id: &str,
    back: Option<&str>,
    status: StatusCode,
    body: &Value,
) -> Response {
    let status = if status.is_client_error() {
        status
    } else {
        StatusCode::BAD_GATEWAY
    };
    match snapshot(app, id) {
        Some(s) => view(
            app,
            &s,
            back,
            Some(&format!("HUB2 refused: {}", message(body))),
        )
        .status(status)
        .render(),
        None => unknown(),
    }
}

/// `POST /_sandbox/pay/{intentId}`: the payer's choice becomes an attempt.
async fn attempt(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let fields = pages::form_fields(&body);
    let back = match return_url(fields.as_ref()) {
        Ok(back) => back,
        Err(bad) => return bad.page(),
    };
    let Some(s) = snapshot(&app, &id) else {
        return unknown();
    };
    let choice = fields
        .as_ref()
        .and_then(|f| f.get("choice"))
        .map(String::as_str);
    let msisdn = fields
        .as_ref()
        .and_then(|f| f.get("msisdn"))
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| DEFAULT_MSISDN.to_owned());
    let here = page_url(&app, &id, back.as_deref());
    let success = back.clone().unwrap_or_else(|| here.clone());
    let (country, provider, mobile_money) = match choice {
        Some("orange") => ("CI", "orange", json!({ "msisdn": msisdn })),
        Some("mtn") => ("CI", "mtn", json!({ "msisdn": msisdn })),
        Some("wave") => (
            "SN",
            "wave",
            json!({
                "msisdn": msisdn,
                "onSuccessRedirectionUrl": success,
                "onFailedRedirectionUrl": here,
                "onCancelRedirectionUrl": here,
            }),
        ),
        _ => return pages::bad_form(TITLE, "choice=orange, wave or mtn"),
    };
    let request = json!({
        "token": s.token,
        "paymentMethod": "mobile_money",
        "country": country,
        "provider": provider,
        "mobileMoney": mobile_money,
    });
    let (status, answer) =
        match payer_call(&app, &format!("/payment-intents/{id}/payments"), &request).await {
            Ok(answered) => answered,
            Err(why) => return no_answer(&why),
        };
    if status != StatusCode::CREATED {
        return api_refusal(&app, &id, back.as_deref(), status, &answer);
    }
    let next = answer
        .get("payments")
        .and_then(Value::as_array)
        .and_then(|p| p.last())
        .and_then(|p| p.get("nextAction"));
    let redirection = next
        .filter(|a| a.get("type").and_then(Value::as_str) == Some("redirection"))
        .and_then(|a| a.pointer("/data/url"))
        .and_then(Value::as_str);
    match redirection {
        Some(url) => pages::see_other(url),
        None => pages::see_other(&here),
    }
}

/// `POST /_sandbox/pay/{intentId}/otp`: the code, sent to HUB2's authentication endpoint.
async fn otp(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let fields = pages::form_fields(&body);
    let back = match return_url(fields.as_ref()) {
        Ok(back) => back,
        Err(bad) => return bad.page(),
    };
    let Some(s) = snapshot(&app, &id) else {
        return unknown();
    };
    let code = fields
        .as_ref()
        .and_then(|f| f.get("code"))
        .map(|c| c.trim().to_owned())
        .unwrap_or_default();
    let request = json!({ "token": s.token, "confirmationCode": code });
    let (status, answer) = match payer_call(
        &app,
        &format!("/payment-intents/{id}/authentication"),
        &request,
    )
    .await
    {
        Ok(answered) => answered,
        Err(why) => return no_answer(&why),
    };
    if status == StatusCode::BAD_REQUEST {
        // A wrong (or empty) code: the form again, saying why.
        return api_refusal(
            &app,
            &id,
            back.as_deref(),
            StatusCode::UNPROCESSABLE_ENTITY,
            &answer,
        );
    }
    if status != StatusCode::CREATED {
        return api_refusal(&app, &id, back.as_deref(), status, &answer);
    }
    let paid = answer.get("status").and_then(Value::as_str) == Some(SUCCESSFUL);
    match back.filter(|_| paid) {
        Some(url) => pages::see_other(&url),
        None => pages::see_other(&page_url(&app, &id, None)),
    }
}

/// `POST /_sandbox/pay/{intentId}/phone`: the payer's phone answers the USSD prompt.
async fn phone(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let fields = pages::form_fields(&body);
    let back = match return_url(fields.as_ref()) {
        Ok(back) => back,
        Err(bad) => return bad.page(),
    };
    let action = match fields
        .as_ref()
        .and_then(|f| f.get("answer"))
        .map(String::as_str)
    {
        Some("confirm") => PayerAction::Pay,
        Some("decline") => PayerAction::Cancel,
        _ => return pages::bad_form(TITLE, "answer=confirm or decline"),
    };
    let here = page_url(&app, &id, back.as_deref());
    let paid = action == PayerAction::Pay;
    match super::act(&app, &id, action).await {
        Ok(_) => match back.filter(|_| paid) {
            Some(url) => pages::see_other(&url),
            None => pages::see_other(&here),
        },
        Err(e) => pages::refused(TITLE, &e, &here),
    }
}

// ---------------------------------------------------------------------------------------------
// The stand-in for the pages a redirection next action sends the payer to.

/// The page a `redirection` next action of attempt `payment_id` points to.
pub(super) fn checkout_url(app: &App, payment_id: &str) -> String {
    format!(
        "{}/_sandbox/checkout/{payment_id}",
        app.provider_url(Provider::Hub2)
    )
}

const CHECKOUT: &str = "HUB2 (wallet or card page)";

async fn checkout_page(State(app): State<App>, Path(payment_id): Path<String>) -> Response {
    let store = lock(&app.hub2.store);
    let Some(intent) = store.intent_of_payment(&payment_id) else {
        return pages::not_found(CHECKOUT, "payment");
    };
    let Some(attempt) = intent.payments.iter().find(|p| p.id == payment_id) else {
        return pages::not_found(CHECKOUT, "payment");
    };
    let amount = format!("{} {}", intent.amount, intent.currency);
    let with = format!("{} ({})", attempt.provider, attempt.method);
    let page = Page::new(CHECKOUT, format!("Pay {amount} with {}", attempt.provider)).facts(&[
        ("Amount", &amount),
        ("With", &with),
        ("Payment intent", &intent.id),
        ("Payment", &attempt.id),
        ("Status", &attempt.status),
    ]);
    if !attempt.is_open() || intent.open_attempt().map(|a| a.id.as_str()) != Some(&payment_id) {
        return page
            .outcome(
                &attempt.status,
                "This payment is no longer waiting for you.",
                None,
            )
            .render();
    }
    let here = checkout_url(&app, &payment_id);
    page.button(
        &format!("{here}/pay"),
        &[],
        Button::new("pay", &format!("Pay {amount}")),
    )
    .button(
        &format!("{here}/fail"),
        &[],
        Button::new("fail", "Pay, but the funds are insufficient"),
    )
    .button(
        &format!("{here}/cancel"),
        &[],
        Button::new("cancel", "Cancel"),
    )
    .render()
}

async fn checkout_choice(
    State(app): State<App>,
    Path((payment_id, choice)): Path<(String, String)>,
) -> Response {
    let action = match choice.as_str() {
        "pay" => PayerAction::Pay,
        "fail" => PayerAction::Fail,
        "cancel" => PayerAction::Cancel,
        _ => return pages::not_found(CHECKOUT, "choice"),
    };
    let here = checkout_url(&app, &payment_id);
    let (intent_id, redirections) = {
        let store = lock(&app.hub2.store);
        let open = store.intent_of_payment(&payment_id).and_then(|i| {
            i.open_attempt()
                .filter(|a| a.id == payment_id)
                .map(|a| (i.id.clone(), a.redirections.clone()))
        });
        match open {
            Some(found) => found,
            None => {
                return Page::new(CHECKOUT, "This payment is no longer waiting for you")
                    .status(StatusCode::CONFLICT)
                    .link("back", &here, "Back to the payment page")
                    .render();
            }
        }
    };
    let target = match action {
        PayerAction::Pay => redirections.success.or(redirections.finish),
        PayerAction::Fail => redirections.failed.or(redirections.finish),
        _ => redirections.cancel.or(redirections.finish),
    };
    match super::act(&app, &intent_id, action).await {
        // No redirection URL: back to this page, which says how the attempt ended.
        Ok(_) => pages::see_other(target.as_deref().unwrap_or(&here)),
        Err(e) => pages::refused(CHECKOUT, &e, &here),
    }
}
