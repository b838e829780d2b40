//! Banq's HTTP routes under `/banq`: the token issuer, payment links, the merchant user, webhook
//! configurations, and the payment-link page.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payments_core::{Currency, Decimal, Money};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use super::auth::{self, SUBJECT_MERCHANT_USER, SUBJECT_OPEN_API, authorize};
use super::model::{ACCOUNTS, Payment, SPACES, WebhookConfig, link_code, payment_answer};
use super::page::{self, link_url};
use super::webhooks::DEFAULT_RETRY_COUNT;
use crate::Provider;
use crate::app::App;
use crate::support::{ErrorAnswer, is_http_url, lock, new_id, now_rfc3339, uuid};

/// The merchant user's id in `users/me`.
const USER_ID: &str = "8e6f1a2b-3c4d-4e5f-8a9b-0c1d2e3f4a5b";
/// Largest `retryCount` accepted (Banq publishes no limit; this keeps the schedule bounded).
const MAX_RETRY_COUNT: u64 = 20;

pub(super) fn router() -> Router<App> {
    Router::new()
        .merge(auth::router())
        .route("/api/v1/payments/get-paid-link", post(get_paid_link))
        .route("/api/v1/payments/{id}", get(get_payment))
        .route("/api/v1/users/me", get(users_me))
        .route(
            "/api/v1/account-spaces/{space}/webhook-config",
            post(webhook_config),
        )
        .merge(page::router())
}

// ------------------------------------------------------------------------------------- refusals

fn json_text(status: StatusCode, text: String) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], text).into_response()
}

/// An API error in Banq's shape `{statusCode, code, message, traceId}`; a 401 also carries
/// `WWW-Authenticate`.
pub(super) fn api_error(
    status: StatusCode,
    code: &'static str,
    message: impl Into<String>,
) -> ErrorAnswer {
    let body = json!({
        "statusCode": status.as_u16(),
        "code": code,
        "message": message.into(),
        "traceId": new_id(""),
    });
    let answer = ErrorAnswer::new(status, body);
    if status == StatusCode::UNAUTHORIZED {
        answer.header(header::WWW_AUTHENTICATE, "Bearer error=\"invalid_token\"")
    } else {
        answer
    }
}

pub(super) fn invalid(message: impl Into<String>) -> ErrorAnswer {
    api_error(StatusCode::BAD_REQUEST, "ValidationError", message)
}

// ---------------------------------------------------------------------------------- payment links

fn date(field: &str, value: Option<&Value>) -> Result<Option<(String, time::Date)>, ErrorAnswer> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => time::Date::parse(text, &format)
            .map(|d| Some((text.clone(), d)))
            .map_err(|_| invalid(format!("{field} must be a date YYYY-MM-DD"))),
        Some(_) => Err(invalid(format!("{field} must be a date YYYY-MM-DD"))),
    }
}

fn optional_text(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ErrorAnswer> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{field} must be a non-empty string"))),
    }
}

/// `funds` read from the raw JSON text: a positive plain number with at most 2 decimals.
fn funds(body: &[u8]) -> Result<(Decimal, i64), ErrorAnswer> {
    #[derive(serde::Deserialize)]
    struct Raw<'a> {
        #[serde(borrow)]
        funds: Option<&'a RawValue>,
    }
    let raw: Raw<'_> = serde_json::from_slice(body).map_err(|_| invalid("invalid JSON body"))?;
    let Some(raw) = raw.funds.map(RawValue::get).filter(|t| *t != "null") else {
        return Err(invalid("funds is required"));
    };
    if raw.starts_with('"') {
        return Err(invalid("funds must be a number"));
    }
    let decimal = Decimal::parse(raw)
        .map_err(|_| invalid("funds must be a number in plain decimal notation"))?;
    let money = Money::from_decimal(decimal, Currency::USD)
        .map_err(|_| invalid("funds must have at most 2 decimals"))?;
    if !money.is_positive() {
        return Err(invalid("funds must be greater than 0"));
    }
    Ok((decimal, money.minor_units()))
}

