//! HUB2's HTTP routes, under `/hub2`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::auth;
use super::model::{
    ACTION_REQUIRED, Event, Intent, NewAttempt, OtpProblem, PAYMENT_REQUIRED, PROCESSING,
    Redirections, Settle,
};
use super::page::{self, checkout_url};
use super::webhooks::{self, ROTATION_OVERLAP, Webhook, new_secret};
use crate::Provider;
use crate::app::App;
use crate::support::{ErrorAnswer, form_params, is_http_url, lock, new_id, now_rfc3339};

/// Currencies accepted at creation (the ones HUB2 documents: no minor units).
pub(super) const CURRENCIES: [&str; 3] = ["XOF", "XAF", "GNF"];

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/payment-intents", post(create_intent).get(list_intents))
        .route("/payment-intents/{id}", get(get_intent))
        .route("/payment-intents/{id}/status", get(intent_status))
        .route("/payment-intents/{id}/payments", post(attempt))
        .route("/payment-intents/{id}/payments/sync", post(attempt_sync))
        .route("/payment-intents/{id}/authentication", post(authentication))
        .route("/webhooks", post(create_webhook).get(list_webhooks))
        .route("/webhooks/{id}", delete(delete_webhook))
        .merge(page::router())
        .fallback(no_route)
}

// ---------------------------------------------------------------------------------------------
// Answers in HUB2's (NestJS) error format.

type Answer = Result<Response, ErrorAnswer>;

/// A refusal in HUB2's error body: `{statusCode, message, error}` (`error`, the reason phrase, is
/// absent from a 401).
fn error(status: StatusCode, message: Value) -> ErrorAnswer {
    let mut body = json!({ "statusCode": status.as_u16(), "message": message });
    if status != StatusCode::UNAUTHORIZED
        && let Some(object) = body.as_object_mut()
    {
        object.insert(
            "error".into(),
            json!(status.canonical_reason().unwrap_or("Error")),
        );
    }
    ErrorAnswer::new(status, body)
}

fn unauthorized() -> ErrorAnswer {
    error(StatusCode::UNAUTHORIZED, json!("Unauthorized"))
}

fn intent_not_found() -> ErrorAnswer {
    error(StatusCode::NOT_FOUND, json!("Payment intent not found"))
}

fn bad_request(problems: Vec<String>) -> ErrorAnswer {
    error(StatusCode::BAD_REQUEST, json!(problems))
}

fn conflict(message: String) -> ErrorAnswer {
    error(StatusCode::CONFLICT, json!(message))
}

fn json_answer(status: StatusCode, body: Value) -> Answer {
    Ok((status, axum::Json(body)).into_response())
}

async fn no_route(method: axum::http::Method, uri: Uri) -> ErrorAnswer {
    error(
        StatusCode::NOT_FOUND,
        json!(format!("Cannot {method} {}", uri.path())),
    )
}

/// The body as a JSON object, or HUB2's 400.
fn object(body: &Bytes) -> Result<Map<String, Value>, ErrorAnswer> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(bad_request(vec!["the body must be a JSON object".into()])),
        Err(e) => Err(bad_request(vec![format!("Invalid JSON body: {e}")])),
    }
}

fn text<'a>(body: &'a Map<String, Value>, field: &str) -> Option<&'a str> {
    body.get(field).and_then(Value::as_str)
}

// ---------------------------------------------------------------------------------------------
// Payment intents (API key).

fn reference(body: &Map<String, Value>, field: &str, problems: &mut Vec<String>) -> String {
    match body.get(field) {
        Some(Value::String(s)) if s.trim().is_empty() => {
            problems.push(format!("{field} should not be empty"));
            String::new()
        }
        Some(Value::String(s)) => {
            let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ');
            if !s.chars().all(allowed) {
                problems.push(format!(
                    "{field} must match /^[a-zA-Z0-9-_. ]+$/ regular expression"
                ));
            }
            s.clone()
        }
        _ => {
            problems.push(format!("{field} must be a string"));
            String::new()
        }
    }
}

