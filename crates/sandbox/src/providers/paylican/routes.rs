//! Paylican's HTTP routes under `/paylican`: Keycloak, the Payment Creation API, the payment
//! page, and the sandbox's status extension.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use payments_core::Decimal;
use serde::Deserialize;
use serde_json::json;
use serde_json::value::RawValue;
use time::OffsetDateTime;

use super::auth;
use super::model::{Field, Invoice, UNPAID, invoice_json, now_nanos};
use super::page;
use crate::Provider;
use crate::app::App;
use crate::support::{ErrorAnswer, TokenProblem, content_type_is, lock, new_id, rfc3339};

/// Longest `redirectionUrl`, in UTF-16 units.
const MAX_REDIRECTION_URL: usize = 900;

pub(super) fn router() -> Router<App> {
    Router::new()
        .merge(auth::router())
        .route("/api/v1/payment", post(create))
        .route("/sandbox-extension/invoice/{invoice_id}", get(status))
        .merge(page::router())
}

// ------------------------------------------------------------------------------------- refusals

/// Spring Boot's error body.
fn spring_error(status: StatusCode, message: &str, path: &str) -> Response {
    let timestamp = rfc3339(OffsetDateTime::now_utc());
    let body = json!({
        "timestamp": timestamp,
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "message": message,
        "path": path,
    });
    ErrorAnswer::new(status, body).into_response()
}

/// Spring Security's answer to a missing, unknown or expired bearer token.
fn unauthorized(problem: TokenProblem) -> Response {
    let challenge = match problem {
        TokenProblem::Missing => "Bearer",
        TokenProblem::Unknown => {
            "Bearer error=\"invalid_token\", error_description=\"Invalid token\""
        }
        TokenProblem::Expired => {
            "Bearer error=\"invalid_token\", error_description=\"Token expired\""
        }
    };
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, challenge)],
    )
        .into_response()
}

/// The creation body as Paylican reads it; `amount` is kept as its raw JSON token.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    #[serde(default)]
    amount: Option<Box<RawValue>>,
    #[serde(default, rename = "type")]
    payment_type: Option<String>,
    #[serde(default)]
    customer_code: Option<String>,
    #[serde(default)]
    merchant_reference: Option<String>,
    #[serde(default)]
    redirection_url: Option<String>,
    #[serde(default)]
    item_name: Option<String>,
    #[serde(default)]
    beneficiary_code: Option<String>,
    #[serde(default)]
    additional_fields: Option<Vec<Field>>,
}

/// A Java `BigDecimal` read exactly: a JSON number or numeric string, plain or `1.5E+3`.
fn parse_amount(raw: &RawValue) -> Result<Decimal, String> {
    let token = raw.get().trim();
    let text = match token.strip_prefix('"') {
        Some(quoted) => quoted.strip_suffix('"').unwrap_or(quoted),
        None => token,
    };
    let bad = || format!("amount: cannot deserialize `{text}` as a BigDecimal");
    let Some((coefficient, exponent)) = text.split_once(['e', 'E']) else {
        return Decimal::parse(text).map_err(|_| bad());
    };
    let coefficient = Decimal::parse(coefficient).map_err(|_| bad())?;
    let exponent: i64 = exponent.parse().map_err(|_| bad())?;
    if exponent.abs() > 38 {
        return Err(bad());
    }
    let shift = exponent - i64::from(coefficient.scale());
    if shift >= 0 {
        let factor = u32::try_from(shift)
            .ok()
            .and_then(|k| 10i128.checked_pow(k))
            .ok_or_else(bad)?;
        let mantissa = coefficient.mantissa().checked_mul(factor).ok_or_else(bad)?;
        Decimal::new(mantissa, 0).map_err(|_| bad())
    } else {
        let scale = u32::try_from(-shift).map_err(|_| bad())?;
        Decimal::new(coefficient.mantissa(), scale).map_err(|_| bad())
    }
}

fn not_blank(value: Option<String>, field: &str) -> Result<String, String> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| format!("{field}: must not be blank"))
}

/// An invoice id in the documented shape (`XYZ2024-ade08`).
fn invoice_id(payment_type: &str) -> String {
    let prefix: String = payment_type
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    let prefix = if prefix.is_empty() {
        "INV".to_owned()
    } else {
        prefix
    };
    let suffix: String = new_id("").chars().take(10).collect();
    format!("{prefix}{}-{suffix}", OffsetDateTime::now_utc().year())
}