async fn get_paid_link(
    State(app): State<App>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ErrorAnswer> {
    authorize(&app, &headers, &[SUBJECT_OPEN_API])?;
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(&body) else {
        return Err(invalid("the body must be a JSON object"));
    };
    let destination = match object
        .get("destination")
        .and_then(|d| d.get("banqGuid"))
        .and_then(Value::as_str)
    {
        Some(guid) if !guid.trim().is_empty() => guid.to_owned(),
        _ => return Err(invalid("destination.banqGuid is required")),
    };
    if !ACCOUNTS.iter().any(|(guid, _, _)| *guid == destination) {
        return Err(invalid(format!(
            "destination.banqGuid {destination} is not a banq account of this company"
        )));
    }
    let (funds, minor_units) = funds(&body)?;
    let comment = optional_text(&object, "comment")?;
    let external_order_code = optional_text(&object, "externalOrderCode")?;
    let frequency = match optional_text(&object, "frequency") {
        Ok(Some(f)) if !f.chars().any(char::is_control) => f,
        Ok(_) => {
            return Err(invalid(
                "frequency is required (\"once\" or a recurring period)",
            ));
        }
        Err(refused) => return Err(refused),
    };
    let start = date("startDate", object.get("startDate"))?;
    let end = date("endDate", object.get("endDate"))?;
    let once = frequency.eq_ignore_ascii_case("once");
    if !once
        && let (Some((_, start)), Some((end_text, end))) = (&start, &end)
        && end < start
    {
        return Err(invalid(format!("endDate {end_text} is before startDate")));
    }
    // The guide: "You don't need to specify startDate or endDate if payment is not recurrent";
    // its own example sends them with "once", so they are accepted and ignored there.
    let (start_date, end_date) = if once {
        (None, None)
    } else {
        (start.map(|(t, _)| t), end.map(|(t, _)| t))
    };
    let payment = Payment {
        id: uuid(),
        code: link_code(),
        destination,
        status: "pending".into(),
        funds,
        comment,
        external_order_code,
        frequency,
        start_date,
        end_date,
        failure_reason: None,
        created_at: now_rfc3339(),
        awaiting_otp: false,
    };
    let answer = json!({
        "id": payment.id,
        "link": link_url(&app, &payment.code),
    });
    let id = payment.id.clone();
    lock(&app.banq.store).payments.push(payment);
    app.schedule_magic(Provider::Banq, &id, minor_units);
    Ok((StatusCode::OK, axum::Json(answer)).into_response())
}

async fn get_payment(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ErrorAnswer> {
    authorize(&app, &headers, &[SUBJECT_OPEN_API])?;
    let found = lock(&app.banq.store)
        .payments
        .iter()
        .find(|p| p.id == id)
        .map(payment_answer);
    match found {
        Some(text) => Ok(json_text(StatusCode::OK, text)),
        None => Err(api_error(
            StatusCode::NOT_FOUND,
            "PaymentNotFound",
            "Payment not found",
        )),
    }
}

// ------------------------------------------------------------------ users and webhooks

#[derive(serde::Deserialize)]
struct MeQuery {
    include: Option<String>,
}

async fn users_me(
    State(app): State<App>,
    Query(query): Query<MeQuery>,
    headers: HeaderMap,
) -> Result<Response, ErrorAnswer> {
    authorize(&app, &headers, &[SUBJECT_MERCHANT_USER])?;
    let include: Vec<&str> = query
        .include
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .collect();
    let mut answer = Map::new();
    answer.insert("id".into(), json!(USER_ID));
    answer.insert("email".into(), json!(app.credentials.banq_username));
    if include.contains(&"accountSpaces") {
        let spaces: Vec<Value> = SPACES
            .iter()
            .map(|(id, name)| json!({ "id": id, "name": name }))
            .collect();
        answer.insert("accountSpaces".into(), Value::Array(spaces));
    }
    if include.contains(&"banqAccounts") {
        let accounts: Vec<Value> = ACCOUNTS
            .iter()
            .map(|(guid, name, space)| json!({ "guid": guid, "name": name, "accountSpaceId": space }))
            .collect();
        answer.insert("banqAccounts".into(), Value::Array(accounts));
    }
    Ok((StatusCode::OK, axum::Json(Value::Object(answer))).into_response())
}

/// An absolute http(s) URL with a host and no spaces.
fn is_url(text: &str) -> bool {
    is_http_url(text) && !text.chars().any(|c| c.is_whitespace() || c.is_control())
}

async fn webhook_config(
    State(app): State<App>,
    Path(space): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ErrorAnswer> {
    authorize(&app, &headers, &[SUBJECT_MERCHANT_USER, SUBJECT_OPEN_API])?;
    if !SPACES.iter().any(|(id, _)| *id == space) {
        return Err(api_error(
            StatusCode::NOT_FOUND,
            "AccountSpaceNotFound",
            "Account space not found",
        ));
    }
    let Ok(object) = serde_json::from_slice::<Map<String, Value>>(&body) else {
        return Err(invalid("the body must be a JSON object"));
    };
    let url = match object.get("url").and_then(Value::as_str) {
        Some(url) if is_url(url) => url.to_owned(),
        _ => return Err(invalid("url must be an absolute http(s) URL")),
    };
    let Some(enabled) = object.get("enabled").and_then(Value::as_bool) else {
        return Err(invalid("enabled must be a boolean"));
    };
    let retry_count = match object.get("retryCount").and_then(Value::as_u64) {
        Some(n) if n <= MAX_RETRY_COUNT => u32::try_from(n).unwrap_or(DEFAULT_RETRY_COUNT),
        _ => {
            return Err(invalid(format!(
                "retryCount must be an integer from 0 to {MAX_RETRY_COUNT}"
            )));
        }
    };
    let types: Option<Vec<String>> = object
        .get("webHookTypes")
        .and_then(Value::as_array)
        .and_then(|list| {
            list.iter()
                .map(|t| {
                    t.as_str()
                        .filter(|s| !s.trim().is_empty())
                        .map(str::to_owned)
                })
                .collect()
        });
    let types = match types {
        Some(types) if !types.is_empty() => types,
        _ => return Err(invalid("webHookTypes must be a non-empty array of strings")),
    };
    let answer = {
        let mut store = lock(&app.banq.store);
        store.next_config_id += 1;
        let config = WebhookConfig {
            id: store.next_config_id,
            url,
            enabled,
            retry_count,
            types,
        };
        let answer = config.answer();
        store.configs.insert(space, config);
        answer
    };
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn funds_are_exact_plain_positive_numbers_in_cents() {
        let ok = |text: &str| funds(text.as_bytes()).map(|(d, m)| (d.to_string(), m));
        assert_eq!(
            ok(r#"{"funds":100.10}"#).ok(),
            Some(("100.10".into(), 10_010))
        );
        assert_eq!(ok(r#"{"funds":0.01}"#).ok(), Some(("0.01".into(), 1)));
        for bad in [
            r#"{"funds":"10"}"#,
            r#"{"funds":1e2}"#,
            r#"{"funds":0}"#,
            r#"{"funds":-1}"#,
            r#"{"funds":1.001}"#,
            r#"{"funds":null}"#,
            r#"{}"#,
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
    }
}