async fn create_intent(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Answer {
    if !auth::merchant_ok(&app.credentials, &headers) {
        return Err(unauthorized());
    }
    let body = object(&body)?;
    let mut problems = Vec::new();
    let customer_reference = reference(&body, "customerReference", &mut problems);
    let purchase_reference = reference(&body, "purchaseReference", &mut problems);
    let amount = match body.get("amount").and_then(Value::as_i64) {
        Some(a) if a > 0 => a,
        Some(_) => {
            problems.push("amount must be a positive number".into());
            0
        }
        None => {
            problems.push("amount must be an integer number".into());
            0
        }
    };
    let currency = text(&body, "currency").unwrap_or_default().to_owned();
    if !CURRENCIES.contains(&currency.as_str()) {
        problems.push(format!(
            "currency must be one of the following values: {}",
            CURRENCIES.join(", ")
        ));
    }
    let override_business_name = match body.get("overrideBusinessName") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push("overrideBusinessName must be a string".into());
            None
        }
    };
    if !problems.is_empty() {
        return Err(bad_request(problems));
    }
    let credentials = &app.credentials;
    let id = new_id("pi_");
    let now = now_rfc3339();
    let intent = Intent {
        token: auth::issue(
            &app.hub2.jwt_key,
            &id,
            &credentials.hub2_merchant_id,
            &credentials.hub2_environment,
        ),
        id: id.clone(),
        created_at: now.clone(),
        updated_at: now,
        merchant_id: credentials.hub2_merchant_id.clone(),
        purchase_reference,
        customer_reference,
        override_business_name,
        amount,
        currency,
        status: PAYMENT_REQUIRED.into(),
        mode: credentials.hub2_environment.clone(),
        payments: Vec::new(),
    };
    let answer = intent.json(true);
    let created = Event {
        kind: "payment_intent.created".into(),
        data: intent.json(false),
    };
    lock(&app.hub2.store).intents.push(intent);
    webhooks::dispatch(&app, &id, vec![created]);
    app.schedule_magic(Provider::Hub2, &id, amount);
    json_answer(StatusCode::CREATED, answer)
}

async fn get_intent(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    if !auth::merchant_ok(&app.credentials, &headers) {
        return Err(unauthorized());
    }
    match lock(&app.hub2.store).intent(&id) {
        Some(intent) => json_answer(StatusCode::OK, intent.json(true)),
        None => Err(intent_not_found()),
    }
}

/// HUB2's default page size for `GET /payment-intents`.
const DEFAULT_PER_PAGE: usize = 10;

/// A date filter of `GET /payment-intents`: RFC 3339 (the ISO 8601 form HUB2 writes).
fn date_filter(
    query: &HashMap<String, String>,
    field: &str,
    problems: &mut Vec<String>,
) -> Option<OffsetDateTime> {
    let value = query.get(field)?;
    match OffsetDateTime::parse(value, &Rfc3339) {
        Ok(at) => Some(at),
        Err(_) => {
            problems.push(format!("{field} must be a valid ISO 8601 date string"));
            None
        }
    }
}

/// A page number or size of `GET /payment-intents`: a positive integer.
fn positive(
    query: &HashMap<String, String>,
    field: &str,
    default: usize,
    problems: &mut Vec<String>,
) -> usize {
    match query.get(field).map(|v| v.parse::<usize>()) {
        None => default,
        Some(Ok(n)) if n > 0 => n,
        Some(_) => {
            problems.push(format!("{field} must be a positive integer"));
            default
        }
    }
}

