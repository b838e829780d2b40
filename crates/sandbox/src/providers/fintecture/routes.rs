//! Fintecture's HTTP routes under `/fintecture`: the token endpoint, PIS v2 sessions, refunds
//! and settlements, and the Connect page.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use payments_core::{Currency, Money};
use serde_json::{Value, json};
use time::OffsetDateTime;

use super::auth::{self, Signed};
use super::model::{
    ORDER_CREATED, RefundRefusal, Session, attributes, hex_id, payment_json, settlement_json, today,
};
use super::page::{self, connect_url};
use super::webhooks;
use crate::app::App;
use crate::support::{ErrorAnswer, form_encode, form_params, is_http_url, lock};
use crate::{PayerAction, Provider};

/// Default `page[size]` (Fintecture's *Pagination* guide).
const DEFAULT_PAGE_SIZE: usize = 100;
/// Longest `communication` (a SEPA remittance text).
const MAX_COMMUNICATION: usize = 140;

pub(super) fn router() -> Router<App> {
    Router::new()
        .merge(auth::router())
        .route("/pis/v2/connect", post(connect))
        .route("/pis/v2/payments", get(list_payments))
        .route(
            "/pis/v2/payments/{id}",
            get(get_payment).patch(patch_payment),
        )
        .route("/pis/v2/refund", post(refund))
        .route("/pis/v2/settlements", get(list_settlements))
        .route("/pis/v2/settlements/{id}", get(get_settlement))
        .merge(page::router())
}

// ------------------------------------------------------------------------------------- refusals

/// A refusal in Fintecture's error format: `{"errors":[{"code","title","message"}]}`.
fn api_error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ErrorAnswer {
    let title = status.canonical_reason().unwrap_or("Error");
    ErrorAnswer::new(
        status,
        json!({"errors": [{"code": code, "title": title, "message": message.into()}]}),
    )
}

fn bad_request(code: &'static str, message: impl Into<String>) -> ErrorAnswer {
    api_error(StatusCode::BAD_REQUEST, code, message)
}

pub(super) fn unauthorized(code: &'static str, message: impl Into<String>) -> ErrorAnswer {
    api_error(StatusCode::UNAUTHORIZED, code, message)
}

fn not_found_payment() -> ErrorAnswer {
    api_error(
        StatusCode::NOT_FOUND,
        "payment_not_found",
        "Payment session not found",
    )
}

// ------------------------------------------------------------------------------------- sessions

fn query_map(uri: &Uri) -> Result<HashMap<String, String>, ErrorAnswer> {
    form_params(uri.query().unwrap_or_default())
        .ok_or_else(|| bad_request("invalid_request", "the query string is not valid"))
}

fn opt_str<'a>(v: &'a Value, key: &str) -> Result<Option<&'a str>, ErrorAnswer> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(bad_request(
            "invalid_request",
            format!("{key} must be a string"),
        )),
    }
}

async fn connect(State(app): State<App>, Signed { uri, body }: Signed) -> Response {
    match create_session(&app, &uri, &body) {
        Ok(answer) => Json(answer).into_response(),
        Err(refused) => refused.into_response(),
    }
}

