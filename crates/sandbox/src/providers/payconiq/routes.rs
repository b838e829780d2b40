//! Payconiq's HTTP routes under `/payconiq`: the Merchant Payment API v3 and the callback key set.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::model::{
    Acknowledgement, DEBTOR_IBAN, EXPIRY, PENDING, Payment, SUCCEEDED, View, acknowledge_payment,
    cancel_by_merchant, now_ms, view,
};
use super::{act, page, webhooks, wire};
use crate::app::App;
use crate::support::{ErrorAnswer, bearer, is_http_url, lock, random_hex};
use crate::{PayerAction, Provider};

/// Largest amount of the v3 API, in cents.
const MAX_AMOUNT: i64 = 999_999;
const MAX_REFERENCE: usize = 35;
const MAX_DESCRIPTION: usize = 140;
const MAX_SHOP: usize = 36;
/// Search page size when the query names none (the API reference's default).
const DEFAULT_PAGE_SIZE: u64 = 50;

pub(super) fn router() -> Router<App> {
    Router::new()
        .route("/v3/payments", post(create))
        .route("/v3/payments/pos", post(create_pos))
        .route("/v3/payments/search", post(search))
        .route("/v3/payments/{id}", get(get_payment).delete(cancel))
        .route("/v3/payments/{id}/debtor/refundIban", get(refund_iban))
        .route("/v3/payments/{id}/acknowledge", post(acknowledge))
        .route("/jwks", get(jwks))
        .merge(page::router())
}

// ------------------------------------------------------------------------------------- refusals

/// A refusal in Payconiq's error format `{code, message, traceId, spanId}`.
fn error(status: StatusCode, code: &'static str, message: impl Into<String>) -> ErrorAnswer {
    ErrorAnswer::new(
        status,
        json!({
            "traceId": random_hex(16),
            "spanId": random_hex(16),
            "code": code,
            "message": message.into(),
        }),
    )
}

fn invalid(field: &str, why: &str) -> ErrorAnswer {
    error(
        StatusCode::BAD_REQUEST,
        "FIELD_IS_INVALID",
        format!("Field '{field}' is invalid: {why}"),
    )
}

fn required(field: &str) -> ErrorAnswer {
    error(
        StatusCode::BAD_REQUEST,
        "FIELD_IS_REQUIRED",
        format!("Field '{field}' is mandatory"),
    )
}

fn body_missing() -> ErrorAnswer {
    error(
        StatusCode::BAD_REQUEST,
        "BODY_MISSING",
        "A JSON body needs to be provided",
    )
}

fn not_found() -> ErrorAnswer {
    error(
        StatusCode::NOT_FOUND,
        "PAYMENT_NOT_FOUND",
        "Payment could not be found for the corresponding payment id",
    )
}

fn authorize(app: &App, headers: &HeaderMap) -> Result<(), ErrorAnswer> {
    match bearer(headers) {
        Some(key) if key == app.credentials.payconiq_api_key => Ok(()),
        Some(_) => Err(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "The API key is incorrect",
        )),
        None => Err(error(
            StatusCode::UNAUTHORIZED,
            "UNAUTHORIZED",
            "No API key was provided",
        )),
    }
}

// ----------------------------------------------------------------------------------- validation

/// The JSON object of a request body; `Ok(None)` when the body is empty.
fn json_object(body: &Bytes) -> Result<Option<Map<String, Value>>, ErrorAnswer> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(Some(map)),
        _ => Err(body_missing()),
    }
}

/// The EPC "SEPA Requirements for an Extended Character Set (UNICODE Subset)": printable Basic
/// Latin, Latin-1 Supplement (no NBSP, no soft hyphen), Latin Extended-A, the Romanian
/// comma-below letters, Greek, and the euro sign.
fn is_sepa(c: char) -> bool {
    let u = u32::from(c);
    (0x20..=0x7E).contains(&u)
        || ((0xA1..=0xFF).contains(&u) && u != 0xAD)
        || (0x100..=0x17F).contains(&u)
        || (0x218..=0x21B).contains(&u)
        || (0x386..=0x3CE).contains(&u)
        || c == '€'
}

/// An optional text field of at most `max` SEPA characters.
fn text(
    object: &Map<String, Value>,
    field: &str,
    max: usize,
    sepa: bool,
) -> Result<Option<String>, ErrorAnswer> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.chars().count() > max {
                return Err(invalid(field, &format!("at most {max} characters")));
            }
            if sepa && !s.chars().all(is_sepa) {
                return Err(invalid(field, "characters outside the SEPA character set"));
            }
            Ok(Some(s.clone()))
        }
        Some(_) => Err(invalid(field, "not a string")),
    }
}