/// `GET /payment-intents`: the intents matching `purchaseReference` / `customerReference`
/// (exactly), created between `from` (default: the first day of the current month, UTC) and `to`
/// (default: now), both inclusive, oldest first, page `page` (default 1) of `perPage` (default
/// 10); a bare array, each intent as `GET /payment-intents/{id}` answers it.
async fn list_intents(State(app): State<App>, uri: Uri, headers: HeaderMap) -> Answer {
    if !auth::merchant_ok(&app.credentials, &headers) {
        return Err(unauthorized());
    }
    let Some(query) = form_params(uri.query().unwrap_or_default()) else {
        return Err(bad_request(vec!["the query string is malformed".into()]));
    };
    let mut problems = Vec::new();
    let now = OffsetDateTime::now_utc();
    let month_start = now
        .replace_day(1)
        .map(|d| d.replace_time(time::Time::MIDNIGHT))
        .unwrap_or(now);
    let from = date_filter(&query, "from", &mut problems).unwrap_or(month_start);
    let to = date_filter(&query, "to", &mut problems).unwrap_or(now);
    let page = positive(&query, "page", 1, &mut problems);
    let per_page = positive(&query, "perPage", DEFAULT_PER_PAGE, &mut problems);
    if !problems.is_empty() {
        return Err(bad_request(problems));
    }
    let matches = |intent: &&Intent| {
        let reference_ok = |field: &str, value: &str| query.get(field).is_none_or(|r| r == value);
        let created = OffsetDateTime::parse(&intent.created_at, &Rfc3339).ok();
        reference_ok("purchaseReference", &intent.purchase_reference)
            && reference_ok("customerReference", &intent.customer_reference)
            && created.is_some_and(|at| from <= at && at <= to)
    };
    let list: Vec<Value> = lock(&app.hub2.store)
        .intents
        .iter()
        .filter(matches)
        .skip(page.saturating_sub(1).saturating_mul(per_page))
        .take(per_page)
        .map(|intent| intent.json(true))
        .collect();
    json_answer(StatusCode::OK, Value::Array(list))
}

/// `GET /payment-intents/{id}/status`: with the API key, or with `?token=` (payer side).
async fn intent_status(
    State(app): State<App>,
    Path(id): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let allowed = match query.get("token") {
        Some(token) => {
            auth::environment_ok(&app.credentials, &headers)
                && auth::token_ok(&app.hub2.jwt_key, &app.credentials, Some(token), &id)
        }
        None => auth::merchant_ok(&app.credentials, &headers),
    };
    if !allowed {
        return Err(unauthorized());
    }
    match lock(&app.hub2.store).intent(&id) {
        Some(intent) => json_answer(
            StatusCode::OK,
            json!({ "id": intent.id, "status": intent.status }),
        ),
        None => Err(intent_not_found()),
    }
}

// ---------------------------------------------------------------------------------------------
// Payer side (intent token).