fn create_session(app: &App, uri: &Uri, body: &[u8]) -> Result<Value, ErrorAnswer> {
    let query = query_map(uri)?;
    let redirect_uri = query
        .get("redirect_uri")
        .filter(|u| is_http_url(u))
        .ok_or_else(|| {
            bad_request(
                "invalid_redirect_uri",
                "redirect_uri is required and must be an absolute http(s) URL",
            )
        })?
        .clone();
    let origin_uri = match query.get("origin_uri") {
        Some(u) if !is_http_url(u) => {
            return Err(bad_request(
                "invalid_origin_uri",
                "origin_uri must be an absolute http(s) URL",
            ));
        }
        other => other.cloned(),
    };
    let state = query.get("state").filter(|s| !s.is_empty()).cloned();
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| bad_request("invalid_request", "the body is not a JSON object"))?;
    let meta = parsed.get("meta").cloned().unwrap_or_else(|| json!({}));
    if !meta.is_object() {
        return Err(bad_request("invalid_request", "meta must be an object"));
    }
    let data = parsed
        .get("data")
        .filter(|d| d.is_object())
        .ok_or_else(|| bad_request("invalid_request", "data is required"))?;
    if let Some(kind) = opt_str(data, "type")?
        && kind != "payments"
    {
        return Err(bad_request("invalid_request", "data.type must be payments"));
    }
    let attrs = data
        .get("attributes")
        .filter(|a| a.is_object())
        .ok_or_else(|| bad_request("invalid_request", "data.attributes is required"))?;
    let currency_code = opt_str(attrs, "currency")?
        .ok_or_else(|| bad_request("invalid_currency", "currency is required"))?;
    let currency = Currency::from_code(currency_code).map_err(|_| {
        bad_request(
            "invalid_currency",
            format!("currency {currency_code:?} is not an ISO 4217 code"),
        )
    })?;
    let amount_text = match attrs.get("amount") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => {
            return Err(bad_request("invalid_amount", "amount is required"));
        }
        Some(_) => {
            return Err(bad_request(
                "invalid_amount",
                "amount must be a decimal string (\"550.60\")",
            ));
        }
    };
    let amount = Money::from_decimal_str(&amount_text, currency)
        .ok()
        .filter(|m| m.is_positive())
        .ok_or_else(|| {
            bad_request(
                "invalid_amount",
                format!("amount {amount_text:?} is not a positive amount in {currency_code}"),
            )
        })?;
    let communication = opt_str(attrs, "communication")?
        .filter(|c| !c.trim().is_empty())
        .ok_or_else(|| bad_request("invalid_communication", "communication is required"))?;
    if communication.chars().count() > MAX_COMMUNICATION {
        return Err(bad_request(
            "invalid_communication",
            format!("communication is longer than {MAX_COMMUNICATION} characters"),
        ));
    }
    let execution_date = opt_str(attrs, "execution_date")?;
    if let Some(date) = execution_date {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(date, &format).map_err(|_| {
            bad_request(
                "invalid_execution_date",
                "execution_date must be YYYY-MM-DD",
            )
        })?;
    }
    let expiry = match meta.get("expiry") {
        None | Some(Value::Null) => None,
        Some(v) => Some(v.as_u64().filter(|s| *s > 0).ok_or_else(|| {
            bad_request(
                "invalid_expiry",
                "meta.expiry must be a positive number of seconds",
            )
        })?),
    };
    let id = hex_id();
    let session = Session {
        id: id.clone(),
        status: ORDER_CREATED.into(),
        transfer_state: None,
        amount,
        amount_text,
        communication: communication.to_owned(),
        end_to_end_id: opt_str(attrs, "end_to_end_id")?.map_or_else(|| id.clone(), str::to_owned),
        execution_date: execution_date.map(str::to_owned),
        scheme: opt_str(attrs, "scheme")?.unwrap_or("SEPA").to_owned(),
        state,
        redirect_uri,
        origin_uri,
        customer_id: hex_id(),
        bank: None,
        created: OffsetDateTime::now_utc(),
        meta,
    };
    lock(&app.fintecture.store).sessions.push(session);
    app.schedule_magic(Provider::Fintecture, &id, amount.minor_units());
    if let Some(seconds) = expiry {
        app.schedule(
            Provider::Fintecture,
            id.clone(),
            PayerAction::Expire,
            Duration::from_secs(seconds),
        );
    }
    let url = connect_url(app, &id);
    Ok(json!({"meta": {"session_id": id, "url": url}}))
}

async fn get_payment(State(app): State<App>, Path(id): Path<String>, _: Signed) -> Response {
    let store = lock(&app.fintecture.store);
    match store.session(&id) {
        Some(s) => Json(payment_json(s, store.settled(&s.id))).into_response(),
        None => not_found_payment().into_response(),
    }
}