/// An optional http(s) URL field.
fn url(object: &Map<String, Value>, field: &str) -> Result<Option<String>, ErrorAnswer> {
    let Some(value) = text(object, field, 2048, false)? else {
        return Ok(None);
    };
    if is_http_url(&value) {
        Ok(Some(value))
    } else {
        Err(invalid(field, "not an http(s) URL"))
    }
}

/// The mandatory `amount` (integer euro cents in 1..=999999) and `currency` (`EUR`, the default).
fn amount_and_currency(object: &Map<String, Value>) -> Result<(i64, String), ErrorAnswer> {
    let amount = match object.get("amount") {
        None | Some(Value::Null) => return Err(required("amount")),
        Some(value) => value
            .as_i64()
            .ok_or_else(|| invalid("amount", "not an integer number of euro cents"))?,
    };
    if !(1..=MAX_AMOUNT).contains(&amount) {
        return Err(invalid(
            "amount",
            &format!("must be between 1 and {MAX_AMOUNT}"),
        ));
    }
    let currency = match object.get("currency") {
        None | Some(Value::Null) => "EUR".to_owned(),
        Some(Value::String(c)) if c == "EUR" => c.clone(),
        Some(_) => return Err(invalid("currency", "only EUR is supported")),
    };
    Ok((amount, currency))
}

// ------------------------------------------------------------------------------------- payments

async fn create(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Answer {
    create_payment(&app, &headers, &body, false)
}

async fn create_pos(State(app): State<App>, headers: HeaderMap, body: Bytes) -> Answer {
    create_payment(&app, &headers, &body, true)
}

type Answer = Result<Response, ErrorAnswer>;

fn create_payment(app: &App, headers: &HeaderMap, body: &Bytes, pos: bool) -> Answer {
    authorize(app, headers)?;
    let object = json_object(body)?.ok_or_else(body_missing)?;
    let (amount, currency) = amount_and_currency(&object)?;
    let reference = text(&object, "reference", MAX_REFERENCE, true)?;
    let bulk_id = text(&object, "bulkId", MAX_REFERENCE, true)?;
    let description = text(&object, "description", MAX_DESCRIPTION, true)?;
    let callback_url = url(&object, "callbackUrl")?;
    let return_url = url(&object, "returnUrl")?;
    let pos_id = text(&object, "posId", MAX_SHOP, true)?;
    text(&object, "shopId", MAX_SHOP, true)?;
    let shop_name = text(&object, "shopName", MAX_SHOP, true)?;
    if pos && pos_id.is_none() {
        return Err(required("posId"));
    }
    let created_at = now_ms();
    let payment = Payment {
        id: random_hex(24),
        status: PENDING.to_owned(),
        created_at,
        expire_at: created_at + EXPIRY,
        succeeded_at: None,
        amount,
        currency,
        description,
        reference,
        bulk_id,
        callback_url: callback_url.or_else(|| app.webhook_url(Provider::Payconiq)),
        return_url,
        shop_name,
        debtor: false,
        otp_pending: false,
    };
    let answer = view(&wire(app), &payment, View::Create);
    let id = payment.id.clone();
    lock(&app.payconiq.payments).push(payment);
    app.schedule_magic(Provider::Payconiq, &id, amount);
    let expiring = app.clone();
    tokio::spawn(async move {
        tokio::time::sleep(EXPIRY).await;
        // Already final or paid: nothing to do.
        let _ = act(&expiring, &id, PayerAction::Expire).await;
    });
    Ok((StatusCode::CREATED, axum::Json(answer)).into_response())
}

/// Runs `f` on the payment `id` after the API key check; 404 when there is none.
fn with_payment<T>(
    app: &App,
    headers: &HeaderMap,
    id: &str,
    f: impl FnOnce(&mut Payment) -> T,
) -> Result<T, ErrorAnswer> {
    authorize(app, headers)?;
    let mut payments = lock(&app.payconiq.payments);
    let p = payments
        .iter_mut()
        .find(|p| p.id == id)
        .ok_or_else(not_found)?;
    Ok(f(p))
}

async fn get_payment(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let p = with_payment(&app, &headers, &id, |p| p.clone())?;
    Ok(axum::Json(view(&wire(&app), &p, View::Get)).into_response())
}

async fn cancel(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    let cancelled = with_payment(&app, &headers, &id, |p| {
        cancel_by_merchant(p).then(|| p.clone())
    })?;
    let p = cancelled.ok_or_else(|| {
        error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "PAYMENT_NOT_PENDING",
            "Payment is not in a pending or identify state",
        )
    })?;
    webhooks::notify(&app, &p);
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn refund_iban(State(app): State<App>, Path(id): Path<String>, headers: HeaderMap) -> Answer {
    if !with_payment(&app, &headers, &id, |p| p.status == SUCCEEDED)? {
        return Err(error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "REFUND_NOT_AVAILABLE",
            "The details of the consumer are not available yet",
        ));
    }
    Ok(axum::Json(json!({ "iban": DEBTOR_IBAN })).into_response())
}