fn validate(body: CreateBody, id: String) -> Result<Invoice, String> {
    let amount = match &body.amount {
        None => return Err("amount: must not be null".into()),
        Some(raw) => parse_amount(raw)?,
    };
    if amount.mantissa() <= 0 {
        return Err("amount: must be greater than 0".into());
    }
    let payment_type = not_blank(body.payment_type, "type")?;
    let merchant_reference = not_blank(body.merchant_reference, "merchantReference")?;
    if let Some(url) = &body.redirection_url {
        let units = url.encode_utf16().count();
        if units > MAX_REDIRECTION_URL {
            return Err(format!(
                "redirectionUrl: must not exceed {MAX_REDIRECTION_URL} characters ({units} given)"
            ));
        }
    }
    Ok(Invoice {
        id,
        payment_type,
        merchant_reference,
        amount,
        customer_code: body.customer_code,
        item_name: body.item_name,
        beneficiary_code: body.beneficiary_code,
        redirection_url: body.redirection_url,
        additional_fields: body.additional_fields.unwrap_or_default(),
        status: UNPAID.to_owned(),
        awaiting_otp: false,
        attempt: None,
        created_at: now_nanos(),
        webhooks: Vec::new(),
        webhook_id: None,
    })
}

async fn create(State(app): State<App>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path();
    if let Err(problem) = app.paylican.tokens.check(&headers) {
        return unauthorized(problem);
    }
    if !content_type_is(&headers, "application/json") {
        return spring_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type is not supported: use application/json",
            path,
        );
    }
    let parsed: CreateBody = match serde_json::from_slice(&body) {
        Ok(parsed) => parsed,
        Err(e) => {
            return spring_error(
                StatusCode::BAD_REQUEST,
                &format!("JSON parse error: {e}"),
                path,
            );
        }
    };
    let type_for_id = parsed.payment_type.clone().unwrap_or_default();
    let invoice = match validate(parsed, invoice_id(&type_for_id)) {
        Ok(invoice) => invoice,
        Err(message) => return spring_error(StatusCode::BAD_REQUEST, &message, path),
    };
    let answer = json!({
        "invoiceId": invoice.id,
        "merchantReference": invoice.merchant_reference,
    });
    let id = invoice.id.clone();
    let minor_units = i64::try_from(invoice.amount.mantissa()).ok();
    lock(&app.paylican.invoices).push(invoice);
    if let Some(minor_units) = minor_units {
        app.schedule_magic(Provider::Paylican, &id, minor_units);
    }
    (StatusCode::OK, axum::Json(answer)).into_response()
}

/// The sandbox-only status endpoint (see the module docs).
async fn status(
    State(app): State<App>,
    Path(invoice_id): Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(problem) = app.paylican.tokens.check(&headers) {
        return unauthorized(problem);
    }
    let body = {
        let invoices = lock(&app.paylican.invoices);
        invoices
            .iter()
            .find(|i| i.id == invoice_id)
            .map(|i| serde_json::to_string(&invoice_json(i, true)))
    };
    match body {
        Some(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response(),
        Some(Err(e)) => spring_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("cannot write the invoice: {e}"),
            uri.path(),
        ),
        None => spring_error(
            StatusCode::NOT_FOUND,
            &format!("Invoice {invoice_id} not found"),
            uri.path(),
        ),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Box<RawValue> {
        RawValue::from_string(text.to_owned()).unwrap()
    }

    #[test]
    fn amounts_are_read_exactly_in_every_java_notation() {
        let read = |t: &str| parse_amount(&raw(t)).map(|d| d.to_string());
        assert_eq!(read("5100.00").unwrap(), "5100.00");
        assert_eq!(read("\"10.01\"").unwrap(), "10.01");
        assert_eq!(read("1E+2").unwrap(), "100");
        assert_eq!(read("5.1E3").unwrap(), "5100");
        assert_eq!(read("25E-1").unwrap(), "2.5");
        assert!(read("true").is_err());
        assert!(read("1E+99").is_err());
        assert!(read("\"12,5\"").is_err());
    }

    #[test]
    fn invoice_ids_have_the_documented_shape() {
        let id = invoice_id("xyz/é");
        assert!(id.starts_with("XYZ20"), "{id}");
        assert_eq!(id.split('-').nth(1).map(str::len), Some(10), "{id}");
        assert!(invoice_id("").starts_with("INV"));
    }
}