/// `page[number]` and `page[size]` of a list query.
fn paging(query: &HashMap<String, String>) -> Result<(usize, usize), ErrorAnswer> {
    let number = |key: &str, default: usize| match query.get(key) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| *n > 0).ok_or_else(|| {
            bad_request(
                "invalid_request",
                format!("{key} must be a positive integer"),
            )
        }),
    };
    Ok((
        number("page[number]", 1)?,
        number("page[size]", DEFAULT_PAGE_SIZE)?,
    ))
}

fn date_filter(query: &HashMap<String, String>, key: &str) -> Result<Option<String>, ErrorAnswer> {
    match query.get(key) {
        None => Ok(None),
        Some(v) => {
            let format = time::macros::format_description!("[year]-[month]-[day]");
            time::Date::parse(v, &format)
                .map_err(|_| bad_request("invalid_request", format!("{key} must be YYYY-MM-DD")))?;
            Ok(Some(v.clone()))
        }
    }
}

/// One page of `items` with JSON:API `meta` (`totalItems`, `totalPages`) and `links`: absolute
/// URLs under `base` that keep the request's filters.
fn page(
    base: &str,
    query: &HashMap<String, String>,
    items: Vec<Value>,
    number: usize,
    size: usize,
) -> Value {
    let total = items.len();
    let last = total.div_ceil(size).max(1);
    let data: Vec<Value> = items
        .into_iter()
        .skip((number - 1).saturating_mul(size))
        .take(size)
        .collect();
    let mut filters: Vec<(&str, &str)> = query
        .iter()
        .filter(|(k, _)| k.starts_with("filter["))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    filters.sort_unstable();
    let link = |n: usize| {
        let (n, size) = (n.to_string(), size.to_string());
        let mut pairs = filters.clone();
        pairs.push(("page[number]", &n));
        pairs.push(("page[size]", &size));
        format!("{base}?{}", form_encode(&pairs))
    };
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!(link(number)));
    if number < last {
        links.insert("next".into(), json!(link(number + 1)));
    }
    if number > 1 {
        links.insert("prev".into(), json!(link((number - 1).min(last))));
    }
    links.insert("last".into(), json!(link(last)));
    json!({
        "meta": {"totalItems": total, "totalPages": last},
        "data": data,
        "links": links,
    })
}