/// Checks `Environment` and the token in the body; answers 401 or 404 otherwise.
fn payer_body(
    app: &App,
    id: &str,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<Map<String, Value>, ErrorAnswer> {
    if !auth::environment_ok(&app.credentials, headers) {
        return Err(unauthorized());
    }
    let body = object(body)?;
    if !auth::token_ok(
        &app.hub2.jwt_key,
        &app.credentials,
        text(&body, "token"),
        id,
    ) {
        return Err(unauthorized());
    }
    if lock(&app.hub2.store).intent(id).is_none() {
        return Err(intent_not_found());
    }
    Ok(body)
}

/// An attempt as the payer sent it, validated.
struct AttemptInput {
    new: NewAttempt,
    otp: Option<String>,
}

fn parse_attempt(body: &Map<String, Value>) -> Result<AttemptInput, Vec<String>> {
    let mut problems = Vec::new();
    let method = text(body, "paymentMethod").unwrap_or_default();
    if !matches!(method, "mobile_money" | "credit_card") {
        problems.push(
            "paymentMethod must be one of the following values: mobile_money, credit_card".into(),
        );
    }
    let country = text(body, "country").unwrap_or_default();
    if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
        problems.push("country must be a valid ISO 3166-1 alpha-2 country code".into());
    }
    let provider = text(body, "provider").unwrap_or_default();
    if provider.trim().is_empty() {
        problems.push("provider should not be empty".into());
    }
    let mut redirections = Redirections::default();
    let mut otp = None;
    if method == "mobile_money" {
        match body.get("mobileMoney") {
            Some(Value::Object(mm)) => {
                let msisdn = text(mm, "msisdn").unwrap_or_default();
                let digits = msisdn.strip_prefix('+').unwrap_or(msisdn);
                if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                    problems.push("mobileMoney.msisdn must be a valid phone number".into());
                }
                match mm.get("otp") {
                    None | Some(Value::Null) => {}
                    Some(Value::String(code)) if !code.is_empty() => otp = Some(code.clone()),
                    Some(_) => problems.push("mobileMoney.otp must be a non-empty string".into()),
                }
                for (field, slot) in [
                    ("onSuccessRedirectionUrl", &mut redirections.success),
                    ("onFailedRedirectionUrl", &mut redirections.failed),
                    ("onCancelRedirectionUrl", &mut redirections.cancel),
                    ("onFinishRedirectionUrl", &mut redirections.finish),
                ] {
                    match mm.get(field) {
                        None | Some(Value::Null) => {}
                        Some(Value::String(url)) if is_http_url(url) => *slot = Some(url.clone()),
                        Some(_) => {
                            problems.push(format!("mobileMoney.{field} must be a URL address"))
                        }
                    }
                }
            }
            _ => problems.push("mobileMoney should not be empty".into()),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(AttemptInput {
        new: NewAttempt {
            method: method.to_owned(),
            country: country.to_owned(),
            provider: provider.to_owned(),
            redirections,
        },
        otp,
    })
}

/// The next action HUB2 answers for an attempt: Wave and cards redirect (here to the sandbox
/// checkout page), Orange asks for an OTP, other wallets for a USSD confirmation.
fn next_action(new: &NewAttempt, checkout_url: &str, mode: &str) -> Value {
    let redirection = |message: String| {
        json!({
            "type": "redirection",
            "message": message,
            "data": {"url": checkout_url, "method": "get", "headers": {}, "data": {}},
        })
    };
    match (new.method.as_str(), new.provider.as_str()) {
        ("credit_card", _) => redirection(format!("card_{mode}.redirection")),
        (_, "wave") => redirection(format!("mm_wave_{mode}.redirection")),
        (_, "orange") => json!({"type": "otp", "message": super::model::otp_message()}),
        _ => json!({
            "type": "ussd",
            "message": "Mode Sandbox. Composez *133# et validez le paiement sur votre téléphone.",
            "data": {"code": "*133#"},
        }),
    }
}

async fn attempt(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    run_attempt(&app, &id, &headers, &body, false)
}

async fn attempt_sync(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    run_attempt(&app, &id, &headers, &body, true)
}

fn run_attempt(app: &App, id: &str, headers: &HeaderMap, body: &Bytes, sync: bool) -> Answer {
    let body = payer_body(app, id, headers, body)?;
    let input = parse_attempt(&body).map_err(bad_request)?;
    let (answer, events, later) = {
        let mut store = lock(&app.hub2.store);
        let Some(intent) = store.intent_mut(id) else {
            return Err(intent_not_found());
        };
        if intent.status != PAYMENT_REQUIRED {
            return Err(conflict(format!(
                "A payment cannot be attempted on a payment intent in status {}",
                intent.status
            )));
        }
        let index = intent.add_attempt(input.new.clone(), None);
        let payment_id = intent
            .payments
            .get(index)
            .map(|p| p.id.clone())
            .unwrap_or_default();
        // An OTP sent with the attempt leaves nothing for the payer to do.
        let action = input
            .otp
            .is_none()
            .then(|| next_action(&input.new, &checkout_url(app, &payment_id), &intent.mode));
        let otp_action = action
            .as_ref()
            .and_then(|a| a.get("type"))
            .and_then(Value::as_str)
            == Some("otp");
        if let Some(attempt) = intent.payments.get_mut(index) {
            attempt.next_action = action;
        }
        let mut events = intent.attempt_started(index);
        let outcome = input.otp.as_deref().map(|code| {
            if code == crate::SANDBOX_OTP {
                Settle::Succeeded
            } else {
                Settle::INVALID_OTP
            }
        });
        let mut later = None;
        if let Some(outcome) = outcome {
            if sync {
                events.extend(intent.settle(outcome));
            } else {
                later = Some((payment_id, outcome));
            }
        }
        let mut answer = intent.json(true);
        // HUB2's documented answer to an OTP attempt still says `processing` (the intent moves
        // to `action_required` right after): the stored status is already `action_required`.
        if otp_action
            && intent.status == ACTION_REQUIRED
            && let Some(object) = answer.as_object_mut()
        {
            object.insert("status".into(), json!(PROCESSING));
        }
        (answer, events, later)
    };
    webhooks::dispatch(app, id, events);
    if let Some((payment_id, outcome)) = later {
        super::schedule_settle(app, id, &payment_id, outcome);
    }
    json_answer(StatusCode::CREATED, answer)
}

async fn authentication(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    let body = payer_body(&app, &id, &headers, &body)?;
    let code = text(&body, "confirmationCode")
        .unwrap_or_default()
        .to_owned();
    if code.is_empty() {
        return Err(bad_request(vec![
            "confirmationCode should not be empty".into(),
        ]));
    }
    let (answer, events) = {
        let mut store = lock(&app.hub2.store);
        let Some(intent) = store.intent_mut(&id) else {
            return Err(intent_not_found());
        };
        match intent.authenticate(&code) {
            Ok(events) => (intent.json(true), events),
            Err(OtpProblem::NotPending) => {
                return Err(conflict(
                    "No payment of this intent awaits an authentication".into(),
                ));
            }
            Err(OtpProblem::WrongCode) => {
                return Err(bad_request(vec!["Invalid confirmation code".into()]));
            }
        }
    };
    webhooks::dispatch(&app, &id, events);
    json_answer(StatusCode::CREATED, answer)
}

// ---------------------------------------------------------------------------------------------
// Webhooks (API key).

async fn create_webhook(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Answer {
    if !auth::merchant_ok(&app.credentials, &headers) {
        return Err(unauthorized());
    }
    let body = object(&body)?;
    let mut problems = Vec::new();
    let url = text(&body, "url").unwrap_or_default().to_owned();
    if !is_http_url(&url) {
        problems.push("url must be a URL address".into());
    }
    let events: Vec<String> = match body.get("events") {
        Some(Value::Array(items)) => {
            if items.is_empty() {
                problems.push("events must contain at least 1 elements".into());
            }
            if !items
                .iter()
                .all(|e| e.as_str().is_some_and(|s| !s.is_empty()))
            {
                problems.push("each value in events must be a string".into());
            }
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        }
        _ => {
            problems.push("events must be an array".into());
            Vec::new()
        }
    };
    let description = match body.get("description") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            problems.push("description must be a string".into());
            None
        }
    };
    let metadata = match body.get("metadata") {
        None | Some(Value::Null) => None,
        Some(m @ Value::Object(_)) => Some(m.clone()),
        Some(_) => {
            problems.push("metadata must be an object".into());
            None
        }
    };
    if !problems.is_empty() {
        return Err(bad_request(problems));
    }
    let overlap = app.scaled(ROTATION_OVERLAP);
    let mut store = lock(&app.hub2.store);
    let answer = match store.webhooks.iter_mut().find(|w| w.url == url) {
        // Registering the same URL again rotates its secret (see the module docs).
        Some(existing) => {
            existing.events = events;
            existing.description = description;
            existing.metadata = metadata;
            existing.rotate(overlap);
            existing.json(true)
        }
        None => {
            let webhook = Webhook {
                id: new_id("wh_"),
                url,
                events,
                description,
                metadata,
                secret: new_secret(),
                previous: None,
                created_at: now_rfc3339(),
            };
            let answer = webhook.json(true);
            store.webhooks.push(webhook);
            answer
        }
    };
    json_answer(StatusCode::CREATED, answer)
}

async fn list_webhooks(State(app): State<App>, headers: HeaderMap) -> Answer {
    if !auth::merchant_ok(&app.credentials, &headers) {
        return Err(unauthorized());
    }
    let list: Vec<Value> = lock(&app.hub2.store)
        .webhooks
        .iter()
        .map(|w| w.json(false))
        .collect();
    json_answer(StatusCode::OK, Value::Array(list))
}

async fn delete_webhook(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Answer {
    if !auth::merchant_ok(&app.credentials, &headers) {
        return Err(unauthorized());
    }
    let mut store = lock(&app.hub2.store);
    match store.webhooks.iter().position(|w| w.id == id) {
        Some(index) => {
            let removed = store.webhooks.remove(index);
            json_answer(StatusCode::OK, removed.json(false))
        }
        None => Err(error(StatusCode::NOT_FOUND, json!("Webhook not found"))),
    }
}