async fn acknowledge(
    State(app): State<App>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize(&app, &headers)?;
    let object = json_object(&body)?.ok_or_else(body_missing)?;
    let (amount, _currency) = amount_and_currency(&object)?;
    let reference = text(&object, "reference", MAX_REFERENCE, true)?;
    let p = with_payment(&app, &headers, &id, |p| {
        acknowledge_payment(p, amount, reference.as_deref()).map(|()| p.clone())
    })?
    .map_err(|refusal| match refusal {
        Acknowledgement::NotPending => error(
            StatusCode::UNPROCESSABLE_ENTITY,
            "PAYMENT_NOT_PENDING",
            "Payment is not pending the merchant's acknowledgement",
        ),
        Acknowledgement::OtherAmount => invalid("amount", "differs from the payment's amount"),
        Acknowledgement::OtherReference => {
            invalid("reference", "differs from the payment's reference")
        }
    })?;
    webhooks::notify(&app, &p);
    Ok(StatusCode::NO_CONTENT.into_response())
}

// --------------------------------------------------------------------------------------- search

#[derive(Deserialize)]
struct Paging {
    page: Option<String>,
    size: Option<String>,
}

fn search_date(
    object: &Map<String, Value>,
    field: &str,
) -> Result<Option<OffsetDateTime>, ErrorAnswer> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => OffsetDateTime::parse(s, &Rfc3339)
            .map(Some)
            .map_err(|_| invalid(field, "expected YYYY-MM-ddTHH:mm:ss.SSSZ")),
        Some(_) => Err(invalid(field, "expected YYYY-MM-ddTHH:mm:ss.SSSZ")),
    }
}

/// A paging query parameter: `default` when absent, at least `min`.
fn paging_number(
    field: &str,
    value: Option<&str>,
    default: u64,
    min: u64,
) -> Result<u64, ErrorAnswer> {
    match value {
        None => Ok(default),
        Some(text) => match text.parse::<u64>() {
            Ok(n) if n >= min => Ok(n),
            _ => Err(invalid(field, "not a valid number")),
        },
    }
}

async fn search(
    State(app): State<App>,
    Query(paging): Query<Paging>,
    headers: HeaderMap,
    body: Bytes,
) -> Answer {
    authorize(&app, &headers)?;
    let page = paging_number("page", paging.page.as_deref(), 0, 0)?;
    let size = paging_number("size", paging.size.as_deref(), DEFAULT_PAGE_SIZE, 1)?;
    let object = json_object(&body)?.unwrap_or_default();
    let to = search_date(&object, "to")?.unwrap_or_else(OffsetDateTime::now_utc);
    let from = search_date(&object, "from")?.unwrap_or(to - time::Duration::days(1));
    let not_statuses = || invalid("paymentStatuses", "not an array of statuses");
    let statuses = match object.get("paymentStatuses") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(not_statuses)?,
        Some(_) => return Err(not_statuses()),
    };
    let reference = text(&object, "reference", MAX_REFERENCE, false)?;
    let matching: Vec<Payment> = lock(&app.payconiq.payments)
        .iter()
        .rev()
        .filter(|p| p.created_at >= from && p.created_at <= to)
        .filter(|p| statuses.is_empty() || statuses.contains(&p.status))
        .filter(|p| reference.is_none() || p.reference == reference)
        .cloned()
        .collect();
    let total = matching.len() as u64;
    let wire = wire(&app);
    let details: Vec<Value> = matching
        .iter()
        .skip(usize::try_from(page.saturating_mul(size)).unwrap_or(usize::MAX))
        .take(usize::try_from(size).unwrap_or(usize::MAX))
        .map(|p| view(&wire, p, View::Get))
        .collect();
    Ok(axum::Json(json!({
        "size": details.len(),
        "totalPages": total.div_ceil(size),
        "totalElements": total,
        "number": page,
        "details": details,
    }))
    .into_response())
}

async fn jwks(State(app): State<App>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        app.keys.payconiq_jwks_json(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sepa_texts() {
        assert!("Café Élise € 12,50 Ștefan Ελλάδα".chars().all(is_sepa));
        for bad in ["🍕", "订", "\n", "\u{00A0}", "\u{00AD}"] {
            assert!(!bad.chars().all(is_sepa), "{bad:?}");
        }
    }
}