async fn list_payments(State(app): State<App>, Signed { uri, .. }: Signed) -> Response {
    let run = || -> Result<Value, ErrorAnswer> {
        let query = query_map(&uri)?;
        let (number, size) = paging(&query)?;
        let from = date_filter(&query, "filter[date_from]")?;
        let to = date_filter(&query, "filter[date_to]")?;
        let status = query.get("filter[status]");
        let communication = query.get("filter[communication]");
        let store = lock(&app.fintecture.store);
        let items: Vec<Value> = store
            .sessions
            .iter()
            .rev()
            .filter(|s| status.is_none_or(|st| &s.status == st))
            .filter(|s| communication.is_none_or(|c| &s.communication == c))
            .filter(|s| {
                let day = today(s.created);
                from.as_ref().is_none_or(|f| &day >= f) && to.as_ref().is_none_or(|t| &day <= t)
            })
            .map(|s| json!({"id": s.id, "type": "payments", "attributes": attributes(s, true)}))
            .collect();
        let base = format!("{}/pis/v2/payments", app.provider_url(Provider::Fintecture));
        Ok(page(&base, &query, items, number, size))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn patch_payment(
    State(app): State<App>,
    Path(id): Path<String>,
    Signed { body, .. }: Signed,
) -> Result<Json<Value>, ErrorAnswer> {
    let wanted = serde_json::from_slice::<Value>(&body)
        .ok()
        .and_then(|v| v.get("meta")?.get("status")?.as_str().map(str::to_owned));
    let Some(wanted) = wanted else {
        return Err(bad_request(
            "invalid_request",
            "the body must be {\"meta\":{\"status\":\"payment_cancelled\"}}",
        ));
    };
    if wanted != "payment_cancelled" {
        return Err(bad_request(
            "invalid_status",
            format!("a session can only be set to payment_cancelled, not {wanted:?}"),
        ));
    }
    let cancelled = {
        let mut store = lock(&app.fintecture.store);
        let Some(session) = store.session_mut(&id) else {
            return Err(not_found_payment());
        };
        match session.cancel_by_merchant() {
            Ok(true) => Some(session.clone()),
            Ok(false) => None,
            Err(status) => {
                return Err(bad_request(
                    "invalid_status_transition",
                    format!("the session is {status} and cannot be cancelled"),
                ));
            }
        }
    };
    if let Some(session) = cancelled {
        webhooks::notify(&app, &session);
    }
    Ok(Json(json!({"meta": {"status": "payment_cancelled"}})))
}

async fn refund(State(app): State<App>, Signed { uri, body }: Signed) -> Response {
    match create_refund(&app, &uri, &body) {
        Ok(v) => Json(v).into_response(),
        Err(refused) => refused.into_response(),
    }
}

fn create_refund(app: &App, uri: &Uri, body: &[u8]) -> Result<Value, ErrorAnswer> {
    let query = query_map(uri)?;
    let parsed: Value = serde_json::from_slice(body)
        .map_err(|_| bad_request("invalid_request", "the body is not a JSON object"))?;
    let session_id = parsed
        .get("meta")
        .and_then(|m| m.get("session_id"))
        .and_then(Value::as_str)
        .ok_or_else(|| bad_request("invalid_request", "meta.session_id is required"))?
        .to_owned();
    let attrs = parsed
        .get("data")
        .and_then(|d| d.get("attributes"))
        .cloned()
        .unwrap_or_else(|| json!({}));
    let amount_text = match attrs.get("amount") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(bad_request(
                "invalid_amount",
                "amount must be a decimal string (\"1.99\")",
            ));
        }
    };
    let communication = opt_str(&attrs, "communication")?.map(str::to_owned);
    let refunded = lock(&app.fintecture.store).refund(
        &session_id,
        amount_text.as_deref(),
        communication,
        query.get("state").cloned(),
    );
    let id = refunded.map_err(|refusal| match refusal {
        RefundRefusal::UnknownSession => not_found_payment(),
        RefundRefusal::NotPaid(why) => bad_request("invalid_status_transition", why),
        RefundRefusal::InvalidAmount(why) => bad_request("invalid_amount", why),
        RefundRefusal::Exceeded(why) => bad_request("refund_amount_exceeded", why),
    })?;
    Ok(json!({"meta": {"session_id": id, "status": "refund_waiting"}}))
}

async fn list_settlements(State(app): State<App>, Signed { uri, .. }: Signed) -> Response {
    let run = || -> Result<Value, ErrorAnswer> {
        let query = query_map(&uri)?;
        let (number, size) = paging(&query)?;
        let from = date_filter(&query, "filter[date_from]")?;
        let to = date_filter(&query, "filter[date_to]")?;
        let store = lock(&app.fintecture.store);
        let items: Vec<Value> = store
            .settlements
            .iter()
            .rev()
            .filter(|r| {
                from.as_ref().is_none_or(|f| &r.date >= f)
                    && to.as_ref().is_none_or(|t| &r.date <= t)
            })
            .map(settlement_json)
            .collect();
        let base = format!(
            "{}/pis/v2/settlements",
            app.provider_url(Provider::Fintecture)
        );
        Ok(page(&base, &query, items, number, size))
    };
    match run() {
        Ok(v) => Json(v).into_response(),
        Err(refused) => refused.into_response(),
    }
}

async fn get_settlement(State(app): State<App>, Path(id): Path<String>, _: Signed) -> Response {
    let store = lock(&app.fintecture.store);
    match store.settlements.iter().find(|r| r.id == id) {
        Some(r) => Json(json!({"data": settlement_json(r)})).into_response(),
        None => api_error(
            StatusCode::NOT_FOUND,
            "settlement_not_found",
            "Settlement not found",
        )
        .into_response(),
    }
}
